/*
 * tlog: the tamper-evident log of the archive (docs/compliance.md), pure:
 * canonical leaf encoding, the RFC 9162 Merkle tree kept as a compact
 * frontier, inclusion proofs, per-event MACs, and signed-note checkpoints
 * (C2SP tlog-checkpoint, signed-note Ed25519 keys). No I/O; libsodium for
 * SHA-256, HMAC-SHA-256 and Ed25519.
 *
 * Event digest (docs/compliance.md, "Leaf encoding"): SHA-256 of
 *   "eirc-event-1" 0x0A, u32be(count) and then, for each field in bytewise
 *   order of name, u32be(len name) name u32be(len value) value. Fields with
 *   an empty value are left out (absent and empty are one), and so are the
 *   fields that are not the event's (TLOG_FIELD_EXCLUDED: the history
 *   pointer "stream"/"hid" and "mac"). Two fields of one name are refused.
 *   The writer computes it before the event has an archive id.
 * Leaf: SHA-256(0x00 || "eirc-leaf-2" 0x0A || u32be(len id) id || digest),
 *   id the entry's archive stream id ("<ms>-<seq>").
 * Interior node: SHA-256(0x01 || left || right). Empty tree: SHA-256("").
 * MAC (what eirc-logger hands the append script with the digest, what the
 *   sealer checks before it seals): HMAC-SHA-256(mac key, digest), base64.
 */
#ifndef EIRC_ARCHIVE_TLOG_H
#define EIRC_ARCHIVE_TLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "archive/archive_event.h"

#define TLOG_HASH_LEN 32
/* Height bound of a tree (2^64 leaves): frontier entries at most. */
#define TLOG_FRONTIER_MAX 64
/* Longest key name and checkpoint origin. */
#define TLOG_NAME_MAX 128
/* Fields of one entry a leaf takes. */
#define TLOG_FIELDS_MAX 32
/* A MAC as stored: base64 of 32 bytes, padded (44 chars), NUL. */
#define TLOG_MAC_B64_LEN 44
/* Buffers for keys and notes. */
#define TLOG_VKEY_MAX       (TLOG_NAME_MAX + 64)
#define TLOG_SKEY_MAX       (TLOG_NAME_MAX + 80)
#define TLOG_CHECKPOINT_MAX 1024
/* Longest inclusion proof. */
#define TLOG_PROOF_MAX 64

/* True for the field names a leaf leaves out ("stream", "hid", "mac"). */
bool tlog_field_excluded(const char *name, size_t len);

typedef struct tlog_field tlog_field_t;
struct tlog_field {
	archive_str_t name;
	archive_str_t value;
};

/* The digest of an event's fields f[0..n). Returns 0, or -EINVAL (more
 * than TLOG_FIELDS_MAX fields, a name twice). */
int tlog_event_digest(const tlog_field_t *f, size_t n, uint8_t out[TLOG_HASH_LEN]);
/* The leaf of the entry id whose fields have digest. Returns 0, or -EINVAL
 * (no id). */
int tlog_leaf_of_digest(archive_str_t id, const uint8_t digest[TLOG_HASH_LEN],
			uint8_t out[TLOG_HASH_LEN]);
/* Both in one: the leaf hash of the entry id with fields f[0..n). Returns
 * 0, or -EINVAL (no id, more than TLOG_FIELDS_MAX fields, a name twice). */
int tlog_leaf_hash(archive_str_t id, const tlog_field_t *f, size_t n, uint8_t out[TLOG_HASH_LEN]);

/* Interior node hash of left and right. */
void tlog_node_hash(const uint8_t left[TLOG_HASH_LEN], const uint8_t right[TLOG_HASH_LEN],
		    uint8_t out[TLOG_HASH_LEN]);

/*
 * A tree of `size` leaves as its compact frontier: the roots of the
 * perfect subtrees that make up [0, size), largest (leftmost) first, one
 * per bit set in size.
 */
typedef struct tlog_tree tlog_tree_t;
struct tlog_tree {
	uint64_t size;
	int n;
	uint8_t h[TLOG_FRONTIER_MAX][TLOG_HASH_LEN];
};

void tlog_tree_init(tlog_tree_t *t);
void tlog_tree_append(tlog_tree_t *t, const uint8_t leaf[TLOG_HASH_LEN]);
/* The root (RFC 9162 MTH) of the tree. */
void tlog_tree_root(const tlog_tree_t *t, uint8_t out[TLOG_HASH_LEN]);
/* The frontier as bytes: n hashes, 32 bytes each (what Redis and the
 * tombstones keep). Returns the length or -ENOBUFS. */
int tlog_tree_encode(const tlog_tree_t *t, uint8_t *buf, size_t cap);
/* A tree of size leaves from its encoded frontier. Returns 0, or -EINVAL
 * when len is not 32 * popcount(size). */
int tlog_tree_decode(uint64_t size, const uint8_t *buf, size_t len, tlog_tree_t *out);

/*
 * Leaf hashes from a store: leaf i into out, 0 or a negative errno (which
 * the caller gets back).
 */
typedef int (*tlog_leaf_fn)(void *ud, uint64_t i, uint8_t out[TLOG_HASH_LEN]);

/*
 * The RFC 9162 inclusion proof (2.1.3.1) of leaf index in the tree of size
 * leaves whose first prefix->size leaves are known only by their frontier
 * (a trimmed log; prefix NULL or empty: none) and the rest by leaf(). index
 * must be >= prefix->size. Writes the proof into out (TLOG_PROOF_MAX
 * hashes) and its length into *out_n. Returns 0, -EINVAL (index out of
 * range) or leaf()'s error.
 */
