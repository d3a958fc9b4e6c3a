/*
 * The tests' HTTP client (tests/harness/http_test) against a small
 * raw-socket server forked here: status, body, JSON, the header block kept
 * up to HT_HEADERS_MAX and cut one past it, request headers, Basic auth and
 * a body with a NUL byte sent as given, no answer, and ht_request_parallel
 * at HT_PARALLEL_MAX copies and refused one past it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scripts/stack/launch.h"
#include "tests/harness/http_test.h"

static pid_t server;
static int port;

/* Reads one request (head and Content-Length body) into buf; its length. */
static size_t read_request(int fd, char *buf, size_t cap)
{
	size_t len = 0, want = 0;
	char *end = NULL;

	while (len + 1 < cap) {
		ssize_t r = read(fd, buf + len, cap - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			char *cl = strcasestr(buf, "\r\nContent-Length:");
			want = (size_t)(end + 4 - buf) +
			       (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (end && len >= want)
			break;
	}
	return len;
}

/* Answers one connection: /json, /pad/<header block length>, /echo. */
static void answer(int fd)
{
	static char req[16384], head[16384];
	size_t n = read_request(fd, req, sizeof(req)), total;
	const char *body = "x", *type = "text/plain";
	char pad[8192] = "";
	int hl;

	if (strncmp(req + strcspn(req, " ") + 1, "/json ", 6) == 0) {
		body = "{\"ok\":true}";
		type = "application/json";
	} else if (strncmp(req + strcspn(req, " ") + 1, "/echo ", 6) == 0) {
		body = req;
	}
	size_t blen = body == req ? n : strlen(body);
	hl = snprintf(head, sizeof(head),
		      "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		      "Connection: close\r\nX-Pad: ",
		      type, blen);
	if (sscanf(req, "GET /pad/%zu ", &total) == 1 && total > (size_t)hl + 4 &&
	    total - (size_t)hl - 4 < sizeof(pad)) {
		memset(pad, 'p', total - (size_t)hl - 4);
		pad[total - (size_t)hl - 4] = '\0';
	}
	hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "%s\r\n\r\n", pad);
	if (write(fd, head, (size_t)hl) != hl || write(fd, body, blen) != (ssize_t)blen)
		return;
}

static int setup(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	(void)state;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 2 * HT_PARALLEL_MAX) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0)
		return -1;
	port = ntohs(sa.sin_port);
	if ((server = fork()) < 0)
		return -1;
	if (server == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;) {
			int fd = accept(lfd, NULL, NULL);
			if (fd < 0)
				continue;
			answer(fd);
			close(fd);
		}
	}
	close(lfd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	return 0;
}

static void url_of(char *url, size_t cap, const char *path)
{
	snprintf(url, cap, "http://127.0.0.1:%d%s", port, path);
}

