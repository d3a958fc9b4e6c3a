/*
 * eirc-logger against real InspIRCd and Redis and the Elasticsearch test
 * server: every event type lands with its fields; two loggers archive each
 * message once; the shipper survives 429s, 500s and per-item 400s and
 * indexes every message exactly once, the 400s in the dead-letter stream;
 * bad input never crashes it, and a line it refuses is logged and counted;
 * /metrics, /healthz and /readyz answer; SIGTERM exits cleanly.
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

#include <jansson.h>

#include "scripts/stack/launch.h"
#include "tests/harness/http_test.h"
#include "tests/integration/logger_fixture.h"

#define MAXE 20000

static srv_env_t *env;
static srv_t *redis, *ircd;
static struct lgf_proc es, lg1;
static redisContext *rc;
static struct lgf_entry *ents;
static char dir[512];
static int metrics_port;

static int setup(void **state)
{
	(void)state;
	if (lgf_env_start(&env, &redis, &ircd, dir, sizeof(dir)) < 0)
		return -1;
	if (lgf_es_start(dir, &es) < 0 || !(rc = lgf_redis(srv_port(redis))))
		return -1;
	metrics_port = srv_free_port();
	struct lgf_logger_cfg c = {dir,
				   "lg1",
				   srv_port(ircd),
				   srv_port(redis),
				   es.port,
				   "[\"#evt\", \"#two\", \"#ship\"]",
				   NULL,
				   NULL,
				   metrics_port};
	ents = calloc(MAXE, sizeof(*ents));
	return lgf_logger_start(&c, &lg1);
}

static int teardown(void **state)
{
	(void)state;
	lgf_proc_stop(&lg1, SIGTERM); /* stopped already unless test_clean_stop failed */
	lgf_proc_stop(&es, SIGTERM);
	redisFree(rc);
	free(ents);
	srv_env_free(env);
	return 0;
}

static size_t count_type(const char *chan, const char *type, const char *nick)
{
	size_t n = lgf_history(rc, chan, ents, MAXE), c = 0;

	for (size_t i = 0; i < n; i++)
		if (!strcmp(ents[i].type, type) && (!nick || !strcmp(ents[i].nick, nick)))
			c++;
	return c;
}

struct want {
	const char *chan, *type, *nick;
	size_t n;
};

static bool has(void *ud)
{
	struct want *w = ud;

	return count_type(w->chan, w->type, w->nick) >= w->n;
}

static void wait_has(const char *chan, const char *type, const char *nick, size_t n)
{
	struct want w = {chan, type, nick, n};

	if (!lgf_wait_for(has, &w, 20000))
		fail_msg("no %zu %s by %s in %s (log %s)", n, type, nick ? nick : "*", chan,
			 lg1.log);
}

static const struct lgf_entry *find(const char *chan, const char *type, const char *nick)
{
	size_t n = lgf_history(rc, chan, ents, MAXE);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(ents[i].type, type) && !strcmp(ents[i].nick, nick))
			return &ents[i];
	fprintf(stderr, "no %s by %s in %s; it holds:\n", type, nick, chan);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "  %s %s %s [%s] %s\n", ents[i].msgid, ents[i].type, ents[i].nick,
			ents[i].text, ents[i].arg);
	return NULL;
}

