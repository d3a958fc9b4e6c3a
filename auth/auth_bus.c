/*
 * auth_bus: publishing access changes on Redis. See auth_bus.h.
 *
 * The daemon's publisher logs (a warning per message lost, a line per
 * connection change) because nobody waits for its outcome: the change it
 * reports has been answered already.
 */
#include "auth/auth_bus.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "common/log.h"
#include "common/redis.h"

struct auth_bus {
	redis_t *redis;
	bool down_logged; /* the connection's loss was logged */
	void (*done)(void *arg);
	void *done_arg;
};

/* Parses one decimal id at *p (no sign, no leading '+', fits 64 bits). */
static int parse_id(const char **p, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*out = v;
	return 0;
}

/* Walks the array; with fn NULL only checks it. Returns the count. */
static int each_id(const char *a, void (*fn)(void *, uint64_t), void *arg)
{
	const char *p = a;
	int n = 0;
	uint64_t id;

	if (*p++ != '{')
		return -EINVAL;
	if (*p == '}')
		return p[1] ? -EINVAL : 0;
	for (;;) {
		if (strncmp(p, "NULL", 4) == 0) {
			p += 4;
		} else {
			if (parse_id(&p, &id) < 0 || n == AUTH_BUS_USERS_MAX)
				return -EINVAL;
			if (fn)
				fn(arg, id);
			n++;
		}
		if (*p == '}')
			return p[1] ? -EINVAL : n;
		if (*p++ != ',')
			return -EINVAL;
	}
}

int auth_bus_each_id(const char *pg_array, void (*fn)(void *arg, uint64_t id), void *arg)
{
	int n = pg_array ? each_id(pg_array, NULL, NULL) : -EINVAL;

	return n <= 0 ? n : each_id(pg_array, fn, arg);
}

/* ---- the daemon's publisher ---- */

static void bus_up(void *ud)
{
	auth_bus_t *bus = ud;

	if (bus->down_logged)
		log_info("Access bus: connected to Redis again");
	bus->down_logged = false;
}

static void bus_down(void *ud, const eirc_err_t *why)
{
	auth_bus_t *bus = ud;

	if (!bus->down_logged)
		log_warn("Access bus: Redis unavailable (%s); access changes are not "
			 "published until it is back",
			 why->text);
	bus->down_logged = true;
}

int auth_bus_new(uv_loop_t *loop, const eirc_config_t *cfg, auth_bus_t **out_bus)
{
	static const redis_cb_t cb = {bus_up, bus_down, NULL};
	auth_bus_t *bus = calloc(1, sizeof(*bus));
	redis_opts_t o;
	int r;

	if (!bus)
		return -ENOMEM;
	redis_opts_from_config(&cfg->redis, cfg->auth.redis_username, cfg->auth.redis_password, &o);
	r = redis_new(loop, &o, &cb, bus, &bus->redis);
	if (r < 0) {
		free(bus);
		return r;
	}
	redis_start(bus->redis);
	*out_bus = bus;
	return 0;
}

/* No message text to name: a pending reply is dropped, never run, when
 * the connection closes, so privdata cannot own memory. */
static void published(void *ud, redisReply *reply, void *privdata)
{
	(void)ud;
	(void)privdata;
	if (!reply || reply->type == REDIS_REPLY_ERROR)
		log_warn("Failed to publish an access change on %s: %s, ignoring",
			 ACCESS_MSG_CHANNEL, reply ? reply->str : "connection lost");
}

void auth_bus_publish(auth_bus_t *bus, enum access_kind kind, uint64_t user, uint64_t family)
{
	char msg[ACCESS_MSG_MAX + 1];
	const char *argv[3] = {"PUBLISH", ACCESS_MSG_CHANNEL, msg};
	size_t len[3] = {7, sizeof(ACCESS_MSG_CHANNEL) - 1, 0};
	int n = access_msg_format(&(access_msg_t){kind, user, family}, msg, sizeof(msg)), r;

	if (n < 0) /* a kind of ours and a user id from the database: cannot happen */
		return;
	len[2] = (size_t)n;
	r = redis_argv(bus->redis, 3, argv, len, published, NULL);
	if (r < 0)
		log_warn("Failed to publish \"%s\" on %s: %s, ignoring", msg, ACCESS_MSG_CHANNEL,
			 r == -ENOTCONN ? "Redis unavailable" : strerror(-r));
}

