-- Networks, subnets, ports and their addresses, security groups and floating IPs (DESIGN §6a).
-- The database holds the invariants a race could break: one address per (subnet, address), one MAC
-- per network, one service port per network, one VNI per overlay network. Everything the resolvers
-- check (pools inside the cidr, no overlap in one network) is checked under the network's row lock.

-- Where other hosts' VXLAN tunnels reach this one (reported by its agent; null: it carries no overlay).
alter table hosts add column tunnel_address inet;

create table networks (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null references projects(id) on delete cascade,
  name text not null check (length(name) between 1 and 255),
  shared boolean not null default false,
  -- Floating IPs come from external networks (admins create them).
  external boolean not null default false,
  segment_type text not null check (segment_type in ('vxlan', 'bridge')),
  vni integer unique check (vni between 1 and 16777215),
  provider_bridge text check (length(provider_bridge) between 1 and 15),
  mtu integer not null check (mtu between 576 and 9216),
  created_at timestamptz not null default now(),
  unique (project_id, name),
  check ((segment_type = 'vxlan') = (vni is not null)),
  check ((segment_type = 'bridge') = (provider_bridge is not null))
);

create table subnets (
  id uuid primary key default gen_random_uuid(),
  network_id uuid not null references networks(id) on delete cascade,
  name text not null default '',
  ip_version smallint not null check (ip_version in (4, 6)),
  cidr cidr not null,
  gateway_ip inet,
  dns_servers inet[] not null default '{}',
  host_routes jsonb not null default '[]',
  dhcp_enabled boolean not null default true,
  created_at timestamptz not null default now(),
  check (family(cidr) = ip_version),
  check (gateway_ip is null or (gateway_ip << cidr and masklen(gateway_ip) = case when ip_version = 4 then 32 else 128 end))
);
create index subnets_network on subnets (network_id);

create table subnet_allocation_pools (
  subnet_id uuid not null references subnets(id) on delete cascade,
  first inet not null,
  last inet not null,
  check (family(first) = family(last) and first <= last)
);
create index subnet_allocation_pools_subnet on subnet_allocation_pools (subnet_id, first);

create table ports (
  id uuid primary key default gen_random_uuid(),
  network_id uuid not null references networks(id) on delete cascade,
  project_id uuid not null references projects(id) on delete cascade,
  name text not null default '',
  mac macaddr not null,
  -- Set null as a backstop only: the instance delete trigger below detaches or deletes first.
  instance_id uuid references instances(id) on delete set null,
  device_owner text not null check (device_owner in ('compute', 'network:service')),
  port_security boolean not null default true,
  -- Made for an instance's NIC: it goes with the instance. A user's own port is only detached.
  created_by_instance boolean not null default false,
  status text not null default 'DOWN' check (status in ('DOWN', 'ACTIVE')),
  created_at timestamptz not null default now(),
  unique (network_id, mac)
);
create unique index ports_one_service_port on ports (network_id) where device_owner = 'network:service';
create index ports_instance on ports (instance_id) where instance_id is not null;
create index ports_project on ports (project_id);

-- IPAM: the primary key makes a double allocation impossible; the address goes with its port.
create table port_ips (
  port_id uuid not null references ports(id) on delete cascade,
  subnet_id uuid not null references subnets(id) on delete cascade,
  ip inet not null,
  primary key (subnet_id, ip),
  unique (port_id, ip)
);

create table security_groups (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null references projects(id) on delete cascade,
  name text not null check (length(name) between 1 and 255),
  description text not null default '',
  created_at timestamptz not null default now(),
  unique (project_id, name)
);

