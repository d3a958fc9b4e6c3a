/*
 * auth_admin: user, room and client administration. See auth_admin.h.
 */
#include "auth/auth_admin.h"

#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "auth/auth_bus.h"
#include "auth/auth_migrate.h"
#include "auth/auth_parse.h"
#include "auth/auth_pwhash.h"
#include "auth/auth_room.h"
#include "auth/auth_token.h"
#include "common/irc_casemap.h"
#include "common/irc_nick.h"

#define OPT_MAX 8

typedef struct admin_opts {
	const char *pos[4]; /* positional arguments after the verb */
	int npos;
	const char *keys[OPT_MAX];
	const char *vals[OPT_MAX];
	int nopt;
} admin_opts_t;

typedef struct admin {
	const eirc_config_t *cfg;
	PGconn *pg;
	FILE *out, *err;
	char actor[64];
	admin_opts_t o;
} admin_t;

void auth_admin_usage(FILE *out)
{
	fputs("First set-up of a host, as root (docs/deploy.md; its own options, the\n"
	      "config by --config, default /etc/eirc/eirc.yaml):\n"
	      "  setup --domain HOST --admin NICK --auditor NICK [--config FILE] [--no-start]\n"
	      "Administration (uses auth.database of the config):\n"
	      "  migrate                          apply pending schema migrations\n"
	      "  user add NICK [--display-name N] [--email E] [--role user|admin|auditor]\n"
	      "               [--autojoin '#a,#b'] [--password-stdin | --password-env VAR]\n"
	      "                                   (no password option: one is generated\n"
	      "                                    and printed)\n"
	      "  user passwd NICK [--password-stdin | --password-env VAR]\n"
	      "  user disable NICK | user enable NICK\n"
	      "                                   (disable revokes every token of NICK)\n"
	      "  user role NICK user|admin|auditor\n"
	      "  user del NICK                    delete the account\n"
	      "  user list\n"
	      "  room add NAME [--topic T] [--private] [--auto-join]\n"
	      "                                   (private exactly when NAME matches\n"
	      "                                    irc_client.private_room_masks)\n"
	      "  room del NAME | room list\n"
	      "  room member add ROOM NICK | room member del ROOM NICK\n"
	      "  room member list ROOM\n"
	      "  client add CLIENT_ID [--name N] [--grants g1,g2] [--scope 's1 s2']\n"
	      "               [--public]      (prints the generated secret once)\n"
	      "               [--secret-env VAR]  (the secret from VAR, 32-43 bytes)\n"
	      "  client list\n",
	      out);
}

/* "relation already exists, skipping" and friends are not for operators */
static void quiet_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

bool auth_admin_has_owner(const eirc_config_t *cfg)
{
	const eirc_config_auth_database_t *d = &cfg->auth.database;

	return d->owner && d->owner[0] && strcmp(d->owner, d->user) != 0;
}

int auth_admin_connect(const eirc_config_t *cfg, bool owner, PGconn **out_conn, eirc_err_t *out_err)
{
	const eirc_config_auth_database_t *d = &cfg->auth.database;
	bool as_owner = owner && auth_admin_has_owner(cfg);
	const char *password = as_owner ? d->owner_password : d->password;
	char port[16], timeout[24];
	const char *k[] = {
		"host", "port", "dbname", "user", "password", "connect_timeout", "application_name",
		NULL};
	const char *v[] = {d->host,  port,    d->name,     as_owner ? d->owner : d->user,
			   password, timeout, "eirc-auth", NULL};
	PGconn *c;

	snprintf(port, sizeof(port), "%d", d->port);
	snprintf(timeout, sizeof(timeout), "%llu",
		 (unsigned long long)(d->connect_timeout + 999) / 1000);
	if (!password) {
		k[4] = "connect_timeout";
		v[4] = timeout;
		k[5] = "application_name";
		v[5] = "eirc-auth";
		k[6] = NULL;
		v[6] = NULL;
	}
	c = PQconnectdbParams(k, v, 0);
	if (c)
		PQsetNoticeProcessor(c, quiet_notice, NULL);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		const char *msg = c ? PQerrorMessage(c) : "out of memory";
		size_t n = strlen(msg);

		if (n > 0 && msg[n - 1] == '\n') /* libpq's end with one */
			n--;
		eirc_err_set(out_err, -EIO, "%.*s", (int)n, msg);
		PQfinish(c);
		return -EIO;
	}
	*out_conn = c;
	return 0;
}

