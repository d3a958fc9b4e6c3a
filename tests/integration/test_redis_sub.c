/*
 * test_redis_sub: common/redis_sub against a real Redis (password on):
 * SUBSCRIBE confirmed (on_subscribed), messages delivered whole and in
 * order (binary bytes, a long one), nothing from another channel; Redis
 * stopped and started again: on_down, then on_subscribed again and
 * messages flow; a wrong password never subscribes and keeps retrying; a
 * close from inside on_message, and one before the connection is made,
 * end with every handle closed (uv_loop_close() == 0, nothing leaked
 * under ASan).
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

#include "common/redis_sub.h"
#include "scripts/stack/launch.h"

#define PASSWORD "pw-for-sub-tests"
#define CHANNEL  "eirc:test-sub"
#define MSGS_MAX 8

static srv_env_t *env;
static srv_t *redis;

struct state {
	uv_loop_t loop;
	redis_sub_t *sub;
	int subscribed, downs, closed;
	size_t n_msgs;
	char msgs[MSGS_MAX][2048];
	size_t lens[MSGS_MAX];
	bool close_on_message;
};

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

static void on_subscribed(void *ud)
{
	struct state *st = ud;

	st->subscribed++;
}

static void on_message(void *ud, const char *msg, size_t len)
{
	struct state *st = ud;

	if (st->n_msgs < MSGS_MAX && len <= sizeof(st->msgs[0])) {
		memcpy(st->msgs[st->n_msgs], msg, len);
		st->lens[st->n_msgs] = len;
	}
	st->n_msgs++;
	if (st->close_on_message) {
		redis_sub_close(st->sub, NULL);
		st->sub = NULL;
	}
}

static void on_down(void *ud, const eirc_err_t *why)
{
	struct state *st = ud;

	(void)why;
	st->downs++;
}

static void on_closed(void *ud)
{
	struct state *st = ud;

	st->closed++;
}

static void start(struct state *st, const char *password)
{
	static const redis_sub_cb_t cb = {on_subscribed, on_message, on_down};
	redis_opts_t o = {.host = "127.0.0.1",
			  .port = srv_port(redis),
			  .password = password,
			  .connect_timeout_ms = 1000,
			  .command_timeout_ms = 1000,
			  .reconnect_min_ms = 50,
			  .reconnect_max_ms = 200};

	memset(st, 0, sizeof(*st));
	assert_int_equal(uv_loop_init(&st->loop), 0);
	assert_int_equal(redis_sub_new(&st->loop, &o, CHANNEL, &cb, st, &st->sub), 0);
	redis_sub_start(st->sub);
}

/* Runs the loop until *counter reaches want or ms pass; true if it did. */
static bool run_until(struct state *st, const int *counter, int want, uint64_t ms)
{
	uint64_t end = uv_now(&st->loop) + ms;

	while (*counter < want && uv_now(&st->loop) < end) {
		uv_run(&st->loop, UV_RUN_ONCE); /* redis_conn's tick wakes it every 100 ms */
		uv_update_time(&st->loop);
	}
	return *counter >= want;
}

static bool run_until_msgs(struct state *st, size_t want, uint64_t ms)
{
	uint64_t end = uv_now(&st->loop) + ms;

	while (st->n_msgs < want && uv_now(&st->loop) < end) {
		uv_run(&st->loop, UV_RUN_ONCE);
		uv_update_time(&st->loop);
	}
	return st->n_msgs >= want;
}

/* Closes the subscriber (when still open) and ends the loop cleanly. */
static void finish(struct state *st)
{
	if (st->sub) {
		redis_sub_close(st->sub, on_closed);
		assert_int_equal(uv_run(&st->loop, UV_RUN_DEFAULT), 0);
		assert_int_equal(st->closed, 1);
	} else {
		assert_int_equal(uv_run(&st->loop, UV_RUN_DEFAULT), 0);
	}
	assert_int_equal(uv_loop_close(&st->loop), 0);
}

/* PUBLISH channel msg[0..len) on a connection of its own; the number of
 * receivers. */
static long long publish(const char *channel, const char *msg, size_t len)
{
	redisContext *c = redisConnect("127.0.0.1", srv_port(redis));
	redisReply *r;
	long long n;

	assert_non_null(c);
	assert_int_equal(c->err, 0);
	r = redisCommand(c, "AUTH %s", PASSWORD);
	assert_non_null(r);
	freeReplyObject(r);
	r = redisCommand(c, "PUBLISH %s %b", channel, msg, len);
	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_INTEGER);
	n = r->integer;
	freeReplyObject(r);
	redisFree(c);
	return n;
}

