/*
 * http_test: the tests' blocking HTTP client on libcurl easy (see
 * http_test.h). Every request gets the same options, so a test that moves
 * from one helper to another sees the same client.
 */
#include "tests/harness/http_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

/* What one easy handle writes into, and the header list it sends. */
typedef struct ht_call {
	CURL *easy;
	struct curl_slist *hdrs;
	struct curl_slist *resolve;
	ht_resp_t *resp; /* NULL: body and headers discarded */
	size_t hlen;
} ht_call_t;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	ht_call_t *c = ud;
	size_t n = size * nmemb;
	char *nb;

	if (!c->resp)
		return n;
	if (!(nb = realloc(c->resp->body, c->resp->len + n + 1)))
		return 0;
	memcpy(nb + c->resp->len, ptr, n);
	c->resp->body = nb;
	c->resp->len += n;
	nb[c->resp->len] = '\0';
	return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	ht_call_t *c = ud;
	size_t n = size * nmemb;

	if (c->resp && c->hlen + n < sizeof(c->resp->headers)) {
		memcpy(c->resp->headers + c->hlen, ptr, n);
		c->hlen += n;
		c->resp->headers[c->hlen] = '\0';
	}
	return n;
}

static void call_free(ht_call_t *c)
{
	curl_slist_free_all(c->hdrs);
	curl_slist_free_all(c->resolve);
	curl_easy_cleanup(c->easy);
}

/* Sets every option of req on a new easy handle; 0 or -ENOMEM. */
static int call_init(ht_call_t *c, const ht_req_t *req, ht_resp_t *resp)
{
	const char *method = req->method ? req->method : req->body ? "POST" : "GET";

	memset(c, 0, sizeof(*c));
	c->resp = resp;
	if (!(c->easy = curl_easy_init()))
		return -ENOMEM;
	for (size_t i = 0; req->headers && req->headers[i]; i++)
		c->hdrs = curl_slist_append(c->hdrs, req->headers[i]);
	c->hdrs = curl_slist_append(c->hdrs, "Expect:");
	curl_easy_setopt(c->easy, CURLOPT_URL, req->url);
	curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c->easy, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c->easy, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT, req->timeout_s ? req->timeout_s : HT_TIMEOUT_S);
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->hdrs);
	if (req->cafile)
		curl_easy_setopt(c->easy, CURLOPT_CAINFO, req->cafile);
	if (req->userpwd)
		curl_easy_setopt(c->easy, CURLOPT_USERPWD, req->userpwd);
	if (req->resolve) {
		if (!(c->resolve = curl_slist_append(NULL, req->resolve)))
			return -ENOMEM;
		curl_easy_setopt(c->easy, CURLOPT_RESOLVE, c->resolve);
	}
	if (req->source) {
		char iface[80];
		snprintf(iface, sizeof(iface), "host!%s", req->source);
		curl_easy_setopt(c->easy, CURLOPT_INTERFACE, iface);
	}
	if (req->body) {
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
	}
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
	return 0;
}

int ht_request(const ht_req_t *req, ht_resp_t *out)
{
	ht_call_t c;
	CURLcode rc = CURLE_OUT_OF_MEMORY;

	memset(out, 0, sizeof(*out));
	if (call_init(&c, req, out) == 0) {
		rc = curl_easy_perform(c.easy);
		curl_easy_getinfo(c.easy, CURLINFO_RESPONSE_CODE, &out->status);
	}
	call_free(&c);
	if (!out->body)
		out->body = strdup("");
	out->json = out->len ? json_loads(out->body, 0, NULL) : NULL;
	if (rc != CURLE_OK)
		snprintf(out->error, sizeof(out->error), "%s", curl_easy_strerror(rc));
	return rc == CURLE_OK ? 0 : -EIO;
}

void ht_resp_free(ht_resp_t *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

long ht_get(int port, const char *path, char **out_body)
{
	char url[2048];
	ht_resp_t r;
	long status;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	ht_request(&(ht_req_t){.url = url}, &r);
	status = r.status;
	if (out_body) {
		*out_body = r.body;
		r.body = NULL;
	}
	ht_resp_free(&r);
	return status;
}

char *ht_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0), *out = e ? strdup(e) : NULL;

	curl_free(e);
	return out;
}

bool ht_has_header(const ht_resp_t *r, const char *needle)
{
	return strcasestr(r->headers, needle) != NULL;
}

int ht_request_parallel(const ht_req_t *req, size_t n, long *out_status)
{
	ht_call_t *calls;
	CURLM *m;
	CURLMsg *msg;
	int running = 0, left;

	if (n < 1 || n > HT_PARALLEL_MAX)
		return -EINVAL;
	if (!(calls = calloc(n, sizeof(*calls))) || !(m = curl_multi_init())) {
		free(calls);
		return -ENOMEM;
	}
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)n);
	for (size_t i = 0; i < n; i++) {
		out_status[i] = 0;
		if (call_init(&calls[i], req, NULL) < 0)
			continue;
		curl_easy_setopt(calls[i].easy, CURLOPT_FRESH_CONNECT, 1L);
		curl_multi_add_handle(m, calls[i].easy);
	}
	do {
		curl_multi_perform(m, &running);
		if (running)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	} while (running);
	while ((msg = curl_multi_info_read(m, &left))) {
		ht_call_t *c = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &c);
		if (msg->msg == CURLMSG_DONE && msg->data.result == CURLE_OK)
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE,
					  &out_status[c - calls]);
	}
	for (size_t i = 0; i < n; i++) {
		if (calls[i].easy)
			curl_multi_remove_handle(m, calls[i].easy);
		call_free(&calls[i]);
	}
	curl_multi_cleanup(m);
	free(calls);
	return 0;
}
