-- A port's place among its instance's NICs (Nova's device order: eth0 is the first NIC asked
-- for, an attached one comes last). Numbered by the database as a port joins an instance, so
-- every path that attaches (creation, attach, a user's port) gets it in the order it writes.
alter table ports add column device_index int;

create function ports_number_device() returns trigger language plpgsql as $$
begin
  if new.instance_id is null then
    new.device_index := null;
  elsif tg_op = 'INSERT' or old.instance_id is distinct from new.instance_id then
    -- Attaches to one instance run under its row lock; the unique index below is the backstop.
    select coalesce(max(device_index) + 1, 0) into new.device_index from ports where instance_id = new.instance_id;
  end if;
  return new;
end $$;

create trigger ports_number_device before insert or update of instance_id on ports
  for each row execute function ports_number_device();

update ports p set device_index = n.i
  from (select id, row_number() over (partition by instance_id order by created_at, id) - 1 as i
          from ports where instance_id is not null) n
 where n.id = p.id;

create unique index ports_device_index on ports (instance_id, device_index) where instance_id is not null;
