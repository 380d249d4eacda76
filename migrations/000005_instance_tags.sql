-- Nova's server tags: short labels a user filters instances by. Kept as a set (duplicates are
-- collapsed before they are written); the API checks each tag, the check below bounds the set
-- whoever writes it.
alter table instances
  add column tags text[] not null default '{}' check (cardinality(tags) <= 50);

-- The listing filters (all of, any of, and their negations) are array containment and overlap.
create index instances_tags on instances using gin (tags);