static const char *opt(const admin_t *a, const char *key)
{
	for (int i = 0; i < a->o.nopt; i++)
		if (strcmp(a->o.keys[i], key) == 0)
			return a->o.vals[i] ? a->o.vals[i] : "";
	return NULL;
}

/* Splits argv into positionals and --options; flags take no value. */
static int parse_opts(int argc, char **argv, admin_opts_t *o)
{
	static const char *const flags[] = {"--password-stdin", "--private", "--auto-join",
					    "--public", NULL};

	memset(o, 0, sizeof(*o));
	for (int i = 0; i < argc; i++) {
		bool flag = false;
		if (strncmp(argv[i], "--", 2) != 0) {
			if (o->npos == 4)
				return -EINVAL;
			o->pos[o->npos++] = argv[i];
			continue;
		}
		if (o->nopt == OPT_MAX)
			return -EINVAL;
		for (int f = 0; flags[f]; f++)
			flag |= strcmp(argv[i], flags[f]) == 0;
		o->keys[o->nopt] = argv[i];
		if (!flag) {
			if (i + 1 >= argc)
				return -EINVAL;
			o->vals[o->nopt] = argv[++i];
		}
		o->nopt++;
	}
	return 0;
}

/* Runs a parameterised statement; prints the error and returns NULL. */
static PGresult *run(admin_t *a, const char *sql, int n, const char *const *p)
{
	PGresult *r = PQexecParams(a->pg, sql, n, NULL, p, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return r;
	fprintf(a->err, "eirc-auth: %s", PQresultErrorMessage(r));
	PQclear(r);
	return NULL;
}

/* Runs the INSERT that creates `what` (room, client) named `name`: 0 and
 * "created <what> <name>" on a->out, or 1 with the error printed. */
static int create(admin_t *a, const char *sql, int n, const char *const *p, const char *what,
		  const char *name)
{
	PGresult *r = run(a, sql, n, p);

	if (!r)
		return 1;
	PQclear(r);
	fprintf(a->out, "created %s %s\n", what, name);
	return 0;
}

/* Writes an audit row (actor "cli:<login>", time now()); false if it
 * failed (the error is printed). */
static bool audit(admin_t *a, const char *event, const char *subject, const char *detail_json)
{
	const char *p[4] = {event, a->actor, subject, detail_json};
	PGresult *r = run(a,
			  "INSERT INTO audit_log (event, actor, subject, detail)"
			  " VALUES ($1, $2, $3, $4::jsonb)",
			  4, p);
	PQclear(r);
	return r != NULL;
}

static bool nick_ok(const char *s)
{
	const char *specials = "[]\\`_^{|}";
	size_t n = strlen(s);

	if (n < 1 || n > IRC_NICK_MAX ||
	    !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') ||
	      strchr(specials, s[0])))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || strchr(specials, s[i])))
			return false;
	return true;
}

