/*
 * hist_server: what the parts of eirc-history share, and nothing else
 * includes: the daemon's state (hist_app.c: loop, Redis, listener,
 * signals), a connection of an irc-client (hist_conn.c: its peer checked,
 * bound to one user by EIRC HELLO, lines in, answers out, one request at
 * a time), the CHATHISTORY answers (hist_chathist.c)
 * and the direct-message store (hist_dmstore.c).
 *
 * Lifetimes: a connection is freed when its handle is closed and no Redis
 * reply for it is awaited (inflight == 0); every reply callback starts with
 * hist_conn_reply_enter(). After redis_close() no reply comes, so the
 * stop path sets inflight to 0 before closing the connections.
 */
#ifndef EIRC_HIST_SERVER_INT_H
#define EIRC_HIST_SERVER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include <hiredis/hiredis.h>

#include "archive/archive_keys.h"
#include "common/buf.h"
#include "common/irc_line.h"
#include "common/queue.h"
#include "common/redis.h"
#include "common/redis_sub.h"
#include "config/config.h"
#include "history-bridge/hist_app.h"
#include "history-bridge/hist_dm.h"
#include "history-bridge/hist_http.h"
#include "history-bridge/hist_metrics.h"
#include "history-bridge/hist_req.h"

/* Bytes one read takes: bounds how far a read can fill the queue past
 * HIST_CONN_QUEUE_MAX. */
#define HIST_READ_CHUNK 4096

struct hist_app {
	const eirc_config_t *cfg;
	uv_loop_t *loop;
	redis_t *redis;
	hist_http_t *http;   /* the HTTP API (hist_http.h), NULL when off */
	redis_sub_t *access; /* the access bus, with the HTTP API only */
	bool access_up;      /* subscribed since the last loss was logged */
	char sha[48];        /* the query script's SHA1, "" until loaded */
	uv_pipe_t listener;
	bool listening;
	uid_t peer_uids[2]; /* who may connect: irc_client.sandbox_user, our euid */
	queue_t conns;      /* hist_conn_t, by node */
	size_t n_conns;
	queue_t dms; /* struct dm_pending: reports waiting for a receiver's id */
	unsigned batch_seq;
	/* integrity.signing_key's MAC key (tlog_mac_key): the direct messages
	 * are archived with their "mac" as eirc-logger's events are */
	uint8_t mac_key[32];
	bool has_mac_key;
	hist_metrics_t metrics; /* GET /metrics of the HTTP API */
	bool stopping;
	bool failed; /* stopped on a Redis it refuses: exit status 1 */
};

typedef struct qline qline_t;
struct qline {
	queue_t node; /* on hist_conn's lines */
	size_t len;
	char text[];
};

typedef struct hist_conn hist_conn_t;
struct hist_conn {
	hist_app_t *app;
	uv_pipe_t pipe;
	pid_t peer_pid; /* SO_PEERCRED: the ticket is checked against it */
	bool bound;     /* a valid EIRC HELLO: every line is user_id's */
	uint64_t user_id;
	irc_line_t lf;
	queue_t lines; /* qline_t: read, not answered yet */
	size_t q_len;
	bool reading, closing, closed, tried_eval;
	unsigned inflight;       /* Redis replies awaited */
	struct targets *targets; /* a TARGETS request being gathered */
	hist_req_t req;
	char conv[64]; /* a direct-message request's "dm:<lo>:<hi>" */
	int fast_step; /* hist_chathist.c's script-free path */
	bool fast_failed, fast_ref_ok;
	char fast_key[ARCHIVE_KEYS_KEY_MAX]; /* the history stream */
	buf_t out;    /* the answer being built (bounded by the request's limit) */
	queue_t node; /* on hist_app's conns */
};

/* hist_app.c: (re)loads the query script; its SHA1 lands in a->sha. */
void hist_app_load_script(hist_app_t *a);

/* hist_conn.c */
/* The listener's connection callback. */
void hist_conn_accept(uv_stream_t *listener, int status);
/* Closes c (idempotent); freed once no reply is awaited. */
void hist_conn_close(hist_conn_t *c);
/* Every reply callback first: counts the reply in; false when c is gone
 * or going (then it may have been freed: do not touch it). */
bool hist_conn_reply_enter(hist_conn_t *c);
/* Answers queued lines while none is in Redis; reads while there is room. */
void hist_conn_pump(hist_conn_t *c);
/* Appends a line (CRLF added) to the answer being built: 0 or -ENOMEM. */
int hist_conn_out_add(hist_conn_t *c, const char *p, size_t n);
int hist_conn_out_addf(hist_conn_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sends the answer built, then "EIRC DONE <label>"; closes c on failure. */
void hist_conn_out_flush(hist_conn_t *c, const char *label);
/* Answers c->req with one FAIL CHATHISTORY line and EIRC DONE. */
void hist_conn_fail(hist_conn_t *c, const char *code, const char *text);

/* hist_chathist.c: answers c->req (parsed); the answer is sent now, or
 * from a reply callback (c->inflight > 0 meanwhile). */
void hist_chathist_request(hist_conn_t *c);

/* hist_dmstore.c */
/* Stores one report (nothing is answered). */
void hist_dmstore_report(hist_app_t *a, const hist_dm_t *dm);
/* Frees the reports still waiting for a lookup (after redis_close). */
void hist_dmstore_drop_pending(hist_app_t *a);
/* A Redis string holding a user id > 0: 0 and *out, or -ENOENT. */
int hist_redis_id(const redisReply *r, uint64_t *out);

#endif
