-- Usage counters kept once per statement instead of once per allocation row. The row trigger of
-- 000001 ran a plpgsql call and a host update (with its checks and generated columns set up anew)
-- for every claim; a batch of claims now updates each host once, by the sum of its rows.
-- Same guarantees: counters stay equal to the sum of allocations, and a statement that leaves any
-- host it writes allocations to over capacity is refused as a whole (OR001), whoever runs it.
drop trigger allocations_usage on allocations;
drop function allocations_apply_usage();

-- `added` and `removed` are the statement's new and old allocation rows (either may be empty).
create function apply_allocation_usage(added allocations[], removed allocations[]) returns void
  language plpgsql as $$
declare
  -- Per host written, in id order: the net change, and whether it receives allocation rows.
  host_ids uuid[];
  d_vcpus integer[];
  d_memory_mb integer[];
  d_disk_gb integer[];
  receives boolean[];
  over text;
begin
  select array_agg(host_id order by host_id), array_agg(v order by host_id), array_agg(m order by host_id),
         array_agg(g order by host_id), array_agg(r order by host_id)
    into host_ids, d_vcpus, d_memory_mb, d_disk_gb, receives
    from (select host_id, sum(vcpus)::integer as v, sum(memory_mb)::integer as m, sum(disk_gb)::integer as g, bool_or(r) as r
            from (select host_id, vcpus, memory_mb, disk_gb, true as r from unnest(added)
                  union all
                  select host_id, -vcpus, -memory_mb, -disk_gb, false from unnest(removed)) written
           group by host_id) per_host;
  -- Host rows locked in id order (the row trigger followed the rows, which the batch inserted in
  -- host order), so writers of several hosts cannot deadlock on each other. Looked up by key
  -- (= any), never by a scan of the fleet.
  perform 1 from hosts where id = any(host_ids) order by id for no key update;
  -- As before, a host that receives allocation rows must end within capacity (a release alone
  -- never fails, even on a host whose capacity was lowered below its usage).
  with updated as (
    update hosts h set used_vcpus = h.used_vcpus + d.vcpus,
                       used_memory_mb = h.used_memory_mb + d.memory_mb,
                       used_disk_gb = h.used_disk_gb + d.disk_gb
      from unnest(host_ids, d_vcpus, d_memory_mb, d_disk_gb, receives) as d(host_id, vcpus, memory_mb, disk_gb, receives)
     where h.id = any(host_ids) and h.id = d.host_id
    returning h.id, h.name, d.receives and (h.used_vcpus > capacity_vcpus(h)
                                            or h.used_memory_mb > capacity_memory_mb(h)
                                            or h.used_disk_gb > capacity_disk_gb(h)) as over)
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
