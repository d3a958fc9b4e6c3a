/*
 * eirc-logger and eirc-history on a real Redis Cluster of three masters
 * (srv_redis_cluster_start: redis-cli --cluster create, AOF on), with real
 * InspIRCd and the Elasticsearch test server:
 *   - the partitions' slots are spread over all three masters;
 *   - messages over many channels plus every event type: each message is in
 *     its channel's history stream exactly once, and every key lives on the
 *     master that owns its slot; the shipper indexes each message once;
 *   - eirc-history answers CHATHISTORY LATEST and BEFORE with exactly the
 *     expected ids; a direct message (reported by two irc-clients) is
 *     stored once and replayed to both;
 *   - with integrity.signing_key (both daemons), every partition's log is
 *     sealed on the master owning its slot: each archive entry left is the
 *     leaf its position says (recomputed with archive/tlog.h), none
 *     refused (eirc-history's direct message carries its MAC too), before
 *     and after the slot migration;
 *   - one partition's slot is migrated to another master (SETSLOT
 *     IMPORTING/MIGRATING + MIGRATE, then SETSLOT NODE) while messages
 *     flow: MOVED/ASK/TRYAGAIN are followed, still every message once (in
 *     history and in Elasticsearch), and history still answers;
 *   - one master loses its scripts (SCRIPT FLUSH): NOSCRIPT from that node
 *     is answered by a reload, nothing lost or doubled;
 *   - one master stops and comes back while messages arrive: buffered,
 *     then each message once (the last test: it counts as Redis errors);
 *   - a master (not the seed) set to allkeys-lru: a logger started then
 *     refuses the cluster, naming that master, and exits 1;
 *   - no error is swallowed: the logger's Redis error counter stays 0, no
 *     node ever answered CROSSSLOT or CLUSTERDOWN (INFO errorstats), and
 *     the bridge logged no Redis failure.
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "archive/archive_keys.h"
#include "archive/tlog.h"
#include "common/redis_slot.h"
#include "scripts/stack/launch.h"
#include "tests/harness/session_test.h"
#include "tests/integration/logger_fixture.h"

#define MASTERS    3
#define PARTITIONS 16
#define CHANS      12
#define ROUNDS     40 /* messages per channel per phase */
#define MAXMSG     (CHANS * ROUNDS * 8)
#define WEBIRC_PW  "webirc-cluster-test"

static srv_env_t *env;
static srv_t *nodes[MASTERS], *ircd, *history;
static redisContext *rc[MASTERS];
static struct lgf_proc es, logger;
static char dir[512], cfg_path[600], sock_path[108];
static int metrics_port, sender_port;
static char sender_class[1024];
static int slot_port[REDIS_SLOT_COUNT]; /* owner of each slot, by port */
static char integrity[1024];            /* the integrity section of both daemons */

/* What was sent: msgid and channel of each message, in order. */
static char sent_id[MAXMSG][128];
static int sent_chan[MAXMSG];
static size_t n_sent;
static struct lgf_irc sender;
static pid_t clients[2]; /* irc-clients, killed at teardown if a test failed */

static const char *chan(int i)
{
	static char names[CHANS][16];

	snprintf(names[i], sizeof(names[i]), "#c%d", i);
	return names[i];
}

static int chan_part(int i)
{
	return archive_keys_partition("eIRC", chan(i), strlen(chan(i)), IRC_CASEMAP_NONE,
				      PARTITIONS);
}

static void chan_key(int i, char *buf, size_t cap)
{
	assert_true(archive_keys_history(chan_part(i), "eIRC", chan(i), strlen(chan(i)),
					 IRC_CASEMAP_NONE, buf, cap) > 0);
}

static int part_slot(int k)
{
	char tag[16];

	snprintf(tag, sizeof(tag), "p%d", k);
	return redis_slot_of(tag, strlen(tag));
}

static int node_of_port(int port)
{
	for (int i = 0; i < MASTERS; i++)
		if (srv_port(nodes[i]) == port)
			return i;
	return -1;
}

/* Reads the slot map from node 0. */
static void read_map(void)
{
	redisReply *r = redisCommand(rc[0], "CLUSTER SLOTS");

	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	memset(slot_port, 0, sizeof(slot_port));
	for (size_t i = 0; i < r->elements; i++) {
		redisReply *e = r->element[i];
		for (long long s = e->element[0]->integer; s <= e->element[1]->integer; s++)
			slot_port[s] = (int)e->element[2]->element[1]->integer;
	}
	freeReplyObject(r);
	for (int s = 0; s < REDIS_SLOT_COUNT; s++)
		assert_true(slot_port[s] > 0);
}

