/*
 * eirc_archive_proof: `eirc-archive prove MSGID` (an inclusion proof of one
 * event against its partition's latest signed checkpoint) and
 * `eirc-archive check-proof` (checks one with a public key alone).
 *
 * Proof file (text, docs/eirc-archive.md, "Proof file"):
 *   eirc-archive proof 1
 *   id <archive id>
 *   field <name> <base64 of the value's bytes>     one per leaf field
 *   index <leaf index>
 *   size <tree size>
 *   hash <base64 of a proof hash>                   RFC 9162 order
 *   <empty line>
 *   <the signed checkpoint note, verbatim>
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#include "archive/archive_keys.h"
#include "archive/eirc_archive.h"

#define PROOF_MAGIC    "eirc-archive proof 1"
#define PROOF_LINE_MAX (2 * 16384)

/* ---- prove ---- */

typedef struct leafsrc {
	ea_t *ea;
	ea_part_t *p;
} leafsrc_t;

static int leaf_fn(void *ud, uint64_t i, uint8_t out[TLOG_HASH_LEN])
{
	leafsrc_t *s = ud;
	int rc = ea_part_leaf(s->ea, s->p, i, out);

	return rc == -ENOENT ? -ENOENT : rc;
}

/* The event msgid: from Elasticsearch, else by walking every partition's
 * archive stream. 1 found, 0 not, -EIO. */
static int find_event(ea_t *ea, const char *msgid, ea_entry_t *e, int *out_k)
{
	char key[ARCHIVE_KEYS_KEY_MAX];
	int rc;

	if (ea->es && (rc = ea_es_find_msgid(ea, msgid, e, out_k)) != 0)
		return rc;
	for (int k = 0; k < ea->cfg->redis.partitions; k++) {
		ea_rsrc_t s;
		archive_keys_archive(k, key, sizeof(key));
		ea_rsrc_init(&s, ea, key, "-");
		while ((rc = ea_rsrc_next(&s, e)) == 1)
			if (e->msgid && !strcmp(e->msgid, msgid))
				break;
		ea_rsrc_free(&s);
		if (rc != 0) {
			*out_k = k;
			return rc;
		}
	}
	return 0;
}

/* The leaf index of e in p: counted from the last checkpoint boundary
 * before it, in Redis when the stream still holds it, else in
 * Elasticsearch. -ENOENT when it is not a sealed leaf. */
static int find_index(ea_t *ea, ea_part_t *p, const ea_entry_t *e, uint64_t *out)
{
	char key[ARCHIVE_KEYS_KEY_MAX], after[EA_ID_MAX];
	const char *why;
	ea_id_t a = p->start;
	uint64_t pos = 0;
	ea_entry_t x = {0};
	bool in_redis;
	int rc;
	ea_rsrc_t rs;
	ea_esrc_t es;

	if (ea_part_rejected(p, e->id, &why) || ea_id_cmp(e->id, p->start) <= 0)
		return -ENOENT;
	(void)ea_part_bound_below(p, e->id, &pos, &a);
	in_redis = pos >= p->trimmed;
	if (!in_redis && !ea->es)
		return -ENOENT;
	archive_keys_archive(p->k, key, sizeof(key));
	ea_id_format(a, after);
	if (in_redis)
		ea_rsrc_init(&rs, ea, key, a.ms || a.seq ? after : "-");
	else
		ea_esrc_init(&es, ea, p->k, a.ms || a.seq ? &a : NULL);
	while ((rc = in_redis ? ea_rsrc_next(&rs, &x) : ea_esrc_next(&es, &x)) == 1) {
		if (!ea_part_rejected(p, x.id, &why)) {
			if (!ea_id_cmp(x.id, e->id))
				break;
			pos++;
		}
		if (ea_id_cmp(x.id, e->id) > 0) {
			rc = 0;
			break;
		}
	}
	if (in_redis)
		ea_rsrc_free(&rs);
	else
		ea_esrc_free(&es);
	ea_entry_clear(&x);
	if (rc < 0)
		return -EIO;
	if (rc == 0 || pos >= p->size)
		return -ENOENT;
	*out = pos;
	return 0;
}

