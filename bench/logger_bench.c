/*
 * logger_bench: eirc-logger's ceilings, all in one run against one real
 * Redis (AOF on, appendfsync everysec) started here:
 *   1. redis-benchmark driving the append script itself (EVALSHA, unique
 *      msgids, pipelined): the ceiling;
 *   2. the logger's writer fed directly (lg_writer: encode, queue,
 *      pipelined EVALSHA) with N events: its sustained ingest rate;
 *   3. the shipper (lg_shipper) indexing those N archive entries into the
 *      Elasticsearch test server: the shipper's rate (bounded by the
 *      Python test server, not by a real cluster).
 * Usage: logger_bench [N] (default 200000). Run from the source tree.
 *
 * logger_bench --cluster M [N]: the writer's scaling with Redis Cluster
 * masters, in one run: one Redis and an M-master Redis Cluster (no
 * replicas, AOF on) on this machine; redis-benchmark on the append script
 * against the single Redis and against the cluster master owning the
 * script's slot; the writer fed directly with N events against the single
 * Redis (one connection), then against the cluster (redis cluster mode,
 * 16 partitions over the masters). Reported: rates, the Redis CPU (summed
 * over the masters) and the bench process's own CPU per event (the writer
 * and the cluster client are in it).
 *
 * logger_bench irc [--clients N] [--channels C] [--seconds S]: the whole
 * path instead (issue 6, "keeps up with everything one InspIRCd can
 * deliver"): a real InspIRCd, Redis and one eirc-logger; N sender clients
 * (opered, so InspIRCd's flood limits do not apply to them) spread over C
 * channels push PRIVMSG as fast as InspIRCd reads them (non-blocking writes,
 * poll: TCP backpressure, no overrun) for S seconds, and one plain observer
 * in every channel counts what InspIRCd delivered. Reported from the same
 * window: the observer's rate, the archived rate (XLEN of the history
 * streams), the logger's lag at the end and its catch-up time, and lost
 * messages (observer msgids against archived msgids, by XRANGE).
 * The logger connects to its own listener and gets the capture class by its
 * PASS (64 MiB hardsendq; lgf_ircd_logger_class(), docs/logger.md), as
 * production should.
 *
 * logger_bench irc --rate R ...: first a window with the senders capped at
 * R msg/s in total (each sender R/N, paced on the clock), then the uncapped
 * window, in the same run: the capped window shows whether the logger
 * archives R msg/s with nothing lost and no disconnection, the uncapped one
 * what InspIRCd can deliver on this machine at that moment.
 * --logger-class 0 puts the logger on the ordinary client port without its
 * PASS instead (the "gateway" class, 4 MiB hardsendq), for comparison.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <hiredis/hiredis.h>
#include <sodium.h>

#include "archive/archive_append.h"
#include "archive/tlog.h"
#include "common/redis_slot.h"
#include "logger-bot/lg_shipper.h"
#include "logger-bot/lg_writer.h"
#include "scripts/stack/launch.h"
#include "tests/integration/logger_fixture.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds Redis's main thread has used (INFO cpu): the cost of a
 * phase in Redis, whatever else the shared machine runs. */
static double redis_cpu(int port)
{
	redisContext *c = redisConnect("127.0.0.1", port);
	redisReply *r = c ? redisCommand(c, "INFO cpu") : NULL;
	double t = 0;
	const char *p;

	if (r && r->type == REDIS_REPLY_STRING) {
		if ((p = strstr(r->str, "used_cpu_sys_main_thread:")))
			t += strtod(p + 25, NULL);
		if ((p = strstr(r->str, "used_cpu_user_main_thread:")))
			t += strtod(p + 26, NULL);
	}
	if (r)
		freeReplyObject(r);
	if (c)
		redisFree(c);
	return t;
}

/* The CPU seconds this process has used (user + system). */
static double self_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double redis_cpu_sum(const int *ports, int n)
{
	double t = 0;

	for (int i = 0; i < n; i++)
		t += redis_cpu(ports[i]);
	return t;
}

static int redis_benchmark(int port, long n)
{
	redisContext *c = redisConnect("127.0.0.1", port);
	redisReply *r = redisCommand(c, "SCRIPT LOAD %s", archive_append_script);
	char cmd[2048];
	int rc;

	snprintf(cmd, sizeof(cmd),
		 "redis-benchmark -p %d -n %ld -c 4 -P 64 -r 1000000000 -q EVALSHA %s 3 "
		 "'eirc:{p1}:history:eIRC:#bench' 'eirc:{p1}:archive' "
		 "'eirc:{p1}:msgid:rb-__rand_int__' 0 86400000 eIRC msgid rb-__rand_int__ "
		 "time 1700000000000 type privmsg conv '#bench' target '#bench' nick alice user u1 "
		 "host h.example account '' text 'a benchmark line of ordinary length, forty "
		 "bytes' tags 'msgid=x;time=2023-11-14T22:13:20.000Z' | tr '\\r' '\\n' | "
		 "grep 'requests per second' | sed 's/^.*Z: //'",
		 port, n, r->str);
	freeReplyObject(r);
	redisFree(c);
	printf("== redis-benchmark, append script, one event per call (EVALSHA, -P 64, -c 4, "
	       "AOF everysec)\n");
	fflush(stdout);
	double c0 = redis_cpu(port);
	rc = system(cmd);
	printf("   Redis main thread CPU: %.1f us per event\n", (redis_cpu(port) - c0) * 1e6 / n);
	return rc;
}

