/*
 * eirc_archive_verify: `eirc-archive verify` (docs/eirc-archive.md).
 *
 * Per partition: the signed checkpoints (PostgreSQL's archive_checkpoints,
 * gapless per origin; Redis's latest; an auditor's file) authenticate the
 * stored leaf hashes (the tree's root recomputed at every checkpoint size);
 * then the Redis archive stream and the partition's Elasticsearch documents
 * are walked in archive id order and each event's leaf is compared with the
 * stored leaf at its position. The first difference is reported (one line
 * on stdout) and ends the run with status 1. Then the audit log's tree
 * (audit_log_leaf) against its checkpoints.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "archive/archive_event.h"
#include "archive/archive_keys.h"
#include "archive/eirc_archive.h"

/* Positions past a mismatch looked at to tell removed from modified. */
#define VERIFY_LOOKAHEAD 16

typedef struct vcp {
	char origin[TLOG_NAME_MAX + 1];
	ea_cp_t cp;
} vcp_t;

typedef struct verify {
	ea_t *ea;
	int only_k; /* -1: every partition */
	bool has_from, has_to;
	int64_t from_ms, to_ms;
	vcp_t *auditor; /* --checkpoint notes */
	size_t n_auditor;
	char **pending; /* notes in eirc:{cp}:checkpoints not yet in PostgreSQL */
	size_t n_pending;
	/* totals */
	uint64_t events, checkpoints, partitions, unsealed, unchecked, audit_rows;
	int64_t first_ms, last_ms;
	struct timespec t0;
	bool found;
	bool refreshed; /* Elasticsearch's _refresh sent */
} verify_t;

static double elapsed(const verify_t *v)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - v->t0.tv_sec) + (double)(t.tv_nsec - v->t0.tv_nsec) / 1e9;
}

static void progress(const verify_t *v, const char *what, int k, uint64_t seen)
{
	if (!v->ea->progress || seen % 4096)
		return;
	fprintf(stderr,
		"\r\033[Kverify: partition %d, %s: %" PRIu64 " events (%" PRIu64
		" in the partitions before)",
		k, what, seen, v->events);
}

static void progress_end(const verify_t *v)
{
	if (v->ea->progress)
		fprintf(stderr, "\r\033[K");
}

