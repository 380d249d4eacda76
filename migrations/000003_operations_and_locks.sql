-- One-shot requests that are not a state (reboot, …) wait as actions in state 'pending' with their
-- parameters; the reconciler starts them one at a time, in order, and the agent of the instance's
-- host sees the one running.

alter table instance_actions add column params jsonb not null default '{}';

alter table instances
  add column current_action_id uuid references instance_actions(id) on delete set null,
  -- The last action the agent reports it carried out; compared with current_action_id.
  add column agent_completed_action_id uuid,
  add column locked boolean not null default false,
  add column locked_reason text,
  -- Who holds the lock: an admin's lock cannot be lifted by the owner.
  add column locked_by text check (locked_by in ('owner', 'admin'));

create index instance_actions_pending on instance_actions (instance_id, started_at) where state = 'pending';

-- Shelving: the snapshot a shelved instance boots from when it is unshelved (deleted after).
alter table instances add column shelved_image_id uuid references images(id) on delete set null;

-- Domains a host must destroy whatever its orphan policy, because the instance runs (or will run)
-- elsewhere: the source of an evacuation (fencing) or of a confirmed move, the target of a revert.
create table host_fences (
  -- No foreign key to instances: the stale domain must go even if the instance is deleted since.
  instance_id uuid not null,
  host_id uuid not null references hosts(id) on delete cascade,
  reason text not null check (reason in ('evacuated', 'moved', 'reverted')),
  created_at timestamptz not null default now(),
  primary key (instance_id, host_id)
);

-- Cold migrations and resizes (Nova's migration records). While one is unconfirmed the instance
-- holds allocations on both hosts, and its source domain is kept, stopped, for a revert.
create table migrations (
  id uuid primary key default gen_random_uuid(),
  instance_id uuid not null references instances(id) on delete cascade,
  kind text not null check (kind in ('migration', 'resize')),
  source_host_id uuid not null references hosts(id),
  dest_host_id uuid not null references hosts(id),
  old_flavor_id uuid not null references flavors(id),
  new_flavor_id uuid not null references flavors(id),
  -- The source disk, uploaded by the source agent, that the destination builds on.
  transfer_image_id uuid references images(id) on delete set null,
  status text not null default 'migrating'
    check (status in ('migrating', 'finished', 'confirmed', 'reverting', 'reverted', 'error')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index migrations_instance on migrations (instance_id, created_at);

alter table instances add column migration_id uuid references migrations(id) on delete set null;
