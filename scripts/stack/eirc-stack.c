/*
 * eirc-stack: the local stack behind the README's first command.
 *
 * Reads config/eirc.yaml, starts PostgreSQL, Redis (AOF on), InspIRCd and
 * the eIRC daemons (eirc-auth with a demo user and a #general room,
 * eirc-gateway, eirc-logger, eirc-history) on the loopback ports it names,
 * with all their data in one folder (var/ by default, kept between runs),
 * prints what runs where and how to sign in,
 * and stops everything in reverse order on Ctrl-C (SIGINT), SIGTERM or
 * SIGHUP. If a process dies on its own, the stack says which, points at
 * its log, and stops the rest.
 *
 * Started as root (the README's way), only eirc-stack itself and the
 * launcher's watchdog stay root: PostgreSQL runs as postgres, Redis,
 * InspIRCd and the eIRC daemons as SRV_USER ("eirc"), eirc-gateway with
 * CAP_SETUID, CAP_SETGID and CAP_KILL as its only capabilities (it starts
 * each irc-client as irc_client.sandbox_user, and stops one that hangs). The folders a daemon
 * writes in are given to it: logger.spill_dir (mode 0700) and the folder of history.socket_path
 * (mode 0710, group of the sandbox user, who must get through to the socket),
 * and integrity.witness_file, made for it (mode 0600) when it does not exist.
 *
 * The archive's signing key (integrity.signing_key, config/eirc.yaml's
 * ${EIRC_ARCHIVE_SIGNING_KEY}): the variable when set, otherwise the key in
 * <data>/archive-signing.key, made at the first start (tlog_signer_generate,
 * named STACK_ARCHIVE_KEY_NAME) and kept, so that the checkpoints of one
 * data folder verify with one public key.
 *
 * It is developer tooling built on scripts/stack/launch.c (eirc_launch), the
 * same launcher the integration tests link; production runs each daemon
 * under systemd.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>
#include <sys/stat.h>

#include <sodium.h>

#include "archive/tlog.h"
#include "common/daemon.h"
#include "common/log.h"
#include "scripts/stack/launch.h"

#define STACK_DEFAULT_DATA "var"
/* The signed-note name of the local stack's archive key. */
#define STACK_ARCHIVE_KEY_NAME "eirc.localhost"

/* What main() gathers from the command line. */
typedef struct stack_args {
	const char *data, *bin_dir;
} stack_args_t;

static int stack_opt(void *app, int opt, const char *arg, eirc_err_t *out_err)
{
	stack_args_t *a = app;

	(void)out_err;
	if (opt == 'd')
		a->data = arg;
	else
		a->bin_dir = arg;
	return 0;
}

static const struct option stack_options[] = {
	{"data-dir", required_argument, NULL, 'd'},
	{"bin-dir", required_argument, NULL, 'b'},
	{NULL, 0, NULL, 0},
};

static const eirc_daemon_opts_t stack_opts = {
	.options = stack_options,
	.usage = "  -d, --data-dir DIR       data folder, kept between runs "
		 "(default " STACK_DEFAULT_DATA "/)\n"
		 "  -b, --bin-dir DIR        where the eIRC binaries were built\n"
		 "                           (default " EIRC_BINARY_DIR ")\n",
	.apply = stack_opt,
};

static const eirc_daemon_def_t stack_def = {
	.prog = "eirc-stack",
	.about = "Runs eIRC's local stack on loopback: PostgreSQL, Redis and InspIRCd,\n"
		 "then eirc-auth, eirc-gateway, eirc-logger and eirc-history, configured\n"
		 "from the config file, with all data in the data folder. Ctrl-C stops\n"
		 "everything. Started as root, it runs PostgreSQL as postgres and the\n"
		 "rest as " SRV_USER " (irc-clients as irc_client.sandbox_user).\n\n"
		 "Environment: EIRC_DEMO_PASSWORD, the demo user's password (required);\n"
		 "EIRC_HISTORY_CLIENT_SECRET, the secret of the eirc-history OAuth client\n"
		 "(created when missing; eirc-history introspects tokens with it);\n"
		 "EIRC_OPER_PASSWORD, the InspIRCd operator password (oper name 'eirc';\n"
		 "otherwise a new one is generated at each start); EIRC_ARCHIVE_SIGNING_KEY,\n"
		 "the archive's signing key (otherwise the one in <data>/archive-signing.key,\n"
		 "made at the first start); and the variables the config file names.\n",
	.opts = &stack_opts,
};

