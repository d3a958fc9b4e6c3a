/*
 * lg_shipper: archive streams to Elasticsearch (see lg_shipper.h).
 */
#include "logger-bot/lg_shipper.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive/archive_keys.h"
#include "common/backoff.h"
#include "common/clock.h"
#include "logger-bot/lg_bulk.h"

#define ID_MAX 48

enum phase { PH_PENDING = 0, PH_CLAIM, PH_LIVE };

struct part {
	enum phase ph;
	char cursor[ID_MAX];
	char key[64];
	char dead[64];
};

struct item {
	int part;
	int status;
	enum lg_bulk_outcome outcome;
	size_t off, len; /* its two NDJSON lines in body */
	char id[ID_MAX];
	char err[LG_BULK_ERROR_MAX + 1];
};

struct lg_shipper {
	uv_loop_t *loop;
	struct lg_shipper_opts opts;
	struct lg_metrics *m;
	lg_shipper_note_fn on_note;
	void *ud;
	redis_t *redis;
	archive_es_t *es;
	struct part *parts;
	struct item *items;
	size_t n_items;
	buf_t body, scratch; /* same limit: they swap in settle() */
	bool template_ok, reading, sending, closing;
	int next_part, sweep_empty;
	uint64_t first_doc_at;
	uint64_t retry_at; /* loop ms the failed batch goes again; 0: none */
	struct backoff retry_bo, template_bo;
	int stats_waiting;
	uint64_t routing_seen; /* redis_routing_errors already counted */
	uint64_t stats_pending, stats_oldest;
	int open_handles;
	lg_shipper_closed_fn on_closed;
	uv_timer_t poll_timer, retry_timer, stats_timer, claim_timer, template_timer;
};

static void step(struct lg_shipper *s);
static void send_batch(struct lg_shipper *s);
static void on_retry_timer(uv_timer_t *t);

static void note(struct lg_shipper *s, enum lg_shipper_note n, const char *detail)
{
	if (s->on_note)
		s->on_note(s->ud, n, detail);
}

static void ignore_reply(void *ud, redisReply *reply, void *privdata)
{
	(void)ud, (void)reply, (void)privdata;
}

/* ---- acknowledgement and dead letters ---- */

static void ack(struct lg_shipper *s, int k, const char *const *ids, size_t n)
{
	const char *argv[3 + 256];
	size_t len[3 + 256];

	for (size_t done = 0; done < n;) {
		size_t c = n - done < 256 ? n - done : 256;
		argv[0] = "XACK";
		argv[1] = s->parts[k].key;
		argv[2] = s->opts.group;
		for (size_t i = 0; i < c; i++)
			argv[3 + i] = ids[done + i];
		for (size_t i = 0; i < 3 + c; i++)
			len[i] = strlen(argv[i]);
		/* Redis down: the entries stay pending and are shipped again (409) */
		(void)redis_argv(s->redis, (int)(3 + c), argv, len, ignore_reply, NULL);
		done += c;
	}
}

static void dead_letter(struct lg_shipper *s, int k, const char *id, int status, const char *err,
			const char *doc, size_t doc_len)
{
	char st[16];
	const char *argv[] = {"XADD", s->parts[k].dead, "*", "archive_id", id, "status",
			      st,     "error",          err, "document",   doc};
	size_t len[11];

	snprintf(st, sizeof(st), "%d", status);
	for (int i = 0; i < 10; i++)
		len[i] = strlen(argv[i]);
	len[10] = doc_len;
	(void)redis_argv(s->redis, 11, argv, len, ignore_reply, NULL);
	s->m->ship_dead++;
	note(s, LG_SHIP_DEAD_LETTER, err);
}

/* ---- reading ---- */

