-- The scheduler: effective allocation ratios (host and aggregate), indexed free capacity, the
-- scheduler's own configuration, server groups, quotas, key pairs and per-host build failures.

-- Allocation ratios, as Nova resolves them: the smallest value any of the host's aggregates sets
-- in its metadata, else the host's own ratio, else the deployment default. Values that are not
-- positive numbers are ignored (Nova logs and skips them).
create function effective_ratio(p_host uuid, p_key text, p_host_ratio real, p_default real)
  returns real language sql stable as $$
  select coalesce(
    (select min((a.metadata->>p_key)::real)
       from aggregate_hosts ah join aggregates a on a.id = ah.aggregate_id
      where ah.host_id = p_host
        and a.metadata->>p_key ~ '^\s*[0-9]*\.?[0-9]+\s*$'
        and (a.metadata->>p_key)::real > 0),
    p_host_ratio, p_default)
$$;

-- Denormalised on the host row so a claim stays one row update and capacity is indexable; kept
-- by the triggers below whenever a host's ratio, an aggregate's metadata or a membership changes.
alter table hosts
  add column effective_cpu_ratio real not null default 16.0,
  add column effective_ram_ratio real not null default 1.5,
  add column effective_disk_ratio real not null default 1.0;

create function hosts_effective_ratios() returns trigger language plpgsql as $$
begin
  new.effective_cpu_ratio := effective_ratio(new.id, 'cpu_allocation_ratio', new.cpu_allocation_ratio, 16.0);
  new.effective_ram_ratio := effective_ratio(new.id, 'ram_allocation_ratio', new.ram_allocation_ratio, 1.5);
  new.effective_disk_ratio := effective_ratio(new.id, 'disk_allocation_ratio', new.disk_allocation_ratio, 1.0);
  return new;
end $$;

create trigger hosts_effective_ratios
  before insert or update of cpu_allocation_ratio, ram_allocation_ratio, disk_allocation_ratio on hosts
  for each row execute function hosts_effective_ratios();

create function refresh_effective_ratios(p_hosts uuid[]) returns void language sql as $$
  update hosts h set
    effective_cpu_ratio = effective_ratio(h.id, 'cpu_allocation_ratio', h.cpu_allocation_ratio, 16.0),
    effective_ram_ratio = effective_ratio(h.id, 'ram_allocation_ratio', h.ram_allocation_ratio, 1.5),
    effective_disk_ratio = effective_ratio(h.id, 'disk_allocation_ratio', h.disk_allocation_ratio, 1.0)
   where h.id = any(p_hosts)
$$;

create function aggregate_hosts_ratios() returns trigger language plpgsql as $$
begin
  perform refresh_effective_ratios(array[coalesce(new.host_id, old.host_id)]);
  return null;
end $$;

create trigger aggregate_hosts_ratios after insert or delete on aggregate_hosts
  for each row execute function aggregate_hosts_ratios();

create function aggregates_ratios() returns trigger language plpgsql as $$
begin
  perform refresh_effective_ratios(array(select host_id from aggregate_hosts where aggregate_id = new.id));
  return null;
end $$;

-- Only a change of a ratio key touches the member hosts; other metadata edits cost nothing.
create trigger aggregates_ratios after update of metadata on aggregates
  for each row
  when ((old.metadata->'cpu_allocation_ratio', old.metadata->'ram_allocation_ratio', old.metadata->'disk_allocation_ratio')
        is distinct from
        (new.metadata->'cpu_allocation_ratio', new.metadata->'ram_allocation_ratio', new.metadata->'disk_allocation_ratio'))
  execute function aggregates_ratios();

select refresh_effective_ratios(array(select id from hosts));

-- The claim trigger (000001) calls these, so scheduler and database keep one meaning of "full".
create or replace function capacity_vcpus(h hosts) returns integer language sql immutable as
  $$ select floor((h.vcpus - h.reserved_vcpus) * h.effective_cpu_ratio)::integer $$;
create or replace function capacity_memory_mb(h hosts) returns integer language sql immutable as
  $$ select floor((h.memory_mb - h.reserved_memory_mb) * h.effective_ram_ratio)::integer $$;
create or replace function capacity_disk_gb(h hosts) returns integer language sql immutable as
  $$ select floor((h.disk_gb - h.reserved_disk_gb) * h.effective_disk_ratio)::integer $$;