/* Reports the first finding: one line on stdout. Returns 1. */
static int finding(verify_t *v, const char *what, const char *store, const char *where,
		   uint64_t pos, const ea_entry_t *e, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

static int finding(verify_t *v, const char *what, const char *store, const char *where,
		   uint64_t pos, const ea_entry_t *e, const char *fmt, ...)
{
	va_list ap;

	progress_end(v);
	printf("FAIL %s in %s: %s, position %" PRIu64, what, store, where, pos);
	if (e && e->idstr[0])
		printf(", archive id %s", e->idstr);
	if (e && e->msgid)
		printf(", msgid %s", e->msgid);
	if (fmt) {
		printf(": ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	printf("\n");
	fflush(stdout);
	v->found = true;
	return 1;
}

/* ---- checkpoints ---- */

static int open_note(const ea_t *ea, const char *note, size_t len, tlog_checkpoint_t *out)
{
	return tlog_checkpoint_open(note, len, ea->keys, ea->n_keys, out, NULL);
}

static void root_b64(const uint8_t root[TLOG_HASH_LEN], char out[64])
{
	ea_b64_encode(root, TLOG_HASH_LEN, out, 64);
}

static int pg_counter(verify_t *v, const char *origin, int rows, uint64_t last_size);

/* PostgreSQL's checkpoints of origin into p: gapless seq, each note signed
 * by a known key and matching its columns. Returns 0, 1 (a finding) or
 * EA_EXIT_UNREACHABLE. *out_last: the greatest size. */
static int pg_checkpoints(verify_t *v, ea_part_t *p, const char *origin, uint64_t *out_last)
{
	const char *params[1] = {origin};
	PGresult *res = PQexecParams((PGconn *)ea_pg(v->ea),
				     "SELECT seq, size, root, note FROM archive_checkpoints WHERE "
				     "origin = $1 ORDER BY seq",
				     1, NULL, params, NULL, NULL, 0);
	int rc = 0, rows;

	*out_last = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "eirc-archive: PostgreSQL: %s", PQresultErrorMessage(res));
		PQclear(res);
		return EA_EXIT_UNREACHABLE;
	}
	rows = PQntuples(res);
	for (int i = 0; i < rows && rc == 0; i++) {
		int64_t seq = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		uint64_t size = strtoull(PQgetvalue(res, i, 1), NULL, 10);
		const char *root = PQgetvalue(res, i, 2), *note = PQgetvalue(res, i, 3);
		tlog_checkpoint_t cp;
		char b64[64];
		ea_cp_t c = {.size = size, .seq = seq, .src = "postgresql"};

		if (seq != i + 1)
			rc = finding(v, "checkpoint missing", "postgresql", origin, size, NULL,
				     "checkpoint seq %d is missing (the next row has seq %" PRId64
				     ")",
				     i + 1, seq);
		else if (open_note(v->ea, note, strlen(note), &cp) < 0)
			rc = finding(v, "checkpoint mismatch", "postgresql", origin, size, NULL,
				     "seq %" PRId64 ": the note is not signed by a known key", seq);
		else if (root_b64(cp.root, b64),
			 strcmp(cp.origin, origin) || cp.size != size || strcmp(b64, root))
			rc = finding(v, "checkpoint mismatch", "postgresql", origin, size, NULL,
				     "seq %" PRId64 ": the row does not match its signed note",
				     seq);
		else if (size <= *out_last && i > 0)
			rc = finding(v, "checkpoint mismatch", "postgresql", origin, size, NULL,
				     "seq %" PRId64 ": the log shrank", seq);
		else {
			memcpy(c.root, cp.root, TLOG_HASH_LEN);
			*out_last = size;
			if (p && ea_part_add_cp(p, &c) == -EEXIST)
				rc = finding(v, "checkpoint mismatch", "postgresql", origin, size,
					     NULL, "two roots signed for one size (a fork)");
			v->checkpoints++;
		}
	}
	PQclear(res);
	if (rc == 0)
		rc = pg_counter(v, origin, rows, *out_last);
	return rc;
}

/* The last rows of an origin deleted leave no gap in seq, but the insert
 * trigger's counter (eirc-auth's archive_checkpoint_seqs) is past them.
 * Without that table (another schema), nothing to compare. */
static int pg_counter(verify_t *v, const char *origin, int rows, uint64_t last_size)
{
	const char *params[1] = {origin};
	PGresult *res = PQexecParams((PGconn *)ea_pg(v->ea),
				     "SELECT seq FROM archive_checkpoint_seqs WHERE origin = $1", 1,
				     NULL, params, NULL, NULL, 0);
	long long seq = 0;
	int rc = 0;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		seq = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (seq > rows)
		rc = finding(v, "checkpoint missing", "postgresql", origin, last_size, NULL,
			     "checkpoint seq %lld is missing (the last row has seq %d)", seq, rows);
	return rc;
}

/* The auditor's notes of origin into p; a note PostgreSQL lacks below its
 * last checkpoint is a row removed. */
static int auditor_checkpoints(verify_t *v, ea_part_t *p, const char *origin, uint64_t pg_last)
{
	for (size_t i = 0; i < v->n_auditor; i++) {
		vcp_t *a = &v->auditor[i];
		size_t before = p->n_cps;
		if (strcmp(a->origin, origin))
			continue;
		if (ea_part_add_cp(p, &a->cp) == -EEXIST)
			return finding(v, "checkpoint mismatch", "postgresql", origin, a->cp.size,
				       NULL, "the auditor's checkpoint has another root");
		if (p->n_cps > before && a->cp.size < pg_last)
			return finding(v, "checkpoint missing", "postgresql", origin, a->cp.size,
				       NULL,
				       "the auditor's checkpoint is not in archive_checkpoints");
	}
	return 0;
}

/* Redis's latest checkpoint (tlog "checkpoint") into p: signed, and not
 * newer than PostgreSQL's last unless still on its way there. */
static int load_pending(verify_t *v);

static int redis_checkpoint(verify_t *v, ea_part_t *p, uint64_t pg_last)
{
	tlog_checkpoint_t cp;
	ea_cp_t c = {.src = "redis"};
	bool pending = false;

	if (!p->checkpoint[0])
		return 0;
	if (open_note(v->ea, p->checkpoint, strlen(p->checkpoint), &cp) < 0 ||
	    strcmp(cp.origin, p->origin))
		return finding(v, "checkpoint mismatch", "redis", p->origin, p->cp_size, NULL,
			       "the tlog's latest checkpoint is not signed by a known key");
	c.size = cp.size;
	memcpy(c.root, cp.root, TLOG_HASH_LEN);
	if (ea_part_add_cp(p, &c) == -EEXIST)
		return finding(v, "checkpoint mismatch", "redis", p->origin, cp.size, NULL,
			       "the tlog's latest checkpoint has another root than PostgreSQL's");
	for (int pass = 0; pass < 2 && cp.size > pg_last && !pending; pass++) {
		/* sealed since the list was read: read it again */
		if (pass == 1 && load_pending(v) != 0)
			return EA_EXIT_UNREACHABLE;
		for (size_t i = 0; i < v->n_pending; i++)
			pending |= !strcmp(v->pending[i], p->checkpoint);
	}
	if (cp.size > pg_last && !pending)
		return finding(v, "checkpoint missing", "postgresql", p->origin, cp.size, NULL,
			       "Redis's latest checkpoint (size %" PRIu64
			       ") is newer than PostgreSQL's last (%" PRIu64 ")",
			       cp.size, pg_last);
	return 0;
}

/* The notes of eirc:{cp}:checkpoints after PostgreSQL's cursor: filed
 * soon, not missing. */
static int load_pending(verify_t *v)
{
	PGresult *res =
		PQexec((PGconn *)ea_pg(v->ea),
		       "SELECT stream_id FROM archive_checkpoints WHERE stream_id IS NOT NULL "
		       "ORDER BY id DESC LIMIT 1");
	char after[EA_ID_MAX + 2] = "-";
	redisReply *r;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "eirc-archive: PostgreSQL: %s", PQresultErrorMessage(res));
		PQclear(res);
		return EA_EXIT_UNREACHABLE;
	}
	if (PQntuples(res) == 1)
		snprintf(after, sizeof(after), "(%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	for (size_t i = 0; i < v->n_pending; i++)
		free(v->pending[i]);
	free(v->pending);
	v->pending = NULL;
	v->n_pending = 0;
	if (!(r = ea_redisf(v->ea, "XRANGE %s %s + COUNT 100000", ARCHIVE_KEYS_CHECKPOINTS, after)))
		return EA_EXIT_UNREACHABLE;
	v->pending = calloc(r->elements + 1, sizeof(*v->pending));
	for (size_t i = 0; v->pending && i < r->elements; i++) {
		redisReply *kv = r->element[i]->element[1];
		for (size_t j = 0; j + 1 < kv->elements; j += 2)
			if (!strcmp(kv->element[j]->str, "note"))
				v->pending[v->n_pending++] = strdup(kv->element[j + 1]->str);
	}
	freeReplyObject(r);
	return 0;
}

/* ---- the tree of stored leaves ---- */

/* The sealer's frontier (what the next leaves are appended to) is the
 * tree of the stored leaves: else the next checkpoints sign a forged
 * history. */
