/*
 * eirc-auth's part of the integrity issue (auth/auth_integrity.h, migration
 * 006) against a real PostgreSQL and Redis:
 *   - a checkpoint XADDed to eirc:{cp}:checkpoints is filed into
 *     archive_checkpoints once (sent twice: one row), numbered per origin
 *     1, 2, ..., with its key id, root and note, and an archive.checkpoint
 *     audit row; one signed by a rotated key of integrity.verify_keys too;
 *   - one signed by an unknown key, or altered after signing, is refused;
 *   - the same origin and size with another root is a fork: no row, one
 *     archive.fork audit row, the metric;
 *   - archive_checkpoints is append-only: UPDATE, DELETE and TRUNCATE are
 *     refused to the service role, and by the trigger to its owner and a
 *     superuser; the counters cannot be moved by the service role;
 *   - audit rows get seq 1, 2, ... with no gap; the audit log's tree is
 *     checkpointed ("<origin>/audit") with a root equal to one recomputed
 *     here from audit_log_leaf alone (its columns as named), signed by the
 *     key, and the note is in the witness file; `eirc-archive verify
 *     --checkpoint <witness>` finds the audit log intact;
 *   - GET /.well-known/eirc-archive-key answers the verifiers; 404 without
 *     a signing key;
 *   - migrating a database of version 5 numbers its audit rows in id order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <sodium.h>

#include "archive/tlog.h"
#include "tests/integration/auth_fixture.h"

#define DOMAIN "test.example"
#define ORIGIN DOMAIN "/archive"
/* Origins of partitions the config has not (redis.partitions 16): eirc-archive
 * verify, run on the audit log below, has no archive to check these against. */
#define P0        ORIGIN "/p9000"
#define P1        ORIGIN "/p9001"
#define P2        ORIGIN "/p9002"
#define AUDIT     ORIGIN "/audit"
#define CP_STREAM "eirc:{cp}:checkpoints"

static fx_t fx;
static redisContext *rc; /* the default user: the sealers' XADD */
static tlog_signer_t key, old_key, stranger;
static char vkey[TLOG_VKEY_MAX], old_vkey[TLOG_VKEY_MAX];
static char dir[64] = "/tmp/eirc-integrity-XXXXXX", witness[128];
static char yaml[2048];

static int setup(void **state)
{
	char skey[TLOG_SKEY_MAX];
	tlog_verifier_t v;

	(void)state;
	if (sodium_init() < 0 || !mkdtemp(dir) || tlog_signer_generate(DOMAIN, &key) < 0 ||
	    tlog_signer_generate("old." DOMAIN, &old_key) < 0 ||
	    tlog_signer_generate(DOMAIN, &stranger) < 0 ||
	    tlog_signer_format(&key, skey, sizeof(skey)) < 0)
		return -1;
	tlog_signer_verifier(&key, &v);
	tlog_verifier_format(&v, vkey, sizeof(vkey));
	tlog_signer_verifier(&old_key, &v);
	tlog_verifier_format(&v, old_vkey, sizeof(old_vkey));
	snprintf(witness, sizeof(witness), "%s/witness.log", dir);
	snprintf(yaml, sizeof(yaml),
		 "integrity:\n  signing_key: %s\n  verify_keys: ['%s']\n  origin: " ORIGIN "\n"
		 "  checkpoint_events: 5\n  checkpoint_interval: 1s\n  seal_interval: 100ms\n"
		 "  witness_file: %s\n",
		 skey, old_vkey, witness);
	if (fx_start_redis_top(&fx, NULL, yaml) < 0) {
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "tail -20 '%s' >&2", fx.log);
		if (system(cmd) != 0)
			fprintf(stderr, "(no log)\n");
		return -1;
	}
	rc = redisConnectWithTimeout("127.0.0.1", srv_port(fx.redis),
				     (struct timeval){.tv_sec = 5});
	if (!rc || rc->err)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];

	(void)state;
	redisFree(rc);
	if (fx.env)
		fx_stop(&fx);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The note of (origin, size, root) signed by s. */
static void sign(const char *origin, uint64_t size, uint8_t seed, const tlog_signer_t *s,
		 char note[TLOG_CHECKPOINT_MAX])
{
	tlog_checkpoint_t cp = {.size = size};

	snprintf(cp.origin, sizeof(cp.origin), "%s", origin);
	memset(cp.root, seed, sizeof(cp.root));
	assert_true(tlog_checkpoint_sign(&cp, s, note, TLOG_CHECKPOINT_MAX) > 0);
}