static bool is_loopback(const char *host)
{
	return host && (strcmp(host, "127.0.0.1") == 0 || strcmp(host, "localhost") == 0 ||
			strncmp(host, "127.", 4) == 0);
}

/* A role name the stack can put in SQL as it is. */
static bool plain_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

/* The stack starts servers only where the config points at loopback. */
static int check_local(const eirc_config_t *cfg)
{
	int bad = 0;

	if (!is_loopback(cfg->auth.database.host)) {
		log_error("auth.database.host is %s: the local stack runs PostgreSQL on 127.0.0.1 "
			  "only",
			  cfg->auth.database.host);
		bad++;
	}
	if (!is_loopback(cfg->redis.host)) {
		log_error("redis.host is %s: the local stack runs Redis on 127.0.0.1 only",
			  cfg->redis.host);
		bad++;
	}
	if (cfg->irc.n_servers == 0 || cfg->irc.servers[0].unix_path ||
	    !is_loopback(cfg->irc.servers[0].host) || cfg->irc.servers[0].tls) {
		log_error("irc.servers[0] must be plain TCP on 127.0.0.1 for the local stack");
		bad++;
	}
	if (!cfg->auth.database.password || !*cfg->auth.database.password) {
		log_error("auth.database.password is required for the local stack");
		bad++;
	}
	if (cfg->auth.database.owner &&
	    (!cfg->auth.database.owner_password || !*cfg->auth.database.owner_password)) {
		log_error("auth.database.owner_password is required for the local stack");
		bad++;
	}
	if (!plain_name(cfg->auth.database.user) ||
	    (cfg->auth.database.owner && !plain_name(cfg->auth.database.owner))) {
		log_error("auth.database.user and owner: letters, digits and _ only for the local "
			  "stack");
		bad++;
	}
	return bad ? -EINVAL : 0;
}

#define STACK_DEMO_USER "demo"
#define STACK_DEMO_ROOM "#general"

/* Who the eIRC daemons and eirc-auth's admin commands run as when the
 * stack is started as root; the gateway also keeps what it needs to start
 * irc-clients as another user. */
static const srv_as_t stack_as = {.user = SRV_USER};
static const srv_as_t stack_gateway_as = {.user = SRV_USER, .setuid_caps = true};

typedef struct {
	srv_env_t *env;
	const char *config; /* path of the config file, for our daemons */
	const char *bin_dir;
	srv_t *pg, *redis, *ircd, *auth, *gateway, *logger, *history;
	char ircd_db_password[33]; /* STACK_IRCD_ROLE's, new at every start */
} eirc_stack_t;

/* InspIRCd's PostgreSQL role for m_eirc_account (irc.native_clients:
 * authenticated): SELECT on the five columns of users it reads. */
#define STACK_IRCD_ROLE "eirc_ircd"

/* Runs `eirc-auth --config FILE <args...>` to completion; its exit status. */
static int auth_cli(eirc_stack_t *st, const char *const *args)
{
	char exe[4096];
	char *argv[16];
	int n = 0;

	snprintf(exe, sizeof(exe), "%s/auth/eirc-auth", st->bin_dir);
	argv[n++] = exe;
	argv[n++] = (char *)"--config";
	argv[n++] = (char *)st->config;
	while (*args && n < 15)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	return srv_run_as(st->env, "eirc-auth-admin", argv, &stack_as);
}

