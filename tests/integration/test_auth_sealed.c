/*
 * eirc-auth files what a real sealer signs: an eirc-logger (capture bot on a
 * real InspIRCd) seals the archive of a real Redis and adds its signed
 * checkpoints to eirc:{cp}:checkpoints; eirc-auth (on that Redis as its own
 * ACL user, and a real PostgreSQL), configured with the same key, files
 * every one of them: one row per note, the same note, numbered 1, 2, ...
 * per origin in size order, an archive.checkpoint audit row each, nothing
 * refused, no fork; and `eirc-archive verify` over both stores, with the
 * witness file both signers appended to as the auditor's checkpoints, finds
 * the partitions and the audit log intact.
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
#include <sys/wait.h>

#include <hiredis/hiredis.h>
#include <sodium.h>

#include "archive/archive_keys.h"
#include "archive/tlog.h"
#include "tests/integration/auth_fixture.h"
#include "tests/integration/logger_fixture.h"

#define ORIGIN   "e2e.test/archive"
#define CHANNELS 4

static srv_env_t *env;
static srv_t *redis, *ircd;
static char dir[512], witness[600], yaml[1024];
static redisContext *rc;
static struct lgf_proc lg;
static struct lgf_irc sender;
static fx_t fx;

static bool logger_in_channels(void *ud)
{
	static struct lgf_entry e[256];
	int joined = 0;

	(void)ud;
	for (int c = 0; c < CHANNELS; c++) {
		char chan[16];
		snprintf(chan, sizeof(chan), "#e2e%d", c);
		size_t n = lgf_history(rc, chan, e, sizeof(e) / sizeof(e[0]));
		for (size_t i = 0; i < n; i++)
			joined += !strcmp(e[i].type, "join") && !strcmp(e[i].nick, "sealer");
	}
	return joined >= CHANNELS;
}

static int setup(void **state)
{
	char skey[TLOG_SKEY_MAX];
	tlog_signer_t signer;
	struct lgf_logger_cfg c;

	(void)state;
	if (sodium_init() < 0 || lgf_env_start(&env, &redis, &ircd, dir, sizeof(dir)) < 0 ||
	    !(rc = lgf_redis(srv_port(redis))) || tlog_signer_generate("e2e.test", &signer) < 0 ||
	    tlog_signer_format(&signer, skey, sizeof(skey)) < 0)
		return -1;
	snprintf(witness, sizeof(witness), "%s/witness.log", dir);
	snprintf(yaml, sizeof(yaml),
		 "integrity:\n  signing_key: %s\n  origin: " ORIGIN "\n  seal_interval: 200ms\n"
		 "  checkpoint_events: 20\n  checkpoint_interval: 1s\n  witness_file: %s\n",
		 skey, witness);
	sodium_memzero(skey, sizeof(skey));
	sodium_memzero(&signer, sizeof(signer));
	lgf_use_extra(yaml);
	c = (struct lgf_logger_cfg){.dir = dir,
				    .nick = "sealer",
				    .irc_port = srv_port(ircd),
				    .redis_port = srv_port(redis),
				    .metrics_port = srv_free_port()};
	if (lgf_logger_start(&c, &lg) < 0 || fx_start_on(&fx, env, redis, NULL, yaml) < 0 ||
	    lgf_irc_connect(srv_port(ircd), "writer", NULL, &sender) < 0)
		return -1;
	for (int i = 0; i < CHANNELS; i++)
		lgf_irc_send(&sender, "JOIN #e2e%d", i);
	return lgf_wait_for(logger_in_channels, NULL, 30000) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	lgf_irc_close(&sender);
	lgf_proc_stop(&lg, SIGTERM);
	if (fx.daemon)
		fx_stop(&fx);
	redisFree(rc);
	srv_env_free(env);
	return 0;
}

static long long xlen(void)
{
	redisReply *r = redisCommand(rc, "XLEN %s", ARCHIVE_KEYS_CHECKPOINTS);
	long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

	freeReplyObject(r);
	return n;
}

/* The partitions' checkpoints filed: rows as many as the stream's notes. */
static bool all_filed(void *ud)
{
	long long n = xlen();

	(void)ud;
	return n > 0 && fx_sql_int(&fx, "SELECT count(*) FROM archive_checkpoints WHERE"
					" origin LIKE '" ORIGIN "/p%'") == n;
}

