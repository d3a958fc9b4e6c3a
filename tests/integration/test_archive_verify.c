/*
 * test_archive_verify: eirc-archive (docs/eirc-archive.md) on the archive
 * the real daemons make: InspIRCd, Redis, PostgreSQL, the Elasticsearch test
 * server, eirc-auth (filing checkpoints, sealing its audit log) and an HA
 * pair of eirc-logger (sealing, shipping, trimming).
 *
 * 5,000 messages across several partitions, one logger killed (-9) in the
 * middle of them: verify exits 0. Then each tampering, done behind eIRC's
 * back with the loggers stopped and undone before the next (DUMP/RESTORE,
 * the document put back, the row put back), makes it exit 1 naming the
 * event and the store: XDEL of an entry, an entry rewritten with another
 * text, two entries swapped, an entry inserted (in the middle, and at the
 * tail without a valid MAC), a document changed and one deleted in
 * Elasticsearch, a checkpoint row deleted in PostgreSQL (refused to the
 * service role and by the trigger; detected when forced as superuser), a
 * row of eirc-auth's audit log changed past its trigger. An
 * inclusion proof from `prove` checks with the public key alone and fails
 * for a changed event. Last, the archive trimmed by the logger (its
 * tombstones) still verifies, and an event that lives on in Elasticsearch
 * only still proves; an event Elasticsearch refused is reported missing
 * there with the shipper's reason.
 *
 * A consumer group "hold" that never reads keeps the loggers from
 * trimming the archive streams (lg_archive.h: the bound is the least any
 * group acknowledged) until the trimming test destroys it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "archive/archive_keys.h"
#include "archive/tlog.h"
#include "scripts/stack/launch.h"
#include "tests/harness/http_test.h"
#include "tests/integration/auth_fixture.h"
#include "tests/integration/logger_fixture.h"

#define P        LGF_PARTITIONS
#define EVENTS   5000
#define CHANNELS 12
#define ORIGIN   "verify.test/archive"
#define HOLD     "hold"
#define SHIPPER  "eirc-shipper"

static fx_t fx; /* PostgreSQL, Redis, eirc-auth */
static srv_t *ircd;
static struct lgf_proc es, lg[2];
static struct lgf_logger_cfg lcfg[2];
static int mport[2], sport;
static struct lgf_irc sender;
static redisContext *rc; /* the default user */
static PGconn *su;       /* PostgreSQL's superuser */
static tlog_signer_t signer;
static char vkey[TLOG_VKEY_MAX], yaml[2048], dir[512], cfgpath[600];
static int sent;

/* ---- eirc-archive ---- */

/* Runs build/archive/eirc-archive with args (NULL-terminated); its stdout
 * into out. Returns the exit status. */