static void write_config(void)
{
	FILE *f = fopen(cfg_path, "we");

	assert_non_null(f);
	fprintf(f,
		"irc:\n  network: eIRC\n  servers:\n    - host: 127.0.0.1\n      port: %d\n"
		"  webirc_password: " WEBIRC_PW "\n  connect_timeout: 5s\n"
		"auth:\n  internal_secret: \"0123456789abcdef0123456789\"\n"
		"irc_client:\n  flood_lines_per_second: 1000\n  flood_burst_lines: 1000\n"
		"redis:\n  host: 127.0.0.1\n  port: %d\n  cluster: true\n  partitions: %d\n"
		"  connect_timeout: 1s\n  command_timeout: 4s\n"
		"history:\n  socket_path: %s\n  socket_mode: \"0666\"\n  chathistory_max: "
		"100\n" SESSION_TEST_KEY_YAML "  listen_port: 0\n  request_timeout: 10s\n"
		"%slog:\n  level: info\n",
		srv_port(ircd), srv_port(nodes[1]), PARTITIONS, sock_path, integrity);
	fclose(f);
}

static int start_ircd(void)
{
	srv_ircd_opts_t o = {
		.webirc_password = WEBIRC_PW, .localmax = 100, .native_clients = "refuse"};

	sender_port = lgf_sender_class(50, sender_class, sizeof(sender_class));
	o.extra_binds = sender_class;
	return sender_port < 0 ? -1 : srv_inspircd_start(env, &o, &ircd);
}

static int setup(void **state)
{
	char list[512] = "[", bin[512], skey[TLOG_SKEY_MAX];
	struct lgf_logger_cfg lc = {0};
	tlog_signer_t signer;

	(void)state;
	srv_env_install_signal_handlers();
	signal(SIGPIPE, SIG_IGN);
	if (srv_env_new(NULL, &env) < 0 || srv_redis_cluster_start(env, MASTERS, nodes) < 0 ||
	    start_ircd() < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s", srv_env_dir(env));
	chmod(dir, 0755); /* the sandboxed irc-client runs as nobody */
	for (int i = 0; i < MASTERS; i++)
		if (!(rc[i] = lgf_redis(srv_port(nodes[i]))))
			return -1;
	if (lgf_es_start(dir, &es) < 0)
		return -1;
	for (int i = 0; i < CHANS; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s\"%s\"",
			 i ? ", " : "", chan(i));
	strcat(list, "]");
	metrics_port = srv_free_port();
	lc = (struct lgf_logger_cfg){.dir = dir,
				     .nick = "clogger",
				     .irc_port = srv_port(ircd),
				     .redis_port = srv_port(nodes[2]),
				     .es_port = es.port,
				     .channels = list,
				     .metrics_port = metrics_port};
	lgf_use_ircd(ircd); /* a capture bot: InspIRCd refuses plain clients */
	if (sodium_init() < 0 || tlog_signer_generate("cluster.test", &signer) < 0 ||
	    tlog_signer_format(&signer, skey, sizeof(skey)) < 0)
		return -1;
	snprintf(integrity, sizeof(integrity),
		 "integrity:\n  signing_key: %s\n  origin: cluster.test/archive\n"
		 "  seal_interval: 200ms\n  checkpoint_interval: 1s\n",
		 skey);
	lgf_use_extra(integrity);
	if (lgf_logger_start_redis(&lc, PARTITIONS, "  cluster: true\n", &logger) < 0)
		return -1;
	snprintf(cfg_path, sizeof(cfg_path), "%s/eirc.yaml", dir);
	snprintf(sock_path, sizeof(sock_path), "%.90s/hist.sock", dir);
	write_config();
	snprintf(bin, sizeof(bin), "%s/history-bridge/eirc-history", getenv("EIRC_BUILD_DIR"));
	char *argv[] = {bin, (char *)"--config", cfg_path, NULL};
	return srv_process_start(env, "eirc-history", argv, 0, NULL, &history);
}

/* No sanitizer report in a process's log. */
static bool log_clean(const char *path)
{
	char line[4096];
	FILE *f = fopen(path, "re");
	bool clean = f != NULL;

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "Sanitizer") || strstr(line, "runtime error:")) {
			fprintf(stderr, "%s", line);
			clean = false;
		}
	if (f)
		fclose(f);
	return clean;
}

static int teardown(void **state)
{
	int st;

	(void)state;
	for (int i = 0; i < 2; i++)
		if (clients[i] > 0) {
			kill(clients[i], SIGKILL);
			waitpid(clients[i], &st, 0);
		}
	lgf_irc_close(&sender);
	st = lgf_proc_stop(&logger, SIGTERM);
	if (st != 0)
		fprintf(stderr, "eirc-logger exit status %d (log %s)\n", st, logger.log);
	lgf_proc_stop(&es, SIGTERM);
	if (history && (srv_stop(history) != 0 || !log_clean(srv_log_path(history)))) {
		fprintf(stderr, "eirc-history did not exit cleanly (log %s)\n",
			srv_log_path(history));
		st = -1;
	}
	for (int i = 0; i < MASTERS; i++)
		if (rc[i])
			redisFree(rc[i]);
	srv_env_free(env);
	return st == 0 ? 0 : -1;
}

/* ---- what the cluster holds ---- */

