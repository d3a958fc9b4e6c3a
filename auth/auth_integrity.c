/*
 * auth_integrity: checkpoint filing and the audit log's tree. See
 * auth_integrity.h.
 *
 * One pass at a time, driven by replies: (cursor) -> XRANGE -> one
 * eirc_checkpoint_file per entry, in stream order -> the audit rows past
 * the sealed size -> eirc_audit_tlog_advance -> the witness. A pass that
 * fails (Redis or PostgreSQL away) ends there; the next tick starts over
 * from what PostgreSQL says.
 */
#include "auth/auth_integrity.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "archive/archive_keys.h"
#include "auth/auth_witness.h"
#include "common/log.h"

#define STR_(x)     #x
#define STR(x)      STR_(x)
#define AUDIT_BATCH STR(AUTH_INTEGRITY_AUDIT_BATCH)

/* The newest stream entry filed: where reading resumes after a start. */
static const char SQL_CURSOR[] =
	"SELECT stream_id FROM archive_checkpoints WHERE stream_id IS NOT NULL"
	" ORDER BY split_part(stream_id, '-', 1)::numeric DESC,"
	" split_part(stream_id, '-', 2)::numeric DESC LIMIT 1";
static const char SQL_FILE[] = "SELECT eirc_checkpoint_file($1, $2, $3, $4, $5, $6, true)";
/* The tree's state, then the rows past it (NULL columns when none). */
static const char SQL_AUDIT[] =
	"SELECT t.size, encode(t.frontier, 'hex'), t.cp_size,"
	" (extract(epoch FROM now() - t.cp_time) * 1000)::bigint, l.*"
	" FROM audit_tlog t LEFT JOIN LATERAL ("
	"  SELECT l.* FROM audit_log a, LATERAL eirc_audit_leaf_row(a) l"
	"  WHERE a.seq > t.size ORDER BY a.seq LIMIT " AUDIT_BATCH ") l ON true"
	" ORDER BY l.seq::bigint";
static const char SQL_ADVANCE[] = "SELECT eirc_audit_tlog_advance($1, $2, $3, $4, $5, $6, $7)";

typedef struct cp_entry {
	char id[48];
	char *note; /* NULL: the entry has no note */
	size_t note_len;
} cp_entry_t;

struct auth_integrity {
	uv_loop_t *loop;
	const eirc_config_t *cfg;
	auth_db_t *db;
	redis_t *redis;
	auth_metrics_t *m;
	uv_timer_t timer;
	bool signing, closing, busy, have_cursor;
	tlog_signer_t signer;
	tlog_verifier_t *keys; /* the signer's verifier first, when signing */
	size_t n_keys;
	char *key_text;
	char origin[TLOG_NAME_MAX + 1]; /* the audit log's */
	char cursor[48];                /* last stream id looked at */
	cp_entry_t entries[AUTH_INTEGRITY_BATCH];
	size_t n_entries, next;
	/* the audit step in flight */
	char note[TLOG_CHECKPOINT_MAX];
	bool db_down_logged, redis_err_logged;
	void (*done)(void *);
	void *done_arg;
};

int auth_integrity_audit_leaf(const char *const cols[AUTH_INTEGRITY_LEAF_COLS],
			      uint8_t out[TLOG_HASH_LEN])
{
	/* the view's columns after seq and id, in bytewise order of name */
	static const struct {
		const char *name;
		int col;
	} fields[] = {{"actor", 5},  {"actor_user_id", 4}, {"at", 2},     {"client_ip", 7},
		      {"detail", 8}, {"event", 3},         {"subject", 6}};
	tlog_field_t f[sizeof(fields) / sizeof(fields[0])];
	size_t n = 0;

	if (!cols[1] || !cols[1][0])
		return -EINVAL;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *v = cols[fields[i].col];
		if (!v || !v[0])
			continue; /* NULL as empty, and empty is absent */
		f[n].name = (archive_str_t){fields[i].name, strlen(fields[i].name)};
		f[n].value = (archive_str_t){v, strlen(v)};
		n++;
	}
	return tlog_leaf_hash((archive_str_t){cols[1], strlen(cols[1])}, f, n, out);
}