/* XADDs a note as the sealer does (origin, size, root, note). */
static void xadd(const char *origin, uint64_t size, uint8_t seed, const char *note)
{
	char sz[24], root[64];
	uint8_t r[TLOG_HASH_LEN];
	redisReply *rep;

	memset(r, seed, sizeof(r));
	sodium_bin2base64(root, sizeof(root), r, sizeof(r), sodium_base64_VARIANT_ORIGINAL);
	snprintf(sz, sizeof(sz), "%" PRIu64, size);
	rep = redisCommand(rc, "XADD %s * origin %s size %s root %s note %s", CP_STREAM, origin, sz,
			   root, note);
	assert_non_null(rep);
	assert_int_equal(rep->type, REDIS_REPLY_STRING);
	freeReplyObject(rep);
}

/* Polls sql (one integer) until it is want, up to 10 s; the last value. */
static long long wait_int(const char *sql, long long want)
{
	long long v = -1;

	for (int i = 0; i < 100; i++) {
		if ((v = fx_sql_int(&fx, sql)) == want)
			break;
		usleep(100 * 1000);
	}
	return v;
}

static long get(bool internal, const char *path, char *body, size_t cap, char *headers, size_t hcap)
{
	ht_resp_t r;
	long st;

	fx_http(&fx, internal, "GET", path, NULL, NULL, 0, &r);
	st = r.status;
	if (body)
		snprintf(body, cap, "%s", r.body ? r.body : "");
	if (headers)
		snprintf(headers, hcap, "%s", r.headers);
	ht_resp_free(&r);
	return st;
}

static double metric(const char *name)
{
	static char text[256 * 1024];
	size_t n = strlen(name);

	assert_int_equal(get(true, "/metrics", text, sizeof(text), NULL, 0), 200);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, name, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

static void test_filed_once(void **state)
{
	char note[TLOG_CHECKPOINT_MAX], sql[TLOG_CHECKPOINT_MAX + 512], keyid[16], root[64];
	uint8_t r[TLOG_HASH_LEN];

	(void)state;
	sign(P0, 10, 0xa1, &key, note);
	xadd(P0, 10, 0xa1, note);
	xadd(P0, 10, 0xa1, note); /* the HA twin's */
	sign(P0, 20, 0xa2, &key, note);
	xadd(P0, 20, 0xa2, note);
	assert_int_equal(
		wait_int("SELECT count(*) FROM archive_checkpoints WHERE origin = '" P0 "'", 2), 2);
	usleep(500 * 1000); /* passes later: still one row each */
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM archive_checkpoints"
					 " WHERE origin = '" P0 "' AND size = 10"),
			 1);
	/* numbered per origin, with what the note says */
	snprintf(keyid, sizeof(keyid), "%08" PRIx32, key.keyid);
	memset(r, 0xa2, sizeof(r));
	sodium_bin2base64(root, sizeof(root), r, sizeof(r), sodium_base64_VARIANT_ORIGINAL);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM archive_checkpoints WHERE origin = '" P0 "' AND size = 20"
		 " AND seq = 2 AND key_id = '%s' AND root = '%s' AND note = '%s'"
		 " AND stream_id LIKE '%%-%%'",
		 keyid, root, note);
	assert_int_equal(fx_sql_int(&fx, sql), 1);
	assert_int_equal(fx_sql_int(&fx, "SELECT seq FROM archive_checkpoints"
					 " WHERE origin = '" P0 "' AND size = 10"),
			 1);
	/* one audit row per filing */
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM audit_log WHERE event = 'archive.checkpoint'"
		 " AND subject = '" P0 "' AND detail = '{\"size\": 20, \"root\": \"%s\"}'",
		 root);
	assert_int_equal(fx_sql_int(&fx, sql), 1);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM audit_log WHERE"
					 " event = 'archive.checkpoint' AND subject = '" P0 "'"),
			 2);
	/* a key rotated out still verifies; another origin starts at 1 */
	sign(P1, 7, 0xb1, &old_key, note);
	xadd(P1, 7, 0xb1, note);
	snprintf(keyid, sizeof(keyid), "%08" PRIx32, old_key.keyid);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM archive_checkpoints WHERE origin = '" P1 "'"
		 " AND size = 7 AND seq = 1 AND key_id = '%s'",
		 keyid);
	assert_int_equal(wait_int(sql, 1), 1);
	assert_true(metric("eirc_auth_checkpoints_filed_total") >= 3);
}