int tlog_inclusion_proof(uint64_t index, uint64_t size, const tlog_tree_t *prefix,
			 tlog_leaf_fn leaf, void *ud, uint8_t out[][TLOG_HASH_LEN], size_t *out_n);

/* Checks an inclusion proof (RFC 9162 2.1.3.2). Returns 0, or -EBADMSG. */
int tlog_inclusion_verify(uint64_t index, uint64_t size, const uint8_t leaf[TLOG_HASH_LEN],
			  const uint8_t proof[][TLOG_HASH_LEN], size_t n,
			  const uint8_t root[TLOG_HASH_LEN]);

/* ---- keys (signed-note Ed25519 keys) ---- */

/* A signer: "PRIVATE+KEY+<name>+<keyid hex8>+<base64(0x01 || seed32)>". */
typedef struct tlog_signer tlog_signer_t;
struct tlog_signer {
	char name[TLOG_NAME_MAX + 1];
	uint32_t keyid;
	uint8_t sk[64]; /* libsodium's secret key (seed || public) */
	uint8_t pk[32];
};

/* A verifier: "<name>+<keyid hex8>+<base64(0x01 || public32)>". */
typedef struct tlog_verifier tlog_verifier_t;
struct tlog_verifier {
	char name[TLOG_NAME_MAX + 1];
	uint32_t keyid;
	uint8_t pk[32];
};

/* Key id of name and public key: the first 4 bytes, big-endian, of
 * SHA-256(name || 0x0A || 0x01 || pk). */
uint32_t tlog_keyid(const char *name, const uint8_t pk[32]);

/* Parse a key. Return 0, or -EINVAL (malformed, name not a valid note key
 * name, key id not matching). */
int tlog_signer_parse(const char *skey, tlog_signer_t *out);
int tlog_verifier_parse(const char *vkey, tlog_verifier_t *out);
/* The verifier of a signer. */
void tlog_signer_verifier(const tlog_signer_t *s, tlog_verifier_t *out);
/* Write a key in its text form. Return the length or -ENOBUFS. */
int tlog_verifier_format(const tlog_verifier_t *v, char *buf, size_t cap);
int tlog_signer_format(const tlog_signer_t *s, char *buf, size_t cap);
/* A new random key named name. Returns 0 or -EINVAL (bad name). */
int tlog_signer_generate(const char *name, tlog_signer_t *out);

/* The MAC key of a signer (keyed BLAKE2b of a fixed label under the seed):
 * whoever can sign can MAC, and one secret configures both. */
void tlog_mac_key(const tlog_signer_t *s, uint8_t key[32]);
/* The MAC of a digest as base64 into out, and its check (constant time;
 * 0 or -EBADMSG). */
void tlog_mac_digest(const uint8_t key[32], const uint8_t digest[TLOG_HASH_LEN],
		     char out[TLOG_MAC_B64_LEN + 1]);
int tlog_mac_digest_check(const uint8_t key[32], const uint8_t digest[TLOG_HASH_LEN],
			  const char *mac, size_t len);
/* The MAC of fields f[0..n) (their digest's) as base64 into out. Returns 0
 * or -EINVAL as tlog_event_digest. */
int tlog_mac(const uint8_t key[32], const tlog_field_t *f, size_t n,
	     char out[TLOG_MAC_B64_LEN + 1]);
/* Checks mac (its text, len bytes) against fields f[0..n), in constant
 * time. Returns 0, or -EBADMSG. */
int tlog_mac_check(const uint8_t key[32], const tlog_field_t *f, size_t n, const char *mac,
		   size_t len);

/* ---- checkpoints (C2SP tlog-checkpoint in a signed note) ---- */

typedef struct tlog_checkpoint tlog_checkpoint_t;
struct tlog_checkpoint {
	char origin[TLOG_NAME_MAX + 1];
	uint64_t size;
	uint8_t root[TLOG_HASH_LEN];
};

/* "<prefix>/p<k>" and "<prefix>/audit". Return the length, -ENOBUFS. */
int tlog_origin_partition(const char *prefix, int k, char *buf, size_t cap);
int tlog_origin_audit(const char *prefix, char *buf, size_t cap);

/*
 * The signed note of cp:
 *   <origin>\n<size>\n<base64 root>\n\n— <name> <base64(keyid be32 || sig)>\n
 * (Ed25519 over the text up to and including the third \n; signatures are
 * deterministic, so one checkpoint signed twice is the same note). Returns
 * the length (< TLOG_CHECKPOINT_MAX), -EINVAL (origin empty or holding a
 * newline) or -ENOBUFS.
 */
int tlog_checkpoint_sign(const tlog_checkpoint_t *cp, const tlog_signer_t *s, char *buf,
			 size_t cap);

/*
 * Opens the note buf[0..len): parses the checkpoint body and checks its
 * signatures. Signature lines by keys not in keys[0..n_keys) are ignored
 * (C2SP); at least one must be by a known key and valid. *out_signer (when
 * not NULL) gets the index of the first known key that signed. Returns 0,
 * -EBADMSG (malformed note or checkpoint) or -EPERM (no valid signature by
 * a known key, or a signature of a known key that does not verify).
 */
int tlog_checkpoint_open(const char *buf, size_t len, const tlog_verifier_t *keys, size_t n_keys,
			 tlog_checkpoint_t *out, size_t *out_signer);

#endif
