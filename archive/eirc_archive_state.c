/*
 * eirc_archive_state: one partition's tamper-evident log as Redis keeps it
 * (BRIEF contract, docs/compliance.md): the tlog hash, the tombstones of
 * trimmed ranges, the checkpoint boundaries, the entries the sealer
 * refused, and the stored leaf hashes, read a chunk at a time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "archive/archive_keys.h"
#include "archive/eirc_archive.h"

void ea_part_free(ea_part_t *p)
{
	for (size_t i = 0; i < p->n_rej; i++)
		free(p->rej_reason[i]);
	free(p->rej_reason);
	free(p->rej);
	free(p->cps);
	free(p->tombs);
	free(p->bounds);
	free(p->chunk_buf);
	memset(p, 0, sizeof(*p));
}

static bool str_is(const redisReply *r, const char *s)
{
	return r->type == REDIS_REPLY_STRING && r->len == strlen(s) && !memcmp(r->str, s, r->len);
}

static int reply_u64(const redisReply *r, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (r->type != REDIS_REPLY_STRING || r->len == 0 || r->len > 20)
		return -EINVAL;
	v = strtoull(r->str, &end, 10);
	if (end != r->str + r->len)
		return -EINVAL;
	*out = v;
	return 0;
}

static int reply_id(const redisReply *r, ea_id_t *out)
{
	return r->type == REDIS_REPLY_STRING ? ea_id_parse(r->str, r->len, out) : -EINVAL;
}

/* The tlog hash into p. */
static int load_state(ea_t *ea, ea_part_t *p, const char *key)
{
	redisReply *r = ea_redisf(ea, "HGETALL %s", key);
	int rc = 0;

	if (!r)
		return -EIO;
	p->exists = r->type == REDIS_REPLY_ARRAY && r->elements > 0;
	for (size_t i = 0; p->exists && i + 1 < r->elements && rc == 0; i += 2) {
		redisReply *n = r->element[i], *v = r->element[i + 1];
		if (str_is(n, "size"))
			rc = reply_u64(v, &p->size);
		else if (str_is(n, "cp_size"))
			rc = reply_u64(v, &p->cp_size);
		else if (str_is(n, "leaves_from"))
			rc = reply_u64(v, &p->leaves_from);
		else if (str_is(n, "trimmed"))
			rc = reply_u64(v, &p->trimmed);
		else if (str_is(n, "rejected"))
			rc = reply_u64(v, &p->rejected);
		else if (str_is(n, "last"))
			rc = reply_id(v, &p->last);
		else if (str_is(n, "start"))
			rc = reply_id(v, &p->start);
		else if (str_is(n, "checkpoint") && v->len < sizeof(p->checkpoint))
			memcpy(p->checkpoint, v->str, v->len);
		else if (str_is(n, "frontier") && v->len <= sizeof(p->frontier)) {
			memcpy(p->frontier, v->str, v->len);
			p->frontier_len = v->len;
		}
	}
	if (rc < 0)
		fprintf(stderr, "eirc-archive: %s: malformed state\n", key);
	freeReplyObject(r);
	return rc < 0 ? -EIO : 0;
}

static const redisReply *kv_get(const redisReply *kv, const char *name)
{
	for (size_t i = 0; i + 1 < kv->elements; i += 2)
		if (str_is(kv->element[i], name))
			return kv->element[i + 1];
	return NULL;
}

static int hex_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
	if (n % 2 || n / 2 > cap)
		return -EINVAL;
	for (size_t i = 0; i < n; i += 2) {
		unsigned v;
		if (sscanf(s + i, "%2x", &v) != 1)
			return -EINVAL;
		out[i / 2] = (uint8_t)v;
	}
	*out_len = n / 2;
	return 0;
}

static int tomb_parse(const redisReply *kv, ea_tomb_t *t)
{
	const redisReply *from = kv_get(kv, "from"), *to = kv_get(kv, "to");
	const redisReply *first = kv_get(kv, "first"), *last = kv_get(kv, "last");
	const redisReply *fr = kv_get(kv, "frontier"), *pol = kv_get(kv, "policy");
	uint8_t buf[TLOG_FRONTIER_MAX * TLOG_HASH_LEN];
	size_t n;

	memset(t, 0, sizeof(*t));
	if (!from || !to || reply_u64(from, &t->from) < 0 || reply_u64(to, &t->to) < 0 ||
	    t->to < t->from)
		return -EINVAL;
	if (first)
		(void)reply_id(first, &t->first);
	if (last)
		(void)reply_id(last, &t->last);
	if (pol)
		snprintf(t->policy, sizeof(t->policy), "%.*s", (int)pol->len, pol->str);
	if (fr && fr->len) {
		if (hex_decode(fr->str, fr->len, buf, sizeof(buf), &n) < 0 ||
		    tlog_tree_decode(t->to, buf, n, &t->frontier) < 0)
			return -EINVAL;
		t->has_frontier = true;
	}
	return 0;
}

