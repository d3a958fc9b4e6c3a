/*
 * Fault test: 20,000 messages from real IRC clients over 20 channels
 * (8 clients, each under InspIRCd's per-client command rate) while (a) Redis is restarted, (b) one
 * logger is kill -9'd and restarted while a second logger runs, (c) the Elasticsearch test server
 * is down for 30 s. Afterwards the archive holds every message sent, each exactly once (compared by
 * id: the unique text each client sent, and the msgid the server gave it), and Elasticsearch holds
 * the same set of msgids. Both loggers seal (integrity.signing_key): through all of it each
 * partition's log is one, every archive entry left the leaf its position says, none refused
 * (lgf_seal_check).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "archive/tlog.h"
#include "scripts/stack/launch.h"
#include "tests/integration/logger_fixture.h"

#define MESSAGES 20000
#define CHANNELS 20
#define CLIENTS  8
/* InspIRCd's gateway class: commandrate 100000 = 100 commands/s per client
 * before penalties; stay under it. */
#define RATE_PER_CLIENT 80
#define MAXE            40000

static srv_env_t *env;
static srv_t *redis, *ircd;
static struct lgf_proc es, lga, lgb;
static struct lgf_logger_cfg cfga, cfgb;
static char dir[512], chans[512];
static struct lgf_entry *ents;
static char integrity[1024];

static int setup(void **state)
{
	char skey[TLOG_SKEY_MAX];
	tlog_signer_t signer;
	size_t n = 0;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	if (lgf_env_start(&env, &redis, &ircd, dir, sizeof(dir)) < 0)
		return -1;
	if (lgf_es_start(dir, &es) < 0)
		return -1;
	n += (size_t)snprintf(chans + n, sizeof(chans) - n, "[");
	for (int i = 0; i < CHANNELS; i++)
		n += (size_t)snprintf(chans + n, sizeof(chans) - n, "%s\"#f%d\"", i ? ", " : "", i);
	snprintf(chans + n, sizeof(chans) - n, "]");
	cfga = (struct lgf_logger_cfg){
		dir, "lga", srv_port(ircd), srv_port(redis), es.port, chans, NULL, NULL, 0};
	cfgb = cfga;
	cfgb.nick = "lgb";
	if (sodium_init() < 0 || tlog_signer_generate("fault.test", &signer) < 0 ||
	    tlog_signer_format(&signer, skey, sizeof(skey)) < 0)
		return -1;
	snprintf(integrity, sizeof(integrity),
		 "integrity:\n  signing_key: %s\n  origin: fault.test/archive\n"
		 "  seal_interval: 200ms\n",
		 skey);
	lgf_use_extra(integrity);
	ents = calloc(MAXE, sizeof(*ents));
	return lgf_logger_start(&cfga, &lga) || lgf_logger_start(&cfgb, &lgb);
}