static int check_frontier(verify_t *v, const ea_part_t *p, const tlog_tree_t *t)
{
	uint8_t fr[TLOG_FRONTIER_MAX * TLOG_HASH_LEN];
	int n;

	if (!p->exists || t->size != p->size)
		return 0; /* a base past size: reported by the walk */
	n = tlog_tree_encode(t, fr, sizeof(fr));
	if (n < 0 || (size_t)n != p->frontier_len || memcmp(fr, p->frontier, (size_t)n))
		return finding(v, "checkpoint mismatch", "redis", p->origin, p->size, NULL,
			       "the sealer's frontier is not the tree of the stored leaves");
	return 0;
}

/* Checks the cps of p against the tree at their sizes, from the base
 * (a retention tombstone's frontier) over the stored leaves. */
static int check_tree(verify_t *v, ea_part_t *p)
{
	tlog_tree_t t;
	uint8_t leaf[TLOG_HASH_LEN], root[TLOG_HASH_LEN];
	size_t c = 0;
	int rc;

	ea_part_base(p, &t);
	if (t.size < p->leaves_from)
		return finding(v, "removed", "redis", p->origin, t.size, NULL,
			       "leaf hashes below %" PRIu64 " deleted without a tombstone",
			       p->leaves_from);
	while (c < p->n_cps && p->cps[c].size < t.size)
		c++;
	for (;;) {
		if (c < p->n_cps && p->cps[c].size == t.size) {
			tlog_tree_root(&t, root);
			if (memcmp(root, p->cps[c].root, TLOG_HASH_LEN))
				return finding(v, "checkpoint mismatch", "redis", p->origin, t.size,
					       NULL,
					       "the stored leaves do not give the root signed at "
					       "size %" PRIu64 " (%s)",
					       t.size, p->cps[c].src);
			c++;
		}
		if (t.size >= p->size)
			break;
		if ((rc = ea_part_leaf(v->ea, p, t.size, leaf)) == -EIO)
			return EA_EXIT_UNREACHABLE;
		if (rc < 0)
			return finding(v, "removed", "redis", p->origin, t.size, NULL,
				       "the stored leaf hash is missing");
		tlog_tree_append(&t, leaf);
	}
	if (c < p->n_cps)
		return finding(v, "checkpoint mismatch", "redis", p->origin, p->cps[c].size, NULL,
			       "a checkpoint (%s) signed %" PRIu64 " events; the log has %" PRIu64,
			       p->cps[c].src, p->cps[c].size, p->size);
	return check_frontier(v, p, &t);
}

/* Tombstones: contiguous from the first, ending at trimmed. */
static int check_tombs(verify_t *v, ea_part_t *p)
{
	uint64_t at = 0; /* tombstones are kept: the first starts the log */

	for (size_t i = 0; i < p->n_tombs; i++) {
		if (p->tombs[i].from != at)
			return finding(v, "removed", "redis", p->origin, at, NULL,
				       "leaves [%" PRIu64 ", %" PRIu64
				       ") trimmed without a tombstone",
				       at, p->tombs[i].from);
		at = p->tombs[i].to;
	}
	if (at != p->trimmed && p->trimmed > 0)
		return finding(v, "removed", "redis", p->origin, at, NULL,
			       "leaves [%" PRIu64 ", %" PRIu64 ") trimmed without a tombstone", at,
			       p->trimmed);
	return 0;
}

/* ---- walking the stores ---- */

typedef int (*src_next_fn)(void *src, ea_entry_t *e);

static int rsrc_next(void *s, ea_entry_t *e)
{
	return ea_rsrc_next(s, e);
}

static int esrc_next(void *s, ea_entry_t *e)
{
	return ea_esrc_next(s, e);
}

typedef struct walk {
	verify_t *v;
	ea_part_t *p;
	const char *store;
	bool is_es;
	uint64_t pos;       /* leaf index of the next entry */
	ea_id_t prev;       /* id of the entry before (0-0: none) */
	uint64_t es_expect; /* redis walk: sealed positions shipped (in ES) */
	ea_id_t shipped;    /* entries up to this one are in Elasticsearch */
	bool has_shipped;
	tlog_tree_t es_tree; /* ES walk below leaves_from */
	bool es_tree_ok;
	size_t es_cp;
	uint64_t first; /* position the walk started at */
	uint64_t seen;  /* entries walked */
	/* redis walk: the pending records (what the sealer will seal), read
	 * once at the first entry past the sealed ones */
	redisReply *pend;
	size_t pend_at;
} walk_t;

/* Why Elasticsearch refused the entry id, when the shipper dead-lettered it
 * (eirc:{p<k>}:archive:dead): "status <n>: <error>" into buf. Still a
 * finding (a dead letter is written to Redis, which an attacker who
 * deleted the document could write too), but one that says why. */
static bool dead_letter(walk_t *w, const char *id, char *buf, size_t cap)
{
	char key[ARCHIVE_KEYS_KEY_MAX], after[EA_ID_MAX + 2] = "-";
	bool found = false, more = true;

	archive_keys_dead(w->p->k, key, sizeof(key));
	while (more && !found) {
		redisReply *r = ea_redisf(w->v->ea, "XRANGE %s %s + COUNT %d", key, after, EA_PAGE);
		if (!r)
			return false;
		for (size_t i = 0; i < r->elements && !found; i++) {
			redisReply *kv = r->element[i]->element[1];
			const char *aid = NULL, *st = "?", *err = "";
			for (size_t j = 0; j + 1 < kv->elements; j += 2) {
				const char *n = kv->element[j]->str;
				if (!strcmp(n, "archive_id"))
					aid = kv->element[j + 1]->str;
				else if (!strcmp(n, "status"))
					st = kv->element[j + 1]->str;
				else if (!strcmp(n, "error"))
					err = kv->element[j + 1]->str;
			}
			if (aid && !strcmp(aid, id)) {
				snprintf(buf, cap, "status %s: %.200s", st, err);
				found = true;
			}
			snprintf(after, sizeof(after), "(%s", r->element[i]->element[0]->str);
		}
		more = r->elements == EA_PAGE;
		freeReplyObject(r);
	}
	return found;
}