/* ---- the pass ---- */

static void audit_step(auth_integrity_t *ig);

static void pass_end(auth_integrity_t *ig)
{
	ig->busy = false;
}

/* A query failed: said once until one succeeds again. */
static void db_failed(auth_integrity_t *ig, const char *what, int status, const PGresult *res)
{
	if (status == -EIO)
		log_error("Integrity: %s: %s", what, PQresultErrorMessage(res));
	else if (!ig->db_down_logged)
		log_warn("Integrity: %s: database unavailable, trying again", what);
	ig->db_down_logged = status != -EIO;
	pass_end(ig);
}

static bool query(auth_integrity_t *ig, const char *sql, int n, const char *const *p, auth_db_cb cb)
{
	if (auth_db_query(ig->db, sql, n, p, cb, ig) == 0)
		return true;
	pass_end(ig);
	return false;
}

static void entries_clear(auth_integrity_t *ig)
{
	for (size_t i = 0; i < ig->n_entries; i++)
		free(ig->entries[i].note);
	ig->n_entries = 0;
	ig->next = 0;
}

static void file_next(auth_integrity_t *ig);
static void read_stream(auth_integrity_t *ig);

static void filed(void *data, int status, const PGresult *res)
{
	auth_integrity_t *ig = data;
	cp_entry_t *e = &ig->entries[ig->next];
	const char *what;

	if (ig->closing)
		return;
	if (status < 0) {
		db_failed(ig, "filing a checkpoint", status, res);
		entries_clear(ig);
		return;
	}
	ig->db_down_logged = false;
	what = PQgetvalue(res, 0, 0);
	if (strcmp(what, "filed") == 0) {
		ig->m->checkpoints_filed++;
	} else if (strcmp(what, "fork") == 0) {
		ig->m->checkpoint_forks++;
		log_error("Integrity: checkpoint %s of the stream is a fork: its origin and "
			  "size were filed with another root (audit event archive.fork)",
			  e->id);
	}
	snprintf(ig->cursor, sizeof(ig->cursor), "%s", e->id);
	ig->next++;
	file_next(ig);
}

/* Opens entry next's note; files it, or refuses it and goes on. */
static void file_next(auth_integrity_t *ig)
{
	bool full;

	for (; ig->next < ig->n_entries; ig->next++) {
		cp_entry_t *e = &ig->entries[ig->next];
		tlog_checkpoint_t cp;
		size_t signer = 0;
		char size[24], root[TLOG_HASH_LEN * 2], keyid[12];
		int r = e->note ? tlog_checkpoint_open(e->note, e->note_len, ig->keys, ig->n_keys,
						       &cp, &signer)
				: -EBADMSG;

		if (r < 0) {
			ig->m->checkpoints_refused++;
			log_error("Integrity: checkpoint %s of %s refused: %s", e->id,
				  ARCHIVE_KEYS_CHECKPOINTS,
				  r == -EPERM ? "no valid signature by a known key"
					      : "not a signed checkpoint");
			snprintf(ig->cursor, sizeof(ig->cursor), "%s", e->id);
			continue;
		}
		snprintf(size, sizeof(size), "%" PRIu64, cp.size);
		sodium_bin2base64(root, sizeof(root), cp.root, TLOG_HASH_LEN,
				  sodium_base64_VARIANT_ORIGINAL);
		snprintf(keyid, sizeof(keyid), "%08" PRIx32, ig->keys[signer].keyid);
		const char *p[6] = {cp.origin, size, root, e->note, keyid, e->id};
		query(ig, SQL_FILE, 6, p, filed);
		return;
	}
	full = ig->n_entries == AUTH_INTEGRITY_BATCH;
	entries_clear(ig);
	if (full) /* more wait: read on before sealing */
		read_stream(ig);
	else
		audit_step(ig);
}