/* The confidential OAuth client eirc-history introspects tokens and writes
 * export audit rows with (scope history), its secret from
 * EIRC_HISTORY_CLIENT_SECRET; kept when it exists already. */
static int history_client(eirc_stack_t *st)
{
	static const char *const add[] = {"client",
					  "add",
					  "eirc-history",
					  "--grants",
					  "client_credentials",
					  "--scope",
					  "history",
					  "--secret-env",
					  "EIRC_HISTORY_CLIENT_SECRET",
					  NULL};
	static const char *const list[] = {"client", "list", NULL};

	if (!getenv("EIRC_HISTORY_CLIENT_SECRET")) {
		log_warn("EIRC_HISTORY_CLIENT_SECRET is not set: no eirc-history OAuth client, "
			 "its HTTP API refuses every token");
		return 0;
	}
	if (auth_cli(st, add) != 0 && auth_cli(st, list) != 0) {
		log_error("Failed to create the eirc-history OAuth client (see "
			  "%s/eirc-auth-admin.log)",
			  srv_env_dir(st->env));
		return -EIO;
	}
	return 0;
}

/* Applies the migrations, then makes sure the demo user (with the password
 * from EIRC_DEMO_PASSWORD), the #general room and the eirc-history OAuth
 * client exist. */
static int auth_prepare(eirc_stack_t *st)
{
	static const char *const migrate[] = {"migrate", NULL};
	static const char *const add[] = {"user",
					  "add",
					  STACK_DEMO_USER,
					  "--display-name",
					  "Demo User",
					  "--password-env",
					  "EIRC_DEMO_PASSWORD",
					  NULL};
	static const char *const passwd[] = {
		"user", "passwd", STACK_DEMO_USER, "--password-env", "EIRC_DEMO_PASSWORD", NULL};
	static const char *const room[] = {"room", "add", STACK_DEMO_ROOM, "--auto-join", NULL};
	static const char *const rooms[] = {"room", "list", NULL};

	if (auth_cli(st, migrate) != 0) {
		log_error("Failed to migrate the database (see %s/eirc-auth-admin.log)",
			  srv_env_dir(st->env));
		return -EIO;
	}
	/* A second run finds them: reset the password, keep the room. */
	if (auth_cli(st, add) != 0 && auth_cli(st, passwd) != 0) {
		log_error("Failed to create the demo user (see %s/eirc-auth-admin.log)",
			  srv_env_dir(st->env));
		return -EIO;
	}
	if (auth_cli(st, room) != 0 && auth_cli(st, rooms) != 0) {
		log_error("Failed to create %s (see %s/eirc-auth-admin.log)", STACK_DEMO_ROOM,
			  srv_env_dir(st->env));
		return -EIO;
	}
	return history_client(st);
}

static int auth_start(eirc_stack_t *st, const eirc_config_t *cfg)
{
	char exe[4096];
	char *argv[] = {exe, (char *)"--config", (char *)st->config, NULL};
	int r;

	if (!getenv("EIRC_DEMO_PASSWORD")) {
		log_error("EIRC_DEMO_PASSWORD is not set (scripts/run-stack.sh sets it)");
		return -EINVAL;
	}
	snprintf(exe, sizeof(exe), "%s/auth/eirc-auth", st->bin_dir);
	if (access(exe, X_OK) != 0) {
		log_error("%s not found: build it first (cmake --build build --target stack)", exe);
		return -ENOENT;
	}
	if ((r = auth_prepare(st)) < 0)
		return r;
	log_info("starting eirc-auth on %s:%d", cfg->auth.listen_address, cfg->auth.listen_port);
	if ((r = srv_process_start_as(st->env, "eirc-auth", argv, cfg->auth.listen_port, "/readyz",
				      &stack_as, &st->auth)) < 0)
		log_error("Failed to start eirc-auth: %s", strerror(-r));
	return r;
}

