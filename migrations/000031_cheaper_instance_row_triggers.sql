-- Two per-row triggers on instances were most of PostgreSQL's own trigger time in bench:fleet
-- (1k hosts × 10k instances, pg_stat_user_functions): `instance_agent_read` (to_jsonb of the whole
-- row, twice per update, 59k calls, 2.5 s) and `instances_build_failures` (10k calls, 1.8 s: every
-- build that ends ran an insert over an empty array and a delete, though failures are rare).

-- Whether an update changed anything the agent reads: the old row with the columns the agent does
-- not read taken from the new one, compared with the new row as a record. Same list and meaning as
-- `instance_agent_read` (a column added later counts as read), without building two JSON documents.
create or replace function instance_agent_relevant(o instances, n instances) returns boolean language plpgsql immutable as $$
declare
  c instances := o;
begin
  if (o.task_state is not distinct from 'shelving_offloading') <> (n.task_state is not distinct from 'shelving_offloading') then
    return true;
  end if;
  c.vm_state := n.vm_state; c.task_state := n.task_state; c.power_state := n.power_state; c.fault := n.fault;
  c.agent_fault := n.agent_fault; c.failed_host_ids := n.failed_host_ids; c.schedule_attempts := n.schedule_attempts;
  c.task_deadline_at := n.task_deadline_at; c.agent_reported_at := n.agent_reported_at; c.launched_at := n.launched_at;
  c.observed_generation := n.observed_generation; c.agent_completed_action_id := n.agent_completed_action_id;
  c.revision := n.revision; c.updated_at := n.updated_at; c.locked := n.locked; c.locked_reason := n.locked_reason;
  c.locked_by := n.locked_by; c.scheduler_hints := n.scheduler_hints; c.key_name := n.key_name; c.tags := n.tags;
  c.requested_host_id := n.requested_host_id; c.requested_zone := n.requested_zone;
  return c is distinct from n;
end $$;

drop function instance_agent_read(instances);

-- A host's failure count: the row trigger now fires only when failed_host_ids changes (a build
-- failed somewhere); a build that succeeded clears its host's count from a statement trigger,
-- once per statement and only while any host has failures at all.
create or replace function instances_build_failures() returns trigger language plpgsql as $$
begin
  insert into host_build_failures (host_id, failures)
  select f, 1 from unnest(new.failed_host_ids) f
   where f <> all(old.failed_host_ids) and exists (select 1 from hosts where id = f)
  on conflict (host_id) do update set failures = host_build_failures.failures + 1, last_failed_at = now();
  return null;
end $$;

drop trigger instances_build_failures on instances;
create trigger instances_build_failures after update of failed_host_ids on instances
  for each row when (old.failed_host_ids is distinct from new.failed_host_ids)
  execute function instances_build_failures();

create function instances_builds_succeeded() returns trigger language plpgsql as $$
begin
  if exists (select 1 from host_build_failures) then
    delete from host_build_failures b
     using old_rows o join new_rows n on n.id = o.id
     where o.vm_state = 'building' and n.vm_state not in ('building', 'error') and b.host_id = n.host_id;
  end if;
  return null;
end $$;

create trigger instances_builds_succeeded after update on instances
  referencing old table as old_rows new table as new_rows
  for each statement execute function instances_builds_succeeded();
