/*
 * test_archive_layout: eirc-archive (docs/eirc-archive.md) against real
 * Redis and PostgreSQL and the Elasticsearch test server, on an archive
 * written here to the contract's layout (docs/compliance.md): 5,000 events
 * with MACs across four partitions, the leaf hashes, the tlog state,
 * checkpoints in an append-only archive_checkpoints, the Redis checkpoint
 * stream and boundaries, a few unsealed events at a tail, the documents in
 * Elasticsearch (one with a field that is not UTF-8: <field>_b64), a chained
 * audit log. test_archive_verify does the same on what the daemons write;
 * this one is quick and also covers what they do not make on demand: an
 * audit row changed, the sealer's frontier forged, a retention trim's
 * tombstone frontier (right, and wrong), a trim without its tombstone, an
 * auditor's checkpoint file, --partition and --from, the exit statuses;
 * and, in a second group, the archive on a Redis Cluster of three masters
 * (intact, an XDEL, a swap, a proof), which eirc-archive reads by
 * following MOVED.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "archive/archive_event.h"
#include "archive/archive_keys.h"
#include "archive/tlog.h"
#include "common/utf8.h"
#include "scripts/stack/launch.h"
#include "tests/harness/http_test.h"
#include "tests/integration/logger_fixture.h"

#define PARTS     4
#define EVENTS    5000
#define CP_EVENTS 400
#define UNSEALED  3 /* events of partition 0 left after the last seal */
#define ORIGIN    "test.example/archive"
#define PREFIX    "eirc-test"
#define GROUP     "eirc-shipper"
#define DB_PW     "archive-db-password"

static struct {
	srv_env_t *env;
	srv_t *redis, *pg;
	struct lgf_proc es;
	char dir[512], cfg[600], proof[600];
	tlog_signer_t signer;
	char vkey[TLOG_VKEY_MAX];
	uint8_t mac_key[32];
	redisContext *r; /* the Redis, or the cluster's first node */
	bool cluster;
	srv_t *nodes[3];
	struct {
		int port;
		redisContext *c;
	} via[3];   /* cluster: a connection to each node a MOVED named */
	PGconn *db; /* superuser */
	uint64_t base_ms;
	int k_of[EVENTS];
} T;

/* ---- running eirc-archive ---- */

/* Runs build/archive/eirc-archive with args; its stdout into out. Returns
 * the exit status. */
