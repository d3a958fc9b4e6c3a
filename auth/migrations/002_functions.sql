-- eirc-auth schema, version 2: the multi-step token operations as
-- functions, so each is one statement (one round trip, one transaction)
-- for the daemon, and the identity document every consumer gets.

-- IRC rfc1459 case folding of ASCII, as common/irc_casemap does it.
CREATE FUNCTION eirc_fold(p text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT translate(lower(p COLLATE "C"), '[]\~', '{}|^')
$$;

-- The identity of a user as eirc-auth hands it out (consume, /api/me,
-- introspection): rooms it may join, private rooms it may not, rooms to
-- join at sign-in.
CREATE FUNCTION eirc_user_json(p_user bigint) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'user_id', u.id,
        'nick', u.nick,
        'display_name', u.display_name,
        'role', u.role,
        'email', u.email,
        'profile', u.profile,
        'preferences', u.preferences,
        'private_rooms', COALESCE((
            SELECT json_agg(r.name ORDER BY r.name_folded)
              FROM rooms r JOIN room_members m ON m.room_id = r.id
             WHERE r.private AND m.user_id = u.id), '[]'::json),
        'denied_rooms', COALESCE((
            SELECT json_agg(r.name ORDER BY r.name_folded)
              FROM rooms r
             WHERE r.private AND NOT EXISTS (
                   SELECT 1 FROM room_members m
                    WHERE m.room_id = r.id AND m.user_id = u.id)), '[]'::json),
        'autojoin', COALESCE((
            SELECT json_agg(x.name ORDER BY x.name) FROM (
                SELECT r.name FROM rooms r
                 WHERE r.auto_join AND (NOT r.private OR EXISTS (
                       SELECT 1 FROM room_members m
                        WHERE m.room_id = r.id AND m.user_id = u.id))
                UNION
                SELECT p.name
                  FROM jsonb_array_elements_text(
                       CASE WHEN jsonb_typeof(u.preferences -> 'autojoin') = 'array'
                            THEN u.preferences -> 'autojoin'
                            ELSE '[]'::jsonb END) AS p(name)
                 WHERE NOT EXISTS (
                       SELECT 1 FROM rooms r
                        WHERE r.name_folded = eirc_fold(p.name) AND r.private
                          AND NOT EXISTS (
                              SELECT 1 FROM room_members m
                               WHERE m.room_id = r.id AND m.user_id = u.id))
            ) x), '[]'::json))
      FROM users u
     WHERE u.id = p_user
$$;

