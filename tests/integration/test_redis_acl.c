/*
 * test_redis_acl: the daemons' Redis users (common/redis_acl.h) in a real
 * Redis 7 started by the harness (password on, the users in its
 * redis.conf):
 *   - without a password nothing is answered (NOAUTH), a wrong one is
 *     refused (WRONGPASS);
 *   - no user may FLUSHALL, FLUSHDB, CONFIG, DEBUG, KEYS, ACL, SHUTDOWN;
 *   - eirc-auth publishes on eirc:access and nowhere else, reads no key
 *     but the checkpoints' stream (XRANGE only);
 *     eirc-gateway subscribes to it (through common/redis_sub, which logs
 *     in as the user) and publishes nothing;
 *   - eirc-logger runs the archive's append and trimming scripts and its
 *     consumer group's commands;
 *   - eirc-history reads a channel's stream (EVAL_RO with the query
 *     script, XRANGE) but cannot write it, directly or from a script; it
 *     stores a direct message (the append script into dm:<lo>:<hi>) and
 *     its nick, unick and dms keys, with 1- to 5-digit partitions; it
 *     cannot write a logger's key or the dead-letter stream.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <uv.h>

#include <hiredis/hiredis.h>

#include "archive/archive_append.h"
#include "common/access_msg.h"
#include "common/redis_sub.h"
#include "history-bridge/hist_query.h"
#include "logger-bot/lg_archive.h"
#include "scripts/stack/launch.h"

#define PASSWORD "pw-for-acl-tests"
#define NET      "eIRC"
#define CHAN_KEY "eirc:{p3}:history:" NET ":#general"
#define READ_KEY "eirc:{p3}:history:" NET ":#read"

static srv_env_t *env;
static srv_t *redis;

static int setup(void **state)
{
	srv_redis_opts_t o = {.password = PASSWORD, .network = NET, .partitions = 16384};

	(void)state;
	srv_env_install_signal_handlers();
	if (srv_env_new(NULL, &env) < 0)
		return -1;
	return srv_redis_start(env, &o, &redis);
}

static int teardown(void **state)
{
	(void)state;
	srv_env_free(env);
	return 0;
}

/* A connection logged in as role's user (-1: the default user). */
static redisContext *as(int role)
{
	redisContext *c = redisConnect("127.0.0.1", srv_port(redis));
	redisReply *r;

	assert_non_null(c);
	assert_int_equal(c->err, 0);
	if (role < 0)
		r = redisCommand(c, "AUTH %s", PASSWORD);
	else
		r = redisCommand(c, "AUTH %s %s", srv_redis_user_name(redis, role),
				 srv_redis_user_password(redis, role));
	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	return c;
}

/* Runs a command; true when it was answered without an error. */
static bool ok_argv(redisContext *c, int argc, const char **argv)
{
	redisReply *r = redisCommandArgv(c, argc, argv, NULL);
	bool ok;

	assert_non_null(r);
	ok = r->type != REDIS_REPLY_ERROR;
	if (!ok && strncmp(r->str, "NOPERM", 6) != 0 && !strstr(r->str, "can't access") &&
	    !strstr(r->str, "no permissions") && !strstr(r->str, "DEBUG command not allowed"))
		print_message("%s: %s\n", argv[0], r->str);
	freeReplyObject(r);
	return ok;
}

/* ACL DRYRUN as the default user: true when user may run the command
 * (Redis answers OK, else a string saying why). */
static bool allowed_argv(redisContext *c, int argc, const char **argv)
{
	const char *a[16] = {"ACL", "DRYRUN"};
	redisReply *r;
	bool ok;

	assert_true(argc <= 14);
	memcpy(a + 2, argv, sizeof(*argv) * (size_t)argc);
	r = redisCommandArgv(c, argc + 2, a, NULL);
	assert_non_null(r);
	ok = r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0;
	freeReplyObject(r);
	return ok;
}

#define ALLOWED(c, ...)                                                                            \
	allowed_argv(c, (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)),       \
		     (const char *[]){__VA_ARGS__})

#define OK(c, ...)                                                                                 \
	ok_argv(c, (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)),            \
		(const char *[]){__VA_ARGS__})

