/*
 * eirc_archive: what the parts of the eirc-archive binary share (not a
 * library header: nothing outside archive/eirc_archive*.c includes it).
 *
 * eirc-archive checks the tamper-evident archive (docs/eirc-archive.md,
 * docs/compliance.md) from outside the daemons: blocking clients of Redis
 * (hiredis, following Redis Cluster redirects), Elasticsearch (common/http_client) and
 * PostgreSQL (libpq), each read in pages so that an archive is streamed,
 * never loaded whole.
 */
#ifndef EIRC_ARCHIVE_EIRC_ARCHIVE_H
#define EIRC_ARCHIVE_EIRC_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "archive/tlog.h"
#include "config/config.h"

/* Exit statuses (docs/eirc-archive.md). */
enum {
	EA_EXIT_OK = 0,
	EA_EXIT_FINDING = 1,
	EA_EXIT_USAGE = 2,
	EA_EXIT_UNREACHABLE = 3,
};

/* Entries (and documents) read per Redis XRANGE or Elasticsearch page. */
#define EA_PAGE 1000
/* Keys a checkpoint may be checked with (--key, verify_keys, the signer). */
#define EA_KEYS_MAX 1040
/* Without a login in the config's redis section, eirc-archive logs in as
 * Redis's default user with this credential (as eirc-backup does). */
#define EA_REDIS_PASSWORD_CRED "EIRC_REDIS_PASSWORD"
/* Longest archive id "<ms>-<seq>". */
#define EA_ID_MAX 48
/* Redis Cluster nodes eirc-archive keeps a connection to. */
#define EA_NODES_MAX 64

/* An archive stream id. */
typedef struct ea_id {
	uint64_t ms;
	uint64_t seq;
} ea_id_t;

int ea_id_parse(const char *s, size_t len, ea_id_t *out);
int ea_id_cmp(ea_id_t a, ea_id_t b);
void ea_id_format(ea_id_t id, char buf[EA_ID_MAX]);

/* One archived event as read from a store: its id and its fields (the
 * leaf's: excluded fields are left out). Owns its bytes. */
typedef struct ea_entry {
	ea_id_t id;
	char idstr[EA_ID_MAX];
	tlog_field_t f[TLOG_FIELDS_MAX];
	size_t n;
	char *msgid;
	char *buf; /* every string above */
} ea_entry_t;

void ea_entry_clear(ea_entry_t *e);
/* The leaf of e; 0 or -EINVAL. */
int ea_entry_leaf(const ea_entry_t *e, uint8_t out[TLOG_HASH_LEN]);
/* The leaf of e's fields under another id. */
int ea_entry_leaf_as(const ea_entry_t *e, const char *id, uint8_t out[TLOG_HASH_LEN]);

typedef struct ea_redis ea_redis_t;
typedef struct ea_es ea_es_t;

/* Everything a command uses. */
typedef struct ea {
	const eirc_config_t *cfg;
	tlog_verifier_t keys[EA_KEYS_MAX];
	size_t n_keys;
	bool have_signer;
	tlog_signer_t signer;
	uint8_t mac_key[32];
	ea_redis_t *redis;
	ea_es_t *es; /* NULL: no Elasticsearch configured */
	struct pg_conn *pg;
	bool progress; /* stderr is a terminal */
} ea_t;

/* ---- eirc_archive_store.c ---- */

/* Connects to each store the config names; 0, or EA_EXIT_UNREACHABLE after
 * printing why. es and pg only when asked. */
int ea_open(ea_t *ea, bool want_es, bool want_pg);
void ea_close(ea_t *ea);

/* A Redis command (argv with lengths), routed by its key on a cluster.
 * Returns the reply (freeReplyObject), or NULL after printing why (the
 * store is unreachable or answered an error). */
struct redisReply *ea_redis(ea_t *ea, int argc, const char **argv, const size_t *len);
/* The same, formatted as hiredis's redisCommand. */
struct redisReply *ea_redisf(ea_t *ea, const char *fmt, ...);

/* Reads the entries of a Redis stream key from the id after `after`
 * (exclusive; "-" for the start) in pages. */
typedef struct ea_rsrc {
	ea_t *ea;
	char key[128];
	char after[EA_ID_MAX + 1];
	struct redisReply *page;
	size_t at;
	bool done;
} ea_rsrc_t;

void ea_rsrc_init(ea_rsrc_t *s, ea_t *ea, const char *key, const char *after);
/* The next entry into *e (cleared first): 1, 0 at the end, -EIO. */
int ea_rsrc_next(ea_rsrc_t *s, ea_entry_t *e);
void ea_rsrc_free(ea_rsrc_t *s);

/* Reads partition k's Elasticsearch documents in archive id order, after
 * `after` (exclusive; ms == 0 && seq == 0 and !has_after: the start). */