/* The entry after id prev in the other store, to name a removed event. */
static void other_store_entry(walk_t *w, ea_entry_t *out)
{
	char key[ARCHIVE_KEYS_KEY_MAX], after[EA_ID_MAX];

	if (!w->is_es && w->v->ea->es) {
		ea_esrc_t s;
		ea_esrc_init(&s, w->v->ea, w->p->k,
			     w->prev.ms || w->prev.seq ? &w->prev : &w->p->start);
		(void)ea_esrc_next(&s, out);
		ea_esrc_free(&s);
	} else if (w->is_es) {
		ea_rsrc_t s;
		archive_keys_archive(w->p->k, key, sizeof(key));
		ea_id_format(w->prev.ms || w->prev.seq ? w->prev : w->p->start, after);
		ea_rsrc_init(&s, w->v->ea, key,
			     w->prev.ms || w->prev.seq || w->p->start.ms ? after : "-");
		(void)ea_rsrc_next(&s, out);
		ea_rsrc_free(&s);
	}
}

static bool leaf_at(walk_t *w, uint64_t i, uint8_t out[TLOG_HASH_LEN])
{
	return i < w->p->size && ea_part_leaf(w->v->ea, w->p, i, out) == 0;
}

/* cur does not give the stored leaf at w->pos: what happened. */
static int classify(walk_t *w, const ea_entry_t *cur, const ea_entry_t *nxt)
{
	uint8_t h[TLOG_HASH_LEN], hn[TLOG_HASH_LEN], l0[TLOG_HASH_LEN], l1[TLOG_HASH_LEN],
		x[TLOG_HASH_LEN];
	bool have0 = leaf_at(w, w->pos, l0), have1 = leaf_at(w, w->pos + 1, l1);

	if (ea_entry_leaf(cur, h) < 0)
		return finding(w->v, "modified", w->store, w->p->origin, w->pos, cur,
			       "malformed fields");
	if (nxt && ea_entry_leaf(nxt, hn) == 0 && have0 && !memcmp(hn, l0, TLOG_HASH_LEN))
		return finding(w->v, "inserted", w->store, w->p->origin, w->pos, cur,
			       "not in the log");
	if (nxt && have0 && have1 && ea_entry_leaf_as(cur, nxt->idstr, x) == 0 &&
	    !memcmp(x, l1, TLOG_HASH_LEN) && ea_entry_leaf_as(nxt, cur->idstr, x) == 0 &&
	    !memcmp(x, l0, TLOG_HASH_LEN))
		return finding(w->v, "reordered", w->store, w->p->origin, w->pos, cur,
			       "swapped with the next event (archive id %s, msgid %s)", nxt->idstr,
			       nxt->msgid ? nxt->msgid : "?");
	for (uint64_t d = 1; d <= VERIFY_LOOKAHEAD; d++) {
		if (!leaf_at(w, w->pos + d, x))
			break;
		if (!memcmp(h, x, TLOG_HASH_LEN)) {
			ea_entry_t o = {0};
			int rc;
			other_store_entry(w, &o);
			char why[256];
			if (w->is_es && o.idstr[0] && dead_letter(w, o.idstr, why, sizeof(why)))
				rc = finding(w->v, "removed", w->store, w->p->origin, w->pos, &o,
					     "Elasticsearch refused it when shipped (archive:dead, "
					     "%s)",
					     why);
			else if (o.idstr[0] && ea_entry_leaf(&o, x) == 0 && have0 &&
				 !memcmp(x, l0, TLOG_HASH_LEN))
				rc = finding(w->v, "removed", w->store, w->p->origin, w->pos, &o,
					     "%" PRIu64
					     " event(s) missing before archive id %s (the "
					     "first still in %s)",
					     d, cur->idstr, w->is_es ? "redis" : "elasticsearch");
			else
				rc = finding(w->v, "removed", w->store, w->p->origin, w->pos, NULL,
					     "%" PRIu64 " event(s) missing before archive id %s", d,
					     cur->idstr);
			ea_entry_clear(&o);
			return rc;
		}
	}
	return finding(w->v, "modified", w->store, w->p->origin, w->pos, cur,
		       "its leaf differs from the sealed one");
}

/* The pending record ("<id> <digest> <mac>") naming id, from the walk's
 * cursor on; records before it name entries the stream lost. Returns the
 * record, or NULL when none names id (the cursor stays). */
static const redisReply *pending_record(walk_t *w, const ea_entry_t *e, size_t *out_skipped)
{
	size_t n = strlen(e->idstr);

	*out_skipped = 0;
	for (size_t i = w->pend_at; w->pend && i < w->pend->elements; i++) {
		const redisReply *r = w->pend->element[i];
		if (r->type == REDIS_REPLY_STRING && r->len > n && r->str[n] == ' ' &&
		    !memcmp(r->str, e->idstr, n)) {
			*out_skipped = i - w->pend_at;
			w->pend_at = i + 1;
			return r;
		}
	}
	return NULL;
}

/* An entry past the sealed ones: it must have its pending record, with its
 * digest and a MAC that checks (when the signing key is at hand). */
