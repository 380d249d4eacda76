-- The action whose steps an instance's state changes are: its newest running action that is not
-- an interface attach or detach (those the host's NIC report settles; the list is passed in from
-- store/actions.ts's INTERFACE_ACTIONS). Action events are added to it, and the request id that
-- jobs and the agent's view carry is its own. Set-returning, so "none" is no row, not a row of nulls.
create function running_state_action(p_instance uuid, p_interface_actions text[]) returns setof instance_actions
  language sql stable
  as $$
    select * from instance_actions
     where instance_id = p_instance and state = 'running' and action <> all(p_interface_actions)
     order by started_at desc limit 1
  $$;