/* Copies one XRANGE entry: [id, [field, value, ...]]. */
static void entry_take(cp_entry_t *e, const redisReply *r)
{
	const redisReply *f;

	e->note = NULL;
	snprintf(e->id, sizeof(e->id), "%s",
		 r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
				 r->element[0]->type == REDIS_REPLY_STRING
			 ? r->element[0]->str
			 : "?");
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    (f = r->element[1])->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 0; i + 1 < f->elements; i += 2) {
		const redisReply *k = f->element[i], *v = f->element[i + 1];
		if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING && k->len == 4 &&
		    memcmp(k->str, "note", 4) == 0 && v->len < TLOG_CHECKPOINT_MAX &&
		    (e->note = malloc(v->len + 1)) != NULL) {
			memcpy(e->note, v->str, v->len);
			e->note[v->len] = '\0';
			e->note_len = v->len;
			return;
		}
	}
}

static void ranged(void *ud, redisReply *reply, void *privdata)
{
	auth_integrity_t *ig = privdata;

	(void)ud;
	if (ig->closing)
		return;
	if (!reply || reply->type != REDIS_REPLY_ARRAY) {
		/* once until it works (a refusal: Redis's ACL file of an older
		 * version, which `eirc-auth setup` updates) */
		if (reply && !ig->redis_err_logged)
			log_error("Integrity: XRANGE %s: %s; checkpoints are not filed",
				  ARCHIVE_KEYS_CHECKPOINTS,
				  reply->type == REDIS_REPLY_ERROR ? reply->str : "not an array");
		ig->redis_err_logged = reply != NULL;
		audit_step(ig); /* the audit log does not need Redis */
		return;
	}
	ig->redis_err_logged = false;
	for (size_t i = 0; i < reply->elements && i < AUTH_INTEGRITY_BATCH; i++)
		entry_take(&ig->entries[ig->n_entries++], reply->element[i]);
	file_next(ig);
}

static void read_stream(auth_integrity_t *ig)
{
	char from[sizeof(ig->cursor) + 1], count[16];
	const char *argv[6] = {"XRANGE", ARCHIVE_KEYS_CHECKPOINTS, from, "+", "COUNT", count};
	size_t len[6];

	snprintf(from, sizeof(from), "(%s", ig->cursor);
	snprintf(count, sizeof(count), "%d", AUTH_INTEGRITY_BATCH);
	for (int i = 0; i < 6; i++)
		len[i] = strlen(argv[i]);
	if (redis_argv(ig->redis, 6, argv, len, ranged, ig) < 0)
		audit_step(ig); /* Redis away: the audit log still gets sealed */
}

static void got_cursor(void *data, int status, const PGresult *res)
{
	auth_integrity_t *ig = data;

	if (ig->closing)
		return;
	if (status < 0) {
		db_failed(ig, "reading the checkpoints filed", status, res);
		return;
	}
	snprintf(ig->cursor, sizeof(ig->cursor), "%s",
		 PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "0-0");
	ig->have_cursor = true;
	read_stream(ig);
}

static void tick(uv_timer_t *t)
{
	auth_integrity_t *ig = t->data;

	if (ig->busy || ig->closing)
		return;
	ig->busy = true;
	if (!ig->have_cursor)
		query(ig, SQL_CURSOR, 0, NULL, got_cursor);
	else
		read_stream(ig);
}

/* ---- the audit log's tree ---- */

/* The witnesses: a failure is logged (the checkpoint is filed in
 * PostgreSQL anyway). */
static void witness(auth_integrity_t *ig, const char *note)
{
	const eirc_config_integrity_t *c = &ig->cfg->integrity;
	int r = auth_witness_append(c->witness_file, c->witness_syslog, note);

	if (r < 0)
		log_error("Integrity: cannot append the audit log's checkpoint to %s: %s",
			  c->witness_file, strerror(-r));
}

static void advanced(void *data, int status, const PGresult *res)
{
	auth_integrity_t *ig = data;

	if (ig->closing)
		return;
	if (status < 0) {
		db_failed(ig, "sealing the audit log", status, res);
		return;
	}
	ig->db_down_logged = false;
	if (strcmp(PQgetvalue(res, 0, 0), "t") == 0 && ig->note[0]) {
		ig->m->audit_checkpoints++;
		witness(ig, ig->note);
	}
	pass_end(ig);
}

