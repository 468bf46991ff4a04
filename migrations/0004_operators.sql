-- People who use the dashboard. Passwords are argon2 hashes; sessions are stored as SHA-256
-- hashes of random tokens, so a database dump cannot be replayed as a cookie.
create table operators (
    id            uuid        primary key,
    username      text        not null unique,
    password_hash text        not null,
    role          text        not null check (role in ('viewer', 'admin')),
    created_at    timestamptz not null default now(),
    disabled_at   timestamptz
);

create table operator_sessions (
    token_hash   text        primary key,
    operator_id  uuid        not null references operators (id) on delete cascade,
    created_at   timestamptz not null default now(),
    expires_at   timestamptz not null
);

create index operator_sessions_operator_idx on operator_sessions (operator_id);