/* The latest checkpoint of p's origin in PostgreSQL: note and size. */
static int latest_note(ea_t *ea, const char *origin, char *note, size_t cap, tlog_checkpoint_t *out)
{
	const char *params[1] = {origin};
	PGresult *res = PQexecParams((PGconn *)ea_pg(ea),
				     "SELECT note FROM archive_checkpoints WHERE origin = $1 "
				     "ORDER BY seq DESC LIMIT 1",
				     1, NULL, params, NULL, NULL, 0);
	int rc = -ENOENT;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "eirc-archive: PostgreSQL: %s", PQresultErrorMessage(res));
		rc = -EIO;
	} else if (PQntuples(res) == 1 && strlen(PQgetvalue(res, 0, 0)) < cap) {
		snprintf(note, cap, "%s", PQgetvalue(res, 0, 0));
		rc = tlog_checkpoint_open(note, strlen(note), ea->keys, ea->n_keys, out, NULL) < 0
			     ? -EPERM
			     : 0;
	}
	PQclear(res);
	return rc;
}

static void write_proof(FILE *f, const ea_entry_t *e, uint64_t index, uint64_t size,
			uint8_t proof[][TLOG_HASH_LEN], size_t n, const char *note)
{
	char b64[64];

	fprintf(f, "%s\nid %s\n", PROOF_MAGIC, e->idstr);
	for (size_t i = 0; i < e->n; i++) {
		size_t cap = (e->f[i].value.n + 2) / 3 * 4 + 1;
		char *v = malloc(cap);
		if (!v)
			continue;
		ea_b64_encode((const uint8_t *)e->f[i].value.p, e->f[i].value.n, v, cap);
		fprintf(f, "field %.*s %s\n", (int)e->f[i].name.n, e->f[i].name.p, v);
		free(v);
	}
	fprintf(f, "index %" PRIu64 "\nsize %" PRIu64 "\n", index, size);
	for (size_t i = 0; i < n; i++) {
		ea_b64_encode(proof[i], TLOG_HASH_LEN, b64, sizeof(b64));
		fprintf(f, "hash %s\n", b64);
	}
	fprintf(f, "\n%s", note);
}

/* Proves e (found in partition k) into out; an exit status. */
static int prove_event(ea_t *ea, int k, const ea_entry_t *e, FILE *out)
{
	ea_part_t p = {0};
	tlog_checkpoint_t cp;
	tlog_tree_t base;
	char note[TLOG_CHECKPOINT_MAX];
	uint8_t proof[TLOG_PROOF_MAX][TLOG_HASH_LEN], leaf[TLOG_HASH_LEN], stored[TLOG_HASH_LEN];
	uint64_t index;
	size_t n;
	leafsrc_t ls;
	int rc = EA_EXIT_FINDING;

	if (ea_part_load(ea, k, &p) < 0) {
		ea_part_free(&p);
		return EA_EXIT_UNREACHABLE;
	}
	ls = (leafsrc_t){ea, &p};
	ea_part_base(&p, &base);
	if ((rc = find_index(ea, &p, e, &index)) == -EIO)
		rc = EA_EXIT_UNREACHABLE;
	else if (rc < 0)
		fprintf(stderr, "eirc-archive: %s is not sealed in %s\n", e->msgid, p.origin),
			rc = 1;
	else if ((rc = latest_note(ea, p.origin, note, sizeof(note), &cp)) == -EIO)
		rc = EA_EXIT_UNREACHABLE;
	else if (rc < 0 || cp.size <= index)
		fprintf(stderr,
			"eirc-archive: %s (index %" PRIu64 ") is in no signed checkpoint "
			"of %s yet\n",
			e->msgid, index, p.origin),
			rc = 1;
	else if (index < base.size || ea_part_leaf(ea, &p, index, stored) < 0 ||
		 ea_entry_leaf(e, leaf) < 0 || memcmp(leaf, stored, TLOG_HASH_LEN))
		fprintf(stderr,
			"eirc-archive: %s does not match the log at index %" PRIu64
			" (run verify)\n",
			e->msgid, index),
			rc = 1;
	else if (tlog_inclusion_proof(index, cp.size, &base, leaf_fn, &ls, proof, &n) < 0)
		fprintf(stderr,
			"eirc-archive: the log's leaves up to %" PRIu64 " are not all "
			"stored (run verify)\n",
			cp.size),
			rc = 1;
	else {
		write_proof(out, e, index, cp.size, proof, n, note);
		rc = 0;
	}
	ea_part_free(&p);
	return rc;
}

