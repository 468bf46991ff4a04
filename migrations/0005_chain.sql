-- Tamper evidence. Every event carries `hash = SHA-256(previous hash || canonical bytes)`; the
-- writer assigns `seq` and `hash` itself while holding the one `chain_head` row, so seqs are
-- gapless and in commit order on every instance, and the chain cannot fork.

-- The writer now assigns seq (head + 1, …) instead of a sequence: a sequence hands out numbers
-- outside the lock, so commits would land out of seq order and rolled-back inserts leave gaps.
alter table events alter column seq drop identity if exists;
-- Rows stored before this migration were never chained; they stay unhashed, before the genesis
-- checkpoint below.
alter table events add column hash bytea;

-- The newest link of the chain. Exactly one row; `select … for update` on it is the writers'
-- lock across every instance.
create table chain_head (
    singleton boolean primary key default true check (singleton),
    seq       bigint not null,
    hash      bytea  not null
);

-- Where verification starts: the genesis (the last seq before the chain began, with 32 zero
-- bytes), and one checkpoint per retention drop, naming the last seq and hash removed.
create table chain_checkpoints (
    seq        bigint      primary key,
    hash       bytea       not null,
    reason     text        not null,
    created_at timestamptz not null default now()
);

insert into chain_head (seq, hash)
select coalesce(max(seq), 0), '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea
from events;

insert into chain_checkpoints (seq, hash, reason)
select seq, hash, 'genesis' from chain_head;

-- What `vigil verify` (or the server's background check) found, newest last.
create table chain_verifications (
    id            bigint generated always as identity primary key,
    verified_at   timestamptz not null default now(),
    from_seq      bigint      not null,
    through_seq   bigint      not null,
    first_bad_seq bigint,
    ok            boolean     not null generated always as (first_bad_seq is null) stored
);

-- The log is append-only for everyone who goes through the triggers: only whole partitions (a
-- retention drop) or a superuser who switches triggers off can remove or change a row, and the
-- chain shows the latter.
create function events_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'events are append-only: % is not allowed', tg_op
        using errcode = 'insufficient_privilege';
end
$$;

create trigger events_append_only
    before update or delete on events
    for each row execute function events_append_only();

create trigger events_no_truncate
    before truncate on events
    for each statement execute function events_append_only();
