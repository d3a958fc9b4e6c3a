/*
 * test_gw_bus: the gateway's subscription to the access bus (gateway/gw_bus)
 * against a real Redis (password on), with a recording gw_access in place
 * of the real one: the first SUBSCRIBE resyncs; each published message
 * reaches gw_access_event() with its kind, user and family, in order;
 * malformed ones never do; Redis stopped and started again resyncs once
 * more and messages flow again; gw_bus_close() leaves nothing open
 * (uv_loop_close() == 0).
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

#include "common/log.h"
#include "gateway/gw_bus.h"
#include "scripts/stack/launch.h"

#define PASSWORD   "pw-for-bus-tests"
#define EVENTS_MAX 8

/* What gw_bus told the access checker. */
struct gw_access {
	int resyncs;
	size_t n;
	struct {
		char kind[16];
		uint64_t user, family;
	} ev[EVENTS_MAX];
};

void gw_access_event(gw_access_t *a, const char *kind, uint64_t user, uint64_t family)
{
	if (a->n < EVENTS_MAX) {
		snprintf(a->ev[a->n].kind, sizeof(a->ev[a->n].kind), "%s", kind);
		a->ev[a->n].user = user;
		a->ev[a->n].family = family;
	}
	a->n++;
}

void gw_access_resync(gw_access_t *a)
{
	a->resyncs++;
}

static srv_env_t *env;
static srv_t *redis;

static int setup(void **state)
{
	srv_redis_opts_t o = {.password = PASSWORD};
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

static eirc_config_t *config(void)
{
	char yaml[1024];
	eirc_config_t *cfg = NULL;
	int n = snprintf(yaml, sizeof(yaml),
			 "irc:\n  network: eIRC\n  servers:\n    - host: 127.0.0.1\n"
			 "  webirc_password: unused-here\n"
			 "auth:\n  internal_secret: \"0123456789abcdef0123456789\"\n"
			 "history:\n  socket_path: null\n"
			 "redis:\n  host: 127.0.0.1\n  port: %d\n  password: %s\n"
			 "  connect_timeout: 1s\n  command_timeout: 1s\n",
			 srv_port(redis), PASSWORD);

	assert_int_equal(eirc_config_load_buffer("bus.yaml", yaml, (size_t)n, &cfg, NULL), 0);
	return cfg;
}

/* Runs loop until a->resyncs reaches resyncs and a->n reaches n, or 5 s. */
static bool run_until(uv_loop_t *loop, const gw_access_t *a, int resyncs, size_t n)
{
	uint64_t end = uv_now(loop) + 5000;

	while ((a->resyncs < resyncs || a->n < n) && uv_now(loop) < end) {
		uv_run(loop, UV_RUN_ONCE); /* redis_sub's tick wakes it every 100 ms */
		uv_update_time(loop);
	}
	return a->resyncs >= resyncs && a->n >= n;
}

static void publish(const char *msg)
{
	redisContext *c = redisConnect("127.0.0.1", srv_port(redis));
	redisReply *r;

	assert_true(c && !c->err);
	r = redisCommand(c, "AUTH %s", PASSWORD);
	freeReplyObject(r);
	r = redisCommand(c, "PUBLISH eirc:access %s", msg);
	assert_true(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1);
	freeReplyObject(r);
	redisFree(c);
}

static void assert_event(const gw_access_t *a, size_t i, const char *kind, uint64_t user,
			 uint64_t family)
{
	assert_string_equal(a->ev[i].kind, kind);
	assert_true(a->ev[i].user == user);
	assert_true(a->ev[i].family == family);
}

static void test_bus(void **state)
{
	static gw_access_t a;
	eirc_config_t *cfg = config();
	gw_bus_t *b = NULL;
	uv_loop_t loop;
	(void)state;

	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(gw_bus_new(&loop, cfg, &a, &b), 0);
	gw_bus_start(b);
	assert_true(run_until(&loop, &a, 1, 0));
	assert_int_equal(a.n, 0);

	publish("signout 7 42");
	publish("rooms 7");  /* malformed: dropped */
	publish("kick 7 0"); /* unknown kind: dropped */
	publish("deleted 9 0");
	assert_true(run_until(&loop, &a, 1, 2));
	assert_event(&a, 0, "signout", 7, 42);
	assert_event(&a, 1, "deleted", 9, 0);

	/* Redis away and back: resynced, then messages again */
	assert_int_equal(srv_stop(redis), 0);
	assert_int_equal(srv_restart(redis), 0);
	assert_true(run_until(&loop, &a, 2, 2));
	publish("disabled 18446744073709551615 0");
	publish("role 3 0");
	publish("revoked 4 0");
	assert_true(run_until(&loop, &a, 2, 5));
	assert_event(&a, 2, "disabled", UINT64_MAX, 0);
	assert_event(&a, 3, "role", 3, 0);
	assert_event(&a, 4, "revoked", 4, 0);
	assert_int_equal(a.n, 5);
	assert_int_equal(a.resyncs, 2);

	gw_bus_close(b);
	gw_bus_close(NULL);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(a.n, 5);
	eirc_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bus),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
