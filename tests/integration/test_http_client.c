/*
 * common/http_client against a real HTTP/1.1 server on loopback (python3's
 * http.server, keep-alive): answers delivered once and whole, the body
 * limit at the limit and one past it, refused connections, a timeout,
 * cancellation before the end, the requests-in-flight limit, request
 * headers, body and basic auth as sent, callbacks that start requests and
 * close the client, every callback exactly once when the client closes,
 * close-on-exec sockets, and a loop with no handle left open at the end of
 * every test (uv_loop_close() == 0).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/http_client.h"
#include "scripts/stack/launch.h"

/* GET /bytes/N: N bytes "0123456789012…"; GET /slow: no answer for 60 s;
 * any other method: 201 with "<method> <X-Test header> <Authorization
 * header> <body>" as the answer. */
static const char server_py[] =
	"import sys, time\n"
	"from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler\n"
	"class H(BaseHTTPRequestHandler):\n"
	"    protocol_version = 'HTTP/1.1'\n"
	"    def do_GET(self):\n"
	"        if self.path == '/slow':\n"
	"            time.sleep(60)\n"
	"        ok = self.path.startswith('/bytes/')\n"
	"        n = int(self.path[7:]) if ok else 0\n"
	"        body = bytes(48 + i % 10 for i in range(n))\n"
	"        self.send_response(200 if ok else 404)\n"
	"        self.send_header('Content-Length', str(n))\n"
	"        self.end_headers()\n"
	"        self.wfile.write(body)\n"
	"    def echo(self):\n"
	"        n = int(self.headers.get('Content-Length', '0'))\n"
	"        got = self.rfile.read(n)\n"
	"        body = ('%s %s %s ' % (self.command, self.headers.get('X-Test'),\n"
	"                self.headers.get('Authorization'))).encode() + got\n"
	"        self.send_response(201)\n"
	"        self.send_header('Content-Length', str(len(body)))\n"
	"        self.end_headers()\n"
	"        self.wfile.write(body)\n"
	"    do_POST = do_PUT = do_DELETE = echo\n"
	"    def log_message(self, *a):\n"
	"        pass\n"
	"ThreadingHTTPServer.daemon_threads = True\n"
	"ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n";

static srv_env_t *env;
static int port;

typedef struct xfer {
	http_client_xfer_t *h; /* NULL once its callback ran */
	int calls;
	int err;
	long status;
	char *body;
	size_t len;
	char why[EIRC_ERR_MAX];
	void (*then)(struct xfer *x); /* run from the callback */
} xfer_t;

static uv_loop_t loop;
static http_client_t *cu;

static int setup(void **state)
{
	char py[] = "/usr/bin/python3", c[] = "-c", portstr[16];
	char *argv[] = {py, c, (char *)server_py, portstr, NULL};
	srv_t *srv;

	(void)state;
	srv_env_install_signal_handlers();
	if (srv_env_new(NULL, &env) < 0 || (port = srv_free_port()) < 0)
		return -1;
	snprintf(portstr, sizeof(portstr), "%d", port);
	return srv_process_start(env, "http", argv, port, "/bytes/0", &srv);
}

static int teardown(void **state)
{
	(void)state;
	srv_env_free(env);
	return 0;
}

static int test_setup(void **state)
{
	(void)state;
	if (uv_loop_init(&loop) < 0)
		return -1;
	return http_client_new(&loop, NULL, &cu) == 0 ? 0 : -1;
}

static int closed_calls;

static void on_closed(void *arg)
{
	assert_ptr_equal(arg, &closed_calls);
	closed_calls++;
}

/* Closes the client, runs the loop dry: every handle must be closed. */
static int test_teardown(void **state)
{
	(void)state;
	closed_calls = 0;
	http_client_close(cu, on_closed, &closed_calls);
	cu = NULL;
	uv_run(&loop, UV_RUN_DEFAULT);
	if (closed_calls != 1) /* done ran once, after the last handle closed */
		return -1;
	return uv_loop_close(&loop) == 0 ? 0 : -1;
}