create table security_group_rules (
  id uuid primary key default gen_random_uuid(),
  group_id uuid not null references security_groups(id) on delete cascade,
  direction text not null check (direction in ('ingress', 'egress')),
  ethertype text not null check (ethertype in ('IPv4', 'IPv6')),
  protocol text,
  port_min integer check (port_min between 0 and 65535),
  port_max integer check (port_max between 0 and 65535),
  remote_cidr cidr,
  remote_group_id uuid references security_groups(id) on delete cascade,
  created_at timestamptz not null default now(),
  check (remote_cidr is null or remote_group_id is null),
  check (port_min is null or port_max is null or port_min <= port_max or protocol in ('icmp', 'icmpv6'))
);
create index security_group_rules_group on security_group_rules (group_id);
create index security_group_rules_remote on security_group_rules (remote_group_id) where remote_group_id is not null;

-- Restrict: a group in use by a port is not deleted (the resolver says so first, as a conflict).
create table port_security_groups (
  port_id uuid not null references ports(id) on delete cascade,
  group_id uuid not null references security_groups(id) on delete restrict,
  primary key (port_id, group_id)
);
create index port_security_groups_group on port_security_groups (group_id);

create table floating_ips (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null references projects(id) on delete cascade,
  network_id uuid not null references networks(id) on delete restrict,
  subnet_id uuid not null references subnets(id) on delete restrict,
  address inet not null,
  port_id uuid,
  fixed_ip inet,
  created_at timestamptz not null default now(),
  unique (network_id, address),
  -- Both go null together when the port or that address of it goes: the floating IP stays, unassociated.
  foreign key (port_id, fixed_ip) references port_ips (port_id, ip) on delete set null,
  check ((port_id is null) = (fixed_ip is null))
);
create index floating_ips_port on floating_ips (port_id) where port_id is not null;
create index floating_ips_subnet on floating_ips (subnet_id, address);

-- An instance's created ports go with it; user ports stay, detached. Done before the delete, while
-- the instance still names its host, so the port triggers below find the hosts to wake.
create function instances_release_ports() returns trigger language plpgsql as $$
begin
  delete from ports where instance_id = old.id and created_by_instance;
  update ports set instance_id = null, status = 'DOWN' where instance_id = old.id;
  return old;
end $$;
create trigger instances_release_ports before delete on instances
  for each row execute function instances_release_ports();

-- Wake-ups. An agent re-reads its whole view on a host change, so these only name the hosts.

-- Hosts where instances with ports on these networks are bound or arriving by live migration.
create function network_hosts(nets uuid[]) returns setof uuid language sql stable as $$
  select i.host_id from ports p join instances i on i.id = p.instance_id
   where p.network_id = any(nets) and i.host_id is not null
  union
  select m.dest_host_id from ports p join migrations m on m.instance_id = p.instance_id
   where p.network_id = any(nets) and m.kind = 'live-migration' and m.status in ('preparing', 'prepared', 'running')
$$;

-- Hosts of these instances (bound, or arriving by live migration).
create function instance_hosts(ids uuid[]) returns setof uuid language sql stable as $$
  select host_id from instances where id = any(ids) and host_id is not null
  union
  select dest_host_id from migrations
   where instance_id = any(ids) and kind = 'live-migration' and status in ('preparing', 'prepared', 'running')
$$;