/* The WebSocket gateway: consumes chat tokens at eirc-auth, one irc-client
 * per session (as irc_client.sandbox_user when the stack runs as root: the
 * gateway runs as SRV_USER with CAP_SETUID, CAP_SETGID and CAP_KILL). */
static int gateway_start(eirc_stack_t *st, const eirc_config_t *cfg)
{
	char exe[4096];
	char *argv[] = {exe, (char *)"--config", (char *)st->config, NULL};
	int r;

	snprintf(exe, sizeof(exe), "%s/gateway/eirc-gateway", st->bin_dir);
	log_info("starting eirc-gateway on %s:%d", cfg->gateway.listen_address,
		 cfg->gateway.listen_port);
	if ((r = srv_process_start_as(st->env, "eirc-gateway", argv, cfg->gateway.listen_port,
				      "/healthz", &stack_gateway_as, &st->gateway)) < 0)
		log_error("Failed to start eirc-gateway: %s", strerror(-r));
	return r;
}

/* Makes the folder `dir` (the value of `key`) the daemons' own: see
 * srv_env_give_dir(). */
static int give_dir(eirc_stack_t *st, const char *key, const char *dir, const char *group,
		    mode_t mode)
{
	int r = srv_env_give_dir(st->env, dir, SRV_USER, group, mode);

	if (r == -EINVAL)
		log_error(
			"%s: %s is outside the data folder %s and not the user " SRV_USER
			"'s: started as root, the stack gives such a folder to " SRV_USER
			" only when it makes it (remove it, or use a path inside the data folder)",
			key, dir, srv_env_dir(st->env));
	else if (r < 0)
		log_error("%s: cannot prepare %s: %s", key, dir, strerror(-r));
	return r;
}

/* The witness file both signers (eirc-logger, eirc-auth) append to: made
 * for SRV_USER when missing (an existing one is left as it is), its folder
 * too (as logger.spill_dir's: give_dir), 0711: with the default config it
 * is var/, which the irc-clients cross to reach the history socket. */
static int witness_file(eirc_stack_t *st, const eirc_config_t *cfg)
{
	const char *path = cfg->integrity.witness_file;
	const struct passwd *pw;
	char dir[4096], *slash;
	struct stat sb;
	int fd, r = 0;

	if (!path)
		return 0;
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = '\0';
		if (stat(dir, &sb) < 0 &&
		    (r = give_dir(st, "integrity.witness_file", dir, NULL, 0711)) < 0)
			return r;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		if (errno == EEXIST)
			return 0;
		r = -errno;
		log_error("integrity.witness_file: cannot make %s: %s", path, strerror(-r));
		return r;
	}
	if (geteuid() == 0 &&
	    (!(pw = getpwnam(SRV_USER)) || fchown(fd, pw->pw_uid, pw->pw_gid) < 0))
		r = -EPERM;
	close(fd);
	if (r < 0)
		log_error("integrity.witness_file: cannot give %s to " SRV_USER, path);
	return r;
}

/* The logger bot: archives the channels into Redis (and Elasticsearch when
 * elasticsearch.urls names a cluster; none locally). */
static int logger_start(eirc_stack_t *st, const eirc_config_t *cfg)
{
	char exe[4096];
	char *argv[] = {exe, (char *)"--config", (char *)st->config, NULL};
	int r;

	if (cfg->logger.spill_dir &&
	    (r = give_dir(st, "logger.spill_dir", cfg->logger.spill_dir, NULL, 0700)) < 0)
		return r;
	snprintf(exe, sizeof(exe), "%s/logger-bot/eirc-logger", st->bin_dir);
	log_info("starting eirc-logger as %s", cfg->logger.nick);
	if ((r = srv_process_start_as(st->env, "eirc-logger", argv, cfg->logger.metrics_port,
				      "/metrics", &stack_as, &st->logger)) < 0)
		log_error("Failed to start eirc-logger: %s", strerror(-r));
	return r;
}

