/*
 * A real Redis from the harness: AOF on, loopback only, password when
 * asked, streams that survive a restart (what the logger relies on).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "scripts/stack/launch.h"

static srv_env_t *env;
static srv_t *redis;

static int setup(void **state)
{
	srv_redis_opts_t o = {.password = "pw-for-tests"};
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

static redisContext *connect_auth(const char *password)
{
	redisContext *c = redisConnect("127.0.0.1", srv_port(redis));
	assert_non_null(c);
	assert_int_equal(c->err, 0);
	if (password) {
		redisReply *r = redisCommand(c, "AUTH %s", password);
		assert_non_null(r);
		assert_int_equal(r->type, REDIS_REPLY_STATUS);
		freeReplyObject(r);
	}
	return c;
}

static void test_requires_password(void **state)
{
	(void)state;
	redisContext *c = connect_auth(NULL);
	redisReply *r = redisCommand(c, "PING");
	assert_int_equal(r->type, REDIS_REPLY_ERROR);
	assert_non_null(strstr(r->str, "NOAUTH"));
	freeReplyObject(r);
	redisFree(c);
}

static void test_aof_on_and_loopback(void **state)
{
	(void)state;
	redisContext *c = connect_auth("pw-for-tests");
	redisReply *r = redisCommand(c, "CONFIG GET appendonly");
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	assert_string_equal(r->element[1]->str, "yes");
	freeReplyObject(r);
	r = redisCommand(c, "CONFIG GET bind");
	assert_string_equal(r->element[1]->str, "127.0.0.1");
	freeReplyObject(r);
	redisFree(c);
}

static void test_stream_survives_restart(void **state)
{
	(void)state;
	redisContext *c = connect_auth("pw-for-tests");
	const char *line = "@msgid=abc;time=2026-11-24T08:00:00.000Z :a!u1@h PRIVMSG #x :hi";
	redisReply *r = redisCommand(c, "XADD eirc:{p0}:history:t:#x * msgid abc line %s", line);
	assert_int_equal(r->type, REDIS_REPLY_STRING);
	freeReplyObject(r);
	redisFree(c);

	/* A clean stop flushes the AOF; the data is back after the restart. */
	assert_int_equal(srv_stop(redis), 0);
	assert_int_equal(srv_restart(redis), 0);
	c = connect_auth("pw-for-tests");
	r = redisCommand(c, "XRANGE eirc:{p0}:history:t:#x - +");
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	assert_int_equal(r->elements, 1);
	redisReply *fields = r->element[0]->element[1];
	assert_string_equal(fields->element[3]->str, line);
	freeReplyObject(r);
	redisFree(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requires_password),
		cmocka_unit_test(test_aof_on_and_loopback),
		cmocka_unit_test(test_stream_survives_restart),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
