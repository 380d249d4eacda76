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

-- Evacuation fences the source host: its agent, when it comes back, must destroy these domains
-- (whatever its orphan policy) because the instances now run elsewhere.
create table evacuations (
  -- No foreign key to instances: the stale domain must go even if the instance is deleted since.
  instance_id uuid not null,
  source_host_id uuid not null references hosts(id) on delete cascade,
  created_at timestamptz not null default now(),
  primary key (instance_id, source_host_id)
);