static void test_get_json(void **state)
{
	char url[128], *body = NULL;
	ht_resp_t r;

	(void)state;
	url_of(url, sizeof(url), "/json");
	assert_int_equal(ht_request(&(ht_req_t){.url = url}, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"ok\":true}");
	assert_int_equal(r.len, strlen("{\"ok\":true}"));
	assert_non_null(r.json);
	assert_true(json_is_true(json_object_get(r.json, "ok")));
	assert_true(ht_has_header(&r, "content-type: application/json"));
	assert_string_equal(r.error, "");
	ht_resp_free(&r);
	assert_int_equal(ht_get(port, "/json", &body), 200);
	assert_string_equal(body, "{\"ok\":true}");
	free(body);
	/* not JSON: no json, the body as it came */
	assert_int_equal(ht_get(port, "/pad/0", &body), 200);
	assert_string_equal(body, "x");
	free(body);
}

/* Method, headers, Basic auth and the body (a NUL inside) go as given;
 * no Expect: header. */
static void test_post_as_given(void **state)
{
	static const char *const h[] = {"X-Test: one", "Content-Type: application/x-test", NULL};
	char url[128];
	ht_resp_t r;

	(void)state;
	url_of(url, sizeof(url), "/echo");
	assert_int_equal(ht_request(&(ht_req_t){.method = "PUT",
						.url = url,
						.headers = h,
						.body = "a\0b",
						.body_len = 3,
						.userpwd = "id:secret"},
				    &r),
			 0);
	assert_int_equal(r.status, 200);
	assert_true(strncmp(r.body, "PUT /echo HTTP/1.1\r\n", 20) == 0);
	assert_non_null(strcasestr(r.body, "\r\nX-Test: one\r\n"));
	assert_non_null(strcasestr(r.body, "\r\nContent-Type: application/x-test\r\n"));
	assert_non_null(strcasestr(r.body, "\r\nContent-Length: 3\r\n"));
	assert_non_null(strcasestr(r.body, "\r\nAuthorization: Basic aWQ6c2VjcmV0\r\n"));
	assert_null(strcasestr(r.body, "\r\nExpect:"));
	assert_memory_equal(r.body + r.len - 3, "a\0b", 3);
	ht_resp_free(&r);
	/* a body without a method is a POST */
	assert_int_equal(ht_request(&(ht_req_t){.url = url, .body = "k=v", .body_len = 3}, &r), 0);
	assert_true(strncmp(r.body, "POST /echo HTTP/1.1\r\n", 21) == 0);
	ht_resp_free(&r);
}

/* A header block of HT_HEADERS_MAX - 1 bytes is kept whole (with its NUL
 * it fills headers[]); one byte more and its last line is cut. */
static void test_headers_limit(void **state)
{
	char url[128];
	ht_resp_t r;

	(void)state;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/pad/%d", port, HT_HEADERS_MAX - 1);
	assert_int_equal(ht_request(&(ht_req_t){.url = url}, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(strlen(r.headers), HT_HEADERS_MAX - 1);
	assert_string_equal(r.headers + HT_HEADERS_MAX - 6, "p\r\n\r\n");
	ht_resp_free(&r);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/pad/%d", port, HT_HEADERS_MAX);
	assert_int_equal(ht_request(&(ht_req_t){.url = url}, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(strlen(r.headers), HT_HEADERS_MAX - 2);
	assert_string_equal(r.headers + HT_HEADERS_MAX - 5, "p\r\n");
	assert_string_equal(r.body, "x");
	ht_resp_free(&r);
}

static void test_no_answer(void **state)
{
	int closed = srv_free_port();
	char url[128], *body = NULL;
	ht_resp_t r;

	(void)state;
	assert_true(closed > 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", closed);
	assert_int_equal(ht_request(&(ht_req_t){.url = url}, &r), -EIO);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.body, "");
	assert_null(r.json);
	assert_true(r.error[0] != '\0');
	ht_resp_free(&r);
	assert_int_equal(ht_get(closed, "/", &body), 0);
	assert_string_equal(body, "");
	free(body);
}

static void test_parallel_limits(void **state)
{
	static long st[HT_PARALLEL_MAX + 1];
	char url[128];
	ht_req_t req = {.url = url};

	(void)state;
	url_of(url, sizeof(url), "/json");
	assert_int_equal(ht_request_parallel(&req, 0, st), -EINVAL);
	assert_int_equal(ht_request_parallel(&req, HT_PARALLEL_MAX + 1, st), -EINVAL);
	assert_int_equal(ht_request_parallel(&req, HT_PARALLEL_MAX, st), 0);
	for (int i = 0; i < HT_PARALLEL_MAX; i++)
		assert_int_equal(st[i], 200);
	assert_int_equal(ht_request_parallel(&req, 1, st), 0);
	assert_int_equal(st[0], 200);
}

static void test_escape(void **state)
{
	char *e = ht_escape("a b&c/\xc3\xa9~");

	(void)state;
	assert_string_equal(e, "a%20b%26c%2F%C3%A9~");
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_json),        cmocka_unit_test(test_post_as_given),
		cmocka_unit_test(test_headers_limit),   cmocka_unit_test(test_no_answer),
		cmocka_unit_test(test_parallel_limits), cmocka_unit_test(test_escape),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
