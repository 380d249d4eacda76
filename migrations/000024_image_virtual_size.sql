-- The guest-visible size of an image's disk (Glance's virtual_size), read from the file when it is
-- uploaded; null for files uploaded before, or whose header does not say.
alter table images add column virtual_size_bytes bigint check (virtual_size_bytes >= 0);
