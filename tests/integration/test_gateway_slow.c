/*
 * eirc-gateway's bounds on one session's resources, everything real
 * (PostgreSQL, eirc-auth, InspIRCd, irc-clients). Slow browsers: a plain
 * IRC client straight on InspIRCd floods NCHAN channels (one PRIVMSG to
 * all of them, so each member gets NCHAN lines per message):
 *   - a browser that stops reading while its channel is flooded is closed
 *     1008 "too slow" (eirc_gateway_slow_reader_disconnects_total counts
 *     it), its irc-client quits and is reaped, a second browser that reads
 *     gets every line in order before and after, and the gateway's resident
 *     memory grows by no more than the session's queue bound derived from
 *     the config (send_queue_high_watermark + one read of the socketpair,
 *     plus each queued message's header) while the flood pushes several
 *     times the watermark at it;
 *   - at the limit: a browser that stops reading while exactly
 *     send_queue_high_watermark bytes of messages are sent to it, for longer
 *     than slow_reader_timeout, is not closed and gets every line once it
 *     reads again.
 * gateway.browser_sndbuf bounds the kernel's buffer of the browser socket;
 * without it the first case cannot fill the gateway's queue on loopback
 * (the buffer autotunes to megabytes) and fails.
 * Descriptors: a gateway whose RLIMIT_NOFILE (lowered with prlimit) leaves
 * room for FD_SESSIONS sessions by its documented rule serves that many and
 * refuses the next before the 101 with 503 fd_limit (counted, nothing
 * spawned, no "Too many open files" anywhere), room comes back when a
 * session ends, and its descriptors return to their level afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "gateway/gw_server.h"
#include "tests/integration/gateway_fixture.h"

/* The gateway section of this suite; the bounds below derive from it. */
#define WATERMARK      (128 * 1024) /* send_queue_high_watermark */
#define SLOW_TIMEOUT_S 3            /* slow_reader_timeout */
#define SNDBUF         (4 * 1024)   /* browser_sndbuf */
/* The slow browser's receive buffer (a browser on a slow link). */
#define SLOW_RCVBUF 4096
/* Payload bytes of a flood line after "<seq> " (a line is ~450 bytes as the
 * browser gets it, with the source prefix). */
#define FLOOD_PAD 400
#define BATCH     16
/* Channels of a flood: each message of the flooder is NCHAN lines. */
#define NCHAN 8
/* Pushed at the gateway after its queue crossed the watermark: a gateway
 * that kept reading its irc-client would hold all of it. */
#define EXTRA (6 * WATERMARK)
/* Never above the watermark after this much: something else holds it all
 * (the kernel's buffers when browser_sndbuf is not applied). */
#define FLOOD_MAX (32 * 1024 * 1024)
/* Memory beyond the queue that a busy gateway may take (allocator and lws
 * buffers settling); far below EXTRA, so an unbounded queue is caught. */
#define RSS_SLACK_KIB 256
/* malloc's header and rounding per allocation (glibc: 8 + up to 15). */
#define MALLOC_OVERHEAD 24

/* Sessions the descriptor limit of the last test leaves room for. */
#define FD_SESSIONS 3

static gwfx_t g;
static char yaml[256];
/* ws_client keeps a pointer to its options: they outlive the session. */
static const ws_opts_t slow_opts = {.origin = GWFX_ORIGIN, .rcvbuf = SLOW_RCVBUF};

static int setup(void **state)
{
	(void)state;
	snprintf(yaml, sizeof(yaml),
		 "  send_queue_high_watermark: %dKiB\n  slow_reader_timeout: %ds\n"
		 "  browser_sndbuf: %dKiB\n",
		 WATERMARK / 1024, SLOW_TIMEOUT_S, SNDBUF / 1024);
	if (gwfx_start(&g, yaml) < 0)
		return -1;
	gwfx_add_user(&g, "bob");
	gwfx_add_user(&g, "carol");
	gwfx_add_user(&g, "dave");
	return 0;
}

static int after_test(void **state)
{
	(void)state;
	return gwfx_cleanup(&g);
}

static int teardown(void **state)
{
	(void)state;
	if (g.auth.env)
		gwfx_stop(&g);
	return 0;
}

/* A registered session with a small receive buffer: the slow browser. */
static ws_client_t *open_slow(const char *user, itc_t **out_c)
{
	char url[512];
	char *tok = gwfx_token(&g, user);
	ws_refusal_t why;
	ws_client_t *ws = NULL;

	gwfx_url(&g, tok, url, sizeof(url));
	free(tok);
	int r = ws_connect(url, &slow_opts, &ws, &why);
	if (r != 0)
		fail_msg("session for %s refused: %s (HTTP %d)", user, strerror(-r), why.status);
	gwfx_track(&g, ws);
	itc_t *c = itc_from_ws(ws, false);
	itc_sendf(c, "NICK ignored");
	itc_sendf(c, "USER ignored 0 * :ignored");
	itc_expect_within(c, "001", NULL, 20000);
	*out_c = c;
	return ws;
}