/* Gets the password from stdin, the environment, or generates one. */
static int get_password(admin_t *a, char *buf, size_t cap, bool *generated)
{
	const char *env = opt(a, "--password-env");
	size_t n;

	*generated = false;
	if (opt(a, "--password-stdin")) {
		if (!fgets(buf, (int)cap, stdin))
			return -EINVAL;
		buf[strcspn(buf, "\r\n")] = '\0';
	} else if (env) {
		const char *v = getenv(env);
		if (!v || strlen(v) >= cap)
			return -EINVAL;
		snprintf(buf, cap, "%s", v);
	} else {
		unsigned char raw[12];
		randombytes_buf(raw, sizeof(raw));
		sodium_bin2base64(buf, cap, raw, sizeof(raw),
				  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		*generated = true;
	}
	n = strlen(buf);
	return n >= AUTH_PASSWORD_MIN && n <= AUTH_PASSWORD_MAX ? 0 : -ERANGE;
}

static int hash_password(admin_t *a, char *pw, char hash[crypto_pwhash_STRBYTES], bool *generated)
{
	int r = get_password(a, pw, AUTH_PASSWORD_MAX + 2, generated);

	if (r < 0) {
		fprintf(a->err, "eirc-auth: the password must be %d to %d bytes\n",
			AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX);
		return -EINVAL;
	}
	if (auth_pwhash_hash(pw, (unsigned long long)a->cfg->auth.password_hash_ops,
			     (size_t)a->cfg->auth.password_hash_memory, hash) < 0) {
		fprintf(a->err, "eirc-auth: cannot hash the password (memory)\n");
		return -ENOMEM;
	}
	return 0;
}

/* "#a,#b" -> {"autojoin": ["#a", "#b"]}; a new reference, NULL when out
 * of memory. */
static json_t *autojoin_prefs(const char *list)
{
	json_t *arr = json_array();
	char *copy = strdup(list ? list : ""), *save = NULL;

	if (!arr || !copy) {
		json_decref(arr);
		free(copy);
		return NULL;
	}
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (*t)
			json_array_append_new(arr, json_string(t));
	free(copy);
	/* "o" takes over the reference to arr */
	return json_pack("{s:o}", "autojoin", arr);
}

static int user_add(admin_t *a)
{
	const char *nick = a->o.pos[0], *role = opt(a, "--role");
	const char *dn = opt(a, "--display-name"), *email = opt(a, "--email");
	char folded[64], pw[AUTH_PASSWORD_MAX + 2], hash[crypto_pwhash_STRBYTES];
	json_t *prefs_json;
	char *prefs;
	bool gen;
	PGresult *r;
	int rc = 1;

	if (!nick || !nick_ok(nick) || (dn && !auth_text_ok(dn, 128))) {
		fprintf(a->err, "eirc-auth: NICK must be an IRC nick (1-30 "
				"letters, digits, - and []`_^{}, no leading digit)\n");
		return 2;
	}
	if (irc_nick_has_sep(nick)) {
		fprintf(a->err,
			"eirc-auth: NICK must not contain '%c' (nor '\\', the same letter under "
			"IRC "
			"case mapping): it marks a second session's nick (alice%c2), which must "
			"never be another account's name\n",
			IRC_NICK_SEP, IRC_NICK_SEP);
		return 1;
	}
	if (hash_password(a, pw, hash, &gen) < 0)
		return 1;
	irc_casemap_fold_str(IRC_CASEMAP_RFC1459, nick, folded, sizeof(folded));
	prefs_json = autojoin_prefs(opt(a, "--autojoin"));
	prefs = prefs_json ? json_dumps(prefs_json, JSON_COMPACT) : NULL;
	json_decref(prefs_json);
	if (!prefs) {
		fprintf(a->err, "eirc-auth: out of memory\n");
		sodium_memzero(pw, sizeof(pw));
		return 1;
	}
	const char *p[7] = {nick, folded, dn ? dn : nick, email, hash, role ? role : "user", prefs};
	r = run(a,
		"INSERT INTO users (nick, nick_folded, display_name, email,"
		" password_hash, role, preferences) VALUES ($1, $2, $3, $4, $5,"
		" $6, $7::jsonb) RETURNING id",
		7, p);
	if (r) {
		fprintf(a->out, "created user %s (id %s)\n", nick, PQgetvalue(r, 0, 0));
		if (gen)
			fprintf(a->out, "password: %s\n", pw);
		audit(a, "user.create", nick, "{}");
		rc = 0;
	}
	PQclear(r);
	free(prefs);
	sodium_memzero(pw, sizeof(pw));
	return rc;
}

static int user_passwd(admin_t *a)
{
	const char *nick = a->o.pos[0];
	char folded[64], pw[AUTH_PASSWORD_MAX + 2], hash[crypto_pwhash_STRBYTES];
	bool gen;
	PGresult *r;
	int rc = 1;

	if (!nick)
		return 2;
	if (hash_password(a, pw, hash, &gen) < 0)
		return 1;
	irc_casemap_fold_str(IRC_CASEMAP_RFC1459, nick, folded, sizeof(folded));
	const char *p[2] = {hash, folded};
	r = run(a,
		"UPDATE users SET password_hash = $1, updated_at = now()"
		" WHERE nick_folded = $2",
		2, p);
	if (r && strcmp(PQcmdTuples(r), "1") == 0) {
		fprintf(a->out, "password of %s changed\n", nick);
		if (gen)
			fprintf(a->out, "password: %s\n", pw);
		audit(a, "user.passwd", nick, "{}");
		rc = 0;
	} else if (r) {
		fprintf(a->err, "eirc-auth: no user %s\n", nick);
	}
	PQclear(r);
	sodium_memzero(pw, sizeof(pw));
	return rc;
}

/* Runs a statement without result rows (BEGIN, COMMIT); false on error. */
static bool exec_ok(admin_t *a, const char *sql)
{
	PGresult *r = run(a, sql, 0, NULL);

	PQclear(r);
	return r != NULL;
}

/* Publishes access changes after their commit (auth_bus.h); a failure is
 * a warning: the change stands, the subscribers' rechecks catch up. */
static void publish(admin_t *a, const access_msg_t *msgs, size_t n)
{
	eirc_err_t err;

	if (auth_bus_publish_sync(a->cfg, msgs, n, &err) < 0)
		fprintf(a->err,
			"eirc-auth: warning: the change is made but was not published "
			"on %s (%s); live sessions follow it at their next recheck\n",
			ACCESS_MSG_CHANNEL, err.text);
}

typedef struct id_list {
	access_msg_t *v;
	size_t n;
	enum access_kind kind;
} id_list_t;

static void id_add(void *arg, uint64_t id)
{
	id_list_t *l = arg;

	l->v[l->n++] = (access_msg_t){l->kind, id, 0};
}

/* Publishes `kind` for each user id of a PostgreSQL array ("{1,2}"). */
static void publish_users(admin_t *a, enum access_kind kind, const char *pg_array)
{
	int n = auth_bus_each_id(pg_array, NULL, NULL);
	id_list_t l = {.kind = kind};

	if (n <= 0 || !(l.v = calloc((size_t)n, sizeof(*l.v))))
		return;
	auth_bus_each_id(pg_array, id_add, &l);
	publish(a, l.v, l.n);
	free(l.v);
}

/*
 * One change of a user, in one transaction with its audit row: sql ($1
 * the folded nick, $2 `value`) answers the user's id (no row: no such
 * user) and, optionally, the audit detail (jsonb text). Once committed,
 * publishes `kind` (ACCESS_KINDS: nothing) for the user.
 */
static int user_change(admin_t *a, const char *sql, const char *value, const char *event,
		       enum access_kind kind)
{
	const char *nick = a->o.pos[0];
	char folded[64];
	PGresult *r = NULL;
	uint64_t id = 0;

	if (!nick)
		return 2;
	irc_casemap_fold_str(IRC_CASEMAP_RFC1459, nick, folded, sizeof(folded));
	const char *p[2] = {folded, value};
	if (!exec_ok(a, "BEGIN") || !(r = run(a, sql, value ? 2 : 1, p)))
		goto rollback;
	if (PQntuples(r) != 1) {
		fprintf(a->err, "eirc-auth: no user %s\n", nick);
		goto rollback;
	}
	id = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	if (!audit(a, event, nick, PQnfields(r) > 1 ? PQgetvalue(r, 0, 1) : "{}") ||
	    !exec_ok(a, "COMMIT"))
		goto rollback;
	fprintf(a->out, "%s: %s\n", event, nick);
	if (kind != ACCESS_KINDS)
		publish(a, &(access_msg_t){kind, id, 0}, 1);
	PQclear(r);
	return 0;
rollback:
	PQclear(r);
	exec_ok(a, "ROLLBACK");
	return 1;
}

/* Prints every row of a query as tab-separated columns with a header. */
static int list(admin_t *a, const char *sql, int n, const char *const *p)
{
	PGresult *r = run(a, sql, n, p);

	if (!r)
		return 1;
	for (int c = 0; c < PQnfields(r); c++)
		fprintf(a->out, "%s%s", c ? "\t" : "", PQfname(r, c));
	fputc('\n', a->out);
	for (int i = 0; i < PQntuples(r); i++) {
		for (int c = 0; c < PQnfields(r); c++)
			fprintf(a->out, "%s%s", c ? "\t" : "", PQgetvalue(r, i, c));
		fputc('\n', a->out);
	}
	PQclear(r);
	return 0;
}

static int cmd_user(admin_t *a, const char *verb)
{
	if (strcmp(verb, "add") == 0)
		return user_add(a);
	if (strcmp(verb, "passwd") == 0)
		return user_passwd(a);
	/* disabled: every token of the account revoked with it, so its
	 * logins stay signed out if it is enabled again */
	if (strcmp(verb, "disable") == 0)
		return user_change(a,
				   "WITH u AS (UPDATE users SET disabled = true, updated_at = now()"
				   "  WHERE nick_folded = $1 RETURNING id),"
				   " t AS (UPDATE access_tokens SET revoked_at = now()"
				   "  WHERE user_id = (SELECT id FROM u) AND revoked_at IS NULL"
				   "  RETURNING 1),"
				   " f AS (UPDATE refresh_tokens SET revoked_at = now()"
				   "  WHERE user_id = (SELECT id FROM u) AND revoked_at IS NULL"
				   "  RETURNING 1)"
				   " SELECT id, jsonb_build_object('access_tokens_revoked',"
				   "  (SELECT count(*) FROM t), 'refresh_tokens_revoked',"
				   "  (SELECT count(*) FROM f))::text FROM u",
				   NULL, "user.disable", ACCESS_DISABLED);
	if (strcmp(verb, "enable") == 0)
		return user_change(a,
				   "UPDATE users SET disabled = false, updated_at = now()"
				   " WHERE nick_folded = $1 RETURNING id",
				   NULL, "user.enable", ACCESS_KINDS);
	if (strcmp(verb, "role") == 0) {
		if (!a->o.pos[1])
			return 2;
		return user_change(a,
				   "UPDATE users SET role = $2, updated_at = now()"
				   " WHERE nick_folded = $1 RETURNING id,"
				   " jsonb_build_object('role', role)::text",
				   a->o.pos[1], "user.role", ACCESS_ROLE);
	}
	if (strcmp(verb, "del") == 0)
		return user_change(a, "DELETE FROM users WHERE nick_folded = $1 RETURNING id", NULL,
				   "user.delete", ACCESS_DELETED);
	if (strcmp(verb, "list") == 0)
		return list(a,
			    "SELECT id, nick, display_name, role, disabled,"
			    " COALESCE(email, '') AS email FROM users ORDER BY id",
			    0, NULL);
	return 2;
}

static bool room_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 2 || n > 64 || (s[0] != '#' && s[0] != '&'))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == ',' || s[i] == ':' || s[i] == 0x7f)
			return false;
	return true;
}