/* The folder of the history socket: the bridge's, entered by the
 * irc-clients through the sandbox user's group. */
static int socket_dir(eirc_stack_t *st, const eirc_config_t *cfg)
{
	const char *sandbox = cfg->irc_client.sandbox_user;
	char dir[4096];
	const struct passwd *pw;
	const struct group *gr = NULL;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", cfg->history.socket_path);
	if (!(slash = strrchr(dir, '/')))
		snprintf(dir, sizeof(dir), ".");
	else
		*slash = '\0';
	if (sandbox && (pw = getpwnam(sandbox)))
		gr = getgrgid(pw->pw_gid);
	return give_dir(st, "history.socket_path", dir, gr ? gr->gr_name : NULL, 0710);
}

/* The history bridge: CHATHISTORY for the irc-clients on its UNIX socket,
 * and its HTTP API on history.listen_port (ready once /readyz answers: Redis is up). */
static int history_start(eirc_stack_t *st, const eirc_config_t *cfg)
{
	char exe[4096];
	char *argv[] = {exe, (char *)"--config", (char *)st->config, NULL};
	int r;

	if (cfg->history.socket_path && (r = socket_dir(st, cfg)) < 0)
		return r;
	snprintf(exe, sizeof(exe), "%s/history-bridge/eirc-history", st->bin_dir);
	log_info("starting eirc-history on %s", cfg->history.socket_path);
	const char *ready = cfg->history.listen_port > 0 ? "/readyz" : NULL;
	if ((r = srv_process_start_as(st->env, "eirc-history", argv, cfg->history.listen_port,
				      ready, &stack_as, &st->history)) < 0)
		log_error("Failed to start eirc-history: %s", strerror(-r));
	return r;
}

/* The database owned by auth.database.owner, and the service role
 * (auth.database.user) that eirc-auth grants at start. A data folder made
 * before the owner existed has the service role owning everything: it is
 * handed over, as docs/operations.md tells an operator to. */
static int stack_database(srv_t *pg, const eirc_config_auth_database_t *db)
{
	char sql[256];
	int r;

	if (!db->owner || strcmp(db->owner, db->user) == 0)
		return srv_pg_create_db(pg, db->name, db->user, db->password);
	if ((r = srv_pg_create_db(pg, db->name, db->owner, db->owner_password)) < 0 ||
	    (r = srv_pg_create_role(pg, db->user, db->password)) < 0)
		return r;
	/* both are plain names (check_local) */
	snprintf(sql, sizeof(sql), "REASSIGN OWNED BY \"%s\" TO \"%s\"", db->user, db->owner);
	return srv_pg_exec(pg, db->name, sql);
}

/* Redis's options: the default user's password (redis.password), and
 * each daemon's ACL user as its section names it (common/redis_acl.h),
 * with the password that daemon will send. */
static void stack_redis_opts(const eirc_config_t *cfg, srv_redis_opts_t *out)
{
	const char *names[REDIS_ACL_ROLES] = {cfg->auth.redis_username, cfg->gateway.redis_username,
					      cfg->logger.redis_username,
					      cfg->history.redis_username};
	const char *pws[REDIS_ACL_ROLES] = {cfg->auth.redis_password, cfg->gateway.redis_password,
					    cfg->logger.redis_password,
					    cfg->history.redis_password};

	*out = (srv_redis_opts_t){.port = cfg->redis.port,
				  .password = cfg->redis.password,
				  .network = cfg->irc.network,
				  .partitions = cfg->redis.partitions};
	for (int i = 0; i < REDIS_ACL_ROLES; i++) {
		out->user_names[i] = names[i];
		out->user_passwords[i] = names[i] && !pws[i] ? cfg->redis.password : pws[i];
	}
}

/* irc.native_clients into InspIRCd's options. For "authenticated" the
 * role gets a new random password (only InspIRCd's config holds it) and,
 * when eirc-auth has migrated already, its grant; stack_start grants again
 * after eirc-auth's first migration. */
