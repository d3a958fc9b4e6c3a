/*
 * irc_casemap unit tests: the three folding tables checked over all 256
 * byte values, comparison, and reading the mapping from RPL_ISUPPORT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/irc_casemap.h"

/* The definition, written out independently of the implementation. */
static char expected_fold(enum irc_casemap cm, unsigned char c)
{
	static const char upper[] = "[]\\~", lower[] = "{}|^";
	size_t specials = cm == IRC_CASEMAP_RFC1459 ? 4 : cm == IRC_CASEMAP_STRICT_RFC1459 ? 3 : 0;

	if (cm != IRC_CASEMAP_NONE && c >= 'A' && c <= 'Z')
		return (char)(c + 32);
	for (size_t i = 0; i < specials; i++) {
		if (c == (unsigned char)upper[i])
			return lower[i];
	}
	return (char)c;
}

static void test_tables_all_bytes(void **state)
{
	static const enum irc_casemap maps[] = {IRC_CASEMAP_RFC1459, IRC_CASEMAP_STRICT_RFC1459,
						IRC_CASEMAP_ASCII, IRC_CASEMAP_NONE};

	for (size_t m = 0; m < 4; m++) {
		for (unsigned c = 0; c < 256; c++) {
			char got = irc_casemap_fold_char(maps[m], (char)c);
			if (got != expected_fold(maps[m], (unsigned char)c))
				fail_msg("map %zu byte 0x%02x folds to 0x%02x", m, c,
					 (unsigned char)got);
		}
	}
}

static void test_fold_in_place(void **state)
{
	char s[] = "Nick[A]\\~^\xC3\x89";

	irc_casemap_fold(IRC_CASEMAP_RFC1459, s, strlen(s), s);
	assert_string_equal(s, "nick{a}|^^\xC3\x89"); /* bytes >= 0x80 untouched */
}

/* fold_str: a string of cap - 1 bytes is kept whole, one more is cut. */
static void test_fold_str_limit(void **state)
{
	char out[6];
	(void)state;

	irc_casemap_fold_str(IRC_CASEMAP_RFC1459, "AB[]~", out, sizeof(out));
	assert_string_equal(out, "ab{}^");
	irc_casemap_fold_str(IRC_CASEMAP_RFC1459, "AB[]~X", out, sizeof(out));
	assert_string_equal(out, "ab{}^");
	irc_casemap_fold_str(IRC_CASEMAP_ASCII, "Q", out, 1);
	assert_string_equal(out, "");
}

static void test_compare(void **state)
{
	const char *a = "Nick[]\\~", *b = "nick{}|^", *c = "nick{}|~";

	assert_true(irc_casemap_equal(IRC_CASEMAP_RFC1459, a, 8, b, 8));
	assert_false(irc_casemap_equal(IRC_CASEMAP_STRICT_RFC1459, a, 8, b, 8));
	assert_true(irc_casemap_equal(IRC_CASEMAP_STRICT_RFC1459, a, 8, c, 8));
	assert_false(irc_casemap_equal(IRC_CASEMAP_ASCII, a, 8, c, 8));
	assert_true(irc_casemap_equal(IRC_CASEMAP_ASCII, "ABC", 3, "abc", 3));
	assert_false(irc_casemap_equal(IRC_CASEMAP_NONE, "ABC", 3, "abc", 3));
	assert_false(irc_casemap_equal(IRC_CASEMAP_ASCII, "abc", 3, "abcd", 4));
	assert_true(irc_casemap_cmp(IRC_CASEMAP_ASCII, "abc", 3, "abcd", 4) < 0);
	assert_true(irc_casemap_cmp(IRC_CASEMAP_ASCII, "B", 1, "a", 1) > 0);
	assert_true(irc_casemap_cmp(IRC_CASEMAP_ASCII, "a", 1, "\xC3", 1) < 0); /* unsigned */
	assert_int_equal(irc_casemap_cmp(IRC_CASEMAP_RFC1459, "", 0, "", 0), 0);
}

static void test_names(void **state)
{
	enum irc_casemap cm = IRC_CASEMAP_NONE;

	assert_int_equal(irc_casemap_from_name("ascii", 5, &cm), 0);
	assert_int_equal(cm, IRC_CASEMAP_ASCII);
	assert_int_equal(irc_casemap_from_name("rfc1459", 7, &cm), 0);
	assert_int_equal(cm, IRC_CASEMAP_RFC1459);
	assert_int_equal(irc_casemap_from_name("strict-rfc1459", 14, &cm), 0);
	assert_int_equal(cm, IRC_CASEMAP_STRICT_RFC1459);
	cm = IRC_CASEMAP_NONE;
	assert_int_equal(irc_casemap_from_name("rfc7613", 7, &cm), -EINVAL);
	assert_int_equal(irc_casemap_from_name("ascii2", 6, &cm), -EINVAL);
	assert_int_equal(irc_casemap_from_name("asc", 3, &cm), -EINVAL);
	assert_int_equal(irc_casemap_from_name("", 0, &cm), -EINVAL);
	assert_int_equal(cm, IRC_CASEMAP_NONE);
}

static void test_isupport(void **state)
{
	enum irc_casemap cm = IRC_CASEMAP_NONE;

	assert_int_equal(irc_casemap_from_isupport("CASEMAPPING=ascii", 17, &cm), 0);
	assert_int_equal(cm, IRC_CASEMAP_ASCII);
	assert_int_equal(irc_casemap_from_isupport("-CASEMAPPING", 12, &cm), 0);
	assert_int_equal(cm, IRC_CASEMAP_DEFAULT);
	cm = IRC_CASEMAP_NONE;
	assert_int_equal(irc_casemap_from_isupport("CASEMAPPING=rfc7613", 19, &cm), -EINVAL);
	assert_int_equal(irc_casemap_from_isupport("CASEMAPPING=", 12, &cm), -EINVAL);
	assert_int_equal(irc_casemap_from_isupport("CASEMAPPING", 11, &cm), -EINVAL);
	assert_int_equal(irc_casemap_from_isupport("CASEMAPPINGS=ascii", 18, &cm), -ENOENT);
	assert_int_equal(irc_casemap_from_isupport("CHANTYPES=#", 11, &cm), -ENOENT);
	assert_int_equal(irc_casemap_from_isupport("CASE", 4, &cm), -ENOENT);
	assert_int_equal(irc_casemap_from_isupport("", 0, &cm), -ENOENT);
	assert_int_equal(cm, IRC_CASEMAP_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_all_bytes),
		cmocka_unit_test(test_fold_in_place),
		cmocka_unit_test(test_fold_str_limit),
		cmocka_unit_test(test_compare),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_isupport),
	};

	return cmocka_run_group_tests_name("irc_casemap", tests, NULL, NULL);
}