typedef struct bus_users {
	auth_bus_t *bus;
	enum access_kind kind;
	uint64_t family;
} bus_users_t;

static void publish_one(void *arg, uint64_t id)
{
	bus_users_t *u = arg;

	auth_bus_publish(u->bus, u->kind, id, u->family);
}

void auth_bus_publish_users(auth_bus_t *bus, enum access_kind kind, const char *pg_array,
			    uint64_t family)
{
	bus_users_t u = {bus, kind, family};

	if (auth_bus_each_id(pg_array, publish_one, &u) < 0)
		log_warn("Failed to publish %s: bad user list \"%.64s\", ignoring",
			 access_msg_kind_name(kind), pg_array ? pg_array : "(null)");
}

redis_t *auth_bus_redis(auth_bus_t *bus)
{
	return bus->redis;
}

static void bus_closed(void *ud)
{
	auth_bus_t *bus = ud;

	if (bus->done)
		bus->done(bus->done_arg);
	free(bus);
}

void auth_bus_close(auth_bus_t *bus, void (*done)(void *arg), void *arg)
{
	if (!bus)
		return;
	bus->done = done;
	bus->done_arg = arg;
	redis_close(bus->redis, bus_closed);
}

/* ---- the admin commands' blocking publish ---- */

static struct timeval ms_tv(uint64_t ms)
{
	return (struct timeval){.tv_sec = (time_t)(ms / 1000),
				.tv_usec = (suseconds_t)(ms % 1000) * 1000};
}

/* Runs one command; -EIO with the reason when it failed. */
static int sync_cmd(redisContext *c, int argc, const char **argv, const size_t *len,
		    eirc_err_t *out_err)
{
	redisReply *r = redisCommandArgv(c, argc, argv, len);
	int rc = 0;

	if (!r || r->type == REDIS_REPLY_ERROR) {
		eirc_err_set(out_err, -EIO, "%s: %s", argv[0], r ? r->str : c->errstr);
		rc = -EIO;
	}
	freeReplyObject(r);
	return rc;
}

/* AUTH as redis_conn sends it (redis.h): [user] password, when either is
 * set. */
static int sync_auth(redisContext *c, const redis_opts_t *o, eirc_err_t *out_err)
{
	const char *pw = o->password ? o->password : "";
	const char *argv[3] = {"AUTH", o->username ? o->username : pw, pw};
	size_t l[3] = {4, strlen(argv[1]), strlen(pw)};

	if (!o->username && !o->password)
		return 0;
	return sync_cmd(c, o->username ? 3 : 2, argv, l, out_err);
}

int auth_bus_publish_sync(const eirc_config_t *cfg, const access_msg_t *msgs, size_t n,
			  eirc_err_t *out_err)
{
	redisContext *c;
	redis_opts_t o;
	char msg[ACCESS_MSG_MAX + 1];
	int r = 0, len;

	if (n == 0)
		return 0;
	redis_opts_from_config(&cfg->redis, cfg->auth.redis_username, cfg->auth.redis_password, &o);
	c = redisConnectWithTimeout(o.host, o.port, ms_tv(o.connect_timeout_ms));
	if (!c || c->err) {
		eirc_err_set(out_err, -EIO, "cannot connect to Redis at %s:%d: %s", o.host, o.port,
			     c ? c->errstr : "out of memory");
		redisFree(c);
		return -EIO;
	}
	(void)fcntl(c->fd, F_SETFD, FD_CLOEXEC);
	redisSetTimeout(c, ms_tv(o.command_timeout_ms));
	r = sync_auth(c, &o, out_err);
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *argv[3] = {"PUBLISH", ACCESS_MSG_CHANNEL, msg};
		size_t l[3] = {7, sizeof(ACCESS_MSG_CHANNEL) - 1, 0};

		len = access_msg_format(&msgs[i], msg, sizeof(msg));
		if (len < 0) {
			eirc_err_set(out_err, -EIO, "cannot format a %s message",
				     access_msg_kind_name(msgs[i].kind));
			r = -EIO;
			break;
		}
		l[2] = (size_t)len;
		r = sync_cmd(c, 3, argv, l, out_err);
	}
	redisFree(c);
	return r;
}
