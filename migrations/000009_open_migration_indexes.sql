-- Every read of an agent's view looks for the moves its host takes part in (held domains,
-- incoming live migrations); migration records are kept for good, so those reads must not scan
-- them all. Only open moves are indexed, matching the view's predicates.
create index migrations_open_by_source on migrations (source_host_id)
  where status in ('migrating', 'finished', 'reverting');
create index migrations_open_live_by_dest on migrations (dest_host_id)
  where kind = 'live-migration' and status in ('preparing', 'prepared', 'running');
