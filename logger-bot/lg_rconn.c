/*
 * lg_rconn: one hiredis async connection with our own timers (see lg_rconn.h).
 */
#include "logger-bot/lg_rconn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>

struct lg_rconn {
	uv_loop_t *loop;
	struct lg_redis_opts opts;
	struct lg_redis_cb cb;
	void *ud;
	redisAsyncContext *ac;
	bool connected;
	bool dropping;          /* we are freeing ac ourselves */
	bool freeing;
	const char *drop_why;   /* a drop asked from a callback, done on the tick */
	unsigned attempt;
	uint64_t connect_started;
	uint64_t last_progress;
	size_t outstanding;
	int open_handles;
	uv_timer_t tick;
	uv_timer_t retry;
};

struct pend {
	struct lg_rconn *r;
	lg_redis_reply_fn fn;
	void *privdata;
};

static void schedule_retry(struct lg_rconn *r);

static uint64_t backoff(const struct lg_rconn *r)
{
	uint64_t d = r->opts.reconnect_min_ms;

	for (unsigned i = 0; i < r->attempt && d < r->opts.reconnect_max_ms; i++)
		d *= 2;
	if (d > r->opts.reconnect_max_ms)
		d = r->opts.reconnect_max_ms;
	return d / 2 + (uint64_t)rand() % (d / 2 + 1);
}

static void went_down(struct lg_rconn *r, const char *why)
{
	r->connected = false;
	r->outstanding = 0;
	if (r->freeing)
		return;
	schedule_retry(r);
	if (r->cb.on_down)
		r->cb.on_down(r->ud, why);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct pend *p = privdata;
	struct lg_rconn *r = p->r;

	(void)ac;
	if (r->outstanding)
		r->outstanding--;
	r->last_progress = uv_now(r->loop);
	if (!r->freeing)
		p->fn(r->ud, reply, p->privdata);
	free(p);
}

static void on_auth(void *ud, redisReply *reply, void *privdata)
{
	struct lg_rconn *r = privdata;

	(void)ud;
	if (reply && reply->type == REDIS_REPLY_ERROR)
		lg_rconn_drop(r, "AUTH refused");
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct lg_rconn *r = ac->data;

	if (status != REDIS_OK) {
		r->ac = NULL;   /* hiredis frees it after this callback */
		went_down(r, "connection failed");
		return;
	}
	r->connected = true;
	r->attempt = 0;
	r->last_progress = uv_now(r->loop);
	if (r->opts.password)
		lg_rconn_cmd(r, on_auth, r, "AUTH %s", r->opts.password);
	if (r->cb.on_up)
		r->cb.on_up(r->ud);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct lg_rconn *r = ac->data;

	(void)status;
	r->ac = NULL;
	if (!r->dropping)
		went_down(r, "connection lost");
}

static void connect_now(struct lg_rconn *r)
{
	redisAsyncContext *ac = redisAsyncConnect(r->opts.host, r->opts.port);

	r->attempt++;
	if (!ac || ac->err) {
		if (ac)
			redisAsyncFree(ac);
		schedule_retry(r);
		if (r->cb.on_down)
			r->cb.on_down(r->ud, "cannot connect");
		return;
	}
	(void)fcntl(ac->c.fd, F_SETFD, FD_CLOEXEC);
	/* Keep the reader's buffer between replies: by default hiredis frees
	 * it past 16 KiB and grows it again for the next large reply (a
	 * 100-entry XREVRANGE), about a tenth of eirc-history's CPU per
	 * CHATHISTORY answer. Parsed bytes are dropped as replies are read,
	 * so it stays about one read (16 KiB) plus one partial value. */
	ac->c.reader->maxbuf = 0;
	ac->data = r;
	redisLibuvAttach(ac, r->loop);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	r->ac = ac;
	r->connect_started = uv_now(r->loop);
}

static void on_retry(uv_timer_t *t)
{
	struct lg_rconn *r = t->data;

	if (!r->ac && !r->freeing)
		connect_now(r);
}

static void schedule_retry(struct lg_rconn *r)
{
	uv_timer_start(&r->retry, on_retry, r->attempt ? backoff(r) : 0, 0);
}

/* Frees the context from outside hiredis callbacks. */
static void drop_now(struct lg_rconn *r, const char *why)
{
	redisAsyncContext *ac = r->ac;

	if (!ac)
		return;
	r->dropping = true;
	redisAsyncFree(ac);     /* pending callbacks run with NULL */
	r->dropping = false;
	r->ac = NULL;
	went_down(r, why);
}

