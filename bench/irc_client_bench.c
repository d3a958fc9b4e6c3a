/*
 * irc_client_bench: starts N eirc-irc-client sessions (default 1,000)
 * against a real InspIRCd from tests/harness, the way the gateway does
 * (socketpair end on fd 3, identity on argv, sandbox on), each with an
 * IRCv3 browser that sends "CAP LS 302" and "CAP END" at once, and reports:
 *   - start-to-001: from spawn to the 001 line on the browser socket, per
 *     session, p50/p99/max (at most --concurrency sessions starting at once);
 *   - memory per irc-client process with all N connected and idle, from
 *     /proc/PID/smaps_rollup: Pss, Private_Clean + Private_Dirty, Rss.
 * Then it closes every browser socket and checks that every process exits
 * with status 0.
 *
 *   irc_client_bench [--sessions N] [--concurrency C] [--binary PATH]
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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "scripts/stack/launch.h"

#define BENCH_WEBIRC       "bench-webirc-secret"
#define BENCH_SESSIONS_MAX 20000

extern char **environ;

struct sess {
	pid_t pid;
	int fd;
	uint64_t t0_us, t001_us;
	size_t got;
	char buf[256]; /* enough to find " 001 " */
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static int spawn(struct sess *s, const char *bin, const char *cfg, int i)
{
	int sv[2];
	char nick[32], uid[16];
	posix_spawn_file_actions_t fa;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	snprintf(nick, sizeof(nick), "bench%d", i);
	snprintf(uid, sizeof(uid), "%d", 1000 + i);
	static char o_cfg[] = "--config", o_nick[] = "--nick", o_uid[] = "--user-id",
		    o_ip[] = "--client-ip", ip[] = "198.51.100.77";
	char *argv[] = {(char *)bin, o_cfg, (char *)cfg, o_nick, nick, o_uid, uid, o_ip, ip, NULL};
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
	s->t0_us = now_us();
	int r = posix_spawn(&s->pid, bin, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(sv[1]);
	if (r != 0) {
		close(sv[0]);
		return -r;
	}
	s->fd = sv[0];
	static const char hello[] = "CAP LS 302\r\nCAP END\r\n";
	if (write(s->fd, hello, sizeof(hello) - 1) != (ssize_t)sizeof(hello) - 1)
		return -EIO;
	return 0;
}

/* Reads what is there; true once the 001 line has arrived. */
static bool poll_001(struct sess *s)
{
	char tmp[4096];
	ssize_t n = read(s->fd, tmp, sizeof(tmp));

	if (n <= 0)
		return false;
	size_t keep =
		s->got + (size_t)n < sizeof(s->buf) - 1 ? (size_t)n : sizeof(s->buf) - 1 - s->got;
	memcpy(s->buf + s->got, tmp, keep);
	s->got += keep;
	s->buf[s->got] = '\0';
	if (!strstr(s->buf, " 001 "))
		return false;
	s->t001_us = now_us();
	return true;
}

/* Starts every session with at most conc registering at once. */
static int start_all(struct sess *ss, int n, int conc, const char *bin, const char *cfg)
{
	struct pollfd *pf = calloc((size_t)conc, sizeof(*pf));
	int *idx = calloc((size_t)conc, sizeof(*idx));
	int next = 0, done = 0, inflight = 0;

	while (done < n) {
		while (inflight < conc && next < n) {
			if (spawn(&ss[next], bin, cfg, next) < 0) {
				fprintf(stderr, "spawn %d failed\n", next);
				return -1;
			}
			idx[inflight] = next++;
			pf[inflight].fd = ss[idx[inflight]].fd;
			pf[inflight].events = POLLIN;
			inflight++;
		}
		if (poll(pf, (nfds_t)inflight, 10000) <= 0) {
			fprintf(stderr, "no 001 within 10 s (%d done)\n", done);
			return -1;
		}
		for (int k = 0; k < inflight; k++) {
			if (!(pf[k].revents & (POLLIN | POLLHUP)) || !poll_001(&ss[idx[k]]))
				continue;
			done++;
			idx[k] = idx[inflight - 1];
			pf[k] = pf[inflight - 1];
			inflight--;
			k--;
		}
	}
	free(pf);
	free(idx);
	return 0;
}

struct mem {
	long pss, priv, priv_dirty, rss;
};

static int read_mem(pid_t pid, struct mem *m)
{
	char path[64], line[256];
	long v;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	*m = (struct mem){0};
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Pss: %ld", &v) == 1)
			m->pss = v;
		else if (sscanf(line, "Rss: %ld", &v) == 1)
			m->rss = v;
		else if (sscanf(line, "Private_Clean: %ld", &v) == 1)
			m->priv += v;
		else if (sscanf(line, "Private_Dirty: %ld", &v) == 1) {
			m->priv += v;
			m->priv_dirty = v;
		}
	}
	fclose(f);
	return 0;
}

static void report_mem(struct sess *ss, int n)
{
	struct mem sum = {0}, m = {0};
	int counted = 0;

	for (int i = 0; i < n; i++) {
		if (read_mem(ss[i].pid, &m) < 0)
			continue;
		sum.pss += m.pss;
		sum.priv += m.priv;
		sum.priv_dirty += m.priv_dirty;
		sum.rss += m.rss;
		counted++;
	}
	if (!counted)
		return;
	printf("memory per irc-client (average of %d, all connected and idle):\n", counted);
	printf("  PSS            %7.1f KiB\n", (double)sum.pss / counted);
	printf("  private        %7.1f KiB (dirty %.1f KiB)\n", (double)sum.priv / counted,
	       (double)sum.priv_dirty / counted);
	printf("  RSS            %7.1f KiB\n", (double)sum.rss / counted);
}

