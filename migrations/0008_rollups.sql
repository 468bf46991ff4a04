-- Aggregates for the dashboard's charts and top lists, kept by the database in the statement
-- that inserts the events (ingest's INSERT and demo data's COPY alike), so they are exact and
-- committed with the rows they count. Each is partitioned like `events`, by the month the
-- events were received, so retention drops a month's counts with the month's rows.

-- Buckets are aligned on UTC minutes, hours and days (2001-01-01 is a Monday, so week-wide
-- chart bars start on Mondays).
set local timezone to 'UTC';

-- Events per bucket of `occurred_at`, by every column a chart can be filtered on without
-- naming a person, address, session or text.
create table event_counts (
    grain         integer     not null check (grain in (60, 3600, 86400)),
    bucket        timestamptz not null,
    event_type    text        not null,
    category      text        not null,
    action_result text        not null,
    severity      text        not null,
    source        text        not null,
    -- The receipt month of the events counted: the partition key, as in `events`.
    month         timestamptz not null,
    n             bigint      not null,
    primary key (grain, bucket, event_type, category, action_result, severity, source, month)
) partition by range (month);

-- Failed events per hour and day by address and by username: the top lists.
create table failure_counts (
    grain      integer     not null check (grain in (3600, 86400)),
    dimension  text        not null check (dimension in ('ip_address', 'username')),
    bucket     timestamptz not null,
    value      text        not null,
    event_type text        not null,
    category   text        not null,
    month      timestamptz not null,
    n          bigint      not null,
    primary key (grain, dimension, bucket, value, event_type, category, month)
) partition by range (month);

-- Security definer: the serving role may insert events but not write counts of its own.
create function events_count_added() returns trigger
language plpgsql security definer set search_path from current as $$
begin
    insert into event_counts as c
        (grain, bucket, event_type, category, action_result, severity, source, month, n)
    select g.grain,
           date_bin(make_interval(secs => g.grain), a.occurred_at, timestamptz '2001-01-01'),
           a.event_type, a.category, a.action_result, a.severity, a.source,
           date_trunc('month', a.received_at, 'UTC'), count(*)
    from added a cross join (values (60), (3600), (86400)) g(grain)
    group by 1, 2, 3, 4, 5, 6, 7, 8
    on conflict (grain, bucket, event_type, category, action_result, severity, source, month)
    do update set n = c.n + excluded.n;

    insert into failure_counts as c
        (grain, dimension, bucket, value, event_type, category, month, n)
    select g.grain, d.dimension,
           date_bin(make_interval(secs => g.grain), a.occurred_at, timestamptz '2001-01-01'),
           d.value, a.event_type, a.category, date_trunc('month', a.received_at, 'UTC'), count(*)
    from added a
    cross join lateral (values ('ip_address', host(a.ip_address)), ('username', a.username))
        d(dimension, value)
    cross join (values (3600), (86400)) g(grain)
    where a.action_result = 'failure' and d.value is not null
    group by 1, 2, 3, 4, 5, 6, 7
    on conflict (grain, dimension, bucket, value, event_type, category, month)
    do update set n = c.n + excluded.n;
    return null;
end
$$;

-- One partition of each aggregate per partition of `events`, same bounds and suffix.
do $$
declare
    part record;
begin
    for part in
        select c.relname::text as name, pg_get_expr(c.relpartbound, c.oid) as bound
        from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'events'::regclass
    loop
        execute format('create table %I partition of event_counts %s',
            replace(part.name, 'events_', 'event_counts_'), part.bound);
        execute format('create table %I partition of failure_counts %s',
            replace(part.name, 'events_', 'failure_counts_'), part.bound);
    end loop;
end
$$;

-- The events already stored: the same aggregation as the trigger's, over the whole table.
insert into event_counts (grain, bucket, event_type, category, action_result, severity, source, month, n)
select g.grain, date_bin(make_interval(secs => g.grain), e.occurred_at, timestamptz '2001-01-01'),
       e.event_type, e.category, e.action_result, e.severity, e.source,
       date_trunc('month', e.received_at, 'UTC'), count(*)
from events e cross join (values (60), (3600), (86400)) g(grain)
group by 1, 2, 3, 4, 5, 6, 7, 8;

insert into failure_counts (grain, dimension, bucket, value, event_type, category, month, n)
select g.grain, d.dimension, date_bin(make_interval(secs => g.grain), e.occurred_at, timestamptz '2001-01-01'),
       d.value, e.event_type, e.category, date_trunc('month', e.received_at, 'UTC'), count(*)
from events e
cross join lateral (values ('ip_address', host(e.ip_address)), ('username', e.username)) d(dimension, value)
cross join (values (3600), (86400)) g(grain)
where e.action_result = 'failure' and d.value is not null
group by 1, 2, 3, 4, 5, 6, 7;

create trigger events_counted
    after insert on events
    referencing new table as added
    for each statement execute function events_count_added();

do $$
begin
    if exists (select from pg_roles where rolname = 'vigil_app') then
        grant select on event_counts, failure_counts to vigil_app;
    end if;
end
$$;
