-- Which resources a desired-state file (a "stack") owns, kept by the server so `orrery plan` and
-- `orrery apply` need no local state file. One row per resource the file names, with the spec it
-- was last applied with: the fields the API cannot show or change afterwards (zone, server group,
-- key pair, user data) are compared against it. No foreign key to the resource (it is one of
-- several tables); a row whose resource is gone is simply stale, and apply forgets it.
create table stack_resources (
  project_id uuid not null references projects(id) on delete cascade,
  stack text not null check (length(stack) between 1 and 255),
  kind text not null check (kind in ('flavor', 'availabilityZone', 'aggregate', 'serverGroup', 'keyPair', 'instance')),
  name text not null check (length(name) between 1 and 255),
  resource_id uuid not null,
  applied jsonb not null,
  recorded_at timestamptz not null default now(),
  primary key (project_id, stack, kind, name)
);