/* Same, after a test that closed the client itself (no done callback). */
static int test_teardown_closed(void **state)
{
	(void)state;
	assert_null(cu);
	uv_run(&loop, UV_RUN_DEFAULT);
	return uv_loop_close(&loop) == 0 ? 0 : -1;
}

static void on_done(void *ud, const http_client_answer_t *a, const eirc_err_t *why)
{
	xfer_t *x = ud;

	x->calls++;
	x->err = a->err;
	x->status = a->status;
	x->len = a->len;
	assert_int_equal(strlen(a->body), a->len);
	free(x->body); /* a second call must fail the test, not leak */
	x->body = strdup(a->body);
	/* text exactly when there is an error */
	assert_true(a->err ? why != NULL && why->text[0] : why == NULL);
	snprintf(x->why, sizeof(x->why), "%s", why ? why->text : "");
	x->h = NULL;
	if (x->then)
		x->then(x);
}

static void start_req(xfer_t *x, const http_client_req_t *req)
{
	assert_int_equal(http_client_send(cu, req, on_done, x, &x->h), 0);
	assert_non_null(x->h);
}

static void start_url(xfer_t *x, const char *url, size_t max_body)
{
	http_client_req_t req = {.method = "GET", .url = url, .answer_max = max_body};

	start_req(x, &req);
}

static void start(xfer_t *x, const char *path, size_t max_body)
{
	char url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	start_url(x, url, max_body);
}

static bool all_done(const xfer_t *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (x[i].calls == 0)
			return false;
	return true;
}

/* Runs the loop until every x[i] has had its callback. */
static void run_until_done(xfer_t *x, size_t n)
{
	while (!all_done(x, n))
		if (uv_run(&loop, UV_RUN_ONCE) == 0) /* nothing left to wait for */
			assert_true(all_done(x, n));
}

/* Starts two GETs with the same answer limit and waits for both. */
static void run_two(xfer_t x[2], const char *path0, const char *path1, size_t max_body)
{
	memset(x, 0, 2 * sizeof(*x));
	start(&x[0], path0, max_body);
	start(&x[1], path1, max_body);
	run_until_done(x, 2);
}

static void assert_body(const xfer_t *x, size_t n)
{
	assert_int_equal(x->calls, 1);
	assert_int_equal(x->err, 0);
	assert_int_equal(x->status, 200);
	assert_int_equal(x->len, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(x->body[i], '0' + (int)(i % 10));
}

static void xfers_free(xfer_t *x, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(x[i].body);
		http_client_cancel(x[i].h); /* NULL once its callback ran */
	}
}

static void test_answers(void **state)
{
	static const size_t sizes[] = {0, 1, 1000, 100000, 3000000};
	xfer_t x[5] = {0};
	char path[64];

	(void)state;
	for (size_t i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "/bytes/%zu", sizes[i]);
		start(&x[i], path, 4000000);
	}
	assert_int_equal(http_client_running(cu), 5);
	run_until_done(x, 5);
	assert_int_equal(http_client_running(cu), 0);
	for (size_t i = 0; i < 5; i++)
		assert_body(&x[i], sizes[i]);
	/* a second round on the cached connections */
	xfers_free(x, 5);
	run_two(x, "/bytes/10", "/nothing", 10);
	assert_body(&x[0], 10);
	assert_int_equal(x[1].err, 0);
	assert_int_equal(x[1].status, 404);
	xfers_free(x, 2);
}

static void test_body_limit(void **state)
{
	xfer_t x[2];

	(void)state;
	run_two(x, "/bytes/1000", "/bytes/1001", 1000); /* at the limit, one past it */
	assert_body(&x[0], 1000);
	assert_int_equal(x[1].calls, 1);
	assert_int_equal(x[1].err, -EMSGSIZE);
	assert_int_equal(x[1].status, 0);
	assert_non_null(strstr(x[1].why, "1000"));
	xfers_free(x, 2);
	run_two(x, "/bytes/0", "/bytes/1", 0); /* a limit of 0: an empty answer only */
	assert_body(&x[0], 0);
	assert_int_equal(x[1].err, -EMSGSIZE);
	xfers_free(x, 2);
}

