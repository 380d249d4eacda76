-- Enrolling a host revokes its old credentials (tokens of kind 'host' with its id), and deleting a
-- host cascades to its tokens: without an index each scanned every token, so enrolling a fleet of
-- N hosts read N²/2 token rows.
create index tokens_host on tokens (host_id) where host_id is not null;
