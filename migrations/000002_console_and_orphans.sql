-- What host agents push besides power state: the tail of each guest's serial console, and the
-- domains they found that carry Orrery's metadata but are not bound to their host.

create table instance_consoles (
  instance_id uuid primary key references instances(id) on delete cascade,
  -- The last lines the agent read (at most a few hundred); refreshed while the guest runs.
  output text not null,
  updated_at timestamptz not null default now()
);

-- 'remove': the agent destroys orphans (the default, as a reconciler should);
-- 'keep': it leaves them for an operator to inspect, and only reports them.
alter table hosts add column orphan_policy text not null default 'remove'
  check (orphan_policy in ('remove', 'keep'));

create table host_orphans (
  host_id uuid not null references hosts(id) on delete cascade,
  domain_uuid uuid not null,
  power_state text not null,
  action text not null check (action in ('removed', 'kept')),
  first_seen_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  primary key (host_id, domain_uuid)
);

-- A changed orphan policy must reach the host's agent like any other host setting.
create or replace function hosts_notify() returns trigger language plpgsql as $$
begin
  if tg_op = 'UPDATE' and old.epoch = new.epoch and old.enabled = new.enabled
     and old.orphan_policy = new.orphan_policy then
    return null;
  end if;
  perform pg_notify('orrery_changes', json_build_object('kind', 'host', 'id', new.id, 'hostId', new.id)::text);
  return null;
end $$;