static void tag_of(const char *line, const char *key, char *out, size_t cap)
{
	char want[64];
	const char *p, *end;

	out[0] = '\0';
	snprintf(want, sizeof(want), "%s=", key);
	if (line[0] != '@' || !(p = strstr(line, want)))
		return;
	p += strlen(want);
	end = p + strcspn(p, "; ");
	snprintf(out, cap, "%.*s", (int)(end - p), p);
}

static int sent_index(const char *msgid)
{
	for (size_t i = 0; i < n_sent; i++)
		if (strcmp(sent_id[i], msgid) == 0)
			return (int)i;
	return -1;
}

/* Scans every key of every master: each must be in a slot that master owns
 * (per CLUSTER SLOTS); counts each sent message found in history streams
 * into seen[] and checks it is in its own channel's stream. Returns how many
 * sent messages were seen exactly once; *dups the ones seen more. */
static size_t scan_cluster(unsigned *seen, size_t *dups)
{
	static struct lgf_entry ents[MAXMSG * 2];
	size_t once = 0;

	memset(seen, 0, n_sent * sizeof(*seen));
	for (int i = 0; i < MASTERS; i++) {
		char cursor[32] = "0";
		do {
			redisReply *r =
				redisCommand(rc[i], "SCAN %s MATCH eirc:* COUNT 1000", cursor);
			assert_non_null(r);
			assert_int_equal(r->type, REDIS_REPLY_ARRAY);
			snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
			for (size_t j = 0; j < r->element[1]->elements; j++) {
				const redisReply *k = r->element[1]->element[j];
				int s = redis_slot_of(k->str, k->len);
				if (slot_port[s] != srv_port(nodes[i]))
					fail_msg("%s (slot %d) is on :%d, its slot is owned by :%d",
						 k->str, s, srv_port(nodes[i]), slot_port[s]);
				if (!strstr(k->str, ":history:eIRC:#c"))
					continue;
				size_t n = lgf_stream(rc[i], k->str, ents, MAXMSG * 2);
				for (size_t e = 0; e < n; e++) {
					int m = strcmp(ents[e].type, "privmsg")
							? -1
							: sent_index(ents[e].msgid);
					char want[ARCHIVE_KEYS_KEY_MAX];
					if (m < 0)
						continue;
					chan_key(sent_chan[m], want, sizeof(want));
					assert_string_equal(k->str, want);
					seen[m]++;
				}
			}
			freeReplyObject(r);
		} while (strcmp(cursor, "0") != 0);
	}
	*dups = 0;
	for (size_t m = 0; m < n_sent; m++) {
		once += seen[m] == 1;
		*dups += seen[m] > 1;
	}
	return once;
}

static bool all_once(void *ud)
{
	static unsigned seen[MAXMSG];
	size_t dups;

	(void)ud;
	return scan_cluster(seen, &dups) == n_sent;
}

static void expect_all_archived_once(const char *when)
{
	static unsigned seen[MAXMSG];
	size_t dups, once;

	if (lgf_wait_for(all_once, NULL, 60000))
		return;
	once = scan_cluster(seen, &dups);
	for (size_t m = 0; m < n_sent; m++)
		if (seen[m] != 1)
			fprintf(stderr, "  %s in %s seen %u times\n", sent_id[m],
				chan(sent_chan[m]), seen[m]);
	fail_msg("%s: %zu of %zu messages archived once, %zu more than once (log %s)", when, once,
		 n_sent, dups, logger.log);
}

/* Every sent message indexed in Elasticsearch exactly once. */
static size_t es_once(void)
{
	char *body = lgf_http_get(es.port, "/_eirc_test/ids");
	json_t *j = body ? json_loads(body, 0, NULL) : NULL, *list, *v;
	static unsigned seen[MAXMSG];
	const char *index;
	size_t i, once = 0;

	free(body);
	memset(seen, 0, sizeof(seen));
	json_object_foreach(json_object_get(j, "ids"), index, list) json_array_foreach(list, i, v)
	{
		int m = sent_index(json_string_value(v));
		if (m >= 0)
			seen[m]++;
	}
	json_decref(j);
	for (size_t m = 0; m < n_sent; m++)
		once += seen[m] == 1;
	return once;
}

static bool es_all_once(void *ud)
{
	(void)ud;
	return es_once() == n_sent;
}

/* ---- sending ---- */

static void sender_start(void)
{
	char line[9000];

	assert_int_equal(lgf_irc_connect_webirc(sender_port, WEBIRC_PW, "sender", "300",
						"echo-message message-tags server-time", &sender),
			 0);
	for (int i = 0; i < CHANS; i++) {
		lgf_irc_send(&sender, "JOIN %s", chan(i));
		assert_int_equal(lgf_irc_wait(&sender, " 366 ", 5000, NULL, 0), 0);
	}
	/* the logger is in every channel before anything is said */
	for (int i = 0; i < CHANS; i++) {
		bool in = false;
		for (int t = 0; t < 100 && !in; t++) {
			lgf_irc_send(&sender, "NAMES %s", chan(i));
			assert_int_equal(lgf_irc_wait(&sender, " 353 ", 5000, line, sizeof(line)),
					 0);
			in = strstr(line, "clogger") != NULL;
			if (!in)
				lgf_sleep_ms(100);
		}
		assert_true(in);
	}
}

