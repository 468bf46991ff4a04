-- Aggregates for the dashboard's charts and top lists, so they cost the same whatever the
-- table's size.
--
-- They are rolled up from the events behind ingest, not by it: `roll_up()` counts the events
-- after `rollup_cursor.seq` (up to the chain head, a committed prefix: seqs commit in order)
-- and moves the cursor, in one transaction; `vigil serve` calls it every second. A reader adds
-- the events after the cursor (a second's worth) from the table itself, in the same statement,
-- so every answer is exact under a live stream while ingest pays nothing for the aggregates.
--
-- `event_counts` is partitioned like `events`, by the month the events were received, so
-- retention drops a month's counts with the month's rows. Buckets are UTC
-- minutes, hours and days (2001-01-01 is a Monday, so week-wide chart bars start on Mondays).
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

-- Running counts of failed events by address and username over the dashboard's long one-click
-- ranges (the last 24 hours, 7 days, 30 days): one row per distinct value, which the population
-- bounds, instead of one per value per hour or day, which grows with the range and the traffic.
-- Each counts the rolled-up failures with `occurred_at >= start`; `advance_failure_windows()`
-- moves the starts up to the minute and subtracts what fell out. Retention rebuilds them.
create table failure_window_starts (
    span  integer     primary key check (span > 0),  -- seconds
    start timestamptz not null
);

create table failure_windows (
    span       integer not null references failure_window_starts,
    dimension  text    not null check (dimension in ('ip_address', 'username')),
    event_type text    not null,
    category   text    not null,
    value      text    not null,
    n          bigint  not null,
    primary key (span, dimension, event_type, value, category)
);
-- A top list of one type reads its highest counts in order: a few index entries.
create index failure_windows_ranked on failure_windows (span, dimension, event_type, n desc, value);

-- Events with `seq` up to here are counted in the aggregates. Its row lock serialises every
-- function below, across instances.
create table rollup_cursor (
    singleton boolean primary key default true check (singleton),
    seq       bigint  not null
);

-- Counts the events in (`from_seq`, `to_seq`] into every aggregate: one statement, so the
-- rows are read once.
create function count_events(from_seq bigint, to_seq bigint) returns void
language plpgsql security definer set search_path from current as $$
begin
    with batch as materialized (
        select occurred_at, received_at, event_type, category, action_result, severity, source,
               host(ip_address) as address, username
        from events where seq > from_seq and seq <= to_seq
    ),
    charted as (
        insert into event_counts as c
            (grain, bucket, event_type, category, action_result, severity, source, month, n)
        select g.grain,
               date_bin(make_interval(secs => g.grain), b.occurred_at, timestamptz '2001-01-01'),
               b.event_type, b.category, b.action_result, b.severity, b.source,
               date_trunc('month', b.received_at, 'UTC'), count(*)
        from batch b cross join (values (60), (3600), (86400)) g(grain)
        group by 1, 2, 3, 4, 5, 6, 7, 8
        on conflict (grain, bucket, event_type, category, action_result, severity, source, month)
        do update set n = c.n + excluded.n
    )
    insert into failure_windows as f (span, dimension, event_type, category, value, n)
    select s.span, d.dimension, b.event_type, b.category, d.value, count(*)
    from batch b
    cross join lateral (values ('ip_address', b.address), ('username', b.username))
        d(dimension, value)
    join failure_window_starts s on b.occurred_at >= s.start
    where b.action_result = 'failure' and d.value is not null
    group by 1, 2, 3, 4, 5
    on conflict (span, dimension, event_type, category, value) do update set n = f.n + excluded.n;
end
$$;

-- Counts up to `max_rows` events after the cursor and moves it; returns how many.
create function roll_up(max_rows bigint) returns bigint
language plpgsql security definer set search_path from current as $$
declare
    from_seq bigint;
    to_seq bigint;
begin
    select seq into from_seq from rollup_cursor for update;
    -- The head commits with its events, so everything up to it is there to be counted.
    select least(h.seq, from_seq + max_rows) into to_seq from chain_head h;
    if to_seq <= from_seq then
        return 0;
    end if;
    perform count_events(from_seq, to_seq);
    update rollup_cursor set seq = to_seq;
    return to_seq - from_seq;
end
$$;

-- Counts the failure windows again from the rolled-up rows: after retention dropped some.
create function rebuild_failure_windows() returns void
language plpgsql security definer set search_path from current as $$
declare
    to_seq bigint;
begin
    select seq into to_seq from rollup_cursor for update;
    delete from failure_windows;
    insert into failure_windows (span, dimension, event_type, category, value, n)
    select s.span, d.dimension, e.event_type, e.category, d.value, count(*)
    from failure_window_starts s
    join events e on e.occurred_at >= s.start
    cross join lateral (values ('ip_address', host(e.ip_address)), ('username', e.username))
        d(dimension, value)
    where e.seq <= to_seq and e.action_result = 'failure' and d.value is not null
    group by 1, 2, 3, 4, 5;
end
$$;

-- Moves every window's start to `now()` minus its span, down to the minute, subtracting the
-- rolled-up failures that fell out of it.
create function advance_failure_windows() returns void
language plpgsql security definer set search_path from current as $$
declare
    to_seq bigint;
    w record;
    goal timestamptz;
begin
    select seq into to_seq from rollup_cursor for update;
    for w in select span, start from failure_window_starts order by span loop
        goal := date_trunc('minute', now()) - make_interval(secs => w.span);
        continue when goal <= w.start;
        update failure_windows f set n = f.n - g.n
        from (
            select d.dimension, e.event_type, e.category, d.value, count(*) as n
            from events e
            cross join lateral (values ('ip_address', host(e.ip_address)), ('username', e.username))
                d(dimension, value)
            where e.seq <= to_seq and e.action_result = 'failure' and d.value is not null
              and e.occurred_at >= w.start and e.occurred_at < goal
            group by 1, 2, 3, 4
        ) g
        where f.span = w.span and f.dimension = g.dimension and f.event_type = g.event_type
          and f.category = g.category and f.value = g.value;
        delete from failure_windows where span = w.span and n <= 0;
        update failure_window_starts set start = goal where span = w.span;
    end loop;
end
$$;

-- One partition of `event_counts` per partition of `events`, same bounds and suffix.
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
    end loop;
end
$$;

insert into failure_window_starts (span, start)
select span, date_trunc('minute', now()) - make_interval(secs => span)
from (values (86400), (604800), (2592000)) s(span);

-- The events already stored, counted now. Rows from before the chain (0005) have seqs at or
-- below the head, like every other.
insert into rollup_cursor (seq) values (0);
select count_events(0, (select seq from chain_head));
update rollup_cursor set seq = (select seq from chain_head);
-- Statistics now, so the first top lists are planned on them.
analyze event_counts, failure_windows;

do $$
begin
    if exists (select from pg_roles where rolname = 'vigil_app') then
        grant select on event_counts, failure_window_starts, failure_windows, rollup_cursor
            to vigil_app;
    end if;
end
$$;
