/*
 * redis_conn: one hiredis async connection with our own timers (see
 * redis_conn_int.h).
 */
#include "common/redis_conn_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>

#include "common/backoff.h"
#include "common/redis_evict.h"

struct redis_conn {
	uv_loop_t *loop;
	redis_opts_t opts;
	redis_cb_t cb;
	void *ud;
	redisAsyncContext *ac;
	bool connected;
	bool was_up;   /* connected since the last attempt: retry at once */
	bool dropping; /* we are freeing ac ourselves */
	bool freeing;
	bool refused;  /* Redis refused us: no reset of the backoff until a reply */
	bool checking; /* require_noeviction: INFO asked, not up until answered */
	char refused_why[EIRC_ERR_MAX];
	const char *drop_why; /* a drop asked from a callback, done on the tick */
	backoff_t backoff;
	uint64_t connect_started;
	uint64_t last_progress;
	size_t outstanding;
	int open_handles;
	void (*on_closed)(void *arg);
	void *closed_arg;
	uv_timer_t tick;
	uv_timer_t retry;
};

struct pend {
	redis_conn_t *r;
	redis_reply_fn fn;
	void *privdata;
	bool keep;     /* SUBSCRIBE: every message, until the connection goes */
	bool answered; /* keep: the first reply (the confirmation) came */
};

static void schedule_retry(redis_conn_t *r);
static void on_auth(void *ud, redisReply *reply, void *privdata);
static void on_policy(void *ud, redisReply *reply, void *privdata);

static void say_down(redis_conn_t *r, const char *why)
{
	eirc_err_t e;

	if (r->cb.on_down) {
		eirc_err_set(&e, 0, "%s", why);
		r->cb.on_down(r->ud, &e);
	}
}

static void went_down(redis_conn_t *r, const char *why)
{
	r->connected = false;
	r->checking = false;
	r->outstanding = 0;
	if (r->freeing)
		return;
	schedule_retry(r);
	say_down(r, why);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct pend *p = privdata;
	redis_conn_t *r = p->r;

	(void)ac;
	/* a subscription's messages are not replies to anything outstanding */
	if (r->outstanding && !p->answered)
		r->outstanding--;
	if (r->refused && p->fn != on_auth && p->fn != on_policy && reply &&
	    ((redisReply *)reply)->type != REDIS_REPLY_ERROR) {
		r->refused = false; /* what was refused is granted now */
		backoff_reset(&r->backoff);
	}
	p->answered = true;
	r->last_progress = uv_now(r->loop);
	if (!r->freeing)
		p->fn(r->ud, reply, p->privdata);
	/* hiredis calls a subscription's callback with NULL once, as it frees
	 * the context */
	if (!p->keep || !reply)
		free(p);
}

/* The connection counts as up (a loss retried at once, the backoff
 * reset) only once Redis accepted us: a refused AUTH waits the backoff's
 * delay, or a wrong password would reconnect in a tight loop. */
static void accepted(redis_conn_t *r)
{
	r->was_up = true;
	if (!r->refused)
		backoff_reset(&r->backoff);
}

static void on_auth(void *ud, redisReply *reply, void *privdata)
{
	redis_conn_t *r = privdata;

	(void)ud;
	if (reply && reply->type == REDIS_REPLY_ERROR)
		redis_conn_drop(r, "AUTH refused");
	else if (reply)
		accepted(r);
}

/* require_noeviction: the server is unfit (why); the owner is told, the
 * connection dropped and tried again after the backoff's delay, as after
 * a refused AUTH. */
static void unsafe(redis_conn_t *r, const char *why)
{
	eirc_err_t e;

	eirc_err_set(&e, 0, "Redis at %s:%d: %s", r->opts.host, r->opts.port, why);
	snprintf(r->refused_why, sizeof(r->refused_why), "%s", e.text);
	r->refused = true;
	r->was_up = false;
	redis_conn_drop(r, r->refused_why);
	if (r->cb.on_unsafe)
		r->cb.on_unsafe(r->ud, &e);
}