static uint64_t num(const PGresult *res, int row, int col)
{
	return strtoull(PQgetvalue(res, row, col), NULL, 10);
}

/* Appends rows' leaves to t; false (logged) for a row out of order. */
static bool append_rows(const PGresult *res, tlog_tree_t *t)
{
	for (int i = 0; i < PQntuples(res) && !PQgetisnull(res, i, 4); i++) {
		const char *cols[AUTH_INTEGRITY_LEAF_COLS];
		uint8_t leaf[TLOG_HASH_LEN];

		for (int c = 0; c < AUTH_INTEGRITY_LEAF_COLS; c++)
			cols[c] = PQgetisnull(res, i, 4 + c) ? NULL : PQgetvalue(res, i, 4 + c);
		if (num(res, i, 4) != t->size + 1 || auth_integrity_audit_leaf(cols, leaf) < 0) {
			log_error("Integrity: audit row seq %s (id %s) does not follow %" PRIu64
				  ": the audit log is not sealed past it",
				  cols[0], cols[1] ? cols[1] : "?", t->size);
			return false;
		}
		tlog_tree_append(t, leaf);
	}
	return true;
}

/* Signs the checkpoint of t into ig->note when one is due. */
static void checkpoint_if_due(auth_integrity_t *ig, const tlog_tree_t *t, uint64_t cp_size,
			      uint64_t since_ms)
{
	const eirc_config_integrity_t *c = &ig->cfg->integrity;
	tlog_checkpoint_t cp;

	ig->note[0] = '\0';
	if (t->size <= cp_size || (t->size - cp_size < (uint64_t)c->checkpoint_events &&
				   since_ms < c->checkpoint_interval))
		return;
	snprintf(cp.origin, sizeof(cp.origin), "%s", ig->origin);
	cp.size = t->size;
	tlog_tree_root(t, cp.root);
	if (tlog_checkpoint_sign(&cp, &ig->signer, ig->note, sizeof(ig->note)) < 0)
		ig->note[0] = '\0';
}