static int room_add(admin_t *a)
{
	const char *name = a->o.pos[0], *topic = opt(a, "--topic");
	char folded[80], why[AUTH_ROOM_WHY_MAX];

	if (!room_ok(name)) {
		fprintf(a->err, "eirc-auth: NAME must be a channel name "
				"(#room, 2-64 bytes, no spaces, commas or ':')\n");
		return 2;
	}
	if (auth_room_check(a->cfg->irc_client.private_room_masks,
			    a->cfg->irc_client.n_private_room_masks, name,
			    opt(a, "--private") != NULL, why, sizeof(why)) < 0) {
		fprintf(a->err, "eirc-auth: %s\n", why);
		return 1;
	}
	irc_casemap_fold_str(IRC_CASEMAP_RFC1459, name, folded, sizeof(folded));
	const char *p[5] = {name, folded, topic ? topic : "",
			    opt(a, "--private") ? "true" : "false",
			    opt(a, "--auto-join") ? "true" : "false"};
	if (create(a,
		   "INSERT INTO rooms (name, name_folded, topic, private,"
		   " auto_join) VALUES ($1, $2, $3, $4::boolean, $5::boolean)",
		   5, p, "room", name))
		return 1;
	audit(a, "room.create", name, "{}");
	return 0;
}

/*
 * One change of rooms or members in one transaction with its audit row
 * (event, subject; only when something changed): sql answers the rows
 * changed, the users whose private-room membership changed (a bigint
 * array text) and the audit detail (jsonb text, NULL: {}). Once committed,
 * publishes "rooms" for those users. Returns the rows changed, or -1 with
 * the error printed (nothing changed).
 */
