-- The role `vigil serve` works as (SET ROLE on each of its connections): it may add events and
-- read them, but never change or remove one, whatever a bug or an injected query tries. Schema
-- changes, key and operator management and retention (dropping whole partitions) keep the
-- owner's connection. Roles belong to the whole PostgreSQL server, so the role is shared by every
-- Vigil database there; a login without the right to create roles leaves it out, and `serve`
-- then says so and runs as that login.
do $$
declare
    -- Creating roles and granting membership need these; granting rights on our own tables does not.
    manages_roles boolean := exists (select from pg_roles where rolname = current_user
                                     and (rolsuper or rolcreaterole));
begin
    if not exists (select from pg_roles where rolname = 'vigil_app') then
        if not manages_roles then
            raise notice 'cannot create role vigil_app: vigil serve will run as %', current_user;
            return;
        end if;
        begin
            create role vigil_app nologin;
        exception when duplicate_object or unique_violation then
            null; -- another database on this server created it at the same moment
        end;
    end if;
    grant select, insert on events to vigil_app;
    grant select, update on chain_head to vigil_app;
    grant select on chain_checkpoints to vigil_app;
    grant select, insert on chain_verifications to vigil_app;
    grant select on api_keys, operators to vigil_app;
    grant select, insert, delete on operator_sessions to vigil_app;
    if not pg_has_role(current_user, 'vigil_app', 'member') then
        if manages_roles then
            begin
                execute format('grant vigil_app to %I', current_user);
            exception when duplicate_object or unique_violation then
                null; -- granted by a migration running at the same moment
            end;
        else
            raise notice 'not a member of vigil_app: vigil serve will run as %', current_user;
        end if;
    end if;
end
$$;
