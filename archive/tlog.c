/*
 * tlog: the tamper-evident log's pure parts (see tlog.h).
 */
#include "archive/tlog.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define EVENT_MAGIC "eirc-event-1\n"
#define LEAF_MAGIC  "eirc-leaf-2\n"
#define MAC_LABEL   "eirc archive mac 1"
#define ALG_ED25519 0x01
/* The signature line's prefix: U+2014 EM DASH and a space. */
#define SIG_PREFIX "\xe2\x80\x94 "

bool tlog_field_excluded(const char *name, size_t len)
{
	static const char *const excluded[] = {"stream", "hid", "mac"};

	for (size_t i = 0; i < sizeof(excluded) / sizeof(excluded[0]); i++)
		if (strlen(excluded[i]) == len && memcmp(excluded[i], name, len) == 0)
			return true;
	return false;
}

static void put_u32(crypto_hash_sha256_state *st, size_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	crypto_hash_sha256_update(st, b, 4);
}

static void put(crypto_hash_sha256_state *st, const void *p, size_t n)
{
	put_u32(st, n);
	if (n)
		crypto_hash_sha256_update(st, p, n);
}

static int name_cmp(archive_str_t a, archive_str_t b)
{
	int c = memcmp(a.p, b.p, a.n < b.n ? a.n : b.n);

	return c ? c : (a.n > b.n) - (a.n < b.n);
}

/* The fields an event's digest takes, in name order, into idx; their
 * count or -EINVAL. */
static int event_order(const tlog_field_t *f, size_t n, int idx[TLOG_FIELDS_MAX])
{
	int m = 0;

	if (n > TLOG_FIELDS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int j;

		if (f[i].value.n == 0 || tlog_field_excluded(f[i].name.p, f[i].name.n))
			continue;
		for (j = m; j > 0; j--) {
			int c = name_cmp(f[idx[j - 1]].name, f[i].name);
			if (c == 0)
				return -EINVAL;
			if (c < 0)
				break;
			idx[j] = idx[j - 1];
		}
		idx[j] = (int)i;
		m++;
	}
	return m;
}

int tlog_event_digest(const tlog_field_t *f, size_t n, uint8_t out[TLOG_HASH_LEN])
{
	crypto_hash_sha256_state st;
	int idx[TLOG_FIELDS_MAX];
	int m = event_order(f, n, idx);

	if (m < 0)
		return m;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)EVENT_MAGIC, strlen(EVENT_MAGIC));
	put_u32(&st, (size_t)m);
	for (int i = 0; i < m; i++) {
		put(&st, f[idx[i]].name.p, f[idx[i]].name.n);
		put(&st, f[idx[i]].value.p, f[idx[i]].value.n);
	}
	crypto_hash_sha256_final(&st, out);
	return 0;
}

int tlog_leaf_of_digest(archive_str_t id, const uint8_t digest[TLOG_HASH_LEN],
			uint8_t out[TLOG_HASH_LEN])
{
	crypto_hash_sha256_state st;
	uint8_t zero = 0x00;

	if (id.n == 0)
		return -EINVAL;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &zero, 1);
	crypto_hash_sha256_update(&st, (const uint8_t *)LEAF_MAGIC, strlen(LEAF_MAGIC));
	put(&st, id.p, id.n);
	crypto_hash_sha256_update(&st, digest, TLOG_HASH_LEN);
	crypto_hash_sha256_final(&st, out);
	return 0;
}

int tlog_leaf_hash(archive_str_t id, const tlog_field_t *f, size_t n, uint8_t out[TLOG_HASH_LEN])
{
	uint8_t d[TLOG_HASH_LEN];
	int err;

	if (id.n == 0)
		return -EINVAL;
	if ((err = tlog_event_digest(f, n, d)) < 0)
		return err;
	return tlog_leaf_of_digest(id, d, out);
}

void tlog_node_hash(const uint8_t left[TLOG_HASH_LEN], const uint8_t right[TLOG_HASH_LEN],
		    uint8_t out[TLOG_HASH_LEN])
{
	crypto_hash_sha256_state st;
	uint8_t one = 0x01;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &one, 1);
	crypto_hash_sha256_update(&st, left, TLOG_HASH_LEN);
	crypto_hash_sha256_update(&st, right, TLOG_HASH_LEN);
	crypto_hash_sha256_final(&st, out);
}

/* ---- the tree ---- */

void tlog_tree_init(tlog_tree_t *t)
{
	t->size = 0;
	t->n = 0;
}

