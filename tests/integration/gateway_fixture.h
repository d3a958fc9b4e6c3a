/*
 * gateway_fixture: everything eirc-gateway needs, real and on loopback, for
 * the gateway integration tests: PostgreSQL and eirc-auth (auth_fixture),
 * InspIRCd with WEBIRC (tests/harness), and eirc-gateway itself from the
 * build tree, started through srv_process_start() (ready when /healthz
 * answers 200) with a config generated in the environment's folder.
 * Helpers: users and chat tokens, a session opened as a browser would
 * (Origin allowed, a fresh token), /metrics values, and the gateway's
 * irc-client children found in /proc.
 *
 * Test tooling for cmocka tests; failures fail the running test.
 */
#ifndef EIRC_TESTS_GATEWAY_FIXTURE_H
#define EIRC_TESTS_GATEWAY_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "tests/harness/irc_testclient.h"
#include "scripts/stack/launch.h"
#include "tests/harness/ws_client.h"
#include "tests/integration/auth_fixture.h"

#define GWFX_ORIGIN          "http://chat.test"
#define GWFX_WEBIRC_PASSWORD "webirc-gateway-test"
/* The config holds no secret: ${EIRC_WEBIRC_PASSWORD} (GWFX_WEBIRC_PASSWORD),
 * ${EIRC_INTERNAL_SECRET} (FX_SECRET) and
 * ${EIRC_HISTORY_CLIENT_SECRET} (this), set in the environment by
 * gwfx_start_with(), as a deployment does. */
#define GWFX_HISTORY_SECRET "history-client-secret-for-tests"
/* Longest WebSocket message the gateway relays: one IRC line of 8191 bytes
 * of tags + 512 of message, CRLF included (IRC_LINE_MAX), without its CRLF. */
#define GWFX_LINE_MAX     (IRC_LINE_MAX - 2)
#define GWFX_MAX_USERS    16
#define GWFX_MAX_CHILDREN 4096

typedef struct gwfx {
	fx_t auth; /* PostgreSQL + eirc-auth; auth.env holds everything */
	srv_t *ircd;
	srv_t *gw;            /* eirc-gateway, NULL when stopped */
	int port;             /* gateway listener */
	char config[600];     /* the gateway's eirc.yaml */
	char url[160];        /* ws://127.0.0.1:<port>/chat */
	char irc_client[600]; /* path of eirc-irc-client */
	char logs[8][700];    /* log of every gateway started, for grepping */
	size_t n_logs;
	char users[GWFX_MAX_USERS][32];
	char *access[GWFX_MAX_USERS]; /* access token per user */
	size_t n_users;
	ws_client_t *open[64]; /* sessions to close when a test fails midway */
	char *issued[256];     /* the first chat tokens gwfx_token gave out */
	size_t n_issued;
	/* Set by gwfx_start_with() (zero otherwise: gwfx_start's behaviour). */
	struct gwfx *base;        /* shares base's PostgreSQL, eirc-auth, users */
	char name[32];            /* of the gateway process and its log */
	char irc_servers[1024];   /* items of irc.servers; "": g->ircd */
	char history_socket[108]; /* history.socket_path; "": null */
	char run_as[32];          /* user the gateway runs as; "": the test's */
	unsigned n_shared;        /* gateways started with this one as base */
} gwfx_t;

/* What gwfx_start_with() starts; NULL members take gwfx_start's defaults. */
typedef struct gwfx_opts {
	const char *gateway_yaml; /* as for gwfx_start() */
	/* The items of irc.servers in order of preference, each
	 * "    - host: 127.0.0.1\n      port: N\n"; the fixture then starts no
	 * InspIRCd (g->ircd stays NULL). NULL: its own InspIRCd. */
	const char *irc_servers;
	const char *history_socket; /* history.socket_path; NULL: none */
	/* Another gateway of the same deployment: g uses base's PostgreSQL,
	 * eirc-auth, users and tokens (gwfx_add_user and gwfx_token act on
	 * base) and starts none of its own. Stop g before base. */
	struct gwfx *base;
	/* A user the gateway runs as (setpriv), with CAP_SETUID and
	 * CAP_SETGID as ambient capabilities only, as the local stack runs
	 * it. NULL: the test's own user. */
	const char *run_as;
} gwfx_opts_t;

/*
 * Starts PostgreSQL, Redis (the access bus: eirc-auth publishes there, every
 * gateway on it subscribes, as in a deployment; a gateway without one would
 * keep trying to connect, and the descriptor counts of the tests would see
 * its attempts), eirc-auth, InspIRCd and eirc-gateway. gateway_yaml:
 * more keys of the gateway section (each line indented two spaces), or
 * NULL; gateway.drain_seconds is 0 unless gateway_yaml sets it (a stop
 * then ends the sessions at once). Returns 0 or -1 (with the logs' tails
 * on stderr).
 */
int gwfx_start(gwfx_t *g, const char *gateway_yaml);

/*
 * gwfx_start() with options (o NULL: the same as gwfx_start(g, NULL)): a
 * gateway in front of servers the test started itself, with a history
 * bridge, or a second gateway sharing eirc-auth with a first. Each gateway
 * has its own config file and log. 0 or -1.
 */
int gwfx_start_with(gwfx_t *g, const gwfx_opts_t *o);

/* Starts eirc-gateway again with a new gateway section (after
 * gwfx_gateway_stop); 0 or -1. */
int gwfx_gateway_start(gwfx_t *g, const char *gateway_yaml);