static int tail_entry(walk_t *w, const ea_entry_t *e)
{
	ea_t *ea = w->v->ea;
	const redisReply *r;
	const char *d64, *mac;
	uint8_t d[TLOG_HASH_LEN], want[TLOG_HASH_LEN];
	size_t skipped, d_len;
	char key[ARCHIVE_KEYS_KEY_MAX];

	if (w->is_es) { /* checked once sealed */
		w->v->unchecked++;
		return 0;
	}
	if (ea_id_cmp(e->id, w->p->last) <= 0)
		return finding(w->v, "inserted", w->store, w->p->origin, w->pos, e,
			       "neither sealed nor refused by the sealer");
	if (!w->pend) {
		archive_keys_tlog(w->p->k, ARCHIVE_KEYS_TLOG_PENDING, key, sizeof(key));
		if (!(w->pend = ea_redisf(ea, "LRANGE %s 0 -1", key)))
			return EA_EXIT_UNREACHABLE;
	}
	if (!(r = pending_record(w, e, &skipped))) {
		redisReply *last;
		ea_id_t now;
		/* sealed since the state was read? */
		archive_keys_tlog(w->p->k, ARCHIVE_KEYS_TLOG_STATE, key, sizeof(key));
		if (!(last = ea_redisf(ea, "HGET %s last", key)))
			return EA_EXIT_UNREACHABLE;
		if (last->type == REDIS_REPLY_STRING &&
		    ea_id_parse(last->str, last->len, &now) == 0 && ea_id_cmp(e->id, now) <= 0) {
			freeReplyObject(last);
			w->v->unchecked++;
			return 0;
		}
		freeReplyObject(last);
		return finding(w->v, "inserted", w->store, w->p->origin, w->pos, e,
			       "not sealed yet, and no pending record names it: it was not "
			       "written by the append script");
	}
	if (skipped)
		return finding(w->v, "removed", w->store, w->p->origin, w->pos, e,
			       "%zu event(s) with pending records (archived, not yet sealed) "
			       "are gone from the stream before archive id %s",
			       skipped, e->idstr);
	d64 = r->str + strlen(e->idstr) + 1;
	mac = memchr(d64, ' ', r->len - (size_t)(d64 - r->str));
	if (!mac ||
	    sodium_base642bin(d, sizeof(d), d64, (size_t)(mac - d64), NULL, &d_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    d_len != sizeof(d) || tlog_event_digest(e->f, e->n, want) < 0 ||
	    memcmp(d, want, sizeof(d)))
		return finding(w->v, "modified", w->store, w->p->origin, w->pos, e,
			       "not sealed yet, and it differs from what was archived (its "
			       "pending record's digest)");
	if (!ea->have_signer) {
		w->v->unchecked++;
		return 0;
	}
	mac++;
	if (tlog_mac_digest_check(ea->mac_key, d, mac, r->len - (size_t)(mac - r->str)) < 0)
		return finding(w->v, "inserted", w->store, w->p->origin, w->pos, e,
			       "not sealed yet, and its pending record's MAC is wrong");
	w->v->unsealed++;
	return 0;
}

/* An ES document below leaves_from (leaf hashes trimmed): folded into a
 * tree checked at the checkpoint sizes. */
static int es_below(walk_t *w, const ea_entry_t *e)
{
	uint8_t h[TLOG_HASH_LEN], root[TLOG_HASH_LEN];
	ea_part_t *p = w->p;

	if (!w->es_tree_ok) {
		w->v->unchecked++;
		return 0;
	}
	if (ea_entry_leaf(e, h) < 0)
		return finding(w->v, "modified", w->store, p->origin, w->pos, e, "malformed");
	tlog_tree_append(&w->es_tree, h);
	while (w->es_cp < p->n_cps && p->cps[w->es_cp].size < w->es_tree.size)
		w->es_cp++;
	if (w->es_cp < p->n_cps && p->cps[w->es_cp].size == w->es_tree.size) {
		tlog_tree_root(&w->es_tree, root);
		if (memcmp(root, p->cps[w->es_cp].root, TLOG_HASH_LEN))
			return finding(w->v, "modified", w->store, p->origin, w->pos, e,
				       "an event up to this one differs from the log (the root at "
				       "size %" PRIu64 " does not match)",
				       w->es_tree.size);
	}
	return 0;
}

static int one_entry(walk_t *w, const ea_entry_t *cur, const ea_entry_t *nxt)
{
	const char *why;
	uint8_t h[TLOG_HASH_LEN], l[TLOG_HASH_LEN];
	int rc = 0;

	if (ea_part_rejected(w->p, cur->id, &why))
		return finding(w->v, "inserted", w->store, w->p->origin, w->pos, cur,
			       "the sealer refused it: %s", why);
	if (w->pos >= w->p->size)
		rc = tail_entry(w, cur);
	else if (w->pos < w->p->leaves_from)
		rc = w->is_es ? es_below(w, cur) : (w->v->unchecked++, 0);
	else if ((rc = ea_part_leaf(w->v->ea, w->p, w->pos, l)) == -EIO)
		return EA_EXIT_UNREACHABLE;
	else if (rc < 0)
		return finding(w->v, "removed", "redis", w->p->origin, w->pos, cur,
			       "the stored leaf hash is missing");
	else if (ea_entry_leaf(cur, h) < 0 || memcmp(h, l, TLOG_HASH_LEN))
		return classify(w, cur, nxt);
	if (rc)
		return rc;
	if (!w->is_es && w->has_shipped && w->pos < w->p->size &&
	    ea_id_cmp(cur->id, w->shipped) <= 0)
		w->es_expect = w->pos + 1;
	if (!w->v->first_ms || (int64_t)cur->id.ms < w->v->first_ms)
		w->v->first_ms = (int64_t)cur->id.ms;
	if ((int64_t)cur->id.ms > w->v->last_ms)
		w->v->last_ms = (int64_t)cur->id.ms;
	return 0;
}

/* Walks a source from position w->pos; 0, 1 (finding) or 3. */
static int walk(walk_t *w, src_next_fn next, void *src, bool *out_cut)
{
	ea_entry_t a = {0}, b = {0}, *cur = &a, *nxt = &b;
	int rc = next(src, cur), rn = 0, out = 0;

	*out_cut = false;
	while (rc == 1) {
		if (w->v->has_to && (int64_t)cur->id.ms > w->v->to_ms) {
			*out_cut = true;
			break;
		}
		rn = next(src, nxt);
		if (rn < 0) {
			out = EA_EXIT_UNREACHABLE;
			break;
		}
		if ((out = one_entry(w, cur, rn == 1 ? nxt : NULL)) != 0)
			break;
		w->prev = cur->id;
		w->pos++;
		w->seen++;
		progress(w->v, w->store, w->p->k, w->seen);
		ea_entry_t *t = cur;
		cur = nxt;
		nxt = t;
		rc = rn;
	}
	if (rc < 0)
		out = EA_EXIT_UNREACHABLE;
	ea_entry_clear(&a);
	ea_entry_clear(&b);
	return out;
}

/* What the shipper has delivered and had acknowledged: every entry up to
 * w->shipped is in Elasticsearch. */
static int shipped_bound(walk_t *w, const char *key)
{
	const char *group = w->v->ea->cfg->logger.consumer_group;
	redisReply *r;
	ea_id_t last = {0, 0};
	bool found = false;
	long long pending = 0;

	if (!w->v->ea->es || !group || !(r = ea_redisf(w->v->ea, "XINFO GROUPS %s", key)))
		return 0; /* no stream or no group: nothing shipped */
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		redisReply *g = r->element[i];
		bool mine = false;
		for (size_t j = 0; j + 1 < g->elements; j += 2) {
			const char *n = g->element[j]->str;
			redisReply *val = g->element[j + 1];
			if (!strcmp(n, "name"))
				mine = val->str && !strcmp(val->str, group);
			else if (!strcmp(n, "last-delivered-id") && val->str)
				(void)ea_id_parse(val->str, val->len, &last);
			else if (!strcmp(n, "pending"))
				pending = val->integer;
		}
		if (mine) {
			found = true;
			break;
		}
	}
	freeReplyObject(r);
	if (!found)
		return 0;
	if (pending > 0) {
		if (!(r = ea_redisf(w->v->ea, "XPENDING %s %s", key, group)))
			return EA_EXIT_UNREACHABLE;
		if (r->elements >= 2 && r->element[1]->str &&
		    ea_id_parse(r->element[1]->str, r->element[1]->len, &last) == 0) {
			if (last.seq)
				last.seq--;
			else if (last.ms) {
				last.ms--;
				last.seq = UINT64_MAX;
			}
		}
		freeReplyObject(r);
	}
	w->shipped = last;
	w->has_shipped = true;
	return 0;
}