struct feed {
	int run; /* msgids differ per run: each run writes, none dedups */
	lg_writer_t *w;
	lg_metrics_t m;
	long n, pushed;
	double t0, t1;
	uv_idle_t idle;
	uv_timer_t check;
};

static void on_idle(uv_idle_t *h)
{
	struct feed *f = h->data;
	char id[32];
	archive_event_t ev = {.type = ARCHIVE_EV_PRIVMSG, .time_ms = 1700000000000};
	static const char text[] = "a benchmark line of ordinary length, forty bytes";

	ev.s[ARCHIVE_S_NETWORK] = (archive_str_t){"eIRC", 4};
	ev.s[ARCHIVE_S_NICK] = (archive_str_t){"alice", 5};
	ev.s[ARCHIVE_S_USER] = (archive_str_t){"u1", 2};
	ev.s[ARCHIVE_S_HOST] = (archive_str_t){"h.example", 9};
	ev.s[ARCHIVE_S_TEXT] = (archive_str_t){text, sizeof(text) - 1};
	for (int i = 0; i < 2000 && f->pushed < f->n; i++, f->pushed++) {
		char conv[16];
		int cl = snprintf(conv, sizeof(conv), "#bench%ld", f->pushed % 20);
		ev.s[ARCHIVE_S_CONV] = ev.s[ARCHIVE_S_TARGET] = (archive_str_t){conv, (size_t)cl};
		ev.s[ARCHIVE_S_MSGID] = (archive_str_t){
			id, (size_t)snprintf(id, sizeof(id), "lg%d-%ld", f->run, f->pushed)};
		lg_writer_push(f->w, &ev);
	}
	if (f->pushed >= f->n)
		uv_idle_stop(h);
}

static void on_check(uv_timer_t *t)
{
	struct feed *f = t->data;

	if (f->m.events_written + f->m.events_duplicate < (uint64_t)f->n)
		return;
	f->t1 = now_s();
	uv_timer_stop(t);
	uv_close((uv_handle_t *)&f->idle, NULL);
	uv_close((uv_handle_t *)t, NULL);
	lg_writer_close(f->w, NULL);
}

/* The writer fed n events against ports[0] (one Redis) or, with cluster,
 * the cluster seeded by ports[0] (Redis CPU summed over the ports). */
/* The MAC key of the writer's runs with seal records (NULL: none). */
static const uint8_t *bench_mac_key;

static void writer_bench_on(const int *ports, int nports, bool cluster, long n)
{
	static struct feed f;
	uv_loop_t loop;
	lg_writer_opts_t o = {
		{"127.0.0.1", ports[0], NULL, NULL, 2000, 10000, 100, 1000, cluster, false},
		16,
		86400000,
		UINT64_C(4) << 30,
		NULL,
		0,
		bench_mac_key};

	static int runs;

	uv_loop_init(&loop);
	memset(&f, 0, sizeof(f));
	f.run = ++runs;
	f.n = n;
	lg_writer_new(&loop, &o, &f.m, NULL, NULL, &f.w);
	lg_writer_start(f.w);
	uv_idle_init(&loop, &f.idle);
	uv_timer_init(&loop, &f.check);
	f.idle.data = f.check.data = &f;
	double c0 = redis_cpu_sum(ports, nports), s0 = self_cpu();
	f.t0 = now_s();
	uv_idle_start(&f.idle, on_idle);
	uv_timer_start(&f.check, on_check, 5, 5);
	uv_run(&loop, UV_RUN_DEFAULT);
	printf("== logger writer fed directly%s%s: %ld events in %.2f s = %.0f appends/s "
	       "(written %" PRIu64 ", lost %" PRIu64 ", Redis errors %" PRIu64 ")\n",
	       cluster ? " (Redis Cluster)" : "",
	       bench_mac_key ? ", with seal records (digest + MAC, RPUSH pending)" : "", n,
	       f.t1 - f.t0, (double)n / (f.t1 - f.t0), f.m.events_written, f.m.events_lost,
	       f.m.redis_errors);
	printf("   Redis main thread CPU%s: %.1f us per event (batched calls of up to %d events); "
	       "this process: %.1f us per event\n",
	       nports > 1 ? " (all masters)" : "", (redis_cpu_sum(ports, nports) - c0) * 1e6 / n,
	       ARCHIVE_APPEND_BATCH_MAX, (self_cpu() - s0) * 1e6 / n);
	uv_loop_close(&loop);
}

static void writer_bench(int port, long n)
{
	writer_bench_on(&port, 1, false, n);
}

struct ship {
	struct lg_shipper *s;
	lg_metrics_t m;
	long n;
	double t0, t1;
	uv_timer_t check;
};

static void on_ship_check(uv_timer_t *t)
{
	struct ship *s = t->data;

	if (s->m.ship_indexed + s->m.ship_conflicts < (uint64_t)s->n)
		return;
	s->t1 = now_s();
	uv_close((uv_handle_t *)t, NULL);
	lg_shipper_close(s->s, NULL);
}