/* SIGTERM to the gateway; waits for it and returns its exit status
 * (0..255, 128+signal when killed), or -1 when it was not running. */
int gwfx_gateway_stop(gwfx_t *g);

/* Waits up to timeout_ms for the gateway to exit (after a signal sent by
 * the caller) and returns its exit status as gwfx_gateway_stop() does;
 * -ETIMEDOUT (it keeps running) or -1 when it was not running. */
int gwfx_gateway_wait(gwfx_t *g, int timeout_ms);

/* Stops everything, newest first; returns the gateway's exit status (0 if
 * it was already stopped) or -1 when eirc-auth did not exit with 0. With a
 * base (gwfx_start_with), only the gateway: base keeps eirc-auth. */
int gwfx_stop(gwfx_t *g);

pid_t gwfx_gateway_pid(const gwfx_t *g);
/* The log of the running (or last) gateway. */
const char *gwfx_gateway_log(const gwfx_t *g);

/* Adds a user with FX_PASSWORD and logs them in (fails the test on error). */
void gwfx_add_user(gwfx_t *g, const char *name);
/* A fresh chat token of a user added before; malloc'd. The first 256 are
 * also kept for gwfx_assert_tokens_not_logged(). */
char *gwfx_token(gwfx_t *g, const char *name);

/* The gateway URL with chat_token=token (token NULL: no query). */
void gwfx_url(const gwfx_t *g, const char *token, char *buf, size_t cap);

/* Opens a session as a browser: a new token for user, the allowed Origin,
 * protocols (NULL: none). Fails the test when the upgrade is refused. */
ws_client_t *gwfx_open(gwfx_t *g, const char *user, const char *protocols);
/* gwfx_open, then waits for 001 over an irc_testclient reading the
 * WebSocket; *out_c is that client (free with itc_close, then ws_free). */
ws_client_t *gwfx_open_registered(gwfx_t *g, const char *user, const char *protocols,
				  itc_t **out_c);

/* Sessions the fixture closes in gwfx_cleanup(): gwfx_open() tracks its
 * own; gwfx_track() adds one opened otherwise. gwfx_close() frees a tracked
 * (or untracked) one. */
void gwfx_track(gwfx_t *g, ws_client_t *ws);
void gwfx_close(gwfx_t *g, ws_client_t *ws);
/* For a per-test teardown: closes every tracked session left open (a test
 * that failed midway) and waits until the gateway has no child; 0 or -1. */
int gwfx_cleanup(gwfx_t *g);

/* The value of one /metrics sample (name with its labels exactly as the
 * gateway prints them, e.g. "eirc_gateway_upgrades_refused_total{reason=\"origin\"}");
 * -1 when absent. Every sample line must parse. */
double gwfx_metric(gwfx_t *g, const char *sample);
/* Sum of every sample of a metric family (all label sets); 0 when absent. */
double gwfx_metric_sum(gwfx_t *g, const char *name);

/* The processes whose parent is the gateway (its irc-clients); returns
 * their number and fills pids (up to cap). */
size_t gwfx_children(const gwfx_t *g, pid_t *pids, size_t cap);
/* Processes still in the gateway's process group other than the gateway
 * (orphaned irc-clients keep the group), by its pid even after it exited. */
size_t gwfx_group_members(pid_t pgid, pid_t *pids, size_t cap);

/* Waits up to timeout_ms until the gateway has exactly n children and the
 * metric eirc_gateway_children says n; false on timeout. */
bool gwfx_wait_children(gwfx_t *g, size_t n, int timeout_ms);

/* Open descriptors and resident memory (KiB) of a process. */
long gwfx_fd_count(pid_t pid);
/* Open descriptors other than TCP connections to 127.0.0.1:remote_port
 * (libcurl's pool of keep-alive connections to eirc-auth varies with the
 * load, between 0 and its cap, and is no leak). */
long gwfx_fd_count_except(pid_t pid, int remote_port);
long gwfx_rss_kib(pid_t pid);
/* The first number of field ("Uid", "VmRSS") in /proc/<pid>/status, -1
 * when it cannot be read. */
long gwfx_status_field(pid_t pid, const char *field);

/* Fails the test when any kept token is in a gateway log. */
void gwfx_assert_tokens_not_logged(const gwfx_t *g);

/* True when the log of any gateway started so far contains needle. */
bool gwfx_log_has(const gwfx_t *g, const char *needle);

/*
 * The last test of a suite, as cmocka_unit_test_prestate(
 * gwfx_test_clean_stop, &g): gwfx_stop() and fails unless eirc-gateway and
 * eirc-auth exited 0 on SIGTERM (every libuv handle closed; under ASan,
 * nothing leaked). Not in the group teardown, whose failure cmocka 1.1
 * ignores; the teardown then stops only what is left (g->auth.env).
 */
void gwfx_test_clean_stop(void **state);

/*
 * Starts eirc-history in env (config and socket in the env's folder) for
 * the network `network`: CHATHISTORY on a UNIX socket (mode 0666, the
 * session key of tests/harness/session_test.h) for irc-clients of the IRC
 * server at irc_port, the Redis at redis_port with `partitions`,
 * history.chathistory_max, its HTTP API on a free port. The socket's path
 * goes into sock (cap >= 108); returns 0 once it listens, or -1.
 */
int gwfx_history_start(srv_env_t *env, const char *network, int irc_port, int redis_port,
		       int partitions, int chathistory_max, char *sock, size_t cap,
		       srv_t **out_history);

#endif
