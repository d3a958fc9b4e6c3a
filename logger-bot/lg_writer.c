/*
 * lg_writer: memory queue, spill file and pipelined EVALSHA (see
 * lg_writer.h).
 */
#include "logger-bot/lg_writer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive_append.h"
#include "archive/archive_dm.h"
#include "common/backoff.h"
#include "common/clock.h"
#include "common/queue.h"
#include "logger-bot/lg_spill.h"

struct rec {
	queue_t node; /* on one fifo */
	uint32_t len;
	int32_t part;   /* partition; -1 when not computable */
	uint16_t calln; /* first record of a call: its event count */
	uint8_t from_spill;
	uint8_t attempts;
	unsigned char data[];
};

struct fifo {
	queue_t q;
	size_t n;
};

struct lg_writer {
	uv_loop_t *loop;
	lg_writer_opts_t opts;
	lg_metrics_t *m;
	lg_writer_note_fn on_note;
	void *ud;
	redis_t *redis;
	lg_spill_t *spill;
	struct fifo queue;      /* waiting to be sent, oldest first */
	struct fifo inflight;   /* sent, in send order */
	struct fifo retry;      /* answered with an error, to send again */
	struct fifo *bucket;    /* per partition, while gathering a round */
	int *touched;           /* partitions with a bucket this round */
	unsigned calls;         /* EVALSHA calls in flight */
	bool pump_due;          /* pump at the end of this loop iteration */
	uint64_t mem_bytes;     /* records in the three fifos */
	uint64_t spill_unacked; /* records read from spill, not acknowledged */
	char sha[ARCHIVE_APPEND_SHA_LEN + 1];
	bool sha_loaded, loading, blocked, spilling;
	bool full;         /* Redis answered OOM (maxmemory reached) since the last success */
	bool spill_failed; /* the last spill append failed (full or I/O) */
	unsigned error_streak;
	uint64_t routing_seen; /* redis_routing_errors already counted */
	int open_handles;      /* the three below and the Redis client */
	lg_writer_closed_fn on_closed;
	uv_timer_t sync_timer;
	uv_timer_t retry_timer;
	uv_check_t pump_check;
	archive_append_batch_t batch;
	unsigned char tmp[LG_SPILL_PAYLOAD_MAX];
};

static void pump(lg_writer_t *w);
static void on_pump_check(uv_check_t *h);

/* ---- fifos ---- */

static void fifo_init(struct fifo *f)
{
	queue_init(&f->q);
	f->n = 0;
}

static struct rec *fifo_head(const struct fifo *f)
{
	return f->n ? queue_data(queue_head(&f->q), struct rec, node) : NULL;
}

static void fifo_push(struct fifo *f, struct rec *r)
{
	queue_insert_tail(&f->q, &r->node);
	f->n++;
}

static struct rec *fifo_pop(struct fifo *f)
{
	struct rec *r = fifo_head(f);

	if (r) {
		queue_remove(&r->node);
		f->n--;
	}
	return r;
}

/* Moves all of src behind dst, keeping both orders. */
static void fifo_append(struct fifo *dst, struct fifo *src)
{
	queue_move(&src->q, &dst->q);
	dst->n += src->n;
	src->n = 0;
}

/* Moves all of src in front of dst, keeping both orders. */
static void fifo_prepend(struct fifo *dst, struct fifo *src)
{
	queue_move(&dst->q, &src->q);
	queue_move(&src->q, &dst->q);
	dst->n += src->n;
	src->n = 0;
}

static struct rec *rec_new(const void *data, size_t len, int part, bool from_spill)
{
	struct rec *r = malloc(sizeof(*r) + len);

	if (r) {
		memcpy(r->data, data, len);
		r->len = (uint32_t)len;
		r->part = part;
		r->calln = 0;
		r->from_spill = from_spill;
		r->attempts = 0;
	}
	return r;
}

/* The partition an event goes to, or -1 (it is then sent alone and
 * refused by the builder). */
static int ev_part(const lg_writer_t *w, const archive_event_t *ev)
{
	char network[ARCHIVE_KEYS_NETWORK_MAX + 1];
	const archive_str_t *net = &ev->s[ARCHIVE_S_NETWORK];
	int k;

	if (net->n == 0 || net->n > ARCHIVE_KEYS_NETWORK_MAX)
		return -1;
	memcpy(network, net->p, net->n);
	network[net->n] = '\0';
	k = archive_keys_partition(network, ev->s[ARCHIVE_S_CONV].p, ev->s[ARCHIVE_S_CONV].n,
				   IRC_CASEMAP_NONE, w->opts.partitions);
	return k < 0 ? -1 : k;
}