/* Where a walk starts: position and the id before (--from: the last
 * checkpoint boundary below it). */
static void walk_start(const verify_t *v, const ea_part_t *p, bool es, uint64_t *out_pos,
		       ea_id_t *out_after)
{
	ea_id_t from = {(uint64_t)v->from_ms, 0}, last;
	uint64_t size;

	*out_pos = es ? 0 : p->trimmed;
	*out_after = p->start;
	if (v->has_from && ea_part_bound_below(p, from, &size, &last) &&
	    (es || size >= p->trimmed)) {
		*out_pos = size;
		*out_after = last;
	}
}

/* [*out_from, *out_to): the positions a walk covered. */
static int walk_redis(verify_t *v, ea_part_t *p, uint64_t *out_es_expect, uint64_t *out_from,
		      uint64_t *out_to)
{
	char key[ARCHIVE_KEYS_KEY_MAX], after[EA_ID_MAX];
	walk_t w = {.v = v, .p = p, .store = "redis"};
	ea_rsrc_t src;
	ea_id_t a;
	bool cut;
	int rc;

	archive_keys_archive(p->k, key, sizeof(key));
	if ((rc = shipped_bound(&w, key)) != 0)
		return rc;
	walk_start(v, p, false, &w.pos, &a);
	w.prev = a;
	w.first = w.pos;
	ea_id_format(a, after);
	ea_rsrc_init(&src, v->ea, key, a.ms || a.seq ? after : "-");
	rc = walk(&w, rsrc_next, &src, &cut);
	ea_rsrc_free(&src);
	if (w.pend)
		freeReplyObject(w.pend);
	if (rc == 0 && !cut && w.pos < p->size && w.pos >= p->trimmed) {
		ea_entry_t o = {0};
		other_store_entry(&w, &o);
		rc = finding(v, "removed", "redis", p->origin, w.pos, o.idstr[0] ? &o : NULL,
			     "the log has %" PRIu64 " events, the stream ends after %" PRIu64,
			     p->size, w.pos);
		ea_entry_clear(&o);
	}
	*out_from = w.first;
	*out_to = w.pos;
	/* everything trimmed from Redis was shipped */
	*out_es_expect = w.es_expect > p->trimmed ? w.es_expect : p->trimmed;
	if (*out_es_expect > p->size)
		*out_es_expect = p->size;
	return rc;
}

static int walk_es(verify_t *v, ea_part_t *p, uint64_t expect, uint64_t *out_from, uint64_t *out_to)
{
	walk_t w = {.v = v, .p = p, .store = "elasticsearch", .is_es = true};
	ea_esrc_t src;
	ea_id_t a;
	bool cut;
	int rc;

	if (!v->refreshed) {
		ea_es_refresh(v->ea);
		v->refreshed = true;
	}
	walk_start(v, p, true, &w.pos, &a);
	w.prev = a;
	w.first = w.pos;
	tlog_tree_init(&w.es_tree);
	w.es_tree_ok = w.pos == 0;
	ea_esrc_init(&src, v->ea, p->k, a.ms || a.seq ? &a : NULL);
	rc = walk(&w, esrc_next, &src, &cut);
	ea_esrc_free(&src);
	*out_from = w.first;
	*out_to = w.pos;
	if (rc == 0 && !cut && w.pos < expect) {
		ea_entry_t o = {0};
		char why[256];
		other_store_entry(&w, &o);
		if (o.idstr[0] && dead_letter(&w, o.idstr, why, sizeof(why)))
			rc = finding(v, "removed", "elasticsearch", p->origin, w.pos, &o,
				     "Elasticsearch refused it when shipped (archive:dead, %s)",
				     why);
		else
			rc = finding(
				v, "removed", "elasticsearch", p->origin, w.pos,
				o.idstr[0] ? &o : NULL,
				"shipped but not in Elasticsearch (its documents end after %" PRIu64
				" events)",
				w.pos);
		ea_entry_clear(&o);
	}
	return rc;
}