/* Sends rounds messages to each channel in `chans` (a bit mask) without
 * waiting: the echoes are read by collect(). */
static size_t unread;

static void send_burst(unsigned chans, int rounds, int base)
{
	for (int r = 0; r < rounds; r++)
		for (int c = 0; c < CHANS; c++)
			if (chans & (1u << c)) {
				assert_true(n_sent < MAXMSG);
				sent_chan[n_sent++] = c;
				unread++;
				lgf_irc_send(&sender, "PRIVMSG %s :m%d-%d", chan(c), base + r, c);
			}
}

/* Reads the echoes of what was sent and records their msgids. */
static void collect(void)
{
	char line[9000], text[64];

	for (size_t m = n_sent - unread; m < n_sent; m++) {
		snprintf(text, sizeof(text), "PRIVMSG %s :m", chan(sent_chan[m]));
		assert_int_equal(lgf_irc_wait(&sender, text, 10000, line, sizeof(line)), 0);
		tag_of(line, "msgid", sent_id[m], sizeof(sent_id[m]));
		assert_true(sent_id[m][0]);
	}
	unread = 0;
}

static void send_round(unsigned chans, int base)
{
	send_burst(chans, ROUNDS, base);
	collect();
}

/* ---- the bridge ---- */

struct answer {
	char ids[200][128];
	size_t n;
	char fail[256];
};

static int bridge_connect(struct lgf_irc *h)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(h, 0, sizeof(*h));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	h->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return h->fd >= 0 && connect(h->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
			       session_test_hello(h->fd, 9) == 0
		       ? 0
		       : -1;
}

/* One request on the bridge's socket, as an irc-client sends it. */
static void bridge_ask(struct answer *a, const char *fmt, ...)
{
	static int label;
	char req[512], line[9000], done[32];
	struct lgf_irc h;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(req, sizeof(req), fmt, ap);
	va_end(ap);
	memset(a, 0, sizeof(*a));
	assert_int_equal(bridge_connect(&h), 0);
	snprintf(done, sizeof(done), "EIRC DONE l%d", ++label);
	lgf_irc_send(&h, "@eirc/user=9;eirc/nick=reader;label=l%d CHATHISTORY %s", label, req);
	for (;;) {
		if (lgf_irc_wait(&h, "", 10000, line, sizeof(line)) < 0)
			fail_msg("no answer to CHATHISTORY %s", req);
		if (strstr(line, done))
			break;
		if (strstr(line, " FAIL "))
			snprintf(a->fail, sizeof(a->fail), "%.255s", line);
		if (strstr(line, " PRIVMSG ") && a->n < 200)
			tag_of(line, "msgid", a->ids[a->n++], sizeof(a->ids[0]));
	}
	lgf_irc_close(&h);
}

/* The msgids sent to channel c, oldest first, into out; returns the count. */
static size_t chan_ids(int c, const char **out, size_t max)
{
	size_t n = 0;

	for (size_t m = 0; m < n_sent && n < max; m++)
		if (sent_chan[m] == c)
			out[n++] = sent_id[m];
	return n;
}

static void expect_history(int c)
{
	static const char *ids[MAXMSG];
	struct answer a;
	size_t n = chan_ids(c, ids, MAXMSG);

	assert_true(n > 30);
	bridge_ask(&a, "LATEST %s * 25", chan(c));
	if (a.fail[0])
		fail_msg("LATEST %s: %s", chan(c), a.fail);
	assert_int_equal(a.n, 25);
	for (size_t i = 0; i < 25; i++)
		assert_string_equal(a.ids[i], ids[n - 25 + i]);
	bridge_ask(&a, "BEFORE %s msgid=%s 10", chan(c), ids[20]);
	if (a.fail[0])
		fail_msg("BEFORE %s: %s", chan(c), a.fail);
	assert_int_equal(a.n, 10);
	for (size_t i = 0; i < 10; i++)
		assert_string_equal(a.ids[i], ids[10 + i]);
}

/* ---- checks that nothing went wrong quietly ---- */

static long long metric(const char *name)
{
	return lgf_metric(metrics_port, name);
}

/* Errors each node answered, from INFO errorstats; none may be a routing
 * mistake. Returns the redirects (MOVED + ASK) node i answered. */
static long long node_errors(int i)
{
	redisReply *r = redisCommand(rc[i], "INFO errorstats");
	long long redirects = 0;
	char *p;

	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_STRING);
	if (strstr(r->str, "CROSSSLOT") || strstr(r->str, "CLUSTERDOWN"))
		fail_msg("node :%d answered a routing error:\n%s", srv_port(nodes[i]), r->str);
	if ((p = strstr(r->str, "errorstat_MOVED:count=")))
		redirects += strtoll(p + 22, NULL, 10);
	if ((p = strstr(r->str, "errorstat_ASK:count=")))
		redirects += strtoll(p + 20, NULL, 10);
	fprintf(stderr, "# node :%d errorstats: %s\n", srv_port(nodes[i]),
		strchr(r->str, '\n') ? strchr(r->str, '\n') + 1 : "");
	freeReplyObject(r);
	return redirects;
}