static void test_refused(void **state)
{
	xfer_t x = {0};
	char url[64];
	int p = srv_free_port(); /* nobody listens there */

	(void)state;
	assert_true(p > 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", p);
	start_url(&x, url, 10);
	run_until_done(&x, 1);
	assert_int_equal(x.calls, 1);
	assert_int_equal(x.err, -ECONNREFUSED);
	assert_int_equal(x.status, 0);
	assert_int_equal(x.len, 0);
	/* ftp:// is refused before any connection: HTTP(S) only */
	xfers_free(&x, 1);
	memset(&x, 0, sizeof(x));
	start_url(&x, "ftp://127.0.0.1/", 10);
	run_until_done(&x, 1);
	assert_int_equal(x.err, -EPROTONOSUPPORT);
	xfers_free(&x, 1);
}

static void test_cancel(void **state)
{
	xfer_t x[2] = {0};

	(void)state;
	start(&x[0], "/slow", 10);
	start(&x[1], "/bytes/5", 10);
	http_client_cancel(x[0].h);
	x[0].h = NULL;
	http_client_cancel(NULL); /* a no-op */
	assert_int_equal(http_client_running(cu), 1);
	run_until_done(&x[1], 1);
	assert_body(&x[1], 5);
	assert_int_equal(x[0].calls, 0);
	xfers_free(x, 2);
}

static xfer_t chain[3];

static void close_client(xfer_t *x)
{
	(void)x;
	http_client_close(cu, NULL, NULL); /* ends chain[2] (cancelled) at once */
	assert_int_equal(chain[2].calls, 1);
	assert_int_equal(chain[2].err, -ECANCELED);
	cu = NULL;
}

static void start_next(xfer_t *x)
{
	(void)x;
	start(&chain[1], "/bytes/7", 10);
	chain[1].then = close_client;
}

/* A callback starts a request; the next one closes the client while a
 * third is still waiting for its answer. */
static void test_callbacks_reenter(void **state)
{
	(void)state;
	memset(chain, 0, sizeof(chain));
	start(&chain[2], "/slow", 10);
	start(&chain[0], "/bytes/3", 10);
	chain[0].then = start_next;
	run_until_done(chain, 2);
	assert_body(&chain[0], 3);
	assert_body(&chain[1], 7);
	assert_int_equal(chain[2].calls, 1);
	assert_int_equal(chain[2].len, 0);
	xfers_free(chain, 3);
}

/* How many descriptors are TCP connections to the server (the client's,
 * idle in curl's cache now); each must be close-on-exec. curl's own
 * wake-up socketpair (curl_multi_init) is not ours and not checked: the
 * gateway marks everything close-on-exec before it spawns. */
static int server_connections_cloexec(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer);
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (*end || end == e->d_name || fd == dirfd(d) ||
		    getpeername((int)fd, (struct sockaddr *)&peer, &len) < 0 ||
		    peer.sin_family != AF_INET || ntohs(peer.sin_port) != port)
			continue;
		assert_true(fcntl((int)fd, F_GETFD) & FD_CLOEXEC);
		n++;
	}
	closedir(d);
	return n;
}

static void test_cloexec(void **state)
{
	xfer_t x[3] = {0};

	(void)state;
	start(&x[0], "/bytes/1", 10);
	start(&x[1], "/bytes/2", 10);
	start(&x[2], "/bytes/3", 10);
	run_until_done(x, 3);
	assert_true(server_connections_cloexec() >= 1);
	xfers_free(x, 3);
}

static void stop_loop(uv_timer_t *t)
{
	uv_stop(t->loop);
}

static void test_close_in_flight(void **state)
{
	static uv_timer_t t; /* closed after this returns */
	xfer_t x[3] = {0};

	(void)state;
	for (int i = 0; i < 3; i++)
		start(&x[i], "/slow", 10);
	/* let the requests go out, so that polls are open at the close */
	uv_timer_init(&loop, &t);
	uv_timer_start(&t, stop_loop, 300, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&t, NULL);
	closed_calls = 0;
	http_client_close(cu, on_closed, &closed_calls);
	cu = NULL;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(x[i].calls, 1);
		assert_int_equal(x[i].err, -ECANCELED);
	}
	assert_int_equal(closed_calls, 0); /* once the handles closed */
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(closed_calls, 1);
	for (int i = 0; i < 3; i++) /* still once each */
		assert_int_equal(x[i].calls, 1);
	xfers_free(x, 3);
}

