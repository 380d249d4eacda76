-- What an instance that finds no host to build on becomes (no valid host, or every attempt failed):
-- an unshelve stays shelved, as in Nova; a new build is an ERROR. One definition for both ways out.
create function unplaced_vm_state(vm_state text) returns text
  language sql immutable
  as $$ select case when vm_state = 'shelved_offloaded' then vm_state else 'error' end $$;