static int stack_ircd_account(eirc_stack_t *st, const eirc_config_t *cfg, srv_ircd_opts_t *irc)
{
	const eirc_config_auth_database_t *db = &cfg->auth.database;
	unsigned char raw[16];
	FILE *f;

	if (cfg->irc.native_clients != EIRC_CONFIG_NATIVE_AUTHENTICATED) {
		irc->native_clients = "refuse";
		return 0;
	}
	if (!(f = fopen("/dev/urandom", "re")) || fread(raw, 1, sizeof(raw), f) != sizeof(raw)) {
		if (f)
			fclose(f);
		return -EIO;
	}
	fclose(f);
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(st->ircd_db_password + 2 * i, 3, "%02x", raw[i]);
	irc->native_clients = "authenticated";
	irc->account_db = (srv_ircd_account_db_t){srv_port(st->pg), db->name, STACK_IRCD_ROLE,
						  st->ircd_db_password};
	return srv_pg_ircd_role(st->pg, db->name, STACK_IRCD_ROLE, st->ircd_db_password);
}

static int stack_start(eirc_stack_t *st, const eirc_config_t *cfg)
{
	const eirc_config_auth_database_t *db = &cfg->auth.database;
	srv_pg_opts_t pg = {.port = db->port, .durable = true};
	srv_redis_opts_t rd;
	srv_ircd_opts_t irc = {
		.port = cfg->irc.servers[0].port,
		.network = cfg->irc.network,
		.webirc_password = cfg->irc.webirc_password,
		.oper_password = getenv("EIRC_OPER_PASSWORD"),
		.capture_password = cfg->logger.irc_password,
		.require_archive = cfg->logger.require_archive,
		.localmax = 10,
	};
	int r;

	log_info("starting PostgreSQL on 127.0.0.1:%d", db->port);
	if ((r = srv_postgres_start(st->env, &pg, &st->pg)) < 0 ||
	    (r = stack_database(st->pg, db)) < 0) {
		log_error("Failed to start PostgreSQL: %s", strerror(-r));
		return r;
	}
	log_info("starting Redis on 127.0.0.1:%d", cfg->redis.port);
	stack_redis_opts(cfg, &rd);
	if ((r = srv_redis_start(st->env, &rd, &st->redis)) < 0) {
		log_error("Failed to start Redis: %s", strerror(-r));
		return r;
	}
	log_info("starting InspIRCd on 127.0.0.1:%d", irc.port);
	if ((r = stack_ircd_account(st, cfg, &irc)) < 0 ||
	    (r = srv_inspircd_start(st->env, &irc, &st->ircd)) < 0) {
		log_error("Failed to start InspIRCd: %s", strerror(-r));
		return r;
	}
	if ((r = witness_file(st, cfg)) < 0 || (r = auth_start(st, cfg)) < 0)
		return r;
	if (st->ircd_db_password[0] &&
	    (r = srv_pg_ircd_role(st->pg, cfg->auth.database.name, STACK_IRCD_ROLE,
				  st->ircd_db_password)) < 0) {
		log_error("Failed to grant InspIRCd's role %s: %s", STACK_IRCD_ROLE, strerror(-r));
		return r;
	}
	if ((r = gateway_start(st, cfg)) < 0)
		return r;
	if ((r = logger_start(st, cfg)) < 0)
		return r;
	return history_start(st, cfg);
}

