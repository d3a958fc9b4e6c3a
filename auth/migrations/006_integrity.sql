-- eirc-auth schema, version 6: the integrity issue (docs/compliance.md).
--   - archive_checkpoints: every signed checkpoint eirc-auth filed (the
--     archive partitions' from eirc:{cp}:checkpoints, the audit log's own),
--     append-only, numbered 1, 2, 3 ... per origin with no gap;
--   - audit_log.seq: 1, 2, 3 ... in commit order, the leaf order of the
--     audit log's own tree (audit_log_leaf: what a leaf hashes);
--   - audit_tlog: where eirc-auth's sealer of that tree stands.
-- The counters are changed only by the SECURITY DEFINER triggers (their
-- owner's rights): the service role gets INSERT and SELECT on them as on
-- the append-only tables, which cannot move them.

-- The same refusal as audit_log's, naming the table.
CREATE FUNCTION eirc_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;

CREATE TABLE archive_checkpoints (
    id           bigserial PRIMARY KEY,
    origin       text NOT NULL,
    seq          bigint NOT NULL,
    size         bigint NOT NULL CHECK (size >= 0),
    root         text NOT NULL,   -- base64 of the 32-byte root
    note         text NOT NULL,   -- the signed note, as signed
    key_id       text NOT NULL,   -- hex8 of the key that signed it
    stream_id    text,            -- its id in eirc:{cp}:checkpoints; NULL: the audit log's
    received_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (origin, size),
    UNIQUE (origin, seq)
);

-- Per origin, the last seq handed out.
CREATE TABLE archive_checkpoint_seqs (
    origin  text PRIMARY KEY,
    seq     bigint NOT NULL
);

-- The origin's counter row stays locked until the filing commits: the next
-- filing of that origin waits, so seq is gapless and in commit order (a
-- rolled-back filing rolls its increment back).
CREATE FUNCTION eirc_archive_checkpoint_seq() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO archive_checkpoint_seqs AS s (origin, seq) VALUES (NEW.origin, 1)
    ON CONFLICT (origin) DO UPDATE SET seq = s.seq + 1
    RETURNING s.seq INTO NEW.seq;
    RETURN NEW;
END
$$;
CREATE TRIGGER archive_checkpoints_seq BEFORE INSERT ON archive_checkpoints
    FOR EACH ROW EXECUTE FUNCTION eirc_archive_checkpoint_seq();
CREATE TRIGGER archive_checkpoints_no_update BEFORE UPDATE OR DELETE ON archive_checkpoints
    FOR EACH ROW EXECUTE FUNCTION eirc_append_only();
CREATE TRIGGER archive_checkpoints_no_truncate BEFORE TRUNCATE ON archive_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION eirc_append_only();

-- ---- the audit log's order ----

-- One row: the last seq handed out.
CREATE TABLE audit_log_seq (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq  bigint NOT NULL
);

ALTER TABLE audit_log ADD COLUMN seq bigint;
-- The rows before version 6 in id order (the migration runs as the owner:
-- it may lift the append-only trigger for this one statement).
ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update;
UPDATE audit_log a SET seq = n.seq
  FROM (SELECT id, row_number() OVER (ORDER BY id) AS seq FROM audit_log) n
 WHERE a.id = n.id;
ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update;
INSERT INTO audit_log_seq (seq) SELECT count(*) FROM audit_log;
ALTER TABLE audit_log ALTER COLUMN seq SET NOT NULL;
CREATE UNIQUE INDEX audit_log_seq_key ON audit_log (seq);

-- The counter row stays locked until the inserting transaction commits:
-- the next audit row of any transaction waits for it, so seq is gapless
-- and committed in order (what the sealer reads is a prefix).
CREATE FUNCTION eirc_audit_seq() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE audit_log_seq SET seq = seq + 1 RETURNING seq INTO NEW.seq;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_log_seq BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION eirc_audit_seq();

-- A row as its leaf hashes it (docs/compliance.md, "The audit log"): text
-- columns; the leaf is tlog_leaf_hash(id, every column but seq and id,
-- NULL as empty).
CREATE FUNCTION eirc_audit_leaf_row(a audit_log,
    OUT seq text, OUT id text, OUT at text, OUT event text, OUT actor_user_id text,
    OUT actor text, OUT subject text, OUT client_ip text, OUT detail text)
LANGUAGE sql STABLE AS $$
    SELECT a.seq::text, a.id::text,
           to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           a.event, a.actor_user_id::text, a.actor, a.subject, host(a.client_ip),
           a.detail::text
$$;
CREATE VIEW audit_log_leaf AS
    SELECT l.* FROM audit_log a, LATERAL eirc_audit_leaf_row(a) l;

-- ---- the audit log's tree ----

-- One row: the sealed rows (seq 1..size), the tree's frontier
-- (tlog_tree_encode), and its last checkpoint.
CREATE TABLE audit_tlog (
    one       boolean PRIMARY KEY DEFAULT true CHECK (one),
    size      bigint NOT NULL DEFAULT 0,
    frontier  bytea NOT NULL DEFAULT ''::bytea,
    cp_size   bigint NOT NULL DEFAULT 0,
    cp_time   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO audit_tlog DEFAULT VALUES;

-- Files a checkpoint eirc-auth opened (signature checked): 'filed',
-- 'duplicate' (this origin and size filed already with this root) or
-- 'fork' (filed with another root: reported once per stream entry as
-- archive.fork). With p_audit, a filing writes archive.checkpoint; the
-- audit log's own checkpoints do not (that log would never settle).
CREATE FUNCTION eirc_checkpoint_file(p_origin text, p_size bigint, p_root text, p_note text,
                                     p_key_id text, p_stream_id text, p_audit boolean)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_root text;
BEGIN
    SELECT root INTO v_root FROM archive_checkpoints
     WHERE origin = p_origin AND size = p_size;
    IF FOUND AND v_root = p_root THEN
        RETURN 'duplicate';
    ELSIF FOUND THEN
        IF NOT EXISTS (SELECT 1 FROM audit_log WHERE event = 'archive.fork'
                        AND subject = p_origin
                        AND detail @> jsonb_build_object('stream_id', p_stream_id,
                                                         'size', p_size, 'root', p_root)) THEN
            INSERT INTO audit_log (event, actor, subject, detail)
            VALUES ('archive.fork', 'eirc-auth', p_origin,
                    jsonb_build_object('size', p_size, 'root', p_root, 'filed_root', v_root,
                                       'key_id', p_key_id, 'stream_id', p_stream_id));
        END IF;
        RETURN 'fork';
    END IF;
    INSERT INTO archive_checkpoints (origin, size, root, note, key_id, stream_id)
    VALUES (p_origin, p_size, p_root, p_note, p_key_id, p_stream_id);
    IF p_audit THEN
        INSERT INTO audit_log (event, actor, subject, detail)
        VALUES ('archive.checkpoint', 'eirc-auth', p_origin,
                jsonb_build_object('size', p_size, 'root', p_root));
    END IF;
    RETURN 'filed';
END
$$;

-- The sealer's step, all or nothing: the tree from p_from rows to p_size
-- with p_frontier (hex), and, with p_note, its checkpoint filed. false
-- when another sealer moved first (audit_tlog.size is not p_from).
CREATE FUNCTION eirc_audit_tlog_advance(p_from bigint, p_size bigint, p_frontier text,
                                        p_origin text, p_root text, p_note text,
                                        p_key_id text)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    UPDATE audit_tlog SET size = p_size, frontier = decode(p_frontier, 'hex')
     WHERE size = p_from;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF p_note IS NOT NULL THEN
        -- 'duplicate': audit_tlog was set back and the same rows sealed
        -- again to the same root; 'fork': they are not the rows sealed
        -- then (the audit log was changed): nothing moves, every pass
        -- says so
        IF eirc_checkpoint_file(p_origin, p_size, p_root, p_note, p_key_id, NULL, false)
           = 'fork' THEN
            RAISE EXCEPTION 'the audit log''s tree of % rows has another root than its '
                            'checkpoint % filed: the audit log was changed', p_size, p_origin;
        END IF;
        UPDATE audit_tlog SET cp_size = p_size, cp_time = now();
    END IF;
    RETURN true;
END
$$;

CREATE OR REPLACE FUNCTION eirc_append_only_tables() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['audit_log', 'archive_checkpoints', 'archive_checkpoint_seqs',
                 'audit_log_seq']::text[]
$$;