static void test_every_event_type(void **state)
{
	struct lgf_irc a, b;
	const struct lgf_entry *e;

	(void)state;
	assert_int_equal(lgf_irc_connect(srv_port(ircd), "alice", "message-tags", &a), 0);
	assert_int_equal(lgf_irc_connect(srv_port(ircd), "bob", NULL, &b), 0);
	/* alice creates #evt (a capture bot creates no channel) and the
	 * server joins the logger at once */
	lgf_irc_send(&a, "JOIN #evt");
	lgf_irc_wait(&a, "366", 5000, NULL, 0);
	wait_has("#evt", "join", "lg1", 1);
	lgf_irc_send(&a, "MODE #evt -s");
	assert_int_equal(lgf_irc_wait(&a, " MODE #evt ", 5000, NULL, 0), 0);
	lgf_irc_send(&b, "JOIN #evt");
	lgf_irc_wait(&b, "366", 5000, NULL, 0);
	lgf_irc_send(&a, "PRIVMSG #evt :hello world");
	lgf_irc_send(&a, "NOTICE #evt :a notice");
	lgf_irc_send(&a, "@+typing=active TAGMSG #evt");
	lgf_irc_send(&a, "TOPIC #evt :the topic");
	lgf_irc_send(&a, "MODE #evt +v bob");
	lgf_irc_send(&a, "KICK #evt bob :out you go");
	assert_int_equal(lgf_irc_wait(&b, "KICK #evt bob", 5000, NULL, 0), 0);
	lgf_irc_send(&b, "JOIN #evt");
	lgf_irc_wait(&b, "366", 5000, NULL, 0);
	lgf_irc_send(&b, "PART #evt :leaving now");
	lgf_irc_send(&b, "JOIN #evt");
	lgf_irc_wait(&b, "366", 5000, NULL, 0);
	lgf_irc_send(&a, "NICK alice2");
	lgf_irc_wait(&a, "NICK", 5000, NULL, 0);
	lgf_irc_send(&a, "QUIT :gone for good");
	wait_has("#evt", "quit", "alice2", 1);

	assert_non_null(e = find("#evt", "privmsg", "alice"));
	assert_string_equal(e->text, "hello world");
	assert_string_equal(e->user, "ualice");
	assert_string_equal(e->conv, "#evt");
	assert_true(e->host[0] != '\0');
	assert_true(e->msgid[0] != '\0' && e->msgid[0] != '~'); /* the server's msgid */
	assert_non_null(strstr(e->tags, "msgid="));
	assert_non_null(strstr(e->tags, "time="));
	assert_true(e->time > 1600000000000LL);
	assert_non_null(e = find("#evt", "notice", "alice"));
	assert_string_equal(e->text, "a notice");
	assert_non_null(e = find("#evt", "tagmsg", "alice"));
	assert_non_null(strstr(e->tags, "+typing=active"));
	assert_non_null(e = find("#evt", "topic", "alice"));
	assert_string_equal(e->text, "the topic");
	assert_int_equal(count_type("#evt", "mode", "alice"), 2); /* -s, +v bob */
	size_t n = lgf_history(rc, "#evt", ents, MAXE);
	bool voiced = false;
	for (size_t i = 0; i < n; i++)
		voiced |= !strcmp(ents[i].type, "mode") && !strcmp(ents[i].text, "+v bob");
	assert_true(voiced);
	assert_non_null(e = find("#evt", "kick", "alice"));
	assert_string_equal(e->arg, "bob");
	assert_string_equal(e->text, "out you go");
	assert_non_null(e = find("#evt", "part", "bob"));
	assert_non_null(strstr(e->text, "leaving now"));
	assert_int_equal(e->msgid[0], '~'); /* derived */
	assert_int_equal(count_type("#evt", "join", "bob"), 3);
	assert_non_null(e = find("#evt", "nick", "alice"));
	assert_string_equal(e->arg, "alice2");
	assert_non_null(e = find("#evt", "quit", "alice2"));
	assert_non_null(strstr(e->text, "gone for good"));
	lgf_irc_close(&a);
	lgf_irc_close(&b);
}

static void msgids_unique(size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (!strcmp(ents[i].msgid, ents[j].msgid))
				fail_msg("msgid %s archived twice (%s)", ents[i].msgid,
					 ents[i].type);
}