static void on_tick(uv_timer_t *t)
{
	struct lg_rconn *r = t->data;
	uint64_t now = uv_now(r->loop);

	if (r->drop_why) {
		const char *why = r->drop_why;
		r->drop_why = NULL;
		drop_now(r, why);
	} else if (r->ac && !r->connected &&
	           now - r->connect_started > r->opts.connect_timeout_ms) {
		drop_now(r, "connect timeout");
	} else if (r->connected && r->outstanding &&
	           now - r->last_progress > r->opts.command_timeout_ms) {
		drop_now(r, "command timeout");
	}
}

int lg_rconn_new(uv_loop_t *loop, const struct lg_redis_opts *opts, const struct lg_redis_cb *cb,
                 void *ud, struct lg_rconn **out_r)
{
	struct lg_rconn *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->loop = loop;
	r->opts = *opts;
	r->cb = *cb;
	r->ud = ud;
	uv_timer_init(loop, &r->tick);
	uv_timer_init(loop, &r->retry);
	r->tick.data = r->retry.data = r;
	r->open_handles = 2;
	*out_r = r;
	return 0;
}

void lg_rconn_start(struct lg_rconn *r)
{
	uv_timer_start(&r->tick, on_tick, LG_REDIS_TICK_MS, LG_REDIS_TICK_MS);
	connect_now(r);
}

bool lg_rconn_up(const struct lg_rconn *r)
{
	return r->connected && !r->drop_why;
}

size_t lg_rconn_outstanding(const struct lg_rconn *r)
{
	return r->outstanding;
}

static struct pend *pend_new(struct lg_rconn *r, lg_redis_reply_fn fn, void *privdata)
{
	struct pend *p = malloc(sizeof(*p));

	if (p)
		*p = (struct pend){ r, fn, privdata };
	return p;
}

static void sent(struct lg_rconn *r)
{
	if (r->outstanding++ == 0)
		r->last_progress = uv_now(r->loop);
}

int lg_rconn_argv(struct lg_rconn *r, int argc, const char **argv, const size_t *argvlen,
                  lg_redis_reply_fn fn, void *privdata)
{
	struct pend *p;

	if (!lg_rconn_up(r) || !r->ac)
		return -ENOTCONN;
	if (!(p = pend_new(r, fn, privdata)))
		return -ENOMEM;
	if (redisAsyncCommandArgv(r->ac, on_reply, p, argc, argv, argvlen) != REDIS_OK) {
		free(p);
		return -ENOMEM;
	}
	sent(r);
	return 0;
}

int lg_rconn_vcmd(struct lg_rconn *r, lg_redis_reply_fn fn, void *privdata, const char *fmt,
                  va_list ap)
{
	struct pend *p;

	if (!r->connected || !r->ac)
		return -ENOTCONN;
	if (!(p = pend_new(r, fn, privdata)))
		return -ENOMEM;
	if (redisvAsyncCommand(r->ac, on_reply, p, fmt, ap) != REDIS_OK) {
		free(p);
		return -ENOMEM;
	}
	sent(r);
	return 0;
}

int lg_rconn_cmd(struct lg_rconn *r, lg_redis_reply_fn fn, void *privdata, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = lg_rconn_vcmd(r, fn, privdata, fmt, ap);
	va_end(ap);
	return rc;
}

int lg_rconn_formatted(struct lg_rconn *r, const char *cmd, size_t len, lg_redis_reply_fn fn,
                       void *privdata)
{
	struct pend *p;

	if (!lg_rconn_up(r) || !r->ac)
		return -ENOTCONN;
	if (!(p = pend_new(r, fn, privdata)))
		return -ENOMEM;
	if (redisAsyncFormattedCommand(r->ac, on_reply, p, cmd, len) != REDIS_OK) {
		free(p);
		return -ENOMEM;
	}
	sent(r);
	return 0;
}

void lg_rconn_drop(struct lg_rconn *r, const char *why)
{
	if (r->ac && !r->drop_why) {
		r->drop_why = why;
		uv_timer_start(&r->tick, on_tick, 0, LG_REDIS_TICK_MS);
	}
}

static void on_closed(uv_handle_t *h)
{
	struct lg_rconn *r = h->data;

	if (--r->open_handles == 0)
		free(r);
}

void lg_rconn_free(struct lg_rconn *r)
{
	if (!r)
		return;
	r->freeing = true;
	if (r->ac) {
		r->dropping = true;
		redisAsyncFree(r->ac);
		r->ac = NULL;
	}
	uv_close((uv_handle_t *)&r->tick, on_closed);
	uv_close((uv_handle_t *)&r->retry, on_closed);
}