static int ea_run(char *out, size_t cap, ...)
{
	char bin[512], *argv[16];
	int argc = 0, pfd[2], st;
	size_t len = 0;
	ssize_t n;
	va_list ap;
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/archive/eirc-archive", getenv("EIRC_BUILD_DIR"));
	argv[argc++] = bin;
	va_start(ap, cap);
	for (char *a; (a = va_arg(ap, char *)) && argc < 15;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], 1);
		execv(bin, argv);
		_exit(127);
	}
	close(pfd[1]);
	while (len + 1 < cap && (n = read(pfd[0], out + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(pfd[0]);
	waitpid(pid, &st, 0);
	fprintf(stderr, "eirc-archive: %s", out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int verify(char *out, size_t cap)
{
	return ea_run(out, cap, "--config", cfgpath, "verify", NULL);
}

/* verify exits 1 and its line has every needle given. */
static void expect_finding(const char *n1, const char *n2, const char *n3)
{
	char out[4096];

	assert_int_equal(verify(out, sizeof(out)), 1);
	assert_non_null(strstr(out, n1));
	assert_non_null(strstr(out, n2));
	if (n3)
		assert_non_null(strstr(out, n3));
}

static void expect_intact(void)
{
	char out[4096];

	assert_int_equal(verify(out, sizeof(out)), 0);
	assert_non_null(strstr(out, "OK "));
}

/* ---- Redis ---- */

static redisReply *cmd(const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = redisvCommand(rc, fmt, ap);
	va_end(ap);
	if (!r)
		fail_msg("redis: %s", rc->errstr);
	if (r->type == REDIS_REPLY_ERROR)
		fail_msg("redis: %s", r->str);
	return r;
}

static void cmd0(const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = redisvCommand(rc, fmt, ap);
	va_end(ap);
	if (!r)
		fail_msg("redis: %s", rc->errstr);
	if (r->type == REDIS_REPLY_ERROR)
		fail_msg("redis: %s", r->str);
	freeReplyObject(r);
}

static void akey(int k, char *buf, size_t cap)
{
	archive_keys_archive(k, buf, cap);
}

/* A field of partition k's tlog hash into buf ("" when absent). */
static void tlog_str(int k, const char *field, char *buf, size_t cap)
{
	char key[64];
	redisReply *r;

	archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_STATE, key, sizeof(key));
	r = cmd("HGET %s %s", key, field);
	snprintf(buf, cap, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
	freeReplyObject(r);
}

static long long tlog_int(int k, const char *field)
{
	char v[32];

	tlog_str(k, field, v, sizeof(v));
	return v[0] ? strtoll(v, NULL, 10) : -1;
}

static void stream_last(int k, char *buf, size_t cap)
{
	char key[64];
	redisReply *r;

	akey(k, key, sizeof(key));
	r = cmd("XREVRANGE %s + - COUNT 1", key);
	snprintf(buf, cap, "%s", r->elements ? r->element[0]->element[0]->str : "");
	freeReplyObject(r);
}

static const char *kv_get(const redisReply *kv, const char *name)
{
	for (size_t j = 0; j + 1 < kv->elements; j += 2)
		if (!strcmp(kv->element[j]->str, name))
			return kv->element[j + 1]->str;
	return NULL;
}

/* ---- PostgreSQL ---- */

static long long sql_int(PGconn *db, const char *sql, const char *param)
{
	PGresult *res =
		PQexecParams(db, sql, param ? 1 : 0, NULL, param ? &param : NULL, NULL, NULL, 0);
	long long v = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    !PQgetisnull(res, 0, 0))
		v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return v;
}

static void sql_ok(PGconn *db, const char *sql)
{
	PGresult *res = PQexec(db, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("SQL %s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
}

/* ---- waiting for the daemons ---- */

/* Every partition sealed to its stream's end, checkpointed at its size,
 * the checkpoint filed in PostgreSQL and everything shipped. */
static bool settled(void *ud)
{
	(void)ud;
	for (int k = 0; k < P; k++) {
		char last[64], slast[64], origin[TLOG_NAME_MAX + 1], key[64];
		long long size = tlog_int(k, "size");
		redisReply *r;
		bool shipped = false;

		stream_last(k, slast, sizeof(slast));
		tlog_str(k, "last", last, sizeof(last));
		if ((slast[0] && strcmp(last, slast)) || tlog_int(k, "cp_size") != size)
			return false;
		tlog_origin_partition(ORIGIN, k, origin, sizeof(origin));
		if (sql_int(su, "SELECT max(size) FROM archive_checkpoints WHERE origin = $1",
			    origin) != size)
			return false;
		if (!slast[0])
			continue; /* trimmed whole: shipped */
		akey(k, key, sizeof(key));
		r = cmd("XINFO GROUPS %s", key);
		for (size_t i = 0; i < r->elements; i++) {
			const redisReply *g = r->element[i];
			const char *name = NULL, *delivered = NULL;
			long long pending = -1;
			for (size_t j = 0; j + 1 < g->elements; j += 2) {
				const char *n = g->element[j]->str;
				if (!strcmp(n, "name"))
					name = g->element[j + 1]->str;
				else if (!strcmp(n, "last-delivered-id"))
					delivered = g->element[j + 1]->str;
				else if (!strcmp(n, "pending"))
					pending = g->element[j + 1]->integer;
			}
			if (name && !strcmp(name, SHIPPER) && delivered &&
			    !strcmp(delivered, slast) && pending == 0)
				shipped = true;
		}
		freeReplyObject(r);
		if (!shipped)
			return false;
	}
	return true;
}

static bool privmsgs_archived(void *ud)
{
	static struct lgf_entry e[16384];
	size_t n = lgf_archive(rc, e, sizeof(e) / sizeof(e[0])), m = 0;

	(void)ud;
	for (size_t i = 0; i < n; i++)
		m += !strcmp(e[i].type, "privmsg");
	return m >= (size_t)sent;
}

static bool loggers_in_channels(void *ud)
{
	static struct lgf_entry e[1024];
	int joined = 0;

	(void)ud;
	for (int c = 0; c < CHANNELS; c++) {
		char chan[16];
		snprintf(chan, sizeof(chan), "#audit%d", c);
		size_t n = lgf_history(rc, chan, e, sizeof(e) / sizeof(e[0]));
		for (size_t i = 0; i < n; i++)
			joined += !strcmp(e[i].type, "join") &&
				  (!strcmp(e[i].nick, "vlogA") || !strcmp(e[i].nick, "vlogB"));
	}
	return joined >= 2 * CHANNELS;
}

static void send_messages(int n)
{
	for (int i = 0; i < n; i++, sent++)
		assert_int_equal(lgf_irc_send(&sender, "PRIVMSG #audit%d :audit message %d",
					      sent % CHANNELS, sent),
				 0);
	lgf_irc_send(&sender, "PING :sent-%d", sent);
	assert_int_equal(lgf_irc_wait(&sender, "PONG", 30000, NULL, 0), 0);
}

/* ---- set-up ---- */

static int write_archive_config(void)
{
	char skey[TLOG_SKEY_MAX], pw[300] = "";
	FILE *f;

	if (tlog_signer_format(&signer, skey, sizeof(skey)) < 0)
		return -1;
	if (srv_password(fx.redis))
		snprintf(pw, sizeof(pw), "  password: '%s'\n", srv_password(fx.redis));
	snprintf(cfgpath, sizeof(cfgpath), "%s/eirc-archive.yaml", dir);
	if (!(f = fopen(cfgpath, "we")))
		return -1;
	fprintf(f,
		"irc:\n  network: eIRC\n  servers: [{host: 127.0.0.1, port: %d}]\n"
		"  webirc_password: webirc-password-for-tests-0123456789\n"
		"redis:\n  host: 127.0.0.1\n  port: %d\n%s  partitions: %d\n"
		"elasticsearch:\n  urls: [\"http://127.0.0.1:%d\"]\n"
		"auth:\n  internal_secret: internal-secret-for-tests-0123456789\n"
		"  database:\n    host: 127.0.0.1\n    port: %d\n    name: eirc\n"
		"    user: postgres\n    password: '%s'\n"
		"history:\n  session_key: session-key-for-tests-0123456789abcdef\n"
		"integrity:\n  signing_key: \"%s\"\n  origin: " ORIGIN "\n",
		srv_port(ircd), srv_port(fx.redis), pw, P, es.port, srv_port(fx.pg),
		srv_password(fx.pg), skey);
	return fclose(f) == 0 ? 0 : -1;
}

static int start_logger(int i)
{
	return lgf_logger_start(&lcfg[i], &lg[i]);
}

static int setup(void **state)
{
	char skey[TLOG_SKEY_MAX], binds[1024], port[16];
	const char *k[] = {"host", "port", "dbname", "user", "password", NULL};
	const char *v[] = {"127.0.0.1", port, "eirc", "postgres", NULL, NULL};
	tlog_verifier_t ver;

	(void)state;
	if (sodium_init() < 0 || tlog_signer_generate("verify.test", &signer) < 0 ||
	    tlog_signer_format(&signer, skey, sizeof(skey)) < 0)
		return -1;
	tlog_signer_verifier(&signer, &ver);
	tlog_verifier_format(&ver, vkey, sizeof(vkey));
	snprintf(yaml, sizeof(yaml),
		 "integrity:\n  signing_key: %s\n  origin: " ORIGIN "\n  seal_interval: 200ms\n"
		 "  seal_batch: 1000\n  checkpoint_events: 500\n  checkpoint_interval: 1s\n",
		 skey);
	if (fx_start_redis_top(&fx, NULL, yaml) < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s", srv_env_dir(fx.env));
	if ((sport = lgf_sender_class(CHANNELS + 2, binds, sizeof(binds))) < 0 ||
	    srv_inspircd_start(fx.env, &(srv_ircd_opts_t){.extra_binds = binds}, &ircd) < 0 ||
	    lgf_es_start(dir, &es) < 0 || !(rc = lgf_redis(srv_port(fx.redis))))
		return -1;
	snprintf(port, sizeof(port), "%d", srv_port(fx.pg));
	v[4] = srv_password(fx.pg);
	su = PQconnectdbParams(k, v, 0);
	if (PQstatus(su) != CONNECTION_OK || write_archive_config() < 0)
		return -1;
	for (int p = 0; p < P; p++) {
		char key[64];
		akey(p, key, sizeof(key));
		freeReplyObject(redisCommand(rc, "XGROUP CREATE %s " HOLD " 0 MKSTREAM", key));
	}
	lgf_use_redis(fx.redis);
	lgf_use_ircd(ircd);
	lgf_use_extra(yaml);
	for (int i = 0; i < 2; i++) {
		mport[i] = srv_free_port();
		lcfg[i] = (struct lgf_logger_cfg){.dir = dir,
						  .nick = i ? "vlogB" : "vlogA",
						  .irc_port = srv_port(ircd),
						  .redis_port = srv_port(fx.redis),
						  .es_port = es.port,
						  .metrics_port = mport[i]};
		if (start_logger(i) < 0)
			return -1;
	}
	if (lgf_irc_connect(sport, "auditwriter", NULL, &sender) < 0)
		return -1;
	for (int c = 0; c < CHANNELS; c++)
		lgf_irc_send(&sender, "JOIN #audit%d", c);
	return lgf_wait_for(loggers_in_channels, NULL, 30000) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	lgf_irc_close(&sender);
	for (int i = 0; i < 2; i++)
		if (lg[i].pid > 0)
			lgf_proc_stop(&lg[i], SIGTERM);
	if (es.pid > 0)
		lgf_proc_stop(&es, SIGTERM);
	if (rc)
		redisFree(rc);
	if (su)
		PQfinish(su);
	if (fx.env)
		fx_stop(&fx);
	return 0;
}

/* ---- the archive, intact ---- */

static void test_intact_after_failover(void **state)
{
	char out[4096];
	unsigned long long events = 0;

	(void)state;
	send_messages(EVENTS / 2);
	assert_int_equal(lgf_proc_stop(&lg[0], SIGKILL), 128 + SIGKILL);
	send_messages(EVENTS - EVENTS / 2);
	assert_true(lgf_wait_for(privmsgs_archived, NULL, 60000));
	assert_true(lgf_wait_for(settled, NULL, 60000));
	/* the archive is left alone from here on */
	assert_int_equal(lgf_proc_stop(&lg[1], SIGTERM), 0);
	assert_int_equal(verify(out, sizeof(out)), 0);
	assert_int_equal(sscanf(out, "OK %llu events in %*d partitions", &events), 1);
	assert_true(events >= EVENTS);
	for (int k = 0; k < P; k++)
		assert_true(tlog_int(k, "size") > 500); /* several checkpoints each */
}

/* ---- tampering ---- */

/* The archive entry at index i of partition k: its id and msgid. */
static void entry_at(int k, size_t i, char *id, char *msgid)
{
	char key[64];
	redisReply *r;

	akey(k, key, sizeof(key));
	r = cmd("XRANGE %s - + COUNT %d", key, (int)(i + 1));
	assert_true(r->elements == i + 1);
	snprintf(id, 64, "%s", r->element[i]->element[0]->str);
	snprintf(msgid, 160, "%s", kv_get(r->element[i]->element[1], "msgid"));
	freeReplyObject(r);
}

static redisReply *save(int k)
{
	char key[64];

	akey(k, key, sizeof(key));
	return cmd("DUMP %s", key);
}

static void restore(int k, redisReply *dump)
{
	char key[64];

	akey(k, key, sizeof(key));
	cmd0("RESTORE %s 0 %b REPLACE", key, dump->str, dump->len);
	freeReplyObject(dump);
}

/* What a rebuild does to entry i of the entries (argv from argv[3] on:
 * the fields; *argc the count). */
typedef void (*rewrite_fn)(redisReply *entries, size_t i, const char **argv, size_t *len,
			   int *argc);

/* Rebuilds partition k's archive from its entries, as someone with Redis
 * access would (DEL, then XADD each with its id), fn changing entry at. */
static void rebuild(int k, size_t at, rewrite_fn fn)
{
	char key[64];
	redisReply *r;

	akey(k, key, sizeof(key));
	r = cmd("XRANGE %s - +", key);
	cmd0("DEL %s", key);
	for (size_t i = 0; i < r->elements; i++) {
		redisReply *kv = r->element[i]->element[1];
		const char *argv[80];
		size_t len[80];
		int argc = 3;
		argv[0] = "XADD", len[0] = 4;
		argv[1] = key, len[1] = strlen(key);
		argv[2] = r->element[i]->element[0]->str, len[2] = r->element[i]->element[0]->len;
		for (size_t j = 0; j < kv->elements && argc < 80; j++)
			argv[argc] = kv->element[j]->str, len[argc++] = kv->element[j]->len;
		if (fn && i == at)
			fn(r, i, argv, len, &argc);
		freeReplyObject(redisCommandArgv(rc, argc, argv, len));
	}
	freeReplyObject(r);
}

static void forge_text(redisReply *e, size_t i, const char **argv, size_t *len, int *argc)
{
	(void)e;
	(void)i;
	for (int j = 3; j + 1 < *argc; j += 2)
		if (len[j] == 4 && !memcmp(argv[j], "text", 4)) {
			argv[j + 1] = "a forged text";
			len[j + 1] = strlen(argv[j + 1]);
		}
}

/* Entry i gets entry i+1's fields and the other way round; ids stay. */
static void swap_next(redisReply *e, size_t i, const char **argv, size_t *len, int *argc)
{
	redisReply *t = e->element[i]->element[1];

	e->element[i]->element[1] = e->element[i + 1]->element[1];
	e->element[i + 1]->element[1] = t;
	*argc = 3;
	for (size_t j = 0; j < e->element[i]->element[1]->elements && *argc < 80; j++) {
		argv[*argc] = e->element[i]->element[1]->element[j]->str;
		len[(*argc)++] = e->element[i]->element[1]->element[j]->len;
	}
}

static void test_xdel(void **state)
{
	char key[64], id[64], msgid[160];
	redisReply *d = save(1);

	(void)state;
	entry_at(1, 300, id, msgid);
	akey(1, key, sizeof(key));
	cmd0("XDEL %s %s", key, id);
	expect_finding("FAIL removed in redis", msgid, "/p1, position 300");
	restore(1, d);
	expect_intact();
}

static void test_forged_rewrite(void **state)
{
	char id[64], msgid[160];
	redisReply *d = save(2);

	(void)state;
	entry_at(2, 211, id, msgid);
	rebuild(2, 211, forge_text);
	expect_finding("FAIL modified in redis", msgid, id);
	restore(2, d);
	expect_intact();
}

static void test_swap(void **state)
{
	char id[64], msgid[160];
	redisReply *d = save(3);

	(void)state;
	entry_at(3, 120, id, msgid);
	rebuild(3, 120, swap_next);
	expect_finding("FAIL reordered in redis", "position 120", msgid);
	restore(3, d);
	expect_intact();
}

static void test_insert(void **state)
{
	char key[64], mid[64] = "";
	redisReply *d = save(0), *r;

	(void)state;
	/* in the middle: the stream rebuilt with one more entry, its id
	 * between two of eIRC's */
	akey(0, key, sizeof(key));
	r = cmd("XRANGE %s - +", key);
	cmd0("DEL %s", key);
	for (size_t i = 0; i < r->elements; i++) {
		redisReply *kv = r->element[i]->element[1];
		const char *argv[80];
		size_t len[80];
		int argc = 3;
		unsigned long long ms, seq, nms, nseq;
		argv[0] = "XADD", len[0] = 4, argv[1] = key, len[1] = strlen(key);
		argv[2] = r->element[i]->element[0]->str, len[2] = r->element[i]->element[0]->len;
		for (size_t j = 0; j < kv->elements && argc < 80; j++)
			argv[argc] = kv->element[j]->str, len[argc++] = kv->element[j]->len;
		freeReplyObject(redisCommandArgv(rc, argc, argv, len));
		if (mid[0] || i < 100 || i + 1 >= r->elements)
			continue;
		sscanf(argv[2], "%llu-%llu", &ms, &seq);
		sscanf(r->element[i + 1]->element[0]->str, "%llu-%llu", &nms, &nseq);
		if (nms == ms && nseq == seq + 1)
			continue; /* no room between */
		snprintf(mid, sizeof(mid), "%llu-%llu", ms, seq + 1);
		cmd0("XADD %s %s network eIRC msgid slipped-in time %llu type privmsg conv #audit0 "
		     "target #audit0 nick mallory text inserted",
		     key, mid, ms);
	}
	freeReplyObject(r);
	assert_true(mid[0]);
	expect_finding("FAIL inserted in redis", "slipped-in", mid);
	restore(0, d);
	/* at the tail, past the sealed entries, without the pending record the
	 * append script leaves */
	d = save(0);
	cmd0("XADD %s * network eIRC msgid forged-tail time 1 type privmsg conv #audit0 text x",
	     key);
	expect_finding("FAIL inserted in redis", "forged-tail", "no pending record");
	restore(0, d);
	expect_intact();
}

static char *es_req(const char *method, const char *path, const char *body, long *out_status)
{
	static const char *const json[] = {"Content-Type: application/json", NULL};
	char url[1024], *out;
	ht_resp_t r;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", es.port, path);
	ht_request(&(ht_req_t){.method = method,
			       .url = url,
			       .headers = json,
			       .body = body,
			       .body_len = body ? strlen(body) : 0},
		   &r);
	*out_status = r.status;
	out = r.body;
	r.body = NULL;
	ht_resp_free(&r);
	return out;
}

/* The path of msgid's document: /<index>/_doc/<msgid>. */
static void doc_path(const char *msgid, char *path, size_t cap)
{
	char q[512], *body;
	long st;
	json_t *ans, *hit;

	snprintf(q, sizeof(q), "{\"query\": {\"ids\": {\"values\": [\"%s\"]}}}", msgid);
	body = es_req("POST", "/_search", q, &st);
	assert_int_equal(st, 200);
	ans = json_loads(body, 0, NULL);
	free(body);
	hit = json_array_get(json_object_get(json_object_get(ans, "hits"), "hits"), 0);
	assert_non_null(hit);
	snprintf(path, cap, "/%s/_doc/%s", json_string_value(json_object_get(hit, "_index")),
		 msgid);
	json_decref(ans);
}

static void test_es_changed_and_deleted(void **state)
{
	char path[512], *body, *orig, *changed, id[64], msgid[160];
	json_t *doc, *src;
	long st;

	(void)state;
	entry_at(2, 400, id, msgid);
	doc_path(msgid, path, sizeof(path));
	body = es_req("GET", path, NULL, &st);
	assert_int_equal(st, 200);
	doc = json_loads(body, 0, NULL);
	free(body);
	src = json_object_get(doc, "_source");
	orig = json_dumps(src, JSON_COMPACT);
	json_object_set_new(src, "text", json_string("changed in elasticsearch"));
	changed = json_dumps(src, JSON_COMPACT);
	free(es_req("PUT", path, changed, &st));
	assert_int_equal(st, 200);
	expect_finding("FAIL modified in elasticsearch", msgid, "position 400");
	free(es_req("PUT", path, orig, &st));
	expect_intact();
	free(es_req("DELETE", path, NULL, &st));
	assert_int_equal(st, 200);
	expect_finding("FAIL removed in elasticsearch", msgid, "position 400");
	free(es_req("PUT", path, orig, &st));
	assert_int_equal(st, 201);
	expect_intact();
	free(orig);
	free(changed);
	json_decref(doc);
}

static void test_checkpoint_row(void **state)
{
	char origin[TLOG_NAME_MAX + 1], sql[1024];
	PGresult *res;

	(void)state;
	tlog_origin_partition(ORIGIN, 2, origin, sizeof(origin));
	assert_true(sql_int(su, "SELECT count(*) FROM archive_checkpoints WHERE origin = $1",
			    origin) >= 2);
	/* the service role may not; the superuser is refused by the trigger */
	snprintf(sql, sizeof(sql),
		 "DELETE FROM archive_checkpoints WHERE origin = '%s' AND seq = 2", origin);
	res = PQexec(fx.db, sql);
	assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
	PQclear(res);
	res = PQexec(su, sql);
	assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
	assert_non_null(strstr(PQresultErrorMessage(res), "append-only"));
	PQclear(res);
	expect_intact();
	/* forced: triggers off for the session; the first row, then the last */
	for (int last = 0; last < 2; last++) {
		snprintf(sql, sizeof(sql),
			 "CREATE TEMP TABLE saved AS SELECT * FROM archive_checkpoints WHERE "
			 "origin = '%s' ORDER BY seq %s LIMIT 1; SET session_replication_role = "
			 "replica; DELETE FROM archive_checkpoints WHERE id = (SELECT id FROM "
			 "saved); "
			 "SET session_replication_role = DEFAULT",
			 origin, last ? "DESC" : "ASC");
		sql_ok(su, sql);
		expect_finding("FAIL checkpoint missing in postgresql", origin,
			       last ? "(the last row has seq" : "seq 1 is missing");
		sql_ok(su,
		       "SET session_replication_role = replica; INSERT INTO archive_checkpoints "
		       "SELECT * FROM saved; SET session_replication_role = DEFAULT; DROP TABLE "
		       "saved");
		expect_intact();
	}
}

/* A row of the audit log (eirc-auth's, chained and checkpointed as
 * "<origin>/audit") changed by a superuser past its trigger. */
static void test_audit_row_changed(void **state)
{
	PGresult *res;

	(void)state;
	assert_true(sql_int(su, "SELECT count(*) FROM archive_checkpoints WHERE origin = $1",
			    ORIGIN "/audit") >= 1);
	res = PQexec(su, "UPDATE audit_log SET actor = 'someone else' WHERE seq = 1");
	assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
	PQclear(res);
	sql_ok(su, "CREATE TEMP TABLE audit_saved AS SELECT * FROM audit_log WHERE seq = 1; "
		   "SET session_replication_role = replica; "
		   "UPDATE audit_log SET actor = 'someone else' WHERE seq = 1; "
		   "SET session_replication_role = DEFAULT");
	expect_finding("FAIL checkpoint mismatch in postgresql", ORIGIN "/audit", "audit_log");
	sql_ok(su, "SET session_replication_role = replica; UPDATE audit_log a SET actor = s.actor "
		   "FROM audit_saved s WHERE a.id = s.id; SET session_replication_role = DEFAULT; "
		   "DROP TABLE audit_saved");
	expect_intact();
}

static void test_prove(void **state)
{
	char out[65536], path[600], id[64], msgid[160], *text, *at;
	FILE *f;

	(void)state;
	entry_at(1, 50, id, msgid);
	snprintf(path, sizeof(path), "%s/event.proof", dir);
	assert_int_equal(
		ea_run(out, sizeof(out), "--config", cfgpath, "prove", msgid, "--out", path, NULL),
		0);
	/* the public key alone */
	assert_int_equal(ea_run(out, sizeof(out), "check-proof", "--key", vkey, path, NULL), 0);
	assert_non_null(strstr(out, msgid));
	/* the event changed in the proof file */
	text = lgf_slurp(path);
	assert_non_null(at = strstr(text, "field text "));
	at[11] = at[11] == 'A' ? 'B' : 'A';
	assert_non_null(f = fopen(path, "we"));
	fputs(text, f);
	fclose(f);
	free(text);
	assert_int_equal(ea_run(out, sizeof(out), "check-proof", "--key", vkey, path, NULL), 1);
	assert_non_null(strstr(out, "FAIL"));
}

/* ---- trimming ---- */

/* Logger i registered on IRC and on Redis: a capture bot, it gets every
 * channel's messages from then on. */
static bool logger_up(void *ud)
{
	int i = *(int *)ud;

	return lgf_metric(mport[i], "eirc_logger_irc_connected") == 1 &&
	       lgf_metric(mport[i], "eirc_logger_redis_connected") == 1;
}

static bool trimmed_everywhere(void *ud)
{
	(void)ud;
	for (int k = 0; k < P; k++)
		if (tlog_int(k, "trimmed") <= 0)
			return false;
	return true;
}

static void test_trimmed_still_verifies(void **state)
{
	char out[65536], path[600], id[64], msgid[160], key[64];

	(void)state;
	/* an event the trim will take: proven from Elasticsearch afterwards */
	entry_at(3, 10, id, msgid);
	assert_int_equal(start_logger(1), 0);
	assert_true(lgf_wait_for(logger_up, &(int){1}, 30000));
	for (int k = 0; k < P; k++) {
		akey(k, key, sizeof(key));
		cmd0("XGROUP DESTROY %s " HOLD, key);
	}
	send_messages(50);
	assert_true(lgf_wait_for(trimmed_everywhere, NULL, 60000));
	assert_true(lgf_wait_for(settled, NULL, 60000));
	assert_int_equal(lgf_proc_stop(&lg[1], SIGTERM), 0);
	for (int k = 0; k < P; k++) {
		char tomb[64];
		redisReply *r;
		archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_TOMB, tomb, sizeof(tomb));
		r = cmd("XLEN %s", tomb);
		assert_true(r->integer > 0);
		freeReplyObject(r);
	}
	/* the events trimmed from Redis are checked in Elasticsearch */
	assert_int_equal(verify(out, sizeof(out)), 0);
	unsigned long long events = 0;
	assert_int_equal(sscanf(out, "OK %llu events", &events), 1);
	assert_true(events >= EVENTS);
	snprintf(path, sizeof(path), "%s/trimmed.proof", dir);
	assert_int_equal(
		ea_run(out, sizeof(out), "--config", cfgpath, "prove", msgid, "--out", path, NULL),
		0);
	assert_int_equal(ea_run(out, sizeof(out), "check-proof", "--key", vkey, path, NULL), 0);
}

static bool dead_lettered(void *ud)
{
	(void)ud;
	for (int k = 0; k < P; k++) {
		char key[64];
		redisReply *r;
		long long n;
		archive_keys_dead(k, key, sizeof(key));
		r = cmd("XLEN %s", key);
		n = r->integer;
		freeReplyObject(r);
		if (n > 0)
			return true;
	}
	return false;
}

/* An event Elasticsearch refused (the shipper's dead letter): missing
 * from Elasticsearch, reported with the reason. */
static void test_dead_letter_named(void **state)
{
	char key[64];

	(void)state;
	for (int k = 0; k < P; k++) { /* nothing trimmed from here on */
		akey(k, key, sizeof(key));
		cmd0("XGROUP CREATE %s " HOLD " $", key);
	}
	assert_int_equal(lgf_es_control(es.port, "reject", "{\"text\": \"REFUSE-ME\"}"), 0);
	assert_int_equal(start_logger(1), 0);
	assert_true(lgf_wait_for(logger_up, &(int){1}, 30000));
	lgf_irc_send(&sender, "PRIVMSG #audit1 :REFUSE-ME please");
	send_messages(5);
	assert_true(lgf_wait_for(dead_lettered, NULL, 30000));
	assert_true(lgf_wait_for(settled, NULL, 60000));
	assert_int_equal(lgf_proc_stop(&lg[1], SIGTERM), 0);
	expect_finding("FAIL removed in elasticsearch", "refused it when shipped", "status 400");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intact_after_failover),
		cmocka_unit_test(test_xdel),
		cmocka_unit_test(test_forged_rewrite),
		cmocka_unit_test(test_swap),
		cmocka_unit_test(test_insert),
		cmocka_unit_test(test_es_changed_and_deleted),
		cmocka_unit_test(test_checkpoint_row),
		cmocka_unit_test(test_audit_row_changed),
		cmocka_unit_test(test_prove),
		cmocka_unit_test(test_trimmed_still_verifies),
		cmocka_unit_test(test_dead_letter_named),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
