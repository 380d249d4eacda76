-- Binding an instance to a host (every placement) fired `instances_ports_moved`, which asked
-- `network_hosts` for the hosts of the instance's networks even when it has no port. That
-- statement's plan started from `instances where host_id is not null` (statistics taken while the
-- fleet was still unplaced say that is one row) and probed ports for each: a scan of every bound
-- instance per instance bound, O(placed) per placement, growing through a run (10 ms per
-- placement at 4,000 placed, 1k hosts: most of the batched claim-and-bind statement).
--
-- The hosts of a network's ports are now looked up from the ports (network_id index), one
-- instance primary-key probe per port (a scalar subquery, which the planner does not turn into a
-- join it could reorder), and an instance without ports skips the lookup. Same hosts as before.
create or replace function network_hosts(nets uuid[]) returns setof uuid language sql stable as $$
  select host_id from (
    select (select i.host_id from instances i where i.id = p.instance_id) as host_id
      from ports p where p.network_id = any(nets) and p.instance_id is not null
    offset 0 -- keeps the filter below out of the subquery, where it would probe each instance twice
  ) bound where host_id is not null
  union
  select m.dest_host_id from ports p join migrations m on m.instance_id = p.instance_id
   where p.network_id = any(nets) and m.kind = 'live-migration' and m.status in ('preparing', 'prepared', 'running')
$$;

create or replace function instance_ports_moved() returns trigger language plpgsql as $$
declare
  nets uuid[] := array(select network_id from ports where instance_id = new.id);
begin
  if cardinality(nets) > 0 then
    perform notify_hosts(array(select network_hosts(nets)));
  end if;
  return null;
end $$;
