/*
 * auth_setup: `eirc-auth setup`. See auth_setup.h.
 */
#include "auth/auth_setup.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "archive/tlog.h"
#include "auth/auth_admin.h"
#include "auth/auth_token.h"
#include "common/irc_casemap.h"
#include "common/read_all.h"
#include "common/redis_acl.h"
#include "config/config.h"

#define SETUP_SHARE       "/usr/share/eirc"
#define SETUP_CREDS       "/etc/eirc/credentials"
#define SETUP_PACKAGE_DOM "chat.example.com"
#define SETUP_IRCD_ROLE   "eirc_inspircd"
#define SETUP_PW_ENV      "EIRC_SETUP_PASSWORD"
#define SETUP_UNITS       "eirc-auth", "eirc-history", "eirc-logger", "eirc-gateway"
/* The archive's signing key: a note signer named for the domain, not a
 * random password (docs/compliance.md, "Keys"). */
#define SETUP_SIGNING_KEY "EIRC_ARCHIVE_SIGNING_KEY"
#define SETUP_WITNESS     "/var/lib/eirc/witness.log"

/* Secrets no ${NAME} of eirc.yaml names but setup hands out: Redis's
 * default user (operators' redis-cli) and InspIRCd's database role. */
static const char *const extra_secrets[] = {"EIRC_REDIS_PASSWORD", "EIRC_INSPIRCD_DB_PASSWORD"};

typedef struct setup {
	const char *domain, *admin, *auditor, *config_path, *root, *pg_admin;
	bool no_start, chrooted;
	FILE *out, *err;
	eirc_config_t *cfg;
	FILE *report; /* /root/eirc-setup.txt, opened at the first password */
	bool restart_ircd, restart_redis;
} setup_t;

static void usage(FILE *f)
{
	fputs("Usage: eirc-auth setup --domain HOST --admin NICK --auditor NICK\n"
	      "                       [--config /etc/eirc/eirc.yaml] [--no-start]\n"
	      "                       [--root DIR] [--pg-admin CONNINFO]\n"
	      "Run as root after installing the package; see docs/deploy.md.\n",
	      f);
}

/* root + path into buf (PATH_MAX). */
static const char *at(const setup_t *s, const char *path, char *buf)
{
	snprintf(buf, PATH_MAX, "%s%s", s->chrooted ? s->root : "", path);
	return buf;
}

static bool domain_ok(const char *d)
{
	size_t n = strlen(d);

	if (n == 0 || n > AUTH_SETUP_DOMAIN_MAX || d[0] == '.' || d[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= 'A' && d[i] <= 'Z') ||
		      (d[i] >= '0' && d[i] <= '9') || d[i] == '.' || d[i] == '-'))
			return false;
	return true;
}

static int parse_args(setup_t *s, int argc, char **argv)
{
	enum { O_DOMAIN = 256, O_ADMIN, O_AUDITOR, O_CONFIG, O_NOSTART, O_ROOT, O_PGADMIN };
	static const struct option opts[] = {{"domain", required_argument, NULL, O_DOMAIN},
					     {"admin", required_argument, NULL, O_ADMIN},
					     {"auditor", required_argument, NULL, O_AUDITOR},
					     {"config", required_argument, NULL, O_CONFIG},
					     {"no-start", no_argument, NULL, O_NOSTART},
					     {"root", required_argument, NULL, O_ROOT},
					     {"pg-admin", required_argument, NULL, O_PGADMIN},
					     {NULL, 0, NULL, 0}};
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_DOMAIN:
			s->domain = optarg;
			break;
		case O_ADMIN:
			s->admin = optarg;
			break;
		case O_AUDITOR:
			s->auditor = optarg;
			break;
		case O_CONFIG:
			s->config_path = optarg;
			break;
		case O_NOSTART:
			s->no_start = true;
			break;
		case O_ROOT:
			s->root = optarg;
			break;
		case O_PGADMIN:
			s->pg_admin = optarg;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc || !s->domain || !s->admin || !s->auditor)
		return -EINVAL;
	if (!domain_ok(s->domain)) {
		fprintf(s->err, "eirc-auth setup: --domain %s is not a host name\n", s->domain);
		return -EINVAL;
	}
	s->chrooted = s->root && strcmp(s->root, "/") != 0;
	return 0;
}

/* ---- files ---- */

/* The whole file at path (at most AUTH_SETUP_TEMPLATE_MAX bytes) as a
 * NUL-terminated string, or NULL with errno set. */
