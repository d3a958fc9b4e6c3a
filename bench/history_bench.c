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
 * and prints p50/p99/max in microseconds. Then the same requests straight
 * on eirc-history's socket (as the irc-client sends them, up to "EIRC
 * DONE"), to show what the bridge and Redis take without the irc-client.
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

#include "common/irc_line.h"
#include "logger-bot/lg_append.h"
#include "tests/harness/servers.h"

#define BENCH_WEBIRC     "bench-webirc-secret"
#define BENCH_NETWORK    "eIRC"
#define BENCH_PARTITIONS 16
#define BENCH_PIPELINE   1000

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
	char sha[LG_APPEND_SHA_LEN + 1];
	int64_t t0 = wall_ms() - n; /* one ms apart, ending now */
	uint64_t start = now_us();

	if (!r || r->err || !(rep = redisCommand(r, "SCRIPT LOAD %s", lg_append_script)))
		return -1;
	snprintf(sha, sizeof(sha), "%s", rep->str);
	freeReplyObject(rep);
	for (long i = 0; i < n;) {
		long batch_end = i + BENCH_PIPELINE < n ? i + BENCH_PIPELINE : n;
		for (long j = i; j < batch_end; j++) {
			char msgid[32], conv[16], target[16], text[64], tags[96];
			struct lg_append_call call;
			struct lg_append_opts o = {BENCH_PARTITIONS, wall_ms(), 0};
			struct lg_event ev = {.type = LG_EV_PRIVMSG, .time_ms = t0 + j};
			snprintf(msgid, sizeof(msgid), "b%ld", j);
			snprintf(conv, sizeof(conv), "#c%ld", j % chans);
			snprintf(target, sizeof(target), "#c%ld", j % chans);
			snprintf(text, sizeof(text),
			         "benchmark message %ld with some ordinary text", j);
			snprintf(tags, sizeof(tags), "msgid=%s;+draft/reply=x", msgid);
			const char *v[LG_EVENT_NSTR] = {[LG_S_MSGID] = msgid,
			                                [LG_S_NETWORK] = BENCH_NETWORK,
			                                [LG_S_CONV] = conv,
			                                [LG_S_TARGET] = target,
			                                [LG_S_NICK] = "sender",
			                                [LG_S_USER] = "u5",
			                                [LG_S_HOST] = "bench.example",
			                                [LG_S_TEXT] = text,
			                                [LG_S_TAGS] = tags};
			for (int k = 0; k < LG_EVENT_NSTR; k++)
				ev.s[k] =
				    (struct lg_str){v[k] ? v[k] : "", v[k] ? strlen(v[k]) : 0};
			if (lg_append_build(&ev, &o, sha, &call) < 0 ||
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
	struct irc_line lf;
	bool direct; /* on the bridge's socket, not through an irc-client */
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
		struct pollfd pf = {.fd = b->fd, .events = POLLIN};
		if (poll(&pf, 1, timeout_ms) != 1)
			return -1;
		char buf[4096];
		ssize_t n = read(b->fd, buf, sizeof(buf));
		if (n <= 0)
			return -1;
		for (size_t off = 0; off < (size_t)n;)
			off += irc_line_feed(&b->lf, buf + off, (size_t)n - off);
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
	if (r != 0)
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

/* Times reqs requests (BEFORE: a random stored message of #c0 as the
 * reference); prints the statistics. */
static int run(struct browser *b, const char *name, bool before, long n, int chans, int reqs)
{
	uint64_t *lat = calloc((size_t)reqs, sizeof(*lat));
	char line[256];

	if (!lat)
		return -1;
	for (int i = 0; i < reqs; i++) {
		long per_chan = n / chans;
		long k = (100 + rand() % (per_chan - 100)) * chans; /* a message of #c0 */
		const char *env = b->direct ? "@eirc/user=7;label=x " : "";
		if (before)
			snprintf(line, sizeof(line), "%sCHATHISTORY BEFORE #c0 msgid=b%ld 100\r\n",
			         env, k);
		else
			snprintf(line, sizeof(line), "%sCHATHISTORY LATEST #c0 * 100\r\n", env);
		uint64_t t = now_us();
		if (say(b, line) < 0 ||
		    wait_for(b, b->direct ? "EIRC DONE" : "BATCH -", 10000) < 0) {
			fprintf(stderr, "%s: no answer to request %d\n", name, i);
			free(lat);
			return -1;
		}
		lat[i] = now_us() - t;
	}
	qsort(lat, (size_t)reqs, sizeof(*lat), cmp_u64);
	printf("%-42s n=%d  p50 %6llu us  p99 %6llu us  max %6llu us\n", name, reqs,
	       (unsigned long long)lat[reqs / 2], (unsigned long long)lat[reqs * 99 / 100],
	       (unsigned long long)lat[reqs - 1]);
	free(lat);
	return 0;
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
	struct browser b = {-1, 0, {0}, false};
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
	        "history:\n  socket_path: %s\n  socket_mode: \"0666\"\n  chathistory_max: 100\n"
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
	/* warm-up: connects the irc-client to the bridge, loads the script */
	if (run(&b, "warm-up", false, n, chans, 20) < 0 ||
	    run(&b, "CHATHISTORY LATEST #c0 * 100", false, n, chans, reqs) < 0 ||
	    run(&b, "CHATHISTORY BEFORE #c0 msgid=<random> 100", true, n, chans, reqs) < 0)
		goto out;
	/* the bridge alone */
	struct browser d = {socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), 0, {0}, true};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	irc_line_init(&d.lf, 0);
	if (d.fd < 0 || connect(d.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    run(&d, "bridge only: LATEST #c0 * 100", false, n, chans, reqs) < 0 ||
	    run(&d, "bridge only: BEFORE #c0 msgid=<random> 100", true, n, chans, reqs) < 0) {
		if (d.fd >= 0)
			close(d.fd);
		goto out;
	}
	close(d.fd);
	rc = 0;
out:
	if (b.fd >= 0) {
		close(b.fd);
		waitpid(b.pid, NULL, 0);
	}
	srv_env_free(env);
	return rc;
}
