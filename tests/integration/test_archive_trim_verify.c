/*
 * A trimmed archive still verifies (issue 17), end to end: an eirc-logger
 * (capture bot on a real InspIRCd, Redis) with a signing key and
 * logger.archive_retention 10s seals and trims for real; eirc-auth (a real
 * PostgreSQL) files its checkpoints; after a retention trim of every
 * partition written, and events sealed past it, `eirc-archive verify`
 * (with the witness file as the auditor's checkpoints) exits 0: the
 * tombstones follow each other and their frontier is the base the stored
 * leaf hashes continue. Then the last tombstone deleted behind eIRC's back
 * makes it exit 1.
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

#define ORIGIN   "trim.test/archive"
#define CHANNELS 4

static srv_env_t *env;
static srv_t *redis, *ircd;
static char dir[512], witness[600], yaml[1024];
static redisContext *rc;
static struct lgf_proc lg;
static struct lgf_irc sender;
static fx_t fx;

static long long cmd_int(const char *fmt, ...)
{
	va_list ap;
	redisReply *r;
	long long v = -1;

	va_start(ap, fmt);
	r = redisvCommand(rc, fmt, ap);
	va_end(ap);
	assert_non_null(r);
	if (r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	else if (r->type == REDIS_REPLY_STRING)
		v = strtoll(r->str, NULL, 10);
	freeReplyObject(r);
	return v;
}

static bool logger_in_channels(void *ud)
{
	static struct lgf_entry e[256];
	int joined = 0;

	(void)ud;
	for (int c = 0; c < CHANNELS; c++) {
		char chan[16];
		snprintf(chan, sizeof(chan), "#trim%d", c);
		size_t n = lgf_history(rc, chan, e, sizeof(e) / sizeof(e[0]));
		for (size_t i = 0; i < n; i++)
			joined += !strcmp(e[i].type, "join") && !strcmp(e[i].nick, "trimmer");
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
	    !(rc = lgf_redis(srv_port(redis))) || tlog_signer_generate("trim.test", &signer) < 0 ||
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
				    .nick = "trimmer",
				    .irc_port = srv_port(ircd),
				    .redis_port = srv_port(redis),
				    .extra_logger = "  archive_retention: 10s\n",
				    .metrics_port = srv_free_port()};
	if (lgf_logger_start(&c, &lg) < 0 || fx_start_on(&fx, env, redis, NULL, yaml) < 0 ||
	    lgf_irc_connect(srv_port(ircd), "writer", NULL, &sender) < 0)
		return -1;
	for (int i = 0; i < CHANNELS; i++)
		lgf_irc_send(&sender, "JOIN #trim%d", i);
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

static void send_wave(int from, int n)
{
	for (int i = from; i < from + n; i++) {
		lgf_irc_send(&sender, "PRIVMSG #trim%d :event %d", i % CHANNELS, i);
		if (i % 50 == 49)
			lgf_sleep_ms(600);
	}
	lgf_irc_send(&sender, "PING :wave-%d", from);
	assert_int_equal(lgf_irc_wait(&sender, "PONG", 10000, NULL, 0), 0);
}

/* Every partition with a log has a retention tombstone. */
static bool all_trimmed(void *ud)
{
	char tlog[64], tomb[64];
	int logs = 0, trimmed = 0;

	(void)ud;
	for (int k = 0; k < LGF_PARTITIONS; k++) {
		archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_STATE, tlog, sizeof(tlog));
		archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_TOMB, tomb, sizeof(tomb));
		if (cmd_int("EXISTS %s", tlog) == 1) {
			logs++;
			trimmed += cmd_int("XLEN %s", tomb) > 0;
		}
	}
	return logs > 0 && trimmed == logs;
}

/* The partitions' checkpoints filed: rows as many as the stream's notes. */
static bool all_filed(void *ud)
{
	long long n = cmd_int("XLEN %s", ARCHIVE_KEYS_CHECKPOINTS);

	(void)ud;
	return n > 0 && fx_sql_int(&fx, "SELECT count(*) FROM archive_checkpoints WHERE"
					" origin LIKE '" ORIGIN "/p%'") == n;
}

/* eirc-archive verify over both stores and the witness file: its exit
 * status; its output into out. */
static int verify(char *out, size_t cap)
{
	char *text = lgf_slurp(fx.config), *at, cfg[700], cmd[2048];
	const char *b = getenv("EIRC_BUILD_DIR");
	FILE *f, *p;
	size_t n;

	/* eirc-auth's config, with the logger's partitions */
	assert_non_null(text);
	assert_non_null(at = strstr(text, "redis:\n"));
	snprintf(cfg, sizeof(cfg), "%s/verify.yaml", dir);
	assert_non_null(f = fopen(cfg, "we"));
	fprintf(f, "%.*sredis:\n  partitions: %d\n%s", (int)(at - text), text, LGF_PARTITIONS,
		at + 7);
	fclose(f);
	free(text);
	snprintf(cmd, sizeof(cmd),
		 "'%s/archive/eirc-archive' --config '%s' verify --checkpoint '%s' 2>&1",
		 b ? b : "build", cfg, witness);
	assert_non_null(p = popen(cmd, "r"));
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	return WEXITSTATUS(pclose(p));
}

static void test_trimmed_archive_verifies(void **state)
{
	char out[4096];
	long long tombs = 0;

	(void)state;
	send_wave(0, 200);
	/* past the 10 s retention, a checkpoint and a pass */
	assert_true(lgf_wait_for(all_trimmed, NULL, 40000));
	/* the log goes on past the trim */
	send_wave(200, 100);
	lgf_sleep_ms(2500); /* sealed, checkpointed (checkpoint_interval 1s) */
	assert_true(lgf_wait_for(all_filed, NULL, 30000));
	for (int k = 0; k < LGF_PARTITIONS; k++) {
		char tomb[64];
		archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_TOMB, tomb, sizeof(tomb));
		tombs += cmd_int("XLEN %s", tomb);
	}
	fprintf(stderr, "%lld tombstones\n", tombs);
	assert_true(tombs > 0);
	int st = verify(out, sizeof(out));
	fprintf(stderr, "%s", out);
	assert_int_equal(st, 0);
}

/* The last trim's tombstone gone: the leaves it removed are a finding. */
static void test_tombstone_deleted_found(void **state)
{
	char tomb[64], out[4096];
	redisReply *r;
	int k;

	(void)state;
	for (k = 0; k < LGF_PARTITIONS; k++) {
		archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_TOMB, tomb, sizeof(tomb));
		if (cmd_int("XLEN %s", tomb) > 0)
			break;
	}
	assert_true(k < LGF_PARTITIONS);
	r = redisCommand(rc, "XREVRANGE %s + - COUNT 1", tomb);
	assert_true(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1);
	assert_int_equal(cmd_int("XDEL %s %s", tomb, r->element[0]->element[0]->str), 1);
	freeReplyObject(r);
	int st = verify(out, sizeof(out));
	fprintf(stderr, "%s", out);
	assert_int_equal(st, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trimmed_archive_verifies),
		cmocka_unit_test(test_tombstone_deleted_found),
		cmocka_unit_test_prestate(fx_test_clean_stop, &fx),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