typedef struct ea_esrc {
	ea_t *ea;
	int k;
	bool has_after;
	ea_id_t after;
	void *page; /* json_t * array of hits */
	size_t at;
	bool done;
} ea_esrc_t;

void ea_esrc_init(ea_esrc_t *s, ea_t *ea, int k, const ea_id_t *after);
int ea_esrc_next(ea_esrc_t *s, ea_entry_t *e);
/* Makes what was indexed searchable (POST _refresh); a refusal (no
 * privilege) is ignored: documents then show after the refresh interval. */
void ea_es_refresh(ea_t *ea);
void ea_esrc_free(ea_esrc_t *s);
/* The document of msgid (any partition) into *e and its partition into
 * *out_k: 1, 0 when there is none, -EIO. */
int ea_es_find_msgid(ea_t *ea, const char *msgid, ea_entry_t *e, int *out_k);

/* The PostgreSQL connection (libpq's PGconn). */
struct pg_conn *ea_pg(ea_t *ea);

/* ---- partition state (eirc_archive_state.c) ---- */

/* A signed checkpoint to check a tree against. */
typedef struct ea_cp {
	uint64_t size;
	uint8_t root[TLOG_HASH_LEN];
	int64_t seq;  /* PostgreSQL's seq, 0: not from PostgreSQL */
	char src[16]; /* where it came from: "postgresql", "auditor", "redis" */
} ea_cp_t;

/* A tombstone of the tlog (a trimmed range of leaves). */
typedef struct ea_tomb {
	uint64_t from, to;
	ea_id_t first, last;
	bool has_frontier;
	tlog_tree_t frontier;
	char policy[64];
} ea_tomb_t;

/* What verify and prove read about one partition. */
typedef struct ea_part {
	int k;
	char origin[TLOG_NAME_MAX + 1];
	bool exists; /* the tlog hash exists */
	uint64_t size, cp_size, leaves_from, trimmed, rejected;
	ea_id_t last, start;
	char checkpoint[TLOG_CHECKPOINT_MAX];
	uint8_t frontier[TLOG_FRONTIER_MAX * TLOG_HASH_LEN]; /* the sealer's */
	size_t frontier_len;
	ea_cp_t *cps; /* sorted by size, deduplicated */
	size_t n_cps;
	ea_tomb_t *tombs;
	size_t n_tombs;
	struct ea_bound {
		uint64_t size;
		ea_id_t last;
	} * bounds; /* the cps zset: checkpoint boundaries, by size */
	size_t n_bounds;
	ea_id_t *rej; /* sorted: refused by the sealer */
	char **rej_reason;
	size_t n_rej;
	/* leaf reader: one cached chunk */
	uint64_t chunk;
	uint8_t *chunk_buf;
	size_t chunk_len;
	bool chunk_valid;
} ea_part_t;

void ea_part_free(ea_part_t *p);
/* Reads partition k's tlog state, tombstones and refused ids from Redis
 * into p, zeroed but for the checkpoints it may hold already (read first:
 * PostgreSQL's, so that none is newer than the state). 0, or -EIO
 * (printed). */
int ea_part_load(ea_t *ea, int k, ea_part_t *p);
/* Stored leaf i of p: 0, -ENOENT (not stored), -EIO. */
int ea_part_leaf(ea_t *ea, ea_part_t *p, uint64_t i, uint8_t out[TLOG_HASH_LEN]);
/* The greatest boundary whose last id is below id: its size and last id
 * (false: none, start at the beginning). */
bool ea_part_bound_below(const ea_part_t *p, ea_id_t id, uint64_t *out_size, ea_id_t *out_last);
/* Whether id was refused by the sealer; its reason into *out_reason. */
bool ea_part_rejected(const ea_part_t *p, ea_id_t id, const char **out_reason);
/* Adds a checkpoint (kept sorted by size); a second one of the same size
 * and root merges, of another root returns -EEXIST. */
int ea_part_add_cp(ea_part_t *p, const ea_cp_t *cp);
/* The tree the log starts from (the last retention tombstone's frontier,
 * or empty). */
void ea_part_base(const ea_part_t *p, tlog_tree_t *out);

/* ---- commands ---- */

int ea_cmd_verify(ea_t *ea, int argc, char **argv);
int ea_cmd_prove(ea_t *ea, int argc, char **argv);
int ea_cmd_check_proof(int argc, char **argv);
int ea_cmd_checkpoints(ea_t *ea);

/* Appends the keys of the config (signer's verifier, verify_keys) to
 * ea->keys, and the signer's MAC key; 0 or EA_EXIT_USAGE (printed). */
int ea_keys_from_config(ea_t *ea);
/* Appends one key given as text; 0 or EA_EXIT_USAGE (printed). */
int ea_keys_add(ea_t *ea, const char *vkey);

/* Base64 (libsodium's original variant, padded). */
int ea_b64_encode(const uint8_t *p, size_t n, char *out, size_t cap);
int ea_b64_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *out_len);

#endif
