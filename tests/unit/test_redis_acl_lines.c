/*
 * test_redis_acl_lines: common/redis_acl, the text: each limit at and one
 * past (name, password, network, partitions, buffer), the partition widths
 * of the key patterns, no user with a dangerous category or every key.
 * test_config_files checks dist/redis-users.acl against these lines and
 * test_redis_acl runs them in a real Redis.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/redis_acl.h"

static char buf[REDIS_ACL_LINE_MAX];

static int line(enum redis_acl_role role, const char *name, const char *pw, const char *net,
		int parts)
{
	return redis_acl_line(role, name, pw, net, parts, buf, sizeof(buf));
}

static void test_limits(void **state)
{
	char name[REDIS_ACL_NAME_MAX + 2], pw[REDIS_ACL_PASSWORD_MAX + 2];

	(void)state;
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memset(pw, 'p', sizeof(pw) - 1);
	pw[sizeof(pw) - 1] = '\0';
	assert_int_equal(line(REDIS_ACL_LOGGER, name, "pw", "net", 1), -EINVAL);
	assert_int_equal(line(REDIS_ACL_LOGGER, name + 1, "pw", "net", 1) > 0, 1);
	assert_int_equal(line(REDIS_ACL_LOGGER, "lg", pw, "net", 1), -EINVAL);
	assert_int_equal(line(REDIS_ACL_LOGGER, "lg", pw + 1, "net", 1) > 0, 1);
	assert_int_equal(line(REDIS_ACL_HISTORY, "h", "pw", name, 16384) > 0, 0);
	assert_int_equal(line(REDIS_ACL_HISTORY, "h", "pw", name + 1, 16384) > 0, 1);
	assert_int_equal(line(REDIS_ACL_HISTORY, "h", "pw", "net", 0), -EINVAL);
	assert_int_equal(line(REDIS_ACL_HISTORY, "h", "pw", "net", 16385), -EINVAL);
	assert_int_equal(line(REDIS_ACL_ROLES, "h", "pw", "net", 1), -EINVAL);
	/* words a line could not hold */
	assert_int_equal(line(REDIS_ACL_AUTH, "a b", "pw", "net", 1), -EINVAL);
	assert_int_equal(line(REDIS_ACL_AUTH, "", "pw", "net", 1), -EINVAL);
	assert_int_equal(line(REDIS_ACL_AUTH, "a", "p w", "net", 1), -EINVAL);
	assert_int_equal(line(REDIS_ACL_AUTH, "a", "p\"w", "net", 1), -EINVAL);
	assert_int_equal(line(REDIS_ACL_AUTH, "a", "", "net", 1), -EINVAL);
	assert_int_equal(line(REDIS_ACL_AUTH, "a", NULL, "net", 1), -EINVAL);
	assert_int_equal(line(REDIS_ACL_HISTORY, "h", "pw", "n*t", 1), -EINVAL);
	assert_int_equal(line(REDIS_ACL_HISTORY, "h", "pw", "n:t", 1), -EINVAL);
}

/* The longest line fits REDIS_ACL_LINE_MAX; one byte short is -ENOBUFS. */
static void test_buffer(void **state)
{
	char name[REDIS_ACL_NAME_MAX + 1], pw[REDIS_ACL_PASSWORD_MAX + 1],
		small[REDIS_ACL_LINE_MAX];
	int n;

	(void)state;
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memset(pw, 'p', sizeof(pw) - 1);
	pw[sizeof(pw) - 1] = '\0';
	n = line(REDIS_ACL_HISTORY, name, pw, name, 16384);
	assert_true(n > 0 && n < REDIS_ACL_LINE_MAX);
	assert_int_equal(
		redis_acl_line(REDIS_ACL_HISTORY, name, pw, name, 16384, small, (size_t)n + 1), n);
	assert_int_equal(redis_acl_line(REDIS_ACL_HISTORY, name, pw, name, 16384, small, (size_t)n),
			 -ENOBUFS);
}

/* Partition numbers 0..P-1: patterns for each of their digit counts. */
static void test_partition_widths(void **state)
{
	(void)state;
	assert_true(line(REDIS_ACL_HISTORY, "h", "pw", "net", 10) > 0);
	assert_non_null(strstr(buf, " ~eirc:{p?}:archive "));
	assert_null(strstr(buf, "{p??}"));
	assert_true(line(REDIS_ACL_HISTORY, "h", "pw", "net", 11) > 0);
	assert_non_null(strstr(buf, " ~eirc:{p??}:history:net:dm:* "));
	assert_null(strstr(buf, "{p???}"));
	assert_true(line(REDIS_ACL_HISTORY, "h", "pw", "net", 16384) > 0);
	assert_non_null(strstr(buf, " ~eirc:{p?????}:dms:net:* "));
	assert_null(strstr(buf, "{p??????}"));
	/* no user has a dangerous command or every key */
	for (int r = 0; r < REDIS_ACL_ROLES; r++) {
		assert_true(line((enum redis_acl_role)r, "u", "pw", "net", 16) > 0);
		assert_non_null(strstr(buf, " -@all "));
		assert_null(strstr(buf, "~*"));
		assert_null(strstr(buf, "+@"));
		assert_null(strstr(buf, "allkeys"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_buffer),
		cmocka_unit_test(test_partition_widths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