/* Every note of the stream is a row with that note, root and size. */
static void notes_are_rows(void)
{
	redisReply *r = redisCommand(rc, "XRANGE %s - +", ARCHIVE_KEYS_CHECKPOINTS);
	const char *p[1];

	assert_non_null(r);
	assert_true(r->elements > 0);
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *f = r->element[i]->element[1];
		const char *note = NULL;
		PGresult *res;

		for (size_t j = 0; j + 1 < f->elements; j += 2)
			if (!strcmp(f->element[j]->str, "note"))
				note = f->element[j + 1]->str;
		assert_non_null(note);
		p[0] = note;
		res = PQexecParams(fx.db,
				   "SELECT count(*) FROM archive_checkpoints WHERE note = $1"
				   " AND stream_id IS NOT NULL",
				   1, NULL, p, NULL, NULL, 0);
		assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
		assert_string_equal(PQgetvalue(res, 0, 0), "1");
		PQclear(res);
	}
	freeReplyObject(r);
}

static void test_sealed_and_filed(void **state)
{
	(void)state;
	/* in waves, a sealing pass or more apart: checkpoints one after another */
	for (int i = 0; i < 200; i++) {
		lgf_irc_send(&sender, "PRIVMSG #e2e%d :event %d", i % CHANNELS, i);
		if (i % 50 == 49)
			lgf_sleep_ms(600);
	}
	assert_true(lgf_wait_for(all_filed, NULL, 30000));
	assert_true(xlen() >= 4);
	/* filed as sealed: the same notes, 1, 2, ... per origin by size */
	notes_are_rows();
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM (SELECT seq, row_number() OVER"
					 " (PARTITION BY origin ORDER BY size) AS n FROM"
					 " archive_checkpoints) x WHERE seq <> n"),
			 0);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM audit_log WHERE"
					 " event = 'archive.checkpoint'"),
			 xlen());
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM audit_log WHERE"
					 " event = 'archive.fork'"),
			 0);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(DISTINCT origin) FROM archive_checkpoints"
					 " WHERE origin LIKE '" ORIGIN "/p%'") > 0,
			 1);
}

/* The config eirc-archive reads: eirc-auth's, with the loggers' partitions. */
static void verify_config(char *path, size_t cap)
{
	char *text = lgf_slurp(fx.config), *at;
	FILE *f;

	assert_non_null(text);
	assert_non_null(at = strstr(text, "redis:\n"));
	snprintf(path, cap, "%s/verify.yaml", dir);
	assert_non_null(f = fopen(path, "we"));
	fprintf(f, "%.*sredis:\n  partitions: %d\n%s", (int)(at - text), text, LGF_PARTITIONS,
		at + 7);
	fclose(f);
	free(text);
}

static void test_verify(void **state)
{
	char cfg[700], cmd[2048], out[4096] = "";
	const char *b = getenv("EIRC_BUILD_DIR");
	FILE *p;
	size_t n;
	int st;

	(void)state;
	/* the audit log's checkpoint of every row (checkpoint_interval 1s) */
	lgf_sleep_ms(2500);
	verify_config(cfg, sizeof(cfg));
	snprintf(cmd, sizeof(cmd),
		 "'%s/archive/eirc-archive' --config '%s' verify --checkpoint '%s' 2>&1",
		 b ? b : "build", cfg, witness);
	assert_non_null(p = popen(cmd, "r"));
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	st = pclose(p);
	fprintf(stderr, "%s", out);
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_non_null(strstr(out, "audit rows"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sealed_and_filed),
		cmocka_unit_test(test_verify),
		cmocka_unit_test_prestate(fx_test_clean_stop, &fx),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