int ea_cmd_prove(ea_t *ea, int argc, char **argv)
{
	const char *msgid = NULL, *path = NULL;
	ea_entry_t e = {0};
	FILE *out = stdout;
	int k = 0, rc;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--out") && i + 1 < argc)
			path = argv[++i];
		else if (!msgid && argv[i][0] != '-')
			msgid = argv[i];
		else
			msgid = NULL, i = argc;
	}
	if (!msgid) {
		fprintf(stderr, "eirc-archive prove: MSGID [--out FILE] (see --help)\n");
		return EA_EXIT_USAGE;
	}
	if (ea->n_keys == 0) {
		fprintf(stderr, "eirc-archive: no key to open checkpoints with: set "
				"integrity.signing_key or integrity.verify_keys\n");
		return EA_EXIT_USAGE;
	}
	if ((rc = ea_open(ea, true, true)) != 0)
		return rc;
	if ((rc = find_event(ea, msgid, &e, &k)) < 0)
		return EA_EXIT_UNREACHABLE;
	if (rc == 0) {
		fprintf(stderr, "eirc-archive: no event %s in the archive\n", msgid);
		return EA_EXIT_FINDING;
	}
	if (path && !(out = fopen(path, "we"))) {
		fprintf(stderr, "eirc-archive: %s: %m\n", path);
		ea_entry_clear(&e);
		return EA_EXIT_USAGE;
	}
	rc = prove_event(ea, k, &e, out);
	if (path && fclose(out) != 0 && rc == 0) {
		fprintf(stderr, "eirc-archive: %s: %m\n", path);
		rc = EA_EXIT_USAGE;
	}
	ea_entry_clear(&e);
	return rc;
}

/* ---- check-proof ---- */

typedef struct proof {
	char id[EA_ID_MAX];
	tlog_field_t f[TLOG_FIELDS_MAX];
	size_t n;
	char *vals[TLOG_FIELDS_MAX];
	char *names[TLOG_FIELDS_MAX];
	uint64_t index, size;
	bool has_index, has_size;
	uint8_t hash[TLOG_PROOF_MAX][TLOG_HASH_LEN];
	size_t n_hash;
	char note[TLOG_CHECKPOINT_MAX];
	size_t note_len;
} proof_t;

static void proof_free(proof_t *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->vals[i]);
		free(p->names[i]);
	}
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	*out = strtoull(s, &end, 10);
	return *end ? -EINVAL : 0;
}

static int proof_line(proof_t *p, char *line)
{
	char *sp = strchr(line, ' ');
	size_t n;

	if (!sp)
		return -EINVAL;
	*sp++ = '\0';
	if (!strcmp(line, "id") && strlen(sp) < sizeof(p->id)) {
		snprintf(p->id, sizeof(p->id), "%s", sp);
		return 0;
	}
	if (!strcmp(line, "index"))
		return p->has_index = true, parse_u64(sp, &p->index);
	if (!strcmp(line, "size"))
		return p->has_size = true, parse_u64(sp, &p->size);
	if (!strcmp(line, "hash") && p->n_hash < TLOG_PROOF_MAX)
		return ea_b64_decode(sp, strlen(sp), p->hash[p->n_hash++], TLOG_HASH_LEN, &n) < 0 ||
				       n != TLOG_HASH_LEN
			       ? -EINVAL
			       : 0;
	if (!strcmp(line, "field") && p->n < TLOG_FIELDS_MAX) {
		char *v = strchr(sp, ' ');
		if (!v)
			return -EINVAL;
		*v++ = '\0';
		p->names[p->n] = strdup(sp);
		p->vals[p->n] = malloc(strlen(v) + 1);
		if (!p->names[p->n] || !p->vals[p->n] ||
		    ea_b64_decode(v, strlen(v), (uint8_t *)p->vals[p->n], strlen(v) + 1, &n) < 0) {
			free(p->names[p->n]);
			free(p->vals[p->n]);
			return -EINVAL;
		}
		p->f[p->n].name = (archive_str_t){p->names[p->n], strlen(p->names[p->n])};
		p->f[p->n].value = (archive_str_t){p->vals[p->n], n};
		p->n++;
		return 0;
	}
	return -EINVAL;
}