static void add_entry(struct lg_shipper *s, int k, const redisReply *e)
{
	lg_bulk_field_t f[LG_BULK_FIELDS_MAX];
	const redisReply *kv;
	size_t nf = 0, off = buf_len(&s->body);
	struct item *it;
	int rc;

	if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING || e->element[0]->len >= ID_MAX)
		return;
	kv = e->element[1];
	if (kv->type != REDIS_REPLY_ARRAY) { /* deleted entry: nothing to ship */
		const char *id = e->element[0]->str;
		ack(s, k, &id, 1);
		return;
	}
	for (size_t i = 0; i + 1 < kv->elements && nf < LG_BULK_FIELDS_MAX; i += 2, nf++) {
		f[nf].name = (archive_str_t){kv->element[i]->str, kv->element[i]->len};
		f[nf].value = (archive_str_t){kv->element[i + 1]->str, kv->element[i + 1]->len};
	}
	rc = lg_bulk_add(&s->body, s->opts.index_prefix, k,
			 (archive_str_t){e->element[0]->str, e->element[0]->len}, f, nf);
	if (rc == -EINVAL) {
		const char *id = e->element[0]->str;
		dead_letter(s, k, id, 0, "malformed archive entry: no msgid or no valid time", "",
			    0);
		ack(s, k, &id, 1);
		return;
	}
	if (rc < 0)
		return; /* no memory: stays pending, read again later */
	it = &s->items[s->n_items++];
	it->part = k;
	it->off = off;
	it->len = (size_t)rc;
	memcpy(it->id, e->element[0]->str, e->element[0]->len + 1);
	if (s->n_items == 1)
		s->first_doc_at = uv_now(s->loop);
}

/* Adds every entry of an entries array; returns how many there were. */
static size_t add_entries(struct lg_shipper *s, int k, const redisReply *entries)
{
	if (!entries || entries->type != REDIS_REPLY_ARRAY)
		return 0;
	for (size_t i = 0; i < entries->elements; i++)
		add_entry(s, k, entries->element[i]);
	return entries->elements;
}

static const redisReply *xread_entries(const redisReply *r)
{
	/* [[key, [entries]]] or nil */
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_ARRAY || r->element[0]->elements < 2)
		return NULL;
	return r->element[0]->element[1];
}

static size_t on_read_pending(struct lg_shipper *s, struct part *p, const redisReply *r)
{
	const redisReply *entries = xread_entries(r);
	size_t n = entries ? entries->elements : 0;

	if (n == 0) {
		p->ph = PH_CLAIM;
		strcpy(p->cursor, "0-0");
		return 0;
	}
	const redisReply *last = entries->element[n - 1];
	if (last->type == REDIS_REPLY_ARRAY && last->elements >= 1 &&
	    last->element[0]->len < ID_MAX)
		memcpy(p->cursor, last->element[0]->str, last->element[0]->len + 1);
	return add_entries(s, (int)(p - s->parts), entries);
}

static size_t on_read_claim(struct lg_shipper *s, struct part *p, const redisReply *r)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= ID_MAX) {
		p->ph = PH_LIVE;
		return 0;
	}
	memcpy(p->cursor, r->element[0]->str, r->element[0]->len + 1);
	if (strcmp(p->cursor, "0-0") == 0)
		p->ph = PH_LIVE;
	return add_entries(s, (int)(p - s->parts), r->element[1]);
}

static void on_read(void *ud, redisReply *r, void *privdata)
{
	struct lg_shipper *s = ud;
	struct part *p = privdata;
	size_t got = 0;

	s->reading = false;
	if (!r)
		return; /* connection lost: on_up starts over */
	if (r->type == REDIS_REPLY_ERROR) {
		s->m->redis_errors++;
		if (strncmp(r->str, "NOGROUP", 7) == 0)
			(void)redis_cmd(s->redis, ignore_reply, NULL,
					"XGROUP CREATE %s %s 0 MKSTREAM", p->key, s->opts.group);
	} else if (p->ph == PH_PENDING) {
		got = on_read_pending(s, p, r);
	} else if (p->ph == PH_CLAIM) {
		got = on_read_claim(s, p, r);
	} else {
		got = add_entries(s, (int)(p - s->parts), xread_entries(r));
	}
	s->sweep_empty = got ? 0 : s->sweep_empty + 1;
	if (p->ph == PH_LIVE || got == 0)
		s->next_part = (s->next_part + 1) % s->opts.partitions;
	step(s);
}