static void on_policy(void *ud, redisReply *reply, void *privdata)
{
	redis_conn_t *r = privdata;
	eirc_err_t e, why;

	(void)ud;
	if (!reply || r->drop_why)
		return; /* lost first (or AUTH refused): tried again anyway */
	if (reply->type != REDIS_REPLY_STRING) {
		eirc_err_set(&why, 0, "INFO memory refused (%.160s)",
			     reply->type == REDIS_REPLY_ERROR ? reply->str : "not a text");
		unsafe(r, why.text);
	} else if (redis_evict_check(reply->str, reply->len, &e) < 0) {
		eirc_err_set(&why, 0, "%s; eIRC needs maxmemory-policy noeviction", e.text);
		unsafe(r, why.text);
	} else {
		r->checking = false;
		if (r->cb.on_up)
			r->cb.on_up(r->ud);
	}
}

static int send_pend(redis_conn_t *r, const char *cmd, size_t len, redis_reply_fn fn,
		     void *privdata, bool keep);

/* INFO memory, pipelined behind AUTH; nothing else is sent until on_policy
 * has the answer (redis_conn_up is false meanwhile). */
static void ask_policy(redis_conn_t *r)
{
	static const char cmd[] = "*2\r\n$4\r\nINFO\r\n$6\r\nmemory\r\n";

	r->checking = true;
	if (send_pend(r, cmd, sizeof(cmd) - 1, on_policy, r, false) < 0)
		redis_conn_drop(r, "out of memory");
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	redis_conn_t *r = ac->data;
	const char *argv[3] = {"AUTH", r->opts.password};
	char *cmd;
	int len;

	if (status != REDIS_OK) {
		r->ac = NULL; /* hiredis frees it after this callback */
		went_down(r, "connection failed");
		return;
	}
	r->connected = true;
	r->last_progress = uv_now(r->loop);
	if (r->opts.username) { /* a user without password is a nopass one */
		argv[1] = r->opts.username;
		argv[2] = r->opts.password ? r->opts.password : "";
	}
	if ((r->opts.password || r->opts.username) &&
	    (len = redisFormatCommandArgv(&cmd, r->opts.username ? 3 : 2, argv, NULL)) > 0) {
		(void)redis_conn_send(r, cmd, (size_t)len, on_auth, r);
		redisFreeCommand(cmd);
	} else {
		accepted(r);
	}
	if (r->opts.require_noeviction) {
		ask_policy(r);
		return;
	}
	if (r->cb.on_up)
		r->cb.on_up(r->ud);
}

/* hiredis closes the connection on an error reply that no command waits
 * for (REDIS_ERR_OTHER): a SUBSCRIBE the ACL refuses (NOPERM), Redis's
 * maxclients. Trying again at once would loop: the retries wait the
 * backoff's growing delays, as after a refused AUTH, until a command is
 * answered again. */
static void on_disconnect(const redisAsyncContext *ac, int status)
{
	redis_conn_t *r = ac->data;

	r->ac = NULL;
	if (r->dropping)
		return;
	if (status != REDIS_OK && ac->err == REDIS_ERR_OTHER) {
		snprintf(r->refused_why, sizeof(r->refused_why), "refused: %s", ac->errstr);
		r->refused = true;
		r->was_up = false;
		went_down(r, r->refused_why);
		return;
	}
	went_down(r, "connection lost");
}

static void connect_now(redis_conn_t *r)
{
	redisAsyncContext *ac = redisAsyncConnect(r->opts.host, r->opts.port);

	if (!ac || ac->err) {
		if (ac)
			redisAsyncFree(ac);
		schedule_retry(r);
		say_down(r, "cannot connect");
		return;
	}
	(void)fcntl(ac->c.fd, F_SETFD, FD_CLOEXEC);
	/* A subscriber sends nothing after SUBSCRIBE: without keepalive, a
	 * Redis gone silently (host down, no RST) would never be noticed
	 * (hiredis: idle 15 s, then dead about 15 s later). */
	(void)redisEnableKeepAlive(&ac->c);
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
	redis_conn_t *r = t->data;

	if (!r->ac && !r->freeing)
		connect_now(r);
}

/* A connection that was up is tried again at once; failed attempts wait
 * the backoff's delay. */
