-- Nova's config_drive: the guest gets its metadata on an ISO 9660 CD-ROM labelled config-2 as well
-- as from the metadata service. Part of the spec, fixed at creation (as in Nova).
alter table instances add column config_drive boolean not null default false;
