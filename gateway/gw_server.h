/*
 * gw_server: the eirc-gateway daemon on one libuv loop: libwebsockets
 * listeners (common/http_server, gw_http), the consume client (gw_auth), the session table
 * (gw_session), the relays (gw_relay), the metrics, the slow-reader sweep
 * and the graceful shutdown.
 *
 * Lifecycle: gw_server_new() → gw_server_listen() → uv_run() until
 * gw_server_shutdown() (SIGTERM/SIGINT, through common/daemon) has drained,
 * ended every session and closed every handle → gw_server_free() →
 * uv_loop_close().
 *
 * Readiness (GET /readyz, gw_server_not_ready): not draining, and
 * eirc-auth, which every new session needs, ready itself: its /readyz on
 * the internal listener is asked every GW_READY_PROBE_MS.
 */
#ifndef EIRC_GW_SERVER_H
#define EIRC_GW_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <libwebsockets.h>
#include <uv.h>

#include "common/err.h"
#include "common/http_server.h"
#include "common/net_addr.h"
#include "config/config.h"
#include "gateway/gw_access.h"
#include "gateway/gw_auth.h"
#include "gateway/gw_bus.h"
#include "gateway/gw_metrics.h"
#include "gateway/gw_session.h"
#include "gateway/gw_spawn.h"
#include "gateway/gw_upgrade.h"

/* Bytes waiting to be written to one irc-client above which the browser
 * is not read any more (lws_rx_flow_control), resumed below half. */
#define GW_TO_IRC_QUEUE_MAX (64 * 1024)
/* Period of the readiness probe of eirc-auth (GET /readyz), ms. */
#define GW_READY_PROBE_MS 2000
/* Bytes of the probe's answer kept (its JSON is a few dozen). */
#define GW_READY_ANSWER_MAX 4096
/* Period of the slow-reader sweep, ms. */
#define GW_SWEEP_MS 250
/* Bytes read from a socketpair at once. */
#define GW_READ_MAX (64 * 1024)
/* Descriptors one session holds: its WebSocket, and its connection to
 * eirc-auth while its consume runs, then its socketpair end. */
#define GW_FDS_PER_SESSION 2
/* Descriptors kept free beyond the sessions' and those open at start:
 * libcurl's idle connections to eirc-auth (GW_AUTH_POOL_MAX, consumes and
 * access checks alike: gw_auth_post), the access bus's Redis
 * connection (gw_bus; it may open after the start), and 32 for
 * connections still sending their headers, /metrics and /healthz, and the
 * child's socketpair end during a spawn. */
#define GW_FD_RESERVE (GW_AUTH_POOL_MAX + 1 + 32)

typedef struct gw_server {
	uv_loop_t *loop;
	const eirc_config_t *cfg;
	http_server_t *http;
	lws_retry_bo_t retry;
	gw_auth_t *auth;
	gw_access_t *access; /* access checks of live sessions */
	gw_bus_t *bus;       /* the access bus: events and resyncs to access */
	gw_spawn_cfg_t spawn;
	gw_metrics_t metrics;
	gw_table_t table;
	net_cidr_t *trusted;
	size_t n_trusted;
	long fd_base;  /* descriptors open once listening */
	char gw_id[9]; /* random per start, prefix of request ids */
	uint64_t counter;
	uv_timer_t sweep, grace, drain, probe;
	http_client_xfer_t *probe_xfer; /* the readiness probe in flight */
	bool auth_checked;              /* the probe answered once */
	bool auth_ready;                /* its last answer was 200 */
	bool shutting_down;             /* draining: /readyz 503, no new sessions */
	bool drained;                   /* sessions closed 1012 after the drain */
	bool grace_over;                /* children were sent SIGKILL */
	bool finished;                  /* handles closing, HTTP server closed */
	char read_buf[GW_READ_MAX];
} gw_server_t;

/*
 * Creates the server on loop (lws context, auth client, timers). cfg was
 * loaded from config_path; with self_exe they resolve the irc-client and
 * its config. Returns 0 and *out, or a negative errno with a message in
 * out_err.
 */
int gw_server_new(uv_loop_t *loop, const eirc_config_t *cfg, const char *config_path,
		  const char *self_exe, gw_server_t **out, eirc_err_t *out_err);

/* Opens the listeners; logs "listening on ADDR:PORT". 0 or -EADDRINUSE. */
int gw_server_listen(gw_server_t *s);

/*
 * Starts the graceful shutdown (see docs/gateway.md): with drain, /readyz
 * answers 503 and new upgrades are refused for gateway.drain_seconds
 * while sessions go on, then every session gets "ERROR :Closing link:
 * server restarting" and close 1012; without (a failed start), that at
 * once. uv_run returns once it is done. A second call does nothing.
 */
void gw_server_shutdown(gw_server_t *s, bool drain);

/* Why the gateway should get no new session now ("draining", "eirc-auth
 * not ready", "eirc-auth not checked yet"), or NULL when it is ready. */
const char *gw_server_not_ready(const gw_server_t *s);

/*
 * `systemctl reload` (SIGHUP, common/daemon) with cfg, the config file
 * loaded again without error: the irc-clients of new sessions get its
 * text (fd 5) and ${NAME} values (fd 4); running sessions and the
 * gateway's own settings keep the ones of its start. Returns 0, or a
 * negative errno with the reason in out_err (nothing changed).
 */
int gw_server_reload_sessions(gw_server_t *s, const eirc_config_t *cfg, const char *self_exe,
			      eirc_err_t *out_err);

/* Frees what is left after uv_run returned. NULL is a no-op. */
void gw_server_free(gw_server_t *s);

/*
 * True when one more session fits under the descriptor limit (the soft
 * RLIMIT_NOFILE, read at each call): fd_base + GW_FD_RESERVE + (sessions
 * + 1) * GW_FDS_PER_SESSION <= limit.
 */
bool gw_server_fd_room(const gw_server_t *s);

/* Internal, between the gateway's modules. */
uint64_t gw_server_now(const gw_server_t *s);
void gw_server_session_check_free(gw_session_t *ss);
void gw_server_maybe_finish(gw_server_t *s);

#endif
