-- Running counts of failed events by address and by username over the dashboard's long
-- one-click ranges (the last 24 hours, 7 days, 30 days). A top list over such a range reads
-- one row per distinct value in it, which the population bounds (users, addresses), rather
-- than one row per value per hour or day, which grows with the range and the traffic.
--
-- Each window counts the failures with `occurred_at >= start`. The writer adds to every
-- window whose start its events reach (in the insert's statement, like 0008's aggregates);
-- `vigil serve` moves each start up to the minute about once every ten seconds
-- (`advance_failure_windows`), subtracting what fell out. A read for `[since, now)` subtracts
-- the few failures in `[start, since)` and any dated in the future. Retention rebuilds them.

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
    primary key (span, dimension, event_type, category, value)
);

-- Counts the failures from each window's start again: at creation, and after retention.
create function rebuild_failure_windows() returns void
language plpgsql security definer set search_path from current as $$
begin
    -- Writers hold these rows shared until they commit: no insert is half-counted.
    perform 1 from failure_window_starts order by span for update;
    delete from failure_windows;
    insert into failure_windows (span, dimension, event_type, category, value, n)
    select s.span, d.dimension, e.event_type, e.category, d.value, count(*)
    from failure_window_starts s
    join events e on e.occurred_at >= s.start
    cross join lateral (values ('ip_address', host(e.ip_address)), ('username', e.username))
        d(dimension, value)
    where e.action_result = 'failure' and d.value is not null
    group by 1, 2, 3, 4, 5;
end
$$;

-- Moves every start to `now()` minus its span, down to the minute, subtracting the failures
-- that fell out of the window.
create function advance_failure_windows() returns void
language plpgsql security definer set search_path from current as $$
declare
    w record;
    goal timestamptz;
begin
    for w in select span, start from failure_window_starts order by span for update loop
        goal := date_trunc('minute', now()) - make_interval(secs => w.span);
        continue when goal <= w.start;
        update failure_windows f set n = f.n - g.n
        from (
            select d.dimension, e.event_type, e.category, d.value, count(*) as n
            from events e
            cross join lateral (values ('ip_address', host(e.ip_address)), ('username', e.username))
                d(dimension, value)
            where e.action_result = 'failure' and d.value is not null
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

create function events_add_to_failure_windows() returns trigger
language plpgsql security definer set search_path from current as $$
begin
    -- Shared until COMMIT, so no start moves between the check below and this insert being
    -- visible to the one who moves it.
    perform 1 from failure_window_starts order by span for share;
    insert into failure_windows as f (span, dimension, event_type, category, value, n)
    select s.span, d.dimension, a.event_type, a.category, d.value, count(*)
    from added a
    cross join lateral (values ('ip_address', host(a.ip_address)), ('username', a.username))
        d(dimension, value)
    join failure_window_starts s on a.occurred_at >= s.start
    where a.action_result = 'failure' and d.value is not null
    group by 1, 2, 3, 4, 5
    on conflict (span, dimension, event_type, category, value) do update set n = f.n + excluded.n;
    return null;
end
$$;

insert into failure_window_starts (span, start)
select span, date_trunc('minute', now()) - make_interval(secs => span)
from (values (86400), (604800), (2592000)) s(span);

select rebuild_failure_windows();

create trigger events_add_to_failure_windows
    after insert on events
    referencing new table as added
    for each statement execute function events_add_to_failure_windows();

do $$
begin
    if exists (select from pg_roles where rolname = 'vigil_app') then
        grant select on failure_window_starts, failure_windows to vigil_app;
    end if;
end
$$;