static int proof_read(FILE *f, proof_t *p)
{
	static char line[PROOF_LINE_MAX];
	bool head = true, first = true;

	while (fgets(line, sizeof(line), f)) {
		size_t l = strlen(line);
		if (!head) {
			if (p->note_len + l >= sizeof(p->note))
				return -EINVAL;
			memcpy(p->note + p->note_len, line, l + 1);
			p->note_len += l;
			continue;
		}
		if (l == 0 || line[l - 1] != '\n')
			return -EINVAL;
		line[--l] = '\0';
		if (first) {
			if (strcmp(line, PROOF_MAGIC))
				return -EINVAL;
			first = false;
		} else if (l == 0)
			head = false;
		else if (proof_line(p, line) < 0)
			return -EINVAL;
	}
	return head || !p->id[0] || !p->has_index || !p->has_size ? -EINVAL : 0;
}

static const char *field_value(const proof_t *p, const char *name, char *buf, size_t cap)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->names[i], name)) {
			snprintf(buf, cap, "%.*s", (int)p->f[i].value.n, p->f[i].value.p);
			return buf;
		}
	return "?";
}

int ea_cmd_check_proof(int argc, char **argv)
{
	static ea_t ea; /* keys only */
	static proof_t p;
	const char *path = NULL;
	tlog_checkpoint_t cp;
	uint8_t leaf[TLOG_HASH_LEN];
	char msgid[256];
	size_t signer = 0;
	FILE *f;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--key") && i + 1 < argc) {
			if (ea_keys_add(&ea, argv[++i]) != 0)
				return EA_EXIT_USAGE;
		} else if (!path)
			path = argv[i];
		else
			path = NULL, i = argc;
	}
	if (!path || ea.n_keys == 0) {
		fprintf(stderr, "eirc-archive check-proof: --key VKEY... FILE (see --help)\n");
		return EA_EXIT_USAGE;
	}
	if (!(f = strcmp(path, "-") ? fopen(path, "re") : stdin)) {
		fprintf(stderr, "eirc-archive: %s: %m\n", path);
		return EA_EXIT_USAGE;
	}
	rc = proof_read(f, &p);
	if (f != stdin)
		fclose(f);
	if (rc < 0) {
		fprintf(stderr, "eirc-archive: %s: not a proof file\n", path);
		proof_free(&p);
		return EA_EXIT_USAGE;
	}
	rc = EA_EXIT_FINDING;
	if (tlog_checkpoint_open(p.note, p.note_len, ea.keys, ea.n_keys, &cp, &signer) < 0)
		printf("FAIL the checkpoint is not signed by the given key\n");
	else if (cp.size != p.size)
		printf("FAIL the proof is for size %" PRIu64 ", the checkpoint signs %" PRIu64 "\n",
		       p.size, cp.size);
	else if (tlog_leaf_hash((archive_str_t){p.id, strlen(p.id)}, p.f, p.n, leaf) < 0 ||
		 tlog_inclusion_verify(p.index, p.size, leaf,
				       (const uint8_t(*)[TLOG_HASH_LEN])p.hash, p.n_hash,
				       cp.root) < 0)
		printf("FAIL the event is not in the log the checkpoint signs (changed, or not "
		       "that "
		       "index)\n");
	else {
		printf("OK msgid %s, archive id %s, index %" PRIu64 " of %s size %" PRIu64
		       ", signed by %s+%08x\n",
		       field_value(&p, "msgid", msgid, sizeof(msgid)), p.id, p.index, cp.origin,
		       cp.size, ea.keys[signer].name, ea.keys[signer].keyid);
		rc = 0;
	}
	proof_free(&p);
	return rc;
}