static void print_banner(const eirc_stack_t *st, const eirc_config_t *cfg)
{
	const char *dir = srv_env_dir(st->env);

	printf("\neIRC local stack is running; data in %s\n\n", dir);
	printf("  %-12s %-17s %s\n", "service", "address", "notes");
	printf("  %-12s 127.0.0.1:%-7d db %s, user %s; log %s\n", "PostgreSQL", srv_port(st->pg),
	       cfg->auth.database.name, cfg->auth.database.user, srv_log_path(st->pg));
	printf("  %-12s 127.0.0.1:%-7d AOF on, an ACL user per daemon; log %s\n", "Redis",
	       srv_port(st->redis), srv_log_path(st->redis));
	printf("  %-12s 127.0.0.1:%-7d network %s, WEBIRC from 127.0.0.1; log %s/ircd.log\n",
	       "InspIRCd", srv_port(st->ircd), cfg->irc.network, srv_data_dir(st->ircd));
	printf("  %-12s 127.0.0.1:%-7d internal API on %s:%d; log %s\n", "eirc-auth",
	       srv_port(st->auth), cfg->auth.internal_listen_address,
	       cfg->auth.internal_listen_port, srv_log_path(st->auth));
	printf("  %-12s 127.0.0.1:%-7d ws://127.0.0.1:%d/chat; log %s\n", "eirc-gateway",
	       srv_port(st->gateway), srv_port(st->gateway), srv_log_path(st->gateway));
	printf("  %-12s %-17s archives %zu channel(s) into Redis; log %s\n", "eirc-logger", "-",
	       cfg->logger.n_channels, srv_log_path(st->logger));
	if (cfg->history.listen_port > 0)
		printf("  %-12s 127.0.0.1:%-7d HTTP API; CHATHISTORY on %s; log %s\n",
		       "eirc-history", cfg->history.listen_port, cfg->history.socket_path,
		       srv_log_path(st->history));
	else
		printf("  %-12s %-17s CHATHISTORY on %s; log %s\n", "eirc-history", "-",
		       cfg->history.socket_path, srv_log_path(st->history));
	if (geteuid() == 0)
		printf("\nStarted as root: PostgreSQL runs as postgres; Redis, InspIRCd and the "
		       "eIRC daemons as %s; irc-clients as %s.\n",
		       SRV_USER, cfg->irc_client.sandbox_user);
	printf("\nOpen http://127.0.0.1:%d/ and sign in as '%s' with password '%s'.\n",
	       srv_port(st->auth), STACK_DEMO_USER, getenv("EIRC_DEMO_PASSWORD"));
	if (cfg->irc.native_clients == EIRC_CONFIG_NATIVE_AUTHENTICATED)
		printf("IRC clients can connect to 127.0.0.1:%d with PASS <password> and NICK "
		       "<account>. Press Ctrl-C to stop.\n\n",
		       srv_port(st->ircd));
	else
		printf("IRC clients connecting to 127.0.0.1:%d directly are refused "
		       "(irc.native_clients: refuse). Press Ctrl-C to stop.\n\n",
		       srv_port(st->ircd));
	fflush(stdout);
}

/* Waits for a stop signal or a server's death; returns the exit status. */
static int stack_wait(eirc_stack_t *st, const sigset_t *sigs)
{
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(sigs, &si);

		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			log_info("received %s, stopping", strsignal(sig));
			return 0;
		}
		srv_t *all[] = {st->pg,      st->redis,  st->ircd,   st->auth,
				st->gateway, st->logger, st->history};
		for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
			if (!srv_running(all[i])) {
				log_error("%s exited unexpectedly (see %s); stopping the stack",
					  srv_name(all[i]), srv_log_path(all[i]));
				return 1;
			}
		}
	}
}

/* Adds NAME=value to data/secrets.env when it has no NAME yet: the file
 * the README's commands source (scripts/run-stack.sh makes it). */
static void secrets_add(const char *data, const char *name, const char *value)
{
	char path[4096], line[TLOG_SKEY_MAX + 64];
	size_t n = strlen(name);
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/secrets.env", data);
	if ((f = fopen(path, "re"))) {
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, name, n) && line[n] == '=') {
				fclose(f);
				return;
			}
		fclose(f);
	}
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return;
	snprintf(line, sizeof(line), "%s=%s\n", name, value);
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line))
		log_warn("%s: could not add %s", path, name);
	close(fd);
	sodium_memzero(line, sizeof(line));
}