static void schedule_retry(redis_conn_t *r)
{
	uint64_t delay = r->was_up ? 0 : backoff_next(&r->backoff);

	r->was_up = false;
	uv_timer_start(&r->retry, on_retry, delay, 0);
}

/* Frees the context from outside hiredis callbacks. */
static void drop_now(redis_conn_t *r, const char *why)
{
	redisAsyncContext *ac = r->ac;

	if (!ac)
		return;
	r->dropping = true;
	redisAsyncFree(ac); /* pending callbacks run with NULL */
	r->dropping = false;
	r->ac = NULL;
	went_down(r, why);
}

static void on_tick(uv_timer_t *t)
{
	redis_conn_t *r = t->data;
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

int redis_conn_new(uv_loop_t *loop, const redis_opts_t *opts, const redis_cb_t *cb, void *ud,
		   redis_conn_t **out_r)
{
	redis_conn_t *r = malloc(sizeof(*r));

	if (!r)
		return -ENOMEM;
	*r = (redis_conn_t){.loop = loop, .opts = *opts, .cb = *cb, .ud = ud, .open_handles = 2};
	backoff_init(&r->backoff, opts->reconnect_min_ms, opts->reconnect_max_ms,
		     (uint32_t)uv_hrtime() ^ (uint32_t)(uintptr_t)r);
	uv_timer_init(loop, &r->tick);
	uv_timer_init(loop, &r->retry);
	r->tick.data = r->retry.data = r;
	*out_r = r;
	return 0;
}

void redis_conn_start(redis_conn_t *r)
{
	uv_timer_start(&r->tick, on_tick, REDIS_CONN_TICK_MS, REDIS_CONN_TICK_MS);
	connect_now(r);
}

bool redis_conn_up(const redis_conn_t *r)
{
	return r->connected && !r->checking && !r->drop_why;
}

/* The owner's commands wait for redis_conn_up; ours (AUTH, INFO) only for
 * the connection. */
static int send_pend(redis_conn_t *r, const char *cmd, size_t len, redis_reply_fn fn,
		     void *privdata, bool keep)
{
	struct pend *p;

	if (!r->connected || r->drop_why || !r->ac || (r->checking && fn != on_policy))
		return -ENOTCONN;
	if (!(p = malloc(sizeof(*p))))
		return -ENOMEM;
	*p = (struct pend){.r = r, .fn = fn, .privdata = privdata, .keep = keep};
	if (redisAsyncFormattedCommand(r->ac, on_reply, p, cmd, len) != REDIS_OK) {
		free(p);
		return -ENOMEM;
	}
	if (r->outstanding++ == 0)
		r->last_progress = uv_now(r->loop);
	return 0;
}

int redis_conn_send(redis_conn_t *r, const char *cmd, size_t len, redis_reply_fn fn, void *privdata)
{
	return send_pend(r, cmd, len, fn, privdata, false);
}

int redis_conn_subscribe(redis_conn_t *r, const char *cmd, size_t len, redis_reply_fn fn,
			 void *privdata)
{
	return send_pend(r, cmd, len, fn, privdata, true);
}

void redis_conn_drop(redis_conn_t *r, const char *why)
{
	if (r->ac && !r->drop_why) {
		r->drop_why = why;
		uv_timer_start(&r->tick, on_tick, 0, REDIS_CONN_TICK_MS);
	}
}

static void on_handle_closed(uv_handle_t *h)
{
	redis_conn_t *r = h->data;

	if (--r->open_handles > 0)
		return;
	if (r->on_closed)
		r->on_closed(r->closed_arg);
	free(r);
}

void redis_conn_close(redis_conn_t *r, void (*on_closed)(void *arg), void *arg)
{
	if (!r)
		return;
	r->freeing = true;
	r->on_closed = on_closed;
	r->closed_arg = arg;
	if (r->ac) {
		r->dropping = true;
		redisAsyncFree(r->ac);
		r->ac = NULL;
	}
	uv_close((uv_handle_t *)&r->tick, on_handle_closed);
	uv_close((uv_handle_t *)&r->retry, on_handle_closed);
}