static void read_part(struct lg_shipper *s, struct part *p)
{
	char count[16], idle[24];
	size_t room = (size_t)s->opts.bulk_max_docs - s->n_items;
	int rc;

	snprintf(count, sizeof(count), "%zu", room < 1000 ? room : 1000);
	snprintf(idle, sizeof(idle), "%" PRIu64,
		 s->opts.claim_idle_ms ? s->opts.claim_idle_ms : (uint64_t)LG_SHIP_CLAIM_IDLE_MS);
	if (p->ph == PH_CLAIM)
		rc = redis_cmd(s->redis, on_read, p, "XAUTOCLAIM %s %s %s %s %s COUNT %s", p->key,
			       s->opts.group, s->opts.consumer, idle, p->cursor, count);
	else
		rc = redis_cmd(s->redis, on_read, p,
			       "XREADGROUP GROUP %s %s COUNT %s STREAMS %s %s", s->opts.group,
			       s->opts.consumer, count, p->key,
			       p->ph == PH_PENDING ? p->cursor : ">");
	s->reading = rc == 0;
}

static bool batch_full(const struct lg_shipper *s)
{
	return s->n_items >= (size_t)s->opts.bulk_max_docs ||
	       buf_len(&s->body) >= s->opts.bulk_max_bytes;
}

static void on_poll_timer(uv_timer_t *t)
{
	step(t->data);
}

static void step(struct lg_shipper *s)
{
	uint64_t now = uv_now(s->loop), due;

	if (s->closing || !redis_up(s->redis) || !s->template_ok || s->reading || s->sending)
		return;
	/* A batch waiting for its retry keeps taking new entries (up to full),
	 * so one item Elasticsearch keeps refusing does not hold back the rest
	 * or get retried alone. */
	due = s->retry_at ? s->retry_at : s->first_doc_at + s->opts.flush_interval_ms;
	if (s->n_items && (now >= due || (!s->retry_at && batch_full(s)))) {
		s->retry_at = 0;
		send_batch(s);
		return;
	}
	if (s->n_items && batch_full(s)) {
		uv_timer_start(&s->retry_timer, on_retry_timer, due - now, 0);
		return;
	}
	if (s->sweep_empty >= s->opts.partitions) {
		uint64_t wait = LG_SHIP_IDLE_POLL_MS;
		if (s->n_items && due - now < wait)
			wait = due - now;
		s->sweep_empty = 0;
		uv_timer_start(&s->poll_timer, on_poll_timer, wait, 0);
		return;
	}
	read_part(s, &s->parts[s->next_part]);
}

/* ---- sending ---- */

static void on_item(void *ud, size_t i, int status, enum lg_bulk_outcome o, const char *err)
{
	struct lg_shipper *s = ud;
	struct item *it = &s->items[i];

	it->status = status;
	it->outcome = o;
	snprintf(it->err, sizeof(it->err), "%s", err);
}

static void on_retry_timer(uv_timer_t *t)
{
	step(t->data);
}

/* The batch (what is left of it) goes again after the backoff; meanwhile
 * step() may add new entries to it. */
static void retry_later(struct lg_shipper *s)
{
	s->retry_at = uv_now(s->loop) + backoff_next(&s->retry_bo);
	s->sending = false;
	step(s);
}

