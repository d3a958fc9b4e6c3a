/*
 * launch: start real PostgreSQL, Redis (and Redis Cluster) and InspIRCd on
 * loopback, for the local stack (scripts/stack/eirc-stack.c) and for the
 * integration tests (tests/harness links it). Library eirc_launch; it has
 * no test code and includes nothing under tests/.
 *
 * An environment (srv_env_t) is one folder that holds every server's data,
 * config and log. A temporary environment is created under $TMPDIR and
 * removed when it is freed. Cleanup is guaranteed three ways:
 *   - srv_env_free() stops every server (newest first) and removes the folder;
 *   - every server gets a parent-death signal, so it stops if the process
 *     that started it dies, even by SIGKILL;
 *   - a small watchdog process, started with the environment, waits for the
 *     owning process to go away and then kills any server still running and
 *     removes a temporary folder. It is what makes "the test was killed"
 *     leave nothing behind.
 * srv_env_install_signal_handlers() makes SIGINT/SIGTERM/SIGHUP exit the
 * process at once, leaving the cleanup to the two mechanisms above.
 *
 * Started as root, it runs no server as root: PostgreSQL runs as
 * "postgres", Redis and InspIRCd as SRV_USER, eIRC's own processes as the
 * user their caller names (srv_as_t); each one's data folder is given to
 * its user, its log (written through the descriptor it inherits) stays
 * the caller's, mode 0600. Started as another user, every server runs as
 * that user.
 *
 * This is developer and test tooling: it blocks (waitpid, connect polling)
 * and prints diagnostics to stderr. Daemons never link it.
 */
#ifndef EIRC_SCRIPTS_STACK_LAUNCH_H
#define EIRC_SCRIPTS_STACK_LAUNCH_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/redis_acl.h"

/* How long a server may take to become ready, and to stop, in ms. */
#define SRV_START_TIMEOUT_MS 60000
#define SRV_STOP_TIMEOUT_MS  15000
/* At most this many servers in one environment. */
#define SRV_MAX 16
/* The user Redis and InspIRCd run as when the caller is root (made by
 * scripts/install-deps.sh; the local stack's daemons run as it too). */
#define SRV_USER "eirc"
/* Most supplementary groups a server's user may have. */
#define SRV_GROUPS_MAX 32

typedef struct srv_env srv_env_t;
typedef struct srv srv_t;

typedef enum {
	SRV_POSTGRES,
	SRV_REDIS,
	SRV_INSPIRCD,
	SRV_PROCESS, /* one of ours (eirc-auth, ...), see srv_process_start() */
} srv_kind_t;

/*
 * Creates an environment. dir NULL: a new temporary folder, removed on free
 * and by the watchdog. dir given: that folder (created if missing) is kept,
 * and servers reuse the data already in it (the local stack's var/).
 * Returns 0 or a negative errno.
 */
int srv_env_new(const char *dir, srv_env_t **out_env);

/* Stops every server, newest first, then removes a temporary folder and
 * ends the watchdog. NULL is a no-op. */
void srv_env_free(srv_env_t *env);

const char *srv_env_dir(const srv_env_t *env);

/* Makes SIGINT, SIGTERM and SIGHUP end the process at once (_exit), so the
 * parent-death signals and the watchdog clean up. For test programs. */
void srv_env_install_signal_handlers(void);

/* A TCP port on 127.0.0.1 that was free a moment ago; negative errno. */
int srv_free_port(void);

typedef struct {
	int port;                       /* 0: a free port */
	const char *superuser_password; /* NULL: generated */
	bool durable;                   /* fsync on (local stack); off for tests */
} srv_pg_opts_t;

/* Redis: the default user has password (none when NULL), every command
 * and key, for operators and tests; one ACL user per eIRC daemon
 * (common/redis_acl.h) has exactly what that daemon sends. */
typedef struct {
	int port;             /* 0: a free port */
	const char *password; /* requirepass, or NULL */
	/* the daemons' users: names (NULL: redis_acl_default_name) and
	 * passwords (NULL: generated, see srv_redis_user_password) */
	const char *user_names[REDIS_ACL_ROLES];
	const char *user_passwords[REDIS_ACL_ROLES];
	const char *network; /* irc.network of the key patterns; NULL: "eIRC" */
	int partitions;      /* redis.partitions; 0: patterns for any count */
} srv_redis_opts_t;

/* The database m_eirc_account reads accounts from (native_clients
 * "authenticated"): eirc-auth's, on 127.0.0.1, as a role that may only
 * read the columns of users it needs (srv_pg_ircd_role). No value may hold
 * '"', '&' or a line break. */
