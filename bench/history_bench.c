/*
 * history_bench: CHATHISTORY latency end to end through a real
 * eirc-irc-client. Starts Redis and InspIRCd from tests/harness, stores
 * --messages messages (default 1,000,000) over --channels channels
 * (default 100) with the logger's own append script (EVALSHA, pipelined,
 * so keys, fields and msgid keys are exactly what eirc-logger writes),
 * starts eirc-history, spawns one irc-client as the gateway does (fd 3,
 * sandbox on) whose browser joins one channel, then times --requests
 * requests of each form, one at a time, from the request line written to
 * fd 3 to the "BATCH -" line read back:
 *   - CHATHISTORY LATEST #c0 * 100
 *   - CHATHISTORY BEFORE #c0 msgid=<a random stored message of #c0> 100
 * Each request is also sent straight on eirc-history's socket (as the
 * irc-client sends it, up to "EIRC DONE"), interleaved with the one through
 * the irc-client (same reference, alternating which goes first), so both
 * see the same load of a shared machine; it prints p50/p99/p99.9/max in
 * microseconds for both, the ratio irc-client / bridge alone, and the load
 * average before and after. The reader takes up to BENCH_READ_MAX bytes per
 * read, so it wakes once per write of the process it times.
 *
 *   history_bench [--messages N] [--channels C] [--requests R]
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "archive/archive_append.h"
#include "common/irc_line.h"
#include "scripts/stack/launch.h"
#include "tests/harness/session_test.h"

#define BENCH_WEBIRC     "bench-webirc-secret"
#define BENCH_NETWORK    "eIRC"
#define BENCH_PARTITIONS 16
#define BENCH_PIPELINE   1000
/* Bytes one read takes: a whole 100-line answer. */
#define BENCH_READ_MAX 65536

extern char **environ;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Stores n messages round-robin over chans channels; message i of the run
 * gets msgid "b<i>". Returns 0 or -1. */
static int populate(int port, long n, int chans)
{
	redisContext *r = redisConnect("127.0.0.1", port);
	redisReply *rep;
	char sha[ARCHIVE_APPEND_SHA_LEN + 1];
	int64_t t0 = wall_ms() - n; /* one ms apart, ending now */
	uint64_t start = now_us();

	if (!r || r->err || !(rep = redisCommand(r, "SCRIPT LOAD %s", archive_append_script)))
		return -1;
	snprintf(sha, sizeof(sha), "%s", rep->str);
	freeReplyObject(rep);
	for (long i = 0; i < n;) {
		long batch_end = i + BENCH_PIPELINE < n ? i + BENCH_PIPELINE : n;
		for (long j = i; j < batch_end; j++) {
			char msgid[32], conv[16], target[16], text[64], tags[96];
			archive_append_call_t call;
			archive_append_opts_t o = {BENCH_PARTITIONS, wall_ms(), 0, NULL};
			archive_event_t ev = {.type = ARCHIVE_EV_PRIVMSG, .time_ms = t0 + j};
			snprintf(msgid, sizeof(msgid), "b%ld", j);
			snprintf(conv, sizeof(conv), "#c%ld", j % chans);
			snprintf(target, sizeof(target), "#c%ld", j % chans);
			snprintf(text, sizeof(text),
				 "benchmark message %ld with some ordinary text", j);
			snprintf(tags, sizeof(tags), "msgid=%s;+draft/reply=x", msgid);
			const char *v[ARCHIVE_EVENT_NSTR] = {[ARCHIVE_S_MSGID] = msgid,
							     [ARCHIVE_S_NETWORK] = BENCH_NETWORK,
							     [ARCHIVE_S_CONV] = conv,
							     [ARCHIVE_S_TARGET] = target,
							     [ARCHIVE_S_NICK] = "sender",
							     [ARCHIVE_S_USER] = "u5",
							     [ARCHIVE_S_HOST] = "bench.example",
							     [ARCHIVE_S_TEXT] = text,
							     [ARCHIVE_S_TAGS] = tags};
			for (int k = 0; k < ARCHIVE_EVENT_NSTR; k++)
				ev.s[k] =
					(archive_str_t){v[k] ? v[k] : "", v[k] ? strlen(v[k]) : 0};
			if (archive_append_build(&ev, &o, sha, &call) < 0 ||
			    redisAppendCommandArgv(r, call.argc, call.argv, call.argvlen) !=
				    REDIS_OK)
				return -1;
		}
		for (; i < batch_end; i++) {
			if (redisGetReply(r, (void **)&rep) != REDIS_OK)
				return -1;
			bool bad = rep->type == REDIS_REPLY_ERROR;
			freeReplyObject(rep);
			if (bad)
				return -1;
		}
	}
	printf("stored %ld messages over %d channels in %.1f s\n", n, chans,
	       (double)(now_us() - start) / 1e6);
	redisFree(r);
	return 0;
}

struct browser {
	int fd;
	pid_t pid;
	irc_line_t lf;
	bool direct; /* on the bridge's socket, not through an irc-client */
	char in[BENCH_READ_MAX];
	size_t in_off, in_len; /* in[in_off..in_len) not yet given to lf */
};