-- Hosts whose ports' rules read these groups: members of the groups (their own rules) and members
-- of groups with a rule whose remote group is one of them (the members' addresses).
create function group_hosts(groups uuid[]) returns setof uuid language sql stable as $$
  select instance_hosts(array(
    select p.instance_id from port_security_groups psg join ports p on p.id = psg.port_id
     where p.instance_id is not null
       and (psg.group_id = any(groups)
            or psg.group_id in (select group_id from security_group_rules where remote_group_id = any(groups)))))
$$;

create function notify_hosts(ids uuid[]) returns void language plpgsql as $$
declare
  h uuid;
begin
  for h in select distinct x from unnest(ids) as x where x is not null order by 1 loop
    perform pg_notify('orrery_changes', json_build_object('kind', 'host', 'id', h, 'hostId', h)::text);
  end loop;
end $$;

-- Statement triggers take the changed rows as `changed` (old and new rows together).
create function networks_changed() returns trigger language plpgsql as $$
begin
  perform notify_hosts(array(select network_hosts(array(select id from changed))));
  return null;
end $$;

create function subnets_changed() returns trigger language plpgsql as $$
begin
  perform notify_hosts(array(select network_hosts(array(select network_id from changed))));
  return null;
end $$;

create function ports_changed() returns trigger language plpgsql as $$
begin
  perform notify_hosts(array(
    select network_hosts(array(select network_id from changed))
    union select instance_hosts(array(select instance_id from changed where instance_id is not null))
    union select group_hosts(array(select group_id from port_security_groups where port_id in (select id from changed)))));
  return null;
end $$;

create function port_ips_changed() returns trigger language plpgsql as $$
begin
  perform notify_hosts(array(
    select network_hosts(array(select network_id from subnets where id in (select subnet_id from changed)))
    union select group_hosts(array(select group_id from port_security_groups where port_id in (select port_id from changed)))));
  return null;
end $$;

create function port_security_groups_changed() returns trigger language plpgsql as $$
begin
  perform notify_hosts(array(
    select instance_hosts(array(select instance_id from ports where id in (select port_id from changed) and instance_id is not null))
    union select group_hosts(array(select group_id from changed))));
  return null;
end $$;

create function security_group_rules_changed() returns trigger language plpgsql as $$
begin
  perform notify_hosts(array(select group_hosts(array(select group_id from changed))));
  return null;
end $$;

create function floating_ips_changed() returns trigger language plpgsql as $$
begin
  perform notify_hosts(array(
    select instance_hosts(array(select instance_id from ports where id in (select port_id from changed where port_id is not null)))));
  return null;
end $$;

-- Each function reads the statement's rows as `changed`: one trigger per operation names its
-- transition table so, and an update runs it twice (old rows, then new rows): a port moving
-- between networks or instances wakes the hosts on both sides. pg_notify sends a payload once per
-- transaction, so the second run costs no extra wake-up.
do $$
declare
  t text;
begin
  foreach t in array array['networks', 'subnets', 'ports', 'port_ips', 'port_security_groups', 'security_group_rules', 'floating_ips'] loop
    execute format('create trigger %1$s_inserted after insert on %1$s referencing new table as changed
                      for each statement execute function %1$s_changed()', t);
    execute format('create trigger %1$s_updated_old after update on %1$s referencing old table as changed
                      for each statement execute function %1$s_changed()', t);
    execute format('create trigger %1$s_updated_new after update on %1$s referencing new table as changed
                      for each statement execute function %1$s_changed()', t);
    execute format('create trigger %1$s_deleted after delete on %1$s referencing old table as changed
                      for each statement execute function %1$s_changed()', t);
  end loop;
end $$;

-- Who carries a network changes when an instance with ports moves or a live migration starts or
-- ends: every host of its networks gets new peers. (The instance's own hosts hear the instance
-- change itself.)
create function instance_ports_moved() returns trigger language plpgsql as $$
begin
  perform notify_hosts(array(select network_hosts(array(select network_id from ports where instance_id = new.id))));
  return null;
end $$;
create trigger instances_ports_moved after update of host_id on instances
  for each row when (old.host_id is distinct from new.host_id) execute function instance_ports_moved();

create function live_migration_ports_moved() returns trigger language plpgsql as $$
begin
  perform notify_hosts(array(
    select network_hosts(array(select network_id from ports where instance_id = new.instance_id))
    union select new.dest_host_id));
  return null;
end $$;
create trigger migrations_ports_moved after insert or update of status on migrations
  for each row when (new.kind = 'live-migration') execute function live_migration_ports_moved();

-- A host's new tunnel address is news to every host sharing a network with it.
create function host_tunnel_moved() returns trigger language plpgsql as $$
begin
  perform notify_hosts(array(select network_hosts(array(
    select p.network_id from ports p join instances i on i.id = p.instance_id where i.host_id = new.id))));
  return null;
end $$;
create trigger hosts_tunnel_moved after update of tunnel_address on hosts
  for each row when (old.tunnel_address is distinct from new.tunnel_address) execute function host_tunnel_moved();