typedef struct {
	int port;
	const char *name, *user, *password;
} srv_ircd_account_db_t;

/* Longest rendering of the account block (modules, <eircaccount>,
 * <database>) that srv_inspircd_start accepts. */
#define SRV_IRCD_ACCOUNT_MAX 1024

typedef struct {
	int port;                    /* client port, 0: a free port */
	const char *server_name;     /* default "irc1.eirc.local" */
	const char *sid;             /* default "1EI" */
	const char *network;         /* default "eIRC" */
	const char *webirc_password; /* NULL: generated */
	const char *oper_password;   /* NULL: generated */
	/* the password of the "eirc-capture" connect class (eirccapture="yes",
	 * m_eirc_capture): eirc-logger's logger.irc_password; NULL: generated */
	const char *capture_password;
	bool require_archive;      /* <eirccapture require="yes"> */
	int localmax;              /* per-IP limit of the "main" class; 0: 10 */
	const char *extra_binds;   /* raw config lines, or NULL */
	const char *extra;         /* raw config lines, or NULL */
	const char *template_path; /* NULL: config/inspircd.conf.in */
	/* m_eirc_account (config/inspircd/m_eirc_account.cpp; contract C3):
	 * NULL leaves it unloaded (tests that speak raw IRC as nobody);
	 * "refuse" or "authenticated" (irc.native_clients) loads it with
	 * m_services_account, and for "authenticated" m_pgsql and m_argon2
	 * with account_db. -ENOENT from the start when it is not built. */
	const char *native_clients;
	srv_ircd_account_db_t account_db;
} srv_ircd_opts_t;

/*
 * Starts a server in the environment and waits until it answers:
 * PostgreSQL accepts a connection (initdb first when its folder is new),
 * Redis answers PING (AOF on, appendfsync everysec; the ACL users of
 * srv_redis_opts_t in its redis.conf), InspIRCd sends its
 * first line to a new connection. opts may be NULL for defaults. On
 * failure the server's log tail is printed to stderr and nothing keeps
 * running. The server belongs to env and is freed with it.
 */
int srv_postgres_start(srv_env_t *env, const srv_pg_opts_t *opts, srv_t **out_srv);
int srv_redis_start(srv_env_t *env, const srv_redis_opts_t *opts, srv_t **out_srv);
int srv_inspircd_start(srv_env_t *env, const srv_ircd_opts_t *opts, srv_t **out_srv);

/*
 * Starts two InspIRCd servers linked by spanningtree, as in docs/scaling.md:
 * out_pair[0] is irc1.eirc.local (SID 1EI), out_pair[1] irc2.eirc.local
 * (2EI); each has a server port of its own and autoconnects to the other
 * every second (link password "linkpass"). base (may be NULL) gives the
 * rest of both servers' options; its port, server_name, sid, extra_binds
 * and extra are not used. Both have the same capture password (base's, or
 * one generated), so that one logger config fits either. Returns once both answer, which is before
 * the link forms (about a second later; a caller checks it as it needs). Returns 0 or a negative
 * errno; a server already started stays in env.
 */
int srv_inspircd_pair_start(srv_env_t *env, const srv_ircd_opts_t *base, srv_t *out_pair[2]);

/* Who one of eIRC's own processes runs as when the caller is root (a
 * caller of another uid runs everything as itself). */
typedef struct {
	const char *user; /* a user name (its group and supplementary groups);
			     NULL: the caller */
	/* With user: keeps CAP_SETUID, CAP_SETGID and CAP_KILL, and no other
	 * capability, as ambient capabilities, so that they are effective after
	 * its execve (the gateway, which starts each irc-client as another user
	 * and signals one that does not quit). */
	bool setuid_caps;
} srv_as_t;

/*
 * Starts one of eIRC's own daemons (argv[0] a path) in env, with the same
 * guarantees as the servers: own process group, parent-death signal,
 * stdout/stderr to <dir>/<name>.log, stopped with SIGTERM. When http_port
 * is not 0 it is ready once "GET <http_path>" there answers 200; otherwise
 * once it has run for a moment without exiting. It inherits the caller's
 * environment and working directory. srv_process_start_as() runs it as
 * `as` says (NULL: as the caller); -ENOENT when that user does not exist,
 * -EACCES when it cannot reach argv[0] (said on stderr).
 */
int srv_process_start(srv_env_t *env, const char *name, char *const argv[], int http_port,
		      const char *http_path, srv_t **out_srv);
int srv_process_start_as(srv_env_t *env, const char *name, char *const argv[], int http_port,
			 const char *http_path, const srv_as_t *as, srv_t **out_srv);

