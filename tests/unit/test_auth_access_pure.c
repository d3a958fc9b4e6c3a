/*
 * The pure parts of issue 22 in eirc-auth: the private-room rule
 * (auth_room: names against irc_client.private_room_masks, the refusal
 * texts) and the access bus's user id lists (auth_bus; the message format
 * is common/access_msg's, tested in test_access_msg).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth_bus.h"
#include "auth/auth_room.h"

static char m_private[] = "#private-*", m_team[] = "#team-?";
static char *masks[] = {m_private, m_team};

static void test_room_private_by_name(void **state)
{
	(void)state;
	assert_true(auth_room_name_private(masks, 2, "#private-ops"));
	assert_true(auth_room_name_private(masks, 2, "#PRIVATE-ops")); /* rfc1459 folding */
	assert_true(auth_room_name_private(masks, 2, "#team-a"));
	assert_false(auth_room_name_private(masks, 2, "#team-ab"));
	assert_false(auth_room_name_private(masks, 2, "#board"));
	assert_false(auth_room_name_private(masks, 0, "#private-ops"));
}

static void test_room_check(void **state)
{
	char why[AUTH_ROOM_WHY_MAX];

	(void)state;
	assert_int_equal(auth_room_check(masks, 2, "#private-ops", true, why, sizeof(why)), 0);
	assert_int_equal(auth_room_check(masks, 2, "#board", false, why, sizeof(why)), 0);
	/* a private room outside the masks: refused, naming them */
	assert_int_equal(auth_room_check(masks, 2, "#board", true, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "#board cannot be private"));
	assert_non_null(strstr(why, "(#private-*, #team-?)"));
	/* a public room inside them */
	assert_int_equal(auth_room_check(masks, 2, "#private-x", false, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "#private-x cannot be public"));
	/* no masks: no private room at all */
	assert_int_equal(auth_room_check(masks, 0, "#private-x", true, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "no irc_client.private_room_masks are configured"));
	assert_int_equal(auth_room_check(masks, 0, "#private-x", false, why, sizeof(why)), 0);
}

/* Many long masks: the list is cut with "...", the text stays bounded. */
static void test_room_check_long(void **state)
{
	char m[40][80], *mv[40], why[AUTH_ROOM_WHY_MAX];

	(void)state;
	for (int i = 0; i < 40; i++) {
		snprintf(m[i], sizeof(m[i]), "#a-very-long-private-room-mask-number-%02d-*", i);
		mv[i] = m[i];
	}
	assert_int_equal(auth_room_check(mv, 40, "#board", true, why, sizeof(why)), -EINVAL);
	assert_true(strlen(why) < sizeof(why));
	assert_non_null(strstr(why, "..."));
	assert_null(strstr(why, "number-39"));
}

typedef struct ids {
	uint64_t v[8];
	int n;
} ids_t;

static void collect(void *arg, uint64_t id)
{
	ids_t *ids = arg;

	ids->v[ids->n++] = id;
}

static void test_bus_ids(void **state)
{
	ids_t ids = {0};

	(void)state;
	assert_int_equal(auth_bus_each_id("{}", collect, &ids), 0);
	assert_int_equal(auth_bus_each_id("{7}", collect, &ids), 1);
	assert_int_equal(auth_bus_each_id("{1,NULL,18446744073709551615}", collect, &ids), 2);
	assert_int_equal(ids.n, 3);
	assert_true(ids.v[0] == 7 && ids.v[1] == 1 && ids.v[2] == UINT64_MAX);
	/* malformed: nothing is called */
	ids.n = 0;
	assert_int_equal(auth_bus_each_id("{1,2", collect, &ids), -EINVAL);
	assert_int_equal(auth_bus_each_id("{1,,2}", collect, &ids), -EINVAL);
	assert_int_equal(auth_bus_each_id("{1,2}x", collect, &ids), -EINVAL);
	assert_int_equal(auth_bus_each_id("{-1}", collect, &ids), -EINVAL);
	assert_int_equal(auth_bus_each_id("{18446744073709551616}", collect, &ids), -EINVAL);
	assert_int_equal(auth_bus_each_id("1,2", collect, &ids), -EINVAL);
	assert_int_equal(auth_bus_each_id("", collect, &ids), -EINVAL);
	assert_int_equal(auth_bus_each_id(NULL, collect, &ids), -EINVAL);
	assert_int_equal(ids.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_room_private_by_name),
		cmocka_unit_test(test_room_check),
		cmocka_unit_test(test_room_check_long),

		cmocka_unit_test(test_bus_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
