/*
 * auth_db: a small pool of PostgreSQL connections driven by a libuv loop.
 *
 * Every connection runs libpq in non-blocking mode: connecting
 * (PQconnectStartParams/PQconnectPoll), sending (PQsendQueryParams, PQflush)
 * and reading (PQconsumeInput/PQgetResult) happen when uv_poll says the
 * socket is ready, so nothing here blocks the loop. Queries are queued and
 * handed to the first idle connection in order. Parameters are always
 * passed separately from the SQL text (no string building, ever).
 *
 * A lost connection fails its query with -ECONNRESET (never retried: the
 * statement may have committed) and is re-established with a delay of
 * AUTH_DB_RETRY_MS; queued queries wait for it.
 *
 * Not here: what the queries mean (auth_service.c), migrations
 * (auth_migrate.c, blocking, before the loop).
 */
#ifndef EIRC_AUTH_DB_H
#define EIRC_AUTH_DB_H

#include <libpq-fe.h>
#include <uv.h>

#define AUTH_DB_POOL_MAX   64   /* connections in one pool */
#define AUTH_DB_QUEUE_MAX  4096 /* queries waiting for a connection */
#define AUTH_DB_PARAMS_MAX 16   /* parameters of one query */
#define AUTH_DB_RETRY_MS   1000 /* delay before reconnecting */

typedef struct auth_db auth_db_t;

/*
 * Called exactly once per accepted query. status is 0 with res holding
 * PGRES_TUPLES_OK or PGRES_COMMAND_OK; -EIO with res holding the error
 * result (see PQresultErrorField); -ECONNRESET when the connection was lost
 * (res NULL); -ECANCELED when the pool closed first (res NULL). res belongs
 * to the pool and is cleared when the callback returns.
 */
typedef void (*auth_db_cb)(void *data, int status, const PGresult *res);

typedef struct auth_db_opts {
	const char *host, *port, *dbname, *user, *password;
	unsigned connect_timeout_ms;
	unsigned statement_timeout_ms;
	int size; /* connections, 1..AUTH_DB_POOL_MAX */
} auth_db_opts_t;

/*
 * Creates the pool and starts connecting every connection (asynchronously:
 * returns before any is up). Strings in opts are copied. Returns 0 and
 * *out_db, or -EINVAL / -ENOMEM / a UV_E* code.
 */
int auth_db_new(uv_loop_t *loop, const auth_db_opts_t *opts, auth_db_t **out_db);

/*
 * Queues `sql` (a static string that outlives the query) with n text
 * parameters (copied; NULL is SQL NULL). Returns 0, after which cb is called
 * exactly once; -EAGAIN when AUTH_DB_QUEUE_MAX queries wait already;
 * -ECANCELED when the pool is closing; -EINVAL or -ENOMEM. On failure cb
 * is never called.
 */
int auth_db_query(auth_db_t *db, const char *sql, int n, const char *const *params, auth_db_cb cb,
		  void *data);

/* Connections currently connected and usable. */
int auth_db_ready(const auth_db_t *db);

/*
 * Closes the pool: waiting and running queries get -ECANCELED, every
 * connection is finished and every handle closed; done(arg) runs once the
 * last handle's close callback has run, then the pool is freed. NULL is a
 * no-op.
 */
void auth_db_close(auth_db_t *db, void (*done)(void *arg), void *arg);

#endif