/* "JOIN <base>0,<base>1,..." for the NCHAN channels of a flood; waits
 * for the last JOIN. */
static void join(itc_t *c, const char *base)
{
	char list[256] = "", last[32];

	for (int i = 0; i < NCHAN; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s%d", i ? "," : "",
			 base, i);
	snprintf(last, sizeof(last), "%s%d", base, NCHAN - 1);
	itc_sendf(c, "JOIN %s", list);
	itc_expect(c, "JOIN", last);
}

/* The plain IRC client that floods, straight on InspIRCd. */
static itc_t *flooder_join(const char *nick, const char *base)
{
	itc_t *f = itc_connect(srv_port(g.ircd));

	assert_non_null(f);
	itc_register(f, nick);
	join(f, base);
	return f;
}

/* Sends messages from..to-1 of the flood, each one PRIVMSG to the NCHAN
 * channels (NCHAN lines for each member) with pad bytes of padding. */
static void flood(itc_t *f, const char *base, int from, int to, int pad)
{
	char list[256] = "";

	for (int i = 0; i < NCHAN; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s%d", i ? "," : "",
			 base, i);
	for (int i = from; i < to; i++)
		itc_sendf(f, "PRIVMSG %s :%08d %0*d", list, i, pad, 0);
}

/* QUITs of this nick read_flood() met. */
static const char *quitter;
static int quits_seen;

/* Reads messages from..to-1 of the flood in order, each in the NCHAN
 * channels in order (other lines skipped). */
static void read_flood(itc_t *c, const char *base, int from, int to)
{
	char chan[32];

	for (int want = from, ch = 0; want < to;) {
		if (!itc_next_within(c, 20000))
			fail_msg("flood message %d never came to %s%d", want, base, ch);
		if (quitter && irc_msg_command_is(&c->msg, "QUIT") && itc_has(c, quitter))
			quits_seen++;
		if (!irc_msg_command_is(&c->msg, "PRIVMSG"))
			continue;
		snprintf(chan, sizeof(chan), "%s%d", base, ch);
		int got = (int)strtol(c->msg.params[1].ptr, NULL, 10);
		if (got != want || !itc_param_is(&c->msg, 0, chan))
			fail_msg("flood message %d came where %d was due in %s: %s", got, want,
				 chan, c->line);
		if (++ch == NCHAN) {
			ch = 0;
			want++;
		}
	}
}

static double metric0(const char *sample)
{
	double v = gwfx_metric(&g, sample);
	return v < 0 ? 0 : v;
}

#define M_HIGH "eirc_gateway_queue_high_water_total"
#define M_SLOW "eirc_gateway_slow_reader_disconnects_total"

/* The growth of the gateway's memory the queue of one session allows: the
 * watermark plus one read of the socketpair, each message of flood lines
 * (line_len bytes) with its header. */
static long queue_bound_kib(size_t line_len)
{
	size_t bytes = WATERMARK + GW_READ_MAX;
	size_t msgs = bytes / line_len + 1;
	size_t per = sizeof(gw_msg_t) + LWS_PRE + 1 + MALLOC_OVERHEAD;

	return (long)((bytes + msgs * per) / 1024);
}

