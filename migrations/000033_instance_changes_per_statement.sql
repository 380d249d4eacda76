-- Instance change notifications were one pg_notify per row from a row trigger: in bench:fleet
-- (1k hosts × 10k instances) 40k notifications, the largest trigger cost left in PostgreSQL
-- (pg_stat_user_functions), and as many JSON documents for every API process to parse. The same
-- changes now go out per statement, many to a notification: `{"kind": "instances", "changes":
-- [[id, projectId, hostId, previousHostId, revision, deleted, agent], …]}` (server/change-feed.ts
-- hands them on one by one, as before). Same fields and meaning as the row trigger's.

-- Notifications of at most 32 changes: a change is at most ~180 bytes of JSON, so a payload stays
-- well under PostgreSQL's 8000-byte limit.
create function publish_instance_changes(changes json[]) returns void language plpgsql as $$
declare
  i int := 1;
begin
  while i <= coalesce(cardinality(changes), 0) loop
    perform pg_notify('orrery_changes', json_build_object('kind', 'instances', 'changes', to_json(changes[i:i + 31]))::text);
    i := i + 32;
  end loop;
end $$;

create function instances_inserted_notify() returns trigger language plpgsql as $$
begin
  perform publish_instance_changes(array(
    select json_build_array(n.id, n.project_id, n.host_id, null, n.revision, false, true) from new_rows n));
  return null;
end $$;

create function instances_updated_notify() returns trigger language plpgsql as $$
begin
  perform publish_instance_changes(array(
    select json_build_array(n.id, n.project_id, n.host_id, case when o.host_id is distinct from n.host_id then o.host_id end,
                            n.revision, false, instance_agent_relevant(o, n))
      from old_rows o join new_rows n on n.id = o.id));
  return null;
end $$;

create function instances_deleted_notify() returns trigger language plpgsql as $$
begin
  perform publish_instance_changes(array(
    select json_build_array(o.id, o.project_id, o.host_id, null, o.revision, true, true) from old_rows o));
  return null;
end $$;

drop trigger instances_notify on instances;
drop function instances_notify();

create trigger instances_inserted_notify after insert on instances
  referencing new table as new_rows for each statement execute function instances_inserted_notify();
create trigger instances_updated_notify after update on instances
  referencing old table as old_rows new table as new_rows for each statement execute function instances_updated_notify();
create trigger instances_deleted_notify after delete on instances
  referencing old table as old_rows for each statement execute function instances_deleted_notify();
