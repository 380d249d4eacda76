-- What a flavor claims of a host's disk, as Nova counts DISK_GB: root + ephemeral + swap (rounded
-- up to GiB). One definition for the scheduler's request and for allocations rewritten to a
-- flavor (a resize in place settled or reverted), which counted the root disk alone.
create function flavor_claim_disk_gb(f flavors) returns integer language sql immutable as
  $$ select f.disk_gb + f.ephemeral_gb + ceil(f.swap_mb / 1024.0)::integer $$;