static int teardown(void **state)
{
	(void)state;
	lgf_proc_stop(&lga, SIGTERM); /* stopped already unless test_clean_stop failed */
	lgf_proc_stop(&lgb, SIGTERM);
	lgf_proc_stop(&es, SIGTERM);
	free(ents);
	srv_env_free(env);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct joined {
	redisContext *rc;
	size_t want;
};

static bool loggers_joined(void *ud)
{
	struct joined *j = ud;
	size_t n = lgf_all_history(j->rc, ents, MAXE), c = 0;

	for (size_t i = 0; i < n; i++)
		c += !strcmp(ents[i].type, "join") &&
		     (!strcmp(ents[i].nick, "lga") || !strcmp(ents[i].nick, "lgb"));
	return c >= j->want;
}

static void send_all(struct lgf_irc *cl)
{
	long long t0 = 0;
	struct timespec ts;

	for (int i = 0; i < MESSAGES; i++) {
		if (i % 200 == 0) { /* pace: 200 messages per 200/(CLIENTS*RATE) s */
			clock_gettime(CLOCK_MONOTONIC, &ts);
			long long now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
			long long due = t0 + 200LL * 1000 / (CLIENTS * RATE_PER_CLIENT);
			if (t0 && now < due)
				lgf_sleep_ms((int)(due - now));
			clock_gettime(CLOCK_MONOTONIC, &ts);
			t0 = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		}
		struct lgf_irc *c = &cl[i % CLIENTS];
		if (lgf_irc_send(c, "PRIVMSG #f%d :f-%d", i % CHANNELS, i) < 0) {
			char line[512] = "";
			lgf_irc_wait(c, "ERROR", 1000, line, sizeof(line));
			fprintf(stderr, "client %d lost at message %d: %s (%s)\n", i % CLIENTS, i,
				line, strerror(errno));
			(void)!system(
				"tail -5 $(ls -d /tmp/eirc-test-*/inspircd* | head -1)/*.log >&2");
			fail();
		}
		if (i % 200 == 199) /* the server processed everything so far: no flood */
			for (int k = 0; k < CLIENTS; k++) {
				lgf_irc_send(&cl[k], "PING :sync%d", i);
				if (lgf_irc_wait(&cl[k], "PONG", 10000, NULL, 0) < 0) {
					char line[512] = "";
					char cmd[600];
					lgf_irc_wait(&cl[k], "", 1000, line, sizeof(line));
					snprintf(cmd, sizeof(cmd),
						 "grep -h sender %s/*.log | tail -3 >&2",
						 srv_data_dir(ircd));
					(void)!system(cmd);
					fail_msg("no PONG for client %d at %d (%s)", k, i, line);
				}
			}
		if (i == 4000) { /* (a) Redis restarted */
			assert_int_equal(srv_stop(redis), 0);
			lgf_sleep_ms(1500);
			assert_int_equal(srv_restart(redis), 0);
		} else if (i == 9000) { /* (b) kill -9 one logger while the other runs */
			lgf_proc_stop(&lga, SIGKILL);
			lgf_sleep_ms(1000);
			assert_int_equal(lgf_logger_start(&cfga, &lga), 0);
		} else if (i == 12000) { /* (c) Elasticsearch down for 30 s */
			assert_int_equal(lgf_es_control(es.port, "down", "{\"seconds\":30}"), 0);
		}
	}
}

struct done {
	redisContext *rc;
	size_t texts;
};

static bool all_archived(void *ud)
{
	struct done *d = ud;
	size_t n = lgf_all_history(d->rc, ents, MAXE);

	d->texts = 0;
	for (size_t i = 0; i < n; i++)
		d->texts += !strcmp(ents[i].type, "privmsg") && !strncmp(ents[i].text, "f-", 2);
	return d->texts >= MESSAGES;
}

/* The sorted msgids of the sent messages; checks each text once. */
static char **archived_ids(redisContext *rc, size_t *out_n)
{
	size_t n = lgf_all_history(rc, ents, MAXE), m = 0;
	char **ids = calloc(MESSAGES + 1, sizeof(*ids));
	unsigned char *seen = calloc(MESSAGES, 1);

	for (size_t i = 0; i < n; i++) {
		if (strcmp(ents[i].type, "privmsg") || strncmp(ents[i].text, "f-", 2))
			continue;
		long t = strtol(ents[i].text + 2, NULL, 10);
		assert_true(t >= 0 && t < MESSAGES);
		if (seen[t]++)
			fail_msg("message f-%ld archived twice", t);
		assert_true(m < MESSAGES);
		ids[m++] = ents[i].msgid;
	}
	for (long t = 0; t < MESSAGES; t++)
		if (!seen[t])
			fail_msg("message f-%ld missing from the archive", t);
	qsort(ids, m, sizeof(*ids), cmp_str);
	for (size_t i = 1; i < m; i++)
		if (!strcmp(ids[i - 1], ids[i]))
			fail_msg("msgid %s archived twice", ids[i]);
	free(seen);
	*out_n = m;
	return ids;
}

struct es_check {
	char **ids;
	size_t n, missing;
};

static bool es_has_all(void *ud)
{
	struct es_check *c = ud;
	char *body = lgf_http_get(es.port, "/_eirc_test/ids");
	json_t *j = body ? json_loads(body, 0, NULL) : NULL, *list, *v;
	const char *index;
	size_t i, n = 0, cap = 65536;
	char **have = malloc(cap * sizeof(*have));

	free(body);
	json_object_foreach(json_object_get(j, "ids"), index, list) json_array_foreach(list, i, v)
	{
		if (n == cap)
			have = realloc(have, (cap *= 2) * sizeof(*have));
		have[n++] = (char *)json_string_value(v);
	}
	qsort(have, n, sizeof(*have), cmp_str);
	c->missing = 0;
	for (size_t k = 0; k < c->n; k++)
		if (!bsearch(&c->ids[k], have, n, sizeof(*have), cmp_str))
			c->missing++;
	free(have);
	json_decref(j);
	return c->missing == 0;
}

struct sealed {
	redisContext *rc;
	char why[256];
};

/* Every partition's log caught up and right (lgf_seal_check); also true,
 * with why set, when one is wrong. */
static bool all_sealed(void *ud)
{
	struct sealed *sc = ud;

	for (int k = 0; k < LGF_PARTITIONS; k++) {
		int rv = lgf_seal_check(sc->rc, k, sc->why, sizeof(sc->why));
		if (rv < 0)
			return true;
		if (rv == 0)
			return false;
	}
	return true;
}

static void test_faults(void **state)
{
	redisContext *rc = lgf_redis(srv_port(redis));
	struct joined j = {rc, 2 * CHANNELS};
	struct lgf_irc cl[CLIENTS];
	struct done d = {NULL, 0};
	struct es_check ec;
	struct sealed sc = {rc, ""};
	char nick[16];

	(void)state;
	for (int k = 0; k < CLIENTS; k++) {
		snprintf(nick, sizeof(nick), "sender%d", k);
		assert_int_equal(lgf_irc_connect(srv_port(ircd), nick, NULL, &cl[k]), 0);
		for (int c = 0; c < CHANNELS; c++)
			lgf_irc_send(&cl[k], "JOIN #f%d", c);
		assert_int_equal(lgf_irc_wait(&cl[k], "#f19 :End of", 10000, NULL, 0), 0);
	}
	/* the senders created the channels (a capture bot creates none): the
	 * server joined both loggers into each */
	assert_true(lgf_wait_for(loggers_joined, &j, 30000));
	send_all(cl);
	redisFree(rc);
	rc = lgf_redis(srv_port(redis));
	d.rc = rc;
	sc.rc = rc;
	if (!lgf_wait_for(all_archived, &d, 120000))
		fail_msg("only %zu of %d messages archived (logs %s, %s)", d.texts, MESSAGES,
			 lga.log, lgb.log);
	ec.ids = archived_ids(rc, &ec.n);
	assert_int_equal(ec.n, MESSAGES);
	if (!lgf_wait_for(es_has_all, &ec, 150000))
		fail_msg("%zu of %zu msgids missing from Elasticsearch", ec.missing, ec.n);
	free(ec.ids);
	if (!lgf_wait_for(all_sealed, &sc, 60000))
		fail_msg("a partition's log is behind its archive");
	if (sc.why[0])
		fail_msg("%s", sc.why);
	for (int k = 0; k < CLIENTS; k++)
		lgf_irc_close(&cl[k]);
	redisFree(rc);
	assert_true(lgf_proc_alive(&lga) && lgf_proc_alive(&lgb));
}

/* Last: both eirc-loggers exit 0 on SIGTERM, which they do only with every
 * libuv handle closed (and, under ASan, nothing leaked). Checked here, not
 * in the group teardown: cmocka 1.1 ignores a failing group teardown. */
static void test_clean_stop(void **state)
{
	int a = lgf_proc_stop(&lga, SIGTERM), b = lgf_proc_stop(&lgb, SIGTERM);

	(void)state;
	if (a != 0 || b != 0)
		fail_msg("eirc-logger exit status %d (log %s), %d (log %s)", a, lga.log, b,
			 lgb.log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_clean_stop),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