static void test_password_required(void **state)
{
	redisContext *c = redisConnect("127.0.0.1", srv_port(redis));
	redisReply *r;

	(void)state;
	r = redisCommand(c, "GET %s", CHAN_KEY);
	assert_int_equal(r->type, REDIS_REPLY_ERROR);
	assert_memory_equal(r->str, "NOAUTH", 6);
	freeReplyObject(r);
	r = redisCommand(c, "AUTH %s %s", "eirc-history", "not-its-password");
	assert_int_equal(r->type, REDIS_REPLY_ERROR);
	assert_memory_equal(r->str, "WRONGPASS", 9);
	freeReplyObject(r);
	r = redisCommand(c, "AUTH %s %s", "eirc-history", PASSWORD); /* the default user's */
	assert_int_equal(r->type, REDIS_REPLY_ERROR);
	freeReplyObject(r);
	redisFree(c);
}

/* Nothing dangerous for anyone; the default user keeps everything. */
static void test_no_admin_commands(void **state)
{
	redisContext *c;

	(void)state;
	for (int role = 0; role < REDIS_ACL_ROLES; role++) {
		c = as(role);
		assert_false(OK(c, "FLUSHALL"));
		assert_false(OK(c, "FLUSHDB"));
		assert_false(OK(c, "CONFIG", "GET", "*"));
		assert_false(OK(c, "CONFIG", "SET", "appendonly", "no"));
		assert_false(OK(c, "DEBUG", "SLEEP", "0"));
		assert_false(OK(c, "KEYS", "*"));
		assert_false(OK(c, "ACL", "LIST"));
		assert_false(OK(c, "ACL", "SETUSER", "x", "on"));
		assert_false(OK(c, "SHUTDOWN"));
		assert_false(OK(c, "SCRIPT", "FLUSH"));
		/* DEL only for the logger: a retention trim deletes the leaf
		 * chunks below it (lg_archive.h); it could XTRIM and PEXPIRE
		 * its keys already */
		assert_int_equal(OK(c, "DEL", "eirc:{p3}:leaves:999"), role == REDIS_ACL_LOGGER);
		if (role != REDIS_ACL_LOGGER)
			assert_false(OK(c, "DEL", CHAN_KEY));
		/* INFO only for the two that write (the eviction check) */
		assert_int_equal(OK(c, "INFO", "memory"),
				 role == REDIS_ACL_LOGGER || role == REDIS_ACL_HISTORY);
		redisFree(c);
	}
	/* what Redis's ACL says, whatever else refuses (DEBUG is off anyway) */
	c = as(-1);
	for (int role = 0; role < REDIS_ACL_ROLES; role++) {
		const char *u = srv_redis_user_name(redis, role);
		assert_false(ALLOWED(c, u, "DEBUG", "SLEEP", "0"));
		assert_false(ALLOWED(c, u, "FLUSHALL"));
		assert_false(ALLOWED(c, u, "CONFIG", "GET", "*"));
		assert_false(ALLOWED(c, u, "KEYS", "*"));
	}
	assert_true(ALLOWED(c, "default", "DEBUG", "SLEEP", "0"));
	assert_true(OK(c, "CONFIG", "GET", "appendonly"));
	redisFree(c);
}

/* ---- the access bus ---- */

struct sub_state {
	int subscribed, downs;
	char msg[EIRC_ERR_MAX];
};

static void on_subscribed(void *ud)
{
	((struct sub_state *)ud)->subscribed++;
}

static void on_message(void *ud, const char *msg, size_t len)
{
	struct sub_state *s = ud;

	snprintf(s->msg, sizeof(s->msg), "%.*s", (int)len, msg);
}

static void on_down(void *ud, const eirc_err_t *why)
{
	(void)why;
	((struct sub_state *)ud)->downs++;
}

static void run_until(uv_loop_t *loop, const int *flag, const char *msg, int ms)
{
	for (int i = 0; i < ms / 10 && !*flag && !(msg && msg[0]); i++) {
		uv_run(loop, UV_RUN_NOWAIT);
		uv_sleep(10);
	}
}

/* common/redis_sub as eirc-gateway (AUTH <user> <password>) gets what
 * eirc-auth publishes; neither may do the other's part. */