static void audit_read(void *data, int status, const PGresult *res)
{
	auth_integrity_t *ig = data;
	tlog_tree_t t;
	uint8_t fr[TLOG_FRONTIER_MAX * TLOG_HASH_LEN], root[TLOG_HASH_LEN];
	char from[24], size[24], hex[sizeof(fr) * 2 + 1], root64[TLOG_HASH_LEN * 2], keyid[12];
	size_t frlen = 0;
	uint64_t old;
	int n;

	if (ig->closing)
		return;
	if (status < 0) {
		db_failed(ig, "reading the audit log", status, res);
		return;
	}
	old = num(res, 0, 0);
	if (sodium_hex2bin(fr, sizeof(fr), PQgetvalue(res, 0, 1), strlen(PQgetvalue(res, 0, 1)),
			   NULL, &frlen, NULL) < 0 ||
	    tlog_tree_decode(old, fr, frlen, &t) < 0) {
		log_error("Integrity: audit_tlog's frontier does not fit its size %" PRIu64, old);
		pass_end(ig);
		return;
	}
	append_rows(res, &t);
	checkpoint_if_due(ig, &t, num(res, 0, 2), num(res, 0, 3));
	if (t.size == old && !ig->note[0]) {
		pass_end(ig);
		return;
	}
	n = tlog_tree_encode(&t, fr, sizeof(fr));
	sodium_bin2hex(hex, sizeof(hex), fr, n > 0 ? (size_t)n : 0);
	tlog_tree_root(&t, root);
	sodium_bin2base64(root64, sizeof(root64), root, TLOG_HASH_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
	snprintf(from, sizeof(from), "%" PRIu64, old);
	snprintf(size, sizeof(size), "%" PRIu64, t.size);
	snprintf(keyid, sizeof(keyid), "%08" PRIx32, ig->signer.keyid);
	const char *p[7] = {from, size, hex, ig->origin, root64, ig->note[0] ? ig->note : NULL,
			    keyid};
	ig->m->audit_sealed = t.size;
	query(ig, SQL_ADVANCE, 7, p, advanced);
}

static void audit_step(auth_integrity_t *ig)
{
	if (!ig->signing) {
		pass_end(ig);
		return;
	}
	query(ig, SQL_AUDIT, 0, NULL, audit_read);
}

/* ---- keys, life cycle ---- */

/* The verifiers and the key document. */
static int keys_load(auth_integrity_t *ig, eirc_err_t *out_err)
{
	const eirc_config_integrity_t *c = &ig->cfg->integrity;
	size_t cap = (c->n_verify_keys + 1) * (TLOG_VKEY_MAX + 1) + 1, o = 0;
	int n;

	ig->keys = calloc(c->n_verify_keys + 1, sizeof(*ig->keys));
	if (!ig->keys || (ig->signing && !(ig->key_text = malloc(cap))))
		return -ENOMEM;
	if (ig->signing) {
		tlog_signer_verifier(&ig->signer, &ig->keys[ig->n_keys++]);
		n = tlog_verifier_format(&ig->keys[0], ig->key_text, cap - 1);
		o = n > 0 ? (size_t)n : 0;
		ig->key_text[o++] = '\n';
	}
	for (size_t i = 0; i < c->n_verify_keys; i++) {
		if (tlog_verifier_parse(c->verify_keys[i], &ig->keys[ig->n_keys]) < 0)
			return eirc_err_set(out_err, -EINVAL,
					    "integrity.verify_keys[%zu] is not a note verifier "
					    "key (\"<name>+<key id>+<base64>\")",
					    i);
		ig->n_keys++;
		if (ig->key_text) {
			n = snprintf(ig->key_text + o, cap - o, "%s\n", c->verify_keys[i]);
			o += n > 0 ? (size_t)n : 0;
		}
	}
	if (ig->key_text)
		ig->key_text[o] = '\0';
	return 0;
}

int auth_integrity_new(uv_loop_t *loop, const eirc_config_t *cfg, auth_db_t *db, redis_t *redis,
		       auth_metrics_t *m, auth_integrity_t **out, eirc_err_t *out_err)
{
	const eirc_config_integrity_t *c = &cfg->integrity;
	auth_integrity_t *ig = calloc(1, sizeof(*ig));
	int r;

	if (!ig)
		return -ENOMEM;
	ig->loop = loop;
	ig->cfg = cfg;
	ig->db = db;
	ig->redis = redis;
	ig->m = m;
	ig->signing = c->signing_key != NULL;
	if (ig->signing && tlog_signer_parse(c->signing_key, &ig->signer) < 0)
		r = eirc_err_set(out_err, -EINVAL,
				 "integrity.signing_key is not a note signer key "
				 "(\"PRIVATE+KEY+<name>+<key id>+<base64>\", eirc-archive keygen)");
	else if (tlog_origin_audit(c->origin, ig->origin, sizeof(ig->origin)) < 0)
		r = eirc_err_set(out_err, -EINVAL, "integrity.origin is too long");
	else
		r = keys_load(ig, out_err);
	if (r < 0) {
		auth_integrity_free(ig);
		return r;
	}
	uv_timer_init(loop, &ig->timer);
	ig->timer.data = ig;
	if (ig->n_keys > 0)
		uv_timer_start(&ig->timer, tick, c->seal_interval, c->seal_interval);
	uv_unref((uv_handle_t *)&ig->timer);
	*out = ig;
	return 0;
}

const char *auth_integrity_key_text(const auth_integrity_t *ig)
{
	return ig ? ig->key_text : NULL;
}

static void timer_closed(uv_handle_t *h)
{
	auth_integrity_t *ig = h->data;

	if (ig->done)
		ig->done(ig->done_arg);
}

void auth_integrity_close(auth_integrity_t *ig, void (*done)(void *), void *arg)
{
	ig->closing = true;
	ig->done = done;
	ig->done_arg = arg;
	uv_close((uv_handle_t *)&ig->timer, timer_closed);
}

void auth_integrity_free(auth_integrity_t *ig)
{
	if (!ig)
		return;
	entries_clear(ig);
	sodium_memzero(&ig->signer, sizeof(ig->signer));
	free(ig->keys);
	free(ig->key_text);
	free(ig);
}
