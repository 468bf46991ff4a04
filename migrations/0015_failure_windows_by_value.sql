-- The failure windows hold one row per value with its three counts, where 0008 kept a row per
-- value per window: a failed event rolled up now writes two rows (address, username) and their
-- index entries, about 10 tuples where it wrote 18, which was the roll-up's whole cost to ingest
-- (docs/BENCHMARKS.md). The windows are fixed at the dashboard's three long ranges, one column
-- each; each column's top list reads its own partial index, which leaves out the values at 0.
set local timezone to 'UTC';

-- Serialises with the functions below on every instance while the rows change shape.
select seq from rollup_cursor for update;

alter table failure_window_starts
    add constraint failure_window_starts_known_span check (span in (86400, 604800, 2592000));

create table failure_windows_by_value (
    dimension  text   not null check (dimension in ('ip_address', 'username')),
    event_type text   not null,
    category   text   not null,
    value      text   not null,
    -- Rolled-up failures with `occurred_at` at or after the start of the window of that span.
    n_day      bigint not null,  -- 86400
    n_week     bigint not null,  -- 604800
    n_month    bigint not null,  -- 2592000
    primary key (dimension, event_type, value, category)
);

insert into failure_windows_by_value
    (dimension, event_type, category, value, n_day, n_week, n_month)
select dimension, event_type, category, value,
       coalesce(sum(n) filter (where span = 86400), 0),
       coalesce(sum(n) filter (where span = 604800), 0),
       coalesce(sum(n) filter (where span = 2592000), 0)
from failure_windows
group by 1, 2, 3, 4;

drop table failure_windows;
alter table failure_windows_by_value rename to failure_windows;
alter index failure_windows_by_value_pkey rename to failure_windows_pkey;

-- A top list of one type reads its window's highest counts in order: a few index entries.
create index failure_windows_day on failure_windows (dimension, event_type, n_day desc, value)
    where n_day > 0;
create index failure_windows_week on failure_windows (dimension, event_type, n_week desc, value)
    where n_week > 0;
create index failure_windows_month on failure_windows
    (dimension, event_type, n_month desc, value) where n_month > 0;

-- The window starts, as one row: every window's start is `now()` less its span, so the month's
-- is the earliest and a row counted in a window is counted in every longer one.
create function failure_window_bounds(out day timestamptz, out week timestamptz,
                                      out month timestamptz)
language sql stable set search_path = public, pg_temp as $$
    select max(start) filter (where span = 86400), max(start) filter (where span = 604800),
           max(start) filter (where span = 2592000)
    from failure_window_starts
$$;
revoke execute on function failure_window_bounds() from public;

create or replace function count_events(from_seq bigint, to_seq bigint) returns void
language plpgsql security definer set search_path = public, pg_temp as $$
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
    insert into failure_windows as f
        (dimension, event_type, category, value, n_day, n_week, n_month)
    select d.dimension, b.event_type, b.category, d.value,
           count(*) filter (where b.occurred_at >= w.day),
           count(*) filter (where b.occurred_at >= w.week), count(*)
    from batch b
    cross join lateral (values ('ip_address', b.address), ('username', b.username))
        d(dimension, value)
    cross join failure_window_bounds() w
    where b.action_result = 'failure' and d.value is not null and b.occurred_at >= w.month
    group by 1, 2, 3, 4
    on conflict (dimension, event_type, value, category) do update
        set n_day = f.n_day + excluded.n_day, n_week = f.n_week + excluded.n_week,
            n_month = f.n_month + excluded.n_month;
end
$$;

create or replace function rebuild_failure_windows() returns void
language plpgsql security definer set search_path = public, pg_temp as $$
declare
    to_seq bigint;
begin
    select seq into to_seq from rollup_cursor for update;
    delete from failure_windows;
    insert into failure_windows (dimension, event_type, category, value, n_day, n_week, n_month)
    select d.dimension, e.event_type, e.category, d.value,
           count(*) filter (where e.occurred_at >= w.day),
           count(*) filter (where e.occurred_at >= w.week), count(*)
    from failure_window_bounds() w
    join events e on e.occurred_at >= w.month
    cross join lateral (values ('ip_address', host(e.ip_address)), ('username', e.username))
        d(dimension, value)
    where e.seq <= to_seq and e.action_result = 'failure' and d.value is not null
    group by 1, 2, 3, 4;
end
$$;

create or replace function advance_failure_windows() returns void
language plpgsql security definer set search_path = public, pg_temp as $$
declare
    to_seq bigint;
    w record;
    goal timestamptz;
    moved boolean := false;
begin
    select seq into to_seq from rollup_cursor for update;
    for w in select span, start, case span when 86400 then 'n_day' when 604800 then 'n_week'
                                           else 'n_month' end as counts
             from failure_window_starts order by span loop
        goal := date_trunc('minute', now()) - make_interval(secs => w.span);
        continue when goal <= w.start;
        -- The column is one of the three names above, never the caller's.
        execute format(
            'update failure_windows f set %1$I = f.%1$I - g.n
             from (
                 select d.dimension, e.event_type, e.category, d.value, count(*) as n
                 from events e
                 cross join lateral (values (''ip_address'', host(e.ip_address)),
                                            (''username'', e.username)) d(dimension, value)
                 where e.seq <= $1 and e.action_result = ''failure'' and d.value is not null
                   and e.occurred_at >= $2 and e.occurred_at < $3
                 group by 1, 2, 3, 4
             ) g
             where f.dimension = g.dimension and f.event_type = g.event_type
               and f.category = g.category and f.value = g.value', w.counts)
        using to_seq, w.start, goal;
        update failure_window_starts set start = goal where span = w.span;
        moved := true;
    end loop;
    -- The month's window holds the other two: a value out of it is out of all three.
    if moved then
        delete from failure_windows where n_month <= 0;
    end if;
end
$$;

analyze failure_windows;

do $$
begin
    if exists (select from pg_roles where rolname = 'vigil_app') then
        grant select on failure_windows to vigil_app;
    end if;
end
$$;
