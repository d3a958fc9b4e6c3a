/*
 * common/redis_evict: the maxmemory_policy of INFO memory answers, as
 * Redis 7 writes them (CRLF lines, "# Memory" header), every policy Redis
 * has, split and malformed text, and the policy name's limit at and one
 * past REDIS_EVICT_POLICY_MAX.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/redis_evict.h"

static int check(const char *info, eirc_err_t *e)
{
	return redis_evict_check(info, strlen(info), e);
}

static void test_noeviction_accepted(void **state)
{
	const char *info = "# Memory\r\nused_memory:1000\r\nmaxmemory:0\r\n"
			   "maxmemory_human:0B\r\nmaxmemory_policy:noeviction\r\n"
			   "allocator_frag_ratio:1.00\r\n";
	eirc_err_t e = {""};

	(void)state;
	assert_int_equal(check(info, &e), 0);
	assert_string_equal(e.text, "");
	/* last line without its CRLF, bare LF lines */
	assert_int_equal(check("maxmemory:0\nmaxmemory_policy:noeviction", &e), 0);
}

static void test_every_evicting_policy_refused(void **state)
{
	static const char *const policies[] = {"allkeys-lru",  "allkeys-lfu",    "allkeys-random",
					       "volatile-lru", "volatile-lfu",   "volatile-random",
					       "volatile-ttl", "noevictionplus", "noevictio"};
	char info[128], want[128];
	eirc_err_t e;

	(void)state;
	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
		snprintf(info, sizeof(info), "# Memory\r\nmaxmemory_policy:%s\r\n", policies[i]);
		assert_int_equal(check(info, &e), -EPERM);
		snprintf(want, sizeof(want), "maxmemory-policy %s can evict keys", policies[i]);
		assert_string_equal(e.text, want);
	}
}

static void test_malformed(void **state)
{
	char info[128], name[REDIS_EVICT_POLICY_MAX + 2];
	eirc_err_t e;

	(void)state;
	assert_int_equal(check("", &e), -EINVAL);
	assert_string_equal(e.text, "INFO memory has no maxmemory_policy");
	assert_int_equal(check("# Memory\r\nmaxmemory:0\r\n", &e), -EINVAL);
	/* the field must start a line */
	assert_int_equal(check("x_maxmemory_policy:noeviction\r\n", &e), -EINVAL);
	assert_int_equal(check("maxmemory_policy:\r\n", &e), -EINVAL);
	assert_string_equal(e.text, "INFO memory has an unreadable maxmemory_policy");
	/* a name of REDIS_EVICT_POLICY_MAX bytes is read, one more is not */
	memset(name, 'a', REDIS_EVICT_POLICY_MAX);
	name[REDIS_EVICT_POLICY_MAX] = '\0';
	snprintf(info, sizeof(info), "maxmemory_policy:%s\r\n", name);
	assert_int_equal(check(info, &e), -EPERM);
	name[REDIS_EVICT_POLICY_MAX] = 'a';
	name[REDIS_EVICT_POLICY_MAX + 1] = '\0';
	snprintf(info, sizeof(info), "maxmemory_policy:%s\r\n", name);
	assert_int_equal(check(info, &e), -EINVAL);
	/* the length is what counts, not a NUL: a cut answer is not read past */
	assert_int_equal(redis_evict_check("maxmemory_policy:noeviction", 22, &e), -EPERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_noeviction_accepted),
		cmocka_unit_test(test_every_evicting_policy_refused),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
