/*
 * `eirc-auth setup` (auth/auth_setup.h, D3 of issue 24) against a real
 * PostgreSQL, every file under a throwaway --root, no systemctl
 * (--no-start): the package's eirc.yaml (dist/eirc.yaml, its database
 * port the test server's) gets the domain; every secret it names, and
 * Redis's and InspIRCd's, is created 0600 with 43 characters; the roles,
 * the database owned by the owner role, the migrations, InspIRCd's
 * read-only columns, the admin and the auditor with their roles (the
 * generated passwords printed once and written to /root/eirc-setup.txt,
 * 0600, and the admin's password valid: `user passwd` is not needed to
 * sign in), the eirc-history OAuth client; InspIRCd's config rendered
 * (the original kept), the nginx site enabled, Redis's ACL file and
 * /etc/redis/eirc.conf (appendonly, noeviction, maxmemory, aclfile)
 * included by redis.conf. A second run changes nothing and says so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "archive/tlog.h"
#include "scripts/stack/launch.h"

static const char *const secrets[] = {
	"EIRC_WEBIRC_PASSWORD",       "EIRC_REDIS_GATEWAY_PASSWORD", "EIRC_INTERNAL_SECRET",
	"EIRC_DB_PASSWORD",           "EIRC_DB_OWNER_PASSWORD",      "EIRC_REDIS_AUTH_PASSWORD",
	"EIRC_LOGGER_IRC_PASSWORD",   "EIRC_REDIS_LOGGER_PASSWORD",  "EIRC_SESSION_KEY",
	"EIRC_HISTORY_CLIENT_SECRET", "EIRC_REDIS_HISTORY_PASSWORD", "EIRC_REDIS_PASSWORD",
	"EIRC_INSPIRCD_DB_PASSWORD"};
#define N_SECRETS (sizeof(secrets) / sizeof(secrets[0]))

typedef struct t {
	srv_env_t *env;
	srv_t *pg;
	char root[256];
	char conninfo[512];
} t_t;

static t_t t;

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0;

	if (!f)
		return NULL;
	if (getdelim(&buf, &cap, '\0', f) < 0) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void put(const char *rel, const char *text)
{
	char path[512], cmd[700];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", t.root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	assert_int_equal(system(cmd), 0);
	assert_non_null(f = fopen(path, "we"));
	fputs(text, f);
	fclose(f);
}

static char *get(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s%s", t.root, rel);
	return slurp(path);
}

static char *source(const char *rel)
{
	char path[512];
	const char *s = getenv("EIRC_SOURCE_DIR");

	snprintf(path, sizeof(path), "%s/%s", s ? s : ".", rel);
	return slurp(path);
}

/* eirc-auth setup ...; its stdout and stderr into *out (malloc'd). */
static int setup_run(char **out)
{
	char cmd[2048], path[512];
	const char *b = getenv("EIRC_BUILD_DIR");
	int st;

	snprintf(path, sizeof(path), "%s/setup.out", t.root);
	snprintf(cmd, sizeof(cmd),
		 "'%s/auth/eirc-auth' setup --domain chat.test.example --admin Alice --auditor bob"
		 " --config '%s/etc/eirc/eirc.yaml' --root '%s' --no-start --pg-admin '%s'"
		 " >'%s' 2>&1",
		 b ? b : "build", t.root, t.root, t.conninfo, path);
	st = system(cmd);
	*out = slurp(path);
	if (*out)
		fprintf(stderr, "%s", *out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static long long sql_int(const char *sql)
{
	PGconn *c = PQconnectdb(t.conninfo);
	PGresult *r;
	long long v = -1;

	if (PQstatus(c) == CONNECTION_OK) {
		r = PQexec(c, sql);
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
			v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		else
			fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
		PQclear(r);
	}
	PQfinish(c);
	return v;
}

static int group_setup(void **state)
{
	char *yaml, *pos, port[64], *cfg;
	static const char host_line[] = "    host: 127.0.0.1             # password authentication";

	(void)state;
	srv_env_install_signal_handlers();
	if (srv_env_new(NULL, &t.env) < 0 || srv_postgres_start(t.env, NULL, &t.pg) < 0)
		return -1;
	snprintf(t.root, sizeof(t.root), "%s/root", srv_env_dir(t.env));
	snprintf(t.conninfo, sizeof(t.conninfo),
		 "host=127.0.0.1 port=%d user=postgres password=%s dbname=postgres", srv_port(t.pg),
		 srv_password(t.pg));
	/* the package's config, the test server's port under its database host */
	if (!(yaml = source("dist/eirc.yaml")) || !(pos = strstr(yaml, host_line)))
		return -1;
	pos = strchr(pos, '\n') + 1;
	snprintf(port, sizeof(port), "    port: %d\n", srv_port(t.pg));
	cfg = malloc(strlen(yaml) + sizeof(port));
	memcpy(cfg, yaml, (size_t)(pos - yaml));
	strcpy(cfg + (pos - yaml), port);
	strcat(cfg, pos);
	put("/etc/eirc/eirc.yaml", cfg);
	free(cfg);
	free(yaml);
	/* the package's templates, and the files Debian's packages leave */
	yaml = source("dist/nginx/eirc.conf");
	put("/usr/share/eirc/nginx-eirc.conf", yaml);
	free(yaml);
	yaml = source("dist/inspircd/inspircd.conf");
	put("/usr/share/eirc/inspircd/inspircd.conf", yaml);
	free(yaml);
	yaml = source("dist/inspircd/limits.conf");
	put("/usr/share/eirc/inspircd/limits.conf", yaml);
	free(yaml);
	put("/etc/inspircd/inspircd.conf", "# Debian's own\n");
	/* as big as Debian's (100 KiB: more than a template may be) */
	cfg = malloc(110 * 1024);
	strcpy(cfg, "port 6379\n");
	while (strlen(cfg) < 105 * 1024)
		strcat(cfg, "# a comment line of Debian's redis.conf, of which there are many\n");
	put("/etc/redis/redis.conf", cfg);
	free(cfg);
	put("/root/.keep", "");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	srv_env_free(t.env);
	return 0;
}

/* Every secret: 43 base64url characters and a newline, root 0600. */
static void check_secrets(char values[N_SECRETS][64])
{
	for (size_t i = 0; i < N_SECRETS; i++) {
		char rel[128], path[512], *v;
		struct stat st;

		snprintf(rel, sizeof(rel), "/etc/eirc/credentials/%s", secrets[i]);
		snprintf(path, sizeof(path), "%s%s", t.root, rel);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
		assert_non_null(v = get(rel));
		assert_int_equal(strlen(v), 44);
		assert_int_equal(strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					   "0123456789-_"),
				 43);
		snprintf(values[i], 64, "%.43s", v);
		free(v);
	}
}

static void upgraded_config(void);

/* The archive's signing key: a note signer named for the domain, 0600. */
static void check_signing_key(char *value)
{
	char path[512], *v;
	struct stat st;
	tlog_signer_t s;

	snprintf(path, sizeof(path), "%s/etc/eirc/credentials/EIRC_ARCHIVE_SIGNING_KEY", t.root);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_non_null(v = get("/etc/eirc/credentials/EIRC_ARCHIVE_SIGNING_KEY"));
	assert_non_null(strchr(v, '\n'));
	*strchr(v, '\n') = '\0';
	assert_int_equal(strncmp(v, "PRIVATE+KEY+chat.test.example+", 30), 0);
	assert_int_equal(tlog_signer_parse(v, &s), 0);
	assert_string_equal(s.name, "chat.test.example");
	snprintf(value, TLOG_SKEY_MAX, "%s", v);
	free(v);
}

static void test_setup(void **state)
{
	char values[N_SECRETS][64], again[N_SECRETS][64], path[512];
	char signing_key[TLOG_SKEY_MAX], signing_again[TLOG_SKEY_MAX];
	char *out, *text, *report, admin_pw[64] = "", auditor_pw[64] = "";
	struct stat st;

	(void)state;
	assert_int_equal(setup_run(&out), 0);
	check_secrets(values);
	/* the domain */
	text = get("/etc/eirc/eirc.yaml");
	assert_null(strstr(text, "chat.example.com"));
	assert_non_null(strstr(text, "- https://chat.test.example"));
	assert_non_null(strstr(text, "\n  origin: chat.test.example/archive "));
	free(text);
	check_signing_key(signing_key);
	/* the database */
	assert_int_equal(sql_int("SELECT count(*) FROM pg_roles WHERE rolname IN"
				 " ('eirc', 'eirc_owner', 'eirc_inspircd') AND rolcanlogin"),
			 3);
	assert_int_equal(sql_int("SELECT count(*) FROM pg_database d JOIN pg_roles r"
				 " ON r.oid = d.datdba WHERE datname = 'eirc'"
				 " AND rolname = 'eirc_owner'"),
			 1);
	strcpy(strstr(t.conninfo, "dbname=postgres"), "dbname=eirc");
	assert_int_equal(sql_int("SELECT count(*) FROM users WHERE (nick, role) IN"
				 " (('Alice', 'admin'), ('bob', 'auditor'))"),
			 2);
	assert_int_equal(sql_int("SELECT count(*) FROM oauth_clients WHERE client_id ="
				 " 'eirc-history' AND 'client_credentials' = ANY(grants)"),
			 1);
	assert_int_equal(sql_int("SELECT has_column_privilege('eirc_inspircd', 'users',"
				 " 'password_hash', 'SELECT')::int"
				 " + has_table_privilege('eirc_inspircd', 'users', 'UPDATE')::int"
				 " + has_column_privilege('eirc_inspircd', 'users', 'email',"
				 " 'SELECT')::int"),
			 1);
	/* the passwords: printed once, and in /root/eirc-setup.txt 0600 */
	snprintf(path, sizeof(path), "%s/root/eirc-setup.txt", t.root);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_non_null(report = get("/root/eirc-setup.txt"));
	assert_int_equal(
		sscanf(report, "admin Alice %63s\nauditor bob %63s\n", admin_pw, auditor_pw), 2);
	assert_int_equal(strlen(admin_pw), 43);
	assert_non_null(strstr(out, admin_pw));
	assert_non_null(strstr(out, auditor_pw));
	/* InspIRCd: ours, every placeholder filled, Debian's kept */
	text = get("/etc/inspircd/inspircd.conf");
	assert_non_null(strstr(text, "<server name=\"chat.test.example\""));
	assert_non_null(strstr(text, "network=\"example\""));
	assert_non_null(strstr(text, values[0])); /* EIRC_WEBIRC_PASSWORD */
	assert_non_null(strstr(text, values[6])); /* EIRC_LOGGER_IRC_PASSWORD */
	assert_null(strstr(text, "_PASSWORD@"));
	free(text);
	text = get("/etc/inspircd/inspircd.conf.eirc-orig");
	assert_string_equal(text, "# Debian's own\n");
	free(text);
	assert_non_null(text = get("/etc/systemd/system/inspircd.service.d/eirc-limits.conf"));
	free(text);
	/* nginx: the site for the domain, enabled */
	text = get("/etc/nginx/sites-available/eirc");
	assert_non_null(strstr(text, "server_name chat.test.example;"));
	assert_null(strstr(text, "@DOMAIN@"));
	free(text);
	snprintf(path, sizeof(path), "%s/etc/nginx/sites-enabled/eirc", t.root);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	/* Redis: the default user and the four daemons', read by redis.conf */
	text = get("/etc/redis/eirc-users.acl");
	assert_non_null(strstr(text, "user default on >"));
	assert_non_null(strstr(text, "user eirc-auth on >"));
	assert_non_null(strstr(text, "user eirc-history on >"));
	free(text);
	text = get("/etc/redis/redis.conf");
	assert_non_null(strstr(text, "\ninclude /etc/redis/eirc.conf\n"));
	free(text);
	text = get("/etc/redis/eirc.conf");
	assert_non_null(strstr(text, "\nappendonly yes\n"));
	assert_non_null(strstr(text, "\nmaxmemory-policy noeviction\n"));
	assert_non_null(strstr(text, "\nmaxmemory "));
	assert_non_null(strstr(text, "\naclfile /etc/redis/eirc-users.acl\n"));
	free(text);
	free(out);

	/* again: nothing changes, and it says so */
	assert_int_equal(setup_run(&out), 0);
	check_secrets(again);
	for (size_t i = 0; i < N_SECRETS; i++)
		assert_string_equal(values[i], again[i]);
	assert_non_null(strstr(out, "0 created, 14 existed (unchanged)"));
	assert_non_null(strstr(out, "has the section, unchanged"));
	check_signing_key(signing_again);
	assert_string_equal(signing_key, signing_again);
	assert_non_null(strstr(out, "role eirc_owner exists, unchanged"));
	assert_non_null(strstr(out, "database eirc exists, unchanged"));
	assert_non_null(strstr(out, "applied 0 migration(s)"));
	assert_non_null(strstr(out, "admin Alice exists, unchanged"));
	assert_non_null(strstr(out, "auditor bob exists, unchanged"));
	assert_non_null(strstr(out, "OAuth client eirc-history exists, unchanged"));
	assert_non_null(strstr(out, "/etc/inspircd/inspircd.conf: ours already, unchanged"));
	assert_non_null(strstr(out, "/etc/nginx/sites-available/eirc: ours already, unchanged"));
	assert_non_null(strstr(out, "/etc/redis/eirc-users.acl exists, unchanged"));
	assert_non_null(strstr(out, "/etc/redis/eirc.conf exists, unchanged"));
	assert_null(strstr(out, "password:"));
	text = get("/root/eirc-setup.txt");
	assert_string_equal(text, report);
	free(text);
	free(report);
	free(out);
	assert_int_equal(sql_int("SELECT count(*) FROM users"), 2);
	strcpy(strstr(t.conninfo, "dbname=eirc"), "dbname=postgres");
	upgraded_config();
}

/* A config from before the integrity section (0.1's, kept by dpkg): setup
 * adds the package's, for the domain, and the config loads. */
static void upgraded_config(void)
{
	char *text = get("/etc/eirc/eirc.yaml"), *sec, *out;

	assert_non_null(sec = strstr(text, "\n# The tamper-evident archive"));
	assert_non_null(strstr(sec, "\n\nlog:"));
	memmove(sec + 1, strstr(sec, "\n\nlog:") + 2, strlen(strstr(sec, "\n\nlog:") + 2) + 1);
	assert_null(strstr(text, "integrity:"));
	put("/etc/eirc/eirc.yaml", text);
	free(text);
	/* and Redis's ACL file of that version: eirc-auth's line without the
	 * checkpoints' stream, its password as ACL SAVE writes it */
	text = get("/etc/redis/eirc-users.acl");
	assert_non_null(sec = strstr(text, "user eirc-auth on >"));
	{
		char *end = strchr(sec, '\n'), *rest = strdup(end);
		sprintf(sec,
			"user eirc-auth on #%064d resetkeys resetchannels -@all &eirc:access"
			" +publish +cluster|slots +asking%s",
			0, rest);
		free(rest);
	}
	put("/etc/redis/eirc-users.acl", text);
	free(text);
	assert_int_equal(setup_run(&out), 0);
	assert_non_null(strstr(out, "integrity: section added to "));
	assert_non_null(strstr(out, "/etc/redis/eirc-users.acl: the daemons' rules updated"));
	free(out);
	text = get("/etc/redis/eirc-users.acl");
	{
		char want[256];
		snprintf(want, sizeof(want),
			 "\nuser eirc-auth on #%064d resetkeys resetchannels -@all"
			 " %%R~eirc:{cp}:checkpoints &eirc:access +publish +xrange +cluster|slots"
			 " +asking\nuser eirc-gateway on >",
			 0);
		assert_non_null(strstr(text, want));
		assert_non_null(strstr(text, "user default on >"));
	}
	free(text);
	text = get("/etc/eirc/eirc.yaml");
	assert_non_null(sec = strstr(text, "\nintegrity:\n"));
	assert_non_null(strstr(sec, "  signing_key: ${EIRC_ARCHIVE_SIGNING_KEY}"));
	assert_non_null(strstr(sec, "  origin: chat.test.example/archive "));
	assert_non_null(strstr(sec, "  witness_file: /var/lib/eirc/witness.log\n"));
	free(text);
}

/* A bad command line: usage, status 2, nothing written. */
static void test_usage(void **state)
{
	char cmd[1024];
	const char *b = getenv("EIRC_BUILD_DIR");

	(void)state;
	snprintf(cmd, sizeof(cmd),
		 "'%s/auth/eirc-auth' setup --domain 'bad host' --admin a"
		 " --auditor b --root /nonexistent >/dev/null 2>&1",
		 b ? b : "build");
	assert_int_equal(WEXITSTATUS(system(cmd)), 2);
	snprintf(cmd, sizeof(cmd),
		 "'%s/auth/eirc-auth' setup --domain x --admin a"
		 " --root /nonexistent >/dev/null 2>&1",
		 b ? b : "build");
	assert_int_equal(WEXITSTATUS(system(cmd)), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_setup),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
