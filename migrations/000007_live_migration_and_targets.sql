-- Live migration: the destination prepares a disk for the incoming guest, then the source hands
-- the running guest over hypervisor to hypervisor. Same migration records as cold moves.
alter table migrations drop constraint migrations_kind_check;
alter table migrations add constraint migrations_kind_check check (kind in ('migration', 'resize', 'live-migration'));
alter table migrations drop constraint migrations_status_check;
alter table migrations add constraint migrations_status_check check (status in (
  'migrating', 'finished', 'confirmed', 'reverting', 'reverted', 'error',
  -- live migration: destination preparing, prepared, guest moving, done
  'preparing', 'prepared', 'running', 'completed'));
-- What the destination's driver made ready (where the guest's files go there), handed to the source.
alter table migrations add column dest_prepared jsonb;
-- Why the destination could not prepare.
alter table migrations add column failure text;

-- Where other hosts' hypervisors reach this host's for a live migration (libvirt: a connection
-- URI); null means the host cannot receive live migrations.
alter table hosts add column migration_uri text;

-- A host named by an admin for the next placement (evacuate or unshelve to a host); cleared once
-- the instance is placed.
alter table instances add column requested_host_id uuid references hosts(id) on delete set null;

-- Both hosts of a move hear when it changes (a live migration's destination must prepare; a
-- confirmed or reverted move's other host must drop its domain), as do hosts given a fence.
create function migrations_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('orrery_changes', json_build_object('kind', 'host', 'id', h, 'hostId', h)::text)
     from (select distinct unnest(array[new.source_host_id, new.dest_host_id]) as h) hosts;
  return null;
end $$;

create trigger migrations_notify after insert or update of status, dest_prepared on migrations
  for each row execute function migrations_notify();

create function host_fences_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('orrery_changes', json_build_object('kind', 'host', 'id', new.host_id, 'hostId', new.host_id)::text);
  return null;
end $$;

create trigger host_fences_notify after insert or update on host_fences
  for each row execute function host_fences_notify();
