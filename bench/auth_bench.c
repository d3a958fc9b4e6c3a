/*
 * auth_bench: chat-token issuance and consumption rate of a real eirc-auth
 * against a real PostgreSQL on loopback (both started here, stopped at the
 * end), with per-request latency percentiles.
 *
 *   build/bench/auth_bench [-n REQUESTS] [-c CONNECTIONS] [-p POOL_SIZE]
 *                          [-a ACCESS_REQUESTS] [-b SESSIONS]
 *
 * Phase 1 issues n chat tokens (POST /api/chat-token with a Bearer token)
 * over c keep-alive connections; phase 2 consumes each of them once
 * (POST /internal/chat-token/consume) over c connections; phase 3 makes a
 * access checks (POST /internal/access, the gateway's recheck) of b
 * sessions each (default 200 of 1000, the endpoint's limit), over c
 * connections, the sessions spread over 100 users with a private room
 * each. Each phase prints requests/s and p50/p90/p99/max latency in
 * milliseconds. Every answer must be 200, or the run fails: a benchmark
 * of errors measures nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "tests/integration/auth_fixture.h"

typedef struct slot {
	CURL *easy;
	char body[256];
	char resp[512];
	size_t resp_len;
	double started;
	size_t index;
} slot_t;

typedef struct run {
	const char *url;
	const char *body; /* the same body for every request; NULL: per slot */
	struct curl_slist *headers;
	char **tokens; /* phase 2 input / phase 1 output */
	bool issue;
	size_t n, next, done, errors;
	double *lat;
} run_t;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static size_t on_write(char *p, size_t sz, size_t nm, void *ud)
{
	slot_t *s = ud;
	size_t n = sz * nm;

	if (s->resp_len + n < sizeof(s->resp)) {
		memcpy(s->resp + s->resp_len, p, n);
		s->resp_len += n;
		s->resp[s->resp_len] = '\0';
	}
	return n;
}

static void slot_start(CURLM *m, run_t *r, slot_t *s)
{
	s->index = r->next++;
	s->resp_len = 0;
	s->resp[0] = '\0';
	if (r->issue || r->body)
		s->body[0] = '\0';
	else
		snprintf(s->body, sizeof(s->body),
			 "{\"chat_token\":\"%s\","
			 "\"client_ip\":\"127.0.0.1\",\"request_id\":\"b%zu\"}",
			 r->tokens[s->index], s->index);
	curl_easy_setopt(s->easy, CURLOPT_URL, r->url);
	curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, r->body ? r->body : s->body);
	curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
	s->started = now_ms();
	curl_multi_add_handle(m, s->easy);
}

static void slot_finish(CURLM *m, run_t *r, slot_t *s)
{
	long st = 0;

	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &st);
	r->lat[s->index] = now_ms() - s->started;
	curl_multi_remove_handle(m, s->easy);
	if (st != 200) {
		r->errors++;
	} else if (r->issue) {
		json_t *j = json_loads(s->resp, 0, NULL);
		r->tokens[s->index] = strdup(json_string_value(json_object_get(j, "chat_token")));
		json_decref(j);
	}
	r->done++;
	if (r->next < r->n)
		slot_start(m, r, s);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *name, run_t *r, double ms)
{
	qsort(r->lat, r->n, sizeof(double), cmp_double);
	printf("%-8s %zu requests in %.0f ms: %.0f/s  latency ms p50 %.2f  "
	       "p90 %.2f  p99 %.2f  max %.2f  errors %zu\n",
	       name, r->n, ms, (double)r->n * 1000.0 / ms, r->lat[r->n / 2],
	       r->lat[r->n * 90 / 100], r->lat[r->n * 99 / 100], r->lat[r->n - 1], r->errors);
}

static int run_phase(const char *name, run_t *r, size_t conns)
{
	CURLM *m = curl_multi_init();
	slot_t *slots = calloc(conns, sizeof(slot_t));
	double t0 = now_ms();
	int running;

	r->lat = calloc(r->n, sizeof(double));
	curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conns);
	for (size_t i = 0; i < conns && r->next < r->n; i++) {
		slots[i].easy = curl_easy_init();
		slot_start(m, r, &slots[i]);
	}
	while (r->done < r->n) {
		CURLMsg *msg;
		int left;
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left))) {
			slot_t *s;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &s);
			slot_finish(m, r, s);
		}
		if (r->done < r->n)
			curl_multi_poll(m, NULL, 0, 50, NULL);
	}
	report(name, r, now_ms() - t0);
	for (size_t i = 0; i < conns; i++)
		curl_easy_cleanup(slots[i].easy);
	free(slots);
	free(r->lat);
	curl_multi_cleanup(m);
	return r->errors ? -1 : 0;
}

#define ACCESS_USERS 100

/* Phase 3: 100 users, each in a private room of its own, and a body of b
 * sessions spread over them. */