static void shipper_bench(int redis_port, int es_port, long n)
{
	static struct ship s;
	char url[64];
	char *urls[] = {url};
	uv_loop_t loop;
	struct lg_shipper_opts o = {
		{"127.0.0.1", redis_port, NULL, NULL, 2000, 10000, 100, 1000, false, false},
		{urls, 1, NULL, NULL, NULL, true, NULL, 30000},
		16,
		"eirc-shipper",
		"bench",
		"eirc",
		1000,
		5u << 20,
		200,
		100,
		2000,
		0,
		0};

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", es_port);
	uv_loop_init(&loop);
	s.n = n;
	lg_shipper_new(&loop, &o, &s.m, NULL, NULL, &s.s);
	uv_timer_init(&loop, &s.check);
	s.check.data = &s;
	s.t0 = now_s();
	lg_shipper_start(s.s);
	uv_timer_start(&s.check, on_ship_check, 10, 10);
	uv_run(&loop, UV_RUN_DEFAULT);
	printf("== shipper: %ld documents into the ES test server in %.2f s = %.0f docs/s "
	       "(%" PRIu64 " _bulk requests)\n",
	       n, s.t1 - s.t0, (double)n / (s.t1 - s.t0), s.m.ship_requests);
	uv_loop_close(&loop);
}

/* ---- irc mode: InspIRCd -> eirc-logger -> Redis, measured end to end ---- */

#define IB_CLIENTS_MAX  500
#define IB_CHANNELS_MAX 200
#define IB_SECONDS_MAX  300
#define IB_RATE_MAX     10000000 /* --rate: total msg/s */
#define IB_OUT_CAP      16384    /* a sender's write buffer: whole lines only */
#define IB_FLUSH_MS     10000    /* after the window: finish the buffered lines */
#define IB_CATCHUP_MS   60000    /* after the window: wait for delivery/archive */
#define IB_LOGGER_NICK  "lgbench"
#define IB_WINDOW       128 /* a PING after this many lines */
#define IB_INFLIGHT     512 /* lines sent but not yet acknowledged */

struct ib_sender {
	struct lgf_irc c;
	int chan;
	long seq;   /* lines generated */
	long acked; /* lines InspIRCd has processed (PONG) */
	long sent;  /* lines fully written to the socket */
	long inbuf; /* lines in out[] */
	char out[IB_OUT_CAP];
	size_t olen, ooff;
	long budget; /* lines it may have generated by now (--rate) */
	bool dead;
};

struct ib_observer {
	struct lgf_irc c;
	long privmsgs;
	char **ids;
	size_t nids, cap;
	bool dead;
};

struct ib_run {
	int clients, channels, seconds, redis_port, rate;
	int seal, metrics_port; /* seal: integrity.signing_key set */
	pid_t logger_pid;
	char log[512]; /* the logger's log */
	srv_t *ircd;
	struct ib_sender *s;
	struct ib_observer obs;
	redisContext *rc;
};

static int ib_parse_int(const char *v, int min, int max, int *out)
{
	char *end;
	long x;

	errno = 0;
	x = v ? strtol(v, &end, 10) : 0;
	if (!v || errno || *end || x < min || x > max)
		return -1;
	*out = (int)x;
	return 0;
}

static void ib_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* The history stream of channel #lb<i> (no KEYS: with a msgid key per
 * event, KEYS would scan the whole keyspace and load Redis itself). */
static void ib_history_key(int i, char *buf, size_t cap)
{
	char chan[16];
	int n = snprintf(chan, sizeof(chan), "#lb%d", i);
	int k = archive_keys_partition("eIRC", chan, (size_t)n, IRC_CASEMAP_NONE, LGF_PARTITIONS);

	archive_keys_history(k, "eIRC", chan, (size_t)n, IRC_CASEMAP_NONE, buf, cap);
}

/* Sum of XLEN over every history stream (each archived event is in one),
 * pipelined. */
static long long ib_archived_n(redisContext *rc, int channels)
{
	char key[ARCHIVE_KEYS_KEY_MAX];
	long long n = 0;
	redisReply *x;

	for (int i = 0; i < channels; i++) {
		ib_history_key(i, key, sizeof(key));
		redisAppendCommand(rc, "XLEN %s", key);
	}
	for (int i = 0; i < channels; i++) {
		if (redisGetReply(rc, (void **)&x) != REDIS_OK)
			return n;
		if (x->type == REDIS_REPLY_INTEGER)
			n += x->integer;
		freeReplyObject(x);
	}
	return n;
}

static void ib_obs_line(struct ib_observer *o, char *line)
{
	char *p, *e;

	if (strncmp(line, "PING ", 5) == 0) {
		line[1] = 'O';
		(void)!write(o->c.fd, line, strlen(line));
		return;
	}
	if (strstr(line, ":" IB_LOGGER_NICK "!") && strstr(line, " QUIT ")) {
		printf("   the observer saw the logger leave: %s\n", strstr(line, " QUIT "));
		return; /* InspIRCd's reason, e.g. "SendQ exceeded" */
	}
	if (!strstr(line, " PRIVMSG #"))
		return;
	o->privmsgs++;
	if (line[0] != '@' || !(p = strstr(line, "msgid=")) || p > strchr(line, ' '))
		return;
	p += 6;
	e = p + strcspn(p, "; ");
	if (o->nids == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 65536;
		o->ids = realloc(o->ids, o->cap * sizeof(*o->ids));
	}
	o->ids[o->nids++] = strndup(p, (size_t)(e - p));
}

/* Reads what is there (bounded) and handles whole lines. */
static void ib_obs_read(struct ib_observer *o)
{
	struct lgf_irc *c = &o->c;

	for (int k = 0; k < 64; k++) {
		ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0) {
			o->dead = true;
			return;
		}
		c->len += (size_t)r;
		char *start = c->buf, *nl;
		while ((nl = memchr(start, '\n', c->len - (size_t)(start - c->buf)))) {
			*nl = '\0';
			ib_obs_line(o, start);
			start = nl + 1;
		}
		c->len -= (size_t)(start - c->buf);
		memmove(c->buf, start, c->len);
	}
}

