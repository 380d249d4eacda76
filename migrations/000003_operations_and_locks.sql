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
