/*
 * archive_bench: the tamper-evident archive at scale, in one run against
 * real servers (Redis with its ACL users, InspIRCd, PostgreSQL):
 *   1. N events appended with the append script as eirc-logger's writer
 *      sends them (batched EVALSHA, pipelined, seal records: digest + MAC),
 *      in batches of one partition, 40 channels over LGF_PARTITIONS;
 *   2. a real eirc-logger started on that backlog: how fast it seals
 *      (leaves per second, its CPU per leaf) and signs checkpoints;
 *   3. a real eirc-auth files the checkpoints into PostgreSQL;
 *   4. `eirc-archive verify` over the whole archive (Redis only: the
 *      Elasticsearch test server would measure Python): events per second.
 * Usage: archive_bench [N] (default 1000000). Run from the build tree's
 * parent or set EIRC_BUILD_DIR.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <sodium.h>

#include "archive/archive_append.h"
#include "archive/archive_keys.h"
#include "archive/tlog.h"
#include "tests/integration/auth_fixture.h"
#include "tests/integration/logger_fixture.h"

#define ORIGIN   "bench.example/archive"
#define CHANNELS 40
#define PIPELINE 64 /* batches in flight */

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* CPU seconds (user + system) of pid. */
static double proc_cpu(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "re")))
		return 0;
	if (!fgets(buf, sizeof(buf), f) || !(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		ut = st = 0;
	fclose(f);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double redis_cpu(redisContext *c)
{
	redisReply *r = redisCommand(c, "INFO cpu");
	double s = 0, u = 0;
	char *p;

	if (r && r->type == REDIS_REPLY_STRING) {
		if ((p = strstr(r->str, "used_cpu_sys_main_thread:")))
			s = atof(p + 25);
		if ((p = strstr(r->str, "used_cpu_user_main_thread:")))
			u = atof(p + 26);
	}
	freeReplyObject(r);
	return s + u;
}

static void drain(redisContext *c, long *inflight)
{
	redisReply *r;

	while (*inflight > 0) {
		if (redisGetReply(c, (void **)&r) != REDIS_OK || !r ||
		    r->type == REDIS_REPLY_ERROR) {
			fprintf(stderr, "append failed: %s\n", r ? r->str : c->errstr);
			exit(1);
		}
		freeReplyObject(r);
		(*inflight)--;
	}
}

/* Phase 1: n events, as the writer appends them. */
static void fill(redisContext *c, const uint8_t mac_key[32], long n)
{
	static archive_append_batch_t b;
	archive_append_opts_t o = {LGF_PARTITIONS, 0, 0, mac_key};
	redisReply *r = redisCommand(c, "SCRIPT LOAD %s", archive_append_batch_script);
	/* the batch points into the events' strings: one buffer per event */
	static char msgid[ARCHIVE_APPEND_BATCH_MAX][32], text[ARCHIVE_APPEND_BATCH_MAX][64];
	char sha[ARCHIVE_APPEND_SHA_LEN + 1], chan[16];
	archive_event_t ev = {.type = ARCHIVE_EV_PRIVMSG};
	long inflight = 0;
	double t0 = now_s(), c0 = redis_cpu(c);

	snprintf(sha, sizeof(sha), "%s", r->str);
	freeReplyObject(r);
	ev.s[ARCHIVE_S_NETWORK] = (archive_str_t){"eIRC", 4};
	ev.s[ARCHIVE_S_NICK] = (archive_str_t){"alice", 5};
	ev.s[ARCHIVE_S_USER] = (archive_str_t){"u1", 2};
	ev.s[ARCHIVE_S_HOST] = (archive_str_t){"eirc/u1", 7};
	ev.s[ARCHIVE_S_ACCOUNT] = (archive_str_t){"alice", 5};
	for (long i = 0; i < n;) {
		int ch = (int)((i / ARCHIVE_APPEND_BATCH_MAX) % CHANNELS);
		snprintf(chan, sizeof(chan), "#bench%d", ch);
		o.now_ms = (int64_t)time(NULL) * 1000;
		archive_append_batch_begin(&b, sha, &o);
		for (int j = 0; j < ARCHIVE_APPEND_BATCH_MAX && i < n; j++, i++) {
			ev.time_ms = o.now_ms;
			snprintf(msgid[j], sizeof(msgid[j]), "ab%ld", i);
			snprintf(text[j], sizeof(text[j]),
				 "message %ld of the archive bench, a line", i);
			ev.s[ARCHIVE_S_MSGID] = (archive_str_t){msgid[j], strlen(msgid[j])};
			ev.s[ARCHIVE_S_CONV] = ev.s[ARCHIVE_S_TARGET] =
				(archive_str_t){chan, strlen(chan)};
			ev.s[ARCHIVE_S_TEXT] = (archive_str_t){text[j], strlen(text[j])};
			if (archive_append_batch_add(&b, &ev, &o) < 0) {
				fprintf(stderr, "batch_add failed\n");
				exit(1);
			}
		}
		archive_append_batch_finish(&b);
		redisAppendCommandArgv(c, b.argc, b.argv, b.argvlen);
		if (++inflight >= PIPELINE)
			drain(c, &inflight);
	}
	drain(c, &inflight);
	printf("== 1. appended %ld events with seal records in %.2f s = %.0f events/s; Redis main "
	       "thread %.1f us per event\n",
	       n, now_s() - t0, (double)n / (now_s() - t0), (redis_cpu(c) - c0) * 1e6 / (double)n);
}

static long long sealed(redisContext *c)
{
	long long sum = 0;

	for (int k = 0; k < LGF_PARTITIONS; k++) {
		redisReply *r = redisCommand(c, "HGET eirc:{p%d}:tlog size", k);
		if (r && r->type == REDIS_REPLY_STRING)
			sum += atoll(r->str);
		freeReplyObject(r);
	}
	return sum;
}

static redisContext *rc;
static fx_t fx;

static bool all_filed(void *ud)
{
	redisReply *r = redisCommand(rc, "XLEN %s", ARCHIVE_KEYS_CHECKPOINTS);
	long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

	(void)ud;
	freeReplyObject(r);
	return n > 0 && fx_sql_int(&fx, "SELECT count(*) FROM archive_checkpoints WHERE"
					" origin LIKE '" ORIGIN "/p%'") >= n;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	srv_env_t *env;
	srv_t *redis, *ircd;
	char dir[512], yaml[1024], skey[TLOG_SKEY_MAX], cfg[700], cmd[2048], line[1024];
	tlog_signer_t signer;
	uint8_t mac_key[32];
	struct lgf_proc lg = {0};
	struct lgf_logger_cfg lc;
	double t0, c0, r0, w;
	long long s;
	FILE *p;
	int st;

	if (n < 1 || sodium_init() < 0) {
		fprintf(stderr, "usage: archive_bench [N]\n");
		return 2;
	}
	if (!getenv("EIRC_BUILD_DIR"))
		setenv("EIRC_BUILD_DIR", EIRC_BENCH_BUILD_DIR, 1);
	srv_env_install_signal_handlers();
	if (lgf_env_start(&env, &redis, &ircd, dir, sizeof(dir)) < 0 ||
	    !(rc = lgf_redis(srv_port(redis))) ||
	    tlog_signer_generate("bench.example", &signer) < 0 ||
	    tlog_signer_format(&signer, skey, sizeof(skey)) < 0)
		return 1;
	tlog_mac_key(&signer, mac_key);
	snprintf(yaml, sizeof(yaml),
		 "integrity:\n  signing_key: %s\n  origin: " ORIGIN "\n  seal_interval: 200ms\n"
		 "  seal_batch: 10000\n  checkpoint_events: 100000\n  checkpoint_interval: 1s\n",
		 skey);
	lgf_use_extra(yaml);
	if (fx_start_on(&fx, env, redis, NULL, yaml) < 0)
		return 1;
	fill(rc, mac_key, n);

	/* 2. a logger seals the backlog */
	lc = (struct lgf_logger_cfg){.dir = dir,
				     .nick = "sealer",
				     .irc_port = srv_port(ircd),
				     .redis_port = srv_port(redis),
				     .metrics_port = srv_free_port()};
	t0 = now_s();
	r0 = redis_cpu(rc);
	if (lgf_logger_start(&lc, &lg) < 0)
		return 1;
	c0 = proc_cpu(lg.pid);
	while ((s = sealed(rc)) < n && now_s() < t0 + 600)
		usleep(50000);
	w = now_s() - t0;
	printf("== 2. eirc-logger sealed %lld of %ld events in %.2f s (from its start) = %.0f "
	       "leaves/s; its CPU %.2f us per leaf, Redis main thread %.2f us per leaf\n",
	       s, n, w, (double)s / w, (proc_cpu(lg.pid) - c0) * 1e6 / (double)s,
	       (redis_cpu(rc) - r0) * 1e6 / (double)s);

	/* 3. eirc-auth files the checkpoints */
	t0 = now_s();
	if (!lgf_wait_for(all_filed, NULL, 120000))
		fprintf(stderr, "not every checkpoint filed\n");
	printf("== 3. checkpoints filed in PostgreSQL within %.2f s\n", now_s() - t0);
	lgf_proc_stop(&lg, SIGTERM);

	/* 4. verify, with eirc-auth's config and the loggers' partitions */
	{
		char *text = lgf_slurp(fx.config), *at = text ? strstr(text, "redis:\n") : NULL;
		FILE *f;
		if (!at)
			return 1;
		snprintf(cfg, sizeof(cfg), "%s/verify.yaml", dir);
		if (!(f = fopen(cfg, "we")))
			return 1;
		fprintf(f, "%.*sredis:\n  partitions: %d\n%s", (int)(at - text), text,
			LGF_PARTITIONS, at + 7);
		fclose(f);
		free(text);
	}
	snprintf(cmd, sizeof(cmd), "'%s/archive/eirc-archive' --config '%s' verify 2>&1",
		 getenv("EIRC_BUILD_DIR"), cfg);
	t0 = now_s();
	r0 = redis_cpu(rc);
	if (!(p = popen(cmd, "r")))
		return 1;
	while (fgets(line, sizeof(line), p))
		printf("   %s", line);
	st = pclose(p);
	w = now_s() - t0;
	printf("== 4. eirc-archive verify: exit %d, %.2f s for %ld events = %.0f events/s; Redis "
	       "main thread %.2f us per event\n",
	       WEXITSTATUS(st), w, n, (double)n / w, (redis_cpu(rc) - r0) * 1e6 / (double)n);
	fx_stop(&fx);
	redisFree(rc);
	srv_env_free(env);
	return WEXITSTATUS(st) == 0 ? 0 : 1;
}