/* A sender's input: its PONGs (the window it may send), PINGs, others'
 * messages (dropped), and ERROR (it was disconnected). */
static void ib_sender_line(struct ib_sender *s, char *line)
{
	char *p;

	if (strncmp(line, "PING ", 5) == 0) {
		line[1] = 'O';
		(void)!write(s->c.fd, line, strlen(line));
	} else if ((p = strstr(line, " PONG ")) && (p = strstr(p, ":w"))) {
		long seq = strtol(p + 2, NULL, 10);
		if (seq > s->acked)
			s->acked = seq;
	} else if (strncmp(line, "ERROR ", 6) == 0) {
		fprintf(stderr, "sender %s: %s", s->c.nick, line);
		s->dead = true;
	}
}

static void ib_sender_read(struct ib_sender *s)
{
	struct lgf_irc *c = &s->c;
	ssize_t r;

	while ((r = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len)) > 0) {
		char *start = c->buf, *nl;
		c->len += (size_t)r;
		while ((nl = memchr(start, '\n', c->len - (size_t)(start - c->buf)))) {
			nl[0] = '\0';
			ib_sender_line(s, start);
			start = nl + 1;
		}
		c->len -= (size_t)(start - c->buf);
		memmove(c->buf, start, c->len);
		if (c->len == sizeof(c->buf) - 1)
			c->len = 0; /* an absurd line: dropped */
	}
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
		s->dead = true;
}

/* InspIRCd reads whatever arrives into its receive queue, so TCP alone does
 * not hold a sender back: the senders keep at most IB_INFLIGHT lines that
 * InspIRCd has not yet answered (a PING after every IB_WINDOW lines, the
 * PONG acknowledges them). */
static bool ib_may_generate(const struct ib_sender *s)
{
	return s->seq - s->acked < IB_INFLIGHT && s->seq < s->budget;
}

/* Writes until EAGAIN; refills with whole lines while generating. */
static void ib_sender_write(struct ib_sender *s, bool generate)
{
	for (;;) {
		if (s->ooff == s->olen) {
			s->sent += s->inbuf;
			s->inbuf = 0;
			s->olen = s->ooff = 0;
			if (!generate || !ib_may_generate(s))
				return;
			while (s->olen + 200 < sizeof(s->out) && ib_may_generate(s)) {
				s->olen += (size_t)snprintf(
					s->out + s->olen, sizeof(s->out) - s->olen,
					"PRIVMSG #lb%d :%s-%ld a benchmark line of "
					"ordinary length, forty bytes\r\n",
					s->chan, s->c.nick, s->seq);
				s->inbuf++;
				if (++s->seq % IB_WINDOW == 0)
					s->olen += (size_t)snprintf(s->out + s->olen,
								    sizeof(s->out) - s->olen,
								    "PING :w%ld\r\n", s->seq);
			}
		}
		ssize_t w = write(s->c.fd, s->out + s->ooff, s->olen - s->ooff);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN)
			s->dead = true;
		if (w <= 0)
			return;
		s->ooff += (size_t)w;
	}
}

/* One poll round over the observer and every sender. */
static void ib_poll(struct ib_run *r, struct pollfd *p, bool generate, int timeout_ms)
{
	p[0] = (struct pollfd){r->obs.dead ? -1 : r->obs.c.fd, POLLIN, 0};
	for (int i = 0; i < r->clients; i++) {
		struct ib_sender *s = &r->s[i];
		bool out = s->ooff < s->olen || (generate && ib_may_generate(s));
		short ev = POLLIN | (out ? POLLOUT : 0);
		p[i + 1] = (struct pollfd){s->dead ? -1 : s->c.fd, ev, 0};
	}
	if (poll(p, (nfds_t)r->clients + 1, timeout_ms) <= 0)
		return;
	if (p[0].revents)
		ib_obs_read(&r->obs);
	for (int i = 0; i < r->clients; i++) {
		if (p[i + 1].revents & (POLLIN | POLLHUP | POLLERR))
			ib_sender_read(&r->s[i]);
		if ((p[i + 1].revents & POLLOUT) && !r->s[i].dead)
			ib_sender_write(&r->s[i], generate);
	}
}

static long ib_sent(const struct ib_run *r, int *dead)
{
	long n = 0;

	*dead = 0;
	for (int i = 0; i < r->clients; i++) {
		n += r->s[i].sent;
		*dead += r->s[i].dead;
	}
	return n;
}

/* CPU seconds (user + system) a process has used, from /proc. */
static double ib_proc_cpu(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "re")))
		return 0;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	/* after ") ": state is field 3, utime 14, stime 15 */
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Lines of the logger's log holding needle. */
static long ib_log_count(const char *path, const char *needle)
{
	FILE *f = fopen(path, "re");
	char line[2048];
	long n = 0;

	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return n;
}

/* Observer in every channel, then the logger (the observer sees it join),
 * then the senders, opered and joined. 0 or -1. */
static int ib_setup(struct ib_run *r, int irc_port, int logger_port, const char *dir,
		    struct lgf_proc *lg)
{
	char chans[IB_CHANNELS_MAX * 12 + 8], line[512];
	struct lgf_logger_cfg cfg = {dir,   IB_LOGGER_NICK, logger_port, r->redis_port,  0,
				     chans, NULL,           NULL,        r->metrics_port};
	size_t n = (size_t)snprintf(chans, sizeof(chans), "[");
	int joins = 0;