static int bench_access(fx_t *fx, size_t a, size_t b, size_t conns)
{
	run_t access = {.n = a};
	char url[128], *body, *p;
	long long first;
	int rc;

	if (fx_sql(fx, "INSERT INTO users (nick, nick_folded)"
		       " SELECT 'acc' || i, 'acc' || i FROM generate_series(1, 100) i") < 0 ||
	    fx_sql(fx, "INSERT INTO rooms (name, name_folded, private)"
		       " SELECT '#private-' || i, '#private-' || i, true"
		       " FROM generate_series(1, 100) i") < 0 ||
	    fx_sql(fx, "INSERT INTO room_members (room_id, user_id) SELECT r.id, u.id"
		       " FROM rooms r JOIN users u ON r.name = '#private-' || substr(u.nick, 4)"
		       " WHERE u.nick LIKE 'acc%'") < 0 ||
	    (first = fx_sql_int(fx, "SELECT min(id) FROM users WHERE nick LIKE 'acc%'")) < 0)
		return -1;
	body = malloc(32 + b * 48);
	if (!body)
		return -1;
	p = body + sprintf(body, "{\"sessions\":[");
	for (size_t i = 0; i < b; i++)
		p += sprintf(p, "%s{\"user_id\":%lld,\"family\":%zu}", i ? "," : "",
			     first + (long long)(i % ACCESS_USERS), i);
	sprintf(p, "]}");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/internal/access", fx->iport);
	access.url = url;
	access.body = body;
	access.headers = curl_slist_append(NULL, "Content-Type: application/json");
	access.headers = curl_slist_append(access.headers, "Authorization: Bearer " FX_SECRET);
	rc = run_phase("access", &access, conns < a ? conns : a);
	curl_slist_free_all(access.headers);
	free(body);
	return rc;
}

static int bench(fx_t *fx, size_t n, size_t conns)
{
	char url[128], auth[128];
	ht_resp_t login;
	run_t issue = {.issue = true, .n = n}, consume = {.n = n};
	int rc;

	if (fx_cli(fx, FX_PASSWORD, NULL, 0, "user", "add", "bench", "--password-env", "PW",
		   NULL) != 0 ||
	    fx_login(fx, "bench", FX_PASSWORD, &login) < 0 || login.status != 200)
		return -1;
	issue.tokens = calloc(n, sizeof(char *));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/chat-token", fx->port);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		 json_string_value(json_object_get(login.json, "access_token")));
	issue.url = url;
	issue.headers = curl_slist_append(NULL, auth);
	rc = run_phase("issue", &issue, conns);
	curl_slist_free_all(issue.headers);
	ht_resp_free(&login);
	if (rc < 0)
		return rc;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/internal/chat-token/consume", fx->iport);
	consume.url = url;
	consume.tokens = issue.tokens;
	consume.headers = curl_slist_append(NULL, "Content-Type: application/json");
	consume.headers = curl_slist_append(consume.headers, "Authorization: Bearer " FX_SECRET);
	rc = run_phase("consume", &consume, conns);
	curl_slist_free_all(consume.headers);
	for (size_t i = 0; i < n; i++)
		free(issue.tokens[i]);
	free(issue.tokens);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned long n = 20000, conns = 32, pool = 4, access = 200, sessions = 1000;
	char extra[128];
	fx_t fx;
	int c, rc;

	while ((c = getopt(argc, argv, "n:c:p:a:b:")) != -1) {
		char *end;
		unsigned long v;
		errno = 0;
		v = strtoul(optarg, &end, 10);
		if (errno || *end || v == 0 || v > 10000000) {
			fprintf(stderr, "auth_bench: bad number %s\n", optarg);
			return 2;
		}
		if (c == 'n')
			n = v;
		else if (c == 'c')
			conns = v;
		else if (c == 'p')
			pool = v;
		else if (c == 'a')
			access = v;
		else if (c == 'b' && v <= 1000)
			sessions = v;
		else
			return 2;
	}
	if (conns > n)
		conns = n;
	snprintf(extra, sizeof(extra), "  login_attempts_per_ip: 100000\n");
	if (fx_start(&fx, extra) < 0) {
		fprintf(stderr, "auth_bench: cannot start PostgreSQL and eirc-auth\n");
		fx_stop(&fx);
		return 1;
	}
	if (pool != 4) {
		char sql[700];
		/* pool size is in the config: rewrite it and restart the daemon */
		snprintf(sql, sizeof(sql), "sed -i 's/pool_size: 4/pool_size: %lu/' '%s'", pool,
			 fx.config);
		if (system(sql) != 0 || fx_stop_daemon(&fx) != 0 || fx_start_daemon(&fx) < 0)
			return 1;
	}
	printf("eirc-auth bench: %lu requests, %lu connections, pool_size %lu, "
	       "PostgreSQL on loopback (fsync off)\n",
	       n, conns, pool);
	rc = bench(&fx, n, conns);
	if (rc == 0) {
		printf("access   %lu sessions per request\n", sessions);
		rc = bench_access(&fx, access, sessions, conns);
	}
	return fx_stop(&fx) == 0 && rc == 0 ? 0 : 1;
}