static char *slurp(const char *path)
{
	char *buf = malloc(AUTH_SETUP_TEMPLATE_MAX + 1);
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (!buf || fd < 0) {
		r = errno;
		free(buf);
		if (fd >= 0)
			close(fd);
		errno = buf ? r : ENOMEM;
		return NULL;
	}
	r = read_all(fd, buf, AUTH_SETUP_TEMPLATE_MAX + 1, &len);
	close(fd);
	if (r < 0 || len > AUTH_SETUP_TEMPLATE_MAX) {
		free(buf);
		errno = r < 0 ? -r : EFBIG;
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/* Writes text to path through path.eirc-new and a rename, owned by uid:gid
 * with mode. 0 or a negative errno. */
static int write_file(const char *path, const char *text, uid_t uid, gid_t gid, mode_t mode)
{
	char tmp[PATH_MAX + 16];
	size_t len = strlen(text);
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), "%s.eirc-new", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0 ||
	    write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

/* mkdir -p of path's parent folders (mode 0755), root-owned. */
static void mkdir_parents(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
}

/* text with every "@NAME@" of vars (NAME, value pairs, NULL-ended)
 * replaced; malloc'd, or NULL. */
static char *render(const char *text, const char *const *vars)
{
	size_t cap = strlen(text) + 1, o = 0;
	char *out;

	for (const char *const *v = vars; v[0]; v += 2)
		cap += 64 * strlen(v[1]); /* generous: a few uses each */
	if (!(out = malloc(cap)))
		return NULL;
	for (const char *p = text; *p;) {
		const char *const *v = NULL;
		if (*p == '@')
			for (v = vars; v[0]; v += 2) {
				size_t n = strlen(v[0]);
				if (!strncmp(p + 1, v[0], n) && p[1 + n] == '@')
					break;
			}
		if (v && v[0]) {
			size_t n = strlen(v[1]);
			if (o + n >= cap)
				break;
			memcpy(out + o, v[1], n);
			o += n;
			p += strlen(v[0]) + 2;
		} else if (o + 1 < cap) {
			out[o++] = *p++;
		} else {
			break;
		}
	}
	out[o] = '\0';
	return out;
}

/* The template SETUP_SHARE/name rendered into dest (under --root), unless
 * dest already starts with the rendered first line (ours: kept, with any
 * edit of the operator's). An
 * existing other file is kept as dest.eirc-orig. Returns 1 written, 0
 * kept, -1 failed (said on err). */
static int install_template(setup_t *s, const char *name, const char *dest, const char *const *vars,
			    const char *group, mode_t mode)
{
	char tpath[PATH_MAX + 64], dpath[PATH_MAX], orig[PATH_MAX + 16];
	char *tmpl, *cur, *text;
	const struct group *g = group ? getgrnam(group) : NULL;
	size_t first;
	int r = 0;

	snprintf(tpath, sizeof(tpath), "%s" SETUP_SHARE "/%s", s->chrooted ? s->root : "", name);
	if (!(tmpl = slurp(tpath))) {
		fprintf(s->err, "eirc-auth setup: %s: %s\n", tpath, strerror(errno));
		return -1;
	}
	text = render(tmpl, vars);
	free(tmpl);
	if (!text)
		return -1;
	at(s, dest, dpath);
	first = strcspn(text, "\n");
	cur = slurp(dpath);
	if (cur && !strncmp(cur, text, first) && cur[first] == text[first]) {
		fprintf(s->out, "  %s: ours already, unchanged\n", dest);
		r = 0;
	} else {
		snprintf(orig, sizeof(orig), "%s.eirc-orig", dpath);
		if (cur && access(orig, F_OK) != 0 && rename(dpath, orig) == 0)
			fprintf(s->out, "  %s: the original kept as %s.eirc-orig\n", dest, dest);
		mkdir_parents(dpath);
		r = write_file(dpath, text, 0, g ? g->gr_gid : 0, mode);
		if (r < 0)
			fprintf(s->err, "eirc-auth setup: cannot write %s: %s\n", dpath,
				strerror(-r));
		else
			fprintf(s->out, "  %s: written\n", dest);
		r = r < 0 ? -1 : 1;
	}
	free(cur);
	sodium_memzero(text, strlen(text));
	free(text);
	return r;
}

/* ---- the steps ---- */

/* eirc.yaml names the package's chat.example.com: HOST in its place. */
static int step_domain(setup_t *s)
{
	char *text = slurp(s->config_path), *out;
	struct stat st;
	size_t n = strlen(SETUP_PACKAGE_DOM), o = 0, count = 0;
	int r;

	if (!text || stat(s->config_path, &st) < 0) {
		fprintf(s->err, "eirc-auth setup: %s: %s\n", s->config_path, strerror(errno));
		free(text);
		return -1;
	}
	for (const char *p = text; (p = strstr(p, SETUP_PACKAGE_DOM)); p += n)
		count++;
	if (count == 0) {
		fprintf(s->out, "domain: %s names no %s, unchanged\n", s->config_path,
			SETUP_PACKAGE_DOM);
		free(text);
		return 0;
	}
	if (!(out = malloc(strlen(text) + count * strlen(s->domain) + 1))) {
		free(text);
		return -1;
	}
	for (const char *p = text, *q; *p; p = q + n) {
		if (!(q = strstr(p, SETUP_PACKAGE_DOM))) {
			strcpy(out + o, p);
			o += strlen(p);
			break;
		}
		memcpy(out + o, p, (size_t)(q - p));
		o += (size_t)(q - p);
		memcpy(out + o, s->domain, strlen(s->domain));
		o += strlen(s->domain);
	}
	out[o] = '\0';
	r = write_file(s->config_path, out, st.st_uid, st.st_gid, st.st_mode & 07777);
	free(out);
	free(text);
	if (r < 0) {
		fprintf(s->err, "eirc-auth setup: cannot write %s: %s\n", s->config_path,
			strerror(-r));
		return -1;
	}
	fprintf(s->out, "domain: %s in %s (%zu places)\n", s->domain, s->config_path, count);
	return 0;
}

/* The package's integrity section (dist/eirc.yaml) for the domain. */
static const char integrity_section[] =
	"\n# The tamper-evident archive (docs/compliance.md): eirc-logger seals the\n"
	"# archive and signs its checkpoints, eirc-auth files them, seals the audit\n"
	"# log and publishes the public key at /.well-known/eirc-archive-key.\n"
	"integrity:\n"
	"  signing_key: ${" SETUP_SIGNING_KEY "} # eirc-logger and eirc-auth only\n"
	"  origin: %s/archive           # signed into every checkpoint: never change it\n"
	"  witness_file: " SETUP_WITNESS "\n";

/* A config without an integrity section (0.1's, kept by dpkg) gets the
 * package's, for the domain. */
static int step_integrity(setup_t *s)
{
	char *text = slurp(s->config_path), *out = NULL;
	struct stat st;
	size_t n;
	int r = -1;

	if (!text || stat(s->config_path, &st) < 0) {
		fprintf(s->err, "eirc-auth setup: %s: %s\n", s->config_path, strerror(errno));
		free(text);
		return -1;
	}
	if (strncmp(text, "integrity:", 10) == 0 || strstr(text, "\nintegrity:")) {
		fprintf(s->out, "integrity: %s has the section, unchanged\n", s->config_path);
		free(text);
		return 0;
	}
	n = strlen(text) + sizeof(integrity_section) + strlen(s->domain);
	if ((out = malloc(n)) != NULL) {
		size_t o = (size_t)snprintf(out, n, "%s", text);
		snprintf(out + o, n - o, integrity_section, s->domain);
		r = write_file(s->config_path, out, st.st_uid, st.st_gid, st.st_mode & 07777);
	}
	if (r < 0)
		fprintf(s->err, "eirc-auth setup: cannot write %s: %s\n", s->config_path,
			strerror(out ? -r : ENOMEM));
	else
		fprintf(s->out, "integrity: section added to %s (origin %s/archive)\n",
			s->config_path, s->domain);
	free(out);
	free(text);
	return r < 0 ? -1 : 0;
}

/* Every ${NAME} the file names, without needing their values. */
static const char *any_value(void *ud, const char *name)
{
	(void)ud;
	(void)name;
	return EIRC_CONFIG_VAR_UNREAD;
}

typedef struct secrets {
	setup_t *s;
	int created, kept, failed;
} secrets_t;

/* The value of a new secret NAME into value (cap bytes, newline ended):
 * the signing key for SETUP_SIGNING_KEY, else a random token. -EINVAL
 * when the domain is no key name. */
static int secret_value(const setup_t *s, const char *name, char *value, size_t cap)
{
	tlog_signer_t sg;
	int n;

	if (strcmp(name, SETUP_SIGNING_KEY) != 0) {
		auth_token_new(value);
		strcat(value, "\n");
		return 0;
	}
	if (tlog_signer_generate(s->domain, &sg) < 0)
		return -EINVAL;
	n = tlog_signer_format(&sg, value, cap - 1);
	sodium_memzero(&sg, sizeof(sg));
	if (n < 0)
		return n;
	value[n] = '\n';
	value[n + 1] = '\0';
	return 0;
}

static void secret_make(void *arg, const char *name)
{
	secrets_t *x = arg;
	char dir[PATH_MAX], path[PATH_MAX + 128], value[TLOG_SKEY_MAX + 2];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", at(x->s, SETUP_CREDS, dir), name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 && errno == EEXIST) {
		x->kept++;
		return;
	}
	if (fd >= 0 && secret_value(x->s, name, value, sizeof(value)) < 0) {
		fprintf(x->s->err, "eirc-auth setup: %s: --domain %s is not a key name\n", path,
			x->s->domain);
		x->failed++;
		close(fd);
		unlink(path);
		return;
	}
	if (fd < 0 || write(fd, value, strlen(value)) != (ssize_t)strlen(value)) {
		fprintf(x->s->err, "eirc-auth setup: cannot write %s: %s\n", path, strerror(errno));
		x->failed++;
	} else {
		fprintf(x->s->out, "  created %s\n", path);
		x->created++;
	}
	if (fd >= 0)
		close(fd);
	sodium_memzero(value, sizeof(value));
}

static int step_secrets(setup_t *s)
{
	eirc_config_vars_t any = {any_value, NULL, NULL};
	eirc_config_errors_t *errs = NULL;
	eirc_config_t *cfg = NULL;
	secrets_t x = {.s = s};
	char dir[PATH_MAX];

	fprintf(s->out, "secrets in %s:\n", SETUP_CREDS);
	mkdir_parents(at(s, SETUP_CREDS "/", dir));
	if (chmod(at(s, SETUP_CREDS, dir), 0700) < 0) {
		fprintf(s->err, "eirc-auth setup: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (eirc_config_load_vars(s->config_path, &any, &cfg, &errs) < 0) {
		if (errs)
			eirc_config_errors_print(errs, s->err);
		eirc_config_errors_free(errs);
		return -1;
	}
	eirc_config_env_refs(cfg, NULL, secret_make, &x);
	eirc_config_free(cfg);
	for (size_t i = 0; i < sizeof(extra_secrets) / sizeof(extra_secrets[0]); i++)
		secret_make(&x, extra_secrets[i]);
	fprintf(s->out, "  %d created, %d existed (unchanged)\n", x.created, x.kept);
	return x.failed ? -1 : 0;
}

static int load_config(setup_t *s)
{
	eirc_config_errors_t *errs = NULL;
	char dir[PATH_MAX];

	setenv("CREDENTIALS_DIRECTORY", at(s, SETUP_CREDS, dir), 1);
	if (eirc_config_load(s->config_path, &s->cfg, &errs) < 0) {
		if (errs)
			eirc_config_errors_print(errs, s->err);
		eirc_config_errors_free(errs);
		return -1;
	}
	return 0;
}

/* A value of /etc/eirc/credentials (setup made it), or NULL. */
static char *secret_read(setup_t *s, const char *name)
{
	char dir[PATH_MAX], path[PATH_MAX + 128], *v;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", at(s, SETUP_CREDS, dir), name);
	if (!(v = slurp(path)))
		return NULL;
	n = strlen(v);
	if (n > 0 && v[n - 1] == '\n')
		v[n - 1] = '\0';
	return v;
}

/* ---- PostgreSQL as its superuser ---- */

static int pg_exec(setup_t *s, PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
		fprintf(s->err, "eirc-auth setup: PostgreSQL: %s", PQerrorMessage(c));
	PQclear(r);
	return ok ? 0 : -1;
}

/* True when the query with one parameter returns a row. */
static int pg_exists(setup_t *s, PGconn *c, const char *sql, const char *param)
{
	PGresult *r = PQexecParams(c, sql, 1, NULL, &param, NULL, NULL, 0);
	int n = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : -1;

	if (n < 0)
		fprintf(s->err, "eirc-auth setup: PostgreSQL: %s", PQerrorMessage(c));
	PQclear(r);
	return n;
}

static int pg_role(setup_t *s, PGconn *c, const char *role, const char *password)
{
	char *id, *lit, sql[1024];
	int n = pg_exists(s, c, "SELECT 1 FROM pg_roles WHERE rolname = $1", role), r;

	if (n != 0) {
		if (n > 0)
			fprintf(s->out, "  role %s exists, unchanged\n", role);
		return n > 0 ? 0 : -1;
	}
	id = PQescapeIdentifier(c, role, strlen(role));
	lit = PQescapeLiteral(c, password, strlen(password));
	snprintf(sql, sizeof(sql), "CREATE ROLE %s LOGIN PASSWORD %s", id ? id : "",
		 lit ? lit : "");
	r = id && lit ? pg_exec(s, c, sql) : -1;
	sodium_memzero(sql, sizeof(sql));
	PQfreemem(id);
	PQfreemem(lit);
	if (r == 0)
		fprintf(s->out, "  role %s created\n", role);
	return r;
}

static int pg_database(setup_t *s, PGconn *c, const char *name, const char *owner)
{
	char *id, *own, sql[512];
	int n = pg_exists(s, c, "SELECT 1 FROM pg_database WHERE datname = $1", name), r;

	if (n != 0) {
		if (n > 0)
			fprintf(s->out, "  database %s exists, unchanged\n", name);
		return n > 0 ? 0 : -1;
	}
	id = PQescapeIdentifier(c, name, strlen(name));
	own = PQescapeIdentifier(c, owner, strlen(owner));
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s OWNER %s", id ? id : "", own ? own : "");
	r = id && own ? pg_exec(s, c, sql) : -1;
	PQfreemem(id);
	PQfreemem(own);
	if (r == 0)
		fprintf(s->out, "  database %s created, owned by %s\n", name, owner);
	return r;
}

/* The roles and the database, on a superuser connection; ircd_pw is
 * InspIRCd's role's password (read before becoming postgres). */
static int pg_superuser_steps(setup_t *s, PGconn *c, const char *ircd_pw)
{
	const eirc_config_auth_database_t *d = &s->cfg->auth.database;
	bool owner = auth_admin_has_owner(s->cfg);
	int r = 0;

	if (owner)
		r = pg_role(s, c, d->owner, d->owner_password ? d->owner_password : "");
	if (r == 0)
		r = pg_role(s, c, d->user, d->password ? d->password : "");
	if (r == 0)
		r = pg_role(s, c, SETUP_IRCD_ROLE, ircd_pw);
	if (r == 0)
		r = pg_database(s, c, d->name, owner ? d->owner : d->user);
	return r;
}

/* Connects as postgres over its socket (peer authentication) in a child
 * that has become the postgres user, or with --pg-admin in this process. */
static int step_pg_roles(setup_t *s)
{
	const struct passwd *pw;
	char *ircd_pw;
	PGconn *c;
	pid_t pid;
	int r, status;

	fprintf(s->out, "PostgreSQL:\n");
	if (!(ircd_pw = secret_read(s, "EIRC_INSPIRCD_DB_PASSWORD"))) {
		fprintf(s->err, "eirc-auth setup: %s/EIRC_INSPIRCD_DB_PASSWORD: %s\n", SETUP_CREDS,
			strerror(errno));
		return -1;
	}
	fflush(s->out);
	fflush(s->err);
	if (!s->pg_admin && !(pw = getpwnam("postgres"))) {
		fprintf(s->err, "eirc-auth setup: no postgres user: is PostgreSQL installed?\n");
		r = -1;
		goto free_pw;
	}
	if (!s->pg_admin && (pid = fork()) != 0) {
		r = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
				    WEXITSTATUS(status) == 0
			    ? 0
			    : -1;
		goto free_pw;
	}
	if (!s->pg_admin &&
	    (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)) {
		fprintf(s->err, "eirc-auth setup: cannot become postgres: %s\n", strerror(errno));
		_exit(1);
	}
	c = PQconnectdb(s->pg_admin ? s->pg_admin : "dbname=postgres");
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(s->err,
			"eirc-auth setup: cannot connect to PostgreSQL as its superuser: %s",
			PQerrorMessage(c));
		r = -1;
	} else {
		PQclear(PQexec(c, "SET client_min_messages = warning"));
		r = pg_superuser_steps(s, c, ircd_pw);
	}
	PQfinish(c);
	if (!s->pg_admin) {
		fflush(s->out);
		fflush(s->err);
		_exit(r == 0 ? 0 : 1);
	}
free_pw:
	sodium_memzero(ircd_pw, strlen(ircd_pw));
	free(ircd_pw);
	return r;
}

/* argv for auth_admin_main, NULL-ended. */
static int admin(setup_t *s, const char *const *argv)
{
	int n = 0;

	while (argv[n])
		n++;
	return auth_admin_main(s->cfg, n, (char **)argv, s->out, s->err) == 0 ? 0 : -1;
}

static int step_migrate(setup_t *s)
{
	static const char *const migrate[] = {"migrate", NULL};
	char sql[256];
	eirc_err_t err;
	PGconn *c;
	int r;

	fprintf(s->out, "schema:\n  ");
	if (admin(s, migrate) < 0)
		return -1;
	/* InspIRCd's role reads what <eircaccount native="authenticated"> needs */
	if (auth_admin_connect(s->cfg, true, &c, &err) < 0) {
		fprintf(s->err, "eirc-auth setup: %s\n", err.text);
		return -1;
	}
	snprintf(sql, sizeof(sql),
		 "GRANT SELECT (id, nick, nick_folded, password_hash, disabled) ON users TO %s",
		 SETUP_IRCD_ROLE);
	r = pg_exec(s, c, sql);
	PQfinish(c);
	if (r == 0)
		fprintf(s->out, "  %s may read the users' nicks and password hashes\n",
			SETUP_IRCD_ROLE);
	return r;
}

static int report_line(setup_t *s, const char *role, const char *nick, const char *pw)
{
	char path[PATH_MAX];

	if (!s->report) {
		int fd = open(at(s, "/root/eirc-setup.txt", path),
			      O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0 || fchmod(fd, 0600) < 0 || !(s->report = fdopen(fd, "a"))) {
			fprintf(s->err, "eirc-auth setup: cannot write %s: %s\n", path,
				strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
	}
	fprintf(s->report, "%s %s %s\n", role, nick, pw);
	return fflush(s->report) == 0 ? 0 : -1;
}

/* One of the first accounts, with a generated password, unless NICK exists. */
static int step_user(setup_t *s, const char *role, const char *nick)
{
	const char *add[] = {"user",           "add",        nick, "--role", role,
			     "--password-env", SETUP_PW_ENV, NULL};
	char folded[64], pw[AUTH_TOKEN_LEN + 1];
	const char *p = folded;
	eirc_err_t err;
	PGconn *c;
	int n, r;

	if (auth_admin_connect(s->cfg, false, &c, &err) < 0) {
		fprintf(s->err, "eirc-auth setup: %s\n", err.text);
		return -1;
	}
	irc_casemap_fold_str(IRC_CASEMAP_RFC1459, nick, folded, sizeof(folded));
	n = pg_exists(s, c, "SELECT 1 FROM users WHERE nick_folded = $1", p);
	PQfinish(c);
	if (n != 0) {
		if (n > 0)
			fprintf(s->out, "%s %s exists, unchanged\n", role, nick);
		return n > 0 ? 0 : -1;
	}
	auth_token_new(pw);
	setenv(SETUP_PW_ENV, pw, 1);
	r = admin(s, add);
	unsetenv(SETUP_PW_ENV);
	if (r == 0 && (r = report_line(s, role, nick, pw)) == 0)
		fprintf(s->out, "%s %s password: %s (shown once; also in /root/eirc-setup.txt)\n",
			role, nick, pw);
	sodium_memzero(pw, sizeof(pw));
	return r;
}

/* The OAuth client eirc-history introspects with, its secret the one in
 * the credentials (history.introspect_client_secret). */
static int step_client(setup_t *s)
{
	const eirc_config_history_t *h = &s->cfg->history;
	const char *add[] = {
		"client",  "add",     h->introspect_client_id, "--grants",   "client_credentials",
		"--scope", "history", "--secret-env",          SETUP_PW_ENV, NULL};
	const char *id = h->introspect_client_id;
	eirc_err_t err;
	PGconn *c;
	int n, r;

	if (!id || !h->introspect_client_secret) {
		fprintf(s->out, "OAuth client: history.introspect_client_id unset, none made\n");
		return 0;
	}
	if (auth_admin_connect(s->cfg, false, &c, &err) < 0) {
		fprintf(s->err, "eirc-auth setup: %s\n", err.text);
		return -1;
	}
	n = pg_exists(s, c, "SELECT 1 FROM oauth_clients WHERE client_id = $1", id);
	PQfinish(c);
	if (n != 0) {
		if (n > 0)
			fprintf(s->out, "OAuth client %s exists, unchanged\n", id);
		return n > 0 ? 0 : -1;
	}
	setenv(SETUP_PW_ENV, h->introspect_client_secret, 1);
	r = admin(s, add);
	unsetenv(SETUP_PW_ENV);
	if (r == 0)
		fprintf(s->out, "OAuth client %s created (its secret: %s/%s)\n", id, SETUP_CREDS,
			"EIRC_HISTORY_CLIENT_SECRET");
	return r;
}

static int step_inspircd(setup_t *s)
{
	const char *vars[] = {"SERVER_NAME",
			      s->domain,
			      "NETWORK",
			      s->cfg->irc.network,
			      "WEBIRC_PASSWORD",
			      s->cfg->irc.webirc_password ? s->cfg->irc.webirc_password : "",
			      "CAPTURE_PASSWORD",
			      s->cfg->logger.irc_password ? s->cfg->logger.irc_password : "",
			      NULL};
	const char *none[] = {NULL};
	int a, b;

	fprintf(s->out, "InspIRCd:\n");
	a = install_template(s, "inspircd/inspircd.conf", "/etc/inspircd/inspircd.conf", vars,
			     "irc", 0640);
	b = install_template(s, "inspircd/limits.conf",
			     "/etc/systemd/system/inspircd.service.d/eirc-limits.conf", none, NULL,
			     0644);
	s->restart_ircd = a > 0 || b > 0;
	return a < 0 || b < 0 ? -1 : 0;
}

/* Half of the host's memory, in MiB, for Redis's maxmemory (the rest for
 * the AOF rewrite's fork, the daemons and the sessions); 0 when unknown. */
static unsigned long redis_maxmemory_mib(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	unsigned long kib = 0;
	char line[256];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %lu kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib / 2048;
}

/* Redis's answer to one command as text ("" for none), malloc'd; NULL when
 * no answer came or it was an error (said on err, with what). */
static char *redis_ask(setup_t *s, redisContext *c, const char *what, const char *fmt, ...)
{
	va_list ap;
	redisReply *r;
	char *text = NULL;

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (!r || r->type == REDIS_REPLY_ERROR)
		fprintf(s->err, "eirc-auth setup: Redis: %s: %s\n", what, r ? r->str : c->errstr);
	else
		text = strdup(r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS
				      ? r->str
				      : "");
	freeReplyObject(r);
	return text;
}

/* Turns Redis's AOF on in the running server and waits for the rewrite
 * that writes everything it holds into it: a Redis 7 restarted with
 * `appendonly yes` and no AOF yet starts from an empty AOF and drops its
 * RDB snapshot, so turning it on by the config file alone loses the data
 * (seen on an upgrade from 0.1.0). 0, or -1 (said on err). */
static int redis_aof_on(setup_t *s)
{
	const eirc_config_redis_t *rc = &s->cfg->redis;
	struct timeval tv = {.tv_sec = 5};
	redisContext *c = redisConnectWithTimeout(rc->host, (int)rc->port, tv);
	char *pw = NULL, *info = NULL;
	int r = -1;

	if (!c || c->err) {
		fprintf(s->err, "eirc-auth setup: Redis at %s:%u: %s\n", rc->host,
			(unsigned)rc->port, c ? c->errstr : "out of memory");
		goto out;
	}
	redisSetTimeout(c, tv);
	/* the default user has a password once our ACL file is loaded */
	redisReply *ping = redisCommand(c, "PING");
	bool noauth = ping && ping->type == REDIS_REPLY_ERROR && !strncmp(ping->str, "NOAUTH", 6);

	freeReplyObject(ping);
	if (noauth && (!(pw = secret_read(s, "EIRC_REDIS_PASSWORD")) ||
		       !(info = redis_ask(s, c, "AUTH", "AUTH default %s", pw))))
		goto out;
	for (int i = 0; i < 600; i++) { /* up to 60 s */
		free(info);
		if (!(info = redis_ask(s, c, "INFO persistence", "INFO persistence")))
			goto out;
		bool on = strstr(info, "aof_enabled:1"),
		     idle = strstr(info, "aof_rewrite_in_progress:0") &&
			    strstr(info, "aof_rewrite_scheduled:0");
		if (on && idle) {
			if (!strstr(info, "aof_last_bgrewrite_status:ok")) {
				fprintf(s->err, "eirc-auth setup: Redis: the AOF rewrite failed: "
						"see its log\n");
				goto out;
			}
			fprintf(s->out, "  Redis: AOF on, everything it holds written to it\n");
			r = 0;
			goto out;
		}
		if (!on && i == 0) {
			free(info);
			if (!(info = redis_ask(s, c, "CONFIG SET appendonly yes",
					       "CONFIG SET appendonly yes")))
				goto out;
		}
		usleep(100 * 1000);
	}
	fprintf(s->err, "eirc-auth setup: Redis: the AOF rewrite took more than 60 s\n");
out:
	if (pw) {
		sodium_memzero(pw, strlen(pw));
		free(pw);
	}
	free(info);
	redisFree(c);
	return r;
}

/* /etc/redis/eirc.conf (what eIRC needs of Redis: durable, never evicting,
 * capped, the daemons' users; written once) and the line of redis.conf
 * that includes it last, so that it overrides Debian's defaults. 0 or -1
 * (said on err). */
static int redis_conf(setup_t *s, const char *conf)
{
	static const char line_want[] = "include /etc/redis/eirc.conf";
	char path[PATH_MAX], text[1024], maxmem[64] = "# maxmemory: the host's RAM is unknown";
	const struct passwd *pw = getpwnam("redis");
	unsigned long mib = redis_maxmemory_mib();
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	bool found = false;
	int r;

	at(s, "/etc/redis/eirc.conf", path);
	if (access(path, F_OK) == 0) {
		fprintf(s->out, "  /etc/redis/eirc.conf exists, unchanged\n");
	} else {
		if (!s->chrooted && redis_aof_on(s) < 0)
			return -1;
		if (mib)
			snprintf(maxmem, sizeof(maxmem), "maxmemory %lumb", mib);
		snprintf(text, sizeof(text),
			 "# eirc-auth setup: what eIRC needs of Redis (docs/operations.md, "
			 "\"Redis\")\n"
			 "appendonly yes\nappendfsync everysec\nmaxmemory-policy noeviction\n"
			 "%s\naclfile /etc/redis/eirc-users.acl\n",
			 maxmem);
		mkdir_parents(path);
		r = write_file(path, text, pw ? pw->pw_uid : 0, pw ? pw->pw_gid : 0, 0640);
		if (r < 0) {
			fprintf(s->err, "eirc-auth setup: cannot write %s: %s\n", path,
				strerror(-r));
			return -1;
		}
		fprintf(s->out,
			"  /etc/redis/eirc.conf: appendonly, noeviction, maxmemory %lu MiB\n", mib);
		s->restart_redis = true;
	}
	if (!(f = fopen(conf, "re"))) {
		fprintf(s->err, "eirc-auth setup: %s: %s\n", conf, strerror(errno));
		return -1;
	}
	while (!found && getline(&line, &cap, f) > 0)
		found = !strncmp(line, line_want, sizeof(line_want) - 1) &&
			(line[sizeof(line_want) - 1] == '\n' || !line[sizeof(line_want) - 1]);
	free(line);
	fclose(f);
	if (found)
		return 0;
	if (!(f = fopen(conf, "ae")) ||
	    fprintf(f, "\n# eirc-auth setup: eIRC's settings, last so that they win\n%s\n",
		    line_want) < 0 ||
	    fclose(f) != 0) {
		fprintf(s->err, "eirc-auth setup: cannot append to %s: %s\n", conf,
			strerror(errno));
		return -1;
	}
	fprintf(s->out, "  /etc/redis/redis.conf: includes /etc/redis/eirc.conf\n");
	s->restart_redis = true;
	return 0;
}

/* The daemons' ACL lines (common/redis_acl) into text; its length or -1. */
static int acl_lines(setup_t *s, char *text, size_t cap)
{
	static const enum redis_acl_role roles[] = {REDIS_ACL_AUTH, REDIS_ACL_GATEWAY,
						    REDIS_ACL_LOGGER, REDIS_ACL_HISTORY};
	const eirc_config_t *cfg = s->cfg;
	const char *names[] = {cfg->auth.redis_username, cfg->gateway.redis_username,
			       cfg->logger.redis_username, cfg->history.redis_username};
	const char *pws[] = {cfg->auth.redis_password, cfg->gateway.redis_password,
			     cfg->logger.redis_password, cfg->history.redis_password};
	size_t o = 0;
	int r;

	text[0] = '\0';
	for (size_t i = 0; i < 4; i++) {
		if (!names[i] || !pws[i])
			continue; /* that daemon logs in as the default user */
		r = redis_acl_line(roles[i], names[i], pws[i], cfg->irc.network,
				   (int)cfg->redis.partitions, text + o, cap - o);
		if (r < 0)
			return -1;
		o += (size_t)r;
	}
	return (int)o;
}

/* In fresh (the daemons' lines), the line of user name[0..n) or NULL. */
static const char *acl_find(const char *fresh, const char *name, size_t n)
{
	for (const char *p = fresh; *p; p = strchr(p, '\n') + 1)
		if (strncmp(p, "user ", 5) == 0 && strncmp(p + 5, name, n) == 0 && p[5 + n] == ' ')
			return p;
	return NULL;
}

/*
 * An existing ACL file after an upgrade: each daemon's line gets this
 * version's rules (a new command or key, as the integrity issue's
 * checkpoints), its password kept as the file has it (">pw", or "#hash"
 * after ACL SAVE); every other line is kept. Returns 1 when out (malloc'd)
 * differs from old, 0 when not, -1.
 */
static int acl_update(const char *old, const char *fresh, char **out)
{
	size_t cap = strlen(old) + strlen(fresh) + 2, o = 0;
	char *t = malloc(cap);

	if (!(*out = t))
		return -1;
	for (const char *p = old, *e; *p; p = *e ? e + 1 : e) {
		const char *name = p + 5, *f, *pw, *rules;
		size_t n = strcspn(name, " \n");

		e = p + strcspn(p, "\n");
		if (strncmp(p, "user ", 5) == 0 && (f = acl_find(fresh, name, n)) &&
		    (pw = strpbrk(p, ">#")) && pw < e && (rules = strchr(strchr(f, '>'), ' '))) {
			size_t pwlen = strcspn(pw, " \n");
			o += (size_t)snprintf(t + o, cap - o, "user %.*s on %.*s%.*s\n", (int)n,
					      name, (int)pwlen, pw, (int)strcspn(rules, "\n"),
					      rules);
		} else {
			o += (size_t)snprintf(t + o, cap - o, "%.*s\n", (int)(e - p), p);
		}
	}
	return strcmp(t, old) != 0;
}

/* The file exists: updated to this version's rules when they changed. */
static int acl_refresh(setup_t *s, const char *path, const char *fresh)
{
	const struct passwd *pw = getpwnam("redis");
	char *old = slurp(path), *text = NULL;
	int r = old ? acl_update(old, fresh, &text) : -1;

	if (r == 1)
		r = write_file(path, text, pw ? pw->pw_uid : 0, pw ? pw->pw_gid : 0, 0600);
	else if (r == 0)
		fprintf(s->out, "  /etc/redis/eirc-users.acl exists, unchanged\n");
	if (r == 0 && text && strcmp(text, old) != 0) {
		fprintf(s->out, "  /etc/redis/eirc-users.acl: the daemons' rules updated\n");
		s->restart_redis = true;
	}
	if (old)
		sodium_memzero(old, strlen(old));
	if (text)
		sodium_memzero(text, strlen(text));
	free(old);
	free(text);
	if (r < 0)
		fprintf(s->err, "eirc-auth setup: cannot update %s\n", path);
	return r < 0 ? -1 : 0;
}

/* Redis's ACL file: the default user for operators, each daemon's own
 * (common/redis_acl), and redis.conf told to read it. */
static int step_redis(setup_t *s)
{
	char path[PATH_MAX], conf[PATH_MAX], *text, *def;
	size_t cap = 5 * REDIS_ACL_LINE_MAX, o;
	const struct passwd *pw = getpwnam("redis");
	int r;

	fprintf(s->out, "Redis:\n");
	at(s, "/etc/redis/eirc-users.acl", path);
	/* redis.conf (Debian's is 100 KiB: read by lines): aclfile, once */
	at(s, "/etc/redis/redis.conf", conf);
	if (!(text = malloc(cap)))
		return -1;
	if (access(path, F_OK) == 0) {
		r = acl_lines(s, text, cap) < 0 ? -1 : acl_refresh(s, path, text);
		sodium_memzero(text, cap);
		free(text);
		return r < 0 ? -1 : redis_conf(s, conf);
	}
	if (!(def = secret_read(s, "EIRC_REDIS_PASSWORD"))) {
		fprintf(s->err, "eirc-auth setup: %s/EIRC_REDIS_PASSWORD: %s\n", SETUP_CREDS,
			strerror(errno));
		free(text);
		return -1;
	}
	o = (size_t)snprintf(text, cap, "user default on >%s ~* &* +@all\n", def);
	r = acl_lines(s, text + o, cap - o) < 0 ? -ENOBUFS : 0;
	if (r == 0) {
		mkdir_parents(path);
		r = write_file(path, text, pw ? pw->pw_uid : 0, pw ? pw->pw_gid : 0, 0600);
	}
	sodium_memzero(text, cap);
	sodium_memzero(def, strlen(def));
	free(text);
	free(def);
	if (r < 0) {
		fprintf(s->err, "eirc-auth setup: cannot write %s: %s\n", path, strerror(-r));
		return -1;
	}
	fprintf(s->out, "  /etc/redis/eirc-users.acl: written\n");
	s->restart_redis = true;
	return redis_conf(s, conf);
}

static int step_nginx(setup_t *s)
{
	const char *vars[] = {"DOMAIN", s->domain, NULL};
	char avail[PATH_MAX], enabled[PATH_MAX];

	fprintf(s->out, "nginx:\n");
	if (install_template(s, "nginx-eirc.conf", "/etc/nginx/sites-available/eirc", vars, NULL,
			     0644) < 0)
		return -1;
	at(s, "/etc/nginx/sites-enabled/eirc", enabled);
	mkdir_parents(enabled);
	if (symlink("/etc/nginx/sites-available/eirc", enabled) == 0)
		fprintf(s->out, "  /etc/nginx/sites-enabled/eirc: enabled\n");
	else if (errno != EEXIST)
		return -1;
	if (access(at(s, "/etc/eirc/tls/fullchain.pem", avail), R_OK) != 0 ||
	    access(at(s, "/etc/eirc/tls/privkey.pem", avail), R_OK) != 0)
		fprintf(s->out, "  no certificate yet: put it in /etc/eirc/tls/fullchain.pem and "
				"privkey.pem, then systemctl reload nginx\n");
	return 0;
}

/* ---- systemd ---- */

static int systemctl(setup_t *s, const char *const *args)
{
	const char *argv[16] = {"systemctl"};
	size_t n = 1;
	pid_t pid;
	int status;

	for (; *args && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	fflush(s->out);
	fflush(s->err);
	if ((pid = fork()) == 0) {
		execvp("systemctl", (char **)argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* The servers eIRC needs, running before the database steps. */
static int step_servers(setup_t *s)
{
	static const char *const start[] = {"enable",     "--now",        "--quiet",
					    "postgresql", "redis-server", NULL};

	if (s->chrooted)
		return 0;
	if (systemctl(s, start) < 0) {
		fprintf(s->err, "eirc-auth setup: systemctl enable --now postgresql redis-server "
				"failed\n");
		return -1;
	}
	return 0;
}

static int step_units(setup_t *s)
{
	static const char *const reload[] = {"daemon-reload", NULL};
	static const char *const redis[] = {"restart", "redis-server", NULL};
	static const char *const ircd[] = {"enable", "--quiet", "inspircd", NULL};
	static const char *const ircd_restart[] = {"restart", "inspircd", NULL};
	static const char *const ircd_start[] = {"start", "inspircd", NULL};
	static const char *const nginx[] = {"enable", "--quiet", "nginx", NULL};
	static const char *const nginx_reload[] = {"reload-or-restart", "nginx", NULL};
	static const char *const enable[] = {"enable", "--quiet", SETUP_UNITS, NULL};
	static const char *const start[] = {"start", SETUP_UNITS, NULL};
	char cert[PATH_MAX];

	if (s->chrooted)
		return 0;
	systemctl(s, reload);
	if (s->restart_redis && systemctl(s, redis) < 0)
		return -1;
	if (systemctl(s, ircd) < 0 ||
	    systemctl(s, s->restart_ircd ? ircd_restart : ircd_start) < 0) {
		fprintf(s->err,
			"eirc-auth setup: InspIRCd did not start: journalctl -u inspircd\n");
		return -1;
	}
	systemctl(s, nginx);
	if (access(at(s, "/etc/eirc/tls/fullchain.pem", cert), R_OK) == 0 &&
	    systemctl(s, nginx_reload) < 0)
		fprintf(s->err,
			"eirc-auth setup: nginx did not take the site: nginx -t says why\n");
	if (systemctl(s, enable) < 0)
		return -1;
	if (s->no_start) {
		fprintf(s->out, "units: enabled, not started (--no-start)\n");
		return 0;
	}
	if (systemctl(s, start) < 0) {
		fprintf(s->err,
			"eirc-auth setup: a unit did not start: systemctl status 'eirc-*'\n");
		return -1;
	}
	fprintf(s->out, "units: eirc-auth, eirc-history, eirc-logger, eirc-gateway running\n");
	return 0;
}

static void next_steps(setup_t *s)
{
	fprintf(s->out,
		"\nDone. Next:\n"
		"  - the certificate for %s in /etc/eirc/tls/fullchain.pem and privkey.pem,\n"
		"    then: systemctl reload nginx\n"
		"  - sign in at https://%s/ as %s (password above, and in\n"
		"    /root/eirc-setup.txt: delete that file once noted)\n"
		"  - rooms and users (the admin commands read the secrets from the\n"
		"    credentials): CREDENTIALS_DIRECTORY=/etc/eirc/credentials \\\n"
		"      eirc-auth -c %s room add '#general' --auto-join\n"
		"  - check: systemctl status 'eirc-*'; journalctl -p err -u 'eirc-*'\n"
		"  - back up: eirc-backup /var/backups/eirc (docs/deploy.md)\n",
		s->domain, s->domain, s->admin, s->config_path);
}

int auth_setup_main(int argc, char **argv, FILE *out, FILE *err)
{
	setup_t s = {.config_path = "/etc/eirc/eirc.yaml", .out = out, .err = err};
	int r;

	if (parse_args(&s, argc, argv) < 0) {
		usage(err);
		return 2;
	}
	if (!s.chrooted && geteuid() != 0) {
		fprintf(err, "eirc-auth setup: run it as root\n");
		return 1;
	}
	r = step_domain(&s);
	if (r == 0)
		r = step_integrity(&s);
	if (r == 0)
		r = step_secrets(&s);
	if (r == 0)
		r = load_config(&s);
	if (r == 0)
		r = step_servers(&s);
	if (r == 0)
		r = step_pg_roles(&s);
	if (r == 0)
		r = step_migrate(&s);
	if (r == 0)
		r = step_user(&s, "admin", s.admin);
	if (r == 0)
		r = step_user(&s, "auditor", s.auditor);
	if (r == 0)
		r = step_client(&s);
	if (r == 0)
		r = step_inspircd(&s);
	if (r == 0)
		r = step_redis(&s);
	if (r == 0)
		r = step_nginx(&s);
	if (r == 0)
		r = step_units(&s);
	if (s.report)
		fclose(s.report);
	eirc_config_free(s.cfg);
	if (r < 0) {
		fprintf(err, "eirc-auth setup: stopped; what is done is kept: run it again once "
			     "fixed\n");
		return 1;
	}
	next_steps(&s);
	return 0;
}