static int rec_part(const lg_writer_t *w, const void *data, size_t len)
{
	archive_event_t ev;

	return archive_event_decode(data, len, &ev) < 0 ? -1 : ev_part(w, &ev);
}

static uint64_t rec_cost(size_t len)
{
	return len + LG_WRITER_REC_OVERHEAD;
}

static void rec_done(lg_writer_t *w, struct rec *r)
{
	w->mem_bytes -= rec_cost(r->len);
	if (r->from_spill)
		w->spill_unacked--;
	free(r);
}

static void note(lg_writer_t *w, enum lg_writer_note n, const char *detail)
{
	if (w->on_note)
		w->on_note(w->ud, n, detail);
}

static void lose(lg_writer_t *w, const char *why)
{
	w->m->events_lost++;
	note(w, LG_WRITER_LOST, why);
}

/* ---- queueing ---- */

static int to_spill(lg_writer_t *w, const void *data, size_t len)
{
	int err;

	if (!w->spill)
		return -ENOSPC;
	err = lg_spill_append(w->spill, data, len);
	w->spill_failed = err < 0;
	if (err == 0) {
		w->m->spilled_total++;
		if (!w->spilling) {
			w->spilling = true;
			note(w, LG_WRITER_SPILLING, NULL);
		}
	} else if (err != -ENOSPC) {
		note(w, LG_WRITER_SPILL_ERROR, strerror(-err));
	}
	return err;
}

static int enqueue(lg_writer_t *w, const void *data, size_t len, int part)
{
	bool spill_first = w->spill && lg_spill_unread(w->spill) > 0;
	struct rec *r;

	if (!spill_first && w->mem_bytes + rec_cost(len) <= w->opts.memory_max) {
		if (!(r = rec_new(data, len, part, false)))
			return -ENOMEM;
		fifo_push(&w->queue, r);
		w->mem_bytes += rec_cost(len);
		return 0;
	}
	if (to_spill(w, data, len) == 0)
		return 0;
	lose(w, "memory queue and spill file full");
	return -ENOSPC;
}

/* Events pushed during one loop iteration (a whole read of IRC lines) are
 * sent together at its end, so they can share calls. */
static void on_pump_check(uv_check_t *h)
{
	lg_writer_t *w = h->data;

	uv_check_stop(h);
	w->pump_due = false;
	pump(w);
}

int lg_writer_push(lg_writer_t *w, const archive_event_t *ev)
{
	int n = archive_event_encode(ev, w->tmp, sizeof(w->tmp));

	if (n < 0) {
		w->m->events_refused++;
		return -EINVAL;
	}
	if (enqueue(w, w->tmp, (size_t)n, ev_part(w, ev)) < 0)
		return -ENOSPC;
	if (!w->pump_due) {
		w->pump_due = true;
		uv_check_start(&w->pump_check, on_pump_check);
	}
	return 0;
}

/* Reads spill records into memory while the queue is under half full. */
static void refill(lg_writer_t *w)
{
	size_t len;
	struct rec *r;
	int err;

	while (w->spill && lg_spill_unread(w->spill) > 0 && w->mem_bytes < w->opts.memory_max / 2) {
		err = lg_spill_next(w->spill, w->tmp, sizeof(w->tmp), &len);
		if (err < 0) {
			if (err != -ENOENT)
				note(w, LG_WRITER_SPILL_ERROR, "corrupt record, rest skipped");
			break;
		}
		if (!(r = rec_new(w->tmp, len, rec_part(w, w->tmp, len), true)))
			break;
		fifo_push(&w->queue, r);
		w->mem_bytes += rec_cost(len);
		w->spill_unacked++;
	}
}

static void maybe_reset_spill(lg_writer_t *w)
{
	if (!w->spill || lg_spill_unread(w->spill) || w->spill_unacked ||
	    lg_spill_size(w->spill) == 0)
		return;
	if (lg_spill_reset(w->spill) < 0)
		note(w, LG_WRITER_SPILL_ERROR, "cannot empty the spill file");
	else
		w->spill_failed = false;
	w->spilling = false;
	note(w, LG_WRITER_SPILL_DRAINED, NULL);
}

/* ---- sending ---- */

static void on_append(void *ud, redisReply *reply, void *privdata);

