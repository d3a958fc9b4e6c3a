/*
 * utf8 unit tests: the boundaries of every sequence length, overlongs,
 * surrogates, U+10FFFF / U+110000, invalid lead bytes, truncated sequences
 * (streaming answer), encode/decode over every scalar value, and U+FFFD
 * substitution of maximal subparts with its output-size contract.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/utf8.h"

#define R "\xEF\xBF\xBD" /* U+FFFD */

struct seq_case {
	const char *bytes;
	size_t len;
	bool valid;
};

#define SEQ(s, v)                                                                                  \
	{                                                                                          \
		s, sizeof(s) - 1, v                                                                \
	}

static const struct seq_case CASES[] = {
	SEQ("", true),
	SEQ("plain ascii", true),
	SEQ("\x00", true), /* NUL is valid UTF-8 */
	SEQ("\x7F", true),
	SEQ("\xC2\x80", true),         /* U+0080 */
	SEQ("\xDF\xBF", true),         /* U+07FF */
	SEQ("\xE0\xA0\x80", true),     /* U+0800 */
	SEQ("\xED\x9F\xBF", true),     /* U+D7FF */
	SEQ("\xEE\x80\x80", true),     /* U+E000 */
	SEQ("\xEF\xBF\xBF", true),     /* U+FFFF */
	SEQ("\xF0\x90\x80\x80", true), /* U+10000 */
	SEQ("\xF4\x8F\xBF\xBF", true), /* U+10FFFF */
	SEQ("caf\xC3\xA9 \xF0\x9F\x98\x80", true),
	SEQ("\xF4\x90\x80\x80", false),         /* U+110000 */
	SEQ("\xF7\xBF\xBF\xBF", false),         /* U+1FFFFF */
	SEQ("\xED\xA0\x80", false),             /* U+D800 */
	SEQ("\xED\xBF\xBF", false),             /* U+DFFF */
	SEQ("\xED\xA0\xBD\xED\xB8\x80", false), /* CESU-8 pair */
	SEQ("\xC0\x80", false),                 /* overlong NUL */
	SEQ("\xC0\xAF", false),                 /* overlong '/' */
	SEQ("\xC1\xBF", false),
	SEQ("\xE0\x80\x80", false),
	SEQ("\xE0\x9F\xBF", false), /* overlong U+07FF */
	SEQ("\xF0\x80\x80\x80", false),
	SEQ("\xF0\x8F\xBF\xBF", false), /* overlong U+FFFF */
	SEQ("\x80", false),             /* lone continuation */
	SEQ("\xBF", false),
	SEQ("\xF5\x80\x80\x80", false),
	SEQ("\xFE", false),
	SEQ("\xFF", false),
	SEQ("\xC3", false), /* truncated */
	SEQ("\xE2\x82", false),
	SEQ("\xF0\x9F\x98", false),
	SEQ("a\xC3"
	    "b",
	    false),
};

static void test_validity_table(void **state)
{
	for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
		const struct seq_case *c = &CASES[i];
		if (utf8_is_valid(c->bytes, c->len) != c->valid)
			fail_msg("case %zu: expected %s", i, c->valid ? "valid" : "invalid");
	}
}

static void test_decode(void **state)
{
	uint32_t cp = 0x1234;

	assert_int_equal(utf8_decode("\xF4\x8F\xBF\xBF", 4, &cp), 4);
	assert_int_equal(cp, 0x10FFFF);
	assert_int_equal(utf8_decode("\xC3\xA9x", 3, &cp), 2);
	assert_int_equal(cp, 0xE9);
	cp = 0x1234;
	assert_int_equal(utf8_decode("\xF4\x90\x80\x80", 4, &cp), UTF8_EILSEQ);
	assert_int_equal(utf8_decode("\xED\xA0\x80", 3, &cp), UTF8_EILSEQ);
	assert_int_equal(utf8_decode("\xE0\x80\x80", 3, &cp), UTF8_EILSEQ);
	assert_int_equal(utf8_decode("\xE2\x82", 2, &cp), UTF8_EAGAIN);
	assert_int_equal(utf8_decode("\xF0", 1, &cp), UTF8_EAGAIN);
	assert_int_equal(utf8_decode("\xF0\x8F", 2, &cp), UTF8_EILSEQ); /* can never complete */
	assert_int_equal(utf8_decode("", 0, &cp), UTF8_EAGAIN);
	assert_int_equal(cp, 0x1234); /* untouched on failure */
}

static void test_encode_decode_every_scalar(void **state)
{
	char buf[UTF8_SEQ_MAX];
	size_t count = 0;

	for (uint32_t cp = 0; cp <= UTF8_CODEPOINT_MAX + 1; cp++) {
		int n = utf8_encode(cp, buf);
		uint32_t back;

		if (cp > UTF8_CODEPOINT_MAX || (cp >= 0xD800 && cp <= 0xDFFF)) {
			assert_int_equal(n, UTF8_EINVAL);
			continue;
		}
		assert_int_equal(n, cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4);
		assert_int_equal(utf8_decode(buf, (size_t)n, &back), n);
		assert_int_equal(back, cp);
		assert_true(utf8_is_valid(buf, (size_t)n));
		count++;
	}
	assert_int_equal(count, 0x110000 - 0x800);
}

