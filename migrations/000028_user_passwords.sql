-- Passwords for the OpenStack facade's Identity v3 password auth. The column holds a
-- self-describing scrypt record (parameters, salt, key), so the cost can rise later without a
-- migration: old records keep verifying with the parameters they were made with.
alter table users add column password_hash text;