	for (int i = 0; i < r->channels; i++)
		n += (size_t)snprintf(chans + n, sizeof(chans) - n, "%s\"#lb%d\"", i ? ", " : "",
				      i);
	snprintf(chans + n, sizeof(chans) - n, "]");
	if (lgf_irc_connect(irc_port, "lbobs", "message-tags", &r->obs.c) < 0)
		return -1;
	for (int i = 0; i < r->channels; i++)
		lgf_irc_send(&r->obs.c, "JOIN #lb%d", i);
	if (lgf_logger_start(&cfg, lg) < 0)
		return -1;
	snprintf(r->log, sizeof(r->log), "%s", lg->log);
	r->logger_pid = lg->pid;
	while (joins < r->channels &&
	       lgf_irc_wait(&r->obs.c, ":" IB_LOGGER_NICK "!", 30000, line, sizeof(line)) == 0)
		joins += strstr(line, " JOIN ") != NULL;
	if (joins < r->channels) {
		fprintf(stderr, "the logger joined %d of %d channels (log: %s)\n", joins,
			r->channels, lg->log);
		return -1;
	}
	for (int i = 0; i < r->clients; i++) {
		struct ib_sender *s = &r->s[i];
		char nick[32];
		snprintf(nick, sizeof(nick), "lbs%d", i);
		s->chan = i % r->channels;
		if (lgf_irc_connect(irc_port, nick, NULL, &s->c) < 0 ||
		    lgf_irc_send(&s->c, "OPER eirc %s", srv_oper_password(r->ircd)) < 0 ||
		    lgf_irc_wait(&s->c, " 381 ", 10000, NULL, 0) < 0 ||
		    lgf_irc_send(&s->c, "JOIN #lb%d", s->chan) < 0 ||
		    lgf_irc_wait(&s->c, " 366 ", 10000, NULL, 0) < 0) {
			fprintf(stderr, "sender %d could not connect, oper up and join\n", i);
			return -1;
		}
		ib_nonblock(s->c.fd);
		lgf_irc_drain(&r->obs.c);
	}
	lgf_irc_drain(&r->obs.c);
	ib_nonblock(r->obs.c.fd);
	return 0;
}

static int ib_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the msgids of the privmsg entries of one stream, paged. */
static void ib_stream_ids(redisContext *rc, const char *key, char ***ids, size_t *n, size_t *cap)
{
	char start[64] = "-";

	for (;;) {
		redisReply *x = redisCommand(rc, "XRANGE %s %s + COUNT 10000", key, start);
		size_t got = x && x->type == REDIS_REPLY_ARRAY ? x->elements : 0;
		for (size_t i = 0; i < got; i++) {
			redisReply *f = x->element[i]->element[1];
			const char *type = "", *id = NULL;
			for (size_t k = 0; k + 1 < f->elements; k += 2) {
				if (!strcmp(f->element[k]->str, "type"))
					type = f->element[k + 1]->str;
				else if (!strcmp(f->element[k]->str, "msgid"))
					id = f->element[k + 1]->str;
			}
			if (strcmp(type, "privmsg") != 0 || !id)
				continue;
			if (*n == *cap)
				*ids = realloc(*ids,
					       (*cap = *cap ? *cap * 2 : 65536) * sizeof(**ids));
			(*ids)[(*n)++] = strdup(id);
		}
		if (got)
			snprintf(start, sizeof(start), "(%s", x->element[got - 1]->element[0]->str);
		if (x)
			freeReplyObject(x);
		if (got < 10000)
			return;
	}
}

/* Compares the observer's msgids with the archived ones (both sorted). */
static void ib_compare(struct ib_run *r)
{
	char key[ARCHIVE_KEYS_KEY_MAX];
	char **a = NULL;
	size_t na = 0, cap = 0, lost = 0, extra = 0, dup = 0, i = 0, j = 0;
	char **o = r->obs.ids;
	size_t no = r->obs.nids;

	for (int s = 0; s < r->channels; s++) {
		ib_history_key(s, key, sizeof(key));
		ib_stream_ids(r->rc, key, &a, &na, &cap);
	}
	qsort(a, na, sizeof(*a), ib_cmp);
	qsort(o, no, sizeof(*o), ib_cmp);
	for (size_t x = 1; x < na; x++)
		dup += !strcmp(a[x - 1], a[x]);
	while (i < no || j < na) {
		int c = i == no ? 1 : j == na ? -1 : strcmp(o[i], a[j]);
		if (c < 0)
			lost++, i++;
		else if (c > 0)
			extra++, j++;
		else
			i++, j++;
	}
	printf("   ids: observer saw %zu msgids, archive holds %zu privmsg entries: "
	       "seen but not archived (lost, or not yet written) %zu, archived but not seen %zu, "
	       "duplicates %zu\n",
	       no, na, lost, extra, dup);
	for (size_t x = 0; x < na; x++)
		free(a[x]);
	free(a);
}

/* After the window: the buffered lines go out, then waits (bounded) until
 * the observer has every sent line and the archive every observed one.
 * Returns the seconds since the window's end, or -1 if it never did. */
