/*
 * redis_sub: one channel's subscriber (see redis_sub.h) on a redis_conn
 * (redis_conn_int.h) that does the connecting, AUTH, timeouts and
 * reconnection.
 */
#include "common/redis_sub.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/redis_conn_int.h"

struct redis_sub {
	redis_conn_t *conn;
	redis_sub_cb_t cb;
	void *ud;
	char *cmd; /* SUBSCRIBE <channel>, formatted once */
	size_t len;
	bool subscribed;
	bool closing;
	redis_closed_fn on_closed;
};

/* The confirmation ["subscribe", channel, n], then ["message", channel,
 * payload] for each message; NULL when the connection is gone. */
static void on_reply(void *ud, redisReply *r, void *privdata)
{
	redis_sub_t *s = ud;
	const char *type;

	(void)privdata;
	if (!r) {
		s->subscribed = false;
		return;
	}
	if (s->closing || r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING)
		return;
	type = r->element[0]->str;
	if (strcmp(type, "subscribe") == 0) {
		s->subscribed = true;
		s->cb.on_subscribed(s->ud);
	} else if (strcmp(type, "message") == 0 && r->element[2]->type == REDIS_REPLY_STRING) {
		s->cb.on_message(s->ud, r->element[2]->str, r->element[2]->len);
	}
}

static void on_up(void *ud)
{
	redis_sub_t *s = ud;

	if (redis_conn_subscribe(s->conn, s->cmd, s->len, on_reply, NULL) < 0)
		redis_conn_drop(s->conn, "out of memory");
}

static void on_down(void *ud, const eirc_err_t *why)
{
	redis_sub_t *s = ud;

	s->subscribed = false;
	if (s->cb.on_down && !s->closing)
		s->cb.on_down(s->ud, why);
}

int redis_sub_new(uv_loop_t *loop, const redis_opts_t *opts, const char *channel,
		  const redis_sub_cb_t *cb, void *ud, redis_sub_t **out_s)
{
	static const redis_cb_t conn_cb = {on_up, on_down, NULL};
	const char *argv[2] = {"SUBSCRIBE", channel};
	redis_sub_t *s;
	int len, err;

	if (!*channel || strlen(channel) > REDIS_SUB_CHANNEL_MAX)
		return -EINVAL;
	if (!(s = calloc(1, sizeof(*s))))
		return -ENOMEM;
	*s = (redis_sub_t){.cb = *cb, .ud = ud};
	if ((len = redisFormatCommandArgv(&s->cmd, 2, argv, NULL)) < 0) {
		free(s);
		return -ENOMEM;
	}
	s->len = (size_t)len;
	if ((err = redis_conn_new(loop, opts, &conn_cb, s, &s->conn)) < 0) {
		redisFreeCommand(s->cmd);
		free(s);
		return err;
	}
	*out_s = s;
	return 0;
}

void redis_sub_start(redis_sub_t *s)
{
	redis_conn_start(s->conn);
}

bool redis_sub_subscribed(const redis_sub_t *s)
{
	return s->subscribed;
}

static void conn_closed(void *arg)
{
	redis_sub_t *s = arg;
	redis_closed_fn on_closed = s->on_closed;
	void *ud = s->ud;

	redisFreeCommand(s->cmd);
	free(s);
	if (on_closed)
		on_closed(ud);
}

void redis_sub_close(redis_sub_t *s, redis_closed_fn on_closed)
{
	if (!s || s->closing)
		return;
	s->closing = true;
	s->subscribed = false;
	s->on_closed = on_closed;
	redis_conn_close(s->conn, conn_closed, s);
}
