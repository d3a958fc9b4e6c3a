/*
 * common/curl_uv against a real HTTP/1.1 server on loopback (python3's
 * http.server, keep-alive): answers delivered once and whole, the body
 * limit at the limit and one past it, refused connections, removal before
 * the end, callbacks that start transfers and close the adapter,
 * close-on-exec sockets, and a loop with no handle left open at the end
 * of every test (uv_loop_close() == 0).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/curl_uv.h"
#include "scripts/stack/launch.h"

/* GET /bytes/N: N bytes "0123456789012…"; GET /slow: no answer for 60 s. */
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
    "    def log_message(self, *a):\n"
    "        pass\n"
    "ThreadingHTTPServer.daemon_threads = True\n"
    "ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n";

static srv_env_t *env;
static int port;

typedef struct xfer {
	CURL *easy;
	int calls;
	CURLcode result;
	long status;
	bool too_big, closed;
	char *body;
	size_t len;
	void (*then)(struct xfer *x); /* run from the callback */
} xfer_t;

static uv_loop_t loop;
static curl_uv_t *cu;

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
	return curl_uv_new(&loop, &cu) == 0 ? 0 : -1;
}

/* Closes the adapter, runs the loop dry: every handle must be closed. */
static int test_teardown(void **state)
{
	(void)state;
	curl_uv_close(cu);
	cu = NULL;
	uv_run(&loop, UV_RUN_DEFAULT);
	return uv_loop_close(&loop) == 0 ? 0 : -1;
}

static void on_done(void *ud, const curl_uv_done_t *d)
{
	xfer_t *x = ud;

	x->calls++;
	x->result = d->result;
	x->status = d->status;
	x->too_big = d->too_big;
	x->closed = d->closed;
	x->len = d->len;
	assert_int_equal(strlen(d->body), d->len);
	x->body = strdup(d->body);
	curl_easy_cleanup(x->easy); /* the contract allows it from here */
	x->easy = NULL;
	if (x->then)
		x->then(x);
}

static void start_url(xfer_t *x, const char *url, size_t max_body)
{
	x->easy = curl_easy_init();
	assert_non_null(x->easy);
	curl_easy_setopt(x->easy, CURLOPT_URL, url);
	assert_int_equal(curl_uv_add(cu, x->easy, max_body, on_done, x), 0);
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

static void assert_body(const xfer_t *x, size_t n)
{
	assert_int_equal(x->calls, 1);
	assert_int_equal(x->result, CURLE_OK);
	assert_int_equal(x->status, 200);
	assert_int_equal(x->len, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(x->body[i], '0' + (int)(i % 10));
}

static void xfers_free(xfer_t *x, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(x[i].body);
		curl_easy_cleanup(x[i].easy); /* NULL once its callback ran */
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
	assert_int_equal(curl_uv_running(cu), 5);
	run_until_done(x, 5);
	assert_int_equal(curl_uv_running(cu), 0);
	for (size_t i = 0; i < 5; i++)
		assert_body(&x[i], sizes[i]);
	/* a second round on the cached connections */
	xfers_free(x, 5);
	memset(x, 0, sizeof(x));
	start(&x[0], "/bytes/10", 10);
	start(&x[1], "/nothing", 10);
	run_until_done(x, 2);
	assert_body(&x[0], 10);
	assert_int_equal(x[1].result, CURLE_OK);
	assert_int_equal(x[1].status, 404);
	xfers_free(x, 2);
}

static void test_body_limit(void **state)
{
	xfer_t x[2] = {0};

	(void)state;
	start(&x[0], "/bytes/1000", 1000); /* at the limit */
	start(&x[1], "/bytes/1001", 1000); /* one past it */
	run_until_done(x, 2);
	assert_body(&x[0], 1000);
	assert_false(x[0].too_big);
	assert_int_equal(x[1].calls, 1);
	assert_true(x[1].too_big);
	assert_int_equal(x[1].result, CURLE_WRITE_ERROR);
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
	assert_int_equal(x.result, CURLE_COULDNT_CONNECT);
	assert_int_equal(x.status, 0);
	assert_int_equal(x.len, 0);
	/* ftp:// is refused before any connection: HTTP(S) only */
	xfers_free(&x, 1);
	memset(&x, 0, sizeof(x));
	start_url(&x, "ftp://127.0.0.1/", 10);
	run_until_done(&x, 1);
	assert_int_equal(x.result, CURLE_UNSUPPORTED_PROTOCOL);
	xfers_free(&x, 1);
}

static void test_remove(void **state)
{
	xfer_t x[2] = {0};

	(void)state;
	start(&x[0], "/slow", 10);
	start(&x[1], "/bytes/5", 10);
	curl_uv_remove(cu, x[0].easy);
	curl_uv_remove(cu, x[0].easy); /* not running any more: a no-op */
	assert_int_equal(curl_uv_running(cu), 1);
	run_until_done(&x[1], 1);
	assert_body(&x[1], 5);
	assert_int_equal(x[0].calls, 0);
	xfers_free(x, 2);
}

static xfer_t chain[3];

static void close_adapter(xfer_t *x)
{
	(void)x;
	curl_uv_close(cu); /* ends chain[2] (closed) at once */
	assert_int_equal(chain[2].calls, 1);
	assert_true(chain[2].closed);
	cu = NULL;
}

static void start_next(xfer_t *x)
{
	(void)x;
	start(&chain[1], "/bytes/7", 10);
	chain[1].then = close_adapter;
}

/* A callback starts a transfer; the next one closes the adapter while a
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

/* How many descriptors are TCP connections to the server (the adapter's,
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
	curl_uv_close(cu);
	cu = NULL;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(x[i].calls, 1);
		assert_true(x[i].closed);
	}
	xfers_free(x, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_answers, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_body_limit, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_refused, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_remove, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_callbacks_reenter, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_cloexec, test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_close_in_flight, test_setup, test_teardown),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
