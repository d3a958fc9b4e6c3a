/*
 * auth_integrity: eirc-auth's part of the tamper-evident archive
 * (docs/compliance.md):
 *   - it files the signed checkpoints the sealers add to the stream
 *     eirc:{cp}:checkpoints (ARCHIVE_KEYS_CHECKPOINTS) into PostgreSQL's
 *     append-only archive_checkpoints, each note opened first with the
 *     signing key's verifier and integrity.verify_keys (a note no known key
 *     signed is refused: an error logged, counted); the same note again is
 *     ignored, the same origin and size with another root is a fork
 *     (audit event archive.fork, an error logged, counted); each filing
 *     writes the audit row archive.checkpoint (migration 006,
 *     eirc_checkpoint_file);
 *   - it seals the audit log (audit_log_leaf, in seq order) into a tree of
 *     its own (state in audit_tlog) and checkpoints it, signed, with origin
 *     "<integrity.origin>/audit" into archive_checkpoints and the witness
 *     (integrity.witness_file, syslog), after checkpoint_events rows or
 *     checkpoint_interval;
 *   - it holds the text of GET /.well-known/eirc-archive-key.
 * Both run every integrity.seal_interval, one pass at a time; several
 * eirc-auth instances may run them at once (filing is idempotent, the
 * sealer's step a compare-and-set on audit_tlog.size).
 *
 * Not here: the leaf and tree arithmetic (archive/tlog.h), the SQL's
 * guarantees (auth/migrations/006_integrity.sql), serving (auth_service).
 */
#ifndef EIRC_AUTH_INTEGRITY_H
#define EIRC_AUTH_INTEGRITY_H

#include <stdint.h>

#include <uv.h>

#include "archive/tlog.h"
#include "auth/auth_db.h"
#include "auth/auth_metrics.h"
#include "common/err.h"
#include "common/redis.h"
#include "config/config.h"

/* Stream entries read per XRANGE, audit rows sealed per pass. */
#define AUTH_INTEGRITY_BATCH       100
#define AUTH_INTEGRITY_AUDIT_BATCH 1000
/* Columns of audit_log_leaf, in its order: seq, id, then the leaf's fields. */
#define AUTH_INTEGRITY_LEAF_COLS 9

typedef struct auth_integrity auth_integrity_t;

/*
 * The leaf of one audit_log_leaf row: cols[] its columns in the view's
 * order (seq, id, at, event, actor_user_id, actor, subject, client_ip,
 * detail; NULL is empty), hashed as tlog_leaf_hash(id, the others but
 * seq). Returns 0 or -EINVAL (no id).
 */
int auth_integrity_audit_leaf(const char *const cols[AUTH_INTEGRITY_LEAF_COLS],
			      uint8_t out[TLOG_HASH_LEN]);

/*
 * Starts both on loop with cfg (not copied), querying db and reading
 * redis (both the caller's, which must outlive it), counting into m.
 * Without integrity.signing_key the audit log is not sealed and the key
 * document is empty; without any key (signing or verify) nothing runs.
 * Returns 0 and *out, -EINVAL with out_err saying which key is malformed,
 * or -ENOMEM.
 */
int auth_integrity_new(uv_loop_t *loop, const eirc_config_t *cfg, auth_db_t *db, redis_t *redis,
		       auth_metrics_t *m, auth_integrity_t **out, eirc_err_t *out_err);

/* The body of GET /.well-known/eirc-archive-key: the signing key's
 * verifier, then each verify key, one a line; NULL without a signing key. */
const char *auth_integrity_key_text(const auth_integrity_t *ig);

/*
 * Stops the timer; done(arg) runs once it is closed. Replies still owed
 * (the pool's -ECANCELED, Redis's dropped ones) are ignored from then on;
 * free with auth_integrity_free once the pool and Redis are closed too.
 */
void auth_integrity_close(auth_integrity_t *ig, void (*done)(void *), void *arg);
void auth_integrity_free(auth_integrity_t *ig);

#endif