static void test_slow_reader_closed(void **state)
{
	itc_t *b, *c;
	ws_client_t *wb = gwfx_open_registered(&g, "bob", NULL, &b);
	ws_client_t *wc = open_slow("carol", &c);
	pid_t gw = gwfx_gateway_pid(&g);
	char why[128] = "";
	int code = 0, sent = 0, sent_at_high = -1;
	size_t line_len = 0;
	(void)state;

	join(b, "#slow");
	join(c, "#slow");
	itc_t *f = flooder_join("flood1", "#slow");
	itc_expect(b, "JOIN", "flood1");
	itc_expect(c, "JOIN", "flood1");
	assert_true(gwfx_wait_children(&g, 2, 10000));
	double high0 = metric0(M_HIGH), slow0 = metric0(M_SLOW);
	quitter = "carol";
	quits_seen = 0;
	ws_pause(wc, true);
	long rss0 = gwfx_rss_kib(gw), rss_max = rss0;

	/* flood until carol's queue crossed the watermark, then EXTRA more;
	 * bob reads each batch; carol is closed somewhere on the way or after */
	while (sent_at_high < 0 || (sent - sent_at_high) * NCHAN < EXTRA / (FLOOD_PAD + 10)) {
		if ((long)sent * NCHAN * FLOOD_PAD > FLOOD_MAX)
			fail_msg("%d messages sent and carol's queue never passed the watermark",
				 sent);
		flood(f, "#slow", sent, sent + BATCH, FLOOD_PAD);
		read_flood(b, "#slow", sent, sent + BATCH);
		line_len = strlen(b->line);
		sent += BATCH;
		long rss = gwfx_rss_kib(gw);
		rss_max = rss > rss_max ? rss : rss_max;
		if (sent_at_high < 0 && metric0(M_HIGH) > high0)
			sent_at_high = sent;
		if (!code && metric0(M_SLOW) > slow0) /* let the close frame out */
			code = ws_wait_close(wc, 20000, why, sizeof(why));
	}
	for (int i = 0; !code && i < 600 && metric0(M_SLOW) == slow0; i++)
		usleep(50 * 1000);
	if (!code)
		code = ws_wait_close(wc, 20000, why, sizeof(why));
	print_message("%d messages to %d channels, lines of %zu bytes, carol above the watermark "
		      "after %d; gateway "
		      "RSS %ld -> max %ld KiB (bound +%ld KiB)\n",
		      sent, NCHAN, line_len, sent_at_high, rss0, rss_max,
		      queue_bound_kib(line_len) + RSS_SLACK_KIB);
	assert_int_equal(code, 1008);
	assert_string_equal(why, "too slow");
	assert_true(metric0(M_SLOW) == slow0 + 1);
	assert_true(gwfx_log_has(&g, "browser too slow: disconnected"));
	/* carol's irc-client quits and is reaped; bob's session goes on */
	if (!quits_seen)
		itc_expect_within(b, "QUIT", "carol", 20000);
	assert_true(gwfx_wait_children(&g, 1, 20000));
	flood(f, "#slow", sent, sent + 20, FLOOD_PAD);
	read_flood(b, "#slow", sent, sent + 20);
	assert_false(ws_closed(wb));
#if defined(__SANITIZE_ADDRESS__)
	/* ASan's quarantine and shadow memory make RSS meaningless here */
	(void)rss_max;
#else
	assert_true(rss_max - rss0 <= queue_bound_kib(line_len) + RSS_SLACK_KIB);
#endif
	itc_close(f);
	itc_close(c);
	itc_close(b);
	gwfx_close(&g, wc);
	gwfx_close(&g, wb);
	assert_true(gwfx_wait_children(&g, 0, 20000));
}

static void test_within_watermark_not_closed(void **state)
{
	itc_t *d;
	ws_client_t *wd = open_slow("dave", &d);
	(void)state;

	join(d, "#calm");
	itc_t *f = flooder_join("flood2", "#calm");
	itc_expect(d, "JOIN", "flood2");
	/* the length of a line as the browser gets it, to send exactly the
	 * watermark in lines of 256 bytes */
	flood(f, "#calm", 0, 1, 100);
	read_flood(d, "#calm", 0, 1);
	int pad = 256 - ((int)strlen(d->line) - 100);
	assert_true(pad > 0);
	int n = WATERMARK / 256 / NCHAN; /* messages: NCHAN lines each */
	double high0 = metric0(M_HIGH), slow0 = metric0(M_SLOW);

	ws_pause(wd, true);
	flood(f, "#calm", 1, 1 + n, pad);
	itc_sendf(f, "PING :flood-sent");
	itc_expect_within(f, "PONG", "flood-sent", 60000); /* InspIRCd has sent it all on */
	/* longer than slow_reader_timeout, sweeps included */
	usleep((SLOW_TIMEOUT_S * 1000 + 4 * GW_SWEEP_MS) * 1000);
	assert_true(metric0(M_HIGH) == high0);
	assert_true(metric0(M_SLOW) == slow0);
	ws_pause(wd, false);
	read_flood(d, "#calm", 1, 2);
	assert_int_equal(strlen(d->line), 256);
	read_flood(d, "#calm", 2, 1 + n);
	itc_sendf(d, "PING :still-here");
	itc_expect(d, "PONG", "still-here");
	assert_false(ws_closed(wd));
	itc_close(f);
	itc_close(d);
	gwfx_close(&g, wd);
	assert_true(gwfx_wait_children(&g, 0, 20000));
}

/* The gateway's own count of descriptors open at start, from its log line
 * "descriptors: N open, ..." (the last one: the gateway running now). */
static long logged_fd_base(void)
{
	FILE *f = fopen(gwfx_gateway_log(&g), "re");
	char line[1024];
	long base = -1;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "descriptors: ");
		if (p)
			base = strtol(p + 13, NULL, 10);
	}
	fclose(f);
	return base;
}

