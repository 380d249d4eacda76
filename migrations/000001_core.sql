-- Core schema: identity, catalogue, hosts, instances, allocations, actions.

create table projects (
  id uuid primary key default gen_random_uuid(),
  name text not null unique check (length(name) between 1 and 64),
  description text not null default '',
  created_at timestamptz not null default now()
);

create table users (
  id uuid primary key default gen_random_uuid(),
  name text not null unique check (length(name) between 1 and 64),
  created_at timestamptz not null default now()
);

create table role_assignments (
  user_id uuid not null references users(id) on delete cascade,
  project_id uuid not null references projects(id) on delete cascade,
  role text not null check (role in ('reader', 'member', 'admin')),
  primary key (user_id, project_id, role)
);

create table availability_zones (
  id uuid primary key default gen_random_uuid(),
  name text not null unique check (length(name) between 1 and 255),
  description text not null default '',
  created_at timestamptz not null default now()
);

create table hosts (
  id uuid primary key default gen_random_uuid(),
  name text not null unique check (length(name) between 1 and 255),
  zone_id uuid references availability_zones(id) on delete restrict,
  enabled boolean not null default true,
  disabled_reason text,
  forced_down boolean not null default false,
  last_heartbeat_at timestamptz,
  -- Set by the sweep when the heartbeat lease expires, cleared by the next heartbeat.
  down_since timestamptz,
  -- Bumped when a host declared down comes back, so a returning agent learns it was fenced.
  epoch integer not null default 1,
  hypervisor_type text not null default '',
  hypervisor_version text not null default '',
  architecture text not null default '',
  capabilities jsonb not null default '{}',
  vcpus integer not null default 0 check (vcpus >= 0),
  memory_mb integer not null default 0 check (memory_mb >= 0),
  disk_gb integer not null default 0 check (disk_gb >= 0),
  reserved_vcpus integer not null default 0 check (reserved_vcpus >= 0),
  reserved_memory_mb integer not null default 0 check (reserved_memory_mb >= 0),
  reserved_disk_gb integer not null default 0 check (reserved_disk_gb >= 0),
  -- Null means "use the deployment default" (cpu 16.0, ram 1.5, disk 1.0).
  cpu_allocation_ratio real check (cpu_allocation_ratio > 0),
  ram_allocation_ratio real check (ram_allocation_ratio > 0),
  disk_allocation_ratio real check (disk_allocation_ratio > 0),
  -- Kept by the allocations trigger; never written by hand.
  used_vcpus integer not null default 0,
  used_memory_mb integer not null default 0,
  used_disk_gb integer not null default 0,
  enrolled_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index hosts_zone on hosts (zone_id);

create table aggregates (
  id uuid primary key default gen_random_uuid(),
  name text not null unique check (length(name) between 1 and 255),
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now()
);

create table aggregate_hosts (
  aggregate_id uuid not null references aggregates(id) on delete cascade,
  host_id uuid not null references hosts(id) on delete cascade,
  primary key (aggregate_id, host_id)
);
create index aggregate_hosts_host on aggregate_hosts (host_id);

create table tokens (
  id uuid primary key default gen_random_uuid(),
  -- sha256 of the secret; the secret itself is shown once and never stored.
  secret_hash bytea not null unique,
  kind text not null check (kind in ('user', 'host', 'enrollment')),
  user_id uuid references users(id) on delete cascade,
  project_id uuid references projects(id) on delete cascade,
  host_id uuid references hosts(id) on delete cascade,
  description text not null default '',
  expires_at timestamptz,
  created_at timestamptz not null default now(),
  check (kind <> 'user' or (user_id is not null and project_id is not null)),
  check (kind <> 'host' or host_id is not null)
);

create table flavors (
  id uuid primary key default gen_random_uuid(),
  name text not null unique check (length(name) between 1 and 255),
  vcpus integer not null check (vcpus between 1 and 1024),
  ram_mb integer not null check (ram_mb between 1 and 16777216),
  disk_gb integer not null check (disk_gb between 0 and 1048576),
  ephemeral_gb integer not null default 0 check (ephemeral_gb >= 0),
  swap_mb integer not null default 0 check (swap_mb >= 0),
  extra_specs jsonb not null default '{}',
  is_public boolean not null default true,
  description text not null default '',
  created_at timestamptz not null default now()
);

create table flavor_projects (
  flavor_id uuid not null references flavors(id) on delete cascade,
  project_id uuid not null references projects(id) on delete cascade,
  primary key (flavor_id, project_id)
);

create table images (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(name) between 1 and 255),
  owner_project_id uuid not null references projects(id) on delete restrict,
  visibility text not null default 'private' check (visibility in ('public', 'private')),
  disk_format text not null check (disk_format in ('qcow2', 'raw')),
  status text not null default 'queued' check (status in ('queued', 'saving', 'active', 'killed')),
  size_bytes bigint,
  -- sha256, hex. Declared by the uploader or computed on upload; agents verify it.
  checksum text,
  min_disk_gb integer not null default 0 check (min_disk_gb >= 0),
  min_ram_mb integer not null default 0 check (min_ram_mb >= 0),
  properties jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index images_owner on images (owner_project_id);

-- A single sequence orders every change agents and watchers must see.
create sequence change_revision;

create table instances (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null references projects(id) on delete restrict,
  user_id uuid not null references users(id) on delete restrict,
  name text not null check (length(name) between 1 and 255),
  flavor_id uuid not null references flavors(id) on delete restrict,
  image_id uuid not null references images(id) on delete restrict,
  requested_zone text,
  desired_power_state text not null default 'running'
    check (desired_power_state in ('running', 'stopped', 'paused', 'suspended')),
  metadata jsonb not null default '{}',
  user_data text,
  delete_requested_at timestamptz,
  generation integer not null default 1,
  observed_generation integer not null default 0,
  host_id uuid references hosts(id) on delete restrict,
  vm_state text not null default 'building',
  task_state text default 'scheduling',
  power_state text not null default 'nostate',
  fault jsonb,
  -- Hosts that already failed to build this instance (the Retry filter reads it).
  failed_host_ids uuid[] not null default '{}',
  schedule_attempts integer not null default 0,
  -- When the current task must have finished; past it the reconciler takes the way out.
  task_deadline_at timestamptz,
  agent_fault jsonb,
  agent_reported_at timestamptz,
  launched_at timestamptz,
  revision bigint not null default nextval('change_revision'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index instances_project on instances (project_id, created_at, id);
create index instances_host on instances (host_id);
create index instances_revision on instances (revision);

create table allocations (
  instance_id uuid not null references instances(id) on delete restrict,
  host_id uuid not null references hosts(id) on delete restrict,
  vcpus integer not null check (vcpus >= 0),
  memory_mb integer not null check (memory_mb >= 0),
  disk_gb integer not null check (disk_gb >= 0),
  created_at timestamptz not null default now(),
  primary key (instance_id, host_id)
);
create index allocations_host on allocations (host_id);

-- Capacity a claim may fill: (total - reserved) x allocation ratio. The default ratios (cpu 16.0,
-- ram 1.5, disk 1.0) are Nova's; a host's own ratio overrides them. Placement and the trigger
-- below both use these, so the scheduler and the database agree on what "full" means.
create function capacity_vcpus(h hosts) returns integer language sql immutable as
  $$ select floor((h.vcpus - h.reserved_vcpus) * coalesce(h.cpu_allocation_ratio, 16.0))::integer $$;
create function capacity_memory_mb(h hosts) returns integer language sql immutable as
  $$ select floor((h.memory_mb - h.reserved_memory_mb) * coalesce(h.ram_allocation_ratio, 1.5))::integer $$;
create function capacity_disk_gb(h hosts) returns integer language sql immutable as
  $$ select floor((h.disk_gb - h.reserved_disk_gb) * coalesce(h.disk_allocation_ratio, 1.0))::integer $$;

-- Usage counters live on the host row so a claim is one row update; the trigger keeps them equal
-- to the sum of allocations and refuses any allocation that would pass capacity, whoever writes it.
create function allocations_apply_usage() returns trigger language plpgsql as $$
declare
  h hosts%rowtype;
begin
  if tg_op in ('DELETE', 'UPDATE') then
    update hosts set used_vcpus = used_vcpus - old.vcpus,
                     used_memory_mb = used_memory_mb - old.memory_mb,
                     used_disk_gb = used_disk_gb - old.disk_gb
     where id = old.host_id;
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    update hosts set used_vcpus = used_vcpus + new.vcpus,
                     used_memory_mb = used_memory_mb + new.memory_mb,
                     used_disk_gb = used_disk_gb + new.disk_gb
     where id = new.host_id
     returning * into h;
    if h.used_vcpus > capacity_vcpus(h)
       or h.used_memory_mb > capacity_memory_mb(h)
       or h.used_disk_gb > capacity_disk_gb(h) then
      raise exception 'allocation exceeds capacity of host %', h.name using errcode = 'OR001';
    end if;
  end if;
  return null;
end $$;

create trigger allocations_usage after insert or update or delete on allocations
  for each row execute function allocations_apply_usage();

create table instance_actions (
  id uuid primary key default gen_random_uuid(),
  -- No foreign key: the action log outlives the instance, as Nova's does.
  instance_id uuid not null,
  project_id uuid not null,
  action text not null,
  request_id text not null,
  user_id uuid,
  state text not null default 'running' check (state in ('pending', 'running', 'succeeded', 'failed')),
  message text,
  started_at timestamptz not null default now(),
  finished_at timestamptz
);
create index instance_actions_instance on instance_actions (instance_id, started_at);

create table instance_action_events (
  id bigserial primary key,
  action_id uuid not null references instance_actions(id) on delete cascade,
  event text not null,
  result text not null default 'running' check (result in ('running', 'success', 'error')),
  host_name text,
  details text,
  started_at timestamptz not null default now(),
  finished_at timestamptz
);
create index instance_action_events_action on instance_action_events (action_id, id);

-- Every instance write gets a new revision (agents and watchers resume from one) and is published
-- on one channel, so every API replica hears every change whichever process wrote it.
create function instances_touch() returns trigger language plpgsql as $$
begin
  new.revision := nextval('change_revision');
  -- An explicit updated_at (an operator's repair, a test) is kept.
  if new.updated_at is not distinct from old.updated_at then
    new.updated_at := now();
  end if;
  return new;
end $$;

create trigger instances_touch before update on instances
  for each row execute function instances_touch();

create function instances_notify() returns trigger language plpgsql as $$
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
    'deleted', tg_op = 'DELETE')::text);
  return null;
end $$;

create trigger instances_notify after insert or update or delete on instances
  for each row execute function instances_notify();

-- Host-side revision: when a host's own settings change (fencing epoch, enablement) its agent hears it.
create function hosts_notify() returns trigger language plpgsql as $$
begin
  if tg_op = 'UPDATE' and old.epoch = new.epoch and old.enabled = new.enabled then
    return null;
  end if;
  perform pg_notify('orrery_changes', json_build_object('kind', 'host', 'id', new.id, 'hostId', new.id)::text);
  return null;
end $$;

create trigger hosts_notify after update on hosts
  for each row execute function hosts_notify();