static void test_two_loggers_archive_once(void **state)
{
	struct lgf_logger_cfg c = {
		dir, "lg2", srv_port(ircd), srv_port(redis), 0, "[\"#two\"]", NULL, NULL, 0};
	struct lgf_proc lg2;
	struct lgf_irc u, d;
	size_t n, texts = 0;

	(void)state;
	assert_int_equal(lgf_logger_start(&c, &lg2), 0);
	/* dan creates #two (a capture bot creates no channel), the server
	 * joins both loggers; carol's JOIN is then seen by both */
	assert_int_equal(lgf_irc_connect(srv_port(ircd), "dan", NULL, &d), 0);
	lgf_irc_send(&d, "JOIN #two");
	lgf_irc_wait(&d, "366", 5000, NULL, 0);
	wait_has("#two", "join", "lg1", 1);
	wait_has("#two", "join", "lg2", 1);
	assert_int_equal(lgf_irc_connect(srv_port(ircd), "carol", NULL, &u), 0);
	lgf_irc_send(&u, "JOIN #two");
	lgf_irc_wait(&u, "366", 5000, NULL, 0);
	for (int i = 0; i < 300; i++)
		lgf_irc_send(&u, "PRIVMSG #two :two-%d", i);
	lgf_irc_send(&u, "PART #two :done");
	wait_has("#two", "part", "carol", 1);
	lgf_sleep_ms(500);
	n = lgf_history(rc, "#two", ents, MAXE);
	for (size_t i = 0; i < n; i++)
		texts += !strcmp(ents[i].type, "privmsg");
	assert_int_equal(texts, 300);
	assert_int_equal(count_type("#two", "join", "carol"), 1);
	assert_int_equal(count_type("#two", "part", "carol"), 1);
	msgids_unique(n);
	/* both really were there: each logged its own join */
	assert_int_equal(count_type("#two", "join", "lg1"), 1);
	assert_int_equal(count_type("#two", "join", "lg2"), 1);
	n = lgf_archive(rc, ents, MAXE);
	msgids_unique(n);
	assert_int_equal(lgf_proc_stop(&lg2, SIGTERM), 0);
	lgf_irc_close(&u);
	lgf_irc_close(&d);
}

/* Every id Elasticsearch holds, as one JSON object; caller frees. */
static json_t *es_ids(void)
{
	char *body = lgf_http_get(es.port, "/_eirc_test/ids");
	json_t *j = body ? json_loads(body, 0, NULL) : NULL;

	free(body);
	return j;
}

static bool es_has_id(json_t *ids, const char *id)
{
	const char *index;
	json_t *list, *v;
	size_t i;

	json_object_foreach(json_object_get(ids, "ids"), index, list)
		json_array_foreach(list, i, v) if (!strcmp(json_string_value(v), id)) return true;
	return false;
}

struct ship_state {
	size_t archived, rejected;
};

static bool shipped_all(void *ud)
{
	struct ship_state *s = ud;
	size_t n = lgf_all_history(rc, ents, MAXE), missing = 0;
	json_t *ids = es_ids();

	s->archived = n;
	s->rejected = 0;
	for (size_t i = 0; i < n; i++) {
		if (strstr(ents[i].text, "REJECT-ME"))
			s->rejected++;
		else if (!es_has_id(ids, ents[i].msgid))
			missing++;
	}
	json_decref(ids);
	return n > 0 && missing == 0;
}

/* True once the ES test server has failed at least *(long *)ud whole
 * _bulk requests. */
static bool bulk_failed_at_least(void *ud)
{
	char *body = lgf_http_get(es.port, "/_eirc_test/stats");
	json_t *stats = body ? json_loads(body, 0, NULL) : NULL;
	bool ok = stats && json_integer_value(json_object_get(stats, "bulk_failed")) >= *(long *)ud;

	json_decref(stats);
	free(body);
	return ok;
}