static void report_latency(struct sess *ss, int n)
{
	uint64_t *d = calloc((size_t)n, sizeof(*d));

	for (int i = 0; i < n; i++)
		d[i] = ss[i].t001_us - ss[i].t0_us;
	qsort(d, (size_t)n, sizeof(*d), cmp_u64);
	printf("start-to-001 over %d sessions: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", n,
	       (double)d[n / 2] / 1000, (double)d[(size_t)n * 99 / 100] / 1000,
	       (double)d[n - 1] / 1000);
	free(d);
}

static int stop_all(struct sess *ss, int n)
{
	int bad = 0;

	for (int i = 0; i < n; i++)
		close(ss[i].fd);
	for (int i = 0; i < n; i++) {
		int st;
		if (waitpid(ss[i].pid, &st, 0) != ss[i].pid || !WIFEXITED(st) || WEXITSTATUS(st))
			bad++;
	}
	printf("closed every browser socket: %d of %d processes exited with status 0\n", n - bad,
	       n);
	return bad ? 1 : 0;
}

/* The same registration done by a raw client straight to the server
 * (WEBIRC, NICK, USER): the server's own share of start-to-001. */
static void baseline(int port, int n)
{
	uint64_t *d = calloc((size_t)n, sizeof(*d));

	for (int i = 0; i < n; i++) {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		char line[256], buf[4096];
		size_t got = 0;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		uint64_t t0 = now_us();
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return;
		int len = snprintf(line, sizeof(line),
				   "WEBIRC " BENCH_WEBIRC " eirc 198.51.100.78 198.51.100.78\r\n"
				   "NICK raw%d\r\nUSER u%d 0 * :raw\r\n",
				   i, i);
		if (write(fd, line, (size_t)len) != len)
			return;
		for (ssize_t r; got < sizeof(buf) - 1 &&
				(r = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0;) {
			got += (size_t)r;
			buf[got] = '\0';
			if (strstr(buf, " 001 "))
				break;
		}
		d[i] = now_us() - t0;
		close(fd);
	}
	qsort(d, (size_t)n, sizeof(*d), cmp_u64);
	printf("baseline, raw client registering straight to InspIRCd (%d sequential): "
	       "p50 %.2f ms, p99 %.2f ms\n",
	       n, (double)d[n / 2] / 1000, (double)d[(size_t)n * 99 / 100] / 1000);
	free(d);
}

static void write_config(const char *path, int port)
{
	FILE *f = fopen(path, "w");

	fprintf(f,
		"irc:\n  servers:\n    - host: 127.0.0.1\n      port: %d\n"
		"  webirc_password: " BENCH_WEBIRC "\n"
		"auth:\n  internal_secret: \"0123456789abcdef0123456789\"\n"
		"history:\n  socket_path: null\nlog:\n  level: warn\n",
		port);
	fclose(f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"sessions", required_argument, NULL, 'n'},
					     {"concurrency", required_argument, NULL, 'c'},
					     {"binary", required_argument, NULL, 'b'},
					     {NULL, 0, NULL, 0}};
	int n = 1000, conc = 8, o;
	char bin[512] = EIRC_SOURCE_DIR "/build/irc-client/eirc-irc-client", cfg[512];
	srv_env_t *env;
	srv_t *ircd;

	while ((o = getopt_long(argc, argv, "n:c:b:", opts, NULL)) != -1) {
		char *end;
		long v = o != 'b' ? strtol(optarg, &end, 10) : 0;
		if (o != 'b' && (*end || v < 1 || v > BENCH_SESSIONS_MAX)) {
			fprintf(stderr, "bad number: %s\n", optarg);
			return 2;
		}
		if (o == 'n')
			n = (int)v;
		else if (o == 'c')
			conc = (int)v;
		else if (o == 'b')
			snprintf(bin, sizeof(bin), "%s", optarg);
		else
			return 2;
	}
	raise_nofile();
	srv_env_install_signal_handlers();
	signal(SIGPIPE, SIG_IGN);
	srv_ircd_opts_t io = {.webirc_password = BENCH_WEBIRC, .localmax = n + 100};
	if (srv_env_new(NULL, &env) < 0 || srv_inspircd_start(env, &io, &ircd) < 0)
		return 1;
	chmod(srv_env_dir(env), 0755);
	snprintf(cfg, sizeof(cfg), "%s/eirc.yaml", srv_env_dir(env));
	write_config(cfg, srv_port(ircd));
	struct sess *ss = calloc((size_t)n, sizeof(*ss));
	printf("irc_client_bench: %d sessions, %d starting at once, binary %s\n", n, conc, bin);
	baseline(srv_port(ircd), n < 100 ? n : 100);
	if (start_all(ss, n, conc, bin, cfg) < 0)
		return 1;
	report_latency(ss, n);
	sleep(1); /* let every process settle after registration */
	report_mem(ss, n);
	if (getenv("BENCH_SMAPS")) { /* dump one process's smaps, to see where memory goes */
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "cat /proc/%d/smaps > %s", (int)ss[0].pid,
			 getenv("BENCH_SMAPS"));
		if (system(cmd) != 0)
			fprintf(stderr, "smaps dump failed\n");
	}
	int rc = stop_all(ss, n);
	free(ss);
	srv_env_free(env);
	return rc;
}