/* Sends up to ARCHIVE_APPEND_BATCH_MAX records from the front of b (one
 * partition, in order) as one call; they move to inflight. Records that
 * cannot be built are refused (counted). Returns 0 or redis's error (the
 * records are then back in b). */
static int send_call(lg_writer_t *w, struct fifo *b)
{
	/* the trimming bound is wall time (stream ids are), not the loop's */
	archive_append_opts_t o = {w->opts.partitions, clock_wall_ms(), w->opts.retention_ms,
				   w->opts.mac_key};
	struct fifo call;
	archive_event_t ev;
	struct rec *r, *first;
	int err;

	fifo_init(&call);

	if (archive_append_batch_begin(&w->batch, w->sha, &o) < 0)
		return -EINVAL;
	while ((r = fifo_head(b))) {
		err = archive_event_decode(r->data, r->len, &ev) < 0
			      ? -EINVAL
			      : archive_append_batch_add(&w->batch, &ev, &o);
		if (err == -EXDEV || err == -ENOSPC)
			break;
		fifo_pop(b);
		if (err < 0) {
			w->m->events_refused++;
			rec_done(w, r);
		} else {
			fifo_push(&call, r);
		}
	}
	if (!call.n)
		return 0;
	archive_append_batch_finish(&w->batch);
	err = redis_argv(w->redis, w->batch.argc, w->batch.argv, w->batch.argvlen, on_append,
			 first = fifo_head(&call));
	if (err < 0) {
		fifo_prepend(b, &call);
		return err;
	}
	first->calln = (uint16_t)call.n;
	w->calls++;
	fifo_append(&w->inflight, &call);
	return 0;
}

/* One round: gathers up to the in-flight room of queued records into one
 * bucket per partition (a retried record goes alone, first), sends each
 * bucket as calls, and puts back in front what could not be sent. Order
 * within a partition is kept; across partitions it does not matter (their
 * keys are distinct). Returns 0 or redis's error. */
static int send_round(lg_writer_t *w)
{
	size_t room = LG_WRITER_INFLIGHT_MAX - w->inflight.n, nt = 0;
	struct rec *r = fifo_head(&w->queue);
	int err = 0;

	if (r->attempts) {
		struct fifo one;
		fifo_init(&one);
		fifo_push(&one, fifo_pop(&w->queue));
		if ((err = send_call(w, &one)) < 0)
			fifo_prepend(&w->queue, &one);
		return err;
	}
	while (room-- && (r = fifo_head(&w->queue)) && !r->attempts) {
		int p = r->part >= 0 ? r->part : w->opts.partitions;
		fifo_pop(&w->queue);
		if (!w->bucket[p].n)
			w->touched[nt++] = p;
		fifo_push(&w->bucket[p], r);
	}
	for (size_t i = 0; i < nt && err == 0; i++) {
		struct fifo *b = &w->bucket[w->touched[i]];
		while (b->n && err == 0 && w->calls < LG_WRITER_PIPELINE_MAX)
			err = send_call(w, b);
	}
	for (size_t i = nt; i-- > 0;)
		fifo_prepend(&w->queue, &w->bucket[w->touched[i]]);
	return err;
}

static void pump(lg_writer_t *w)
{
	if (!redis_up(w->redis) || !w->sha_loaded || w->blocked)
		return;
	while (w->calls < LG_WRITER_PIPELINE_MAX && w->inflight.n < LG_WRITER_INFLIGHT_MAX) {
		if (!w->queue.n)
			refill(w);
		if (!w->queue.n || send_round(w) < 0)
			break;
	}
	maybe_reset_spill(w);
}

static void on_retry_timer(uv_timer_t *t)
{
	lg_writer_t *w = t->data;

	w->blocked = false;
	pump(w);
}

/* All outstanding calls answered: put failed ones back in front. */
static void settle_retries(lg_writer_t *w, bool script_missing)
{
	if (w->inflight.n)
		return;
	fifo_prepend(&w->queue, &w->retry);
	if (script_missing)
		return; /* pump resumes when SCRIPT LOAD answers */
	w->blocked = true;
	uv_timer_start(
		&w->retry_timer, on_retry_timer,
		backoff_delay(LG_WRITER_RETRY_MIN_MS, LG_WRITER_RETRY_MAX_MS, w->error_streak, 0),
		0);
}

static void load_script(lg_writer_t *w);

/* Redis at maxmemory with noeviction refuses writes: "OOM command not
 * allowed ...", as the answer or inside the script's error. */