static void expect_no_quiet_errors(void)
{
	char *log;
	FILE *f;

	assert_int_equal(metric("eirc_logger_redis_errors_total"), 0);
	assert_int_equal(metric("eirc_logger_events_lost_total"), 0);
	for (int i = 0; i < MASTERS; i++)
		(void)node_errors(i);
	f = fopen(srv_log_path(history), "re");
	assert_non_null(f);
	log = calloc(1, 1 << 20);
	assert_non_null(log);
	(void)!fread(log, 1, (1 << 20) - 1, f);
	fclose(f);
	if (strstr(log, "failed in Redis") || strstr(log, "CROSSSLOT") ||
	    strstr(log, "unavailable"))
		fail_msg("eirc-history logged a Redis failure:\n%s", log);
	free(log);
}

/* ---- the logs ---- */

/* Every partition's log is sealed and right on the master owning its slot
 * (lgf_seal_check). */
static bool all_sealed(void *ud)
{
	char *why = ud;

	for (int k = 0; k < PARTITIONS; k++) {
		int node = node_of_port(slot_port[part_slot(k)]);
		int rv = lgf_seal_check(rc[node], k, why, 256);
		if (rv < 0)
			return true; /* wrong: stop waiting, the caller fails */
		if (rv == 0)
			return false;
	}
	return true;
}

static void expect_all_sealed(const char *when)
{
	char why[256] = "";

	read_map();
	if (!lgf_wait_for(all_sealed, why, 30000))
		fail_msg("%s: a partition's log is behind its archive", when);
	if (why[0])
		fail_msg("%s: %s", when, why);
	assert_true(metric("eirc_logger_sealed_total") > 0);
	assert_int_equal(metric("eirc_logger_seal_rejected_total"), 0);
}

/* ---- the tests ---- */

static void test_partitions_spread(void **state)
{
	int per_node[MASTERS] = {0}, chans_per_node[MASTERS] = {0};

	(void)state;
	read_map();
	for (int k = 0; k < PARTITIONS; k++)
		per_node[node_of_port(slot_port[part_slot(k)])]++;
	for (int c = 0; c < CHANS; c++)
		chans_per_node[node_of_port(slot_port[part_slot(chan_part(c))])]++;
	for (int i = 0; i < MASTERS; i++) {
		fprintf(stderr, "# master :%d owns %d partitions, %d of the channels\n",
			srv_port(nodes[i]), per_node[i], chans_per_node[i]);
		assert_true(per_node[i] > 0);
		assert_true(chans_per_node[i] > 0);
	}
}

static void test_messages_and_events(void **state)
{
	struct lgf_irc a, b;

	(void)state;
	sender_start();
	send_round((1u << CHANS) - 1, 0);
	/* every event type, in #c0, by users who are not the sender */
	assert_int_equal(lgf_irc_connect_webirc(srv_port(ircd), WEBIRC_PW, "alice", "301",
						"message-tags", &a),
			 0);
	assert_int_equal(lgf_irc_connect_webirc(srv_port(ircd), WEBIRC_PW, "bob", "302", NULL, &b),
			 0);
	lgf_irc_send(&a, "JOIN #c0");
	assert_int_equal(lgf_irc_wait(&a, " 366 ", 5000, NULL, 0), 0);
	lgf_irc_send(&a, "OPER eirc %s", srv_oper_password(ircd));
	assert_int_equal(lgf_irc_wait(&a, " 381 ", 5000, NULL, 0), 0);
	lgf_irc_send(&a, "SAMODE #c0 +o alice");
	assert_int_equal(lgf_irc_wait(&a, " MODE #c0 +o", 5000, NULL, 0), 0);
	lgf_irc_send(&b, "JOIN #c0");
	assert_int_equal(lgf_irc_wait(&b, " 366 ", 5000, NULL, 0), 0);
	lgf_irc_send(&a, "NOTICE #c0 :a notice");
	lgf_irc_send(&a, "@+typing=active TAGMSG #c0");
	lgf_irc_send(&a, "TOPIC #c0 :the topic");
	lgf_irc_send(&a, "MODE #c0 +v bob");
	lgf_irc_send(&a, "KICK #c0 bob :out");
	assert_int_equal(lgf_irc_wait(&b, "KICK #c0 bob", 5000, NULL, 0), 0);
	lgf_irc_send(&b, "JOIN #c0");
	assert_int_equal(lgf_irc_wait(&b, " 366 ", 5000, NULL, 0), 0);
	lgf_irc_send(&b, "PART #c0 :leaving");
	lgf_irc_send(&a, "NICK alice|2"); /* nicks belong to accounts (m_eirc_account) */
	assert_int_equal(lgf_irc_wait(&a, "NICK", 5000, NULL, 0), 0);
	lgf_irc_send(&a, "QUIT :gone");
	lgf_irc_close(&b);
	send_round((1u << CHANS) - 1, ROUNDS);
	lgf_irc_close(&a);
	expect_all_archived_once("before the migration");

	/* the events are in #c0's stream, on its master */
	static struct lgf_entry ents[MAXMSG];
	static const char *const types[] = {"join", "notice", "tagmsg", "topic", "mode",
					    "kick", "part",   "nick",   "quit"};
	char key[ARCHIVE_KEYS_KEY_MAX];
	chan_key(0, key, sizeof(key));
	int owner = node_of_port(slot_port[redis_slot_of(key, strlen(key))]);
	size_t n = lgf_stream(rc[owner], key, ents, MAXMSG);
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		bool found = false;
		for (size_t i = 0; i < n && !found; i++)
			found = strcmp(ents[i].type, types[t]) == 0;
		if (!found)
			fail_msg("no %s event in %s", types[t], key);
	}
	if (!lgf_wait_for(es_all_once, NULL, 60000))
		fail_msg("Elasticsearch holds %zu of %zu messages exactly once", es_once(), n_sent);
	expect_all_sealed("before the migration");
}

