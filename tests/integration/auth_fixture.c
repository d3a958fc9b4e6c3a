/*
 * auth_fixture: PostgreSQL + eirc-auth for the integration tests. See
 * auth_fixture.h.
 */
#include "tests/integration/auth_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DB_PASSWORD "db-pass-'quoted'\"x"
/* The schema's owner: eirc-auth migrates as it and serves as eirc. */
#define DB_OWNER          "eirc_owner"
#define DB_OWNER_PASSWORD "owner-pass-'q'"

static const char *bin_path(void)
{
	static char path[1024];
	const char *b = getenv("EIRC_BUILD_DIR");

	snprintf(path, sizeof(path), "%s/auth/eirc-auth", b ? b : "build");
	return path;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* A web root with files, a dotfile, a subfolder, a secret outside it and
 * a symlink pointing at that secret. */
static int make_web_root(fx_t *fx)
{
	char p[700], root[500];

	snprintf(root, sizeof(root), "%s/web", srv_env_dir(fx->env));
	mkdir(root, 0755);
	snprintf(p, sizeof(p), "%s/sub", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/index.html", root);
	write_file(p, "<!doctype html><title>eIRC</title>\n");
	snprintf(p, sizeof(p), "%s/app.js", root);
	write_file(p, "export const x = 1;\n");
	snprintf(p, sizeof(p), "%s/style.css", root);
	write_file(p, "body { margin: 0 }\n");
	snprintf(p, sizeof(p), "%s/.env", root);
	write_file(p, "SECRET=dotfile\n");
	snprintf(p, sizeof(p), "%s/sub/page.html", root);
	write_file(p, "<p>sub</p>\n");
	snprintf(p, sizeof(p), "%s/secret.txt", srv_env_dir(fx->env));
	write_file(p, "TOP SECRET\n");
	{
		char link[700];
		snprintf(link, sizeof(link), "%s/link.txt", root);
		return symlink(p, link);
	}
}

/* Writes <name>.yaml with new ports; the daemon will log to <name>.log. */
static int write_config(fx_t *fx, const char *name, const char *extra)
{
	char buf[8192], redis[128] = "", login[256] = "";

	fx->port = srv_free_port();
	fx->iport = srv_free_port();
	snprintf(fx->config, sizeof(fx->config), "%s/%s.yaml", srv_env_dir(fx->env), name);
	snprintf(fx->log, sizeof(fx->log), "%s/%s.log", srv_env_dir(fx->env), name);
	if (fx->redis) {
		snprintf(redis, sizeof(redis), "redis:\n  host: 127.0.0.1\n  port: %d\n",
			 srv_port(fx->redis));
		/* eirc-auth as its ACL user, as in production */
		snprintf(login, sizeof(login), "  redis_username: %s\n  redis_password: %s\n",
			 srv_redis_user_name(fx->redis, REDIS_ACL_AUTH),
			 srv_redis_user_password(fx->redis, REDIS_ACL_AUTH));
	}
	snprintf(buf, sizeof(buf),
		 "irc:\n  servers:\n    - host: 127.0.0.1\n"
		 "  webirc_password: test-webirc\n"
		 "auth:\n  listen_port: %d\n  internal_listen_port: %d\n"
		 "  internal_secret: %s\n  web_root: %s/web\n"
		 "  password_hash_ops: 1\n  password_hash_memory: 8MiB\n"
		 "  request_timeout: 2s\n%s%s"
		 "  database:\n    host: 127.0.0.1\n    port: %d\n"
		 "    name: eirc\n    user: eirc\n    password: '%s'\n"
		 "    owner: " DB_OWNER "\n    owner_password: \"owner-pass-'q'\"\n"
		 "    pool_size: 4\n"
		 "irc_client:\n  private_room_masks: " FX_PRIVATE_MASKS "\n"
		 "history:\n  socket_path: null\n"
		 "%s%s"
		 "log:\n  level: info\n",
		 fx->port, fx->iport, FX_SECRET, srv_env_dir(fx->env), extra ? extra : "", login,
		 srv_port(fx->pg), "db-pass-''quoted''\"x", redis,
		 fx->top_yaml ? fx->top_yaml : "");
	return write_file(fx->config, buf);
}

static bool wait_ready(fx_t *fx)
{
	for (int i = 0; i < 200; i++) {
		ht_resp_t r;
		int status;
		int rc = fx_http(fx, false, "GET", "/readyz", NULL, NULL, 0, &r);
		long st = r.status;

		/* r is filled (and owns memory) whatever fx_http returned */
		ht_resp_free(&r);
		if (rc == 0 && st == 200)
			return true;
		if (waitpid(fx->daemon, &status, WNOHANG) == fx->daemon) {
			fx->daemon = 0;
			return false;
		}
		usleep(100 * 1000);
	}
	return false;
}

int fx_start_daemon(fx_t *fx)
{
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* a killed test or bench must not leave eirc-auth behind */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		int fd = open(fx->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* only stdio: not what ctest or the test process left open */
		close_range(3, ~0U, 0);
		execl(bin_path(), "eirc-auth", "--config", fx->config, (char *)NULL);
		_exit(127);
	}
	fx->daemon = pid;
	if (!wait_ready(fx)) {
		fprintf(stderr, "eirc-auth did not become ready; log %s\n", fx->log);
		fx_stop_daemon(fx);
		return -1;
	}
	return 0;
}

int fx_stop_daemon(fx_t *fx)
{
	int status = 0;

	if (!fx->daemon)
		return -1;
	kill(fx->daemon, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(fx->daemon, &status, WNOHANG) == fx->daemon) {
			fx->daemon = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		usleep(50 * 1000);
	}
	kill(fx->daemon, SIGKILL);
	waitpid(fx->daemon, &status, 0);
	fx->daemon = 0;
	return 255;
}

/* Everything but the daemon's config and start. */
static int start_servers(fx_t *fx, const char *cafile, bool redis);

int fx_start(fx_t *fx, const char *extra)
{
	return fx_start_tls(fx, extra, NULL);
}

int fx_start_redis(fx_t *fx, const char *extra)
{
	if (start_servers(fx, NULL, true) < 0 || write_config(fx, "eirc-auth", extra) < 0)
		return -1;
	return fx_start_daemon(fx);
}

int fx_start_redis_top(fx_t *fx, const char *extra, const char *top_yaml)
{
	if (start_servers(fx, NULL, true) < 0)
		return -1;
	fx->top_yaml = top_yaml;
	if (write_config(fx, "eirc-auth", extra) < 0)
		return -1;
	return fx_start_daemon(fx);
}

int fx_start_tls(fx_t *fx, const char *extra, const char *cafile)
{
	if (start_servers(fx, cafile, false) < 0 || write_config(fx, "eirc-auth", extra) < 0)
		return -1;
	return fx_start_daemon(fx);
}

/* PostgreSQL and the rest in fx->env (made here when NULL). */
static int start_in_env(fx_t *fx, bool redis)
{
	char port[16];
	const char *k[] = {"host", "port", "dbname", "user", "password", NULL};
	const char *v[] = {"127.0.0.1", port, "eirc", "eirc", DB_PASSWORD, NULL};

	if ((!fx->env && srv_env_new(NULL, &fx->env) < 0) ||
	    srv_postgres_start(fx->env, NULL, &fx->pg) < 0 ||
	    srv_pg_create_db(fx->pg, "eirc", DB_OWNER, DB_OWNER_PASSWORD) < 0 ||
	    srv_pg_create_role(fx->pg, "eirc", DB_PASSWORD) < 0 || make_web_root(fx) < 0 ||
	    (redis && srv_redis_start(fx->env, NULL, &fx->redis) < 0))
		return -1;
	snprintf(port, sizeof(port), "%d", srv_port(fx->pg));
	fx->db = PQconnectdbParams(k, v, 0);
	return PQstatus(fx->db) == CONNECTION_OK ? 0 : -1;
}

static int start_servers(fx_t *fx, const char *cafile, bool redis)
{
	memset(fx, 0, sizeof(*fx));
	if (cafile)
		snprintf(fx->cafile, sizeof(fx->cafile), "%s", cafile);
	srv_env_install_signal_handlers();
	return start_in_env(fx, redis);
}

int fx_start_on(fx_t *fx, srv_env_t *env, srv_t *redis, const char *extra, const char *top_yaml)
{
	memset(fx, 0, sizeof(*fx));
	fx->env = env;
	fx->env_borrowed = true;
	fx->redis = redis;
	fx->top_yaml = top_yaml;
	if (start_in_env(fx, false) < 0 || write_config(fx, "eirc-auth", extra) < 0)
		return -1;
	return fx_start_daemon(fx);
}

int fx_start_peer(const fx_t *fx, const char *extra, fx_t *out_peer)
{
	*out_peer = *fx;
	out_peer->daemon = 0;
	out_peer->source = NULL;
	if (write_config(out_peer, "eirc-auth-peer", extra) < 0)
		return -1;
	return fx_start_daemon(out_peer);
}

int fx_stop(fx_t *fx)
{
	int st = fx->daemon ? fx_stop_daemon(fx) : -1;
	char cmd[600];

	if (st != 0) {
		fprintf(stderr, "eirc-auth exit status %d; its log:\n", st);
		snprintf(cmd, sizeof(cmd), "tail -30 '%s' >&2", fx->log);
		if (system(cmd) != 0)
			fprintf(stderr, "(no log)\n");
	}

	PQfinish(fx->db);
	fx->db = NULL;
	if (!fx->env_borrowed)
		srv_env_free(fx->env);
	fx->env = NULL;
	return st;
}

/* Runs the CLI with argv's tail from ap; stdout (and stderr too when
 * both) into out. */
static int cli_run(fx_t *fx, const char *password, char *out, size_t cap, bool both, va_list ap)
{
	const char *argv[16] = {"eirc-auth", "--config", fx->config};
	int n = 3, pfd[2], status;
	pid_t pid;
	size_t len = 0;
	ssize_t r;

	while (n < 15 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	argv[n] = NULL;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		if (both)
			dup2(pfd[1], 2);
		close_range(3, ~0U, 0);
		if (password)
			setenv("PW", password, 1);
		execv(bin_path(), (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	while (out && len + 1 < cap && (r = read(pfd[0], out + len, cap - 1 - len)) > 0)
		len += (size_t)r;
	if (out)
		out[len] = '\0';
	close(pfd[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int fx_cli(fx_t *fx, const char *password, char *out, size_t cap, ...)
{
	va_list ap;
	int r;

	va_start(ap, cap);
	r = cli_run(fx, password, out, cap, false, ap);
	va_end(ap);
	return r;
}

int fx_cli_both(fx_t *fx, char *out, size_t cap, ...)
{
	va_list ap;
	int r;

	va_start(ap, cap);
	r = cli_run(fx, NULL, out, cap, true, ap);
	va_end(ap);
	return r;
}

int fx_http(fx_t *fx, bool internal, const char *method, const char *path,
	    const char *const *headers, const char *body, size_t body_len, ht_resp_t *out)
{
	bool tls = !internal && fx->cafile[0];
	char url[2048];

	snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s", tls ? "https" : "http",
		 internal ? fx->iport : fx->port, path);
	return ht_request(&(ht_req_t){.method = method,
				      .url = url,
				      .headers = headers,
				      .body = body,
				      .body_len = body_len,
				      .cafile = tls ? fx->cafile : NULL,
				      .source = fx->source},
			  out);
}

int fx_login(fx_t *fx, const char *user, const char *password, ht_resp_t *out)
{
	char xff[2048];
	const char *h[] = {"Content-Type: application/x-www-form-urlencoded", NULL, NULL};
	char body[1024];
	char *u = ht_escape(user), *p = ht_escape(password);
	int r;

	if (fx->forwarded_for) {
		snprintf(xff, sizeof(xff), "X-Forwarded-For: %s", fx->forwarded_for);
		h[1] = xff;
	}
	snprintf(body, sizeof(body),
		 "grant_type=password&client_id=eirc-web"
		 "&username=%s&password=%s",
		 u, p);
	free(u);
	free(p);
	r = fx_http(fx, false, "POST", "/oauth/token", h, body, strlen(body), out);
	return r;
}

char *fx_chat_token(fx_t *fx, const char *access)
{
	char auth[256];
	const char *h[] = {auth, NULL};
	ht_resp_t r;
	char *tok = NULL;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", access);
	if (fx_http(fx, false, "POST", "/api/chat-token", h, "", 0, &r) == 0 && r.status == 200)
		tok = strdup(json_string_value(json_object_get(r.json, "chat_token")));
	ht_resp_free(&r);
	return tok;
}

long long fx_sql_int(fx_t *fx, const char *sql)
{
	PGresult *r = PQexec(fx->db, sql);
	long long v = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else
		fprintf(stderr, "SQL failed: %s: %s", sql, PQerrorMessage(fx->db));
	PQclear(r);
	return v;
}

int fx_sql(fx_t *fx, const char *sql)
{
	PGresult *r = PQexec(fx->db, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
		fprintf(stderr, "SQL failed: %s: %s", sql, PQerrorMessage(fx->db));
	PQclear(r);
	return ok ? 0 : -1;
}