/* The tombstones, page by page. */
static int load_tombs(ea_t *ea, ea_part_t *p, const char *key)
{
	char after[EA_ID_MAX + 2] = "-";
	redisReply *r;
	int rc = 0;

	for (bool more = true; more && rc == 0;) {
		if (!(r = ea_redisf(ea, "XRANGE %s %s + COUNT %d", key, after, EA_PAGE)))
			return -EIO;
		for (size_t i = 0; i < r->elements && rc == 0; i++) {
			ea_tomb_t *n = realloc(p->tombs, (p->n_tombs + 1) * sizeof(*n));
			if (!n) {
				rc = -ENOMEM;
				break;
			}
			p->tombs = n;
			if (tomb_parse(r->element[i]->element[1], &p->tombs[p->n_tombs]) < 0) {
				fprintf(stderr, "eirc-archive: %s %s: malformed tombstone\n", key,
					r->element[i]->element[0]->str);
				rc = -EIO;
				break;
			}
			p->n_tombs++;
			snprintf(after, sizeof(after), "(%s", r->element[i]->element[0]->str);
		}
		more = r->elements == EA_PAGE;
		freeReplyObject(r);
	}
	return rc;
}

static int id_cmp(const void *a, const void *b)
{
	return ea_id_cmp(*(const ea_id_t *)a, *(const ea_id_t *)b);
}

static int load_rejected(ea_t *ea, ea_part_t *p, const char *key)
{
	redisReply *r;
	char after[EA_ID_MAX + 2] = "-";
	int rc = 0;

	for (;;) {
		if (!(r = ea_redisf(ea, "XRANGE %s %s + COUNT %d", key, after, EA_PAGE)))
			return -EIO;
		for (size_t i = 0; i < r->elements && rc == 0; i++) {
			const redisReply *id = kv_get(r->element[i]->element[1], "id");
			const redisReply *why = kv_get(r->element[i]->element[1], "reason");
			ea_id_t *nr = realloc(p->rej, (p->n_rej + 1) * sizeof(*nr));
			char **nw = realloc(p->rej_reason, (p->n_rej + 1) * sizeof(*nw));
			if (nr)
				p->rej = nr;
			if (nw)
				p->rej_reason = nw;
			if (!nr || !nw || !id || reply_id(id, &p->rej[p->n_rej]) < 0) {
				rc = -EIO;
				break;
			}
			p->rej_reason[p->n_rej++] = why ? strndup(why->str, why->len) : NULL;
			snprintf(after, sizeof(after), "(%s", r->element[i]->element[0]->str);
		}
		bool more = r->elements == EA_PAGE;
		freeReplyObject(r);
		if (rc < 0 || !more)
			break;
	}
	/* ids arrive in refusal order, which is stream order; sorted anyway */
	for (size_t i = 1; i < p->n_rej; i++)
		if (ea_id_cmp(p->rej[i - 1], p->rej[i]) > 0) {
			for (size_t j = 0; j < p->n_rej; j++) { /* rare: drop reasons */
				free(p->rej_reason[j]);
				p->rej_reason[j] = NULL;
			}
			qsort(p->rej, p->n_rej, sizeof(*p->rej), id_cmp);
			break;
		}
	return rc;
}

static int load_bounds(ea_t *ea, ea_part_t *p, const char *key)
{
	redisReply *r = ea_redisf(ea, "ZRANGE %s 0 -1", key);
	int rc = 0;

	if (!r)
		return -EIO;
	if (r->elements && !(p->bounds = calloc(r->elements, sizeof(*p->bounds))))
		rc = -ENOMEM;
	for (size_t i = 0; i < r->elements && rc == 0; i++) {
		const char *s = r->element[i]->str, *sp = memchr(s, ' ', r->element[i]->len);
		char *end;
		if (!sp || ea_id_parse(sp + 1, r->element[i]->len - (size_t)(sp + 1 - s),
				       &p->bounds[p->n_bounds].last) < 0) {
			rc = -EIO;
			break;
		}
		p->bounds[p->n_bounds].size = strtoull(s, &end, 10);
		if (end != sp) {
			rc = -EIO;
			break;
		}
		p->n_bounds++;
	}
	if (rc < 0)
		fprintf(stderr, "eirc-archive: %s: malformed boundary\n", key);
	freeReplyObject(r);
	return rc;
}

