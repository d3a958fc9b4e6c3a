/*
 * Gaps across a restart of eirc-logger (real InspIRCd and Redis): a logger
 * that is kill -9'd and started again records a gap event in its channels
 * from its last heartbeat (written every LG_APP_SEEN_MS while it is in its
 * channels) to its new registration, so the auditor sees the hole; a
 * message sent while it was away is not in the archive and its time lies
 * inside the gap. A first start (no heartbeat yet) records no gap. The
 * logger is a capture bot (logger.irc_password): a channel nobody
 * configured, which the server joins it to, gets the gap too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "archive/archive_keys.h"
#include "common/clock.h"
#include "scripts/stack/launch.h"
#include "tests/integration/logger_fixture.h"

#define MAXE 1000

static srv_env_t *env;
static srv_t *redis, *ircd;
static redisContext *rc;
static struct lgf_entry *ents;
static char dir[512];

static int setup(void **state)
{
	(void)state;
	if (lgf_env_start(&env, &redis, &ircd, dir, sizeof(dir)) < 0)
		return -1;
	ents = calloc(MAXE, sizeof(*ents));
	return (rc = lgf_redis(srv_port(redis))) && ents ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	redisFree(rc);
	free(ents);
	srv_env_free(env);
	return 0;
}

static const char *seen_key(void)
{
	static char key[ARCHIVE_KEYS_KEY_MAX];

	if (archive_keys_seen(LGF_PARTITIONS, "eIRC", "lgr", key, sizeof(key)) < 0)
		fail_msg("no heartbeat key");
	return key;
}

/* The heartbeat the logger wrote, or 0. */
static long long heartbeat(void)
{
	redisReply *r = redisCommand(rc, "GET %s", seen_key());
	long long v = 0;

	if (r && r->type == REDIS_REPLY_STRING)
		v = strtoll(r->str, NULL, 10);
	if (r)
		freeReplyObject(r);
	return v;
}

static bool has_heartbeat_after(void *ud)
{
	return heartbeat() > *(long long *)ud;
}

/* The gap events by lgr in chan, into ents; returns how many. */
static size_t gaps_in(const char *chan, size_t *out_n)
{
	size_t n = lgf_history(rc, chan, ents, MAXE), g = 0;

	*out_n = n;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ents[i].type, "gap") && !strcmp(ents[i].nick, "lgr"))
			ents[g++] = ents[i];
	return g;
}

static size_t gaps(size_t *out_n)
{
	return gaps_in("#gap", out_n);
}

static bool has_gap(void *ud)
{
	size_t n;

	(void)ud;
	return gaps(&n) > 0;
}

static bool in_history(const char *text)
{
	size_t n = lgf_history(rc, "#gap", ents, MAXE);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(ents[i].type, "privmsg") && strstr(ents[i].text, text))
			return true;
	return false;
}

static void test_gap_across_restart(void **state)
{
	struct lgf_logger_cfg c = {
		dir, "lgr", srv_port(ircd), srv_port(redis), 0, "[\"#gap\"]", NULL, NULL, 0};
	struct lgf_proc lg;
	struct lgf_irc u;
	long long t0 = clock_wall_ms(), beat, t_kill, t_sent, t_restart, start, end;
	size_t n;

	(void)state;
	assert_int_equal(lgf_irc_connect(srv_port(ircd), "gapuser", NULL, &u), 0);
	lgf_irc_send(&u, "JOIN #gap");
	assert_int_equal(lgf_irc_wait(&u, " 366 ", 5000, NULL, 0), 0);
	lgf_irc_send(&u, "JOIN #adhoc-gap");
	assert_int_equal(lgf_irc_wait(&u, " 366 ", 5000, NULL, 0), 0);
	assert_int_equal(lgf_logger_start(&c, &lg), 0);
	assert_int_equal(lgf_irc_wait(&u, ":lgr!", 20000, NULL, 0), 0);
	/* in its channel, it writes its heartbeat */
	if (!lgf_wait_for(has_heartbeat_after, &t0, 10000))
		fail_msg("no heartbeat in %s (log %s)", seen_key(), lg.log);
	lgf_irc_send(&u, "PRIVMSG #gap :before the kill");
	assert_true(lgf_wait_for(has_gap, NULL, 1500) == false); /* first run: no gap */
	assert_true(in_history("before the kill"));
	/* the last heartbeat before the kill is at most LG_APP_SEEN_MS old */
	beat = heartbeat();
	lgf_wait_for(has_heartbeat_after, &beat, 3000);
	beat = heartbeat();
	t_kill = clock_wall_ms();
	assert_int_equal(lgf_proc_stop(&lg, SIGKILL), 128 + SIGKILL);
	assert_int_equal(lgf_irc_wait(&u, " QUIT ", 5000, NULL, 0), 0);
	lgf_sleep_ms(500);
	t_sent = clock_wall_ms();
	lgf_irc_send(&u, "PRIVMSG #gap :while no logger was there");
	lgf_sleep_ms(500);
	t_restart = clock_wall_ms();
	assert_int_equal(lgf_logger_start(&c, &lg), 0);
	if (!lgf_wait_for(has_gap, NULL, 20000))
		fail_msg("no gap event after the restart (log %s)", lg.log);
	assert_int_equal(gaps(&n), 1);
	start = ents[0].time;
	end = strtoll(ents[0].arg, NULL, 10);
	fprintf(stderr,
		"gap %lld..%lld; last heartbeat %lld, kill %lld, message %lld, restart %lld\n",
		start, end, beat, t_kill, t_sent, t_restart);
	/* from the last heartbeat of the first run to the new registration */
	assert_true(start >= beat);
	assert_true(start <= t_kill);
	assert_true(end >= t_restart);
	assert_true(end <= clock_wall_ms());
	/* the hole: the message sent meanwhile is not archived, and lies in it */
	assert_false(in_history("while no logger was there"));
	assert_true(start <= t_sent && t_sent <= end);
	/* the same gap in the channel the server joined it to */
	assert_int_equal(gaps_in("#adhoc-gap", &n), 1);
	assert_true(ents[0].time == start);
	assert_int_equal(strtoll(ents[0].arg, NULL, 10), end);
	/* and it keeps archiving */
	lgf_irc_send(&u, "PRIVMSG #gap :after the restart");
	lgf_irc_wait(&u, ":lgr!", 20000, NULL, 0);
	for (int i = 0; i < 100 && !in_history("after the restart"); i++) {
		lgf_irc_send(&u, "PRIVMSG #gap :after the restart %d", i);
		lgf_sleep_ms(100);
	}
	assert_true(in_history("after the restart"));
	assert_int_equal(lgf_proc_stop(&lg, SIGTERM), 0);
	lgf_irc_close(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gap_across_restart),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