static int room_change(admin_t *a, const char *sql, int n, const char *const *p, const char *event,
		       const char *subject)
{
	PGresult *r = NULL;
	int changed;

	if (!exec_ok(a, "BEGIN") || !(r = run(a, sql, n, p)))
		goto rollback;
	changed = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10); /* a count(*) */
	if ((changed > 0 &&
	     !audit(a, event, subject, PQgetisnull(r, 0, 2) ? "{}" : PQgetvalue(r, 0, 2))) ||
	    !exec_ok(a, "COMMIT"))
		goto rollback;
	publish_users(a, ACCESS_ROOMS, PQgetvalue(r, 0, 1));
	PQclear(r);
	return changed;
rollback:
	PQclear(r);
	exec_ok(a, "ROLLBACK");
	return -1;
}

static int room_member(admin_t *a, const char *verb)
{
	const char *room = a->o.pos[1], *nick = a->o.pos[2];
	char rf[80], nf[64];
	int r;
	bool add = strcmp(verb, "add") == 0;

	if (!room)
		return 2;
	irc_casemap_fold_str(IRC_CASEMAP_RFC1459, room, rf, sizeof(rf));
	if (strcmp(verb, "list") == 0) {
		const char *p[1] = {rf};
		return list(a,
			    "SELECT u.nick FROM room_members m JOIN rooms r"
			    " ON r.id = m.room_id JOIN users u ON u.id = m.user_id"
			    " WHERE r.name_folded = $1 ORDER BY u.nick_folded",
			    1, p);
	}
	if (!nick || (!add && strcmp(verb, "del") != 0))
		return 2;
	irc_casemap_fold_str(IRC_CASEMAP_RFC1459, nick, nf, sizeof(nf));
	const char *p[2] = {rf, nf};
	r = room_change(a,
			add ? "WITH m AS (INSERT INTO room_members (room_id, user_id)"
			      "  SELECT r.id, u.id FROM rooms r, users u WHERE r.name_folded = $1"
			      "  AND u.nick_folded = $2 ON CONFLICT DO NOTHING"
			      "  RETURNING room_id, user_id)"
			      " SELECT count(*), COALESCE(array_agg(m.user_id)"
			      "  FILTER (WHERE r.private), '{}')::text,"
			      " jsonb_build_object('user', $2::text)::text"
			      " FROM m JOIN rooms r ON r.id = m.room_id"
			    : "WITH m AS (DELETE FROM room_members WHERE room_id = (SELECT id"
			      "  FROM rooms WHERE name_folded = $1) AND user_id = (SELECT id"
			      "  FROM users WHERE nick_folded = $2) RETURNING room_id, user_id)"
			      " SELECT count(*), COALESCE(array_agg(m.user_id)"
			      "  FILTER (WHERE r.private), '{}')::text,"
			      " jsonb_build_object('user', $2::text)::text"
			      " FROM m JOIN rooms r ON r.id = m.room_id",
			2, p, add ? "room.member_add" : "room.member_remove", room);
	if (r < 0)
		return 1;
	if (r == 0)
		fprintf(a->out, "no change (unknown room or user, or %s)\n",
			add ? "already a member" : "not a member");
	else
		fprintf(a->out, "%s %s %s\n", add ? "added" : "removed", nick, room);
	return 0;
}

