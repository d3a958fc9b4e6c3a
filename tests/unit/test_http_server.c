/*
 * test_http_server: common/http_server against raw sockets on loopback.
 *
 * The server runs on its own libuv loop in a second thread (made before
 * the thread starts, closed from it through a uv_async_t); the test talks
 * HTTP/1.1 to it with blocking sockets. Each named limit is tried at the
 * limit and one past it: header_max, body_max, conns_max, the listeners;
 * a listener is reachable at its configured address only (127.0.0.1,
 * ::1, a host name) and an address that is not one is refused;
 * a chunked stream is read byte for byte; the server is closed with
 * connections open (one idle, one waiting for an answer) and the loop
 * must then close with nothing left (uv_loop_close() == 0).
 *
 * Raw sockets, not tests/harness/http_test: the test holds connections
 * open, reads the chunk framing itself and must see a connection closed
 * with no answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/http_server.h"

#define T_HEADER_MAX 1024
#define T_BODY_MAX   4096
#define T_CONNS_MAX  4
/* What lws 4.1 keeps of the test's GET besides the X-Pad value: "/hello",
 * the Host value, the custom header's name and lengths, each with its NUL
 * (measured: 973 bytes of X-Pad fit 1024, 974 do not). */
#define T_HEAD_OVERHEAD 51

enum { P_IDLE, P_HELLO, P_BODY, P_STREAM, P_HOLD };

struct pss {
	int route;
	int state;
	uint64_t expected, got;
	bool ready;
};

struct tsrv {
	uv_loop_t loop;
	uv_async_t stop;
	http_server_t *srv;
	pthread_t thread;
	int port;
};

static int on_http(struct lws *wsi, struct pss *p, const char *path)
{
	static const char *const extra[] = {"x-test:", "1", NULL};
	uint64_t clen;
	int r;

	memset(p, 0, sizeof(*p));
	if (!strcmp(path, "/hold")) {
		p->route = P_HOLD; /* never answered */
		return 0;
	}
	if (!strcmp(path, "/body")) {
		p->route = P_BODY;
		r = http_server_content_length(wsi, &clen);
		if (r < 0) {
			http_respond(wsi,
				     &(http_head_t){r == -EMSGSIZE ? 413 : 411, "text/plain", 0,
						    extra, true},
				     "no\n", 3);
			return -1;
		}
		p->expected = clen;
		if (!clen) {
			p->ready = true;
			lws_callback_on_writable(wsi);
		}
		return 0;
	}
	p->route = !strcmp(path, "/stream") ? P_STREAM : P_HELLO;
	p->ready = true;
	lws_callback_on_writable(wsi);
	return 0;
}

