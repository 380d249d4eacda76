-- Usage counters kept once per statement instead of once per allocation row. The row trigger of
-- 000001 ran a plpgsql call and a host update (with its checks and generated columns set up anew)
-- for every claim; a batch of claims now updates each host once, by the sum of its rows.
-- Same guarantees: counters stay equal to the sum of allocations, and a statement that leaves any
-- host it writes allocations to over capacity is refused as a whole (OR001), whoever runs it.
drop trigger allocations_usage on allocations;
drop function allocations_apply_usage();

-- `added` and `removed` are the statement's new and old allocation rows (either may be empty).
-- One statement, so a single claim (the one-at-a-time path) pays little more than the row trigger.
create function apply_allocation_usage(added allocations[], removed allocations[]) returns void
  language plpgsql as $$
declare
  over text;
begin
  with written as (
    select host_id, vcpus, memory_mb, disk_gb, true as receives from unnest(added)
    union all
    select host_id, -vcpus, -memory_mb, -disk_gb, false from unnest(removed)
  ), delta as (
    select host_id, sum(vcpus)::integer as vcpus, sum(memory_mb)::integer as memory_mb,
           sum(disk_gb)::integer as disk_gb, bool_or(receives) as receives
      from written group by host_id
  ), locked as materialized (
    -- Host rows locked in id order (the row trigger followed the rows, which the batch inserted
    -- in host order), so writers of several hosts cannot deadlock on each other. Looked up by key
    -- (= any), never by a scan of the fleet.
    select id from hosts where id = any(array(select host_id from delta)) order by id for no key update
  ), updated as (
    update hosts h set used_vcpus = h.used_vcpus + d.vcpus,
                       used_memory_mb = h.used_memory_mb + d.memory_mb,
                       used_disk_gb = h.used_disk_gb + d.disk_gb
      from delta d
     where h.id = any(array(select id from locked)) and h.id = d.host_id
    -- As before, a host that receives allocation rows must end within capacity (a release alone
    -- never fails, even on a host whose capacity was lowered below its usage).
    returning h.id, h.name, d.receives and (h.used_vcpus > capacity_vcpus(h)
                                            or h.used_memory_mb > capacity_memory_mb(h)
                                            or h.used_disk_gb > capacity_disk_gb(h)) as over
  )
  select name into over from updated where updated.over order by id limit 1;
  if over is not null then
    raise exception 'allocation exceeds capacity of host %', over using errcode = 'OR001';
  end if;
end $$;

create function allocations_inserted() returns trigger language plpgsql as $$
begin
  perform apply_allocation_usage(array(select n::allocations from new_rows n), '{}'::allocations[]);
  return null;
end $$;

create function allocations_updated() returns trigger language plpgsql as $$
begin
  perform apply_allocation_usage(array(select n::allocations from new_rows n), array(select o::allocations from old_rows o));
  return null;
end $$;

create function allocations_deleted() returns trigger language plpgsql as $$
begin
  perform apply_allocation_usage('{}'::allocations[], array(select o::allocations from old_rows o));
  return null;
end $$;

create trigger allocations_usage_insert after insert on allocations
  referencing new table as new_rows for each statement execute function allocations_inserted();
create trigger allocations_usage_update after update on allocations
  referencing old table as old_rows new table as new_rows for each statement execute function allocations_updated();
create trigger allocations_usage_delete after delete on allocations
  referencing old table as old_rows for each statement execute function allocations_deleted();

-- Usage updates (every claim and release) wake no one: only a change of what the host's agent
-- reads (fencing epoch, enablement, orphan policy) is published, decided before any call.
drop trigger hosts_notify on hosts;
create or replace function hosts_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('orrery_changes', json_build_object('kind', 'host', 'id', new.id, 'hostId', new.id)::text);
  return null;
end $$;
create trigger hosts_notify after update on hosts
  for each row
  when ((old.epoch, old.enabled, old.orphan_policy) is distinct from (new.epoch, new.enabled, new.orphan_policy))
  execute function hosts_notify();
