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
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include <hiredis/hiredis.h>

#include "logger-bot/lg_append.h"
#include "logger-bot/lg_shipper.h"
#include "logger-bot/lg_writer.h"
#include "tests/harness/servers.h"
#include "tests/integration/logger_fixture.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int redis_benchmark(int port, long n)
{
	redisContext *c = redisConnect("127.0.0.1", port);
	redisReply *r = redisCommand(c, "SCRIPT LOAD %s", lg_append_script);
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
	printf("== redis-benchmark, append script (EVALSHA, -P 64, -c 4, AOF everysec)\n");
	fflush(stdout);
	rc = system(cmd);
	return rc;
}

struct feed {
	struct lg_writer *w;
	struct lg_metrics m;
	long n, pushed;
	double t0, t1;
	uv_idle_t idle;
	uv_timer_t check;
};

static void on_idle(uv_idle_t *h)
{
	struct feed *f = h->data;
	char id[32];
	struct lg_event ev = { .type = LG_EV_PRIVMSG, .time_ms = 1700000000000 };
	static const char text[] = "a benchmark line of ordinary length, forty bytes";

	ev.s[LG_S_NETWORK] = (struct lg_str){ "eIRC", 4 };
	ev.s[LG_S_NICK] = (struct lg_str){ "alice", 5 };
	ev.s[LG_S_USER] = (struct lg_str){ "u1", 2 };
	ev.s[LG_S_HOST] = (struct lg_str){ "h.example", 9 };
	ev.s[LG_S_TEXT] = (struct lg_str){ text, sizeof(text) - 1 };
	for (int i = 0; i < 2000 && f->pushed < f->n; i++, f->pushed++) {
		char conv[16];
		int cl = snprintf(conv, sizeof(conv), "#bench%ld", f->pushed % 20);
		ev.s[LG_S_CONV] = ev.s[LG_S_TARGET] = (struct lg_str){ conv, (size_t)cl };
		ev.s[LG_S_MSGID] = (struct lg_str){ id, (size_t)snprintf(id, sizeof(id), "lg-%ld",
		                                                         f->pushed) };
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
	lg_writer_free(f->w);
}

static void writer_bench(int port, long n)
{
	static struct feed f;
	uv_loop_t loop;
	struct lg_writer_opts o = { { "127.0.0.1", port, NULL, 2000, 10000, 100, 1000 }, 16,
		                    86400000, UINT64_C(4) << 30, NULL, 0 };

	uv_loop_init(&loop);
	f.n = n;
	lg_writer_new(&loop, &o, &f.m, NULL, NULL, &f.w);
	lg_writer_start(f.w);
	uv_idle_init(&loop, &f.idle);
	uv_timer_init(&loop, &f.check);
	f.idle.data = f.check.data = &f;
	f.t0 = now_s();
	uv_idle_start(&f.idle, on_idle);
	uv_timer_start(&f.check, on_check, 5, 5);
	uv_run(&loop, UV_RUN_DEFAULT);
	printf("== logger writer fed directly: %ld events in %.2f s = %.0f appends/s "
	       "(written %" PRIu64 ", lost %" PRIu64 ")\n",
	       n, f.t1 - f.t0, (double)n / (f.t1 - f.t0), f.m.events_written, f.m.events_lost);
	uv_loop_close(&loop);
}

struct ship {
	struct lg_shipper *s;
	struct lg_metrics m;
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
	lg_shipper_free(s->s);
}

static void shipper_bench(int redis_port, int es_port, long n)
{
	static struct ship s;
	char url[64];
	char *urls[] = { url };
	uv_loop_t loop;
	struct lg_shipper_opts o = { { "127.0.0.1", redis_port, NULL, 2000, 10000, 100, 1000 },
		                     { urls, 1, NULL, NULL, NULL, true, NULL, 30000 },
		                     16, "eirc-shipper", "bench", "eirc", 1000, 5u << 20, 200, 100,
		                     2000 };

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

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
	srv_env_t *env;
	srv_t *redis;
	struct lgf_proc es;

	if (n <= 0 || n > 100000000) {
		fprintf(stderr, "usage: logger_bench [N]\n");
		return 2;
	}
	srv_env_install_signal_handlers();
	if (srv_env_new(NULL, &env) < 0 || srv_redis_start(env, NULL, &redis) < 0)
		return 1;
	redis_benchmark(srv_port(redis), n);
	writer_bench(srv_port(redis), n);
	redis_benchmark(srv_port(redis), n);
	if (lgf_es_start(srv_env_dir(env), &es) == 0) {
		shipper_bench(srv_port(redis), es.port, n);
		lgf_proc_stop(&es, SIGTERM);
	}
	srv_env_free(env);
	return 0;
}
