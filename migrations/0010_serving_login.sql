-- `vigil serve` may run under a login that is only a member of vigil_app (`--app-database-url`,
-- and the embedded default's generated `vigil_serving`): it then holds no credential that could
-- change an event. The one piece of the owner's work it still does, creating next month's
-- partition, goes through a function the owner defines, which does only that. Retention stays
-- with the owner (`vigil migrate --retention-days`, or the embedded server, which is the owner).

-- Creates the partition of `events` and of its aggregates for the month starting `first_day`,
-- when missing; returns whether `events` gained one. Months from ten years back to a year ahead
-- only, so a caller cannot litter the schema with tables.
create function create_month_partitions(first_day date) returns boolean
language plpgsql security definer set search_path from current as $$
declare
    suffix text;
    bounds text;
    created boolean := false;
    parent text;
begin
    if first_day is null or first_day <> date_trunc('month', first_day)::date then
        raise exception 'not the first day of a month: %', first_day using errcode = '22023';
    end if;
    if first_day < date_trunc('month', now()) - interval '10 years'
       or first_day > date_trunc('month', now()) + interval '12 months' then
        raise exception 'month % is out of range', first_day using errcode = '22023';
    end if;
    suffix := to_char(first_day, 'YYYY_MM');
    bounds := format('for values from (%L) to (%L)',
                     first_day::timestamp at time zone 'UTC',
                     (first_day + interval '1 month')::timestamp at time zone 'UTC');
    foreach parent in array array['events', 'event_counts'] loop
        -- A table of that name that is not attached (retention mid-way, or an operator holding
        -- a month) is left alone, as before.
        if to_regclass(parent || '_' || suffix) is null then
            begin
                execute format('create table %I partition of %I %s',
                               parent || '_' || suffix, parent, bounds);
                created := created or parent = 'events';
            exception when duplicate_table or unique_violation then
                null; -- another instance created it at the same moment
            end;
        end if;
    end loop;
    return created;
end
$$;

-- Security definer functions run with the owner's rights: the serving role may call the routine
-- ones; counting an arbitrary range, or every window again (after retention), is the owner's.
revoke execute on function create_month_partitions(date) from public;
revoke execute on function count_events(bigint, bigint) from public;
revoke execute on function roll_up(bigint) from public;
revoke execute on function rebuild_failure_windows() from public;
revoke execute on function advance_failure_windows() from public;

do $$
begin
    if exists (select from pg_roles where rolname = 'vigil_app') then
        grant execute on function create_month_partitions(date), roll_up(bigint),
            advance_failure_windows() to vigil_app;
        -- The start check and `/readyz` compare the schema with the binary's migrations.
        grant select on _sqlx_migrations to vigil_app;
    end if;
end
$$;