/* Acknowledges accepted and dead items per partition; keeps retries. */
static void settle(struct lg_shipper *s)
{
	const char **ids = malloc(s->n_items * sizeof(*ids));
	size_t kept = 0;

	for (int k = 0; k < s->opts.partitions && ids; k++) {
		size_t n = 0;
		for (size_t i = 0; i < s->n_items; i++) {
			struct item *it = &s->items[i];
			if (it->part != k || it->outcome == LG_BULK_RETRY)
				continue;
			if (it->outcome == LG_BULK_DEAD)
				dead_letter(s, k, it->id, it->status, it->err,
					    buf_data(&s->body) + it->off, it->len);
			else if (it->status == 409)
				s->m->ship_conflicts++;
			else
				s->m->ship_indexed++;
			ids[n++] = it->id;
		}
		if (n)
			ack(s, k, ids, n);
	}
	free(ids);
	buf_reset(&s->scratch);
	for (size_t i = 0; i < s->n_items; i++) {
		struct item it = s->items[i];
		if (it.outcome != LG_BULK_RETRY)
			continue;
		size_t off = buf_len(&s->scratch);
		if (buf_append(&s->scratch, buf_data(&s->body) + it.off, it.len) < 0)
			abort(); /* cannot shrink a buffer it already held */
		it.off = off;
		s->items[kept++] = it;
	}
	buf_t tmp = s->body;
	s->body = s->scratch;
	s->scratch = tmp;
	s->n_items = kept;
	s->m->ship_retried_items += kept;
}

static void on_bulk(void *ud, const http_client_answer_t *ans, const struct eirc_err *err)
{
	struct lg_shipper *s = ud;
	char why[EIRC_ERR_MAX + 160];
	int bad;

	if (ans->err || ans->status != 200) {
		s->m->ship_request_errors++;
		if (ans->err)
			snprintf(why, sizeof(why), "%s: %s", archive_es_current_url(s->es),
				 err->text);
		else
			snprintf(why, sizeof(why), "HTTP %ld from %s", ans->status,
				 archive_es_current_url(s->es));
		note(s, LG_SHIP_BULK_FAILED, why);
		retry_later(s);
		return;
	}
	bad = lg_bulk_walk(ans->body, ans->len, s->n_items, on_item, s);
	if (bad < 0) {
		s->m->ship_request_errors++;
		note(s, LG_SHIP_BULK_FAILED, "not a _bulk response");
		retry_later(s);
		return;
	}
	settle(s);
	if (s->n_items) {
		retry_later(s);
		return;
	}
	backoff_reset(&s->retry_bo);
	s->sending = false;
	buf_reset(&s->body);
	step(s);
}

static void send_batch(struct lg_shipper *s)
{
	int rc;

	s->sending = true;
	s->m->ship_requests++;
	rc = archive_es_request(s->es, "POST", "/_bulk", "application/x-ndjson", buf_data(&s->body),
				buf_len(&s->body), on_bulk, s);
	if (rc < 0) {
		s->m->ship_request_errors++;
		retry_later(s);
	}
}

/* ---- template, Redis state, periodic work ---- */

static void on_template_timer(uv_timer_t *t);

static void on_template(void *ud, const http_client_answer_t *ans, const struct eirc_err *err)
{
	struct lg_shipper *s = ud;
	char why[EIRC_ERR_MAX];

	if (!ans->err && ans->status == 200) {
		s->template_ok = true;
		note(s, LG_SHIP_TEMPLATE_OK, NULL);
		step(s);
		return;
	}
	if (ans->err)
		snprintf(why, sizeof(why), "%s", err->text);
	else
		snprintf(why, sizeof(why), "HTTP %ld", ans->status);
	note(s, LG_SHIP_TEMPLATE_FAILED, why);
	uv_timer_start(&s->template_timer, on_template_timer, backoff_next(&s->template_bo), 0);
}

static void on_template_timer(uv_timer_t *t)
{
	struct lg_shipper *s = t->data;
	char path[LG_BULK_PREFIX_MAX + 32];

	snprintf(path, sizeof(path), "/_index_template/%s", s->opts.index_prefix);
	if (lg_bulk_template(s->opts.index_prefix, &s->scratch) < 0 ||
	    archive_es_request(s->es, "PUT", path, "application/json", buf_data(&s->scratch),
			       buf_len(&s->scratch), on_template, s) < 0)
		uv_timer_start(&s->template_timer, on_template_timer, s->opts.retry_min_ms, 0);
}

