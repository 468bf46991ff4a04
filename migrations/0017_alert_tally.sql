-- Every dashboard page's top bar shows how many alerts are not closed and the worst of them.
-- Counted from `alerts` that was a scan of every alert ever kept: 6.4 ms for 8,305 alerts at
-- 10 M demo events, on every page, and growing with each alert raised. Kept per severity as
-- alerts change instead, it is four rows.
create table alert_tally (
    severity text   primary key check (severity in ('low', 'medium', 'high', 'critical')),
    -- Alerts of this severity whose status is not `closed`.
    open     bigint not null check (open >= 0)
);

-- Serialises with every alert write while the counts are taken.
lock table alerts in share row exclusive mode;

insert into alert_tally (severity, open)
select s.severity, count(a.id)
from unnest(array['low', 'medium', 'high', 'critical']) s(severity)
left join alerts a on a.severity = s.severity and a.status <> 'closed'
group by s.severity;

-- Security definer: the serving role writes alerts but may only read the tally.
create function alert_tally_follows() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
    if tg_op in ('UPDATE', 'DELETE') and old.status <> 'closed' then
        update alert_tally set open = open - 1 where severity = old.severity;
    end if;
    if tg_op in ('INSERT', 'UPDATE') and new.status <> 'closed' then
        update alert_tally set open = open + 1 where severity = new.severity;
    end if;
    return null;
end
$$;
revoke execute on function alert_tally_follows() from public;

create trigger alert_tally_on_insert_or_delete after insert or delete on alerts
    for each row execute function alert_tally_follows();
-- Most updates add matches to an open alert: only a change of status or severity counts.
create trigger alert_tally_on_change after update of status, severity on alerts
    for each row
    when (old.status is distinct from new.status or old.severity is distinct from new.severity)
    execute function alert_tally_follows();
-- `truncate` fires no row triggers: it empties the tally with the alerts.
create function alert_tally_empties() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
    update alert_tally set open = 0;
    return null;
end
$$;
revoke execute on function alert_tally_empties() from public;
create trigger alert_tally_on_truncate after truncate on alerts
    for each statement execute function alert_tally_empties();

do $$
begin
    if exists (select from pg_roles where rolname = 'vigil_app') then
        grant select on alert_tally to vigil_app;
    end if;
end
$$;