static bool is_oom(const char *msg)
{
	return strncmp(msg, "OOM ", 4) == 0 || strstr(msg, "OOM command not allowed") != NULL;
}

/* A call answered with an error: its records go to retry (after NOSCRIPT
 * without counting an attempt), or are lost after LG_WRITER_ATTEMPTS_MAX.
 * OOM is no fault of the events: they wait, as while Redis is down (memory
 * queue, then the spill file), and go again after the backoff, without
 * counting an attempt, until trimming or the operator makes room. */
static void on_error_reply(lg_writer_t *w, struct fifo *call, const char *msg)
{
	bool noscript = strncmp(msg, "NOSCRIPT", 8) == 0;
	struct rec *r;

	if (noscript) {
		w->sha_loaded = false;
		fifo_append(&w->retry, call);
		if (!w->loading)
			load_script(w);
	} else if (is_oom(msg)) {
		w->m->redis_errors++;
		w->error_streak++;
		if (!w->full)
			note(w, LG_WRITER_REDIS_FULL, msg);
		w->full = true;
		fifo_append(&w->retry, call);
	} else {
		w->m->redis_errors++;
		w->error_streak++;
		note(w, LG_WRITER_SCRIPT_ERROR, msg);
		while ((r = fifo_pop(call))) {
			if (++r->attempts >= LG_WRITER_ATTEMPTS_MAX) {
				lose(w, "Redis refused the event repeatedly");
				rec_done(w, r);
			} else {
				fifo_push(&w->retry, r);
			}
		}
	}
	settle_retries(w, noscript);
}

static void on_index_reply(void *ud, redisReply *reply, void *privdata)
{
	lg_writer_t *w = ud;

	(void)privdata;
	if (reply && reply->type == REDIS_REPLY_ERROR)
		w->m->redis_errors++;
}

/* A direct message is stored: each side's TARGETS index learns of it
 * (archive_dm_index_build; fire and forget, as eirc-history does). */
static void index_dm(lg_writer_t *w, const struct rec *r)
{
	static archive_dm_index_t x;
	char network[ARCHIVE_KEYS_NETWORK_MAX + 1];
	archive_event_t ev;
	uint64_t lo, hi;

	if (archive_event_decode(r->data, r->len, &ev) < 0 ||
	    archive_dm_conv_ids(ev.s[ARCHIVE_S_CONV].p, ev.s[ARCHIVE_S_CONV].n, &lo, &hi) < 0 ||
	    ev.s[ARCHIVE_S_NETWORK].n >= sizeof(network))
		return;
	memcpy(network, ev.s[ARCHIVE_S_NETWORK].p, ev.s[ARCHIVE_S_NETWORK].n);
	network[ev.s[ARCHIVE_S_NETWORK].n] = '\0';
	if (archive_dm_index_build(network, w->opts.partitions, lo, hi, ev.time_ms,
				   w->opts.retention_ms, &x) < 0)
		return;
	for (int i = 0; i < x.n; i++)
		(void)redis_argv(w->redis, x.cmd[i].argc, x.cmd[i].argv, x.cmd[i].argvlen,
				 on_index_reply, NULL);
}

static void on_append(void *ud, redisReply *reply, void *privdata)
{
	lg_writer_t *w = ud;
	struct rec *r = privdata;
	struct fifo call;
	size_t n;

	if (!reply)
		return; /* connection lost: on_down requeues in-flight calls */
	fifo_init(&call);
	if (fifo_head(&w->inflight) != r)
		abort(); /* replies come in order: anything else is a bug */
	w->calls--;
	for (n = r->calln; n > 0 && (r = fifo_pop(&w->inflight)); n--)
		fifo_push(&call, r);
	if (reply->type == REDIS_REPLY_ERROR) {
		on_error_reply(w, &call, reply->str);
		return;
	}
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != call.n) {
		on_error_reply(w, &call, "unexpected reply to the append script");
		return;
	}
	for (size_t i = 0; (r = fifo_pop(&call)); i++) {
		const redisReply *e = reply->element[i];
		if (e->type == REDIS_REPLY_INTEGER && e->integer == 0)
			w->m->events_duplicate++;
		else
			w->m->events_written++;
		index_dm(w, r);
		rec_done(w, r);
	}
	w->error_streak = 0;
	w->full = false;
	if (w->retry.n)
		settle_retries(w, !w->sha_loaded);
	pump(w);
}