static double ib_catch_up(struct ib_run *r, struct pollfd *p, double t1, long long x0, long seen0,
			  long sent0)
{
	double end = now_s() + IB_FLUSH_MS / 1000.0, last = 0, progress = now_s();
	long long seen = -1, arch = -1;
	int dead;

	while (now_s() < end) {
		bool pending = false;
		for (int i = 0; i < r->clients; i++)
			pending |= !r->s[i].dead && r->s[i].ooff < r->s[i].olen;
		if (!pending)
			break;
		ib_poll(r, p, false, 50);
	}
	for (end = t1 + IB_CATCHUP_MS / 1000.0; now_s() < end && now_s() - progress < 10;) {
		ib_poll(r, p, false, 20);
		if (now_s() - last < 0.05)
			continue;
		last = now_s();
		long long a = ib_archived_n(r->rc, r->channels) - x0;
		long sent = ib_sent(r, &dead) - sent0, obs = r->obs.privmsgs - seen0;
		if (obs >= sent && a >= obs)
			return now_s() - t1;
		if (a != arch || r->obs.privmsgs != seen)
			progress = now_s();
		arch = a;
		seen = r->obs.privmsgs;
	}
	return -1;
}

/* Leaves sealed over every partition (the tlog sizes) and entries in the
 * archive streams. */
static void ib_sealed(redisContext *rc, long long *sealed, long long *entries)
{
	*sealed = *entries = 0;
	for (int k = 0; k < LGF_PARTITIONS; k++) {
		redisReply *a = redisCommand(rc, "HGET eirc:{p%d}:tlog size", k);
		redisReply *b = redisCommand(rc, "XLEN eirc:{p%d}:archive", k);
		if (a && a->type == REDIS_REPLY_STRING)
			*sealed += atoll(a->str);
		if (b && b->type == REDIS_REPLY_INTEGER)
			*entries += b->integer;
		if (a)
			freeReplyObject(a);
		if (b)
			freeReplyObject(b);
	}
}

/* The sealing delay histogram eirc_logger_seal_delay_seconds from the
 * logger's /metrics: count, mean, and the bucket bounds holding the median
 * and the 99th percentile, since the last call. */
static void ib_seal_delay(struct ib_run *r)
{
	static double last_count, last_sum, last_le[32];
	double le[32], cnt[32], count = 0, sum = 0;
	int n = 0;
	char *body = lgf_http_get(r->metrics_port, "/metrics"), *p;

	if (!body) {
		printf("   sealing delay: /metrics unreachable\n");
		return;
	}
	for (p = body; (p = strstr(p, "eirc_logger_seal_delay_seconds")); p++) {
		double v;
		if (sscanf(p, "eirc_logger_seal_delay_seconds_bucket{le=\"%lf\"} %lf", &le[n],
			   &cnt[n]) == 2 &&
		    n < 31)
			n++;
		else if (sscanf(p, "eirc_logger_seal_delay_seconds_bucket{le=\"+Inf\"} %lf", &v) ==
			 1)
			le[n] = 1e9, cnt[n++] = v;
		else if (sscanf(p, "eirc_logger_seal_delay_seconds_sum %lf", &v) == 1)
			sum = v;
		else if (sscanf(p, "eirc_logger_seal_delay_seconds_count %lf", &v) == 1)
			count = v;
	}
	free(body);
	double dc = count - last_count, ds = sum - last_sum, p50 = -1, p99 = -1;
	for (int i = 0; i < n && dc > 0; i++) {
		double c = cnt[i] - last_le[i];
		if (p50 < 0 && c >= 0.5 * dc)
			p50 = le[i];
		if (p99 < 0 && c >= 0.99 * dc)
			p99 = le[i];
	}
	for (int i = 0; i < n; i++)
		last_le[i] = cnt[i];
	last_count = count;
	last_sum = sum;
	if (dc > 0)
		printf("   sealing delay (archived -> sealed), %.0f leaves: mean %.0f ms, median "
		       "<= "
		       "%.0f ms, p99 <= %.0f ms (histogram bounds)\n",
		       dc, ds * 1000 / dc, p50 * 1000, p99 * 1000);
}

/* Sets every sender's budget for a window that began at t0 with its
 * senders at base[i] lines (rate 0: unbounded). */
static void ib_budget(struct ib_run *r, const long *base, double t0, int rate)
{
	double el = now_s() - t0;

	for (int i = 0; i < r->clients; i++)
		r->s[i].budget = rate ? base[i] + (long)(el * rate / r->clients) + 1 : LONG_MAX;
}