void tlog_tree_append(tlog_tree_t *t, const uint8_t leaf[TLOG_HASH_LEN])
{
	uint8_t carry[TLOG_HASH_LEN];

	memcpy(carry, leaf, TLOG_HASH_LEN);
	for (uint64_t s = t->size; s & 1; s >>= 1) {
		tlog_node_hash(t->h[t->n - 1], carry, carry);
		t->n--;
	}
	memcpy(t->h[t->n++], carry, TLOG_HASH_LEN);
	t->size++;
}

void tlog_tree_root(const tlog_tree_t *t, uint8_t out[TLOG_HASH_LEN])
{
	if (t->n == 0) {
		crypto_hash_sha256(out, NULL, 0);
		return;
	}
	memcpy(out, t->h[t->n - 1], TLOG_HASH_LEN);
	for (int i = t->n - 2; i >= 0; i--)
		tlog_node_hash(t->h[i], out, out);
}

int tlog_tree_encode(const tlog_tree_t *t, uint8_t *buf, size_t cap)
{
	size_t len = (size_t)t->n * TLOG_HASH_LEN;

	if (len > cap)
		return -ENOBUFS;
	if (len)
		memcpy(buf, t->h, len);
	return (int)len;
}

int tlog_tree_decode(uint64_t size, const uint8_t *buf, size_t len, tlog_tree_t *out)
{
	int n = __builtin_popcountll(size);

	if (len != (size_t)n * TLOG_HASH_LEN)
		return -EINVAL;
	out->size = size;
	out->n = n;
	if (len)
		memcpy(out->h, buf, len);
	return 0;
}

/* ---- inclusion proofs ---- */

typedef struct mth_ctx {
	const tlog_tree_t *prefix;
	tlog_leaf_fn leaf;
	void *ud;
} mth_ctx_t;

static uint64_t split_point(uint64_t n)
{
	uint64_t k = 1;

	while (k << 1 < n)
		k <<= 1;
	return k;
}

/* MTH(D[a:b]): a range inside the known prefix is one of its frontier nodes
 * (the RFC's recursion only ever asks for those); the rest from leaves. */
static int mth(const mth_ctx_t *c, uint64_t a, uint64_t b, uint8_t out[TLOG_HASH_LEN])
{
	uint8_t l[TLOG_HASH_LEN], r[TLOG_HASH_LEN];
	uint64_t p = c->prefix ? c->prefix->size : 0, k;
	int err;

	if (b <= p) {
		uint64_t start = 0;
		int i = 0;
		for (int bit = 63; bit >= 0; bit--) {
			uint64_t w = UINT64_C(1) << bit;
			if (!(p & w))
				continue;
			if (start == a && w == b - a) {
				memcpy(out, c->prefix->h[i], TLOG_HASH_LEN);
				return 0;
			}
			start += w;
			i++;
		}
		return -EINVAL;
	}
	if (b - a == 1)
		return c->leaf(c->ud, a, out);
	k = split_point(b - a);
	if ((err = mth(c, a, a + k, l)) < 0 || (err = mth(c, a + k, b, r)) < 0)
		return err;
	tlog_node_hash(l, r, out);
	return 0;
}

static int path(const mth_ctx_t *c, uint64_t m, uint64_t a, uint64_t b,
		uint8_t out[][TLOG_HASH_LEN], size_t *n)
{
	uint64_t k;
	int err;

	if (b - a <= 1)
		return 0;
	k = split_point(b - a);
	if (m < k) {
		if ((err = path(c, m, a, a + k, out, n)) < 0)
			return err;
		err = mth(c, a + k, b, out[*n]);
	} else {
		if ((err = path(c, m - k, a + k, b, out, n)) < 0)
			return err;
		err = mth(c, a, a + k, out[*n]);
	}
	if (err < 0)
		return err;
	(*n)++;
	return 0;
}

int tlog_inclusion_proof(uint64_t index, uint64_t size, const tlog_tree_t *prefix,
			 tlog_leaf_fn leaf, void *ud, uint8_t out[][TLOG_HASH_LEN], size_t *out_n)
{
	mth_ctx_t c = {prefix, leaf, ud};

	if (index >= size || (prefix && (index < prefix->size || prefix->size > size)))
		return -EINVAL;
	*out_n = 0;
	return path(&c, index, 0, size, out, out_n);
}