int ea_part_load(ea_t *ea, int k, ea_part_t *p)
{
	char key[ARCHIVE_KEYS_KEY_MAX];
	ea_cp_t *cps = p->cps;
	size_t n_cps = p->n_cps;

	memset(p, 0, sizeof(*p));
	p->cps = cps;
	p->n_cps = n_cps;
	p->k = k;
	if (tlog_origin_partition(ea->cfg->integrity.origin, k, p->origin, sizeof(p->origin)) < 0)
		return -EINVAL;
	archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_STATE, key, sizeof(key));
	if (load_state(ea, p, key) < 0)
		return -EIO;
	archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_TOMB, key, sizeof(key));
	if (load_tombs(ea, p, key) < 0)
		return -EIO;
	archive_keys_tlog(k, "rejected", key, sizeof(key));
	if (load_rejected(ea, p, key) < 0)
		return -EIO;
	archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_CPS, key, sizeof(key));
	return load_bounds(ea, p, key) < 0 ? -EIO : 0;
}

int ea_part_leaf(ea_t *ea, ea_part_t *p, uint64_t i, uint8_t out[TLOG_HASH_LEN])
{
	uint64_t c = i / ARCHIVE_KEYS_LEAVES_CHUNK;
	size_t off = (size_t)(i % ARCHIVE_KEYS_LEAVES_CHUNK) * TLOG_HASH_LEN;
	char key[ARCHIVE_KEYS_KEY_MAX];

	if (!p->chunk_valid || p->chunk != c) {
		redisReply *r;
		archive_keys_leaves(p->k, c, key, sizeof(key));
		if (!(r = ea_redisf(ea, "GET %s", key)))
			return -EIO;
		free(p->chunk_buf);
		p->chunk_buf = NULL;
		p->chunk_len = 0;
		if (r->type == REDIS_REPLY_STRING && r->len && (p->chunk_buf = malloc(r->len))) {
			memcpy(p->chunk_buf, r->str, r->len);
			p->chunk_len = r->len;
		}
		freeReplyObject(r);
		p->chunk = c;
		p->chunk_valid = true;
	}
	if (off + TLOG_HASH_LEN > p->chunk_len)
		return -ENOENT;
	memcpy(out, p->chunk_buf + off, TLOG_HASH_LEN);
	return 0;
}

bool ea_part_rejected(const ea_part_t *p, ea_id_t id, const char **out_reason)
{
	size_t lo = 0, hi = p->n_rej;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = ea_id_cmp(p->rej[mid], id);
		if (c == 0) {
			*out_reason = p->rej_reason[mid] ? p->rej_reason[mid] : "refused";
			return true;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

bool ea_part_bound_below(const ea_part_t *p, ea_id_t id, uint64_t *out_size, ea_id_t *out_last)
{
	bool found = false;

	for (size_t i = 0; i < p->n_bounds; i++)
		if (ea_id_cmp(p->bounds[i].last, id) < 0 && p->bounds[i].size >= p->trimmed &&
		    (!found || p->bounds[i].size > *out_size)) {
			*out_size = p->bounds[i].size;
			*out_last = p->bounds[i].last;
			found = true;
		}
	return found;
}

int ea_part_add_cp(ea_part_t *p, const ea_cp_t *cp)
{
	size_t at = 0;
	ea_cp_t *n;

	while (at < p->n_cps && p->cps[at].size < cp->size)
		at++;
	if (at < p->n_cps && p->cps[at].size == cp->size) {
		if (memcmp(p->cps[at].root, cp->root, TLOG_HASH_LEN))
			return -EEXIST;
		if (!p->cps[at].seq)
			p->cps[at].seq = cp->seq;
		return 0;
	}
	if (!(n = realloc(p->cps, (p->n_cps + 1) * sizeof(*n))))
		return -ENOMEM;
	p->cps = n;
	memmove(&p->cps[at + 1], &p->cps[at], (p->n_cps - at) * sizeof(*n));
	p->cps[at] = *cp;
	p->n_cps++;
	return 0;
}

void ea_part_base(const ea_part_t *p, tlog_tree_t *out)
{
	tlog_tree_init(out);
	for (size_t i = p->n_tombs; i-- > 0;)
		if (p->tombs[i].has_frontier) {
			*out = p->tombs[i].frontier;
			return;
		}
}
