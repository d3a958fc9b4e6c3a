/*
 * irc_mask unit tests: source splitting, glob matching (stars, '?',
 * backtracking, case mappings, adversarial masks) and host name limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/irc_mask.h"

static bool match(const char *mask, const char *s, enum irc_casemap cm)
{
	return irc_mask_match(mask, strlen(mask), s, strlen(s), cm);
}

static void assert_part(const char *p, size_t len, const char *want)
{
	if (!want) {
		assert_null(p);
		assert_int_equal(len, 0);
		return;
	}
	assert_non_null(p);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(p, want, len);
}

static void check_split(const char *s, const char *nick, const char *user, const char *host)
{
	irc_mask_userhost_t uh;

	assert_int_equal(irc_mask_split(s, strlen(s), &uh), 0);
	assert_part(uh.nick, uh.nick_len, nick);
	assert_part(uh.user, uh.user_len, user);
	assert_part(uh.host, uh.host_len, host);
}

static void test_split(void **state)
{
	irc_mask_userhost_t uh = {.nick_len = 77};

	check_split("alice!u1@gw.example", "alice", "u1", "gw.example");
	check_split("irc.example.net", "irc.example.net", NULL, NULL);
	check_split("alice!", "alice", "", NULL);
	check_split("alice@", "alice", NULL, "");
	check_split("alice!~u@h@x", "alice", "~u", "h@x");
	check_split("a@h!x", "a", NULL, "h!x");
	assert_int_equal(irc_mask_split("", 0, &uh), -EINVAL);
	assert_int_equal(irc_mask_split("!u@h", 4, &uh), -EINVAL);
	assert_int_equal(irc_mask_split("@h", 2, &uh), -EINVAL);
	assert_int_equal(uh.nick_len, 77);
}

static void test_match_globs(void **state)
{
	const enum irc_casemap cm = IRC_CASEMAP_RFC1459;

	assert_true(match("", "", cm));
	assert_false(match("", "a", cm));
	assert_true(match("*", "", cm));
	assert_true(match("***", "anything", cm));
	assert_false(match("?", "", cm));
	assert_true(match("?", "x", cm));
	assert_false(match("??", "x", cm));
	assert_true(match("*a*b", "xaxxb", cm));
	assert_false(match("*a*b", "xaxxbx", cm));
	assert_true(match("*a*b*", "xaxxbx", cm));
	assert_true(match("a*a*a", "aaa", cm));
	assert_false(match("a*a*a", "aa", cm));
	assert_true(match("*!*@*.example.com", "n!u@host.example.com", cm));
	assert_false(match("*!*@*.example.com", "n!u@example.com", cm));
	assert_true(match("n\\x", "n\\x", cm)); /* no escapes */
	assert_true(match("[a]", "[A]", cm));   /* no classes */
	assert_false(match("[a]", "a", cm));
}

static void test_match_casemaps(void **state)
{
	assert_true(match("NICK[A]~*", "nick{a}^!u@h", IRC_CASEMAP_RFC1459));
	assert_false(match("NICK[A]~*", "nick{a}^!u@h", IRC_CASEMAP_STRICT_RFC1459));
	assert_true(match("NICK[A]~*", "nick{a}~!u@h", IRC_CASEMAP_STRICT_RFC1459));
	assert_false(match("NICK[A]~*", "nick{a}~!u@h", IRC_CASEMAP_ASCII));
	assert_true(match("NICK[A]~*", "nick[a]~!u@h", IRC_CASEMAP_ASCII));
	assert_false(match("NICK*", "nick", IRC_CASEMAP_NONE));
	assert_true(match("nick*", "nick", IRC_CASEMAP_NONE));
}

static void test_match_adversarial(void **state)
{
	static char s[4096], mask[64];

	memset(s, 'a', sizeof(s) - 1);
	strcpy(mask, "*a*a*a*a*a*a*a*a*a*a*b");
	assert_false(match(mask, s, IRC_CASEMAP_ASCII)); /* finishes: no blow-up */
	s[sizeof(s) - 2] = 'b';
	assert_true(match(mask, s, IRC_CASEMAP_ASCII));
}

static void test_hostname(void **state)
{
	char name[300];

	assert_true(irc_mask_hostname_valid("a.b", 3));
	assert_true(irc_mask_hostname_valid("A-1.b2", 6));
	assert_false(irc_mask_hostname_valid(".", 1));
	assert_false(irc_mask_hostname_valid(".a.b", 4));
	assert_false(irc_mask_hostname_valid("a..b", 4));
	assert_false(irc_mask_hostname_valid("a.b..", 5));
	assert_false(irc_mask_hostname_valid("a.b-", 4));
	assert_false(irc_mask_hostname_valid("a.b\0c", 5));
	assert_false(irc_mask_hostname_valid("b\xC3\xBC"
					     "cher.ch",
					     9));
	/* A label of IRC_MASK_LABEL_MAX bytes, then one more. */
	memset(name, 'l', IRC_MASK_LABEL_MAX);
	strcpy(name + IRC_MASK_LABEL_MAX, ".com");
	assert_true(irc_mask_hostname_valid(name, strlen(name)));
	memset(name, 'l', IRC_MASK_LABEL_MAX + 1);
	strcpy(name + IRC_MASK_LABEL_MAX + 1, ".com");
	assert_false(irc_mask_hostname_valid(name, strlen(name)));
	/* A name of IRC_MASK_HOSTNAME_MAX bytes (labels of 49 + '.'), one more. */
	for (size_t i = 0; i < IRC_MASK_HOSTNAME_MAX; i++)
		name[i] = i % 50 == 49 ? '.' : 'h';
	name[IRC_MASK_HOSTNAME_MAX] = '\0';
	assert_true(irc_mask_hostname_valid(name, IRC_MASK_HOSTNAME_MAX));
	name[IRC_MASK_HOSTNAME_MAX] = '.'; /* trailing dot is not counted */
	assert_true(irc_mask_hostname_valid(name, IRC_MASK_HOSTNAME_MAX + 1));
	name[IRC_MASK_HOSTNAME_MAX] = 'h';
	assert_false(irc_mask_hostname_valid(name, IRC_MASK_HOSTNAME_MAX + 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),          cmocka_unit_test(test_match_globs),
		cmocka_unit_test(test_match_casemaps), cmocka_unit_test(test_match_adversarial),
		cmocka_unit_test(test_hostname),
	};

	return cmocka_run_group_tests_name("irc_mask", tests, NULL, NULL);
}