/* A session refused before the 101: HTTP status, reason in body. */
static int raw_upgrade(const char *user, char *body, size_t cap)
{
	ws_opts_t o = {.origin = GWFX_ORIGIN};
	char url[512];
	char *tok = gwfx_token(&g, user);

	gwfx_url(&g, tok, url, sizeof(url));
	free(tok);
	return ws_raw_upgrade(url, &o, body, cap);
}

#define M_FD_LIMIT "eirc_gateway_upgrades_refused_total{reason=\"fd_limit\"}"

static void test_fd_limit_refuses_before_upgrade(void **state)
{
	static const char *const users[FD_SESSIONS] = {"bob", "carol", "dave"};
	ws_client_t *ws[FD_SESSIONS];
	itc_t *c[FD_SESSIONS];
	char body[64];
	(void)state;

	/* a fresh gateway (no connection to eirc-auth yet) whose descriptor
	 * limit leaves room for exactly FD_SESSIONS sessions */
	assert_int_equal(gwfx_gateway_stop(&g), 0);
	assert_int_equal(gwfx_gateway_start(&g, yaml), 0);
	pid_t gw = gwfx_gateway_pid(&g);
	long base = logged_fd_base();
	/* a first session makes libuv open what it keeps for spawning (an
	 * eventfd, /dev/null): the level to come back to is after it */
	ws[0] = gwfx_open_registered(&g, users[0], NULL, &c[0]);
	itc_close(c[0]);
	gwfx_close(&g, ws[0]);
	assert_true(gwfx_wait_children(&g, 0, 20000));
	/* the level: the least of a second's counts (a /metrics connection
	 * the gateway has not closed yet, or libcurl's socket for a request
	 * to eirc-auth caught before it is connected, such as the readiness
	 * probe's every GW_READY_PROBE_MS, is counted when caught mid-way) */
	long fds0 = gwfx_fd_count_except(gw, g.auth.iport);
	for (int i = 0; i < 20; i++) {
		usleep(50 * 1000);
		long n = gwfx_fd_count_except(gw, g.auth.iport);
		fds0 = n < fds0 ? n : fds0;
	}
	rlim_t lim = (rlim_t)(base + GW_FD_RESERVE + FD_SESSIONS * GW_FDS_PER_SESSION);
	struct rlimit rl = {lim, lim};
	assert_true(base > 0);
	assert_int_equal(prlimit(gw, RLIMIT_NOFILE, &rl, NULL), 0);
	print_message("gateway: %ld descriptors at start (%ld now), limit set to %llu\n", base,
		      fds0, (unsigned long long)lim);

	for (int i = 0; i < FD_SESSIONS; i++)
		ws[i] = gwfx_open_registered(&g, users[i], NULL, &c[i]);
	/* one past: refused before the 101, nothing spawned */
	assert_int_equal(raw_upgrade("bob", body, sizeof(body)), 503);
	assert_string_equal(body, "fd_limit\n");
	assert_true(gwfx_metric(&g, M_FD_LIMIT) == 1);
	assert_true(gwfx_wait_children(&g, FD_SESSIONS, 10000));
	/* the sessions under the limit work */
	for (int i = 0; i < FD_SESSIONS; i++) {
		itc_sendf(c[i], "PING :fd-%d", i);
		itc_expect(c[i], "PONG", "fd-");
	}
	/* a session that ends gives its room back */
	itc_close(c[0]);
	gwfx_close(&g, ws[0]);
	assert_true(gwfx_wait_children(&g, FD_SESSIONS - 1, 20000));
	ws[0] = gwfx_open_registered(&g, users[0], NULL, &c[0]);
	assert_int_equal(raw_upgrade("carol", body, sizeof(body)), 503);
	assert_true(gwfx_metric(&g, M_FD_LIMIT) == 2);
	assert_false(gwfx_log_has(&g, "Too many open files"));
	for (int i = 0; i < FD_SESSIONS; i++) {
		itc_close(c[i]);
		gwfx_close(&g, ws[i]);
	}
	assert_true(gwfx_wait_children(&g, 0, 20000));
	/* nothing left behind but libcurl's idle connections to eirc-auth */
	long fds1 = gwfx_fd_count_except(gw, g.auth.iport);
	for (int i = 0; i < 100 && fds1 != fds0; i++) { /* connections the gateway closes last */
		usleep(50 * 1000);
		fds1 = gwfx_fd_count_except(gw, g.auth.iport);
	}
	assert_int_equal(fds1, fds0);
	assert_true(gwfx_metric(&g, "eirc_gateway_sessions_open") == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_slow_reader_closed, after_test),
		cmocka_unit_test_teardown(test_within_watermark_not_closed, after_test),
		/* restarts the gateway with a low descriptor limit: last */
		cmocka_unit_test_teardown(test_fd_limit_refuses_before_upgrade, after_test),
		cmocka_unit_test_prestate(gwfx_test_clean_stop, &g), /* last */
	};
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
