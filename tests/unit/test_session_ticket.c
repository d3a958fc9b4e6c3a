/*
 * common/session_ticket: the format of the contract (a vector computed
 * independently: Python's hmac and base64), the check refusing another
 * pid, user, key or a changed ticket, and the key's limit at 32 bytes and
 * one under.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "common/session_ticket.h"

#define KEY "0123456789abcdef0123456789abcdef" /* SESSION_KEY_MIN bytes */

static void test_vector(void **state)
{
	char t[SESSION_TICKET_LEN + 1];

	(void)state;
	/* base64url(HMAC-SHA256(KEY, "eirc-session v1 4242 7")), no padding */
	assert_int_equal(session_ticket_make(KEY, 4242, 7, t), 0);
	assert_string_equal(t, "EKDCoYVi9-vZaoRMD8tK2x4wrkak1qPwwEUeSNIK2ao");
	assert_int_equal(strlen(t), SESSION_TICKET_LEN);
	assert_true(session_ticket_check(KEY, 4242, 7, t, strlen(t)));
}

static void test_check_refuses(void **state)
{
	char t[SESSION_TICKET_LEN + 1], bad[SESSION_TICKET_LEN + 2];

	(void)state;
	assert_int_equal(session_ticket_make(KEY, 4242, 7, t), 0);
	assert_false(session_ticket_check(KEY, 4243, 7, t, SESSION_TICKET_LEN)); /* pid */
	assert_false(session_ticket_check(KEY, 4242, 8, t, SESSION_TICKET_LEN)); /* user */
	assert_false(session_ticket_check(KEY "x", 4242, 7, t, SESSION_TICKET_LEN));
	assert_false(session_ticket_check(KEY, 4242, 7, t, SESSION_TICKET_LEN - 1));
	memcpy(bad, t, sizeof(t));
	bad[0] = bad[0] == 'A' ? 'B' : 'A';
	assert_false(session_ticket_check(KEY, 4242, 7, bad, SESSION_TICKET_LEN));
	memcpy(bad, t, SESSION_TICKET_LEN);
	memcpy(bad + SESSION_TICKET_LEN, "A", 2);
	assert_false(session_ticket_check(KEY, 4242, 7, bad, SESSION_TICKET_LEN + 1));
	memcpy(bad, t, sizeof(t));
	bad[10] = '+'; /* base64, not base64url */
	assert_false(session_ticket_check(KEY, 4242, 7, bad, SESSION_TICKET_LEN));
}

static void test_key_limit(void **state)
{
	char t[SESSION_TICKET_LEN + 1] = "untouched";

	(void)state;
	assert_int_equal(session_ticket_make(KEY + 1, 1, 1, t), -EINVAL); /* 31 bytes */
	assert_string_equal(t, "untouched");
	assert_false(session_ticket_check(KEY + 1, 1, 1, t, strlen(t)));
	assert_int_equal(session_ticket_make(KEY, 0, 1, t), -EINVAL);
	assert_int_equal(session_ticket_make(KEY, 1, 1, t), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector),
		cmocka_unit_test(test_check_refuses),
		cmocka_unit_test(test_key_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