static void test_shipper_survives_es_failures(void **state)
{
	struct ship_state st;
	struct lgf_irc u;
	redisReply *r;
	json_t *stats;
	char *body;

	(void)state;
	assert_int_equal(lgf_es_control(es.port, "reject", "{\"text\":\"REJECT-ME\"}"), 0);
	assert_int_equal(lgf_es_control(es.port, "fail", "{\"status\":500,\"count\":2}"), 0);
	assert_int_equal(lgf_es_control(es.port, "item_fail", "{\"status\":429,\"count\":40}"), 0);
	assert_int_equal(lgf_irc_connect(srv_port(ircd), "dave", NULL, &u), 0);
	lgf_irc_send(&u, "JOIN #ship");
	lgf_irc_wait(&u, "366", 5000, NULL, 0);
	for (int i = 0; i < 200; i++)
		lgf_irc_send(&u, "PRIVMSG #ship :%s-%d", i % 40 == 7 ? "REJECT-ME" : "ship", i);
	wait_has("#ship", "privmsg", "dave", 200);
	/* The server holds one whole-request failure setting at a time: arm the
	 * 429 only once both 500s were used, and before the PART, so a _bulk
	 * surely follows it (the shipper may have shipped all 200 already). */
	long two = 2;
	if (!lgf_wait_for(bulk_failed_at_least, &two, 30000))
		fail_msg("the shipper never retried through the two 500s (log %s)", lg1.log);
	assert_int_equal(lgf_es_control(es.port, "fail", "{\"status\":429,\"count\":1}"), 0);
	lgf_irc_send(&u, "PART #ship");
	wait_has("#ship", "part", "dave", 1);
	if (!lgf_wait_for(shipped_all, &st, 60000))
		fail_msg("not everything shipped (log %s)", lg1.log);
	assert_int_equal(st.rejected, 5);
	/* the five 400s are dead letters, with their error */
	long long dead = 0;
	for (int k = 0; k < LGF_PARTITIONS; k++) {
		r = redisCommand(rc, "XLEN eirc:{p%d}:archive:dead", k);
		dead += r->integer;
		freeReplyObject(r);
	}
	assert_int_equal(dead, 5);
	r = redisCommand(rc, "KEYS eirc:{p*}:archive:dead");
	redisReply *d = redisCommand(rc, "XRANGE %s - +", r->element[0]->str);
	assert_non_null(
		strstr(d->element[0]->element[1]->element[5]->str, "document_parsing_exception"));
	freeReplyObject(d);
	freeReplyObject(r);
	/* exactly once: every document created once, failures really happened */
	lgf_sleep_ms(500);
	body = lgf_http_get(es.port, "/_eirc_test/stats");
	stats = json_loads(body, 0, NULL);
	free(body);
	assert_int_equal(json_integer_value(json_object_get(stats, "docs")),
			 (json_int_t)(st.archived - st.rejected));
	assert_int_equal(json_integer_value(json_object_get(stats, "created")),
			 json_integer_value(json_object_get(stats, "docs")));
	assert_true(json_integer_value(json_object_get(stats, "bulk_failed")) >= 3);
	assert_true(json_integer_value(json_object_get(stats, "item_errors")) >= 45);
	json_decref(stats);
	lgf_irc_close(&u);
}

struct text_in {
	const char *path; /* a file, or NULL for /metrics */
	const char *needle;
};

static bool text_in(void *ud)
{
	struct text_in *t = ud;
	char *body = t->path ? lgf_slurp(t->path) : lgf_http_get(metrics_port, "/metrics");
	bool found = body && strstr(body, t->needle);

	free(body);
	return found;
}

/* The value of one /metrics series (name with its labels), -1 if absent. */
static long long metric(const char *series)
{
	return lgf_metric(metrics_port, series);
}

