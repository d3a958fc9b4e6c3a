/*
 * The public ircdocs/parser-tests vectors, read at run time from
 * $EIRC_SOURCE_DIR/../shared/testdata/irc-parser-tests/ (never copied into
 * the project). A missing folder skips these tests; any failing case fails
 * the test after every case has run, each failure printed with its input.
 *
 * Choices the vectors leave open, and what we check:
 * - msg-split: duplicate tags keep the last value (irc_msg_tag_get); a tag
 *   without value is compared as "" as the vectors say.
 * - msg-join: a "" tag value is built as a tag without value, which the
 *   serializer writes as "key" - every such case lists that form.
 * - mask-match: the vectors are case-neutral; we match under rfc1459.
 * No vector conflicts with a stricter choice of ours (none holds NUL, CR
 * or LF, none has more than 15 params).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/irc_mask.h"
#include "common/irc_msg.h"
#include "tests/harness/yamltree.h"

#ifndef EIRC_SOURCE_DIR
#define EIRC_SOURCE_DIR "."
#endif

#define VECTORS_SUBDIR "/../shared/testdata/irc-parser-tests/"
#define LINE_BUF       1024

static void vectors_path(const char *file, char *out, size_t cap)
{
	const char *root = getenv("EIRC_SOURCE_DIR");

	snprintf(out, cap, "%s" VECTORS_SUBDIR "%s", root && *root ? root : EIRC_SOURCE_DIR, file);
}

/* Loads a vector file's "tests" list, or skips when the folder is absent. */
static struct yamltree_node *load_vectors(const char *file, const struct yamltree_node **out_tests)
{
	char path[4096], dir[4096], err[512];
	struct yamltree_node *root = NULL;
	struct stat st;
	int rc;

	vectors_path("", dir, sizeof(dir));
	if (stat(dir, &st) != 0) {
		print_message("vectors not found at %s, skipping\n", dir);
		skip();
	}
	vectors_path(file, path, sizeof(path));
	rc = yamltree_load_file(path, &root, err, sizeof(err));
	if (rc < 0)
		fail_msg("cannot load %s: %s", path, err);
	*out_tests = yamltree_get(root, "tests");
	assert_true(yamltree_len(*out_tests) > 0);
	return root;
}

/* Prints s with control bytes escaped, for failure reports. */
static const char *show(const char *s, size_t len)
{
	static char out[4 * LINE_BUF + 1];
	size_t w = 0;

	for (size_t i = 0; i < len && w + 5 < sizeof(out); i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == '\\')
			w += (size_t)snprintf(out + w, sizeof(out) - w, "\\x%02x", c);
		else
			out[w++] = (char)c;
	}
	out[w] = '\0';
	return out;
}

static bool span_is(const irc_msg_span_t *sp, const struct yamltree_node *want)
{
	size_t len;
	const char *s = yamltree_str(want, &len);

	if (!s)
		return sp->ptr == NULL;
	return sp->ptr && sp->len == len && memcmp(sp->ptr, s, len) == 0;
}

static bool tags_match(const irc_msg_t *m, const struct yamltree_node *want)
{
	irc_msg_tag_t t;
	size_t pos = 0;

	if (yamltree_is_null(want))
		return m->tags.ptr == NULL;
	for (size_t i = 0; i < yamltree_len(want); i++) {
		const char *key = yamltree_str(yamltree_key_at(want, i), NULL);
		size_t vlen;
		const char *v = yamltree_str(yamltree_at(want, i), &vlen);

		if (!key || !v || irc_msg_tag_get(m, key, &t) < 0 || t.value_len != vlen ||
		    memcmp(t.value, v, vlen) != 0)
			return false;
	}
	while (irc_msg_tag_next(m, &pos, &t)) { /* no tag the vector lacks */
		char key[LINE_BUF];
		snprintf(key, sizeof(key), "%.*s", (int)t.key_len, t.key);
		if (!yamltree_get(want, key))
			return false;
	}
	return true;
}

static bool params_match(const irc_msg_t *m, const struct yamltree_node *want)
{
	if (m->n_params != yamltree_len(want))
		return false;
	for (size_t i = 0; i < m->n_params; i++) {
		if (!span_is(&m->params[i], yamltree_at(want, i)))
			return false;
	}
	return true;
}

