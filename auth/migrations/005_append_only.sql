-- 005: the tables no service may change once written. eirc-auth's grant
-- step (auth_migrate_grant, run by the owner role after the migrations)
-- gives the service role INSERT and SELECT on these and nothing else; only
-- their owner could ALTER them (DISABLE TRIGGER) or drop them, and the
-- service never connects as the owner. A later migration that adds an
-- append-only table (the integrity issue's checkpoints) replaces this
-- function with a longer list.
CREATE FUNCTION eirc_append_only_tables() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['audit_log']::text[]
$$;