/* Runs argv to completion with its output appended to <dir>/<name>.log
 * (as `as` says for srv_run_as(); NULL: as the caller); returns its exit
 * status (0..255), or a negative errno. */
int srv_run(srv_env_t *env, const char *name, char *const argv[]);
int srv_run_as(srv_env_t *env, const char *name, char *const argv[], const srv_as_t *as);

/*
 * For a folder one of eIRC's own processes writes in (a spill folder, the
 * folder of a UNIX socket): creates it if missing (its parents too, mode
 * 0755), sets its mode, and when the caller is root gives it and everything
 * in it to `user` and `group` (NULL: the user's own group). Outside env's
 * folder (a relative path of the config when the data folder is elsewhere)
 * root gives only the folder itself, and only when it made it now or the
 * user owns it already: -EINVAL otherwise. 0 or a negative errno.
 */
int srv_env_give_dir(srv_env_t *env, const char *path, const char *user, const char *group,
		     mode_t mode);

srv_kind_t srv_kind(const srv_t *srv);
const char *srv_name(const srv_t *srv); /* "postgres", "redis", "inspircd" */
int srv_port(const srv_t *srv);
pid_t srv_pid(const srv_t *srv);            /* 0 when not running */
const char *srv_log_path(const srv_t *srv); /* its stdout and stderr */
const char *srv_data_dir(const srv_t *srv); /* its data, config, own logs */
/* The secret the server was set up with (PostgreSQL superuser password,
 * Redis password, InspIRCd WEBIRC password), or NULL. */
const char *srv_password(const srv_t *srv);
/* InspIRCd only: the operator password for the "eirc" oper block. */
const char *srv_oper_password(const srv_t *srv);
/* InspIRCd only: the password of its capture class (what a capture bot,
 * eirc-logger, sends as PASS). */
const char *srv_capture_password(const srv_t *srv);
/* Redis of srv_redis_start only: the name and password of role's ACL user
 * (NULL for other servers). */
const char *srv_redis_user_name(const srv_t *srv, enum redis_acl_role role);
const char *srv_redis_user_password(const srv_t *srv, enum redis_acl_role role);

/* Stops gracefully (SIGTERM; SIGINT for PostgreSQL), SIGKILL after
 * SRV_STOP_TIMEOUT_MS. Returns 0, or -ECHILD if it had already exited. */
int srv_stop(srv_t *srv);
/* Sends sig and, for SIGKILL, reaps the process (for fault tests). */
int srv_kill(srv_t *srv, int sig);
/* Starts a stopped server again on the same port with the same data. */
int srv_restart(srv_t *srv);
/* Nonzero if it is still running; reaps it if it exited. */
bool srv_running(srv_t *srv);

/* PostgreSQL only: runs one SQL string as the superuser on `dbname`
 * ("postgres" when NULL). Returns 0 or -EIO with the error on stderr. */
int srv_pg_exec(srv_t *srv, const char *dbname, const char *sql);
/* PostgreSQL only: creates login role `user` with `password`, or sets
 * the password of the existing one. */
int srv_pg_create_role(srv_t *srv, const char *user, const char *password);
/* PostgreSQL only: creates login role `user` (as srv_pg_create_role) for
 * InspIRCd's m_eirc_account, and, once eirc-auth has migrated `dbname`,
 * grants it SELECT on the columns of users it reads (id, nick,
 * nick_folded, password_hash, disabled) and nothing else; before that
 * (no users table yet) only the role is made. 0 or a negative errno. */
int srv_pg_ircd_role(srv_t *srv, const char *dbname, const char *user, const char *password);
/* PostgreSQL only: creates login role `owner` (as srv_pg_create_role) and
 * database `dbname` owned by it, unless it exists. */
int srv_pg_create_db(srv_t *srv, const char *dbname, const char *owner, const char *password);

/* Most masters srv_redis_cluster_start() makes. */
#define SRV_REDIS_CLUSTER_MAX 8

/*
 * Starts a Redis Cluster of n_masters (3..SRV_REDIS_CLUSTER_MAX) masters
 * and no replicas on free loopback ports: each redis-server has AOF on,
 * cluster-enabled, its own nodes.conf and bus port in its data folder; the
 * cluster is created with `redis-cli --cluster create ... --cluster-replicas
 * 0 --cluster-yes` and is ready once CLUSTER INFO says cluster_state:ok on
 * every node. The nodes are servers of env (stopped and cleaned like the
 * others); they are stored in out_nodes[0..n_masters-1]. No password.
 * Returns 0 or a negative errno (nodes already started are stopped).
 */
int srv_redis_cluster_start(srv_env_t *env, int n_masters, srv_t **out_nodes);

#endif