static bool split_case_ok(const struct yamltree_node *tc)
{
	const struct yamltree_node *atoms = yamltree_get(tc, "atoms");
	char buf[LINE_BUF];
	size_t len;
	const char *input = yamltree_str(yamltree_get(tc, "input"), &len);
	irc_msg_t m;
	int rc;

	assert_non_null(input);
	assert_true(len < sizeof(buf));
	memcpy(buf, input, len);
	rc = irc_msg_parse(buf, len, 0, &m);
	if (rc < 0) {
		print_error("msg-split: %s: %s\n", show(input, len), irc_msg_strerror(rc));
		return false;
	}
	if (!tags_match(&m, yamltree_get(atoms, "tags")) ||
	    !span_is(&m.source, yamltree_get(atoms, "source")) ||
	    !span_is(&m.command, yamltree_get(atoms, "verb")) ||
	    !params_match(&m, yamltree_get(atoms, "params"))) {
		print_error("msg-split: %s: atoms differ\n", show(input, len));
		return false;
	}
	return true;
}

static void test_msg_split(void **state)
{
	const struct yamltree_node *tests;
	struct yamltree_node *root = load_vectors("msg-split.yaml", &tests);
	size_t failed = 0;

	for (size_t i = 0; i < yamltree_len(tests); i++)
		failed += !split_case_ok(yamltree_at(tests, i));
	print_message("msg-split: %zu cases, %zu failed\n", yamltree_len(tests), failed);
	yamltree_free(root);
	assert_int_equal(failed, 0);
}

/* Builds msg from a vector's atoms; tag storage goes in tagbuf. */
static void msg_from_atoms(const struct yamltree_node *atoms, irc_msg_t *m, char *tagbuf,
			   size_t tagcap)
{
	const struct yamltree_node *tags = yamltree_get(atoms, "tags"), *params;
	size_t tlen = 0;

	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < yamltree_len(tags); i++) {
		size_t klen, vlen;
		const char *k = yamltree_str(yamltree_key_at(tags, i), &klen);
		const char *v = yamltree_str(yamltree_at(tags, i), &vlen);
		assert_int_equal(irc_msg_tags_append(k, klen, vlen > 0 ? v : NULL, vlen, tagbuf,
						     tagcap, &tlen),
				 0);
	}
	if (tlen > 0)
		m->tags = (irc_msg_span_t){tagbuf, tlen};
	m->source.ptr = yamltree_str(yamltree_get(atoms, "source"), &m->source.len);
	m->command.ptr = yamltree_str(yamltree_get(atoms, "verb"), &m->command.len);
	params = yamltree_get(atoms, "params");
	m->n_params = yamltree_len(params);
	assert_true(m->n_params <= IRC_PARAMS_MAX);
	for (size_t i = 0; i < m->n_params; i++)
		m->params[i].ptr = yamltree_str(yamltree_at(params, i), &m->params[i].len);
}

static bool join_case_ok(const struct yamltree_node *tc)
{
	const struct yamltree_node *matches = yamltree_get(tc, "matches");
	const char *desc = yamltree_str(yamltree_get(tc, "desc"), NULL);
	char tagbuf[LINE_BUF], out[LINE_BUF];
	irc_msg_t m;
	int n;

	msg_from_atoms(yamltree_get(tc, "atoms"), &m, tagbuf, sizeof(tagbuf));
	n = irc_msg_serialize(&m, 0, out, sizeof(out));
	if (n < 0) {
		print_error("msg-join: %s: %s\n", desc, irc_msg_strerror(n));
		return false;
	}
	for (size_t i = 0; i < yamltree_len(matches); i++) {
		size_t len;
		const char *want = yamltree_str(yamltree_at(matches, i), &len);
		if (want && len == (size_t)n && memcmp(want, out, len) == 0)
			return true;
	}
	print_error("msg-join: %s: got %s\n", desc ? desc : "?", show(out, (size_t)n));
	return false;
}

static void test_msg_join(void **state)
{
	const struct yamltree_node *tests;
	struct yamltree_node *root = load_vectors("msg-join.yaml", &tests);
	size_t failed = 0;

	for (size_t i = 0; i < yamltree_len(tests); i++)
		failed += !join_case_ok(yamltree_at(tests, i));
	print_message("msg-join: %zu cases, %zu failed\n", yamltree_len(tests), failed);
	yamltree_free(root);
	assert_int_equal(failed, 0);
}