static void test_refused(void **state)
{
	char note[TLOG_CHECKPOINT_MAX], *p;

	(void)state;
	sign(P1, 100, 0xc1, &stranger, note); /* the domain's name, not its key */
	xadd(P1, 100, 0xc1, note);
	sign(P1, 101, 0xc2, &key, note);
	p = strchr(note, '\n');
	p[-1] = p[-1] == '7' ? '8' : '7'; /* the origin altered after signing */
	xadd(P1, 101, 0xc2, note);
	xadd(P1, 102, 0xc3, "not a note");
	/* one after them: once it is filed, they were looked at */
	sign(P1, 103, 0xc4, &key, note);
	xadd(P1, 103, 0xc4, note);
	assert_int_equal(wait_int("SELECT count(*) FROM archive_checkpoints WHERE size = 103", 1),
			 1);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM archive_checkpoints"
					 " WHERE size BETWEEN 100 AND 102"),
			 0);
	assert_true(metric("eirc_auth_checkpoints_refused_total") == 3);
	/* gapless: P1 has 7 and 103 */
	assert_int_equal(fx_sql_int(&fx, "SELECT seq FROM archive_checkpoints WHERE size = 103"),
			 2);
}

static void test_fork(void **state)
{
	char note[TLOG_CHECKPOINT_MAX];

	(void)state;
	sign(P0, 10, 0xee, &key, note); /* size 10 of p0 again, another root */
	xadd(P0, 10, 0xee, note);
	assert_int_equal(wait_int("SELECT count(*) FROM audit_log WHERE event = 'archive.fork'"
				  " AND subject = '" P0 "' AND (detail->>'size')::int = 10",
				  1),
			 1);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM archive_checkpoints"
					 " WHERE origin = '" P0 "' AND size = 10"),
			 1);
	assert_int_equal(fx_sql_int(&fx,
				    "SELECT count(*) FROM archive_checkpoints"
				    " WHERE origin = '" P0 "' AND size = 10 AND root LIKE 'oa%'"),
			 1); /* 0xa1... is "oaGh..." in base64: the first root kept */
	assert_true(metric("eirc_auth_checkpoint_forks_total") == 1);
	/* reported once, not at every pass, nor after a restart (which reads
	 * the stream again from the newest entry filed) */
	usleep(500 * 1000);
	assert_int_equal(fx_stop_daemon(&fx), 0);
	assert_int_equal(fx_start_daemon(&fx), 0);
	usleep(1000 * 1000);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM audit_log WHERE"
					 " event = 'archive.fork'"),
			 1);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM audit_log WHERE"
					 " event = 'archive.checkpoint'"),
			 4);
}

/* More than one XRANGE's worth at once: all filed, numbered 1..n. */
static void test_many(void **state)
{
	char note[TLOG_CHECKPOINT_MAX];

	(void)state;
	for (uint64_t i = 1; i <= 250; i++) {
		sign(P2, i, (uint8_t)i, &key, note);
		xadd(P2, i, (uint8_t)i, note);
	}
	assert_int_equal(wait_int("SELECT count(*) FROM archive_checkpoints"
				  " WHERE origin = '" P2 "' AND seq = size",
				  250),
			 250);
	assert_int_equal(fx_sql_int(&fx, "SELECT max(seq) FROM archive_checkpoints"
					 " WHERE origin = '" P2 "'"),
			 250);
}

static void test_append_only(void **state)
{
	long long rows = fx_sql_int(&fx, "SELECT count(*) FROM archive_checkpoints");
	const char *const refused[] = {
		"UPDATE archive_checkpoints SET root = 'x'",
		"DELETE FROM archive_checkpoints",
		"TRUNCATE archive_checkpoints",
		"ALTER TABLE archive_checkpoints DISABLE TRIGGER USER",
		"UPDATE archive_checkpoint_seqs SET seq = seq + 1",
		"DELETE FROM archive_checkpoint_seqs",
		"UPDATE audit_log_seq SET seq = seq + 1",
		"UPDATE audit_log SET seq = seq + 1",
		"INSERT INTO audit_log_seq (seq) VALUES (1)",
	};

	(void)state;
	assert_true(rows >= 4);
	/* the service role (fx.db connects as eirc, as eirc-auth serves) */
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		assert_int_equal(fx_sql(&fx, refused[i]), -1);
	assert_int_equal(fx_sql_int(&fx, "SELECT has_table_privilege('archive_checkpoints',"
					 " 'UPDATE')::int + has_table_privilege("
					 "'archive_checkpoints', 'DELETE')::int"),
			 0);
	/* the trigger, for the owner and a superuser too */
	assert_int_equal(srv_pg_exec(fx.pg, "eirc", "UPDATE archive_checkpoints SET root = 'x'"),
			 -EIO);
	assert_int_equal(srv_pg_exec(fx.pg, "eirc", "DELETE FROM archive_checkpoints"), -EIO);
	assert_int_equal(srv_pg_exec(fx.pg, "eirc", "TRUNCATE archive_checkpoints"), -EIO);
	assert_int_equal(
		srv_pg_exec(fx.pg, "eirc", "SET ROLE eirc_owner; DELETE FROM archive_checkpoints"),
		-EIO);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM archive_checkpoints"), rows);
	/* a seq given by the inserter is not the one kept */
	assert_int_equal(fx_sql(&fx, "INSERT INTO audit_log (event, seq) VALUES ('test.seq', 1)"),
			 0);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM audit_log WHERE seq = 1"), 1);
}