/* Positions covered by [r0, r1) and [e0, e1) together. */
static uint64_t covered(uint64_t r0, uint64_t r1, uint64_t e0, uint64_t e1)
{
	uint64_t lo, hi;

	if (r1 <= r0 || e1 <= e0)
		return (r1 - r0) + (e1 - e0);
	if (e1 < r0 || r1 < e0) /* apart */
		return (r1 - r0) + (e1 - e0);
	lo = r0 < e0 ? r0 : e0;
	hi = r1 > e1 ? r1 : e1;
	return hi - lo;
}

static int verify_partition(verify_t *v, int k)
{
	ea_part_t p = {0};
	char origin[TLOG_NAME_MAX + 1];
	uint64_t pg_last = 0, expect = 0, r0 = 0, r1 = 0, e0 = 0, e1 = 0;
	int rc;

	/* PostgreSQL first: a checkpoint filed after the state was read would
	 * be larger than the log */
	tlog_origin_partition(v->ea->cfg->integrity.origin, k, origin, sizeof(origin));
	if ((rc = pg_checkpoints(v, &p, origin, &pg_last)) != 0) {
		ea_part_free(&p);
		return rc;
	}
	if (ea_part_load(v->ea, k, &p) < 0) {
		ea_part_free(&p);
		return EA_EXIT_UNREACHABLE;
	}
	if ((rc = auditor_checkpoints(v, &p, p.origin, pg_last)) == 0 &&
	    (rc = redis_checkpoint(v, &p, pg_last)) == 0 && (rc = check_tombs(v, &p)) == 0 &&
	    (rc = check_tree(v, &p)) == 0 && (rc = walk_redis(v, &p, &expect, &r0, &r1)) == 0 &&
	    v->ea->es)
		rc = walk_es(v, &p, expect, &e0, &e1);
	v->events += covered(r0, r1, e0, e1);
	if (rc == 0 && !p.exists && pg_last > 0)
		rc = finding(v, "removed", "redis", p.origin, 0, NULL,
			     "the log's state is gone, PostgreSQL has its checkpoints");
	v->partitions++;
	ea_part_free(&p);
	return rc;
}

/* ---- the audit log ---- */

static int audit_row(verify_t *v, PGresult *res, tlog_tree_t *t, int64_t *next_seq,
		     const char *origin)
{
	static const char *const names[] = {"at",      "event",     "actor_user_id", "actor",
					    "subject", "client_ip", "detail"};
	tlog_field_t f[7];
	size_t n = 0;
	int64_t seq = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	const char *id = PQgetvalue(res, 0, 1);
	uint8_t h[TLOG_HASH_LEN];

	if (*next_seq && seq != *next_seq)
		return finding(v, "removed", "postgresql", origin, t->size, NULL,
			       "audit_log rows seq %" PRId64 "..%" PRId64 " are missing", *next_seq,
			       seq - 1);
	*next_seq = seq + 1;
	for (int c = 0; c < 7; c++) {
		if (PQgetisnull(res, 0, c + 2) || !PQgetlength(res, 0, c + 2))
			continue;
		f[n].name = (archive_str_t){names[c], strlen(names[c])};
		f[n].value = (archive_str_t){PQgetvalue(res, 0, c + 2),
					     (size_t)PQgetlength(res, 0, c + 2)};
		n++;
	}
	if (tlog_leaf_hash((archive_str_t){id, strlen(id)}, f, n, h) < 0)
		return finding(v, "modified", "postgresql", origin, t->size, NULL,
			       "audit_log row %s is malformed", id);
	tlog_tree_append(t, h);
	return 0;
}

static int verify_audit(verify_t *v)
{
	PGconn *pg = (PGconn *)ea_pg(v->ea);
	ea_part_t p = {0};
	char origin[TLOG_NAME_MAX + 1];
	uint64_t pg_last = 0;
	uint8_t root[TLOG_HASH_LEN];
	tlog_tree_t t;
	int64_t next_seq = 0;
	size_t c = 0;
	int rc;
	PGresult *res;

	tlog_origin_audit(v->ea->cfg->integrity.origin, origin, sizeof(origin));
	if ((rc = pg_checkpoints(v, &p, origin, &pg_last)) != 0 ||
	    (rc = auditor_checkpoints(v, &p, origin, pg_last)) != 0) {
		ea_part_free(&p);
		return rc;
	}
	tlog_tree_init(&t);
	if (!PQsendQuery(pg, "SELECT seq, id, at, event, actor_user_id, actor, subject, "
			     "client_ip, detail FROM audit_log_leaf ORDER BY seq::bigint") ||
	    !PQsetSingleRowMode(pg)) {
		fprintf(stderr, "eirc-archive: PostgreSQL: %s", PQerrorMessage(pg));
		ea_part_free(&p);
		return EA_EXIT_UNREACHABLE;
	}
	while ((res = PQgetResult(pg))) {
		if (PQresultStatus(res) == PGRES_SINGLE_TUPLE && rc == 0) {
			rc = audit_row(v, res, &t, &next_seq, origin);
			while (rc == 0 && c < p.n_cps && p.cps[c].size == t.size) {
				tlog_tree_root(&t, root);
				if (memcmp(root, p.cps[c].root, TLOG_HASH_LEN))
					rc = finding(
						v, "checkpoint mismatch", "postgresql", origin,
						t.size, NULL,
						"audit_log rows up to seq %" PRId64
						" do not give the root signed at size %" PRIu64,
						next_seq - 1, t.size);
				c++;
			}
		} else if (PQresultStatus(res) != PGRES_TUPLES_OK &&
			   PQresultStatus(res) != PGRES_SINGLE_TUPLE && rc == 0) {
			fprintf(stderr, "eirc-archive: PostgreSQL: %s", PQresultErrorMessage(res));
			rc = EA_EXIT_UNREACHABLE;
		}
		PQclear(res);
	}
	if (rc == 0 && c < p.n_cps)
		rc = finding(v, "removed", "postgresql", origin, t.size, NULL,
			     "a checkpoint signed %" PRIu64 " audit_log rows; there are %" PRIu64,
			     p.cps[c].size, t.size);
	v->audit_rows = t.size;
	ea_part_free(&p);
	return rc;
}

