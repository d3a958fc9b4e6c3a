/*
 * lg_writer: memory queue, spill file and pipelined EVALSHA (see
 * lg_writer.h).
 */
#include "logger-bot/lg_writer.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logger-bot/lg_append.h"
#include "logger-bot/lg_spill.h"

struct rec {
	struct rec *next;
	uint32_t len;
	uint8_t from_spill;
	uint8_t attempts;
	unsigned char data[];
};

struct fifo {
	struct rec *head, *tail;
	size_t n;
};

struct lg_writer {
	uv_loop_t *loop;
	struct lg_writer_opts opts;
	struct lg_metrics *m;
	lg_writer_note_fn on_note;
	void *ud;
	struct lg_redis *redis;
	struct lg_spill *spill;
	struct fifo queue;              /* waiting to be sent, oldest first */
	struct fifo inflight;           /* sent, in send order */
	struct fifo retry;              /* answered with an error, to send again */
	uint64_t mem_bytes;             /* records in the three fifos */
	uint64_t spill_unacked;         /* records read from spill, not acknowledged */
	char sha[LG_APPEND_SHA_LEN + 1];
	bool sha_loaded, loading, blocked, spilling;
	unsigned error_streak;
	int open_handles;
	uv_timer_t sync_timer;
	uv_timer_t retry_timer;
	unsigned char tmp[LG_SPILL_PAYLOAD_MAX];
};

static void pump(struct lg_writer *w);

/* ---- fifos ---- */

static void fifo_push(struct fifo *f, struct rec *r)
{
	r->next = NULL;
	if (f->tail)
		f->tail->next = r;
	else
		f->head = r;
	f->tail = r;
	f->n++;
}

static struct rec *fifo_pop(struct fifo *f)
{
	struct rec *r = f->head;

	if (r) {
		f->head = r->next;
		if (!f->head)
			f->tail = NULL;
		f->n--;
	}
	return r;
}

/* Moves all of src in front of dst, keeping both orders. */
static void fifo_prepend(struct fifo *dst, struct fifo *src)
{
	if (!src->head)
		return;
	src->tail->next = dst->head;
	if (!dst->tail)
		dst->tail = src->tail;
	dst->head = src->head;
	dst->n += src->n;
	*src = (struct fifo){ 0 };
}

static struct rec *rec_new(const void *data, size_t len, bool from_spill)
{
	struct rec *r = malloc(sizeof(*r) + len);

	if (r) {
		memcpy(r->data, data, len);
		r->len = (uint32_t)len;
		r->from_spill = from_spill;
		r->attempts = 0;
	}
	return r;
}

static uint64_t rec_cost(size_t len)
{
	return len + LG_WRITER_REC_OVERHEAD;
}

static void rec_done(struct lg_writer *w, struct rec *r)
{
	w->mem_bytes -= rec_cost(r->len);
	if (r->from_spill)
		w->spill_unacked--;
	free(r);
}

static void note(struct lg_writer *w, enum lg_writer_note n, const char *detail)
{
	if (w->on_note)
		w->on_note(w->ud, n, detail);
}

static void lose(struct lg_writer *w, const char *why)
{
	w->m->events_lost++;
	note(w, LG_WRITER_LOST, why);
}

/* ---- queueing ---- */