static void on_script_loaded(void *ud, redisReply *reply, void *privdata)
{
	lg_writer_t *w = ud;

	(void)privdata;
	w->loading = false;
	if (!reply)
		return;
	if (reply->type != REDIS_REPLY_STRING || reply->len != ARCHIVE_APPEND_SHA_LEN) {
		w->m->redis_errors++;
		note(w, LG_WRITER_SCRIPT_ERROR,
		     reply->type == REDIS_REPLY_ERROR ? reply->str : "bad SCRIPT LOAD reply");
		redis_drop(w->redis, "SCRIPT LOAD failed");
		return;
	}
	memcpy(w->sha, reply->str, ARCHIVE_APPEND_SHA_LEN + 1);
	w->sha_loaded = true;
	if (!w->inflight.n)
		fifo_prepend(&w->queue, &w->retry);
	pump(w);
}

static void load_script(lg_writer_t *w)
{
	if (redis_cmd(w->redis, on_script_loaded, NULL, "SCRIPT LOAD %s",
		      archive_append_batch_script) == 0)
		w->loading = true;
}

static void on_up(void *ud)
{
	lg_writer_t *w = ud;

	w->m->redis_connected = 1;
	note(w, LG_WRITER_REDIS_UP, NULL);
	load_script(w);
}

static void on_down(void *ud, const eirc_err_t *why)
{
	lg_writer_t *w = ud;

	if (w->m->redis_connected)
		w->m->redis_errors++;
	w->m->redis_connected = 0;
	w->sha_loaded = w->loading = false;
	w->calls = 0;
	/* retry holds older calls than inflight: both go back in front */
	fifo_prepend(&w->inflight, &w->retry);
	fifo_prepend(&w->queue, &w->inflight);
	note(w, LG_WRITER_REDIS_DOWN, why->text);
}

/* require_noeviction: the daemon refuses such a Redis (lg_app). */
static void on_unsafe(void *ud, const eirc_err_t *why)
{
	note(ud, LG_WRITER_REDIS_UNSAFE, why->text);
}

redis_t *lg_writer_redis(lg_writer_t *w)
{
	return w->redis;
}

static void update_gauges(lg_writer_t *w)
{
	uint64_t routing = redis_routing_errors(w->redis);

	/* cluster routing errors of replies nobody looks at (SET) count too */
	w->m->redis_errors += routing - w->routing_seen;
	w->routing_seen = routing;
	w->m->queue_events = w->queue.n + w->inflight.n + w->retry.n;
	w->m->queue_bytes = w->mem_bytes;
	w->m->spill_bytes = w->spill ? lg_spill_size(w->spill) : 0;
	w->m->spill_unread_bytes = w->spill ? lg_spill_unread(w->spill) : 0;
}

static void on_sync_timer(uv_timer_t *t)
{
	lg_writer_t *w = t->data;
	int err;

	if (w->spill && (err = lg_spill_sync(w->spill)) < 0)
		note(w, LG_WRITER_SPILL_ERROR, strerror(-err));
	update_gauges(w);
	pump(w);
}

int lg_writer_new(uv_loop_t *loop, const lg_writer_opts_t *opts, lg_metrics_t *m,
		  lg_writer_note_fn on_note, void *ud, lg_writer_t **out_w)
{
	static const redis_cb_t cb = {on_up, on_down, on_unsafe};
	lg_writer_t *w = calloc(1, sizeof(*w));
	uint64_t dropped = 0;
	int err;

	if (!w)
		return -ENOMEM;
	w->loop = loop;
	w->opts = *opts;
	w->m = m;
	w->on_note = on_note;
	w->ud = ud;
	fifo_init(&w->queue);
	fifo_init(&w->inflight);
	fifo_init(&w->retry);
	/* one more bucket for records whose partition cannot be computed */
	w->bucket = calloc((size_t)opts->partitions + 1, sizeof(*w->bucket));
	w->touched = calloc((size_t)opts->partitions + 1, sizeof(*w->touched));
	err = -ENOMEM;
	if (!w->bucket || !w->touched || opts->partitions < 1)
		goto free_w;
	for (int i = 0; i <= opts->partitions; i++)
		fifo_init(&w->bucket[i]);
	if (opts->spill_dir &&
	    (err = lg_spill_open(opts->spill_dir, opts->spill_max, &w->spill, &dropped)) < 0)
		goto free_w;
	if ((err = redis_new(loop, &opts->redis, &cb, w, &w->redis)) < 0)
		goto close_spill;
	uv_timer_init(loop, &w->sync_timer);
	uv_timer_init(loop, &w->retry_timer);
	uv_check_init(loop, &w->pump_check);
	w->sync_timer.data = w->retry_timer.data = w->pump_check.data = w;
	w->open_handles = 3;
	if (dropped) {
		m->events_lost++;
		note(w, LG_WRITER_LOST, "torn record at the end of the spill file dropped");
	}
	update_gauges(w);
	*out_w = w;
	return 0;
close_spill:
	lg_spill_close(w->spill);
free_w:
	free(w->bucket);
	free(w->touched);
	free(w);
	return err;
}

