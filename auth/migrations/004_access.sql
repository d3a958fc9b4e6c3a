-- eirc-auth schema, version 4: what live sessions need to follow access
-- changes (docs/api.md, "Access changes").

-- The token family of the access token a chat token was issued for, so a
-- sign-out (the family's refresh tokens revoked) voids the chat tokens of
-- that login not yet used. NULL for chat tokens issued before version 4.
ALTER TABLE chat_tokens ADD COLUMN family bigint;

-- A login (token family) is signed out once any of its refresh tokens was
-- revoked: RFC 7009 on a refresh token, a replayed refresh token, or the
-- user disabled revoke them all. Family 0 (none) is never signed out.
CREATE FUNCTION eirc_family_revoked(p_family bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT p_family <> 0 AND EXISTS (
        SELECT 1 FROM refresh_tokens
         WHERE family = p_family AND revoked_at IS NOT NULL)
$$;

-- The refresh_token grant of version 2, unchanged but for what a replay
-- answers: the user and family it revoked, so eirc-auth can publish the
-- sign-out.
CREATE OR REPLACE FUNCTION eirc_refresh(p_old bytea, p_client bigint, p_scope text,
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
        RETURN json_build_object('error', 'invalid_grant', 'reason', v_reason,
                                 'user_id', CASE WHEN v_reason = 'reused' THEN r.user_id END,
                                 'family', CASE WHEN v_reason = 'reused' THEN r.family END);
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

-- RFC 7009 as in version 2, now also answering whose token it was:
-- kind 'access_token', 'refresh_token' or NULL (nothing revoked), the
-- token's user (NULL: client_credentials) and family.
DROP FUNCTION eirc_revoke(bytea, bigint, inet);
CREATE FUNCTION eirc_revoke(p_hash bytea, p_client bigint, p_ip inet,
                            OUT kind text, OUT user_id bigint, OUT family bigint)
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE access_tokens t SET revoked_at = now()
     WHERE t.hash = p_hash AND t.client_id = p_client AND t.revoked_at IS NULL
    RETURNING t.user_id, t.family INTO user_id, family;
    IF FOUND THEN
        kind := 'access_token';
    ELSE
        SELECT t.user_id, t.family INTO user_id, family FROM refresh_tokens t
         WHERE t.hash = p_hash AND t.client_id = p_client;
        IF FOUND THEN
            UPDATE refresh_tokens t SET revoked_at = now()
             WHERE t.family = eirc_revoke.family AND t.revoked_at IS NULL;
            UPDATE access_tokens t SET revoked_at = now()
             WHERE t.family = eirc_revoke.family AND t.revoked_at IS NULL;
            kind := 'refresh_token';
        END IF;
    END IF;
    IF kind IS NOT NULL THEN
        INSERT INTO audit_log (event, actor_user_id, subject, client_ip, detail)
        VALUES ('token.revoke', user_id, 'family:' || family, p_ip,
                jsonb_build_object('kind', kind, 'client', p_client));
    ELSE
        user_id := NULL;
        family := NULL;
    END IF;
END
$$;