static int to_spill(struct lg_writer *w, const void *data, size_t len)
{
	int err;

	if (!w->spill)
		return -ENOSPC;
	err = lg_spill_append(w->spill, data, len);
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

static int enqueue(struct lg_writer *w, const void *data, size_t len)
{
	bool spill_first = w->spill && lg_spill_unread(w->spill) > 0;
	struct rec *r;

	if (!spill_first && w->mem_bytes + rec_cost(len) <= w->opts.memory_max) {
		if (!(r = rec_new(data, len, false)))
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

int lg_writer_push(struct lg_writer *w, const struct lg_event *ev)
{
	int n = lg_event_encode(ev, w->tmp, sizeof(w->tmp));

	if (n < 0) {
		w->m->events_refused++;
		return -EINVAL;
	}
	if (enqueue(w, w->tmp, (size_t)n) < 0)
		return -ENOSPC;
	pump(w);
	return 0;
}

/* Reads spill records into memory while the queue is under half full. */
static void refill(struct lg_writer *w)
{
	size_t len;
	struct rec *r;
	int err;

	while (w->spill && lg_spill_unread(w->spill) > 0 &&
	       w->mem_bytes < w->opts.memory_max / 2) {
		err = lg_spill_next(w->spill, w->tmp, sizeof(w->tmp), &len);
		if (err < 0) {
			if (err != -ENOENT)
				note(w, LG_WRITER_SPILL_ERROR, "corrupt record, rest skipped");
			break;
		}
		if (!(r = rec_new(w->tmp, len, true)))
			break;
		fifo_push(&w->queue, r);
		w->mem_bytes += rec_cost(len);
		w->spill_unacked++;
	}
}

static void maybe_reset_spill(struct lg_writer *w)
{
	if (!w->spill || lg_spill_unread(w->spill) || w->spill_unacked ||
	    lg_spill_size(w->spill) == 0)
		return;
	if (lg_spill_reset(w->spill) < 0)
		note(w, LG_WRITER_SPILL_ERROR, "cannot empty the spill file");
	w->spilling = false;
	note(w, LG_WRITER_SPILL_DRAINED, NULL);
}

/* ---- sending ---- */

static void on_append(void *ud, redisReply *reply, void *privdata);

/* The trimming bound is wall time (stream ids are), not the loop's clock. */
static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int send_rec(struct lg_writer *w, struct rec *r)
{
	static struct lg_append_call call;
	struct lg_append_opts o = { w->opts.partitions, wall_ms(), w->opts.retention_ms };
	struct lg_event ev;

	if (lg_event_decode(r->data, r->len, &ev) < 0 || lg_append_build(&ev, &o, w->sha, &call) < 0)
		return -EINVAL;
	return lg_redis_argv(w->redis, call.argc, call.argv, call.argvlen, on_append, r);
}

static void pump(struct lg_writer *w)
{
	struct rec *r;
	int err;

	if (!lg_redis_up(w->redis) || !w->sha_loaded || w->blocked)
		return;
	while (w->inflight.n < LG_WRITER_PIPELINE_MAX) {
		if (!w->queue.head)
			refill(w);
		if (!(r = fifo_pop(&w->queue)))
			break;
		err = send_rec(w, r);
		if (err == -EINVAL) {
			w->m->events_refused++;
			rec_done(w, r);
			continue;
		}
		if (err < 0) {
			struct fifo one = { r, r, 1 };
			r->next = NULL;
			fifo_prepend(&w->queue, &one);
			break;
		}
		fifo_push(&w->inflight, r);
	}
	maybe_reset_spill(w);
}

static void on_retry_timer(uv_timer_t *t)
{
	struct lg_writer *w = t->data;

	w->blocked = false;
	pump(w);
}

/* All outstanding calls answered: put failed ones back in front. */
static void settle_retries(struct lg_writer *w, bool script_missing)
{
	if (w->inflight.n)
		return;
	fifo_prepend(&w->queue, &w->retry);
	if (script_missing)
		return; /* pump resumes when SCRIPT LOAD answers */
	w->blocked = true;
	uv_timer_start(&w->retry_timer, on_retry_timer,
	               UINT64_C(100) << (w->error_streak < 6 ? w->error_streak : 6), 0);
}

static void load_script(struct lg_writer *w);

static void on_error_reply(struct lg_writer *w, struct rec *r, const redisReply *reply)
{
	bool noscript = strncmp(reply->str, "NOSCRIPT", 8) == 0;

	if (noscript) {
		w->sha_loaded = false;
		fifo_push(&w->retry, r);
		if (!w->loading)
			load_script(w);
	} else {
		w->m->redis_errors++;
		w->error_streak++;
		note(w, LG_WRITER_SCRIPT_ERROR, reply->str);
		if (++r->attempts >= LG_WRITER_ATTEMPTS_MAX) {
			lose(w, "Redis refused the event repeatedly");
			rec_done(w, r);
		} else {
			fifo_push(&w->retry, r);
		}
	}
	settle_retries(w, noscript);
}

static void on_append(void *ud, redisReply *reply, void *privdata)
{
	struct lg_writer *w = ud;
	struct rec *r = privdata;

	if (!reply)
		return;         /* connection lost: on_down requeues in-flight calls */
	if (w->inflight.head != r)
		abort();        /* replies come in order: anything else is a bug */
	fifo_pop(&w->inflight);
	if (reply->type == REDIS_REPLY_ERROR) {
		on_error_reply(w, r, reply);
		return;
	}
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
	    reply->element[0]->type == REDIS_REPLY_INTEGER && reply->element[0]->integer == 0)
		w->m->events_duplicate++;
	else
		w->m->events_written++;
	w->error_streak = 0;
	rec_done(w, r);
	if (w->retry.n)
		settle_retries(w, !w->sha_loaded);
	pump(w);
}

static void on_script_loaded(void *ud, redisReply *reply, void *privdata)
{
	struct lg_writer *w = ud;

	(void)privdata;
	w->loading = false;
	if (!reply)
		return;
	if (reply->type != REDIS_REPLY_STRING || reply->len != LG_APPEND_SHA_LEN) {
		w->m->redis_errors++;
		note(w, LG_WRITER_SCRIPT_ERROR, reply->type == REDIS_REPLY_ERROR ? reply->str
		                                                                 : "bad SCRIPT LOAD reply");
		lg_redis_drop(w->redis, "SCRIPT LOAD failed");
		return;
	}
	memcpy(w->sha, reply->str, LG_APPEND_SHA_LEN + 1);
	w->sha_loaded = true;
	if (!w->inflight.n)
		fifo_prepend(&w->queue, &w->retry);
	pump(w);
}

static void load_script(struct lg_writer *w)
{
	if (lg_redis_cmd(w->redis, on_script_loaded, NULL, "SCRIPT LOAD %s", lg_append_script) == 0)
		w->loading = true;
}

static void on_up(void *ud)
{
	struct lg_writer *w = ud;

	w->m->redis_connected = 1;
	note(w, LG_WRITER_REDIS_UP, NULL);
	load_script(w);
}

static void on_down(void *ud, const char *why)
{
	struct lg_writer *w = ud;

	if (w->m->redis_connected)
		w->m->redis_errors++;
	w->m->redis_connected = 0;
	w->sha_loaded = w->loading = false;
	/* retry holds older calls than inflight: both go back in front */
	fifo_prepend(&w->inflight, &w->retry);
	fifo_prepend(&w->queue, &w->inflight);
	note(w, LG_WRITER_REDIS_DOWN, why);
}

static void update_gauges(struct lg_writer *w)
{
	w->m->queue_events = w->queue.n + w->inflight.n + w->retry.n;
	w->m->queue_bytes = w->mem_bytes;
	w->m->spill_bytes = w->spill ? lg_spill_size(w->spill) : 0;
	w->m->spill_unread_bytes = w->spill ? lg_spill_unread(w->spill) : 0;
}

static void on_sync_timer(uv_timer_t *t)
{
	struct lg_writer *w = t->data;
	int err;

	if (w->spill && (err = lg_spill_sync(w->spill)) < 0)
		note(w, LG_WRITER_SPILL_ERROR, strerror(-err));
	update_gauges(w);
	pump(w);
}

int lg_writer_new(uv_loop_t *loop, const struct lg_writer_opts *opts, struct lg_metrics *m,
                  lg_writer_note_fn on_note, void *ud, struct lg_writer **out_w)
{
	static const struct lg_redis_cb cb = { on_up, on_down };
	struct lg_writer *w = calloc(1, sizeof(*w));
	uint64_t dropped = 0;
	int err;

	if (!w)
		return -ENOMEM;
	*w = (struct lg_writer){ .loop = loop, .opts = *opts, .m = m, .on_note = on_note, .ud = ud };
	if (opts->spill_dir &&
	    (err = lg_spill_open(opts->spill_dir, opts->spill_max, &w->spill, &dropped)) < 0)
		goto free_w;
	if ((err = lg_redis_new(loop, &opts->redis, &cb, w, &w->redis)) < 0)
		goto close_spill;
	uv_timer_init(loop, &w->sync_timer);
	uv_timer_init(loop, &w->retry_timer);
	w->sync_timer.data = w->retry_timer.data = w;
	w->open_handles = 2;
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
	free(w);
	return err;
}

void lg_writer_start(struct lg_writer *w)
{
	uv_timer_start(&w->sync_timer, on_sync_timer, LG_WRITER_SYNC_MS, LG_WRITER_SYNC_MS);
	lg_redis_start(w->redis);
}

uint64_t lg_writer_backlog_events(const struct lg_writer *w)
{
	return w->queue.n + w->inflight.n + w->retry.n +
	       (w->spill && lg_spill_unread(w->spill) ? 1 : 0);
}

uint64_t lg_writer_spill_unread(const struct lg_writer *w)
{
	return w->spill ? lg_spill_unread(w->spill) : 0;
}

static void on_closed(uv_handle_t *h)
{
	struct lg_writer *w = h->data;

	if (--w->open_handles == 0)
		free(w);
}

/* Unacknowledged events in memory go to the spill file for the next run. */
static void spill_rest(struct lg_writer *w)
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

void lg_writer_free(struct lg_writer *w)
{
	if (!w)
		return;
	lg_redis_free(w->redis);        /* pending replies are dropped, not called */
	spill_rest(w);
	lg_spill_close(w->spill);
	uv_close((uv_handle_t *)&w->sync_timer, on_closed);
	uv_close((uv_handle_t *)&w->retry_timer, on_closed);
}
