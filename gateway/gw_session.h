/*
 * gw_session: one browser session (a WebSocket, the consume in flight,
 * the irc-client process and its socketpair, the queue towards the
 * browser) and the table that holds them: keyed by request id, with the
 * count of sessions per client address for the limits.
 *
 * A session is counted in the limits from the moment its upgrade passed
 * the synchronous checks until it is freed, that is until its WebSocket
 * is gone, its consume is finished or cancelled, and its child reaped.
 * The table is pure bookkeeping (no I/O); the I/O on a session is in
 * gw_relay and gw_http.
 */
#ifndef EIRC_GW_SESSION_H
#define EIRC_GW_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "common/irc_line.h"
#include "common/net_addr.h"
#include "common/queue.h"
#include "gateway/gw_auth.h"
#include "gateway/gw_frame.h"
#include "gateway/gw_upgrade.h"

/* Buckets of the request-id and address hash tables (power of two). */
#define GW_TABLE_BUCKETS 4096
/* Longest request id: "<gateway id>-<counter>". */
#define GW_REQUEST_ID_MAX 40
/* Close reasons are at most 123 bytes (RFC 6455). */
#define GW_CLOSE_REASON_MAX 123

struct lws;
typedef struct gw_server gw_server_t;

typedef enum gw_session_state {
	GW_SS_UPGRADING, /* checks passed, WebSocket not yet established */
	GW_SS_CONSUMING, /* established, the consume is in flight */
	GW_SS_RELAYING,  /* child running, lines flow */
	GW_SS_ENDING,    /* closing: no more lines either way */
} gw_session_state_t;

/* One message queued towards the browser (LWS_PRE bytes before data). */
typedef struct gw_msg {
	queue_t node; /* on the session's queue (q) */
	size_t len;
	unsigned char buf[]; /* LWS_PRE + len */
} gw_msg_t;

typedef struct gw_session {
	gw_server_t *srv;
	queue_t id_node;  /* on its request-id bucket */
	queue_t all_node; /* on gw_table's all: every session, for sweeps */
	char request_id[GW_REQUEST_ID_MAX + 1];
	char client_ip[NET_IP_MAX];
	char nick[GW_AUTH_NICK_MAX + 1];
	char token[GW_TOKEN_MAX + 1]; /* until the consume starts */
	gw_session_state_t state;
	bool binary;         /* binary.ircv3.net */
	struct lws *wsi;     /* NULL once the WebSocket is gone */
	bool opened;         /* counted in sessions_open */
	gw_auth_req_t *auth; /* consume in flight */
	uint64_t consume_at; /* loop time the consume was sent */
	/* access (gw_access): set while relaying */
	uint64_t user_id, family;
	queue_t user_node; /* on its user bucket of gw_access */
	bool access_tracked, access_due;
	/* child */
	uv_process_t proc;
	bool proc_open, child_running;
	uv_pipe_t pipe;
	bool pipe_open, reading, irc_eof;
	uint64_t pipe_closed_at; /* loop time the socketpair was closed */
	int signals_sent;        /* 0, then SIGTERM (1), SIGKILL (2) */
	/* towards the browser */
	queue_t q; /* gw_msg_t, oldest first */
	size_t q_bytes;
	uint64_t above_since; /* loop time it crossed the watermark; 0 below */
	/* towards the irc-client */
	bool rx_paused; /* lws_rx_flow_control off for the pipe */
	char *early;    /* lines sent while the consume ran */
	size_t early_len;
	int early_lines;
	/* close */
	bool close_pending;
	int close_code;
	char close_reason[GW_CLOSE_REASON_MAX + 1];
	/* The two line buffers last: gw_session_new() does not clear them, so
	 * an idle session touches only the pages it uses. */
	irc_line_t from_irc; /* lines from the irc-client */
	gw_frame_t frame;    /* the browser message being assembled */
} gw_session_t;

/*
 * Allocates a session with every field zeroed except the contents of the
 * two line buffers (initialised empty) and its lists (initialised empty).
 * NULL when out of memory.
 */
gw_session_t *gw_session_new(void);

typedef struct gw_ipcount {
	queue_t node; /* on its address bucket */
	int count;
	char ip[NET_IP_MAX];
} gw_ipcount_t;

typedef struct gw_table {
	queue_t by_id[GW_TABLE_BUCKETS]; /* gw_session_t by id_node */
	queue_t by_ip[GW_TABLE_BUCKETS]; /* gw_ipcount_t */
	queue_t all;                     /* gw_session_t by all_node, newest first */
	int count;
} gw_table_t;

/* The session of a node of gw_table's all (QUEUE_FOREACH over &t->all). */
#define gw_table_session(q) queue_data((q), gw_session_t, all_node)

void gw_table_init(gw_table_t *t);

/* Sessions from the address ip now. */
int gw_table_ip_count(const gw_table_t *t, const char *ip);

/*
 * Adds s (request_id and client_ip set) to the table and counts it for
 * its address. Returns 0, -EEXIST (same request id), or -ENOMEM.
 */
int gw_table_add(gw_table_t *t, gw_session_t *s);

/* Removes s and uncounts it. s must be in the table. */
void gw_table_remove(gw_table_t *t, gw_session_t *s);

/* The session with this request id, or NULL. */
gw_session_t *gw_table_find(const gw_table_t *t, const char *request_id);

#endif
