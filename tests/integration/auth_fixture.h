/*
 * auth_fixture: a real PostgreSQL (tests/harness) and a real eirc-auth
 * process on loopback for the auth integration tests; requests go through
 * the harness's HTTP client (tests/harness/http_test.h). The daemon runs from the build tree with a
 * generated config; stopping it with SIGTERM must give exit status 0, which eirc-auth only returns
 * when uv_loop_close() succeeded (every handle closed).
 */
#ifndef EIRC_TESTS_AUTH_FIXTURE_H
#define EIRC_TESTS_AUTH_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "scripts/stack/launch.h"
#include "tests/harness/http_test.h"

#define FX_SECRET   "internal-secret-for-tests-0123456789"
#define FX_PASSWORD "correct horse battery"
/* irc_client.private_room_masks of every eirc-auth the fixture starts: a
 * private room's name must match one (auth/auth_room.h). */
#define FX_PRIVATE_MASKS "[\"#private-*\", \"#priv-*\"]"

typedef struct fx {
	srv_env_t *env;
	srv_t *pg;
	srv_t *redis; /* the access bus, after fx_start_redis(); else NULL */
	pid_t daemon;
	int port;  /* public listener */
	int iport; /* internal listener */
	char config[512];
	char cafile[512]; /* set: the public listener is HTTPS, trusted by this CA */
	char log[512];
	PGconn *db;                /* superuser-free connection as the eirc role */
	const char *source;        /* local address of fx_http's requests, NULL: any */
	const char *forwarded_for; /* X-Forwarded-For of fx_login, NULL: none */
	const char *top_yaml;      /* top-level sections added to the config, or NULL */
	bool env_borrowed;         /* fx_start_on: env and redis are the caller's */
} fx_t;

/* Starts PostgreSQL and eirc-auth; extra_yaml goes into the auth section
 * (indented two spaces, one "key: value" per line). Returns 0 or -1. */
int fx_start(fx_t *fx, const char *extra_auth_yaml);
/* The same, with the public listener on HTTPS (the extra YAML names the
 * certificate and key) and requests to it verified against cafile. */
int fx_start_tls(fx_t *fx, const char *extra_auth_yaml, const char *cafile);
/* fx_start() with a Redis of its own in the environment, named in
 * eirc-auth's redis section: access changes are published there. */
int fx_start_redis(fx_t *fx, const char *extra_auth_yaml);
/* fx_start_redis() with top_yaml (whole sections, borrowed: it must
 * outlive fx) added to the config, for eirc-auth and its peers. */
int fx_start_redis_top(fx_t *fx, const char *extra_auth_yaml, const char *top_yaml);
/* Starts PostgreSQL in the caller's env and eirc-auth on it, its access bus
 * and checkpoints on the caller's redis (a harness Redis with the ACL
 * users: eirc-auth logs in as its own), top_yaml as for
 * fx_start_redis_top. fx_stop() then stops eirc-auth and PostgreSQL's
 * connection but leaves env (with PostgreSQL in it) to the caller. */
int fx_start_on(fx_t *fx, srv_env_t *env, srv_t *redis, const char *extra_auth_yaml,
		const char *top_yaml);
/* Starts a second eirc-auth on fx's PostgreSQL (its own ports and log,
 * the auth section's extra YAML as for fx_start) into *out_peer, which
 * borrows fx's servers: stop it with fx_stop_daemon(), never fx_stop().
 * Returns 0 or -1. */
int fx_start_peer(const fx_t *fx, const char *extra_auth_yaml, fx_t *out_peer);
/* Stops eirc-auth (SIGTERM) and returns its exit status (0 expected). */
int fx_stop_daemon(fx_t *fx);
/* Starts eirc-auth again with the same config; 0 or -1. */
int fx_start_daemon(fx_t *fx);
/* Stops everything; returns the daemon's exit status. */
int fx_stop(fx_t *fx);

/* Runs `eirc-auth --config <cfg> args...` with env PW=password; returns
 * its exit status; its stdout goes to out (may be NULL). */
int fx_cli(fx_t *fx, const char *password, char *out, size_t cap, ...);
/* The same without a password, with stdout and stderr both into out. */
int fx_cli_both(fx_t *fx, char *out, size_t cap, ...);

/* One request with ht_request() to eirc-auth: the internal listener, or the
 * public one (over verified HTTPS after fx_start_tls()). headers:
 * NULL-terminated "Name: value" list. Returns ht_request()'s 0 or -EIO;
 * *out is filled either way and released with ht_resp_free(). */
int fx_http(fx_t *fx, bool internal, const char *method, const char *path,
	    const char *const *headers, const char *body, size_t body_len, ht_resp_t *out);

/* POST /oauth/token grant_type=password for the web client. */
int fx_login(fx_t *fx, const char *user, const char *password, ht_resp_t *out);
/* A new chat token for an access token; returns a malloc'd token or NULL. */
char *fx_chat_token(fx_t *fx, const char *access);

/* One integer from SQL (as the eirc role); -1 on error. */
long long fx_sql_int(fx_t *fx, const char *sql);
/* Runs SQL as the eirc role; 0 or -1. */
int fx_sql(fx_t *fx, const char *sql);

/*
 * The last test of a suite, as cmocka_unit_test_prestate(fx_test_clean_stop,
 * &fx): fx_stop() and fails unless eirc-auth exited 0 on SIGTERM, which it
 * does only with every libuv handle closed (under ASan: nothing leaked).
 * A test, not the group teardown, whose failure cmocka 1.1 ignores; the
 * teardown then stops only what is left (fx->env not NULL). Defined where
 * cmocka.h came first: the benches use this fixture without cmocka.
 */
#ifdef cmocka_unit_test
static inline void fx_test_clean_stop(void **state)
{
	assert_int_equal(fx_stop(*state), 0);
}
#endif

#endif