/* The root of audit_log_leaf's rows 1..size, by the view's column names. */
static void audit_root(uint64_t size, uint8_t root[TLOG_HASH_LEN])
{
	char sql[160];
	PGresult *res;
	tlog_tree_t t;

	snprintf(sql, sizeof(sql),
		 "SELECT * FROM audit_log_leaf WHERE seq::bigint <= %" PRIu64
		 " ORDER BY seq::bigint",
		 size);
	res = PQexec(fx.db, sql);
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	assert_int_equal(PQntuples(res), (int)size);
	tlog_tree_init(&t);
	for (int i = 0; i < PQntuples(res); i++) {
		tlog_field_t f[TLOG_FIELDS_MAX];
		size_t n = 0;
		archive_str_t id = {NULL, 0};
		uint8_t leaf[TLOG_HASH_LEN];

		assert_int_equal(strtoll(PQgetvalue(res, i, PQfnumber(res, "seq")), NULL, 10),
				 i + 1);
		for (int c = 0; c < PQnfields(res); c++) {
			const char *name = PQfname(res, c), *v = PQgetvalue(res, i, c);
			if (!strcmp(name, "seq"))
				continue;
			if (!strcmp(name, "id")) {
				id = (archive_str_t){v, strlen(v)};
				continue;
			}
			f[n].name = (archive_str_t){name, strlen(name)};
			f[n++].value = (archive_str_t){v, strlen(v)}; /* NULL reads "" */
		}
		assert_int_equal(n, 7);
		assert_int_equal(tlog_leaf_hash(id, f, n, leaf), 0);
		tlog_tree_append(&t, leaf);
	}
	PQclear(res);
	tlog_tree_root(&t, root);
}

static void test_audit_tree(void **state)
{
	tlog_verifier_t v;
	tlog_checkpoint_t cp;
	uint8_t root[TLOG_HASH_LEN];
	char root64[64], *note, sql[128], *text = NULL;
	long long rows;
	PGresult *res;
	FILE *f;
	size_t cap = 0;

	(void)state;
	/* gapless, in order */
	rows = fx_sql_int(&fx, "SELECT count(*) FROM audit_log");
	assert_true(rows >= 6);
	assert_int_equal(fx_sql_int(&fx, "SELECT max(seq) FROM audit_log"), rows);
	assert_int_equal(fx_sql_int(&fx, "SELECT count(DISTINCT seq) FROM audit_log"), rows);
	/* no more audit rows come: the last checkpoint settles on them all */
	snprintf(sql, sizeof(sql),
		 "SELECT max(size) FROM archive_checkpoints WHERE origin = '" AUDIT "'");
	assert_int_equal(wait_int(sql, rows), rows);
	res = PQexec(fx.db, "SELECT root, note, key_id, seq FROM archive_checkpoints WHERE"
			    " origin = '" AUDIT "' ORDER BY size DESC LIMIT 1");
	assert_int_equal(PQntuples(res), 1);
	audit_root((uint64_t)rows, root);
	sodium_bin2base64(root64, sizeof(root64), root, sizeof(root),
			  sodium_base64_VARIANT_ORIGINAL);
	assert_string_equal(PQgetvalue(res, 0, 0), root64);
	/* the note: signed by the key, the same root */
	note = PQgetvalue(res, 0, 1);
	tlog_signer_verifier(&key, &v);
	assert_int_equal(tlog_checkpoint_open(note, strlen(note), &v, 1, &cp, NULL), 0);
	assert_string_equal(cp.origin, AUDIT);
	assert_int_equal(cp.size, rows);
	assert_memory_equal(cp.root, root, TLOG_HASH_LEN);
	/* no audit row for the audit log's own checkpoints */
	assert_int_equal(fx_sql_int(&fx, "SELECT count(*) FROM audit_log WHERE"
					 " subject = '" AUDIT "'"),
			 0);
	/* the witness holds it, "~~~~" after it */
	assert_non_null(f = fopen(witness, "re"));
	assert_true(getdelim(&text, &cap, '\0', f) > 0);
	fclose(f);
	{
		char want[TLOG_CHECKPOINT_MAX + 8];
		snprintf(want, sizeof(want), "%s~~~~\n", note);
		assert_non_null(strstr(text, want));
	}
	free(text);
	PQclear(res);
	assert_true(metric("eirc_auth_audit_sealed") == (double)rows);
	/* eirc-archive, the auditor's tool, on the same database and witness:
	 * the audit log's tree agrees */
	{
		char cmd[1400], out[4096] = "";
		const char *b = getenv("EIRC_BUILD_DIR");
		FILE *p;
		size_t n;
		int st;

		snprintf(cmd, sizeof(cmd),
			 "'%s/archive/eirc-archive' --config '%s' verify --checkpoint '%s' 2>&1",
			 b ? b : "build", fx.config, witness);
		assert_non_null(p = popen(cmd, "r"));
		n = fread(out, 1, sizeof(out) - 1, p);
		out[n] = '\0';
		st = pclose(p);
		fprintf(stderr, "%s", out);
		assert_int_equal(WEXITSTATUS(st), 0);
	}
}

