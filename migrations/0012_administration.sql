-- Administration from the dashboard, under a serving login that may still not write `api_keys`
-- or `operators` itself: each change it may ask for is one of these functions, owned by the
-- owner, each doing one bounded, one-way thing. None un-revokes a key, re-enables an operator or
-- touches an event. Their limits are the CLI's and the dashboard's (1-64 characters for a name),
-- so neither ever meets a refusal here that it did not make itself first.

-- Adds a key (only its SHA-256 is given); false if the name is taken. A key's name becomes its
-- events' `source`, so `vigil`, which marks Vigil's own events, is refused.
create function admin_create_key(new_id uuid, new_name text, new_kind text, new_hash text)
returns boolean
language plpgsql security definer set search_path = public, pg_temp as $$
begin
    if new_name is null or char_length(new_name) not between 1 and 64 then
        raise exception 'a key name must be 1 to 64 characters' using errcode = '22023';
    end if;
    if lower(new_name) = 'vigil' then
        raise exception 'the name vigil is reserved for Vigil''s own events' using errcode = '22023';
    end if;
    if new_kind is null or new_kind not in ('ingest', 'read') then
        raise exception 'a key is ingest or read, not %', new_kind using errcode = '22023';
    end if;
    if new_hash is null or new_hash !~ '^[0-9a-f]{64}$' then
        raise exception 'a key hash is 64 hexadecimal digits' using errcode = '22023';
    end if;
    insert into api_keys (id, name, kind, key_hash) values (new_id, new_name, new_kind, new_hash)
        on conflict (name) do nothing;
    return found;
end
$$;

-- Revokes an active key and tells every instance (the channel is `KEY_CHANGES_CHANNEL` in
-- server/src/storage/keys.rs), delivered at commit so no instance re-caches it from before;
-- false if no active key has that name. There is no way back.
create function admin_revoke_key(target text) returns boolean
language plpgsql security definer set search_path = public, pg_temp as $$
begin
    update api_keys set revoked_at = now() where name = target and revoked_at is null;
    if not found then
        return false;
    end if;
    perform pg_notify('vigil_api_keys', target);
    return true;
end
$$;

-- Adds an operator with an argon2 hash of their password; false if the username is taken.
create function admin_create_operator(new_id uuid, new_username text, new_hash text,
                                      new_role text)
returns boolean
language plpgsql security definer set search_path = public, pg_temp as $$
begin
    if new_username is null or char_length(new_username) not between 1 and 64 then
        raise exception 'a username must be 1 to 64 characters' using errcode = '22023';
    end if;
    if new_role is null or new_role not in ('viewer', 'admin') then
        raise exception 'a role is viewer or admin, not %', new_role using errcode = '22023';
    end if;
    if new_hash is null or new_hash not like '$argon2%' or char_length(new_hash) > 512 then
        raise exception 'a password hash is an argon2 hash' using errcode = '22023';
    end if;
    insert into operators (id, username, password_hash, role)
        values (new_id, new_username, new_hash, new_role)
        on conflict (username) do nothing;
    return found;
end
$$;

-- Disables an enabled operator and ends their sessions at once; false if there is none.
create function admin_disable_operator(target text) returns boolean
language plpgsql security definer set search_path = public, pg_temp as $$
declare
    target_id uuid;
begin
    update operators set disabled_at = now() where username = target and disabled_at is null
        returning id into target_id;
    if target_id is null then
        return false;
    end if;
    delete from operator_sessions where operator_id = target_id;
    return true;
end
$$;

-- Sets an enabled operator's password hash and ends their sessions, all but `keep_session`
-- (the hash of the session that changed its own password; null for none); false if there is no
-- enabled operator of that name. It never re-enables one.
create function admin_set_password(target text, new_hash text, keep_session text)
returns boolean
language plpgsql security definer set search_path = public, pg_temp as $$
declare
    target_id uuid;
begin
    if new_hash is null or new_hash not like '$argon2%' or char_length(new_hash) > 512 then
        raise exception 'a password hash is an argon2 hash' using errcode = '22023';
    end if;
    update operators set password_hash = new_hash where username = target and disabled_at is null
        returning id into target_id;
    if target_id is null then
        return false;
    end if;
    delete from operator_sessions
        where operator_id = target_id and token_hash is distinct from keep_session;
    return true;
end
$$;

revoke execute on function admin_create_key(uuid, text, text, text) from public;
revoke execute on function admin_revoke_key(text) from public;
revoke execute on function admin_create_operator(uuid, text, text, text) from public;
revoke execute on function admin_disable_operator(text) from public;
revoke execute on function admin_set_password(text, text, text) from public;

do $$
begin
    if exists (select from pg_roles where rolname = 'vigil_app') then
        grant execute on function admin_create_key(uuid, text, text, text),
            admin_revoke_key(text), admin_create_operator(uuid, text, text, text),
            admin_disable_operator(text), admin_set_password(text, text, text) to vigil_app;
    end if;
end
$$;