static void test_access_bus(void **state)
{
	static const redis_sub_cb_t cb = {on_subscribed, on_message, on_down};
	redis_opts_t o = {.host = "127.0.0.1",
			  .port = srv_port(redis),
			  .username = srv_redis_user_name(redis, REDIS_ACL_GATEWAY),
			  .password = srv_redis_user_password(redis, REDIS_ACL_GATEWAY),
			  .connect_timeout_ms = 2000,
			  .command_timeout_ms = 2000,
			  .reconnect_min_ms = 50,
			  .reconnect_max_ms = 200};
	struct sub_state st = {0};
	redisContext *auth = as(REDIS_ACL_AUTH), *gw = as(REDIS_ACL_GATEWAY);
	uv_loop_t loop;
	redis_sub_t *sub;
	int none = 0;

	(void)state;
	assert_false(OK(auth, "PUBLISH", "eirc:other", "x"));
	assert_false(OK(auth, "GET", CHAN_KEY));
	assert_false(OK(auth, "SUBSCRIBE", ACCESS_MSG_CHANNEL));
	/* the checkpoints' stream: read (XRANGE), never written */
	assert_true(OK(auth, "XRANGE", "eirc:{cp}:checkpoints", "-", "+", "COUNT", "1"));
	assert_false(OK(auth, "XADD", "eirc:{cp}:checkpoints", "*", "note", "x"));
	assert_false(OK(auth, "XRANGE", "eirc:{p3}:archive", "-", "+"));
	assert_false(OK(gw, "PUBLISH", ACCESS_MSG_CHANNEL, "x"));
	assert_false(OK(gw, "GET", CHAN_KEY));
	assert_false(OK(gw, "SUBSCRIBE", "eirc:other"));
	uv_loop_init(&loop);
	assert_int_equal(redis_sub_new(&loop, &o, ACCESS_MSG_CHANNEL, &cb, &st, &sub), 0);
	redis_sub_start(sub);
	run_until(&loop, &st.subscribed, NULL, 5000);
	assert_int_equal(st.subscribed, 1);
	assert_true(OK(auth, "PUBLISH", ACCESS_MSG_CHANNEL, "revoke 7 0"));
	run_until(&loop, &none, st.msg, 5000);
	assert_string_equal(st.msg, "revoke 7 0");
	assert_int_equal(st.downs, 0);
	redis_sub_close(sub, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	redisFree(auth);
	redisFree(gw);
}

static void on_refused(void *ud, const eirc_err_t *why)
{
	struct sub_state *s = ud;

	s->downs++;
	snprintf(s->msg, sizeof(s->msg), "%s", why->text);
}

/* A channel the user may not follow: SUBSCRIBE is refused, said by
 * on_down with Redis's answer, and retried with growing delays (50, 100,
 * 200 ms ... here), not in a tight loop nor never. */
static void test_subscribe_refused(void **state)
{
	static const redis_sub_cb_t cb = {on_subscribed, on_message, on_refused};
	redis_opts_t o = {.host = "127.0.0.1",
			  .port = srv_port(redis),
			  .username = srv_redis_user_name(redis, REDIS_ACL_GATEWAY),
			  .password = srv_redis_user_password(redis, REDIS_ACL_GATEWAY),
			  .connect_timeout_ms = 2000,
			  .command_timeout_ms = 2000,
			  .reconnect_min_ms = 50,
			  .reconnect_max_ms = 400};
	struct sub_state st = {0};
	uv_loop_t loop;
	redis_sub_t *sub;
	uint64_t end;

	(void)state;
	uv_loop_init(&loop);
	assert_int_equal(redis_sub_new(&loop, &o, "eirc:other", &cb, &st, &sub), 0);
	redis_sub_start(sub);
	for (end = uv_now(&loop) + 1500; uv_now(&loop) < end;) {
		uv_run(&loop, UV_RUN_NOWAIT);
		uv_sleep(5);
		uv_update_time(&loop);
	}
	print_message("%d refusals in 1.5 s: %s\n", st.downs, st.msg);
	assert_int_equal(st.subscribed, 0);
	assert_true(st.downs >= 2 && st.downs <= 12);
	assert_non_null(strstr(st.msg, "refused: NOPERM"));
	redis_sub_close(sub, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- the archive ---- */

/* The append script (archive_append.h) into history key h of partition k
 * (msgid m), with a seal record: its RPUSH to the pending list is the
 * caller's too. */
static bool append(redisContext *c, const char *h, int k, const char *m)
{
	char archive[64], msgid[128], pending[64];

	snprintf(archive, sizeof(archive), "eirc:{p%d}:archive", k);
	snprintf(msgid, sizeof(msgid), "eirc:{p%d}:msgid:%s", k, m);
	snprintf(pending, sizeof(pending), "eirc:{p%d}:pending", k);
	return OK(c, "EVAL", archive_append_script, "4", h, archive, msgid, pending, "1", "60000",
		  NET, "digest mac", "type", "PRIVMSG", "time", "1000", "msgid", m);
}

#define P3(what) "eirc:{p3}:" what

/* lg_archive's scripts and leaf reads (lg_archive.h) on partition 3: by
 * the policy alone while it has no log, then at a checkpoint boundary of
 * the log written here as the sealer would (the default user). */
static bool trims(redisContext *c)
{
	redisContext *admin = as(-1);
	redisReply *r = redisCommand(admin, "XRANGE %s - + COUNT 1", P3("archive"));
	char id[64], member[80];
	bool ok;

	snprintf(id, sizeof(id), "%s", r->element[0]->element[0]->str);
	freeReplyObject(r);
	snprintf(member, sizeof(member), "1 %s", id);
	ok = OK(c, "EVAL", lg_archive_plan_script, "4", P3("archive"), P3("tlog"), P3("cps"),
		P3("tomb"), "acked", "+") &&
	     OK(c, "EVAL", lg_archive_trim_script, "4", P3("archive"), P3("tlog"), P3("cps"),
		P3("tomb"), "1000", "-", "0", "-", "", "0", "retention 1s", "eirc-logger", "0");
	assert_true(OK(admin, "HSET", P3("tlog"), "size", "1", "trimmed", "0", "leaves_from", "0"));
	assert_true(OK(admin, "ZADD", P3("cps"), "1", member));
	assert_true(OK(admin, "SET", P3("leaves:0"), "0123456789abcdef0123456789abcdef"));
	ok = ok &&
	     OK(c, "EVAL", lg_archive_plan_script, "4", P3("archive"), P3("tlog"), P3("cps"),
		P3("tomb"), "99999999999999", "+") &&
	     OK(c, "GETRANGE", P3("leaves:0"), "0", "31") &&
	     OK(c, "EVAL", lg_archive_trim_script, "5", P3("archive"), P3("tlog"), P3("cps"),
		P3("tomb"), P3("leaves:0"), "99999999999999", "0", "1", id, "00", "4096",
		"retention 1s", "eirc-logger", "0");
	r = redisCommand(admin, "HGET %s trimmed", P3("tlog"));
	ok = ok && r->type == REDIS_REPLY_STRING && !strcmp(r->str, "1");
	freeReplyObject(r);
	redisFree(admin);
	return ok;
}

static void test_logger(void **state)
{
	redisContext *c = as(REDIS_ACL_LOGGER);
	redisReply *r;
	char sha[64];

	(void)state;
	assert_true(append(c, CHAN_KEY, 3, "lg-1"));
	r = redisCommand(c, "SCRIPT LOAD %s", archive_append_batch_script);
	assert_int_equal(r->type, REDIS_REPLY_STRING);
	snprintf(sha, sizeof(sha), "%s", r->str);
	freeReplyObject(r);
	assert_true(OK(c, "EVALSHA", sha, "4", CHAN_KEY, "eirc:{p3}:archive",
		       "eirc:{p3}:msgid:lg-2", "eirc:{p3}:pending", "1", "60000", NET, "digest mac",
		       "2", "msgid", "lg-2"));
	/* the sealer's reads and trims of it */
	assert_true(OK(c, "LRANGE", "eirc:{p3}:pending", "0", "10"));
	assert_true(OK(c, "LTRIM", "eirc:{p3}:pending", "1", "-1"));
	assert_true(OK(c, "SET", "eirc:{p5}:logger:" NET ":eirc-logger:seen", "1"));
	assert_true(OK(c, "GET", "eirc:{p5}:logger:" NET ":eirc-logger:seen"));
	assert_true(OK(c, "XGROUP", "CREATE", "eirc:{p3}:archive", "g", "0", "MKSTREAM"));
	assert_true(OK(c, "XREADGROUP", "GROUP", "g", "c1", "COUNT", "10", "STREAMS",
		       "eirc:{p3}:archive", ">"));
	assert_true(OK(c, "XAUTOCLAIM", "eirc:{p3}:archive", "g", "c2", "0", "0-0", "COUNT", "10"));
	assert_true(OK(c, "XPENDING", "eirc:{p3}:archive", "g"));
	assert_true(OK(c, "XACK", "eirc:{p3}:archive", "g", "0-1"));
	assert_true(OK(c, "XADD", "eirc:{p3}:archive:dead", "*", "archive_id", "x"));
	assert_true(trims(c));
	assert_true(OK(c, "INFO", "memory")); /* common/redis's eviction check */
	/* nothing beyond the archive's keys, no pub/sub */
	assert_false(OK(c, "SET", "other:key", "1"));
	assert_false(OK(c, "PUBLISH", ACCESS_MSG_CHANNEL, "x"));
	assert_false(OK(c, "XGROUP", "DESTROY", "eirc:{p3}:archive", "g"));
	redisFree(c);
}

static void test_history_reads_channels(void **state)
{
	redisContext *c = as(REDIS_ACL_HISTORY), *lg = as(REDIS_ACL_LOGGER);

	(void)state;
	assert_true(append(lg, READ_KEY, 3, "h-read"));
	assert_true(OK(c, "XRANGE", READ_KEY, "-", "+"));
	assert_true(OK(c, "XREVRANGE", READ_KEY, "+", "-", "COUNT", "1"));
	assert_true(OK(c, "INFO", "memory")); /* common/redis's eviction check */
	assert_true(OK(c, "GET", "eirc:{p3}:msgid:h-read"));
	assert_true(OK(c, "EVAL_RO", hist_query_script, "3", READ_KEY, "eirc:{p3}:msgid:h-read",
		       "eirc:{p3}:msgid:none", "latest", "*", "", "*", "", "10", "60000", "0",
		       "1000", "42"));
	/* but writes none of it */
	assert_false(OK(c, "XADD", READ_KEY, "*", "type", "PRIVMSG"));
	assert_false(append(c, READ_KEY, 3, "h-forged"));
	assert_false(OK(c, "EVAL", hist_query_script, "3", READ_KEY, "eirc:{p3}:msgid:h-read",
			"eirc:{p3}:msgid:none", "latest", "*", "", "*", "", "10", "60000", "0",
			"1000", "42"));
	assert_false(OK(c, "XTRIM", READ_KEY, "MAXLEN", "0"));
	assert_false(OK(c, "SET", "eirc:{p3}:history:" NET ":dm", "x"));
	/* a channel whose name ends like a direct message's key */
	assert_false(OK(c, "XADD", "eirc:{p3}:history:" NET ":#x}:history:" NET ":dm:1:2", "*", "a",
			"b"));
	assert_false(OK(c, "XADD", "eirc:{p3}:archive:dead", "*", "a", "b"));
	assert_false(OK(c, "SET", "eirc:{p5}:logger:" NET ":eirc-logger:seen", "1"));
	assert_false(OK(c, "XGROUP", "CREATE", "eirc:{p3}:archive", "h", "0"));
	redisFree(c);
	redisFree(lg);
}

/* What storing a direct message sends (hist_dmstore.c), in partitions of
 * 1 to 5 digits. */
static void test_history_stores_dms(void **state)
{
	redisContext *c = as(REDIS_ACL_HISTORY);
	static const int parts[] = {0, 15, 100, 1000, 16383};
	char key[128], m[32];

	(void)state;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		int k = parts[i];
		snprintf(key, sizeof(key), "eirc:{p%d}:history:%s:dm:1:2", k, NET);
		snprintf(m, sizeof(m), "dm-%d", k);
		assert_true(append(c, key, k, m));
		snprintf(key, sizeof(key), "eirc:{p%d}:nick:%s:alice", k, NET);
		assert_true(OK(c, "SET", key, "1", "PX", "60000"));
		assert_true(OK(c, "GET", key));
		snprintf(key, sizeof(key), "eirc:{p%d}:unick:%s:1", k, NET);
		assert_true(OK(c, "SET", key, "alice", "PX", "60000"));
		snprintf(key, sizeof(key), "eirc:{p%d}:dms:%s:1", k, NET);
		assert_true(OK(c, "ZADD", key, "GT", "5", "2"));
		assert_true(OK(c, "ZREMRANGEBYSCORE", key, "-inf", "(1"));
		assert_true(OK(c, "PEXPIRE", key, "60000"));
		assert_true(
			OK(c, "ZRANGEBYSCORE", key, "(0", "(10", "WITHSCORES", "LIMIT", "0", "5"));
		/* another network's keys are not its */
		snprintf(key, sizeof(key), "eirc:{p%d}:nick:other:alice", k);
		assert_false(OK(c, "SET", key, "1"));
	}
	redisFree(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password_required),
		cmocka_unit_test(test_no_admin_commands),
		cmocka_unit_test(test_access_bus),
		cmocka_unit_test(test_subscribe_refused),
		cmocka_unit_test(test_logger),
		cmocka_unit_test(test_history_reads_channels),
		cmocka_unit_test(test_history_stores_dms),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