static void test_bad_input(void **state)
{
	static char big[6000];
	struct lgf_irc u;

	(void)state;
	assert_int_equal(lgf_irc_connect(srv_port(ircd), "erin", "message-tags", &u), 0);
	lgf_irc_send(&u, "JOIN #evt");
	lgf_irc_wait(&u, "366", 5000, NULL, 0);
	memset(big, 'x', sizeof(big) - 1);
	lgf_irc_send(&u, "@+huge=%s PRIVMSG #evt :huge tags", big);
	lgf_irc_send(&u, "PRIVMSG #evt :bad \xff\xfe utf-8");
	lgf_irc_send(&u, "FOOBAR #evt :unknown command");
	lgf_irc_send(&u, "JOIN #odd\x02name\xc3\xa9");
	lgf_irc_send(&u, "PRIVMSG #odd\x02name\xc3\xa9 :in an odd channel");
	lgf_irc_send(&u, "PRIVMSG #evt :after-bad");
	wait_has("#evt", "privmsg", "erin", 2);
	assert_true(lgf_proc_alive(&lg1));
	size_t n = lgf_history(rc, "#evt", ents, MAXE);
	bool bad = false, after = false;
	for (size_t i = 0; i < n; i++) {
		bad |= !strcmp(ents[i].text, "bad \xff\xfe utf-8");
		after |= !strcmp(ents[i].text, "after-bad");
		assert_null(strstr(ents[i].text, "huge tags")); /* refused by the server (417) */
	}
	assert_true(bad && after);

	/* What InspIRCd relays of the rest: the invalid UTF-8 (above) and an
	 * odd channel name. Both are archived as received (the archive is the
	 * record) and each is logged with its reason and counted. (Huge tags
	 * get a 417 and an unknown command a 421 from the server: they never
	 * reach the logger; lines it cannot frame or parse are covered by
	 * test_logger_badline.) */
	lgf_irc_send(&u, "INVITE lg1 #odd\x02name\xc3\xa9");
	wait_has("#odd\x02name\xc3\xa9", "join", "lg1", 1);
	lgf_irc_send(&u, "PRIVMSG #odd\x02name\xc3\xa9 :in an odd channel, archived");
	wait_has("#odd\x02name\xc3\xa9", "privmsg", "erin", 1);
	struct text_in metrics[] = {
		{NULL, "eirc_logger_events_flagged_total{reason=\"invalid_utf8\"} 1\n"},
		{lg1.log, "Archived a PRIVMSG from erin!uerin@127.0.0.1 in #evt as received: "
			  "invalid UTF-8"},
		/* log.h escapes the control character */
		{lg1.log, "in #odd\\x02name\xc3\xa9 as received: control characters in the "
			  "channel name"},
	};
	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		if (!lgf_wait_for(text_in, &metrics[i], 5000)) {
			char *m = lgf_http_get(metrics_port, "/metrics"), *log = lgf_slurp(lg1.log);
			fail_msg("odd input not counted or logged (%s):\n%s\n-- log --\n%s",
				 metrics[i].needle, m ? m : "", log ? log : "");
		}
	/* the bot's own JOIN and the PRIVMSG there, at least */
	assert_true(
		metric("eirc_logger_events_flagged_total{reason=\"control_chars_in_channel\"}") >=
		2);
	assert_int_equal(metric("eirc_logger_events_refused_total"), 0);
	assert_true(lgf_proc_alive(&lg1));
	lgf_irc_close(&u);
}

static void test_metrics(void **state)
{
	char *body;

	(void)state;
	body = lgf_http_get(metrics_port, "/metrics");
	assert_non_null(body);
	assert_non_null(strstr(body, "# TYPE eirc_logger_events_written_total counter"));
	assert_null(strstr(body, "eirc_logger_events_written_total 0\n"));
	assert_non_null(strstr(body, "eirc_logger_shipper_pending_entries"));
	free(body);
	body = lgf_http_get(metrics_port, "/other");
	assert_non_null(strstr(body, "not found"));
	free(body);
	/* registered to IRC, Redis up: alive and ready */
	assert_int_equal(ht_get(metrics_port, "/healthz", &body), 200);
	assert_string_equal(body, "ok\n");
	free(body);
	assert_int_equal(ht_get(metrics_port, "/readyz", &body), 200);
	assert_string_equal(body, "ready\n");
	free(body);
}

/* Last: eirc-logger exits 0 on SIGTERM, which it does only with every
 * libuv handle closed (and, under ASan, nothing leaked). Checked here, not
 * in the group teardown: cmocka 1.1 ignores a failing group teardown. */
static void test_clean_stop(void **state)
{
	int st = lgf_proc_stop(&lg1, SIGTERM);

	(void)state;
	if (st != 0)
		fail_msg("eirc-logger exit status %d (log %s)", st, lg1.log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_event_type),
		cmocka_unit_test(test_two_loggers_archive_once),
		cmocka_unit_test(test_shipper_survives_es_failures),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_clean_stop),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