static void on_up(void *ud)
{
	struct lg_shipper *s = ud;

	for (int k = 0; k < s->opts.partitions; k++) {
		struct part *p = &s->parts[k];
		p->ph = PH_PENDING;
		strcpy(p->cursor, "0");
		(void)redis_cmd(s->redis, ignore_reply, NULL, "XGROUP CREATE %s %s 0 MKSTREAM",
				p->key, s->opts.group);
	}
	s->sweep_empty = 0;
	note(s, LG_SHIP_REDIS_UP, NULL);
	step(s);
}

static void on_down(void *ud, const struct eirc_err *why)
{
	struct lg_shipper *s = ud;

	s->reading = false;
	s->m->redis_errors++;
	note(s, LG_SHIP_REDIS_DOWN, why->text);
}

/* require_noeviction: the daemon refuses such a Redis (lg_app). */
static void on_unsafe(void *ud, const struct eirc_err *why)
{
	note(ud, LG_SHIP_REDIS_UNSAFE, why->text);
}

static void on_pending_summary(void *ud, redisReply *r, void *privdata)
{
	struct lg_shipper *s = ud;

	(void)privdata;
	/* [count, smallest id, greatest id, consumers] */
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
	    r->element[0]->type == REDIS_REPLY_INTEGER && r->element[0]->integer > 0 &&
	    r->element[1]->type == REDIS_REPLY_STRING) {
		char *end;
		unsigned long long ms = strtoull(r->element[1]->str, &end, 10);
		int64_t age = clock_wall_ms() - (int64_t)ms;
		s->stats_pending += (uint64_t)r->element[0]->integer;
		if (age > 0 && (uint64_t)age > s->stats_oldest)
			s->stats_oldest = (uint64_t)age;
	}
	if (--s->stats_waiting == 0) {
		s->m->ship_pending = s->stats_pending;
		s->m->ship_oldest_age_ms = s->stats_oldest;
	}
}

static void on_stats_timer(uv_timer_t *t)
{
	struct lg_shipper *s = t->data;
	uint64_t routing = redis_routing_errors(s->redis);

	/* cluster routing errors of replies it ignores (XACK, XGROUP) count too */
	s->m->redis_errors += routing - s->routing_seen;
	s->routing_seen = routing;
	if (s->stats_waiting)
		return;
	s->stats_pending = s->stats_oldest = 0;
	for (int k = 0; k < s->opts.partitions; k++)
		if (redis_cmd(s->redis, on_pending_summary, NULL, "XPENDING %s %s", s->parts[k].key,
			      s->opts.group) == 0)
			s->stats_waiting++;
}

static void on_claim_timer(uv_timer_t *t)
{
	struct lg_shipper *s = t->data;

	for (int k = 0; k < s->opts.partitions; k++)
		if (s->parts[k].ph == PH_LIVE) {
			s->parts[k].ph = PH_CLAIM;
			strcpy(s->parts[k].cursor, "0-0");
		}
}

static int parts_init(struct lg_shipper *s)
{
	s->parts = calloc((size_t)s->opts.partitions, sizeof(*s->parts));
	s->items = calloc((size_t)s->opts.bulk_max_docs, sizeof(*s->items));
	if (!s->parts || !s->items)
		return -ENOMEM;
	for (int k = 0; k < s->opts.partitions; k++) {
		archive_keys_archive(k, s->parts[k].key, sizeof(s->parts[k].key));
		archive_keys_dead(k, s->parts[k].dead, sizeof(s->parts[k].dead));
	}
	return 0;
}

#define LG_SHIP_TIMERS 5