/* EIRC_ARCHIVE_SIGNING_KEY, from data/archive-signing.key (made when
 * missing) unless it is set. Returns 0 or -1 (said why). */
static int archive_key(const char *data)
{
	char path[4096], key[TLOG_SKEY_MAX + 2] = "";
	tlog_signer_t s;
	FILE *f;
	int fd, r = -1;

	if (getenv("EIRC_ARCHIVE_SIGNING_KEY"))
		return 0;
	snprintf(path, sizeof(path), "%s/archive-signing.key", data);
	if ((f = fopen(path, "re"))) {
		if (fgets(key, sizeof(key), f))
			key[strcspn(key, "\n")] = '\0';
		fclose(f);
		if (tlog_signer_parse(key, &s) == 0)
			r = 0;
		else
			log_error("%s does not hold a signed-note private key", path);
	} else if (sodium_init() >= 0 && (mkdir(data, 0711) == 0 || errno == EEXIST) &&
		   tlog_signer_generate(STACK_ARCHIVE_KEY_NAME, &s) == 0 &&
		   tlog_signer_format(&s, key, sizeof(key) - 1) > 0 &&
		   (fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) >= 0) {
		strcat(key, "\n");
		if (write(fd, key, strlen(key)) == (ssize_t)strlen(key))
			r = 0;
		close(fd);
		key[strcspn(key, "\n")] = '\0';
		if (r == 0)
			log_info("made the archive's signing key in %s", path);
	}
	if (r < 0 && !key[0])
		log_error("Failed to make the archive's signing key %s: %s", path, strerror(errno));
	if (r == 0) {
		setenv("EIRC_ARCHIVE_SIGNING_KEY", key, 1);
		secrets_add(data, "EIRC_ARCHIVE_SIGNING_KEY", key);
	}
	sodium_memzero(&s, sizeof(s));
	sodium_memzero(key, sizeof(key));
	return r;
}

int main(int argc, char **argv)
{
	stack_args_t args = {STACK_DEFAULT_DATA, EIRC_BINARY_DIR};
	eirc_daemon_args_t cl;
	const char *config, *data, *bin_dir;
	eirc_config_t *cfg = NULL;
	eirc_stack_t st = {0};
	char config_abs[4096];
	sigset_t sigs;
	int status;

	if (!eirc_daemon_args(&stack_def, &args, argc, argv, &cl, &status))
		return status;
	config = cl.config_path;
	data = args.data;
	bin_dir = args.bin_dir;
	log_setup("eirc-stack", LOG_INFO, LOG_FORMAT_TEXT, 2);
	if (archive_key(data) < 0 || eirc_daemon_config_load(&stack_def, config, &cfg) < 0)
		return EIRC_EXIT_FAILURE;
	eirc_config_log_setup(cfg, "eirc-stack");
	if (check_local(cfg) < 0) {
		eirc_config_free(cfg);
		return EIRC_EXIT_FAILURE;
	}

	/* Signals are taken synchronously; servers run in their own process
	 * groups, so Ctrl-C reaches only us and we stop them in order. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGCHLD);
	sigprocmask(SIG_BLOCK, &sigs, NULL);

	/* Our daemons get the config path; keep it valid whatever their cwd. */
	st.config = realpath(config, config_abs) ? config_abs : config;
	st.bin_dir = bin_dir;
	if ((status = srv_env_new(data, &st.env)) < 0) {
		log_error("Failed to use data folder %s: %s", data, strerror(-status));
		eirc_config_free(cfg);
		return 1;
	}
	status = stack_start(&st, cfg) < 0 ? 1 : 0;
	if (status == 0) {
		print_banner(&st, cfg);
		status = stack_wait(&st, &sigs);
	}
	srv_env_free(st.env); /* stops the daemons, InspIRCd, Redis, PostgreSQL */
	log_info("stopped; data kept in %s", data);
	eirc_config_free(cfg);
	return status;
}
