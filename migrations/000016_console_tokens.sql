-- One-time console tokens (Nova's consoleauth) and the session each becomes once used.
-- A token is bound to one instance and to the host the instance ran on when it was issued: after
-- a move, only a new token reaches the guest. Only the sha256 of the token is kept.
create table console_tokens (
  id uuid primary key default gen_random_uuid(),
  token_hash bytea not null unique,
  instance_id uuid not null references instances(id) on delete cascade,
  host_id uuid not null references hosts(id) on delete cascade,
  project_id uuid not null references projects(id) on delete cascade,
  kind text not null check (kind in ('vnc', 'serial')),
  created_by uuid references users(id) on delete set null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  -- The client opened the proxy with it: never again.
  used_at timestamptz,
  -- The API process holding the client's socket, which the host's agent must dial back to, and
  -- the address it is reached at there (null: the agent's own API address).
  api_process uuid,
  relay_url text,
  -- The agent dialled back: the two sockets are paired.
  host_connected_at timestamptz,
  ended_at timestamptz,
  end_reason text,
  check (used_at is not null or (api_process is null and host_connected_at is null)),
  check (host_connected_at is null or used_at is not null)
);

create index console_tokens_instance on console_tokens (instance_id);
-- What an agent waits for: used tokens of its host whose session is not connected yet.
create index console_tokens_pending on console_tokens (host_id) where used_at is not null and host_connected_at is null and ended_at is null;
create index console_tokens_cleanup on console_tokens (expires_at);

-- A session waiting for its host, or no longer, wakes that host's agent (its console watch only).
create function console_tokens_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('orrery_changes', json_build_object('kind', 'console', 'id', new.id, 'hostId', new.host_id)::text);
  return null;
end $$;

create trigger console_tokens_notify after update of used_at, host_connected_at, ended_at on console_tokens
  for each row execute function console_tokens_notify();