/* One window of r->seconds at rate (0: uncapped), then the catch-up. */
static void ib_window(struct ib_run *r, struct pollfd *p, int rate)
{
	long long x0 = ib_archived_n(r->rc, r->channels), x1;
	long seen0 = r->obs.privmsgs, seen, sent0, sent;
	long downs0 = ib_log_count(r->log, "IRC connection down");
	long spills0 = ib_log_count(r->log, "spilling events");
	long *base = calloc((size_t)r->clients, sizeof(*base));
	double lcpu0 = ib_proc_cpu(r->logger_pid), rcpu0 = redis_cpu(r->redis_port), lcpu, rcpu;
	double t0 = now_s(), t1, w, catch_up;
	int dead;

	for (int i = 0; i < r->clients; i++)
		base[i] = r->s[i].seq;
	sent0 = ib_sent(r, &dead);
	while (now_s() < t0 + r->seconds && !r->obs.dead) {
		ib_budget(r, base, t0, rate);
		ib_poll(r, p, true, rate ? 2 : 100);
	}
	t1 = now_s();
	seen = r->obs.privmsgs - seen0;
	x1 = ib_archived_n(r->rc, r->channels) - x0;
	sent = ib_sent(r, &dead) - sent0;
	w = t1 - t0;
	if (rate)
		printf("== irc, senders capped at %d msg/s in total: ", rate);
	else
		printf("== irc, senders uncapped: ");
	printf("%d senders over %d channels for %.1f s (one InspIRCd, one eirc-logger, Redis AOF "
	       "everysec)\n",
	       r->clients, r->channels, w);
	printf("   written to InspIRCd by the senders: %ld = %.0f msg/s\n", sent, sent / w);
	printf("   delivered to the observer:          %ld = %.0f msg/s\n", seen, seen / w);
	printf("   archived by the logger:             %lld = %.0f msg/s\n", x1, x1 / w);
	printf("   lag at the window's end: %lld messages delivered, not yet archived\n",
	       (long long)seen - x1);
	catch_up = ib_catch_up(r, p, t1, x0, seen0, sent0);
	sent = ib_sent(r, &dead) - sent0;
	if (catch_up >= 0)
		printf("   caught up %.2f s after the window's end\n", catch_up);
	else
		printf("   NOT caught up within %d s\n", IB_CATCHUP_MS / 1000);
	if (r->seal) { /* the sealing behind the writes is part of the cost */
		long long sealed, entries;
		double s0 = now_s();
		do {
			usleep(100000);
			ib_sealed(r->rc, &sealed, &entries);
		} while (sealed < entries && now_s() < s0 + 60);
		printf("   sealed %lld of %lld archive entries, %.2f s after the catch-up\n",
		       sealed, entries, now_s() - s0);
		ib_seal_delay(r);
	}
	lcpu = ib_proc_cpu(r->logger_pid) - lcpu0;
	rcpu = redis_cpu(r->redis_port) - rcpu0;
	x1 = ib_archived_n(r->rc, r->channels) - x0;
	if (x1 > 0)
		printf("   CPU per archived event, window and catch-up: eirc-logger %.1f us, Redis "
		       "main "
		       "thread %.1f us (%lld events)\n",
		       lcpu * 1e6 / (double)x1, rcpu * 1e6 / (double)x1, x1);
	printf("   in the window and its catch-up: sent %ld, delivered to the observer %ld, "
	       "archived %lld; logger disconnected %ld times, started spilling %ld times; "
	       "senders disconnected %d, observer %s\n",
	       sent, r->obs.privmsgs - seen0, ib_archived_n(r->rc, r->channels) - x0,
	       ib_log_count(r->log, "IRC connection down") - downs0,
	       ib_log_count(r->log, "spilling events") - spills0, dead,
	       r->obs.dead ? "DISCONNECTED" : "connected");
	ib_compare(r);
	free(base);
}

static void ib_measure(struct ib_run *r)
{
	struct pollfd *p = calloc((size_t)r->clients + 1, sizeof(*p));

	if (r->rate)
		ib_window(r, p, r->rate);
	ib_window(r, p, 0);
	free(p);
}

static int irc_bench_main(int argc, char **argv)
{
	struct ib_run r = {.clients = 20, .channels = 20, .seconds = 20, .seal = 1};
	char extra[TLOG_SKEY_MAX + 128];
	srv_env_t *env;
	srv_t *redis;
	struct lgf_proc lg = {0};
	srv_ircd_opts_t ircd_opts = {0};
	char logger_class[1024];
	int rc = 1, logger_port = 0, own_class = 1;

	for (int i = 1; i < argc; i += 2) { /* "--option value" pairs */
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int bad = !strcmp(argv[i], "--clients")
				  ? ib_parse_int(v, 1, IB_CLIENTS_MAX, &r.clients)
			  : !strcmp(argv[i], "--channels")
				  ? ib_parse_int(v, 1, IB_CHANNELS_MAX, &r.channels)
			  : !strcmp(argv[i], "--seconds")
				  ? ib_parse_int(v, 1, IB_SECONDS_MAX, &r.seconds)
			  : !strcmp(argv[i], "--rate") ? ib_parse_int(v, 1, IB_RATE_MAX, &r.rate)
			  : !strcmp(argv[i], "--logger-class") ? ib_parse_int(v, 0, 1, &own_class)
			  : !strcmp(argv[i], "--seal")         ? ib_parse_int(v, 0, 1, &r.seal)
							       : -1;
		if (bad) {
			fprintf(stderr,
				"usage: logger_bench irc [--clients 1..%d] [--channels 1..%d] "
				"[--seconds 1..%d] [--rate 1..%d] [--logger-class 1|0] [--seal "
				"1|0]\n",
				IB_CLIENTS_MAX, IB_CHANNELS_MAX, IB_SECONDS_MAX, IB_RATE_MAX);
			return 2;
		}
	}
	if (!getenv("EIRC_BUILD_DIR"))
		setenv("EIRC_BUILD_DIR", EIRC_BENCH_BUILD_DIR, 1);
	srv_env_install_signal_handlers();
	signal(SIGPIPE, SIG_IGN);
	r.s = calloc((size_t)r.clients, sizeof(*r.s));
	if (srv_env_new(NULL, &env) < 0)
		return 1;
	if (lgf_ircd_logger_class(logger_class, sizeof(logger_class), &logger_port) < 0)
		goto free_env;
	ircd_opts.extra_binds = logger_class;
	if (srv_redis_start(env, NULL, &redis) < 0 ||
	    srv_inspircd_start(env, &ircd_opts, &r.ircd) < 0)
		goto free_env;
	r.redis_port = srv_port(redis);
	if (!(r.rc = lgf_redis(r.redis_port)))
		goto free_env;
	/* --logger-class 0: the logger on the client port like everyone (the
	 * "gateway" class, 4 MiB hardsendq), for comparison */
	if (!own_class)
		logger_port = srv_port(r.ircd);
	else
		lgf_use_ircd(r.ircd);
	if (r.seal) { /* sealing as production runs it (docs/compliance.md) */
		tlog_signer_t signer;
		char skey[TLOG_SKEY_MAX];
		if (tlog_signer_generate("bench.example", &signer) < 0 ||
		    tlog_signer_format(&signer, skey, sizeof(skey)) < 0)
			goto free_env;
		snprintf(extra, sizeof(extra), "integrity:\n  signing_key: \"%s\"\n", skey);
		lgf_use_extra(extra);
		r.metrics_port = srv_free_port();
	}
	printf("   the logger seals: %s\n", r.seal ? "yes (integrity.signing_key set)" : "no");
	printf("   the logger connects to %s\n", own_class ? "its own class (64 MiB hardsendq)"
							   : "the client port (4 MiB hardsendq)");
	if (ib_setup(&r, srv_port(r.ircd), logger_port, srv_env_dir(env), &lg) == 0) {
		ib_measure(&r);
		char cmd[700];
		printf("   logger: %s; its warnings and errors (last 5):\n",
		       lgf_proc_alive(&lg) ? "running" : "EXITED");
		fflush(stdout);
		snprintf(cmd, sizeof(cmd), "grep -iE 'warn|error|disconn|sendq' %s | tail -5",
			 lg.log);
		(void)!system(cmd);
		rc = 0;
	}
	for (int i = 0; i < r.clients; i++)
		if (r.s[i].c.fd > 0)
			lgf_irc_close(&r.s[i].c);
	if (r.obs.c.fd > 0)
		lgf_irc_close(&r.obs.c);
	for (size_t i = 0; i < r.obs.nids; i++)
		free(r.obs.ids[i]);
	free(r.obs.ids);
	lgf_proc_stop(&lg, SIGTERM);
	redisFree(r.rc);
free_env:
	free(r.s);
	srv_env_free(env);
	return rc;
}

