/*
 * hist_http_int: what the parts of the HTTP API share and nothing else
 * includes: one request (hreq_t) and its answer, between hist_http.c
 * (lws glue, bearer tokens, introspection cache, rate limit) and
 * hist_http_msgs.c (GET /v1/rooms/{room}/messages).
 *
 * Lifetime of a request: created at LWS_CALLBACK_HTTP, in h->reqs. It is
 * answered once (hreq_answer*: timer closed, writable asked for); freed
 * when its connection is done with it (wsi NULL), no Redis or HTTP call
 * for it is pending and its timer is closed. After hist_http_close() no
 * introspection or Elasticsearch callback comes (http_client_close and
 * archive_es_close): hist_http_free() frees what is left.
 */
#ifndef EIRC_HIST_HTTP_INT_H
#define EIRC_HIST_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include <jansson.h>

#include "archive/archive_es.h"
#include "common/queue.h"
#include "history-bridge/hist_api.h"
#include "history-bridge/hist_app.h"
#include "history-bridge/hist_http.h"
#include "history-bridge/hist_metrics.h"
#include "history-bridge/hist_req.h"

struct lws;

typedef struct hreq hreq_t;
struct hreq {
	hist_http_t *h;
	queue_t node;    /* in the hist_http's requests */
	struct lws *wsi; /* NULL once the connection is done with us */
	uv_timer_t timer;
	bool timer_closing, timer_closed;
	unsigned pending; /* Redis or introspection calls awaited */
	bool answered, headers_sent;
	enum hroute route;
	uint64_t started_ms;
	char token[HIST_API_TOKEN_MAX + 1];
	char form[3 * HIST_API_TOKEN_MAX + 8]; /* the introspection body */
	json_t *intro;                         /* the introspection answer */
	uint64_t forget_gen;                   /* hist_http's forget_gen when introspection began */
	/* GET .../messages */
	char room[CHATHIST_TARGET_MAX + 1];
	char before[HIST_API_PARAM_MAX + 1], after[HIST_API_PARAM_MAX + 1];
	char around[HIST_API_PARAM_MAX + 1];
	uint32_t limit;
	hist_req_t req;
	bool tried_eval;
	/* GET /v1/search and /v1/export */
	char q[HIST_API_PARAM_MAX + 1], from[HIST_API_PARAM_MAX + 1];
	int64_t t_after, t_before; /* ms; -1 when not given */
	bool csv;
	char pit[1024];       /* the export's point in time, "" before */
	json_t *search_after; /* the last hit's sort values */
	uint64_t rows;        /* exported so far */
	bool stream_done;     /* the last page is in out */
	bool page_pending;    /* an Elasticsearch page is being fetched */
	char *req_body;       /* the Elasticsearch request in flight */
	char *audit_form;     /* the audit request in flight */
	/* the answer; a stream (export) sends out[] in chunks */
	bool stream, stream_abort;
	const char *ctype;
	char *out;
	size_t out_len;
	/* the answer */
	int status;
	char *body;
	size_t body_len;
	char www_auth[160];
	unsigned retry_after;
};

/* hist_http.c */
hist_app_t *hist_http_app(const hist_http_t *h);
/* Answers q with body (stolen; NULL: no body) as application/json. */
void hreq_answer_json(hreq_t *q, int status, json_t *body);
/* Answers q with {"error":code,"error_description":desc}. */
void hreq_answer_error(hreq_t *q, int status, const char *code, const char *desc);
/* 503 {"error":"temporarily_unavailable"}. */
void hreq_unavailable(hreq_t *q, const char *desc);
/* A reply for q came: counts it out; false when q is answered already (it
 * may have been freed then: do not touch it). */
bool hreq_reply_enter(hreq_t *q);
/* Copies query parameter name ("before=") into out (cap bytes); the
 * first one when it repeats. false when it is longer than cap - 1, or
 * when any parameter's "name=value" is longer than HIST_API_PARAM_MAX + 62
 * (it cannot be read, so it cannot be told apart). out is "" when absent. */
bool hreq_param(hreq_t *q, const char *name, char *out, size_t cap);

/* The Elasticsearch client, NULL when elasticsearch.urls is empty. */
archive_es_t *hist_http_es(const hist_http_t *h);
/* Starts a streamed 200 answer of ctype (chunked); the timer stops. */
void hreq_stream_start(hreq_t *q, const char *ctype);
/* Asks for a writable callback (more of the stream is in q->out). */
void hreq_stream_kick(hreq_t *q);

/* Writes the export's audit row at eirc-auth (POST /oauth/audit), then
 * hist_es_export_audited(); 503 when it cannot be written. */
void hist_http_audit(hreq_t *q);
/* A reply for a streaming q came: counts it out; false when the client is
 * gone (q may have been freed: do not touch it). */
bool hreq_stream_enter(hreq_t *q);

/* hist_http_es.c */
/* The audit row is written: the export starts. */
void hist_es_export_audited(hreq_t *q);
/* Reads the search or export parameters; false when answered (400). */
bool hist_es_parse(hreq_t *q);
/* Answers an authenticated search or export request. */
void hist_es_run(hreq_t *q);
/* The stream was written out: fetches the next export page. */
void hist_es_more(hreq_t *q);

/* hist_http_msgs.c */
/* Reads the messages request's parameters; false when answered (400). */
bool hist_msgs_parse(hreq_t *q, const char *room, size_t room_len);
/* Authorises and answers an authenticated messages request. */
void hist_msgs_run(hreq_t *q);

#endif