static void test_valid_prefix_streaming(void **state)
{
	bool incomplete = false;

	assert_int_equal(utf8_valid_prefix("ab\xF0\x9F\x98", 5, &incomplete), 2);
	assert_true(incomplete);
	assert_int_equal(utf8_valid_prefix("ab\xF0\x9F\x98\x80", 6, &incomplete), 6);
	incomplete = true;
	assert_int_equal(utf8_valid_prefix("ab\xF0\x9Fx", 5, &incomplete), 2);
	assert_false(incomplete);
	assert_int_equal(utf8_valid_prefix("ab\xED\xA0", 4, &incomplete), 2);
	assert_false(incomplete); /* a surrogate never completes */
	assert_int_equal(utf8_valid_prefix("\xC3", 1, NULL), 0);
}

struct fix_case {
	const char *in;
	size_t in_len;
	const char *out;
	size_t out_len;
};

#define FIX(i, o)                                                                                  \
	{                                                                                          \
		i, sizeof(i) - 1, o, sizeof(o) - 1                                                 \
	}

/* Expected results follow Unicode 15 §3.9 "U+FFFD Substitution of Maximal
 * Subparts" (Tables 3-8 to 3-11) and the WHATWG UTF-8 decoder. */
static const struct fix_case FIXES[] = {
	FIX("", ""),
	FIX("ok \xC3\xA9", "ok \xC3\xA9"),
	FIX("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
	    "a" R R R "b" R "c" R R "d"), /* Table 3-8 */
	FIX("\xC0\xAF", R R),             /* overlong: each byte */
	FIX("\xE0\x80\xAF", R R R),
	FIX("\xF0\x80\x80\xAF", R R R R),
	FIX("\xED\xA0\x80", R R R),                  /* surrogate: each byte */
	FIX("\xF4\x90\x80\x80", R R R R),            /* U+110000 */
	FIX("\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF"), /* U+10FFFF kept */
	FIX("\xF0\x9F\x98", R),                      /* truncated: one */
	FIX("\xF0\x9F\x98x", R "x"),
	FIX("\xE2\x82\xE2\x82\xAC", R "\xE2\x82\xAC"),
	FIX("\xFF\xFE", R R),
	FIX("\x80\x80\x80", R R R),
	FIX("a\x00"
	    "b",
	    "a\x00"
	    "b"),
};

static void test_sanitize_maximal_subparts(void **state)
{
	char out[64];

	for (size_t i = 0; i < sizeof(FIXES) / sizeof(FIXES[0]); i++) {
		const struct fix_case *c = &FIXES[i];
		size_t len = 999;

		assert_int_equal(utf8_sanitized_len(c->in, c->in_len), c->out_len);
		assert_int_equal(utf8_sanitize(c->in, c->in_len, out, sizeof(out), &len), 0);
		if (len != c->out_len || memcmp(out, c->out, len) != 0)
			fail_msg("fix case %zu differs", i);
		assert_true(utf8_is_valid(out, len));
		assert_true(len <= UTF8_SANITIZE_MAX(c->in_len));
	}
}

static void test_sanitize_output_size(void **state)
{
	static const char bad[] = "\xFF\xFF\xFF\xFF";
	char out[UTF8_SANITIZE_MAX(sizeof(bad) - 1)];
	size_t len = 7;

	/* The worst case is reached: every byte becomes U+FFFD. */
	assert_int_equal(utf8_sanitized_len(bad, 4), UTF8_SANITIZE_MAX(4));
	assert_int_equal(utf8_sanitize(bad, 4, out, sizeof(out) - 1, &len), UTF8_ENOBUFS);
	assert_int_equal(len, 7);
	assert_int_equal(utf8_sanitize(bad, 4, out, sizeof(out), &len), 0);
	assert_int_equal(len, sizeof(out));
	/* Valid input needs exactly its own length. */
	assert_int_equal(utf8_sanitize("\xC3\xA9", 2, out, 2, &len), 0);
	assert_int_equal(len, 2);
	assert_int_equal(utf8_sanitize("\xC3\xA9", 2, out, 1, &len), UTF8_ENOBUFS);
	assert_int_equal(utf8_sanitize("", 0, NULL, 0, &len), 0);
	assert_int_equal(len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validity_table),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_encode_decode_every_scalar),
		cmocka_unit_test(test_valid_prefix_streaming),
		cmocka_unit_test(test_sanitize_maximal_subparts),
		cmocka_unit_test(test_sanitize_output_size),
	};

	return cmocka_run_group_tests_name("utf8", tests, NULL, NULL);
}
