-- eirc-auth schema, version 1: users, OAuth clients and tokens, chat
-- tokens, rooms and members, and the append-only audit log.
--
-- Tokens are never stored: only their SHA-256 (bytea, 32 bytes).
-- Every time is timestamptz; every expiry is checked against now() in SQL.

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    nick          text NOT NULL,
    -- rfc1459 case folding of nick, computed by eirc-auth (common/irc_casemap)
    nick_folded   text NOT NULL UNIQUE,
    display_name  text NOT NULL DEFAULT '',
    email         text,
    password_hash text,                -- Argon2id string; NULL: cannot log in
    role          text NOT NULL DEFAULT 'user'
                  CHECK (role IN ('user', 'admin', 'auditor')),
    disabled      boolean NOT NULL DEFAULT false,
    profile       jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- {"autojoin": ["#room", ...]} and other client preferences
    preferences   jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (length(nick) BETWEEN 1 AND 30)
);

CREATE TABLE oauth_clients (
    id          bigserial PRIMARY KEY,
    client_id   text NOT NULL UNIQUE,
    secret_hash bytea,                 -- SHA-256 of the secret; NULL: public
    name        text NOT NULL DEFAULT '',
    grants      text[] NOT NULL DEFAULT '{password,refresh_token}',
    scope       text NOT NULL DEFAULT 'chat',
    disabled    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One family per password grant: every refresh token rotated from it and
-- every access token issued with them share it, so a replayed refresh token
-- revokes the whole family (RFC 6819 §5.2.2.3, OAuth 2.0 Security BCP).
CREATE SEQUENCE token_family_seq;

CREATE TABLE access_tokens (
    hash        bytea PRIMARY KEY,
    client_id   bigint NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id     bigint REFERENCES users (id) ON DELETE CASCADE, -- NULL: client_credentials
    family      bigint,
    scope       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX access_tokens_family ON access_tokens (family);
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);

CREATE TABLE refresh_tokens (
    hash        bytea PRIMARY KEY,
    family      bigint NOT NULL,
    client_id   bigint NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,           -- rotated: a second use is a replay
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

CREATE TABLE chat_tokens (
    id          bigserial PRIMARY KEY,
    hash        bytea NOT NULL UNIQUE,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    request_id  text,                  -- the gateway's request id
    client_ip   inet,                  -- the browser's address, from the gateway
    issued_ip   inet                   -- who asked for the token
);
CREATE INDEX chat_tokens_expires ON chat_tokens (expires_at);

CREATE TABLE rooms (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    name_folded text NOT NULL UNIQUE,
    topic       text NOT NULL DEFAULT '',
    private     boolean NOT NULL DEFAULT false,
    auto_join   boolean NOT NULL DEFAULT false, -- joined by everyone at sign-in
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE room_members (
    room_id     bigint NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_members_user ON room_members (user_id);

-- Append-only: who (actor), what (event, subject, detail), when (at), from
-- where (client_ip). Not referencing users, so it outlives them.
CREATE TABLE audit_log (
    id             bigserial PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    event          text NOT NULL,
    actor_user_id  bigint,
    actor          text,
    subject        text,
    client_ip      inet,
    detail         jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_event ON audit_log (event, at);

CREATE FUNCTION eirc_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION eirc_audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION eirc_audit_append_only();

-- The web client is a public client (no secret) allowed the password and
-- refresh_token grants.
INSERT INTO oauth_clients (client_id, name, grants, scope)
VALUES ('eirc-web', 'eIRC web client', '{password,refresh_token}', 'chat history');