static void test_messages(void **state)
{
	static struct state st;
	char big[2000];
	(void)state;

	memset(big, 'x', sizeof(big));
	start(&st, PASSWORD);
	assert_false(redis_sub_subscribed(st.sub));
	assert_true(run_until(&st, &st.subscribed, 1, 5000));
	assert_true(redis_sub_subscribed(st.sub));
	assert_int_equal(publish("eirc:other", "no", 2), 0);
	assert_int_equal(publish(CHANNEL, "rooms 12 0", 10), 1);
	assert_int_equal(publish(CHANNEL, "a\0b\r\nc", 6), 1);
	assert_int_equal(publish(CHANNEL, big, sizeof(big)), 1);
	assert_true(run_until_msgs(&st, 3, 5000));
	/* and no more: the other channel's message never came */
	run_until_msgs(&st, 4, 300);
	assert_int_equal(st.n_msgs, 3);
	assert_int_equal(st.lens[0], 10);
	assert_memory_equal(st.msgs[0], "rooms 12 0", 10);
	assert_int_equal(st.lens[1], 6);
	assert_memory_equal(st.msgs[1], "a\0b\r\nc", 6);
	assert_int_equal(st.lens[2], sizeof(big));
	assert_memory_equal(st.msgs[2], big, sizeof(big));
	assert_int_equal(st.subscribed, 1);
	assert_int_equal(st.downs, 0);
	finish(&st);
}

static void test_restart_resubscribes(void **state)
{
	static struct state st;
	uint64_t t0;
	(void)state;

	start(&st, PASSWORD);
	assert_true(run_until(&st, &st.subscribed, 1, 5000));
	assert_int_equal(srv_stop(redis), 0);
	assert_true(run_until(&st, &st.downs, 1, 5000));
	assert_false(redis_sub_subscribed(st.sub));
	/* a few failed attempts while it is away */
	run_until(&st, &st.downs, 4, 1000);
	assert_true(st.downs >= 2);
	assert_int_equal(srv_restart(redis), 0);
	t0 = uv_hrtime();
	assert_true(run_until(&st, &st.subscribed, 2, 5000));
	print_message("resubscribed %.0f ms after Redis answered again\n",
		      (double)(uv_hrtime() - t0) / 1e6);
	assert_true(redis_sub_subscribed(st.sub));
	assert_int_equal(publish(CHANNEL, "role 3 0", 8), 1);
	assert_true(run_until_msgs(&st, 1, 5000));
	assert_memory_equal(st.msgs[0], "role 3 0", 8);
	finish(&st);
}

static void test_wrong_password(void **state)
{
	static struct state st;
	(void)state;

	start(&st, "not-the-password");
	assert_true(run_until(&st, &st.downs, 3, 5000));
	/* retried with the backoff (50..200 ms here), not at once in a loop */
	st.downs = 0;
	run_until(&st, &st.downs, 1000, 1000);
	print_message("%d attempts in 1 s with a wrong password\n", st.downs);
	assert_true(st.downs >= 3 && st.downs <= 25);
	assert_int_equal(st.subscribed, 0);
	assert_false(redis_sub_subscribed(st.sub));
	assert_int_equal(publish(CHANNEL, "x", 1), 0);
	finish(&st);
}

static void test_close_in_callback(void **state)
{
	static struct state st;
	(void)state;

	start(&st, PASSWORD);
	st.close_on_message = true;
	assert_true(run_until(&st, &st.subscribed, 1, 5000));
	assert_int_equal(publish(CHANNEL, "deleted 5 0", 11), 1);
	assert_int_equal(publish(CHANNEL, "deleted 6 0", 11), 1);
	assert_true(run_until_msgs(&st, 1, 5000));
	assert_null(st.sub);
	finish(&st); /* the loop ends: nothing left open */
	assert_int_equal(st.n_msgs, 1);
}

static void test_close_before_connected(void **state)
{
	static struct state st;
	(void)state;

	start(&st, PASSWORD);
	finish(&st);
	assert_int_equal(st.subscribed, 0);
	assert_int_equal(st.downs, 0);
}

static void test_bad_channel(void **state)
{
	static const redis_sub_cb_t cb = {on_subscribed, on_message, on_down};
	redis_opts_t o = {.host = "127.0.0.1", .port = 1};
	char longname[REDIS_SUB_CHANNEL_MAX + 2];
	redis_sub_t *s = NULL;
	uv_loop_t loop;
	(void)state;

	memset(longname, 'c', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(redis_sub_new(&loop, &o, "", &cb, NULL, &s), -EINVAL);
	assert_int_equal(redis_sub_new(&loop, &o, longname, &cb, NULL, &s), -EINVAL);
	assert_null(s);
	longname[REDIS_SUB_CHANNEL_MAX] = '\0';
	assert_int_equal(redis_sub_new(&loop, &o, longname, &cb, NULL, &s), 0);
	redis_sub_close(s, NULL);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_restart_resubscribes),
		cmocka_unit_test(test_wrong_password),
		cmocka_unit_test(test_close_in_callback),
		cmocka_unit_test(test_close_before_connected),
		cmocka_unit_test(test_bad_channel),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
