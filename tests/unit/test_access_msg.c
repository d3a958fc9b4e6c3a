/*
 * test_access_msg: the access bus's message parser (common/access_msg):
 * every kind, the number limits (1-20 digits, 64 bits, user 0), and
 * malformed messages: spacing, signs, trailing bytes, unknown kinds, the
 * length limit at and one past ACCESS_MSG_MAX; the formatter eirc-auth
 * publishes with, read back by the parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/access_msg.h"

static int parse(const char *s, access_msg_t *m)
{
	return access_msg_parse(s, strlen(s), m);
}

static void test_kinds(void **state)
{
	static const char *const names[] = {"rooms",   "disabled", "deleted",
					    "signout", "revoked",  "role"};
	access_msg_t m;
	char s[64];
	(void)state;

	for (unsigned k = 0; k < ACCESS_KINDS; k++) {
		snprintf(s, sizeof(s), "%s %u 7", names[k], k + 1);
		assert_int_equal(parse(s, &m), 0);
		assert_int_equal(m.kind, k);
		assert_int_equal(m.user, k + 1);
		assert_int_equal(m.family, 7);
		assert_string_equal(access_msg_kind_name(m.kind), names[k]);
	}
	assert_string_equal(access_msg_kind_name(ACCESS_KINDS), "unknown");
}

static void test_numbers(void **state)
{
	access_msg_t m;
	(void)state;

	assert_int_equal(parse("signout 18446744073709551615 18446744073709551615", &m), 0);
	assert_true(m.user == UINT64_MAX && m.family == UINT64_MAX);
	assert_int_equal(parse("rooms 1 0", &m), 0);
	assert_true(m.user == 1 && m.family == 0);
	assert_int_equal(parse("rooms 007 00", &m), 0);
	assert_true(m.user == 7 && m.family == 0);
	/* one past 64 bits, user 0 */
	assert_int_equal(parse("rooms 18446744073709551616 0", &m), -EINVAL);
	assert_int_equal(parse("rooms 1 18446744073709551616", &m), -EINVAL);
	assert_int_equal(parse("rooms 0 0", &m), -EINVAL);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {"",
					  "rooms",
					  "rooms ",
					  "rooms 1",
					  "rooms 1 ",
					  "rooms  1 0",
					  "rooms 1  0",
					  " rooms 1 0",
					  "rooms 1 0 ",
					  "rooms 1 0\n",
					  "rooms +1 0",
					  "rooms -1 0",
					  "rooms 1 -0",
					  "rooms 1x 0",
					  "rooms 1 0x",
					  "Rooms 1 0",
					  "room 1 0",
					  "roomss 1 0",
					  "kick 1 0",
					  "rooms\t1 0",
					  "rooms 1 0 9",
					  "rooms 1\0 0",
					  "disabled 1 2 3"};
	access_msg_t m = {.kind = ACCESS_ROLE, .user = 42, .family = 43};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], &m), -EINVAL);
	/* an embedded NUL is not the end */
	assert_int_equal(access_msg_parse("rooms 1\0 0", 10, &m), -EINVAL);
	/* untouched on failure */
	assert_int_equal(m.kind, ACCESS_ROLE);
	assert_true(m.user == 42 && m.family == 43);
}

static void test_length(void **state)
{
	char s[ACCESS_MSG_MAX + 2];
	access_msg_t m;
	(void)state;

	/* the longest well-formed message is exactly ACCESS_MSG_MAX */
	snprintf(s, sizeof(s), "disabled %s %s", "18446744073709551615", "18446744073709551615");
	assert_int_equal(strlen(s), ACCESS_MSG_MAX);
	assert_int_equal(parse(s, &m), 0);
	/* one more byte (a leading zero) is refused */
	snprintf(s, sizeof(s), "disabled 0%s %s", "18446744073709551615", "18446744073709551615");
	assert_int_equal(strlen(s), ACCESS_MSG_MAX + 1);
	assert_int_equal(parse(s, &m), -EINVAL);
}

/* What eirc-auth publishes, the subscribers read back. */
static void test_format(void **state)
{
	char out[ACCESS_MSG_MAX + 1];
	access_msg_t m, back;

	(void)state;
	for (unsigned k = 0; k < ACCESS_KINDS; k++) {
		m = (access_msg_t){(enum access_kind)k, 42, k};
		assert_true(access_msg_format(&m, out, sizeof(out)) > 0);
		assert_int_equal(access_msg_parse(out, strlen(out), &back), 0);
		assert_true(back.kind == m.kind && back.user == 42 && back.family == k);
	}
	m = (access_msg_t){ACCESS_ROOMS, 42, 0};
	assert_int_equal(access_msg_format(&m, out, sizeof(out)), 10);
	assert_string_equal(out, "rooms 42 0");
	/* the longest message fits ACCESS_MSG_MAX */
	m = (access_msg_t){ACCESS_DISABLED, UINT64_MAX, UINT64_MAX};
	assert_int_equal(access_msg_format(&m, out, sizeof(out)), ACCESS_MSG_MAX);
	assert_string_equal(out, "disabled 18446744073709551615 18446744073709551615");
	assert_int_equal(access_msg_format(&m, out, ACCESS_MSG_MAX), -E2BIG);
	m = (access_msg_t){ACCESS_ROOMS, 1, 2};
	assert_int_equal(access_msg_format(&m, out, 10), 9); /* and its NUL */
	assert_int_equal(access_msg_format(&m, out, 9), -E2BIG);
	/* what the parser would refuse is not written */
	m = (access_msg_t){ACCESS_ROOMS, 0, 2};
	assert_int_equal(access_msg_format(&m, out, sizeof(out)), -EINVAL);
	m = (access_msg_t){ACCESS_KINDS, 1, 2};
	assert_int_equal(access_msg_format(&m, out, sizeof(out)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),     cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_malformed), cmocka_unit_test(test_length),
		cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
