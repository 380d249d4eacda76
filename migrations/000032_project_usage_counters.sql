-- A project's instances, cores and RAM as counters, kept in the transaction that writes its
-- instances, instead of a count of its rows joined to flavors under every quota check: that was
-- O(instances in the project) per createInstances, growing through a run.
--
-- Same meaning as the count: every instance row, a deleting one too (delete_requested_at set)
-- until the reconciler deletes it, sized by the flavor it names now (flavor_id: the new flavor
-- from the start of a resize, the old one again on revert). A project without a row uses nothing.
create table project_usage (
  project_id uuid primary key references projects(id) on delete cascade,
  instances bigint not null default 0 check (instances >= 0),
  cores bigint not null default 0 check (cores >= 0),
  ram_mb bigint not null default 0 check (ram_mb >= 0)
);

-- `changes` are the statement's rows as signed parts of their project's usage (+ added, - removed).
-- Projects whose parts cancel out are not touched.
create function apply_project_usage(changes project_usage[]) returns void language plpgsql as $$
declare
  delta project_usage[] := array(
    select (project_id, sum(instances), sum(cores), sum(ram_mb))::project_usage
      from unnest(changes) group by project_id
    having (sum(instances), sum(cores), sum(ram_mb)) <> (0, 0, 0)
     order by project_id);
begin
  if cardinality(delta) = 0 then
    return;
  end if;
  -- Two statements, not one upsert: PostgreSQL checks an insert's proposed row against the
  -- checks before it finds the conflict, so a negative delta could not pass as `excluded`.
  -- Rows are created and locked in project order, so concurrent statements cannot deadlock.
  insert into project_usage (project_id) select project_id from unnest(delta) order by project_id
    on conflict (project_id) do nothing;
  with locked as materialized (
    select project_id from project_usage where project_id = any(array(select project_id from unnest(delta)))
     order by project_id for no key update
  )
  update project_usage u set instances = u.instances + d.instances, cores = u.cores + d.cores, ram_mb = u.ram_mb + d.ram_mb
    from unnest(delta) d
   where u.project_id = any(array(select project_id from locked)) and u.project_id = d.project_id;
end $$;

create function instances_usage_inserted() returns trigger language plpgsql as $$
begin
  perform apply_project_usage(array(
    select (n.project_id, 1, f.vcpus, f.ram_mb)::project_usage from new_rows n join flavors f on f.id = n.flavor_id));
  return null;
end $$;

-- Only rows whose project or flavor changed take part (nearly every update changes neither): old
-- and new rows paired by id, and one whose id changed counts as removed and added.
create function instances_usage_updated() returns trigger language plpgsql as $$
begin
  perform apply_project_usage(array(
    select (x.project_id, x.n, x.n * f.vcpus, x.n * f.ram_mb)::project_usage
      from old_rows o full join new_rows n on n.id = o.id
     cross join lateral (values (o.project_id, o.flavor_id, -1), (n.project_id, n.flavor_id, 1)) as x(project_id, flavor_id, n)
      join flavors f on f.id = x.flavor_id
     where (o.project_id, o.flavor_id) is distinct from (n.project_id, n.flavor_id)));
  return null;
end $$;

create function instances_usage_deleted() returns trigger language plpgsql as $$
begin
  perform apply_project_usage(array(
    select (o.project_id, -1, -f.vcpus, -f.ram_mb)::project_usage from old_rows o join flavors f on f.id = o.flavor_id));
  return null;
end $$;

-- Creating the triggers locks instances against writes until this migration commits: no instance
-- is written between them and the count below.
create trigger instances_usage_insert after insert on instances
  referencing new table as new_rows for each statement execute function instances_usage_inserted();
create trigger instances_usage_update after update on instances
  referencing old table as old_rows new table as new_rows for each statement execute function instances_usage_updated();
create trigger instances_usage_delete after delete on instances
  referencing old table as old_rows for each statement execute function instances_usage_deleted();

insert into project_usage (project_id, instances, cores, ram_mb)
select i.project_id, count(*), sum(f.vcpus), sum(f.ram_mb)
  from instances i join flavors f on f.id = i.flavor_id
 group by i.project_id;

-- The counters hold each instance's flavor size as it was when written. No API changes a flavor
-- (flavors are created and deleted, and one in use cannot be deleted); this keeps SQL from doing
-- so behind the counters' back.
create function flavors_size_fixed() returns trigger language plpgsql as $$
begin
  raise exception 'flavor % cannot change its vcpus or ram_mb: create a new flavor and resize to it', old.name
    using errcode = 'check_violation';
end $$;
create trigger flavors_size_fixed before update of vcpus, ram_mb on flavors
  for each row when ((old.vcpus, old.ram_mb) is distinct from (new.vcpus, new.ram_mb))
  execute function flavors_size_fixed();
