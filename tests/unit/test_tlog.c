/*
 * test_tlog: the tamper-evident log's pure parts (archive/tlog.h) against
 * independent references: RFC 6962's published tree vectors, a naive
 * recursive MTH, the Go signed-note documentation's key and signature,
 * and a leaf and MAC computed outside C (Python's hashlib and hmac).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "archive/tlog.h"

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static void assert_hash_hex(const uint8_t h[TLOG_HASH_LEN], const char *want)
{
	char got[2 * TLOG_HASH_LEN + 1];

	hex(h, TLOG_HASH_LEN, got);
	assert_string_equal(got, want);
}

static void raw_leaf(const void *p, size_t n, uint8_t out[TLOG_HASH_LEN])
{
	crypto_hash_sha256_state st;
	uint8_t zero = 0;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &zero, 1);
	crypto_hash_sha256_update(&st, p, n);
	crypto_hash_sha256_final(&st, out);
}

/* RFC 6962 / certificate-transparency's reference inputs and roots. */
static const struct {
	const char *data;
	size_t len;
} ct_leaves[] = {
	{"", 0},
	{"\x00", 1},
	{"\x10", 1},
	{"\x20\x21", 2},
	{"\x30\x31", 2},
	{"\x40\x41\x42\x43", 4},
	{"\x50\x51\x52\x53\x54\x55\x56\x57", 8},
	{"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f", 16},
};
static const char *const ct_roots[] = {
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static void test_rfc6962_roots(void **state)
{
	tlog_tree_t t;
	uint8_t leaf[TLOG_HASH_LEN], root[TLOG_HASH_LEN];

	(void)state;
	tlog_tree_init(&t);
	tlog_tree_root(&t, root);
	assert_hash_hex(root, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	for (size_t i = 0; i < 8; i++) {
		raw_leaf(ct_leaves[i].data, ct_leaves[i].len, leaf);
		tlog_tree_append(&t, leaf);
		tlog_tree_root(&t, root);
		assert_hash_hex(root, ct_roots[i]);
	}
}

static void leaf_of(uint64_t i, uint8_t out[TLOG_HASH_LEN])
{
	uint8_t b[8];

	for (int k = 0; k < 8; k++)
		b[k] = (uint8_t)(i >> (8 * k));
	raw_leaf(b, sizeof(b), out);
}

static int leaf_cb(void *ud, uint64_t i, uint8_t out[TLOG_HASH_LEN])
{
	uint64_t *reads = ud;

	if (reads)
		(*reads)++;
	leaf_of(i, out);
	return 0;
}

/* RFC 9162 2.1.1 word for word. */
static void naive_mth(uint64_t a, uint64_t b, uint8_t out[TLOG_HASH_LEN])
{
	uint8_t l[TLOG_HASH_LEN], r[TLOG_HASH_LEN];
	uint64_t k = 1;

	if (b - a == 1) {
		leaf_of(a, out);
		return;
	}
	while (k * 2 < b - a)
		k *= 2;
	naive_mth(a, a + k, l);
	naive_mth(a + k, b, r);
	tlog_node_hash(l, r, out);
}

static void test_tree_matches_rfc_definition(void **state)
{
	tlog_tree_t t, back;
	uint8_t leaf[TLOG_HASH_LEN], root[TLOG_HASH_LEN], want[TLOG_HASH_LEN];
	uint8_t enc[TLOG_FRONTIER_MAX * TLOG_HASH_LEN];
	int n;

	(void)state;
	tlog_tree_init(&t);
	for (uint64_t size = 1; size <= 300; size++) {
		leaf_of(size - 1, leaf);
		tlog_tree_append(&t, leaf);
		assert_int_equal(t.n, __builtin_popcountll(size));
		tlog_tree_root(&t, root);
		naive_mth(0, size, want);
		assert_memory_equal(root, want, TLOG_HASH_LEN);
		/* the frontier round-trips, and only at its exact length */
		n = tlog_tree_encode(&t, enc, sizeof(enc));
		assert_int_equal(n, t.n * TLOG_HASH_LEN);
		assert_int_equal(tlog_tree_decode(size, enc, (size_t)n, &back), 0);
		tlog_tree_root(&back, want);
		assert_memory_equal(root, want, TLOG_HASH_LEN);
		assert_int_equal(tlog_tree_decode(size + 1, enc, (size_t)n, &back),
				 __builtin_popcountll(size + 1) == t.n ? 0 : -EINVAL);
	}
	assert_int_equal(tlog_tree_encode(&t, enc, TLOG_HASH_LEN), -ENOBUFS);
}

static void test_inclusion_proofs(void **state)
{
	uint8_t proof[TLOG_PROOF_MAX][TLOG_HASH_LEN], proof2[TLOG_PROOF_MAX][TLOG_HASH_LEN];
	uint8_t leaf[TLOG_HASH_LEN], root[TLOG_HASH_LEN], bad[TLOG_HASH_LEN];
	size_t n, n2;

	(void)state;
	for (uint64_t size = 1; size <= 70; size++) {
		naive_mth(0, size, root);
		for (uint64_t i = 0; i < size; i++) {
			leaf_of(i, leaf);
			assert_int_equal(
				tlog_inclusion_proof(i, size, NULL, leaf_cb, NULL, proof, &n), 0);
			assert_int_equal(
				tlog_inclusion_verify(i, size, leaf, (const void *)proof, n, root),
				0);
			/* another leaf, index or size fails */
			leaf_of(i + 1000, bad);
			assert_int_equal(
				tlog_inclusion_verify(i, size, bad, (const void *)proof, n, root),
				-EBADMSG);
			if (size > 1)
				assert_int_equal(tlog_inclusion_verify((i + 1) % size, size, leaf,
								       (const void *)proof, n,
								       root),
						 -EBADMSG);
			/* the root of another size fails (the checkpoint binds the size) */
			naive_mth(0, size + 1, bad);
			assert_int_equal(
				tlog_inclusion_verify(i, size, leaf, (const void *)proof, n, bad),
				-EBADMSG);
			if (n) {
				proof[n - 1][0] ^= 1;
				assert_int_equal(tlog_inclusion_verify(i, size, leaf,
								       (const void *)proof, n,
								       root),
						 -EBADMSG);
				proof[n - 1][0] ^= 1;
			}
			/* the same proof when the leaves before p are known only by the
			 * frontier of [0,p) (a trimmed log), for every p <= i */
			for (uint64_t p = 1; p <= i; p++) {
				tlog_tree_t prefix;
				tlog_tree_init(&prefix);
				for (uint64_t j = 0; j < p; j++) {
					uint8_t l[TLOG_HASH_LEN];
					leaf_of(j, l);
					tlog_tree_append(&prefix, l);
				}
				assert_int_equal(tlog_inclusion_proof(i, size, &prefix, leaf_cb,
								      NULL, proof2, &n2),
						 0);
				assert_int_equal(n2, n);
				assert_memory_equal(proof2, proof, n * TLOG_HASH_LEN);
			}
		}
	}
	assert_int_equal(tlog_inclusion_proof(5, 5, NULL, leaf_cb, NULL, proof, &n), -EINVAL);
	assert_int_equal(tlog_inclusion_verify(0, 0, leaf, (const void *)proof, 0, root), -EBADMSG);
}

static void test_inclusion_proof_reads(void **state)
{
	uint8_t proof[TLOG_PROOF_MAX][TLOG_HASH_LEN];
	uint64_t reads = 0;
	size_t n;

	(void)state;
	/* a proof reads each leaf once at most: O(size), never more */
	assert_int_equal(tlog_inclusion_proof(12345, 100000, NULL, leaf_cb, &reads, proof, &n), 0);
	assert_int_equal(reads, 100000 - 1);
	assert_int_equal(n, 17);
}

/* An entry as the archive holds it, with fields a leaf leaves out. */
static const tlog_field_t entry[] = {
	{{"msgid", 5}, {"abc", 3}},    {{"time", 4}, {"1700000000000", 13}},
	{{"type", 4}, {"privmsg", 7}}, {{"network", 7}, {"eirc", 4}},
	{{"conv", 4}, {"#a", 2}},      {{"target", 6}, {"#a", 2}},
	{{"nick", 4}, {"alice", 5}},   {{"text", 4}, {"hello", 5}},
	{{"account", 7}, {"", 0}},     {{"hid", 3}, {"1-0", 3}},
	{{"stream", 6}, {"x", 1}},
};
#define N_ENTRY (sizeof(entry) / sizeof(entry[0]))
static const archive_str_t entry_id = {"1700000000000-0", 15};

static void test_leaf_encoding(void **state)
{
	tlog_field_t f[N_ENTRY + 1];
	uint8_t h[TLOG_HASH_LEN], h2[TLOG_HASH_LEN];

	(void)state;
	/* computed in Python from docs/compliance.md's description */
	assert_int_equal(tlog_leaf_hash(entry_id, entry, N_ENTRY, h), 0);
	assert_hash_hex(h, "ca661b797c086cbead221f018f2023f1b8a44caafa92f3f024ab7d8c1a58ff8d");
	/* the same in two steps: the writer's digest, the sealer's leaf */
	uint8_t d[TLOG_HASH_LEN];
	assert_int_equal(tlog_event_digest(entry, N_ENTRY, d), 0);
	assert_hash_hex(d, "3b15ede1d8ad39ccca3c707e1b85b5795c9cf6b2137ec86b494fef95e7b43fd4");
	assert_int_equal(tlog_leaf_of_digest(entry_id, d, h2), 0);
	assert_memory_equal(h, h2, TLOG_HASH_LEN);
	assert_int_equal(tlog_leaf_of_digest((archive_str_t){"", 0}, d, h2), -EINVAL);
	/* field order, absent-or-empty and excluded fields do not matter */
	for (size_t i = 0; i < N_ENTRY; i++)
		f[i] = entry[N_ENTRY - 1 - i];
	assert_int_equal(tlog_leaf_hash(entry_id, f + 3, N_ENTRY - 3, h2), 0);
	assert_memory_equal(h, h2, TLOG_HASH_LEN);
	/* every byte of a value, a name or the id matters */
	memcpy(f, entry, sizeof(entry));
	f[7].value = (archive_str_t){"hellp", 5};
	assert_int_equal(tlog_leaf_hash(entry_id, f, N_ENTRY, h2), 0);
	assert_memory_not_equal(h, h2, TLOG_HASH_LEN);
	memcpy(f, entry, sizeof(entry));
	f[6].name = (archive_str_t){"nicK", 4};
	assert_int_equal(tlog_leaf_hash(entry_id, f, N_ENTRY, h2), 0);
	assert_memory_not_equal(h, h2, TLOG_HASH_LEN);
	assert_int_equal(tlog_leaf_hash((archive_str_t){"1700000000000-1", 15}, entry, N_ENTRY, h2),
			 0);
	assert_memory_not_equal(h, h2, TLOG_HASH_LEN);
	/* a field added (even one named like the value boundary) matters */
	memcpy(f, entry, sizeof(entry));
	f[N_ENTRY] = (tlog_field_t){{"arg", 3}, {"x", 1}};
	assert_int_equal(tlog_leaf_hash(entry_id, f, N_ENTRY + 1, h2), 0);
	assert_memory_not_equal(h, h2, TLOG_HASH_LEN);
	/* refused: a name twice, no id */
	f[N_ENTRY] = (tlog_field_t){{"nick", 4}, {"bob", 3}};
	assert_int_equal(tlog_leaf_hash(entry_id, f, N_ENTRY + 1, h2), -EINVAL);
	assert_int_equal(tlog_leaf_hash((archive_str_t){"", 0}, entry, N_ENTRY, h2), -EINVAL);
	assert_true(tlog_field_excluded("mac", 3));
	assert_false(tlog_field_excluded("macs", 4));
}

static void test_mac(void **state)
{
	uint8_t key[32];
	char mac[TLOG_MAC_B64_LEN + 1];
	uint8_t raw[32];
	char rawhex[65];
	size_t raw_len;
	tlog_field_t f[N_ENTRY];

	(void)state;
	memset(key, 'k', sizeof(key));
	assert_int_equal(tlog_mac(key, entry, N_ENTRY, mac), 0);
	assert_int_equal(strlen(mac), TLOG_MAC_B64_LEN);
	assert_int_equal(sodium_base642bin(raw, sizeof(raw), mac, strlen(mac), NULL, &raw_len, NULL,
					   sodium_base64_VARIANT_ORIGINAL),
			 0);
	hex(raw, 32, rawhex);
	/* Python: hmac.new(b'k' * 32, the event digest, sha256) */
	assert_string_equal(rawhex,
			    "c07042bb04b18385207c08535b8af5aa19fa9e63483789d2a100afcc74118d39");
	assert_int_equal(tlog_mac_check(key, entry, N_ENTRY, mac, strlen(mac)), 0);
	uint8_t d[TLOG_HASH_LEN];
	char mac2[TLOG_MAC_B64_LEN + 1];
	assert_int_equal(tlog_event_digest(entry, N_ENTRY, d), 0);
	tlog_mac_digest(key, d, mac2);
	assert_string_equal(mac2, mac);
	assert_int_equal(tlog_mac_digest_check(key, d, mac, strlen(mac)), 0);
	d[0] ^= 1;
	assert_int_equal(tlog_mac_digest_check(key, d, mac, strlen(mac)), -EBADMSG);
	memcpy(f, entry, sizeof(entry));
	f[7].value = (archive_str_t){"hellp", 5};
	assert_int_equal(tlog_mac_check(key, f, N_ENTRY, mac, strlen(mac)), -EBADMSG);
	key[0] ^= 1;
	assert_int_equal(tlog_mac_check(key, entry, N_ENTRY, mac, strlen(mac)), -EBADMSG);
	key[0] ^= 1;
	assert_int_equal(tlog_mac_check(key, entry, N_ENTRY, mac, strlen(mac) - 1), -EBADMSG);
	assert_int_equal(tlog_mac_check(key, entry, N_ENTRY, NULL, 0), -EBADMSG);
	mac[3] = mac[3] == 'A' ? 'B' : 'A';
	assert_int_equal(tlog_mac_check(key, entry, N_ENTRY, mac, strlen(mac)), -EBADMSG);
}

/* golang.org/x/mod/sumdb/note's documented example: a public key and the
 * note it signed. */
#define GO_VKEY "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
#define GO_TEXT                                                                                    \
	"If you think cryptography is the answer to your problem,\n"                               \
	"then you don't know what your problem is.\n"
#define GO_SIG                                                                                     \
	"x08go/ZJkuBS9UG/"                                                                         \
	"SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="

static void test_keys_match_signed_note(void **state)
{
	tlog_signer_t s, s2;
	tlog_verifier_t v, v2;
	char buf[TLOG_SKEY_MAX];
	uint8_t sig[68];
	size_t sig_len;

	(void)state;
	assert_int_equal(tlog_verifier_parse(GO_VKEY, &v), 0);
	assert_string_equal(v.name, "PeterNeumann");
	assert_int_equal(v.keyid, 0xc74f20a3);
	assert_true(tlog_verifier_format(&v, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, GO_VKEY);
	/* the documented signature: key id, then Ed25519 over the text */
	assert_int_equal(sodium_base642bin(sig, sizeof(sig), GO_SIG, strlen(GO_SIG), NULL, &sig_len,
					   NULL, sodium_base64_VARIANT_ORIGINAL),
			 0);
	assert_int_equal(sig_len, 68);
	assert_int_equal(
		((uint32_t)sig[0] << 24 | (uint32_t)sig[1] << 16 | (uint32_t)sig[2] << 8 | sig[3]),
		v.keyid);
	assert_int_equal(crypto_sign_verify_detached(sig + 4, (const uint8_t *)GO_TEXT,
						     strlen(GO_TEXT), v.pk),
			 0);
	/* a generated key round-trips through its text forms */
	assert_int_equal(tlog_signer_generate("eirc.example", &s), 0);
	assert_true(tlog_signer_format(&s, buf, sizeof(buf)) > 0);
	assert_int_equal(strncmp(buf, "PRIVATE+KEY+eirc.example+", 25), 0);
	assert_int_equal(tlog_signer_parse(buf, &s2), 0);
	assert_memory_equal(s2.sk, s.sk, 64);
	assert_int_equal(s2.keyid, tlog_keyid("eirc.example", s.pk));
	buf[strlen(buf) - 2] ^= 1; /* another seed: its key id no longer matches */
	assert_int_equal(tlog_signer_parse(buf, &s2), -EINVAL);
	tlog_signer_verifier(&s, &v2);
	assert_true(tlog_verifier_format(&v2, buf, sizeof(buf)) > 0);
	assert_int_equal(tlog_verifier_parse(buf, &v), 0);
	assert_memory_equal(v.pk, s.pk, 32);
	/* malformed keys */
	assert_int_equal(
		tlog_verifier_parse("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/"
				    "LDE4izWy10TW",
				    &v2),
		-EINVAL);
	assert_int_equal(tlog_verifier_parse("PeterNeumann+c74f20a3+ARpc2QcU", &v2), -EINVAL);
	assert_int_equal(
		tlog_verifier_parse("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", &v2),
		-EINVAL);
	assert_int_equal(
		tlog_verifier_parse("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/"
				    "LDE4izWy10TW",
				    &v2),
		-EINVAL);
	assert_int_equal(tlog_signer_parse(GO_VKEY, &s), -EINVAL);
	assert_int_equal(tlog_signer_parse(NULL, &s), -EINVAL);
	assert_int_equal(tlog_signer_generate("has space", &s), -EINVAL);
	assert_int_equal(tlog_signer_generate("a+b", &s), -EINVAL);
}

static void test_checkpoints(void **state)
{
	tlog_signer_t s, other;
	tlog_verifier_t keys[2];
	tlog_checkpoint_t cp = {"eirc.example/archive/p3", 1234, {0}}, got;
	char note[TLOG_CHECKPOINT_MAX], note2[TLOG_CHECKPOINT_MAX], both[2 * TLOG_CHECKPOINT_MAX];
	size_t signer;
	int n, n2;
	char *sigline;

	(void)state;
	assert_int_equal(tlog_signer_generate("eirc.example", &s), 0);
	assert_int_equal(tlog_signer_generate("witness.example", &other), 0);
	tlog_signer_verifier(&s, &keys[0]);
	tlog_signer_verifier(&other, &keys[1]);
	for (int i = 0; i < TLOG_HASH_LEN; i++)
		cp.root[i] = (uint8_t)i;
	n = tlog_checkpoint_sign(&cp, &s, note, sizeof(note));
	assert_true(n > 0);
	assert_int_equal(
		strncmp(note,
			"eirc.example/archive/"
			"p3\n1234\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n"
			"\xe2\x80\x94 eirc.example ",
			strlen("eirc.example/archive/p3\n1234\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGB"
			       "kaGxwdHh8=\n\n\xe2\x80\x94 eirc.example ")),
		0);
	/* deterministic: the HA twin makes the same note */
	n2 = tlog_checkpoint_sign(&cp, &s, note2, sizeof(note2));
	assert_int_equal(n2, n);
	assert_memory_equal(note, note2, (size_t)n);
	assert_int_equal(tlog_checkpoint_open(note, (size_t)n, keys, 2, &got, &signer), 0);
	assert_string_equal(got.origin, cp.origin);
	assert_int_equal(got.size, 1234);
	assert_memory_equal(got.root, cp.root, TLOG_HASH_LEN);
	assert_int_equal(signer, 0);
	/* only the other key known: EPERM (unknown signers are ignored) */
	assert_int_equal(tlog_checkpoint_open(note, (size_t)n, &keys[1], 1, &got, NULL), -EPERM);
	/* cosigned: the witness's line added after ours; either key opens it */
	n2 = tlog_checkpoint_sign(&cp, &other, note2, sizeof(note2));
	sigline = strstr(note2, "\n\n") + 2;
	snprintf(both, sizeof(both), "%s%s", note, sigline);
	assert_int_equal(tlog_checkpoint_open(both, strlen(both), &keys[1], 1, &got, &signer), 0);
	assert_int_equal(tlog_checkpoint_open(both, strlen(both), keys, 2, &got, &signer), 0);
	/* a changed size, a changed root: EPERM */
	memcpy(note2, note, (size_t)n);
	note2[strlen("eirc.example/archive/p3\n")] = '2';
	assert_int_equal(tlog_checkpoint_open(note2, (size_t)n, keys, 2, &got, NULL), -EPERM);
	memcpy(note2, note, (size_t)n);
	note2[strlen("eirc.example/archive/p3\n1234\n") + 2] ^= 1;
	assert_int_equal(tlog_checkpoint_open(note2, (size_t)n, keys, 2, &got, NULL), -EPERM);
	/* malformed: no signature block, truncated, a bad size */
	assert_int_equal(tlog_checkpoint_open(note, (size_t)n - 1, keys, 2, &got, NULL), -EBADMSG);
	assert_int_equal(tlog_checkpoint_open("o\n1\nAA==\n", 10, keys, 2, &got, NULL), -EBADMSG);
	assert_int_equal(
		tlog_checkpoint_open(
			"o\n01\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n\xe2\x80\x94 "
			"x AAAA\n",
			strlen("o\n01\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n\xe2"
			       "\x80\x94 x AAAA\n"),
			keys, 2, &got, NULL),
		-EBADMSG);
	/* origin with a newline cannot be signed */
	snprintf(cp.origin, sizeof(cp.origin), "a\nb");
	assert_int_equal(tlog_checkpoint_sign(&cp, &s, note, sizeof(note)), -EINVAL);
	char o[64];
	assert_int_equal(tlog_origin_partition("eirc.example/archive", 12, o, sizeof(o)),
			 (int)strlen("eirc.example/archive/p12"));
	assert_string_equal(o, "eirc.example/archive/p12");
	assert_true(tlog_origin_audit("eirc.example/archive", o, sizeof(o)) > 0);
	assert_string_equal(o, "eirc.example/archive/audit");
	assert_int_equal(tlog_origin_audit("eirc.example/archive", o, 5), -ENOBUFS);
}

static void test_mac_key_from_signer(void **state)
{
	tlog_signer_t s, s2;
	uint8_t k1[32], k2[32];
	char buf[TLOG_SKEY_MAX];

	(void)state;
	assert_int_equal(tlog_signer_generate("eirc.example", &s), 0);
	assert_true(tlog_signer_format(&s, buf, sizeof(buf)) > 0);
	assert_int_equal(tlog_signer_parse(buf, &s2), 0);
	tlog_mac_key(&s, k1);
	tlog_mac_key(&s2, k2);
	assert_memory_equal(k1, k2, 32);
	assert_memory_not_equal(k1, s.sk, 32);
	assert_int_equal(tlog_signer_generate("eirc.example", &s2), 0);
	tlog_mac_key(&s2, k2);
	assert_memory_not_equal(k1, k2, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6962_roots),
		cmocka_unit_test(test_tree_matches_rfc_definition),
		cmocka_unit_test(test_inclusion_proofs),
		cmocka_unit_test(test_inclusion_proof_reads),
		cmocka_unit_test(test_leaf_encoding),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_keys_match_signed_note),
		cmocka_unit_test(test_checkpoints),
		cmocka_unit_test(test_mac_key_from_signer),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