static int ea_run(char *out, size_t cap, ...)
{
	char bin[512], *argv[16];
	int argc = 0, pfd[2], st;
	size_t len = 0;
	ssize_t n;
	va_list ap;
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/archive/eirc-archive", getenv("EIRC_BUILD_DIR"));
	argv[argc++] = bin;
	va_start(ap, cap);
	for (char *a; (a = va_arg(ap, char *)) && argc < 15;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], 1);
		execv(bin, argv);
		_exit(127);
	}
	close(pfd[1]);
	while (len + 1 < cap && (n = read(pfd[0], out + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(pfd[0]);
	waitpid(pid, &st, 0);
	fprintf(stderr, "eirc-archive %s: %s", argc > 3 ? argv[3] : argv[1], out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int verify(char *out, size_t cap)
{
	return ea_run(out, cap, "--config", T.cfg, "verify", NULL);
}

/* verify exits 1 and its line has every needle. */
static void expect_finding(const char *n1, const char *n2, const char *n3)
{
	char out[4096];

	assert_int_equal(verify(out, sizeof(out)), 1);
	assert_non_null(strstr(out, n1));
	assert_non_null(strstr(out, n2));
	if (n3)
		assert_non_null(strstr(out, n3));
}

static void expect_intact(void)
{
	char out[4096];

	assert_int_equal(verify(out, sizeof(out)), 0);
	assert_non_null(strstr(out, "OK "));
}

/* ---- Redis and Elasticsearch helpers ---- */

/* The connection to the cluster node on port. */
static redisContext *node_at(int port)
{
	for (size_t i = 0; i < 3; i++)
		if (T.via[i].port == port)
			return T.via[i].c;
	for (size_t i = 0; i < 3; i++)
		if (!T.via[i].c) {
			T.via[i].port = port;
			T.via[i].c = redisConnect("127.0.0.1", port);
			return T.via[i].c;
		}
	return NULL;
}

/* Sends a formatted command, to the node a MOVED names on a cluster. */
static redisReply *send_formatted(const char *cmdbuf, size_t len)
{
	redisContext *c = T.r;
	redisReply *r = NULL;

	for (int tries = 0; tries < 4 && c; tries++) {
		if (redisAppendFormattedCommand(c, cmdbuf, len) != REDIS_OK ||
		    redisGetReply(c, (void **)&r) != REDIS_OK)
			return NULL;
		if (r->type != REDIS_REPLY_ERROR || strncmp(r->str, "MOVED ", 6))
			return r;
		c = node_at(atoi(strrchr(r->str, ':') + 1));
		freeReplyObject(r);
		r = NULL;
	}
	return r;
}

static redisReply *vcommand(const char *fmt, va_list ap)
{
	char *buf;
	int n = redisvFormatCommand(&buf, fmt, ap);
	redisReply *r;

	if (n < 0)
		return NULL;
	r = send_formatted(buf, (size_t)n);
	redisFreeCommand(buf);
	return r;
}

static redisReply *command(const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = vcommand(fmt, ap);
	va_end(ap);
	return r;
}

static redisReply *command_argv(int argc, const char **argv, const size_t *len)
{
	char *buf;
	long long n = redisFormatCommandArgv(&buf, argc, argv, len);
	redisReply *r;

	if (n < 0)
		return NULL;
	r = send_formatted(buf, (size_t)n);
	redisFreeCommand(buf);
	return r;
}

static redisReply *cmd(const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = vcommand(fmt, ap);
	va_end(ap);
	assert_non_null(r);
	if (r->type == REDIS_REPLY_ERROR)
		fprintf(stderr, "redis: %s\n", r->str);
	assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
	return r;
}

static void cmd0(const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = vcommand(fmt, ap);
	va_end(ap);
	assert_non_null(r);
	if (r->type == REDIS_REPLY_ERROR)
		fprintf(stderr, "redis: %s\n", r->str);
	assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
	freeReplyObject(r);
}

static void akey(int k, char *buf, size_t cap)
{
	archive_keys_archive(k, buf, cap);
}

static char *es_req(const char *method, const char *path, const char *body, long *out_status)
{
	static const char *const json[] = {"Content-Type: application/json", NULL};
	char url[1024], *out;
	ht_resp_t r;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", T.es.port, path);
	ht_request(&(ht_req_t){.method = method,
			       .url = url,
			       .headers = json,
			       .body = body,
			       .body_len = body ? strlen(body) : 0},
		   &r);
	if (out_status)
		*out_status = r.status;
	out = r.body;
	r.body = NULL;
	ht_resp_free(&r);
	return out;
}

/* ---- the archive, written to the contract ---- */

static void event_fields(int i, char *conv, char *msgid, char *t, char *nick, char *text,
			 tlog_field_t *f, size_t *n)
{
	sprintf(conv, "#chan%d", i % 7);
	sprintf(msgid, "m%05d", i);
	sprintf(t, "%" PRIu64, T.base_ms + (uint64_t)i * 2);
	sprintf(nick, "n%d", i % 13);
	if (i == 77)
		sprintf(text, "caf\xe9 %d", i); /* not UTF-8: text_b64 in the document */
	else
		sprintf(text, "hello %d", i);
	const char *kv[][2] = {{"network", "eIRC"}, {"msgid", msgid}, {"time", t},
			       {"type", "privmsg"}, {"conv", conv},   {"target", conv},
			       {"nick", nick},      {"user", "u"},    {"host", "h.example"},
			       {"text", text}};
	*n = sizeof(kv) / sizeof(kv[0]);
	for (size_t j = 0; j < *n; j++) {
		f[j].name = (archive_str_t){kv[j][0], strlen(kv[j][0])};
		f[j].value = (archive_str_t){kv[j][1], strlen(kv[j][1])};
	}
}

/* The document lg_bulk writes for an entry. */
static json_t *doc_of(int k, const char *id, const tlog_field_t *f, size_t n)
{
	static const char *const map[][2] = {{"conv", "channel"}};
	json_t *d = json_object();
	uint64_t ms, seq;
	char ts[32];

	sscanf(id, "%" SCNu64 "-%" SCNu64, &ms, &seq);
	for (size_t j = 0; j < n; j++) {
		char name[32], b64[256], clean[256];
		size_t cl;
		snprintf(name, sizeof(name), "%.*s", (int)f[j].name.n, f[j].name.p);
		if (!strcmp(name, "time")) {
			archive_event_time_format(strtoll(f[j].value.p, NULL, 10), ts, sizeof(ts));
			json_object_set_new(d, "@timestamp", json_string(ts));
			continue;
		}
		if (!strcmp(name, map[0][0]))
			snprintf(name, sizeof(name), "%s", map[0][1]);
		if (utf8_is_valid(f[j].value.p, f[j].value.n)) {
			json_object_set_new(d, name, json_stringn(f[j].value.p, f[j].value.n));
			continue;
		}
		utf8_sanitize(f[j].value.p, f[j].value.n, clean, sizeof(clean), &cl);
		json_object_set_new(d, name, json_stringn(clean, cl));
		sodium_bin2base64(b64, sizeof(b64), (const uint8_t *)f[j].value.p, f[j].value.n,
				  sodium_base64_VARIANT_ORIGINAL);
		strcat(name, "_b64");
		json_object_set_new(d, name, json_string(b64));
	}
	json_object_set_new(d, "archive_id", json_string(id));
	json_object_set_new(d, "partition", json_integer(k));
	json_object_set_new(d, "archive_ms", json_integer((json_int_t)ms));
	json_object_set_new(d, "archive_seq", json_integer((json_int_t)seq));
	return d;
}

static void write_events(void)
{
	char *bulk = NULL;
	size_t blen = 0;
	FILE *b = open_memstream(&bulk, &blen);
	char ts[32], index[64];

	archive_event_time_format((int64_t)T.base_ms, ts, sizeof(ts));
	snprintf(index, sizeof(index), PREFIX "-%.4s.%.2s.%.2s", ts, ts + 5, ts + 8);
	for (int i = 0; i < EVENTS; i++) {
		char conv[16], msgid[16], t[24], nick[8], text[32], id[48], key[64], hist[128];
		tlog_field_t f[12];
		size_t n;
		const char *argv[40];
		size_t len[40];
		int argc = 0;

		event_fields(i, conv, msgid, t, nick, text, f, &n);
		T.k_of[i] = archive_keys_partition("eIRC", conv, strlen(conv), IRC_CASEMAP_RFC1459,
						   PARTS);
		akey(T.k_of[i], key, sizeof(key));
		snprintf(id, sizeof(id), "%s-0", t); /* ids 2 ms apart: room to insert */
		snprintf(hist, sizeof(hist), "eirc:{p%d}:history:eIRC:%s", T.k_of[i], conv);
		argv[argc++] = "XADD";
		argv[argc++] = key;
		argv[argc++] = id;
		argv[argc++] = "stream";
		argv[argc++] = hist;
		argv[argc++] = "hid";
		argv[argc++] = id;
		for (size_t j = 0; j < n; j++) {
			argv[argc++] = f[j].name.p;
			argv[argc++] = f[j].value.p;
		}
		for (int j = 0; j < argc; j++)
			len[j] = strlen(argv[j]);
		freeReplyObject(command_argv(argc, argv, len));
		json_t *d = doc_of(T.k_of[i], id, f, n);
		char *s = json_dumps(d, JSON_COMPACT);
		fprintf(b, "{\"create\":{\"_index\":\"%s\",\"_id\":\"%s\"}}\n%s\n", index, msgid,
			s);
		free(s);
		json_decref(d);
	}
	fclose(b);
	for (int k = 0; k < PARTS; k++) { /* the shipper has had everything */
		char key[64];
		akey(k, key, sizeof(key));
		cmd0("XGROUP CREATE %s %s $", key, GROUP);
	}
	long st;
	free(es_req("POST", "/_bulk", bulk, &st));
	free(bulk);
	assert_int_equal(st, 200);
}

/* Signs a checkpoint and files it where the sealer and eirc-auth do. */
static void file_checkpoint(const char *origin, int k, uint64_t size,
			    const uint8_t root[TLOG_HASH_LEN], const char *last_id)
{
	tlog_checkpoint_t cp = {.size = size};
	char note[TLOG_CHECKPOINT_MAX], rootb[64], sz[24], seq[24], sql[4096], kid[16];
	redisReply *r;
	PGresult *res;

	snprintf(cp.origin, sizeof(cp.origin), "%s", origin);
	memcpy(cp.root, root, TLOG_HASH_LEN);
	assert_true(tlog_checkpoint_sign(&cp, &T.signer, note, sizeof(note)) > 0);
	sodium_bin2base64(rootb, sizeof(rootb), root, TLOG_HASH_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
	snprintf(sz, sizeof(sz), "%" PRIu64, size);
	r = cmd("XADD %s * origin %s size %s root %s note %s", ARCHIVE_KEYS_CHECKPOINTS, origin, sz,
		rootb, note);
	snprintf(kid, sizeof(kid), "%08x", T.signer.keyid);
	res = PQexecParams(T.db,
			   "SELECT coalesce(max(seq), 0) + 1 FROM archive_checkpoints WHERE "
			   "origin = $1",
			   1, NULL, (const char *[]){origin}, NULL, NULL, 0);
	snprintf(seq, sizeof(seq), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	res = PQexecParams(
		T.db,
		"INSERT INTO archive_checkpoints (origin, seq, size, root, note, key_id, "
		"stream_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
		7, NULL, (const char *[]){origin, seq, sz, rootb, note, kid, r->str}, NULL, NULL,
		0);
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	freeReplyObject(r);
	if (k >= 0) {
		char key[64];
		archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_CPS, key, sizeof(key));
		snprintf(sql, sizeof(sql), "%" PRIu64 " %s", size, last_id);
		cmd0("ZADD %s %s %s", key, sz, sql);
		archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_STATE, key, sizeof(key));
		cmd0("HSET %s cp_size %s cp_time 0 checkpoint %s", key, sz, note);
	}
}

/* The sealer of the contract, for partition k: every entry but the last
 * `leave` becomes a leaf, checkpointed every CP_EVENTS and at the end. */
static void seal(int k, int leave)
{
	char key[64], tkey[64], lkey[64], last[48] = "0-0", sz[24];
	redisReply *r;
	tlog_tree_t t;
	uint8_t leaf[TLOG_HASH_LEN], root[TLOG_HASH_LEN], fr[TLOG_FRONTIER_MAX * TLOG_HASH_LEN];
	size_t n;

	akey(k, key, sizeof(key));
	archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_STATE, tkey, sizeof(tkey));
	tlog_tree_init(&t);
	r = cmd("XRANGE %s - +", key);
	n = r->elements - (size_t)leave;
	for (size_t i = 0; i < n; i++) {
		redisReply *e = r->element[i], *kv = e->element[1];
		tlog_field_t f[TLOG_FIELDS_MAX];
		size_t nf = 0;
		for (size_t j = 0; j + 1 < kv->elements; j += 2, nf++) {
			f[nf].name = (archive_str_t){kv->element[j]->str, kv->element[j]->len};
			f[nf].value =
				(archive_str_t){kv->element[j + 1]->str, kv->element[j + 1]->len};
		}
		assert_int_equal(
			tlog_leaf_hash((archive_str_t){e->element[0]->str, e->element[0]->len}, f,
				       nf, leaf),
			0);
		archive_keys_leaves(k, t.size / ARCHIVE_KEYS_LEAVES_CHUNK, lkey, sizeof(lkey));
		freeReplyObject(command("SETRANGE %s %d %b", lkey,
					(int)(t.size % ARCHIVE_KEYS_LEAVES_CHUNK) * TLOG_HASH_LEN,
					leaf, (size_t)TLOG_HASH_LEN));
		tlog_tree_append(&t, leaf);
		snprintf(last, sizeof(last), "%s", e->element[0]->str);
		if (t.size % CP_EVENTS == 0 || i + 1 == n) {
			char origin[TLOG_NAME_MAX + 1];
			tlog_tree_root(&t, root);
			tlog_origin_partition(ORIGIN, k, origin, sizeof(origin));
			file_checkpoint(origin, k, t.size, root, last);
		}
	}
	/* the rest waits in the pending list, as the append script leaves it */
	for (size_t i = n; i < r->elements; i++) {
		redisReply *e = r->element[i], *kv = e->element[1];
		tlog_field_t f[TLOG_FIELDS_MAX];
		uint8_t d[TLOG_HASH_LEN];
		char d64[TLOG_MAC_B64_LEN + 1], mac[TLOG_MAC_B64_LEN + 1], pkey[64];
		size_t nf = 0;
		for (size_t j = 0; j + 1 < kv->elements; j += 2, nf++) {
			f[nf].name = (archive_str_t){kv->element[j]->str, kv->element[j]->len};
			f[nf].value =
				(archive_str_t){kv->element[j + 1]->str, kv->element[j + 1]->len};
		}
		assert_int_equal(tlog_event_digest(f, nf, d), 0);
		sodium_bin2base64(d64, sizeof(d64), d, sizeof(d), sodium_base64_VARIANT_ORIGINAL);
		tlog_mac_digest(T.mac_key, d, mac);
		char rec[160];
		archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_PENDING, pkey, sizeof(pkey));
		snprintf(rec, sizeof(rec), "%s %s %s", e->element[0]->str, d64, mac);
		cmd0("RPUSH %s %s", pkey, rec);
	}
	freeReplyObject(r);
	int fl = tlog_tree_encode(&t, fr, sizeof(fr));
	snprintf(sz, sizeof(sz), "%" PRIu64, t.size);
	freeReplyObject(command("HSET %s size %s last %s start 0-0 frontier %b leaves_from 0 "
				"trimmed 0 rejected 0",
				tkey, sz, last, fr, (size_t)fl));
}

static const char schema[] =
	"CREATE TABLE archive_checkpoints (id bigserial PRIMARY KEY, origin text NOT NULL,"
	" seq bigint NOT NULL, size bigint NOT NULL, root text NOT NULL, note text NOT NULL,"
	" key_id text NOT NULL, stream_id text, received_at timestamptz NOT NULL DEFAULT now(),"
	" UNIQUE (origin, size), UNIQUE (origin, seq));"
	"CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS"
	" $$BEGIN RAISE EXCEPTION '% on % refused: append-only', TG_OP, TG_TABLE_NAME; END$$;"
	"CREATE TRIGGER archive_checkpoints_append_only BEFORE UPDATE OR DELETE ON"
	" archive_checkpoints FOR EACH ROW EXECUTE FUNCTION refuse_change();"
	"CREATE TABLE audit_log (id bigserial PRIMARY KEY, seq bigint NOT NULL UNIQUE,"
	" at timestamptz NOT NULL DEFAULT now(), event text NOT NULL, actor_user_id bigint,"
	" actor text, subject text, client_ip inet, detail jsonb);"
	"CREATE VIEW audit_log_leaf AS SELECT seq::text AS seq, id::text AS id,"
	" to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS at, event,"
	" actor_user_id::text AS actor_user_id, actor, subject, host(client_ip) AS client_ip,"
	" detail::text AS detail FROM audit_log;"
	"GRANT SELECT, INSERT ON archive_checkpoints, audit_log TO eirc;"
	"GRANT SELECT ON audit_log_leaf TO eirc;"
	"GRANT USAGE ON SEQUENCE archive_checkpoints_id_seq, audit_log_id_seq TO eirc;";

/* Ten audit rows, sealed and checkpointed as eirc-auth does. */
static void write_audit(void)
{
	PGresult *res;
	tlog_tree_t t;
	uint8_t leaf[TLOG_HASH_LEN], root[TLOG_HASH_LEN];
	char origin[TLOG_NAME_MAX + 1];
	static const char *const names[] = {"at",      "event",     "actor_user_id", "actor",
					    "subject", "client_ip", "detail"};

	res = PQexec(T.db, "INSERT INTO audit_log (seq, event, actor_user_id, actor, subject, "
			   "client_ip, detail) SELECT g, 'account.login', g, 'user' || g, NULL, "
			   "'127.0.0.1', '{\"n\": 1}' FROM generate_series(1, 10) g");
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	res = PQexec(T.db, "SELECT id, at, event, actor_user_id, actor, subject, client_ip, detail "
			   "FROM audit_log_leaf ORDER BY seq::bigint");
	tlog_tree_init(&t);
	for (int i = 0; i < PQntuples(res); i++) {
		tlog_field_t f[7];
		size_t n = 0;
		for (int c = 0; c < 7; c++)
			if (!PQgetisnull(res, i, c + 1)) {
				f[n].name = (archive_str_t){names[c], strlen(names[c])};
				f[n].value = (archive_str_t){PQgetvalue(res, i, c + 1),
							     (size_t)PQgetlength(res, i, c + 1)};
				n++;
			}
		const char *id = PQgetvalue(res, i, 0);
		assert_int_equal(tlog_leaf_hash((archive_str_t){id, strlen(id)}, f, n, leaf), 0);
		tlog_tree_append(&t, leaf);
	}
	PQclear(res);
	tlog_tree_root(&t, root);
	tlog_origin_audit(ORIGIN, origin, sizeof(origin));
	file_checkpoint(origin, -1, t.size, root, NULL);
}

static void write_config(void)
{
	FILE *f;

	snprintf(T.cfg, sizeof(T.cfg), "%s/eirc.yaml", T.dir);
	assert_non_null(f = fopen(T.cfg, "we"));
	char sk[TLOG_SKEY_MAX];
	tlog_signer_format(&T.signer, sk, sizeof(sk));
	fprintf(f,
		"irc:\n  network: eIRC\n  servers: [{host: 127.0.0.1, port: 6667}]\n"
		"  webirc_password: webirc-password-for-tests-0123456789\n"
		"redis:\n  host: 127.0.0.1\n  port: %d\n  %s: %s\n  partitions: %d\n"
		"elasticsearch:\n  urls: [\"http://127.0.0.1:%d\"]\n  index_prefix: " PREFIX "\n"
		"auth:\n  internal_secret: internal-secret-for-tests-0123456789\n"
		"  database:\n    host: 127.0.0.1\n    port: %d\n    name: eirc\n    user: eirc\n"
		"    password: " DB_PW "\n"
		"history:\n  session_key: session-key-for-tests-0123456789abcdef\n"
		"integrity:\n  signing_key: \"%s\"\n  origin: " ORIGIN "\n",
		srv_port(T.cluster ? T.nodes[0] : T.redis), T.cluster ? "cluster" : "password",
		T.cluster ? "true" : srv_password(T.redis), PARTS, T.es.port, srv_port(T.pg), sk);
	fclose(f);
}

/* Everything, with one Redis or a Redis Cluster of three masters. */
static int setup_with(bool cluster)
{
	const char *k[] = {"host", "port", "dbname", "user", "password", NULL};
	char port[16];
	const char *v[] = {"127.0.0.1", port, "eirc", "postgres", NULL, NULL};

	memset(&T, 0, sizeof(T));
	T.cluster = cluster;
	srv_env_install_signal_handlers();
	if (sodium_init() < 0 || srv_env_new(NULL, &T.env) < 0 ||
	    (cluster ? srv_redis_cluster_start(T.env, 3, T.nodes)
		     : srv_redis_start(T.env, &(srv_redis_opts_t){.password = "redis-pw"},
				       &T.redis)) < 0 ||
	    srv_postgres_start(T.env, NULL, &T.pg) < 0 ||
	    srv_pg_create_db(T.pg, "eirc", "eirc_owner", "owner-pw") < 0 ||
	    srv_pg_create_role(T.pg, "eirc", DB_PW) < 0)
		return -1;
	snprintf(T.dir, sizeof(T.dir), "%s", srv_env_dir(T.env));
	if (lgf_es_start(T.dir, &T.es) < 0)
		return -1;
	snprintf(port, sizeof(port), "%d", srv_port(T.pg));
	v[4] = srv_password(T.pg);
	T.db = PQconnectdbParams(k, v, 0);
	if (PQstatus(T.db) != CONNECTION_OK || srv_pg_exec(T.pg, "eirc", schema) < 0)
		return -1;
	if (cluster) {
		T.r = node_at(srv_port(T.nodes[0]));
	} else {
		T.r = redisConnect("127.0.0.1", srv_port(T.redis));
		freeReplyObject(redisCommand(T.r, "AUTH %s", srv_password(T.redis)));
	}
	tlog_signer_generate(ORIGIN, &T.signer);
	tlog_mac_key(&T.signer, T.mac_key);
	tlog_verifier_t vk;
	tlog_signer_verifier(&T.signer, &vk);
	tlog_verifier_format(&vk, T.vkey, sizeof(T.vkey));
	T.base_ms = 1796000000000ULL;
	write_config();
	return 0;
}

static int setup(void **state)
{
	(void)state;
	return setup_with(false);
}

static int setup_cluster(void **state)
{
	(void)state;
	return setup_with(true);
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < 3; i++)
		if (T.via[i].c)
			redisFree(T.via[i].c);
	if (T.r && !T.cluster)
		redisFree(T.r);
	if (T.db)
		PQfinish(T.db);
	if (T.es.pid > 0)
		lgf_proc_stop(&T.es, SIGTERM);
	srv_env_free(T.env);
	return 0;
}

/* ---- the tests ---- */

static void test_intact(void **state)
{
	(void)state;
	write_events();
	for (int k = 0; k < PARTS; k++)
		seal(k, k == 0 ? UNSEALED : 0);
	write_audit();
	expect_intact();
}

/* The i-th event of partition k (its archive id and msgid). */
static void nth(int k, int nth_of_k, char *id, char *msgid)
{
	for (int i = 0, c = 0; i < EVENTS; i++)
		if (T.k_of[i] == k && c++ == nth_of_k) {
			sprintf(id, "%" PRIu64 "-0", T.base_ms + (uint64_t)i * 2);
			sprintf(msgid, "m%05d", i);
			return;
		}
	fail();
}

/* DUMP of partition k's archive, to undo a tampering with RESTORE. */
static redisReply *save(int k)
{
	char key[64];

	akey(k, key, sizeof(key));
	return cmd("DUMP %s", key);
}

static void restore(int k, redisReply *dump)
{
	char key[64];

	akey(k, key, sizeof(key));
	cmd0("RESTORE %s 0 %b REPLACE", key, dump->str, dump->len);
	freeReplyObject(dump);
}

typedef void (*rewrite_fn)(redisReply *entries, size_t i, const char **argv, size_t *len,
			   int *argc);

/* Rebuilds partition k's archive stream from its entries, as someone
 * with Redis access would (DEL, then XADD each with its id), letting fn
 * change entry i. */
static void rebuild(int k, size_t at, rewrite_fn fn)
{
	char key[64];
	redisReply *r;

	akey(k, key, sizeof(key));
	r = cmd("XRANGE %s - +", key);
	cmd0("DEL %s", key);
	for (size_t i = 0; i < r->elements; i++) {
		redisReply *kv = r->element[i]->element[1];
		const char *argv[64];
		size_t len[64];
		int argc = 0;
		argv[argc] = "XADD", len[argc++] = 4;
		argv[argc] = key, len[argc++] = strlen(key);
		argv[argc] = r->element[i]->element[0]->str,
		len[argc++] = r->element[i]->element[0]->len;
		for (size_t j = 0; j < kv->elements; j++)
			argv[argc] = kv->element[j]->str, len[argc++] = kv->element[j]->len;
		if (fn && i == at)
			fn(r, i, argv, len, &argc);
		if (argc > 3)
			freeReplyObject(command_argv(argc, argv, len));
	}
	freeReplyObject(r);
}

static void forge_text(redisReply *e, size_t i, const char **argv, size_t *len, int *argc)
{
	(void)e;
	(void)i;
	for (int j = 3; j + 1 < *argc; j += 2)
		if (len[j] == 4 && !memcmp(argv[j], "text", 4)) {
			argv[j + 1] = "a forged text";
			len[j + 1] = strlen(argv[j + 1]);
		}
}

/* Entry i gets entry i+1's fields and the other way round (ids stay). */
static void swap_next(redisReply *e, size_t i, const char **argv, size_t *len, int *argc)
{
	static redisReply *saved;
	(void)argv;
	(void)len;
	(void)argc;
	saved = e->element[i]->element[1];
	e->element[i]->element[1] = e->element[i + 1]->element[1];
	e->element[i + 1]->element[1] = saved;
	*argc = 3;
	for (size_t j = 0; j < e->element[i]->element[1]->elements; j++) {
		argv[*argc] = e->element[i]->element[1]->element[j]->str;
		len[(*argc)++] = e->element[i]->element[1]->element[j]->len;
	}
}

static void test_xdel(void **state)
{
	char key[64], id[48], msgid[16];
	redisReply *d = save(1);

	(void)state;
	nth(1, 500, id, msgid);
	akey(1, key, sizeof(key));
	cmd0("XDEL %s %s", key, id);
	expect_finding("FAIL removed in redis", msgid, "p1, position 500");
	restore(1, d);
	expect_intact();
}

static void test_forged_rewrite(void **state)
{
	char id[48], msgid[16];
	redisReply *d = save(2);

	(void)state;
	nth(2, 321, id, msgid);
	rebuild(2, 321, forge_text);
	expect_finding("FAIL modified in redis", msgid, id);
	restore(2, d);
	expect_intact();
}

static void test_swap(void **state)
{
	char id[48], msgid[16];
	redisReply *d = save(3);

	(void)state;
	nth(3, 100, id, msgid);
	rebuild(3, 100, swap_next);
	expect_finding("FAIL reordered in redis", "position 100", id);
	restore(3, d);
	expect_intact();
}

static void test_insert(void **state)
{
	char key[64], id[48], msgid[16], mid[48];
	redisReply *d = save(1);
	uint64_t ms;

	(void)state;
	/* in the middle: a stream rebuilt with one more entry */
	nth(1, 42, id, msgid);
	sscanf(id, "%" SCNu64, &ms);
	snprintf(mid, sizeof(mid), "%" PRIu64 "-0", ms + 1);
	akey(1, key, sizeof(key));
	{
		redisReply *r = cmd("XRANGE %s - +", key);
		cmd0("DEL %s", key);
		for (size_t i = 0; i < r->elements; i++) {
			redisReply *kv = r->element[i]->element[1];
			const char *argv[64];
			size_t len[64];
			int argc = 3;
			argv[0] = "XADD", len[0] = 4, argv[1] = key, len[1] = strlen(key);
			argv[2] = r->element[i]->element[0]->str;
			len[2] = r->element[i]->element[0]->len;
			for (size_t j = 0; j < kv->elements; j++)
				argv[argc] = kv->element[j]->str, len[argc++] = kv->element[j]->len;
			freeReplyObject(command_argv(argc, argv, len));
			if (!strcmp(argv[2], id))
				cmd0("XADD %s %s network eIRC msgid slipped-in time %" PRIu64
				     " type privmsg conv #chan1 text inserted",
				     key, mid, ms + 1);
		}
		freeReplyObject(r);
	}
	expect_finding("FAIL inserted in redis", "slipped-in", mid);
	restore(1, d);
	/* at the tail, past the sealed entries: no pending record */
	d = save(0);
	akey(0, key, sizeof(key));
	cmd0("XADD %s * network eIRC msgid forged-tail time 1 type privmsg conv #chan0 text x",
	     key);
	expect_finding("FAIL inserted in redis", "forged-tail", "no pending record");
	restore(0, d);
	expect_intact();
}

static void es_doc_path(int i, char *path, size_t cap)
{
	char ts[32];

	archive_event_time_format((int64_t)(T.base_ms + (uint64_t)i * 2), ts, sizeof(ts));
	snprintf(path, cap, "/" PREFIX "-%.4s.%.2s.%.2s/_doc/m%05d", ts, ts + 5, ts + 8, i);
}

static void test_es_changed_and_deleted(void **state)
{
	char path[128], *body, msgid[16];
	json_t *doc, *src;
	long st;

	(void)state;
	es_doc_path(1234, path, sizeof(path));
	snprintf(msgid, sizeof(msgid), "m%05d", 1234);
	body = es_req("GET", path, NULL, &st);
	assert_int_equal(st, 200);
	doc = json_loads(body, 0, NULL);
	free(body);
	src = json_object_get(doc, "_source");
	char *orig = json_dumps(src, JSON_COMPACT);
	json_object_set_new(src, "text", json_string("changed in elasticsearch"));
	char *changed = json_dumps(src, JSON_COMPACT);
	free(es_req("PUT", path, changed, &st));
	assert_int_equal(st, 200);
	expect_finding("FAIL modified in elasticsearch", msgid, "position");
	free(es_req("PUT", path, orig, &st));
	expect_intact();
	free(es_req("DELETE", path, NULL, &st));
	assert_int_equal(st, 200);
	expect_finding("FAIL removed in elasticsearch", msgid, "redis");
	free(es_req("PUT", path, orig, &st));
	assert_int_equal(st, 201);
	expect_intact();
	free(orig);
	free(changed);
	json_decref(doc);
}

static void test_checkpoint_row(void **state)
{
	const char *k[] = {"host", "port", "dbname", "user", "password", NULL};
	char port[16], origin[TLOG_NAME_MAX + 1], sql[512];
	const char *v[] = {"127.0.0.1", port, "eirc", "eirc", DB_PW, NULL};
	PGconn *svc;
	PGresult *res;

	(void)state;
	tlog_origin_partition(ORIGIN, 2, origin, sizeof(origin));
	snprintf(port, sizeof(port), "%d", srv_port(T.pg));
	svc = PQconnectdbParams(k, v, 0);
	assert_int_equal(PQstatus(svc), CONNECTION_OK);
	/* the service role: no DELETE at all; the superuser: the trigger */
	res = PQexecParams(svc, "DELETE FROM archive_checkpoints WHERE origin = $1 AND seq = 2", 1,
			   NULL, (const char *[]){origin}, NULL, NULL, 0);
	assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
	PQclear(res);
	PQfinish(svc);
	res = PQexecParams(T.db, "DELETE FROM archive_checkpoints WHERE origin = $1 AND seq = 2", 1,
			   NULL, (const char *[]){origin}, NULL, NULL, 0);
	assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
	assert_non_null(strstr(PQresultErrorMessage(res), "append-only"));
	PQclear(res);
	expect_intact();
	/* forced: the trigger off for the session */
	snprintf(
		sql, sizeof(sql),
		"CREATE TEMP TABLE saved AS SELECT * FROM archive_checkpoints WHERE origin = "
		"'%s' AND seq = 2; SET session_replication_role = replica; DELETE FROM "
		"archive_checkpoints WHERE origin = '%s' AND seq = 2; SET session_replication_role "
		"= DEFAULT",
		origin, origin);
	res = PQexec(T.db, sql);
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	expect_finding("FAIL checkpoint missing in postgresql", origin, "seq 2");
	res = PQexec(T.db, "INSERT INTO archive_checkpoints SELECT * FROM saved; DROP TABLE saved");
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	expect_intact();
	/* the last row of a partition: Redis's latest checkpoint is newer */
	snprintf(sql, sizeof(sql),
		 "CREATE TEMP TABLE saved AS SELECT * FROM archive_checkpoints WHERE origin = "
		 "'%s' ORDER BY seq DESC LIMIT 1; SET session_replication_role = replica; DELETE "
		 "FROM archive_checkpoints WHERE id = (SELECT id FROM saved); SET "
		 "session_replication_role = DEFAULT",
		 origin);
	res = PQexec(T.db, sql);
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	expect_finding("FAIL checkpoint missing in postgresql", origin, "newer than PostgreSQL");
	res = PQexec(T.db, "INSERT INTO archive_checkpoints SELECT * FROM saved; DROP TABLE saved");
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	expect_intact();
}

static void test_audit_row_changed(void **state)
{
	PGresult *res;

	(void)state;
	res = PQexec(T.db, "UPDATE audit_log SET actor = 'someone else' WHERE seq = 4");
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	expect_finding("FAIL checkpoint mismatch in postgresql", "/audit", "audit_log");
	res = PQexec(T.db, "UPDATE audit_log SET actor = 'user4' WHERE seq = 4");
	PQclear(res);
	expect_intact();
}

/* The auditor's file: what `checkpoints` wrote; a later rewrite of
 * PostgreSQL and Redis together still fails against it. */
static void test_auditor_checkpoints(void **state)
{
	char out[16384], path[600];
	FILE *f;

	(void)state;
	assert_int_equal(ea_run(out, sizeof(out), "--config", T.cfg, "checkpoints", NULL), 0);
	assert_non_null(strstr(out, ORIGIN "/p0\n"));
	assert_non_null(strstr(out, ORIGIN "/audit\n"));
	assert_non_null(strstr(out, "~~~~\n"));
	snprintf(path, sizeof(path), "%s/auditor.txt", T.dir);
	assert_non_null(f = fopen(path, "we"));
	fputs(out, f);
	fclose(f);
	assert_int_equal(
		ea_run(out, sizeof(out), "--config", T.cfg, "verify", "--checkpoint", path, NULL),
		0);
	assert_int_equal(ea_run(out, sizeof(out), "--config", T.cfg, "verify", "--partition", "2",
				"--from", "2026-11-30", NULL),
			 0);
}

static void test_prove(void **state)
{
	char out[65536], path[600], pub[TLOG_VKEY_MAX + 8];
	FILE *f;
	tlog_signer_t other;
	tlog_verifier_t ov;

	(void)state;
	snprintf(path, sizeof(path), "%s/m01500.proof", T.dir);
	assert_int_equal(
		ea_run(out, sizeof(out), "--config", T.cfg, "prove", "m01500", "--out", path, NULL),
		0);
	assert_int_equal(ea_run(out, sizeof(out), "check-proof", "--key", T.vkey, path, NULL), 0);
	assert_non_null(strstr(out, "OK msgid m01500"));
	/* another key: refused */
	tlog_signer_generate("someone.else", &other);
	tlog_signer_verifier(&other, &ov);
	tlog_verifier_format(&ov, pub, sizeof(pub));
	assert_int_equal(ea_run(out, sizeof(out), "check-proof", "--key", pub, path, NULL), 1);
	/* a changed event: its text */
	char *text = lgf_slurp(path), *at = strstr(text, "field text ");
	assert_non_null(at);
	at[11] = at[11] == 'A' ? 'B' : 'A';
	assert_non_null(f = fopen(path, "we"));
	fputs(text, f);
	fclose(f);
	free(text);
	assert_int_equal(ea_run(out, sizeof(out), "check-proof", "--key", T.vkey, path, NULL), 1);
	assert_non_null(strstr(out, "FAIL"));
	/* an unsealed event: no proof yet */
	char id[48], msgid[16];
	redisReply *r;
	char key[64];
	akey(0, key, sizeof(key));
	r = cmd("XREVRANGE %s + - COUNT 1", key);
	snprintf(id, sizeof(id), "%s", r->element[0]->element[0]->str);
	for (size_t j = 0; j + 1 < r->element[0]->element[1]->elements; j += 2)
		if (!strcmp(r->element[0]->element[1]->element[j]->str, "msgid"))
			snprintf(msgid, sizeof(msgid), "%s",
				 r->element[0]->element[1]->element[j + 1]->str);
	freeReplyObject(r);
	assert_int_equal(ea_run(out, sizeof(out), "--config", T.cfg, "prove", msgid, NULL), 1);
}

/* A "shipped" trim of partition 3 at its first checkpoint, as
 * lg_archive.c does it: the entries go, a tombstone says which. */
static void test_trimmed(void **state)
{
	char key[64], tkey[64], tomb[64], bkey[64], *last;
	redisReply *r;
	uint64_t ms;

	(void)state;
	akey(3, key, sizeof(key));
	archive_keys_tlog(3, ARCHIVE_KEYS_TLOG_STATE, tkey, sizeof(tkey));
	archive_keys_tlog(3, ARCHIVE_KEYS_TLOG_TOMB, tomb, sizeof(tomb));
	archive_keys_tlog(3, ARCHIVE_KEYS_TLOG_CPS, bkey, sizeof(bkey));
	r = cmd("ZRANGEBYSCORE %s %d %d", bkey, CP_EVENTS, CP_EVENTS);
	assert_int_equal(r->elements, 1);
	last = strchr(r->element[0]->str, ' ') + 1;
	sscanf(last, "%" SCNu64, &ms);
	cmd0("XTRIM %s MINID %" PRIu64 "-1", key, ms);
	cmd0("XADD %s * from 0 to %d first %" PRIu64 "-0 last %s count %d policy shipped actor "
	     "test time 0",
	     tomb, CP_EVENTS, T.base_ms, last, CP_EVENTS);
	cmd0("HSET %s trimmed %d", tkey, CP_EVENTS);
	freeReplyObject(r);
	expect_intact();
	/* a trim without its tombstone */
	cmd0("DEL %s", tomb);
	expect_finding("FAIL removed in redis", "p3", "without a tombstone");
	cmd0("XADD %s * from 0 to %d first %" PRIu64 "-0 last 0-0 count %d policy shipped actor "
	     "test time 0",
	     tomb, CP_EVENTS, T.base_ms, CP_EVENTS);
	expect_intact();
	/* two tombstones, then the first of them gone: the chain starts at 0 */
	cmd0("DEL %s", tomb);
	r = cmd("XADD %s * from 0 to %d first 0-0 last 0-0 count %d policy shipped actor test "
		"time 0",
		tomb, CP_EVENTS / 2, CP_EVENTS / 2);
	cmd0("XADD %s * from %d to %d first 0-0 last 0-0 count %d policy shipped actor test "
	     "time 0",
	     tomb, CP_EVENTS / 2, CP_EVENTS, CP_EVENTS / 2);
	expect_intact();
	cmd0("XDEL %s %s", tomb, r->str);
	freeReplyObject(r);
	expect_finding("FAIL removed in redis", "p3", "without a tombstone");
	cmd0("DEL %s", tomb);
	cmd0("XADD %s * from 0 to %d first %" PRIu64 "-0 last 0-0 count %d policy shipped actor "
	     "test time 0",
	     tomb, CP_EVENTS, T.base_ms, CP_EVENTS);
	expect_intact();
}

/* The sealer's frontier, forged: the next checkpoints would sign a tree
 * that is not the stored leaves'. */
static void test_sealer_frontier(void **state)
{
	char tkey[64];
	redisReply *r;

	(void)state;
	archive_keys_tlog(1, ARCHIVE_KEYS_TLOG_STATE, tkey, sizeof(tkey));
	r = cmd("HGET %s frontier", tkey);
	assert_true(r->len >= TLOG_HASH_LEN);
	r->str[0] ^= 1;
	cmd0("HSET %s frontier %b", tkey, r->str, r->len);
	expect_finding("FAIL checkpoint mismatch in redis", "/p1", "frontier");
	r->str[0] ^= 1;
	cmd0("HSET %s frontier %b", tkey, r->str, r->len);
	freeReplyObject(r);
	expect_intact();
}

/* A retention trim of partition 2 at its first checkpoint: its tombstone
 * carries the frontier of [0, to), which the checkpoint at `to` signs. */
static void test_retention_trim(void **state)
{
	char key[64], tkey[64], tomb[64], bkey[64], lkey[64], hex[2 * 64 * TLOG_HASH_LEN + 1];
	uint8_t fr[TLOG_FRONTIER_MAX * TLOG_HASH_LEN];
	redisReply *r, *l;
	tlog_tree_t t;
	uint64_t ms;
	int n;

	(void)state;
	akey(2, key, sizeof(key));
	archive_keys_tlog(2, ARCHIVE_KEYS_TLOG_STATE, tkey, sizeof(tkey));
	archive_keys_tlog(2, ARCHIVE_KEYS_TLOG_TOMB, tomb, sizeof(tomb));
	archive_keys_tlog(2, ARCHIVE_KEYS_TLOG_CPS, bkey, sizeof(bkey));
	archive_keys_leaves(2, 0, lkey, sizeof(lkey));
	l = cmd("GETRANGE %s 0 %d", lkey, CP_EVENTS * TLOG_HASH_LEN - 1);
	tlog_tree_init(&t);
	for (int i = 0; i < CP_EVENTS; i++)
		tlog_tree_append(&t, (const uint8_t *)l->str + i * TLOG_HASH_LEN);
	freeReplyObject(l);
	n = tlog_tree_encode(&t, fr, sizeof(fr));
	sodium_bin2hex(hex, sizeof(hex), fr, (size_t)n);
	r = cmd("ZRANGEBYSCORE %s %d %d", bkey, CP_EVENTS, CP_EVENTS);
	assert_int_equal(r->elements, 1);
	sscanf(strchr(r->element[0]->str, ' ') + 1, "%" SCNu64, &ms);
	cmd0("XTRIM %s MINID %" PRIu64 "-1", key, ms);
	cmd0("XADD %s * from 0 to %d first %" PRIu64 "-0 last %s count %d policy %s actor test "
	     "time 0 frontier %s",
	     tomb, CP_EVENTS, T.base_ms, strchr(r->element[0]->str, ' ') + 1, CP_EVENTS,
	     "retention", hex);
	cmd0("HSET %s trimmed %d", tkey, CP_EVENTS);
	freeReplyObject(r);
	expect_intact();
	/* a frontier that is not the log's */
	char was = hex[0];
	hex[0] = was == '0' ? '1' : '0';
	cmd0("DEL %s", tomb);
	cmd0("XADD %s * from 0 to %d first 0-0 last 0-0 count %d policy retention actor test "
	     "time 0 frontier %s",
	     tomb, CP_EVENTS, CP_EVENTS, hex);
	expect_finding("FAIL checkpoint mismatch in redis", "/p2", "position 400");
	hex[0] = was;
	cmd0("DEL %s", tomb);
	cmd0("XADD %s * from 0 to %d first 0-0 last 0-0 count %d policy retention actor test "
	     "time 0 frontier %s",
	     tomb, CP_EVENTS, CP_EVENTS, hex);
	expect_intact();
}

static void test_exit_codes(void **state)
{
	char out[4096], bad[600];
	FILE *f;

	(void)state;
	assert_int_equal(ea_run(out, sizeof(out), "verify", NULL), 2);
	assert_int_equal(
		ea_run(out, sizeof(out), "--config", T.cfg, "verify", "--partition", "9", NULL), 2);
	/* Redis unreachable */
	snprintf(bad, sizeof(bad), "%s/bad.yaml", T.dir);
	char *cfg = lgf_slurp(T.cfg), *p = strstr(cfg, "port: ");
	char port[16];
	snprintf(port, sizeof(port), "%d", srv_port(T.redis));
	p = strstr(cfg, port);
	memcpy(p, "1", 1);
	assert_non_null(f = fopen(bad, "we"));
	fputs(cfg, f);
	fclose(f);
	free(cfg);
	assert_int_equal(ea_run(out, sizeof(out), "--config", bad, "verify", NULL), 3);
	assert_int_equal(ea_run(out, sizeof(out), "keygen", "bad name", NULL), 2);
	assert_int_equal(ea_run(out, sizeof(out), "keygen", "auditor.example", NULL), 0);
	assert_non_null(strstr(out, "PRIVATE+KEY+auditor.example+"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intact),
		cmocka_unit_test(test_xdel),
		cmocka_unit_test(test_forged_rewrite),
		cmocka_unit_test(test_swap),
		cmocka_unit_test(test_insert),
		cmocka_unit_test(test_es_changed_and_deleted),
		cmocka_unit_test(test_checkpoint_row),
		cmocka_unit_test(test_audit_row_changed),
		cmocka_unit_test(test_auditor_checkpoints),
		cmocka_unit_test(test_prove),
		cmocka_unit_test(test_trimmed),
		cmocka_unit_test(test_sealer_frontier),
		cmocka_unit_test(test_retention_trim),
		cmocka_unit_test(test_exit_codes),
	};

	/* the same archive on a Redis Cluster: eirc-archive follows MOVED */
	const struct CMUnitTest on_cluster[] = {
		cmocka_unit_test(test_intact),
		cmocka_unit_test(test_xdel),
		cmocka_unit_test(test_swap),
		cmocka_unit_test(test_prove),
	};
	int failed = cmocka_run_group_tests(tests, setup, teardown);

	return failed + cmocka_run_group_tests_name("on a Redis Cluster", on_cluster, setup_cluster,
						    teardown);
}