static int room_del(admin_t *a)
{
	char rf[80];
	int r;

	irc_casemap_fold_str(IRC_CASEMAP_RFC1459, a->o.pos[0], rf, sizeof(rf));
	const char *p[1] = {rf};
	/* the members as they were: the CTEs see the rows before the DELETE */
	r = room_change(a,
			"WITH u AS (SELECT m.user_id FROM room_members m JOIN rooms o"
			"  ON o.id = m.room_id WHERE o.name_folded = $1 AND o.private),"
			" r AS (DELETE FROM rooms WHERE name_folded = $1 RETURNING private)"
			" SELECT (SELECT count(*) FROM r),"
			" (SELECT COALESCE(array_agg(user_id), '{}') FROM u)::text,"
			" (SELECT jsonb_build_object('private', private) FROM r)::text",
			1, p, "room.delete", a->o.pos[0]);
	if (r < 0)
		return 1;
	fprintf(a->out, "deleted %d room(s)\n", r);
	return 0;
}

static int cmd_room(admin_t *a, const char *verb)
{
	if (strcmp(verb, "add") == 0)
		return room_add(a);
	if (strcmp(verb, "member") == 0 && a->o.npos >= 1)
		return room_member(a, a->o.pos[0]);
	if (strcmp(verb, "list") == 0)
		return list(a,
			    "SELECT name, private, auto_join, topic FROM rooms"
			    " ORDER BY name_folded",
			    0, NULL);
	if (strcmp(verb, "del") == 0 && a->o.pos[0])
		return room_del(a);
	return 2;
}