-- Free capacity as stored columns, so the coarse filter walks an index from the roomiest host
-- down and stops after a few candidates, whatever the size of the fleet.
alter table hosts
  add column free_memory_mb integer generated always as
    (floor((memory_mb - reserved_memory_mb) * effective_ram_ratio)::integer - used_memory_mb) stored,
  add column free_vcpus integer generated always as
    (floor((vcpus - reserved_vcpus) * effective_cpu_ratio)::integer - used_vcpus) stored,
  add column free_disk_gb integer generated always as
    (floor((disk_gb - reserved_disk_gb) * effective_disk_ratio)::integer - used_disk_gb) stored;
create index hosts_free_memory on hosts (free_memory_mb) where enabled and not forced_down;

-- The scheduler's configuration: every applied version is kept, the newest one is in force.
create table scheduler_configs (
  version integer primary key,
  spec jsonb not null,
  applied_by uuid references users(id) on delete set null,
  applied_at timestamptz not null default now()
);

create table server_groups (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null references projects(id) on delete cascade,
  user_id uuid references users(id) on delete set null,
  name text not null check (length(name) between 1 and 255),
  policy text not null check (policy in ('affinity', 'anti-affinity', 'soft-affinity', 'soft-anti-affinity')),
  -- Only anti-affinity takes a rule: max_server_per_host (default 1).
  max_server_per_host integer check (max_server_per_host >= 1),
  created_at timestamptz not null default now(),
  check (max_server_per_host is null or policy = 'anti-affinity')
);
create index server_groups_project on server_groups (project_id, name);

-- Membership outlives neither side: deleting the group (allowed, as in Nova) or the instance
-- drops the row, and neither delete locks the other's rows.
create table server_group_members (
  group_id uuid not null references server_groups(id) on delete cascade,
  instance_id uuid not null unique references instances(id) on delete cascade,
  primary key (group_id, instance_id)
);

alter table instances
  add column scheduler_hints jsonb not null default '{}',
  add column key_name text,
  -- A copy of the public key at creation: deleting the key pair later changes no instance (Nova's key_data).
  add column key_data text;

-- Defaults for every project (Nova's quota class "default"); -1 means unlimited.
create table quota_defaults (
  resource text primary key,
  hard_limit integer not null check (hard_limit >= -1)
);
insert into quota_defaults (resource, hard_limit) values
  ('instances', 10), ('cores', 20), ('ram', 51200), ('server_groups', 10),
  ('server_group_members', 10), ('key_pairs', 100), ('metadata_items', 128);

create table quota_limits (
  project_id uuid not null references projects(id) on delete cascade,
  resource text not null references quota_defaults(resource),
  hard_limit integer not null check (hard_limit >= -1),
  primary key (project_id, resource)
);

create table key_pairs (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users(id) on delete cascade,
  name text not null check (length(name) between 1 and 255),
  public_key text not null,
  fingerprint text not null,
  type text not null default 'ssh',
  created_at timestamptz not null default now(),
  unique (user_id, name)
);

-- Builds that failed per host since its last success (Nova's failed_builds), for the BuildFailure
-- weigher. Kept from the instance rows: a host appended to failed_host_ids counts one failure,
-- a build that settles on a host clears its count.
create table host_build_failures (
  host_id uuid primary key references hosts(id) on delete cascade,
  failures integer not null,
  last_failed_at timestamptz not null default now()
);

create function instances_build_failures() returns trigger language plpgsql as $$
begin
  insert into host_build_failures (host_id, failures)
  select f, 1 from unnest(new.failed_host_ids) f
   where f <> all(old.failed_host_ids) and exists (select 1 from hosts where id = f)
  on conflict (host_id) do update set failures = host_build_failures.failures + 1, last_failed_at = now();
  if old.vm_state = 'building' and new.vm_state not in ('building', 'error') and new.host_id is not null then
    delete from host_build_failures where host_id = new.host_id;
  end if;
  return null;
end $$;

create trigger instances_build_failures after update of failed_host_ids, vm_state on instances
  for each row
  when (old.failed_host_ids is distinct from new.failed_host_ids
        or (old.vm_state = 'building' and new.vm_state <> 'building'))
  execute function instances_build_failures();