static void list_timers(struct lg_shipper *s, uv_timer_t **out)
{
	out[0] = &s->poll_timer, out[1] = &s->retry_timer, out[2] = &s->stats_timer;
	out[3] = &s->claim_timer, out[4] = &s->template_timer;
}

static void free_parts(struct lg_shipper *s)
{
	free(s->parts);
	free(s->items);
	buf_free(&s->body);
	buf_free(&s->scratch);
}

int lg_shipper_new(uv_loop_t *loop, const lg_shipper_opts_t *opts, struct lg_metrics *m,
		   lg_shipper_note_fn on_note, void *ud, lg_shipper_t **out_s)
{
	static const redis_cb_t cb = {on_up, on_down, on_unsafe};
	uv_timer_t *timers[LG_SHIP_TIMERS];
	struct lg_shipper *s;
	uint32_t seed;
	int err;

	if (opts->partitions < 1 || opts->bulk_max_docs < 1 || !opts->consumer ||
	    strlen(opts->consumer) > LG_SHIP_CONSUMER_MAX)
		return -EINVAL;
	if (!(s = calloc(1, sizeof(*s))))
		return -ENOMEM;
	*s = (struct lg_shipper){.loop = loop, .opts = *opts, .m = m, .on_note = on_note, .ud = ud};
	/* no byte limit of their own: a batch is at most bulk_max_docs entries
	 * read from Redis, sent once batch_full() */
	buf_init(&s->body, SIZE_MAX);
	buf_init(&s->scratch, SIZE_MAX);
	seed = (uint32_t)uv_hrtime() ^ (uint32_t)getpid();
	backoff_init(&s->retry_bo, opts->retry_min_ms, opts->retry_max_ms, seed);
	backoff_init(&s->template_bo, opts->retry_min_ms, opts->retry_max_ms, seed * 2654435761u);
	if ((err = parts_init(s)) < 0 || (err = archive_es_new(loop, &opts->es, &s->es)) < 0)
		goto fail;
	if ((err = redis_new(loop, &opts->redis, &cb, s, &s->redis)) < 0)
		goto fail_es;
	list_timers(s, timers);
	for (int i = 0; i < LG_SHIP_TIMERS; i++) {
		uv_timer_init(loop, timers[i]);
		timers[i]->data = s;
	}
	s->open_handles = LG_SHIP_TIMERS;
	*out_s = s;
	return 0;
fail_es:
	archive_es_close(s->es, NULL, NULL);
fail:
	free_parts(s);
	free(s);
	return err;
}

void lg_shipper_start(struct lg_shipper *s)
{
	uint64_t every = s->opts.claim_every_ms ? s->opts.claim_every_ms : LG_SHIP_CLAIM_EVERY_MS;

	uv_timer_start(&s->template_timer, on_template_timer, 0, 0);
	uv_timer_start(&s->stats_timer, on_stats_timer, LG_SHIP_STATS_EVERY_MS,
		       LG_SHIP_STATS_EVERY_MS);
	uv_timer_start(&s->claim_timer, on_claim_timer, every, every);
	redis_start(s->redis);
}

static void on_timer_closed(uv_handle_t *h)
{
	struct lg_shipper *s = h->data;

	if (--s->open_handles == 0) {
		lg_shipper_closed_fn cb = s->on_closed;
		void *ud = s->ud;
		free_parts(s);
		free(s);
		if (cb)
			cb(ud);
	}
}

void lg_shipper_close(struct lg_shipper *s, lg_shipper_closed_fn on_closed)
{
	uv_timer_t *timers[LG_SHIP_TIMERS];

	if (!s)
		return;
	s->closing = true;
	s->on_closed = on_closed;
	archive_es_close(s->es, NULL, NULL);
	redis_close(s->redis, NULL);
	list_timers(s, timers);
	for (int i = 0; i < LG_SHIP_TIMERS; i++)
		uv_close((uv_handle_t *)timers[i], on_timer_closed);
}