static void test_history_answers(void **state)
{
	(void)state;
	for (int c = 0; c < CHANS; c++)
		expect_history(c);
}

/* ---- direct messages through two irc-clients ---- */

static void spawn_client(const char *nick, const char *uid, struct lgf_irc *out)
{
	int pid;

	memset(out, 0, sizeof(*out));
	pid = lgf_irc_client_spawn(cfg_path, nick, uid, &out->fd);
	assert_true(pid > 0);
	snprintf(out->nick, sizeof(out->nick), "%d", (int)pid); /* the pid, for the reaper */
	clients[clients[0] ? 1 : 0] = pid;
	lgf_irc_send(out, "CAP LS 302");
	lgf_irc_send(out, "CAP REQ :message-tags server-time batch echo-message draft/chathistory");
	lgf_irc_send(out, "CAP END");
	assert_int_equal(lgf_irc_wait(out, " 001 ", 10000, NULL, 0), 0);
}

static void client_close(struct lgf_irc *c)
{
	pid_t pid = (pid_t)strtol(c->nick, NULL, 10);
	int st;

	lgf_irc_close(c);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	for (int i = 0; i < 2; i++)
		if (clients[i] == pid)
			clients[i] = 0;
}

/* p asks LATEST whom until it holds want messages; returns them. */
static size_t dm_latest(struct lgf_irc *p, const char *whom, size_t want, char ids[][128])
{
	char line[9000], id[128], b[64];
	size_t n = 0;

	for (int t = 0; t < 50; t++) {
		n = 0;
		lgf_irc_send(p, "CHATHISTORY LATEST %s * 10", whom);
		for (;;) {
			assert_int_equal(lgf_irc_wait(p, "", 10000, line, sizeof(line)), 0);
			if (strstr(line, "INVALID_TARGET"))
				break; /* the report that names whom is not stored yet */
			if (strncmp(line, "FAIL ", 5) == 0 || strstr(line, " FAIL "))
				fail_msg("LATEST %s: %s", whom, line);
			if (strstr(line, "BATCH -"))
				break;
			tag_of(line, "batch", b, sizeof(b));
			if (b[0] && strstr(line, " PRIVMSG ") && n < 10) {
				tag_of(line, "msgid", id, sizeof(id));
				snprintf(ids[n++], 128, "%s", id);
			}
		}
		if (n >= want)
			break;
		lgf_sleep_ms(100);
	}
	return n;
}

static void test_direct_message(void **state)
{
	struct lgf_irc alice, bob;
	char line[9000], id[128], got[10][128];
	size_t n;

	(void)state;
	spawn_client("dalice", "201", &alice);
	spawn_client("dbob", "202", &bob);
	lgf_irc_send(&alice, "PRIVMSG dbob :hello over the cluster");
	assert_int_equal(lgf_irc_wait(&alice, "hello over the cluster", 5000, line, sizeof(line)),
			 0);
	tag_of(line, "msgid", id, sizeof(id));
	assert_true(id[0]);
	assert_int_equal(lgf_irc_wait(&bob, "hello over the cluster", 5000, NULL, 0), 0);
	n = dm_latest(&alice, "dbob", 1, got);
	assert_int_equal(n, 1);
	assert_string_equal(got[0], id);
	n = dm_latest(&bob, "dalice", 1, got);
	assert_int_equal(n, 1);
	assert_string_equal(got[0], id);
	/* both irc-clients reported it: the archive holds it once */
	static struct lgf_entry ents[MAXMSG * 2];
	size_t once = 0;
	for (int k = 0; k < PARTITIONS; k++) {
		char key[64];
		assert_true(archive_keys_archive(k, key, sizeof(key)) > 0);
		int owner = node_of_port(slot_port[redis_slot_of(key, strlen(key))]);
		size_t m = lgf_stream(rc[owner], key, ents, MAXMSG * 2);
		for (size_t i = 0; i < m; i++)
			once += strcmp(ents[i].msgid, id) == 0;
	}
	/* the shipper may have trimmed it after indexing: then ES holds it */
	if (once == 0) {
		char *body = lgf_http_get(es.port, "/_eirc_test/ids");
		assert_non_null(body);
		assert_non_null(strstr(body, id));
		free(body);
	} else {
		assert_int_equal(once, 1);
	}
	client_close(&alice);
	client_close(&bob);
}