void lg_writer_start(lg_writer_t *w)
{
	uv_timer_start(&w->sync_timer, on_sync_timer, LG_WRITER_SYNC_MS, LG_WRITER_SYNC_MS);
	redis_start(w->redis);
}

bool lg_writer_can_archive(const lg_writer_t *w)
{
	if (redis_up(w->redis) && w->sha_loaded)
		return true;
	return w->spill && !w->spill_failed &&
	       lg_spill_size(w->spill) + LG_SPILL_RECORD_HEADER + LG_SPILL_PAYLOAD_MAX <=
		       w->opts.spill_max;
}

struct seen_get {
	lg_writer_seen_fn fn;
	void *ud;
};

static void on_seen_get(void *ud, redisReply *reply, void *privdata)
{
	struct seen_get *g = privdata;
	int64_t ms = -1;
	char *end;

	(void)ud;
	if (reply && reply->type == REDIS_REPLY_NIL) {
		ms = 0;
	} else if (reply && reply->type == REDIS_REPLY_STRING) {
		errno = 0;
		ms = strtoll(reply->str, &end, 10);
		if (errno || *end || ms <= 0)
			ms = -1;
	}
	g->fn(g->ud, ms);
	free(g);
}

int lg_writer_seen_get(lg_writer_t *w, const char *key, lg_writer_seen_fn fn, void *ud)
{
	struct seen_get *g = malloc(sizeof(*g));
	int err;

	if (!g)
		return -ENOMEM;
	*g = (struct seen_get){fn, ud};
	if (!redis_up(w->redis))
		err = -ENOTCONN;
	else
		err = redis_cmd(w->redis, on_seen_get, g, "GET %s", key);
	if (err < 0)
		free(g);
	return err;
}

static void on_seen_set(void *ud, redisReply *reply, void *privdata)
{
	(void)ud, (void)reply, (void)privdata;
}

int lg_writer_seen_set(lg_writer_t *w, const char *key, int64_t ms)
{
	if (!redis_up(w->redis))
		return -ENOTCONN;
	return redis_cmd(w->redis, on_seen_set, NULL, "SET %s %" PRId64, key, ms);
}

uint64_t lg_writer_backlog_events(const lg_writer_t *w)
{
	return w->queue.n + w->inflight.n + w->retry.n +
	       (w->spill && lg_spill_unread(w->spill) ? 1 : 0);
}

/* One handle (or the Redis client) closed; the last one frees w. */
static void part_closed(void *ud)
{
	lg_writer_t *w = ud;

	if (--w->open_handles > 0)
		return;
	if (w->on_closed) /* w is already unusable: nothing but its memory is left */
		w->on_closed(w->ud);
	free(w->bucket);
	free(w->touched);
	free(w);
}

static void on_handle_closed(uv_handle_t *h)
{
	part_closed(h->data);
}

/* Unacknowledged events in memory go to the spill file for the next run. */
static void spill_rest(lg_writer_t *w)
{
	struct rec *r;

	fifo_prepend(&w->inflight, &w->retry);
	fifo_prepend(&w->queue, &w->inflight);
	while ((r = fifo_pop(&w->queue))) {
		if (!r->from_spill && to_spill(w, r->data, r->len) < 0)
			lose(w, "shutting down with the spill file full");
		free(r);
	}
}

void lg_writer_close(lg_writer_t *w, lg_writer_closed_fn on_closed)
{
	if (!w)
		return;
	w->on_closed = on_closed;
	w->open_handles++;
	redis_close(w->redis, part_closed); /* pending replies are dropped, not called */
	spill_rest(w);
	lg_spill_close(w->spill);
	uv_close((uv_handle_t *)&w->sync_timer, on_handle_closed);
	uv_close((uv_handle_t *)&w->retry_timer, on_handle_closed);
	uv_close((uv_handle_t *)&w->pump_check, on_handle_closed);
}