/* The port of the master owning the slot of hash tag "p1" (the script's
 * keys in redis_benchmark()). */
static int owner_of_p1(int port)
{
	redisContext *c = redisConnect("127.0.0.1", port);
	redisReply *r = c ? redisCommand(c, "CLUSTER SLOTS") : NULL;
	int slot = redis_slot_of("p1", 2), owner = -1;

	for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		redisReply *e = r->element[i];
		if (e->element[0]->integer <= slot && slot <= e->element[1]->integer)
			owner = (int)e->element[2]->element[1]->integer;
	}
	if (r)
		freeReplyObject(r);
	if (c)
		redisFree(c);
	return owner;
}

static int cluster_bench_main(int argc, char **argv)
{
	char *end;
	long m = strtol(argv[2], &end, 10), n = 200000;
	srv_t *redis, *nodes[SRV_REDIS_CLUSTER_MAX];
	int ports[SRV_REDIS_CLUSTER_MAX];
	srv_env_t *env;

	if (*end || m < 3 || m > SRV_REDIS_CLUSTER_MAX ||
	    (argc > 3 && ((n = strtol(argv[3], &end, 10)) <= 0 || *end || n > 100000000))) {
		fprintf(stderr, "usage: logger_bench --cluster M [N] (3 <= M <= %d)\n",
			SRV_REDIS_CLUSTER_MAX);
		return 2;
	}
	srv_env_install_signal_handlers();
	if (srv_env_new(NULL, &env) < 0 || srv_redis_start(env, NULL, &redis) < 0 ||
	    srv_redis_cluster_start(env, (int)m, nodes) < 0)
		return 1;
	for (int i = 0; i < m; i++)
		ports[i] = srv_port(nodes[i]);
	printf("-- one Redis :%d\n", srv_port(redis));
	redis_benchmark(srv_port(redis), n);
	printf("-- Redis Cluster, %ld masters, the one owning {p1}\n", m);
	redis_benchmark(owner_of_p1(ports[0]), n);
	writer_bench(srv_port(redis), n);
	writer_bench_on(ports, (int)m, true, n);
	writer_bench(srv_port(redis), n);
	srv_env_free(env);
	return 0;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
	srv_env_t *env;
	srv_t *redis;
	struct lgf_proc es;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && strcmp(argv[1], "irc") == 0)
		return irc_bench_main(argc - 1, argv + 1);
	if (argc > 2 && strcmp(argv[1], "--cluster") == 0)
		return cluster_bench_main(argc, argv);
	if (n <= 0 || n > 100000000) {
		fprintf(stderr,
			"usage: logger_bench [N]\n"
			"       logger_bench --cluster M [N]\n"
			"       logger_bench irc [--clients N] [--channels C] [--seconds S] "
			"[--rate R]\n");
		return 2;
	}
	srv_env_install_signal_handlers();
	if (srv_env_new(NULL, &env) < 0 || srv_redis_start(env, NULL, &redis) < 0)
		return 1;
	redis_benchmark(srv_port(redis), n);
	writer_bench(srv_port(redis), n);
	{ /* the same with integrity.signing_key: what sealing adds to a write */
		static uint8_t key[32];
		randombytes_buf(key, sizeof(key));
		bench_mac_key = key;
		writer_bench(srv_port(redis), n);
		bench_mac_key = NULL;
		writer_bench(srv_port(redis), n);
	}
	redis_benchmark(srv_port(redis), n);
	if (lgf_es_start(srv_env_dir(env), &es) == 0) {
		shipper_bench(srv_port(redis), es.port, n);
		lgf_proc_stop(&es, SIGTERM);
	}
	srv_env_free(env);
	return 0;
}