/* Runs auth/migrations/<name>.sql on database db as the superuser. */
static int migration(const char *db, const char *name)
{
	char path[512];
	const char *src = getenv("EIRC_SOURCE_DIR");
	char *sql = NULL;
	size_t cap = 0;
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "%s/auth/migrations/%s.sql", src ? src : ".", name);
	if (!(f = fopen(path, "re")))
		return -1;
	r = getdelim(&sql, &cap, '\0', f) > 0 ? srv_pg_exec(fx.pg, db, sql) : -1;
	fclose(f);
	free(sql);
	return r;
}

/* A database of version 5 with audit rows: version 6 numbers them in id
 * order and goes on from there. */
static void test_upgrade(void **state)
{
	static const char *const before[] = {"001_schema", "002_functions", "003_login_failures",
					     "004_access", "005_append_only"};

	(void)state;
	assert_int_equal(srv_pg_exec(fx.pg, NULL, "CREATE DATABASE old_v5"), 0);
	for (size_t i = 0; i < sizeof(before) / sizeof(before[0]); i++)
		assert_int_equal(migration("old_v5", before[i]), 0);
	assert_int_equal(srv_pg_exec(fx.pg, "old_v5",
				     "INSERT INTO audit_log (event) VALUES ('a'), ('b'), ('c')"),
			 0);
	assert_int_equal(migration("old_v5", "006_integrity"), 0);
	assert_int_equal(srv_pg_exec(fx.pg, "old_v5", "INSERT INTO audit_log (event) VALUES ('d')"),
			 0);
	assert_int_equal(
		srv_pg_exec(fx.pg, "old_v5",
			    "DO $$BEGIN IF (SELECT string_agg(event || seq, ',' ORDER BY id)"
			    " FROM audit_log) <> 'a1,b2,c3,d4' THEN RAISE EXCEPTION"
			    " 'seq not in id order'; END IF; END$$"),
		0);
	assert_int_equal(srv_pg_exec(fx.pg, "old_v5", "UPDATE audit_log SET seq = 9"), -EIO);
}

static void test_well_known(void **state)
{
	char body[2048], headers[4096], want[2 * TLOG_VKEY_MAX + 4];
	fx_t plain = fx, peer;

	(void)state;
	assert_int_equal(get(false, "/.well-known/eirc-archive-key", body, sizeof(body), headers,
			     sizeof(headers)),
			 200);
	snprintf(want, sizeof(want), "%s\n%s\n", vkey, old_vkey);
	assert_string_equal(body, want);
	assert_non_null(strcasestr(headers, "content-type: text/plain"));
	/* the key parses back to the signer's */
	{
		tlog_verifier_t v;
		*strchr(body, '\n') = '\0';
		assert_int_equal(tlog_verifier_parse(body, &v), 0);
		assert_memory_equal(v.pk, key.pk, 32);
	}
	/* without a signing key: none published */
	plain.top_yaml = NULL;
	assert_int_equal(fx_start_peer(&plain, NULL, &peer), 0);
	{
		ht_resp_t r;
		fx_http(&peer, false, "GET", "/.well-known/eirc-archive-key", NULL, NULL, 0, &r);
		assert_int_equal(r.status, 404);
		ht_resp_free(&r);
	}
	assert_int_equal(fx_stop_daemon(&peer), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filed_once),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_append_only),
		cmocka_unit_test(test_audit_tree),
		cmocka_unit_test(test_well_known),
		cmocka_unit_test(test_upgrade),
		cmocka_unit_test_prestate(fx_test_clean_stop, &fx),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