static int on_writable(struct lws *wsi, struct pss *p)
{
	char buf[64];
	int n;

	if (!p->ready)
		return 0;
	if (p->route == P_STREAM) {
		if (p->state == 0 &&
		    http_write_head(
			    wsi, &(http_head_t){200, "text/plain", HTTP_CHUNKED, NULL, false}) < 0)
			return -1;
		if (p->state >= 1 && p->state <= 3) {
			n = snprintf(buf, sizeof(buf), "chunk-%d", p->state - 1);
			if (http_write_chunk(wsi, buf, (size_t)n) < 0)
				return -1;
		}
		if (p->state == 4) {
			if (http_write_chunk(wsi, NULL, 0) < 0)
				return -1;
			memset(p, 0, sizeof(*p));
			return lws_http_transaction_completed(wsi) ? -1 : 0;
		}
		p->state++;
		lws_callback_on_writable(wsi);
		return 0;
	}
	n = p->route == P_BODY
		    ? snprintf(buf, sizeof(buf), "got %llu\n", (unsigned long long)p->got)
		    : snprintf(buf, sizeof(buf), "hello\n");
	if (p->state == 0) {
		if (http_write_head(
			    wsi, &(http_head_t){200, "text/plain", (uint64_t)n, NULL, false}) < 0)
			return -1;
		p->state = 1;
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (http_write_body(wsi, buf, (size_t)n) < 0)
		return -1;
	memset(p, 0, sizeof(*p));
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int t_request(struct lws *wsi, void *pss, const char *path, size_t len)
{
	(void)len;
	if (!http_server_user(wsi))
		return -1; /* no cmocka assert off the test's thread */
	return on_http(wsi, pss, path);
}

static int t_body(struct lws *wsi, void *pss, const void *in, size_t len)
{
	struct pss *p = pss;

	(void)wsi, (void)in;
	p->got += len;
	return 0;
}

static int t_body_done(struct lws *wsi, void *pss)
{
	struct pss *p = pss;

	p->ready = true;
	lws_callback_on_writable(wsi);
	return 0;
}

static int t_writable(struct lws *wsi, void *pss)
{
	return on_writable(wsi, pss);
}

static const http_handler_t t_handler = {
	.pss_size = sizeof(struct pss),
	.request = t_request,
	.body = t_body,
	.body_done = t_body_done,
	.writable = t_writable,
};

/* The other way to listen (the gateway's): an lws protocol list. */
static const struct lws_protocols t_protocols[] = {
	{"http", lws_callback_http_dummy, 0, 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- the server's thread ---- */

static void on_stop(uv_async_t *a)
{
	struct tsrv *t = a->data;

	http_server_close(t->srv);
	uv_close((uv_handle_t *)a, NULL);
}

static void *loop_main(void *arg)
{
	struct tsrv *t = arg;

	uv_run(&t->loop, UV_RUN_DEFAULT);
	return NULL;
}

static void tsrv_start(struct tsrv *t)
{
	http_server_opts_t o = {.header_max = T_HEADER_MAX,
				.heads_max = 8,
				.body_max = T_BODY_MAX,
				.conns_max = T_CONNS_MAX,
				.timeout_s = 5};
	eirc_err_t err;
	int i;

	memset(t, 0, sizeof(*t));
	assert_int_equal(uv_loop_init(&t->loop), 0);
	assert_int_equal(http_server_new(&t->loop, &o, &t->srv), 0);
	i = http_server_listen(t->srv,
			       &(http_listen_opts_t){.name = "t",
						     .address = "127.0.0.1",
						     .handler = &t_handler,
						     .keepalive_s = 5,
						     .user = t},
			       &err);
	assert_int_equal(i, 0);
	t->port = http_server_port(t->srv, i);
	assert_true(t->port > 0);
	uv_async_init(&t->loop, &t->stop, on_stop);
	t->stop.data = t;
	assert_int_equal(pthread_create(&t->thread, NULL, loop_main, t), 0);
}

/* Closes the server from its loop, then checks nothing is left. */
static void tsrv_stop(struct tsrv *t)
{
	uv_async_send(&t->stop);
	pthread_join(t->thread, NULL);
	http_server_free(t->srv);
	assert_int_equal(uv_loop_close(&t->loop), 0);
}

/* ---- the client ---- */

static int t_connect(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {5, 0};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void t_send(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return; /* the server may close first */
		s += w;
		n -= (size_t)w;
	}
}

/*
 * Reads one answer into buf: to EOF when `to_eof`, else to the end of its
 * Content-Length. Returns the bytes read (0: closed with no answer).
 */
static size_t t_read(int fd, char *buf, size_t cap, bool to_eof)
{
	size_t len = 0;
	ssize_t r;

	while (len + 1 < cap && (r = recv(fd, buf + len, cap - 1 - len, 0)) > 0) {
		char *end, *cl;
		len += (size_t)r;
		buf[len] = '\0';
		if (to_eof || !(end = strstr(buf, "\r\n\r\n")))
			continue;
		cl = strcasestr(buf, "content-length:");
		if (cl && cl < end && len >= (size_t)(end + 4 - buf) + strtoul(cl + 15, NULL, 10))
			break;
	}
	buf[len] = '\0';
	return len;
}

/* GET path on fd (kept alive); the answer's status, 0 when none. */
static int t_get(int fd, const char *path, const char *pad)
{
	char req[4096], resp[4096];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n%s%s%s\r\n", path,
			 pad ? "X-Pad: " : "", pad ? pad : "", pad ? "\r\n" : "");

	t_send(fd, req, (size_t)n);
	if (!t_read(fd, resp, sizeof(resp), false) || strncmp(resp, "HTTP/1.1 ", 9))
		return 0;
	return atoi(resp + 9);
}

/* ---- tests ---- */

static void test_limits_checked(void **state)
{
	uv_loop_t loop;
	http_server_t *s = NULL;
	http_server_opts_t o = {.header_max = HTTP_SERVER_HEADER_MAX, .heads_max = 1};
	eirc_err_t err;

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	o.header_max = 0;
	assert_int_equal(http_server_new(&loop, &o, &s), -EINVAL);
	o.header_max = HTTP_SERVER_HEADER_MAX + 1;
	assert_int_equal(http_server_new(&loop, &o, &s), -EINVAL);
	assert_null(s);
	o.header_max = HTTP_SERVER_HEADER_MAX;
	assert_int_equal(http_server_new(&loop, &o, &s), 0);
	assert_int_equal(http_server_listen(s,
					    &(http_listen_opts_t){.name = "l",
								  .address = "127.0.0.1",
								  .protocols = t_protocols,
								  .handler = &t_handler},
					    &err),
			 -EINVAL);
	assert_int_equal(
		http_server_listen(s, &(http_listen_opts_t){.name = "l", .address = "127.0.0.1"},
				   &err),
		-EINVAL);
	for (int i = 0; i < HTTP_SERVER_LISTENERS_MAX; i++)
		assert_int_equal(http_server_listen(s,
						    &(http_listen_opts_t){.name = "l",
									  .address = "127.0.0.1",
									  .protocols = t_protocols},
						    &err),
				 i);
	assert_int_equal(http_server_listen(s,
					    &(http_listen_opts_t){.name = "l",
								  .address = "127.0.0.1",
								  .protocols = t_protocols},
					    &err),
			 -ENOSPC);
	assert_non_null(strstr(err.text, "listeners"));
	assert_int_equal(http_server_port(s, HTTP_SERVER_LISTENERS_MAX), -EINVAL);
	http_server_close(s);
	uv_run(&loop, UV_RUN_DEFAULT);
	http_server_free(s);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* 0 when a TCP connection to ip:port is accepted, else -errno. */
static int try_connect(const char *ip, int port)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST};
	struct addrinfo *res;
	char serv[16];
	int fd, r;

	snprintf(serv, sizeof(serv), "%d", port);
	assert_int_equal(getaddrinfo(ip, serv, &hints, &res), 0);
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	r = connect(fd, res->ai_addr, res->ai_addrlen) == 0 ? 0 : -errno;
	close(fd);
	freeaddrinfo(res);
	return r;
}

/* A non-loopback address of this machine (first IPv4, else IPv6), or "". */
static void other_address(char *out, size_t cap)
{
	struct ifaddrs *ifs, *i;

	out[0] = '\0';
	if (getifaddrs(&ifs) != 0)
		return;
	for (int fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0)
		for (i = ifs; i && !out[0]; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != fam ||
			    (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
				continue;
			if (fam == AF_INET6 &&
			    IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr))
				continue;
			getnameinfo(i->ifa_addr,
				    fam == AF_INET ? sizeof(struct sockaddr_in)
						   : sizeof(struct sockaddr_in6),
				    out, (socklen_t)cap, NULL, 0, NI_NUMERICHOST);
		}
	freeifaddrs(ifs);
}

/*
 * A listener is reachable at its configured address and nowhere else.
 * Nothing needs the loop to run: the kernel completes a handshake to a
 * listening socket by itself, and refuses one where nothing listens.
 * 127.0.0.2 is a loopback address every Linux host has that is not
 * 127.0.0.1; lws 4.1 on its own bound "127.0.0.1" as "::", where all of
 * these connected.
 */
static void test_bound_where_configured(void **state)
{
	static const struct {
		const char *address, *reach, *refused[3];
	} cases[] = {
		{"127.0.0.1", "127.0.0.1", {"127.0.0.2", "::1", NULL}},
		{"::1", "::1", {"127.0.0.1", "127.0.0.2", NULL}},
		/* resolved once: to one of the two, whichever the resolver gives */
		{"localhost", NULL, {"127.0.0.2", NULL}},
	};
	char other[INET6_ADDRSTRLEN + 1];
	eirc_err_t err;

	(void)state;
	other_address(other, sizeof(other));
	print_message("a non-loopback address of this machine: %s\n", other[0] ? other : "(none)");
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uv_loop_t loop;
		http_server_t *s = NULL;
		http_server_opts_t o = {.header_max = T_HEADER_MAX, .heads_max = 1};
		int i, port;

		assert_int_equal(uv_loop_init(&loop), 0);
		assert_int_equal(http_server_new(&loop, &o, &s), 0);
		i = http_server_listen(s,
				       &(http_listen_opts_t){.name = "t",
							     .address = cases[c].address,
							     .handler = &t_handler},
				       &err);
		assert_true(i >= 0);
		port = http_server_port(s, i);
		assert_true(port > 0);
		if (cases[c].reach)
			assert_int_equal(try_connect(cases[c].reach, port), 0);
		else
			assert_int_equal((try_connect("127.0.0.1", port) == 0) +
						 (try_connect("::1", port) == 0),
					 1);
		for (int k = 0; cases[c].refused[k]; k++) {
			int r = try_connect(cases[c].refused[k], port);
			print_message("listening on %s: %s port %d: %s\n", cases[c].address,
				      cases[c].refused[k], port, strerror(-r));
			assert_int_equal(r, -ECONNREFUSED);
		}
		if (other[0])
			assert_int_equal(try_connect(other, port), -ECONNREFUSED);
		http_server_close(s);
		uv_run(&loop, UV_RUN_DEFAULT);
		http_server_free(s);
		assert_int_equal(uv_loop_close(&loop), 0);
	}
}

/* An address that is not one is refused with a clear error, not bound
 * somewhere else (an interface name among them: lws would take it). */
static void test_bad_address_refused(void **state)
{
	static const char *bad[] = {"lo", "no-such-host.invalid", "127.0.0.1:80", "300.1.1.1"};
	uv_loop_t loop;
	http_server_t *s = NULL;
	http_server_opts_t o = {.header_max = T_HEADER_MAX, .heads_max = 1};
	eirc_err_t err;

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(http_server_new(&loop, &o, &s), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(http_server_listen(s,
						    &(http_listen_opts_t){.name = "t",
									  .address = bad[i],
									  .handler = &t_handler},
						    &err),
				 -EADDRNOTAVAIL);
		print_message("%s: %s\n", bad[i], err.text);
		assert_non_null(strstr(err.text, bad[i]));
	}
	http_server_close(s);
	uv_run(&loop, UV_RUN_DEFAULT);
	http_server_free(s);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_header_max(void **state)
{
	struct tsrv t;
	char pad[T_HEADER_MAX + 1];
	size_t at = T_HEADER_MAX - T_HEAD_OVERHEAD;
	int fd;

	(void)state;
	tsrv_start(&t);
	memset(pad, 'a', sizeof(pad) - 1);
	pad[at] = '\0';
	fd = t_connect(t.port);
	assert_int_equal(t_get(fd, "/hello", pad), 200);
	close(fd);
	pad[at] = 'a';
	pad[at + 1] = '\0';
	fd = t_connect(t.port);
	assert_int_equal(t_get(fd, "/hello", pad), 0); /* closed, unanswered */
	close(fd);
	tsrv_stop(&t);
}

static int t_post(int port, size_t n)
{
	char head[256], resp[1024], *body = malloc(n + 1);
	int fd = t_connect(port), len, st = 0;

	memset(body, 'b', n);
	len = snprintf(head, sizeof(head),
		       "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", n);
	t_send(fd, head, (size_t)len);
	t_send(fd, body, n);
	if (t_read(fd, resp, sizeof(resp), false) && !strncmp(resp, "HTTP/1.1 ", 9))
		st = atoi(resp + 9);
	if (st == 200) {
		char want[32];
		snprintf(want, sizeof(want), "got %zu\n", n);
		assert_non_null(strstr(resp, want));
	}
	close(fd);
	free(body);
	return st;
}

static void test_body_max(void **state)
{
	struct tsrv t;

	(void)state;
	tsrv_start(&t);
	assert_int_equal(t_post(t.port, 0), 200);
	assert_int_equal(t_post(t.port, T_BODY_MAX), 200);
	assert_int_equal(t_post(t.port, T_BODY_MAX + 1), 413);
	tsrv_stop(&t);
}

static void test_conns_max(void **state)
{
	struct tsrv t;
	int fds[T_CONNS_MAX], extra, st = 0;

	(void)state;
	tsrv_start(&t);
	for (int i = 0; i < T_CONNS_MAX; i++) {
		fds[i] = t_connect(t.port);
		assert_int_equal(t_get(fds[i], "/hello", NULL), 200);
	}
	extra = t_connect(t.port); /* the kernel accepts; the server closes it */
	assert_int_equal(t_get(extra, "/hello", NULL), 0);
	close(extra);
	close(fds[0]);
	/* room again once the server saw the close */
	for (int tries = 0; tries < 50 && st != 200; tries++) {
		usleep(20 * 1000);
		extra = t_connect(t.port);
		st = t_get(extra, "/hello", NULL);
		close(extra);
	}
	assert_int_equal(st, 200);
	for (int i = 1; i < T_CONNS_MAX; i++)
		close(fds[i]);
	tsrv_stop(&t);
}

static void test_chunked_stream(void **state)
{
	static const char req[] = "GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	static const char want[] = "7\r\nchunk-0\r\n7\r\nchunk-1\r\n7\r\nchunk-2\r\n0\r\n\r\n";
	struct tsrv t;
	char resp[4096], *body;
	int fd;

	(void)state;
	tsrv_start(&t);
	fd = t_connect(t.port);
	t_send(fd, req, sizeof(req) - 1);
	assert_true(t_read(fd, resp, sizeof(resp), true) > 0);
	assert_non_null(strcasestr(resp, "transfer-encoding: chunked"));
	assert_null(strcasestr(resp, "content-length"));
	body = strstr(resp, "\r\n\r\n");
	assert_non_null(body);
	assert_string_equal(body + 4, want);
	close(fd);
	tsrv_stop(&t);
}

static void test_close_with_open_connections(void **state)
{
	static const char hold[] = "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n";
	struct tsrv t;
	char buf[256];
	int idle, waiting;

	(void)state;
	tsrv_start(&t);
	idle = t_connect(t.port);
	assert_int_equal(t_get(idle, "/hello", NULL), 200);
	waiting = t_connect(t.port);
	t_send(waiting, hold, sizeof(hold) - 1);
	usleep(100 * 1000);
	tsrv_stop(&t); /* uv_loop_close() == 0 inside */
	assert_int_equal(t_read(idle, buf, sizeof(buf), true), 0);
	assert_int_equal(t_read(waiting, buf, sizeof(buf), true), 0);
	close(idle);
	close(waiting);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limits_checked),
		cmocka_unit_test(test_bound_where_configured),
		cmocka_unit_test(test_bad_address_refused),
		cmocka_unit_test(test_header_max),
		cmocka_unit_test(test_body_max),
		cmocka_unit_test(test_conns_max),
		cmocka_unit_test(test_chunked_stream),
		cmocka_unit_test(test_close_with_open_connections),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