static int client_add(admin_t *a)
{
	const char *id = a->o.pos[0], *grants = opt(a, "--grants");
	const char *scope = opt(a, "--scope"), *name = opt(a, "--name");
	bool pub = opt(a, "--public") != NULL;
	const char *senv = opt(a, "--secret-env"), *given = senv ? getenv(senv) : NULL;
	char secret[AUTH_TOKEN_LEN + 1], hash[AUTH_TOKEN_HASH_HEX + 1], g[256];

	if (!id || !auth_text_ok(id, 128) || strchr(id, ':')) {
		fprintf(a->err, "eirc-auth: CLIENT_ID must be 1-128 printable bytes, no ':'\n");
		return 2;
	}
	if (senv && (pub || !given || strlen(given) < 32 || strlen(given) > AUTH_TOKEN_LEN ||
		     !auth_text_ok(given, AUTH_TOKEN_LEN) || strchr(given, ' '))) {
		fprintf(a->err,
			"eirc-auth: --secret-env needs a set variable of 32-%d printable "
			"bytes, no spaces (and no --public)\n",
			AUTH_TOKEN_LEN);
		return 2;
	}
	snprintf(g, sizeof(g), "{%s}",
		 grants ? grants
		 : pub  ? "password,refresh_token"
			: "client_credentials");
	if (given)
		snprintf(secret, sizeof(secret), "%s", given);
	else
		auth_token_new(secret);
	auth_token_hash(secret, strlen(secret), hash);
	const char *p[5] = {id, pub ? NULL : hash, name ? name : id, g,
			    scope ? scope : "chat history"};
	if (create(a,
		   "INSERT INTO oauth_clients (client_id, secret_hash, name, grants,"
		   " scope) VALUES ($1, decode($2, 'hex'), $3, $4::text[], $5)",
		   5, p, "client", id))
		return 1;
	if (!pub && !given)
		fprintf(a->out, "client_secret: %s\n", secret);
	audit(a, "client.create", id, "{}");
	sodium_memzero(secret, sizeof(secret));
	return 0;
}

static int cmd_migrate(admin_t *a)
{
	eirc_err_t err;
	int n = auth_migrate(a->pg, &err);

	if (n < 0) {
		fprintf(a->err, "eirc-auth: migration failed: %s\n", err.text);
		return 1;
	}
	if (auth_admin_has_owner(a->cfg) &&
	    auth_migrate_grant(a->pg, a->cfg->auth.database.user, &err) < 0) {
		fprintf(a->err, "eirc-auth: %s\n", err.text);
		return 1;
	}
	fprintf(a->out, "applied %d migration(s); schema version %d\n", n,
		auth_migrate_current(a->pg));
	return 0;
}

static int dispatch(admin_t *a, const char *noun, const char *verb)
{
	if (strcmp(noun, "migrate") == 0)
		return cmd_migrate(a);
	if (!verb)
		return 2;
	if (strcmp(noun, "user") == 0)
		return cmd_user(a, verb);
	if (strcmp(noun, "room") == 0)
		return cmd_room(a, verb);
	if (strcmp(noun, "client") == 0 && strcmp(verb, "add") == 0)
		return client_add(a);
	if (strcmp(noun, "client") == 0 && strcmp(verb, "list") == 0)
		return list(a,
			    "SELECT client_id, name, grants, scope,"
			    " secret_hash IS NULL AS public, disabled"
			    " FROM oauth_clients ORDER BY id",
			    0, NULL);
	return 2;
}

int auth_admin_main(const eirc_config_t *cfg, int argc, char **argv, FILE *out, FILE *err)
{
	admin_t a = {.cfg = cfg, .out = out, .err = err};
	struct passwd *pw = getpwuid(getuid());
	eirc_err_t cerr;
	int rc;

	if (argc < 1 || parse_opts(argc - 2 > 0 ? argc - 2 : 0, argv + 2, &a.o) < 0) {
		auth_admin_usage(err);
		return 2;
	}
	snprintf(a.actor, sizeof(a.actor), "cli:%s", pw ? pw->pw_name : "?");
	/* only `migrate` changes the schema: it alone connects as the owner */
	if (auth_admin_connect(cfg, strcmp(argv[0], "migrate") == 0, &a.pg, &cerr) < 0) {
		fprintf(err, "eirc-auth: cannot connect to PostgreSQL: %s\n", cerr.text);
		return 1;
	}
	rc = dispatch(&a, argv[0], argc > 1 ? argv[1] : NULL);
	if (rc == 2)
		auth_admin_usage(err);
	PQfinish(a.pg);
	return rc;
}