/* ---- the command ---- */

static int parse_time(const char *s, int64_t *out)
{
	if (archive_event_time_parse(s, strlen(s), out) == 0)
		return 0;
	char buf[40];
	snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
	return archive_event_time_parse(buf, strlen(buf), out);
}

/* Reads the witness-format file (notes each followed by "~~~~\n"). */
static int load_auditor(verify_t *v, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[TLOG_CHECKPOINT_MAX], note[TLOG_CHECKPOINT_MAX];
	size_t len = 0;

	if (!f) {
		fprintf(stderr, "eirc-archive: %s: %m\n", path);
		return EA_EXIT_USAGE;
	}
	while (fgets(line, sizeof(line), f)) {
		tlog_checkpoint_t cp;
		vcp_t *n;
		if (strcmp(line, "~~~~\n")) {
			size_t l = strlen(line);
			if (len + l >= sizeof(note))
				break;
			memcpy(note + len, line, l);
			len += l;
			continue;
		}
		if (open_note(v->ea, note, len, &cp) < 0) {
			fprintf(stderr,
				"eirc-archive: %s: a checkpoint not signed by a known key\n", path);
			fclose(f);
			return EA_EXIT_USAGE;
		}
		if (!(n = realloc(v->auditor, (v->n_auditor + 1) * sizeof(*n))))
			break;
		v->auditor = n;
		memset(&n[v->n_auditor], 0, sizeof(*n));
		snprintf(n[v->n_auditor].origin, sizeof(n->origin), "%s", cp.origin);
		n[v->n_auditor].cp.size = cp.size;
		memcpy(n[v->n_auditor].cp.root, cp.root, TLOG_HASH_LEN);
		snprintf(n[v->n_auditor].cp.src, sizeof(n->cp.src), "auditor");
		v->n_auditor++;
		len = 0;
	}
	fclose(f);
	if (len) {
		fprintf(stderr, "eirc-archive: %s: not in the witness format\n", path);
		return EA_EXIT_USAGE;
	}
	return 0;
}

static int verify_args(verify_t *v, int argc, char **argv, const char **out_cp)
{
	for (int i = 0; i < argc; i += 2) { /* "--option value" pairs */
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;
		if (!val)
			goto usage;
		if (!strcmp(a, "--from") && parse_time(val, &v->from_ms) == 0)
			v->has_from = true;
		else if (!strcmp(a, "--to") && parse_time(val, &v->to_ms) == 0)
			v->has_to = true;
		else if (!strcmp(a, "--partition")) {
			long k = strtol(val, &end, 10);
			if (*end || k < 0 || k >= v->ea->cfg->redis.partitions)
				goto usage;
			v->only_k = (int)k;
		} else if (!strcmp(a, "--checkpoint"))
			*out_cp = val;
		else if (!strcmp(a, "--key")) {
			if (ea_keys_add(v->ea, val) != 0)
				return EA_EXIT_USAGE;
		} else
			goto usage;
	}
	return 0;
usage:
	fprintf(stderr, "eirc-archive verify: bad arguments (see --help)\n");
	return EA_EXIT_USAGE;
}

static void summary(verify_t *v)
{
	char a[32] = "-", b[32] = "-";
	double s = elapsed(v);

	if (v->events) {
		archive_event_time_format(v->first_ms, a, sizeof(a));
		archive_event_time_format(v->last_ms, b, sizeof(b));
	}
	progress_end(v);
	printf("OK %" PRIu64 " events in %" PRIu64 " partitions, %" PRIu64 " checkpoints, %" PRIu64
	       " audit rows, %s to %s, %.1f s, %.0f events/s (%" PRIu64 " unsealed checked by MAC, "
	       "%" PRIu64 " not checkable)\n",
	       v->events, v->partitions, v->checkpoints, v->audit_rows, a, b, s,
	       s > 0 ? (double)v->events / s : 0.0, v->unsealed, v->unchecked);
}

int ea_cmd_verify(ea_t *ea, int argc, char **argv)
{
	verify_t v = {.ea = ea, .only_k = -1};
	const char *cpfile = NULL;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &v.t0);
	if ((rc = verify_args(&v, argc, argv, &cpfile)) != 0)
		goto out;
	if (ea->n_keys == 0) {
		fprintf(stderr, "eirc-archive: no key to check checkpoints with: set "
				"integrity.signing_key or integrity.verify_keys, or pass --key\n");
		rc = EA_EXIT_USAGE;
		goto out;
	}
	if ((cpfile && (rc = load_auditor(&v, cpfile)) != 0) ||
	    (rc = ea_open(ea, true, true)) != 0 || (rc = load_pending(&v)) != 0)
		goto out;
	for (int k = 0; k < ea->cfg->redis.partitions && rc == 0; k++)
		if (v.only_k < 0 || v.only_k == k)
			rc = verify_partition(&v, k);
	if (rc == 0 && v.only_k < 0)
		rc = verify_audit(&v);
	if (rc == 0)
		summary(&v);
out:
	progress_end(&v);
	for (size_t i = 0; i < v.n_pending; i++)
		free(v.pending[i]);
	free(v.pending);
	free(v.auditor);
	return rc;
}