int tlog_inclusion_verify(uint64_t index, uint64_t size, const uint8_t leaf[TLOG_HASH_LEN],
			  const uint8_t proof[][TLOG_HASH_LEN], size_t n,
			  const uint8_t root[TLOG_HASH_LEN])
{
	uint8_t r[TLOG_HASH_LEN];
	uint64_t fn = index, sn = size - 1;

	if (index >= size || n > TLOG_PROOF_MAX)
		return -EBADMSG;
	memcpy(r, leaf, TLOG_HASH_LEN);
	for (size_t i = 0; i < n; i++) {
		if (sn == 0)
			return -EBADMSG;
		if ((fn & 1) || fn == sn) {
			tlog_node_hash(proof[i], r, r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			tlog_node_hash(r, proof[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || sodium_memcmp(r, root, TLOG_HASH_LEN) != 0)
		return -EBADMSG;
	return 0;
}

/* ---- keys ---- */

/* A signed-note key name: not empty, no '+', no space or control byte. */
static bool name_ok(const char *p, size_t n)
{
	if (n == 0 || n > TLOG_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] == '+' || (unsigned char)p[i] <= 0x20 || p[i] == 0x7f)
			return false;
	return true;
}

uint32_t tlog_keyid(const char *name, const uint8_t pk[32])
{
	crypto_hash_sha256_state st;
	uint8_t h[32], tail[2] = {'\n', ALG_ED25519};

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)name, strlen(name));
	crypto_hash_sha256_update(&st, tail, 2);
	crypto_hash_sha256_update(&st, pk, 32);
	crypto_hash_sha256_final(&st, h);
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

/* "<name>+<hex8>+<base64(0x01 || 32 bytes)>" into its parts. */
static int key_parts(const char *s, char name[TLOG_NAME_MAX + 1], uint32_t *keyid, uint8_t key[32])
{
	const char *p1 = strchr(s, '+'), *p2;
	uint8_t raw[33];
	size_t raw_len;
	char *end;
	unsigned long id;

	if (!p1 || !(p2 = strchr(p1 + 1, '+')) || !name_ok(s, (size_t)(p1 - s)) || p2 - p1 != 9)
		return -EINVAL;
	for (const char *h = p1 + 1; h < p2; h++)
		if (!((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f')))
			return -EINVAL;
	id = strtoul(p1 + 1, &end, 16);
	if (end != p2)
		return -EINVAL;
	if (sodium_base642bin(raw, sizeof(raw), p2 + 1, strlen(p2 + 1), NULL, &raw_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    raw_len != 33 || raw[0] != ALG_ED25519)
		return -EINVAL;
	memcpy(name, s, (size_t)(p1 - s));
	name[p1 - s] = '\0';
	*keyid = (uint32_t)id;
	memcpy(key, raw + 1, 32);
	sodium_memzero(raw, sizeof(raw));
	return 0;
}

int tlog_signer_parse(const char *skey, tlog_signer_t *out)
{
	static const char prefix[] = "PRIVATE+KEY+";
	tlog_signer_t s;
	uint8_t seed[32];
	int err;

	if (!skey || strncmp(skey, prefix, sizeof(prefix) - 1) != 0)
		return -EINVAL;
	err = key_parts(skey + sizeof(prefix) - 1, s.name, &s.keyid, seed);
	if (err == 0) {
		crypto_sign_seed_keypair(s.pk, s.sk, seed);
		if (tlog_keyid(s.name, s.pk) != s.keyid)
			err = -EINVAL;
	}
	sodium_memzero(seed, sizeof(seed));
	if (err == 0)
		*out = s;
	sodium_memzero(&s, sizeof(s));
	return err;
}

int tlog_verifier_parse(const char *vkey, tlog_verifier_t *out)
{
	tlog_verifier_t v;
	int err;

	if (!vkey)
		return -EINVAL;
	if ((err = key_parts(vkey, v.name, &v.keyid, v.pk)) < 0)
		return err;
	if (tlog_keyid(v.name, v.pk) != v.keyid)
		return -EINVAL;
	*out = v;
	return 0;
}

void tlog_signer_verifier(const tlog_signer_t *s, tlog_verifier_t *out)
{
	memcpy(out->name, s->name, sizeof(out->name));
	out->keyid = s->keyid;
	memcpy(out->pk, s->pk, 32);
}

static int key_format(const char *prefix, const char *name, uint32_t keyid, const uint8_t key[32],
		      char *buf, size_t cap)
{
	uint8_t raw[33];
	char b64[64];
	int n;

	raw[0] = ALG_ED25519;
	memcpy(raw + 1, key, 32);
	sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw), sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(raw, sizeof(raw));
	n = snprintf(buf, cap, "%s%s+%08" PRIx32 "+%s", prefix, name, keyid, b64);
	sodium_memzero(b64, sizeof(b64));
	return n < 0 || (size_t)n >= cap ? -ENOBUFS : n;
}

int tlog_verifier_format(const tlog_verifier_t *v, char *buf, size_t cap)
{
	return key_format("", v->name, v->keyid, v->pk, buf, cap);
}

int tlog_signer_format(const tlog_signer_t *s, char *buf, size_t cap)
{
	/* libsodium's secret key starts with the seed */
	return key_format("PRIVATE+KEY+", s->name, s->keyid, s->sk, buf, cap);
}

int tlog_signer_generate(const char *name, tlog_signer_t *out)
{
	if (!name || !name_ok(name, strlen(name)))
		return -EINVAL;
	crypto_sign_keypair(out->pk, out->sk);
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->keyid = tlog_keyid(out->name, out->pk);
	return 0;
}

void tlog_mac_key(const tlog_signer_t *s, uint8_t key[32])
{
	crypto_generichash(key, 32, (const uint8_t *)MAC_LABEL, strlen(MAC_LABEL), s->sk, 32);
}

void tlog_mac_digest(const uint8_t key[32], const uint8_t digest[TLOG_HASH_LEN],
		     char out[TLOG_MAC_B64_LEN + 1])
{
	uint8_t m[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, 32);
	crypto_auth_hmacsha256_update(&st, digest, TLOG_HASH_LEN);
	crypto_auth_hmacsha256_final(&st, m);
	sodium_bin2base64(out, TLOG_MAC_B64_LEN + 1, m, sizeof(m), sodium_base64_VARIANT_ORIGINAL);
}

int tlog_mac_digest_check(const uint8_t key[32], const uint8_t digest[TLOG_HASH_LEN],
			  const char *mac, size_t len)
{
	char want[TLOG_MAC_B64_LEN + 1];

	if (!mac || len != TLOG_MAC_B64_LEN)
		return -EBADMSG;
	tlog_mac_digest(key, digest, want);
	return sodium_memcmp(want, mac, TLOG_MAC_B64_LEN) == 0 ? 0 : -EBADMSG;
}

int tlog_mac(const uint8_t key[32], const tlog_field_t *f, size_t n, char out[TLOG_MAC_B64_LEN + 1])
{
	uint8_t d[TLOG_HASH_LEN];
	int err;

	if ((err = tlog_event_digest(f, n, d)) < 0)
		return err;
	tlog_mac_digest(key, d, out);
	return 0;
}

int tlog_mac_check(const uint8_t key[32], const tlog_field_t *f, size_t n, const char *mac,
		   size_t len)
{
	uint8_t d[TLOG_HASH_LEN];

	if (tlog_event_digest(f, n, d) < 0)
		return -EBADMSG;
	return tlog_mac_digest_check(key, d, mac, len);
}

/* ---- checkpoints ---- */

int tlog_origin_partition(const char *prefix, int k, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/p%d", prefix, k);

	return n < 0 || (size_t)n >= cap ? -ENOBUFS : n;
}

int tlog_origin_audit(const char *prefix, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/audit", prefix);

	return n < 0 || (size_t)n >= cap ? -ENOBUFS : n;
}

/* The checkpoint body; its length, -EINVAL or -ENOBUFS. */
static int body(const tlog_checkpoint_t *cp, char *buf, size_t cap)
{
	char root[64];
	int n;

	if (!cp->origin[0] || strchr(cp->origin, '\n'))
		return -EINVAL;
	sodium_bin2base64(root, sizeof(root), cp->root, TLOG_HASH_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(buf, cap, "%s\n%" PRIu64 "\n%s\n", cp->origin, cp->size, root);
	return n < 0 || (size_t)n >= cap ? -ENOBUFS : n;
}

int tlog_checkpoint_sign(const tlog_checkpoint_t *cp, const tlog_signer_t *s, char *buf, size_t cap)
{
	uint8_t sig[4 + crypto_sign_BYTES];
	char b64[128];
	int n = body(cp, buf, cap), m;

	if (n < 0)
		return n;
	sig[0] = (uint8_t)(s->keyid >> 24);
	sig[1] = (uint8_t)(s->keyid >> 16);
	sig[2] = (uint8_t)(s->keyid >> 8);
	sig[3] = (uint8_t)s->keyid;
	crypto_sign_detached(sig + 4, NULL, (const uint8_t *)buf, (size_t)n, s->sk);
	sodium_bin2base64(b64, sizeof(b64), sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
	m = snprintf(buf + n, cap - (size_t)n, "\n" SIG_PREFIX "%s %s\n", s->name, b64);
	if (m < 0 || (size_t)m >= cap - (size_t)n)
		return -ENOBUFS;
	return n + m;
}

/* Parses the checkpoint body text[0..len) (ends in '\n'). */
static int parse_body(const char *text, size_t len, tlog_checkpoint_t *out)
{
	const char *p = text, *end = text + len, *nl;
	uint8_t root[TLOG_HASH_LEN + 1];
	size_t root_len;
	char num[24];
	uint64_t size = 0;

	if (!(nl = memchr(p, '\n', (size_t)(end - p))) || nl == p || nl - p > TLOG_NAME_MAX)
		return -EBADMSG;
	memcpy(out->origin, p, (size_t)(nl - p));
	out->origin[nl - p] = '\0';
	if (memchr(out->origin, '\0', (size_t)(nl - p)))
		return -EBADMSG;
	p = nl + 1;
	if (!(nl = memchr(p, '\n', (size_t)(end - p))) || nl == p ||
	    nl - p >= (ptrdiff_t)sizeof(num) || (nl - p > 1 && *p == '0'))
		return -EBADMSG;
	memcpy(num, p, (size_t)(nl - p));
	num[nl - p] = '\0';
	for (const char *d = num; *d; d++) {
		if (*d < '0' || *d > '9' || size > (UINT64_MAX - 9) / 10)
			return -EBADMSG;
		size = size * 10 + (uint64_t)(*d - '0');
	}
	out->size = size;
	p = nl + 1;
	if (!(nl = memchr(p, '\n', (size_t)(end - p))) ||
	    sodium_base642bin(root, sizeof(root), p, (size_t)(nl - p), NULL, &root_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    root_len != TLOG_HASH_LEN)
		return -EBADMSG;
	memcpy(out->root, root, TLOG_HASH_LEN);
	/* extension lines (after the root) are allowed and ignored */
	return 0;
}

int tlog_checkpoint_open(const char *buf, size_t len, const tlog_verifier_t *keys, size_t n_keys,
			 tlog_checkpoint_t *out, size_t *out_signer)
{
	const char *split = NULL, *p, *end = buf + len;
	tlog_checkpoint_t cp;
	size_t text_len, signer = SIZE_MAX;
	bool bad = false;
	int err;

	if (len == 0 || len >= TLOG_CHECKPOINT_MAX || buf[len - 1] != '\n' ||
	    memchr(buf, '\0', len))
		return -EBADMSG;
	/* the text ends at the last blank line */
	for (p = buf; p + 1 < end; p++)
		if (p[0] == '\n' && p[1] == '\n')
			split = p;
	if (!split)
		return -EBADMSG;
	text_len = (size_t)(split - buf) + 1;
	if ((err = parse_body(buf, text_len, &cp)) < 0)
		return err;
	for (p = split + 2; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *sp;
		uint8_t sig[4 + crypto_sign_BYTES + 1];
		size_t sig_len, name_len;
		uint32_t id;

		if (!nl || (size_t)(nl - p) < strlen(SIG_PREFIX) ||
		    memcmp(p, SIG_PREFIX, strlen(SIG_PREFIX)) != 0)
			return -EBADMSG;
		p += strlen(SIG_PREFIX);
		if (!(sp = memchr(p, ' ', (size_t)(nl - p))) || !name_ok(p, (size_t)(sp - p)))
			return -EBADMSG;
		name_len = (size_t)(sp - p);
		if (sodium_base642bin(sig, sizeof(sig), sp + 1, (size_t)(nl - sp - 1), NULL,
				      &sig_len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    sig_len < 5)
			return -EBADMSG;
		id = (uint32_t)sig[0] << 24 | (uint32_t)sig[1] << 16 | (uint32_t)sig[2] << 8 |
		     sig[3];
		for (size_t k = 0; k < n_keys; k++) {
			if (keys[k].keyid != id || strlen(keys[k].name) != name_len ||
			    memcmp(keys[k].name, p, name_len) != 0)
				continue;
			if (sig_len != 4 + crypto_sign_BYTES ||
			    crypto_sign_verify_detached(sig + 4, (const uint8_t *)buf, text_len,
							keys[k].pk) != 0)
				bad = true;
			else if (signer == SIZE_MAX)
				signer = k;
		}
		p = nl + 1;
	}
	if (bad || signer == SIZE_MAX)
		return -EPERM;
	*out = cp;
	if (out_signer)
		*out_signer = signer;
	return 0;
}
