-- An instance change notification says whether the host's agent reads anything that changed.
-- Most writes during a build touch only what the control plane keeps for itself (vm_state,
-- power_state, faults, report times, launched_at) or echo the agent's own report
-- (observed_generation, agent_completed_action_id); the API re-read the host's whole view after
-- each of them only to find nothing new to push. The list below names what the agent does NOT
-- read, so a column added later counts as read until someone says otherwise.
create function instance_agent_read(i instances) returns jsonb language sql immutable as $$
  select to_jsonb(i) - array['vm_state', 'task_state', 'power_state', 'fault', 'agent_fault', 'failed_host_ids',
                             'schedule_attempts', 'task_deadline_at', 'agent_reported_at', 'launched_at',
                             'observed_generation', 'agent_completed_action_id', 'revision', 'updated_at',
                             'locked', 'locked_reason', 'locked_by', 'scheduler_hints', 'key_name', 'tags',
                             'requested_host_id', 'requested_zone']
$$;

-- task_state matters to the agent only as "being offloaded" (the domain goes).
create function instance_agent_relevant(o instances, n instances) returns boolean language sql immutable as $$
  select (o.task_state is not distinct from 'shelving_offloading') <> (n.task_state is not distinct from 'shelving_offloading')
      or instance_agent_read(o) is distinct from instance_agent_read(n)
$$;

create or replace function instances_notify() returns trigger language plpgsql as $$
declare
  r instances%rowtype;
begin
  if tg_op = 'DELETE' then r := old; else r := new; end if;
  perform pg_notify('orrery_changes', json_build_object(
    'kind', 'instance',
    'id', r.id,
    'projectId', r.project_id,
    'hostId', r.host_id,
    'previousHostId', case when tg_op = 'UPDATE' and old.host_id is distinct from new.host_id then old.host_id end,
    'revision', r.revision,
    'deleted', tg_op = 'DELETE',
    'agent', tg_op <> 'UPDATE' or instance_agent_relevant(old, new))::text);
  return null;
end $$;