/* The whole exchange past timeout_ms: -ETIMEDOUT, once. */
static void test_timeout(void **state)
{
	char url[64];
	xfer_t x = {0};
	http_client_req_t req = {.method = "GET", .url = url, .answer_max = 10, .timeout_ms = 200};

	(void)state;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/slow", port);
	start_req(&x, &req);
	run_until_done(&x, 1);
	assert_int_equal(x.calls, 1);
	assert_int_equal(x.err, -ETIMEDOUT);
	assert_int_equal(x.status, 0);
	assert_int_equal(http_client_running(cu), 0);
	xfers_free(&x, 1);
}

/* Method, headers, body and basic auth go out as described. */
static void test_request_sent(void **state)
{
	static const char body[] = "a=1&b=\0x"; /* a NUL inside: body_len counts */
	const char *headers[] = {"X-Test: yes", "Content-Type: text/plain"};
	char url[64];
	xfer_t x[2] = {0};
	http_client_req_t req = {.method = "PUT",
				 .url = url,
				 .headers = headers,
				 .n_headers = 2,
				 .body = body,
				 .body_len = 5,
				 .username = "user",
				 .password = "pw",
				 .answer_max = 1000};

	(void)state;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/echo", port);
	start_req(&x[0], &req);
	req.method = "DELETE";
	req.n_headers = 0;
	req.username = NULL;
	req.body = NULL;
	start_req(&x[1], &req);
	run_until_done(x, 2);
	assert_int_equal(x[0].err, 0);
	assert_int_equal(x[0].status, 201);
	assert_string_equal(x[0].body, "PUT yes Basic dXNlcjpwdw== a=1&b"); /* user:pw */
	assert_int_equal(x[1].status, 201);
	assert_string_equal(x[1].body, "DELETE None None ");
	xfers_free(x, 2);
}

/* requests_max in flight, then -EBUSY (no callback); a bad request is
 * -EINVAL; after close -ECANCELED. */
static void test_refusals(void **state)
{
	const http_client_opts_t opts = {.requests_max = 2};
	http_client_req_t bad = {.method = "GET", .answer_max = 10};
	xfer_t x[3] = {0};

	(void)state;
	http_client_close(cu, NULL, NULL);
	assert_int_equal(http_client_new(&loop, &opts, &cu), 0);
	start(&x[0], "/bytes/1", 10);
	start(&x[1], "/bytes/2", 10); /* at the limit */
	{
		char url[64];
		http_client_req_t req = {.method = "GET", .url = url, .answer_max = 10};
		http_client_xfer_t *h = (http_client_xfer_t *)&x[2]; /* untouched on failure */
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/bytes/3", port);
		assert_int_equal(http_client_send(cu, &req, on_done, &x[2], &h),
				 -EBUSY); /* past it */
		assert_ptr_equal(h, (http_client_xfer_t *)&x[2]);
		assert_int_equal(http_client_send(cu, &bad, on_done, &x[2], NULL), -EINVAL);
	}
	run_until_done(x, 2);
	assert_body(&x[0], 1);
	assert_body(&x[1], 2);
	assert_int_equal(x[2].calls, 0);
	start(&x[2], "/bytes/3", 10); /* room again */
	run_until_done(&x[2], 1);
	assert_body(&x[2], 3);
	xfers_free(x, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_answers, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_body_limit, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_refused, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_cancel, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_callbacks_reenter, test_setup,
						test_teardown_closed),
		cmocka_unit_test_setup_teardown(test_cloexec, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_close_in_flight, test_setup,
						test_teardown_closed),
		cmocka_unit_test_setup_teardown(test_timeout, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_request_sent, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_refusals, test_setup, test_teardown),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