/* Moves the slot of #c0's partition to another master while messages flow. */
static void test_slot_migration(void **state)
{
	char key[ARCHIVE_KEYS_KEY_MAX], src_id[64], dst_id[64], port[16];
	int slot, src, dst;
	redisReply *r;
	long long redirects_before, redirects_after;
	unsigned moved_chans = 0;

	(void)state;
	chan_key(0, key, sizeof(key));
	slot = redis_slot_of(key, strlen(key));
	src = node_of_port(slot_port[slot]);
	dst = (src + 1) % MASTERS;
	for (int c = 0; c < CHANS; c++)
		if (part_slot(chan_part(c)) == slot)
			moved_chans |= 1u << c;
	redirects_before = node_errors(src);
	r = redisCommand(rc[src], "CLUSTER MYID");
	snprintf(src_id, sizeof(src_id), "%s", r->str);
	freeReplyObject(r);
	r = redisCommand(rc[dst], "CLUSTER MYID");
	snprintf(dst_id, sizeof(dst_id), "%s", r->str);
	freeReplyObject(r);
	fprintf(stderr, "# migrating slot %d (%s) from :%d to :%d\n", slot, key,
		srv_port(nodes[src]), srv_port(nodes[dst]));
	/* src names no host in its redirects ("MOVED <slot> :<port>", Redis 7's
	 * unknown-endpoint): the logger must use the host it reached src at */
	r = redisCommand(rc[src], "CONFIG SET cluster-preferred-endpoint-type unknown-endpoint");
	assert_int_equal(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	r = redisCommand(rc[dst], "CLUSTER SETSLOT %d IMPORTING %s", slot, src_id);
	assert_int_equal(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	r = redisCommand(rc[src], "CLUSTER SETSLOT %d MIGRATING %s", slot, dst_id);
	assert_int_equal(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	snprintf(port, sizeof(port), "%d", srv_port(nodes[dst]));
	/* Writes to a slot being migrated get TRYAGAIN until it is done (the
	 * new msgid key is missing on both sides): keep it short, well under
	 * the command timeout, and keep messages coming during it. */
	send_burst((1u << CHANS) - 1, 2, 1000);
	for (int step = 0;; step++) {
		send_burst(moved_chans, 1, 1100 + step);
		lgf_sleep_ms(20); /* let the logger's writes meet the half-moved slot */
		r = redisCommand(rc[src], "CLUSTER GETKEYSINSLOT %d 25", slot);
		assert_int_equal(r->type, REDIS_REPLY_ARRAY);
		if (r->elements == 0) {
			freeReplyObject(r);
			break;
		}
		const char **argv = calloc(8 + r->elements, sizeof(*argv));
		size_t *len = calloc(8 + r->elements, sizeof(*len));
		int argc = 0;
		assert_true(argv && len);
		argv[argc++] = "MIGRATE", argv[argc++] = "127.0.0.1", argv[argc++] = port;
		argv[argc++] = "", argv[argc++] = "0", argv[argc++] = "5000", argv[argc++] = "KEYS";
		for (size_t i = 0; i < r->elements; i++)
			argv[argc++] = r->element[i]->str;
		for (int i = 0; i < argc; i++)
			len[i] = strlen(argv[i]);
		redisReply *m = redisCommandArgv(rc[src], argc, argv, len);
		assert_non_null(m);
		if (m->type == REDIS_REPLY_ERROR)
			fail_msg("MIGRATE: %s", m->str);
		freeReplyObject(m);
		freeReplyObject(r);
		free(argv);
		free(len);
		assert_true(step < 1000);
	}
	for (int i = 0; i < MASTERS; i++) {
		r = redisCommand(rc[i], "CLUSTER SETSLOT %d NODE %s", slot, dst_id);
		assert_int_equal(r->type, REDIS_REPLY_STATUS);
		freeReplyObject(r);
	}
	for (int t = 0; t < 100; t++) {
		read_map();
		if (slot_port[slot] == srv_port(nodes[dst]))
			break;
		lgf_sleep_ms(50);
	}
	assert_int_equal(slot_port[slot], srv_port(nodes[dst]));
	/* after it: the logger's map is stale until the first MOVED */
	send_burst((1u << CHANS) - 1, ROUNDS, 5000);
	collect();
	expect_all_archived_once("after the migration");
	redirects_after = node_errors(src);
	fprintf(stderr, "# :%d answered %lld redirects during and after the migration\n",
		srv_port(nodes[src]), redirects_after - redirects_before);
	assert_true(redirects_after > redirects_before);
	r = redisCommand(rc[src], "CONFIG SET cluster-preferred-endpoint-type ip");
	assert_int_equal(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	if (!lgf_wait_for(es_all_once, NULL, 60000))
		fail_msg("Elasticsearch holds %zu of %zu messages exactly once", es_once(), n_sent);
	for (int c = 0; c < CHANS; c++)
		expect_history(c);
	expect_all_sealed("after the migration");
}

static long long errorstat(int i, const char *name)
{
	redisReply *r = redisCommand(rc[i], "INFO errorstats");
	char want[64];
	const char *p;
	long long v = 0;

	assert_non_null(r);
	snprintf(want, sizeof(want), "errorstat_%s:count=", name);
	if ((p = strstr(r->str, want)))
		v = strtoll(p + strlen(want), NULL, 10);
	freeReplyObject(r);
	return v;
}

/* One master forgets its scripts (as after a restart without them): the
 * logger's EVALSHA and the bridge's get NOSCRIPT from that node only,
 * reload, and nothing is lost or doubled. */
static void test_noscript_per_node(void **state)
{
	long long before = errorstat(0, "NOSCRIPT");
	redisReply *r = redisCommand(rc[0], "SCRIPT FLUSH");

	(void)state;
	assert_int_equal(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	send_round((1u << CHANS) - 1, 7000);
	expect_all_archived_once("after SCRIPT FLUSH on one master");
	for (int c = 0; c < CHANS; c++)
		expect_history(c);
	fprintf(stderr, "# :%d answered NOSCRIPT %lld times\n", srv_port(nodes[0]),
		errorstat(0, "NOSCRIPT") - before);
	assert_true(errorstat(0, "NOSCRIPT") > before);
	if (!lgf_wait_for(es_all_once, NULL, 60000))
		fail_msg("Elasticsearch holds %zu of %zu messages exactly once", es_once(), n_sent);
	expect_no_quiet_errors();
}

/* One master stops and comes back (SIGTERM, AOF kept) while messages
 * arrive: the logger sees the cluster down, buffers, and after every master
 * is back writes everything once; history answers again. */
static void test_master_restart(void **state)
{
	redisReply *r = NULL;
	bool ok = false;

	(void)state;
	assert_int_equal(srv_stop(nodes[1]), 0);
	send_round((1u << CHANS) - 1, 8000);
	assert_int_equal(srv_restart(nodes[1]), 0);
	redisFree(rc[1]);
	assert_non_null(rc[1] = lgf_redis(srv_port(nodes[1])));
	for (int t = 0; t < 200 && !ok; t++) {
		r = redisCommand(rc[1], "CLUSTER INFO");
		ok = r && r->type == REDIS_REPLY_STRING && strstr(r->str, "cluster_state:ok");
		if (r)
			freeReplyObject(r);
		if (!ok)
			lgf_sleep_ms(100);
	}
	assert_true(ok);
	send_round((1u << CHANS) - 1, 9000);
	expect_all_archived_once("after a master restarted");
	for (int c = 0; c < CHANS; c++)
		expect_history(c);
	if (!lgf_wait_for(es_all_once, NULL, 60000))
		fail_msg("Elasticsearch holds %zu of %zu messages exactly once", es_once(), n_sent);
	assert_int_equal(metric("eirc_logger_events_lost_total"), 0);
	/* it did see the cluster go down (and counted it) */
	assert_true(metric("eirc_logger_redis_errors_total") > 0);
}

/* One master (not the seed) may evict: a logger started now refuses the
 * cluster, naming that master and its policy, and exits 1 (every master is
 * asked INFO memory, not only the seed). */
static void test_evicting_master_refused(void **state)
{
	struct lgf_logger_cfg lc = {.dir = dir,
				    .nick = "evlogger",
				    .irc_port = srv_port(ircd),
				    .redis_port = srv_port(nodes[2]),
				    .channels = "[]"};
	redisReply *r = redisCommand(rc[1], "CONFIG SET maxmemory-policy allkeys-lru");
	struct lgf_proc lg;
	char want[96], *log;
	int st = -1;

	(void)state;
	assert_int_equal(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	assert_int_equal(lgf_logger_start_redis(&lc, PARTITIONS, "  cluster: true\n", &lg), 0);
	for (int t = 0; t < 200 && st < 0; t++) {
		if (waitpid(lg.pid, &st, WNOHANG) != lg.pid)
			st = -1, lgf_sleep_ms(50);
	}
	if (st < 0)
		kill(lg.pid, SIGKILL), waitpid(lg.pid, &st, 0);
	r = redisCommand(rc[1], "CONFIG SET maxmemory-policy noeviction");
	freeReplyObject(r);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	snprintf(want, sizeof(want), ":%d: maxmemory-policy allkeys-lru can evict keys",
		 srv_port(nodes[1]));
	log = lgf_slurp(lg.log);
	if (!log || !strstr(log, want))
		fail_msg("%s does not say \"%s\"", lg.log, want);
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_partitions_spread),
		cmocka_unit_test(test_messages_and_events),
		cmocka_unit_test(test_history_answers),
		cmocka_unit_test(test_direct_message),
		cmocka_unit_test(test_slot_migration),
		cmocka_unit_test(test_noscript_per_node),
		cmocka_unit_test(test_master_restart),
		cmocka_unit_test(test_evicting_master_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