static bool part_is(const char *p, size_t len, const struct yamltree_node *want)
{
	size_t wlen = 0;
	const char *w = yamltree_str(want, &wlen);

	if (!w)
		w = ""; /* "if a key does not exist, assume ''" */
	return len == wlen && (len == 0 || memcmp(p, w, len) == 0);
}

static bool userhost_case_ok(const struct yamltree_node *tc)
{
	const struct yamltree_node *atoms = yamltree_get(tc, "atoms");
	size_t len;
	const char *src = yamltree_str(yamltree_get(tc, "source"), &len);
	irc_mask_userhost_t uh;

	if (irc_mask_split(src, len, &uh) < 0 ||
	    !part_is(uh.nick, uh.nick_len, yamltree_get(atoms, "nick")) ||
	    !part_is(uh.user, uh.user_len, yamltree_get(atoms, "user")) ||
	    !part_is(uh.host, uh.host_len, yamltree_get(atoms, "host"))) {
		print_error("userhost-split: %s: atoms differ\n", show(src, len));
		return false;
	}
	return true;
}

static void test_userhost_split(void **state)
{
	const struct yamltree_node *tests;
	struct yamltree_node *root = load_vectors("userhost-split.yaml", &tests);
	size_t failed = 0;

	for (size_t i = 0; i < yamltree_len(tests); i++)
		failed += !userhost_case_ok(yamltree_at(tests, i));
	print_message("userhost-split: %zu cases, %zu failed\n", yamltree_len(tests), failed);
	yamltree_free(root);
	assert_int_equal(failed, 0);
}

/* Checks every string of list against mask; returns the failures. */
static size_t mask_list_failures(const char *mask, size_t mlen, const struct yamltree_node *list,
				 bool expect)
{
	size_t failed = 0;

	for (size_t i = 0; i < yamltree_len(list); i++) {
		size_t len;
		const char *s = yamltree_str(yamltree_at(list, i), &len);
		if (irc_mask_match(mask, mlen, s, len, IRC_CASEMAP_RFC1459) != expect) {
			print_error("mask-match: %s vs ", show(mask, mlen));
			print_error("%s: expected %s\n", show(s, len),
				    expect ? "match" : "no match");
			failed++;
		}
	}
	return failed;
}

static void test_mask_match(void **state)
{
	const struct yamltree_node *tests;
	struct yamltree_node *root = load_vectors("mask-match.yaml", &tests);
	size_t failed = 0, checked = 0;

	for (size_t i = 0; i < yamltree_len(tests); i++) {
		const struct yamltree_node *tc = yamltree_at(tests, i);
		size_t mlen;
		const char *mask = yamltree_str(yamltree_get(tc, "mask"), &mlen);

		assert_non_null(mask);
		failed += mask_list_failures(mask, mlen, yamltree_get(tc, "matches"), true);
		failed += mask_list_failures(mask, mlen, yamltree_get(tc, "fails"), false);
		checked += yamltree_len(yamltree_get(tc, "matches")) +
			   yamltree_len(yamltree_get(tc, "fails"));
	}
	print_message("mask-match: %zu checks, %zu failed\n", checked, failed);
	yamltree_free(root);
	assert_int_equal(failed, 0);
}

static void test_validate_hostname(void **state)
{
	const struct yamltree_node *tests;
	struct yamltree_node *root = load_vectors("validate-hostname.yaml", &tests);
	size_t failed = 0;

	for (size_t i = 0; i < yamltree_len(tests); i++) {
		const struct yamltree_node *tc = yamltree_at(tests, i);
		size_t len;
		const char *host = yamltree_str(yamltree_get(tc, "host"), &len);
		const char *valid = yamltree_str(yamltree_get(tc, "valid"), NULL);
		bool want = valid && strcmp(valid, "true") == 0;

		assert_non_null(host);
		if (irc_mask_hostname_valid(host, len) != want) {
			print_error("validate-hostname: \"%s\": expected %s\n", show(host, len),
				    want ? "valid" : "invalid");
			failed++;
		}
	}
	print_message("validate-hostname: %zu cases, %zu failed\n", yamltree_len(tests), failed);
	yamltree_free(root);
	assert_int_equal(failed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_split),         cmocka_unit_test(test_msg_join),
		cmocka_unit_test(test_userhost_split),    cmocka_unit_test(test_mask_match),
		cmocka_unit_test(test_validate_hostname),
	};

	return cmocka_run_group_tests_name("irc-parser-tests vectors", tests, NULL, NULL);
}