/* Reads until a line containing needle; 0, or -1 on EOF/timeout. */
static int wait_for(struct browser *b, const char *needle, int timeout_ms)
{
	for (;;) {
		char *line;
		size_t len;
		int r = irc_line_next(&b->lf, &line, &len);
		if (r == 0 && strstr(line, needle))
			return 0;
		if (r == 0 || (r < 0 && r != IRC_MSG_EAGAIN))
			continue;
		if (b->in_off < b->in_len) { /* the framer took part: it has room now */
			b->in_off +=
				irc_line_feed(&b->lf, b->in + b->in_off, b->in_len - b->in_off);
			continue;
		}
		struct pollfd pf = {.fd = b->fd, .events = POLLIN};
		if (poll(&pf, 1, timeout_ms) != 1)
			return -1;
		ssize_t n = read(b->fd, b->in, sizeof(b->in));
		if (n <= 0)
			return -1;
		b->in_len = (size_t)n;
		b->in_off = irc_line_feed(&b->lf, b->in, b->in_len);
	}
}

static int say(struct browser *b, const char *line)
{
	size_t n = strlen(line);

	return write(b->fd, line, n) == (ssize_t)n ? 0 : -1;
}

static int spawn_browser(const char *bin, const char *cfg, struct browser *b)
{
	int sv[2];
	char *argv[] = {(char *)bin,
			(char *)"--config",
			(char *)cfg,
			(char *)"--nick",
			(char *)"benchy",
			(char *)"--user-id",
			(char *)"7",
			(char *)"--client-ip",
			(char *)"198.51.100.9",
			(char *)"--display-name",
			(char *)"Bench",
			NULL};
	posix_spawn_file_actions_t fa;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
	int r = posix_spawn(&b->pid, bin, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(sv[1]);
	b->fd = sv[0];
	irc_line_init(&b->lf, 0);
	if (r != 0 || session_test_send_line(b->fd, b->pid, 7) < 0)
		return -1;
	say(b, "CAP LS 302\r\nCAP REQ :message-tags server-time batch draft/chathistory\r\n"
	       "CAP END\r\nJOIN #c0\r\n");
	return wait_for(b, " JOIN ", 10000) < 0 ? -1 : wait_for(b, " 366 ", 10000);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sends one request and waits for the end of its answer: 0 and the
 * microseconds taken, or -1. */
static int timed(struct browser *b, bool before, long k, uint64_t *out_us)
{
	char line[256];
	const char *env = b->direct ? "@eirc/user=7;label=x " : "";

	if (before)
		snprintf(line, sizeof(line), "%sCHATHISTORY BEFORE #c0 msgid=b%ld 100\r\n", env, k);
	else
		snprintf(line, sizeof(line), "%sCHATHISTORY LATEST #c0 * 100\r\n", env);
	uint64_t t = now_us();
	if (say(b, line) < 0 || wait_for(b, b->direct ? "EIRC DONE" : "BATCH -", 10000) < 0)
		return -1;
	*out_us = now_us() - t;
	return 0;
}

/* The nearest-rank percentile q/1000 of sorted lat[0..n). */
static uint64_t pct(const uint64_t *lat, int n, int q)
{
	long i = ((long)n * q + 999) / 1000 - 1;

	return lat[i < 0 ? 0 : i];
}

static void print_stats(const char *path, uint64_t *lat, int n)
{
	qsort(lat, (size_t)n, sizeof(*lat), cmp_u64);
	printf("  %-20s p50 %6llu us  p99 %6llu us  p99.9 %6llu us  max %6llu us\n", path,
	       (unsigned long long)pct(lat, n, 500), (unsigned long long)pct(lat, n, 990),
	       (unsigned long long)pct(lat, n, 999), (unsigned long long)lat[n - 1]);
}

/* Times reqs requests of one form through the irc-client (c) and on the
 * bridge's socket (d), interleaved: request i goes to both with the same
 * reference (BEFORE: a random stored message of #c0), alternating which
 * goes first. Prints the statistics of both and their ratios. */
static int run(struct browser *c, struct browser *d, const char *name, bool before, long n,
	       int chans, int reqs)
{
	uint64_t *lat = calloc((size_t)reqs * 2, sizeof(*lat));
	uint64_t *lat_d = lat + reqs;

	if (!lat)
		return -1;
	for (int i = 0; i < reqs; i++) {
		long per_chan = n / chans;
		long k = (100 + rand() % (per_chan - 100)) * chans; /* a message of #c0 */
		for (int j = 0; j < 2; j++) {
			bool direct = (j ^ (i & 1)) != 0;
			if (timed(direct ? d : c, before, k, direct ? &lat_d[i] : &lat[i]) < 0) {
				fprintf(stderr, "%s: no answer to request %d (%s)\n", name, i,
					direct ? "bridge alone" : "through the irc-client");
				free(lat);
				return -1;
			}
		}
	}
	printf("%s  n=%d each, interleaved\n", name, reqs);
	print_stats("through irc-client", lat, reqs);
	print_stats("bridge alone", lat_d, reqs);
	printf("  ratio irc-client / bridge alone: p50 %.2f  p99 %.2f\n",
	       (double)pct(lat, reqs, 500) / (double)pct(lat_d, reqs, 500),
	       (double)pct(lat, reqs, 990) / (double)pct(lat_d, reqs, 990));
	free(lat);
	return 0;
}

static void print_load(const char *when)
{
	char buf[128] = "?";
	FILE *f = fopen("/proc/loadavg", "re");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			snprintf(buf, sizeof(buf), "?\n");
		fclose(f);
	}
	printf("load average %s: %s", when, buf);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"messages", required_argument, NULL, 'm'},
		{"channels", required_argument, NULL, 'c'},
		{"requests", required_argument, NULL, 'r'},
		{NULL, 0, NULL, 0},
	};
	long n = 1000000;
	int chans = 100, reqs = 1000, c, rc = 1;
	srv_env_t *env = NULL;
	srv_t *redis, *ircd, *hist;
	struct browser b = {.fd = -1};
	char cfg[512], sock[108], bin[512], cbin[512];
	const char *bd = getenv("EIRC_BUILD_DIR") ? getenv("EIRC_BUILD_DIR") : EIRC_BENCH_BUILD_DIR;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		long v = strtol(optarg, &end, 10);
		if (*end || v < 1 || v > 100000000) {
			fprintf(stderr, "usage: history_bench [--messages N] [--channels C] "
					"[--requests R]\n");
			return 2;
		}
		if (c == 'm')
			n = v;
		else if (c == 'c')
			chans = (int)v;
		else
			reqs = (int)v;
	}
	if (n / chans < 200) {
		fprintf(stderr, "history_bench: need at least 200 messages per channel\n");
		return 2;
	}
	srv_env_install_signal_handlers();
	signal(SIGPIPE, SIG_IGN);
	srv_ircd_opts_t io = {.webirc_password = BENCH_WEBIRC, .localmax = 10};
	if (srv_env_new(NULL, &env) < 0 || srv_redis_start(env, NULL, &redis) < 0 ||
	    srv_inspircd_start(env, &io, &ircd) < 0 || populate(srv_port(redis), n, chans) < 0)
		goto out;
	chmod(srv_env_dir(env), 0755); /* the sandboxed irc-client runs as nobody */
	snprintf(cfg, sizeof(cfg), "%s/eirc.yaml", srv_env_dir(env));
	snprintf(sock, sizeof(sock), "%s/hist.sock", srv_env_dir(env));
	FILE *f = fopen(cfg, "we");
	if (!f)
		goto out;
	fprintf(f,
		"irc:\n  network: " BENCH_NETWORK "\n  servers:\n    - host: 127.0.0.1\n"
		"      port: %d\n  webirc_password: " BENCH_WEBIRC "\n"
		"auth:\n  internal_secret: \"0123456789abcdef0123456789\"\n"
		"irc_client:\n  flood_lines_per_second: 1000\n  flood_burst_lines: 10000\n"
		"  flood_bytes_per_second: 1MiB\n  browser_queue_max: 4MiB\n"
		"redis:\n  port: %d\n  partitions: %d\n"
		"history:\n  socket_path: %s\n  socket_mode: \"0666\"\n  chathistory_max: "
		"100\n" SESSION_TEST_KEY_YAML
		"  listen_port: 0\n" /* no HTTP API: nothing bound on 8083 */
		"log:\n  level: warn\n",
		srv_port(ircd), srv_port(redis), BENCH_PARTITIONS, sock);
	fclose(f);
	snprintf(bin, sizeof(bin), "%s/history-bridge/eirc-history", bd);
	snprintf(cbin, sizeof(cbin), "%s/irc-client/eirc-irc-client", bd);
	char *hargv[] = {bin, (char *)"--config", cfg, NULL};
	if (srv_process_start(env, "eirc-history", hargv, 0, NULL, &hist) < 0 ||
	    spawn_browser(cbin, cfg, &b) < 0) {
		fprintf(stderr, "history_bench: cannot start eirc-history or the irc-client\n");
		goto out;
	}
	struct browser *d = calloc(1, sizeof(*d)); /* the bridge alone */
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (!d || (d->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		free(d);
		goto out;
	}
	d->direct = true;
	irc_line_init(&d->lf, 0);
	/* warm-up: connects the irc-client to the bridge, loads the script */
	bool ok = connect(d->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		  session_test_hello(d->fd, 7) == 0 &&
		  run(&b, d, "warm-up", false, n, chans, 20) == 0;
	if (ok) {
		print_load("before");
		ok = run(&b, d, "CHATHISTORY LATEST #c0 * 100", false, n, chans, reqs) == 0 &&
		     run(&b, d, "CHATHISTORY BEFORE #c0 msgid=<random> 100", true, n, chans,
			 reqs) == 0;
		print_load("after");
	}
	close(d->fd);
	free(d);
	if (!ok)
		goto out;
	rc = 0;
out:
	if (b.fd >= 0) {
		close(b.fd);
		waitpid(b.pid, NULL, 0);
	}
	srv_env_free(env);
	return rc;
}