-- Issues an access token (and a refresh token when p_refresh is not NULL)
-- in a new family, and writes the audit row. Returns the family.
CREATE FUNCTION eirc_issue(p_client bigint, p_user bigint, p_scope text,
                           p_access bytea, p_access_ttl_ms bigint,
                           p_refresh bytea, p_refresh_ttl_ms bigint,
                           p_ip inet, p_event text, p_actor text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_family bigint := nextval('token_family_seq');
BEGIN
    INSERT INTO access_tokens (hash, client_id, user_id, family, scope, expires_at)
    VALUES (p_access, p_client, p_user, v_family, p_scope,
            now() + p_access_ttl_ms * interval '1 millisecond');
    IF p_refresh IS NOT NULL THEN
        INSERT INTO refresh_tokens (hash, family, client_id, user_id, scope, expires_at)
        VALUES (p_refresh, v_family, p_client, p_user, p_scope,
                now() + p_refresh_ttl_ms * interval '1 millisecond');
    END IF;
    INSERT INTO audit_log (event, actor_user_id, actor, subject, client_ip, detail)
    VALUES (p_event, p_user, p_actor, 'family:' || v_family, p_ip,
            jsonb_build_object('client', p_client, 'scope', p_scope,
                               'refresh', p_refresh IS NOT NULL));
    RETURN v_family;
END
$$;

-- The refresh_token grant with rotation (RFC 6749 §6; OAuth 2.0 Security
-- BCP §4.14): the old token is marked used and a new pair is issued in the
-- same family. A used token presented again revokes the whole family.
-- Returns {"user_id", "scope"} or {"error", "reason"}.
CREATE FUNCTION eirc_refresh(p_old bytea, p_client bigint, p_scope text,
                             p_access bytea, p_access_ttl_ms bigint,
                             p_refresh bytea, p_refresh_ttl_ms bigint,
                             p_ip inet)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    r refresh_tokens%ROWTYPE;
    v_scope text;
    v_reason text;
BEGIN
    SELECT * INTO r FROM refresh_tokens WHERE hash = p_old FOR UPDATE;
    IF NOT FOUND OR r.client_id <> p_client THEN
        v_reason := 'unknown';
    ELSIF r.used_at IS NOT NULL THEN
        UPDATE refresh_tokens SET revoked_at = now()
         WHERE family = r.family AND revoked_at IS NULL;
        UPDATE access_tokens SET revoked_at = now()
         WHERE family = r.family AND revoked_at IS NULL;
        v_reason := 'reused';
    ELSIF r.revoked_at IS NOT NULL THEN
        v_reason := 'revoked';
    ELSIF r.expires_at <= now() THEN
        v_reason := 'expired';
    ELSIF (SELECT disabled FROM users WHERE id = r.user_id) THEN
        v_reason := 'user_disabled';
    END IF;
    IF v_reason IS NOT NULL THEN
        INSERT INTO audit_log (event, actor_user_id, subject, client_ip, detail)
        VALUES (CASE WHEN v_reason = 'reused' THEN 'token.refresh_reuse'
                     ELSE 'token.refresh_failed' END,
                r.user_id, 'family:' || r.family, p_ip,
                jsonb_build_object('reason', v_reason, 'client', p_client));
        RETURN json_build_object('error', 'invalid_grant', 'reason', v_reason);
    END IF;
    v_scope := COALESCE(p_scope, r.scope);
    IF NOT (string_to_array(v_scope, ' ') <@ string_to_array(r.scope, ' ')) THEN
        RETURN json_build_object('error', 'invalid_scope', 'reason', 'scope');
    END IF;
    UPDATE refresh_tokens SET used_at = now() WHERE hash = p_old;
    INSERT INTO access_tokens (hash, client_id, user_id, family, scope, expires_at)
    VALUES (p_access, p_client, r.user_id, r.family, v_scope,
            now() + p_access_ttl_ms * interval '1 millisecond');
    INSERT INTO refresh_tokens (hash, family, client_id, user_id, scope, expires_at)
    VALUES (p_refresh, r.family, p_client, r.user_id, v_scope,
            now() + p_refresh_ttl_ms * interval '1 millisecond');
    INSERT INTO audit_log (event, actor_user_id, subject, client_ip, detail)
    VALUES ('token.refresh', r.user_id, 'family:' || r.family, p_ip,
            jsonb_build_object('client', p_client, 'scope', v_scope));
    RETURN json_build_object('user_id', r.user_id, 'scope', v_scope);
END
$$;

-- RFC 7009: revokes an access token, or a refresh token with its whole
-- family (and the family's access tokens), if it belongs to p_client.
-- Returns 'access_token', 'refresh_token' or NULL (nothing to revoke).
CREATE FUNCTION eirc_revoke(p_hash bytea, p_client bigint, p_ip inet)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_user bigint;
    v_family bigint;
    v_kind text;
BEGIN
    UPDATE access_tokens SET revoked_at = now()
     WHERE hash = p_hash AND client_id = p_client AND revoked_at IS NULL
    RETURNING user_id, family INTO v_user, v_family;
    IF FOUND THEN
        v_kind := 'access_token';
    ELSE
        SELECT user_id, family INTO v_user, v_family FROM refresh_tokens
         WHERE hash = p_hash AND client_id = p_client;
        IF FOUND THEN
            UPDATE refresh_tokens SET revoked_at = now()
             WHERE family = v_family AND revoked_at IS NULL;
            UPDATE access_tokens SET revoked_at = now()
             WHERE family = v_family AND revoked_at IS NULL;
            v_kind := 'refresh_token';
        END IF;
    END IF;
    IF v_kind IS NOT NULL THEN
        INSERT INTO audit_log (event, actor_user_id, subject, client_ip, detail)
        VALUES ('token.revoke', v_user, 'family:' || v_family, p_ip,
                jsonb_build_object('kind', v_kind, 'client', p_client));
    END IF;
    RETURN v_kind;
END
$$;
