/*
 * http_test: the one blocking HTTP client of the tests and the benches
 * (libcurl easy). One request at a time, the whole answer in memory, with
 * its status, header block and the body parsed as JSON when it is JSON;
 * ht_request_parallel() sends n copies of one request at once, for races.
 *
 * It is not the daemons' client (common/http_client is) and not a load
 * generator (bench/auth_bench.c drives its own curl multi handle for
 * keep-alive throughput). Raw-socket abuse tests (test_auth_abuse.c) send
 * bytes no client would and stay raw.
 */
#ifndef EIRC_TESTS_HARNESS_HTTP_TEST_H
#define EIRC_TESTS_HARNESS_HTTP_TEST_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* The response header block kept in ht_resp_t.headers; the rest is cut. */
#define HT_HEADERS_MAX 4096
/* A request's default time limit in seconds. */
#define HT_TIMEOUT_S 20
/* Most copies ht_request_parallel() sends at once. */
#define HT_PARALLEL_MAX 256

typedef struct ht_req {
	const char *method;         /* NULL: GET, or POST when body is set */
	const char *url;            /* "http://127.0.0.1:<port>/path" */
	const char *const *headers; /* NULL-terminated "Name: value", or NULL */
	const char *body;           /* NULL: none */
	size_t body_len;
	const char *cafile;  /* https: trust this CA (verified), or NULL */
	const char *userpwd; /* "id:secret" for Basic auth, or NULL */
	const char *source;  /* local address to send from ("127.0.0.2"), or NULL */
	const char *resolve; /* "name:port:address": the URL's name reaches that
			      * address, TLS still checks the name; or NULL */
	long timeout_s;      /* 0: HT_TIMEOUT_S */
} ht_req_t;

typedef struct ht_resp {
	long status; /* 0 when no HTTP answer came */
	char *body;  /* NUL-terminated, "" when none */
	size_t len;
	char headers[HT_HEADERS_MAX]; /* status line and headers as received */
	json_t *json;                 /* the body parsed as JSON, or NULL */
	char error[256];              /* why ht_request() failed, or "" */
} ht_resp_t;

/*
 * Sends one request and waits for the whole answer (paths are sent as
 * given, no "Expect: 100-continue"). Returns 0, or -EIO when no complete
 * answer came (the reason in out->error; status 0 unless a status line
 * came). Prints nothing: callers poll servers that are still starting.
 * *out is filled either way and must be released with ht_resp_free().
 */
int ht_request(const ht_req_t *req, ht_resp_t *out);
void ht_resp_free(ht_resp_t *r);

/* GET http://127.0.0.1:<port><path>: the status, 0 when no answer came.
 * With out_body, *out_body is the malloc'd body ("" when none, NULL only
 * when out of memory); the caller frees it. */
long ht_get(int port, const char *path, char **out_body);

/* s percent-encoded for a URL or a form field (malloc'd, free() it), or
 * NULL when out of memory. */
char *ht_escape(const char *s);

/* True when r's header block contains needle (case-insensitive). */
bool ht_has_header(const ht_resp_t *r, const char *needle);

/*
 * Sends n copies (1..HT_PARALLEL_MAX) of req at the same time, each on a
 * fresh connection, and waits for all; out_status[i] is each status (0: no
 * answer). Bodies are discarded. Returns 0 or -EINVAL for a bad n.
 */
int ht_request_parallel(const ht_req_t *req, size_t n, long *out_status);

#endif
