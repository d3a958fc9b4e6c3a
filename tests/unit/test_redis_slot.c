/*
 * Redis Cluster routing, the pure half (common/redis_slot): CRC16 and
 * hash slots against the Redis Cluster specification's vectors and hash
 * tag rules, the key each command we send is routed by (from the bytes
 * hiredis formats), split and malformed commands, MOVED/ASK parsing; and
 * common/redis's one mapping of config.redis to options.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "archive/archive_keys.h"
#include "common/redis.h"
#include "common/redis_slot.h"
#include "config/config.h"

static int slot(const char *k)
{
	return redis_slot_of(k, strlen(k));
}

static void test_crc16_and_slots(void **state)
{
	(void)state;
	/* the specification's check value: CRC16-XMODEM("123456789") = 0x31C3 */
	assert_int_equal(redis_slot_crc16("123456789", 9), 0x31C3);
	assert_int_equal(slot("123456789"), 12739);
	assert_int_equal(redis_slot_crc16("", 0), 0);
	assert_int_equal(slot("foo"), 12182);
	assert_int_equal(slot("bar"), 5061);
	/* hash tags: the first {...} that is not empty */
	assert_int_equal(slot("{user1000}.following"), slot("user1000"));
	assert_int_equal(slot("{user1000}.followers"), slot("user1000"));
	assert_int_equal(slot("foo{}{bar}"), redis_slot_crc16("foo{}{bar}", 10) % 16384);
	assert_int_equal(slot("foo{{bar}}zap"), slot("{bar"));
	assert_int_equal(slot("foo{bar}{zap}"), slot("bar"));
	assert_int_equal(slot("{unclosed"), redis_slot_crc16("{unclosed", 9) % 16384);
	/* our keys: every key of a partition is in the slot of "p<k>" */
	char a[ARCHIVE_KEYS_KEY_MAX], m[ARCHIVE_KEYS_KEY_MAX];
	assert_true(archive_keys_archive(7, a, sizeof(a)) > 0);
	assert_true(archive_keys_msgid(7, "abc", 3, m, sizeof(m)) > 0);
	assert_int_equal(slot(a), slot("p7"));
	assert_int_equal(slot(m), slot("p7"));
}

/* The key a formatted command is routed by. */
static void route(const char *cmd, int want, const char *want_key)
{
	const char *key = NULL;
	size_t len = 0;
	int r = redis_slot_route(cmd, strlen(cmd), &key, &len);

	assert_int_equal(r, want);
	if (want_key) {
		assert_int_equal(len, strlen(want_key));
		assert_memory_equal(key, want_key, len);
	}
}

static void test_routes(void **state)
{
	(void)state;
	route("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", REDIS_SLOT_KEY, "k");
	route("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$1\r\nv\r\n", REDIS_SLOT_KEY, "key");
	route("*5\r\n$7\r\nEVALSHA\r\n$2\r\nsh\r\n$1\r\n2\r\n$2\r\nk1\r\n$2\r\nk2\r\n",
	      REDIS_SLOT_KEY, "k1");
	route("*5\r\n$10\r\nEVALSHA_RO\r\n$2\r\nsh\r\n$1\r\n2\r\n$2\r\nk1\r\n$2\r\nk2\r\n",
	      REDIS_SLOT_KEY, "k1");
	route("*4\r\n$7\r\nEVAL_RO\r\n$1\r\ns\r\n$1\r\n1\r\n$2\r\nk1\r\n", REDIS_SLOT_KEY, "k1");
	route("*3\r\n$4\r\neval\r\n$1\r\ns\r\n$1\r\n0\r\n", REDIS_SLOT_ANY, NULL);
	route("*8\r\n$10\r\nXREADGROUP\r\n$5\r\nGROUP\r\n$1\r\ng\r\n$1\r\nc\r\n$7\r\nSTREAMS\r\n"
	      "$2\r\ns1\r\n$1\r\n>\r\n$0\r\n\r\n",
	      REDIS_SLOT_KEY, "s1");
	route("*5\r\n$6\r\nXGROUP\r\n$6\r\nCREATE\r\n$2\r\nst\r\n$1\r\ng\r\n$1\r\n0\r\n",
	      REDIS_SLOT_KEY, "st");
	route("*3\r\n$6\r\nSCRIPT\r\n$4\r\nLOAD\r\n$6\r\nreturn\r\n", REDIS_SLOT_ALL, NULL);
	route("*2\r\n$6\r\nSCRIPT\r\n$6\r\nEXISTS\r\n", REDIS_SLOT_ANY, NULL);
	route("*1\r\n$4\r\nPING\r\n", REDIS_SLOT_ANY, NULL);
	route("*2\r\n$7\r\nCLUSTER\r\n$5\r\nSLOTS\r\n", REDIS_SLOT_ANY, NULL);
	/* a key that holds CRLF and a '$' is read by length, not by scanning */
	route("*2\r\n$3\r\nGET\r\n$5\r\na\r\n$b\r\n", REDIS_SLOT_KEY, "a\r\n$b");
}

static void test_malformed(void **state)
{
	static const char *bad[] = {
		"",
		"*0\r\n",
		"+OK\r\n",
		"*1\r\n$3\r\nGET\r\n",                       /* no key */
		"*2\r\n$3\r\nGET\r\n$1\r\nk\r",              /* cut */
		"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n$1\r\nx\r\n", /* trailing bytes */
		"*2\r\n$3\r\nGET\r\n$9\r\nk\r\n",            /* length past the end */
		"*2\r\n$3\r\nGET\r\n$-1\r\n",
		"*3\r\n$10\r\nXREADGROUP\r\n$5\r\nGROUP\r\n$7\r\nSTREAMS\r\n", /* nothing after */
		"*99999999999\r\n",
	};
	const char *key;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(redis_slot_route(bad[i], strlen(bad[i]), &key, &len), -EINVAL);
}

/* The key position is found among the first 64 arguments: the limit and
 * one past it. */
static void test_streams_at_limit(void **state)
{
	char cmd[4096];
	const char *key;
	size_t len, off;

	(void)state;
	for (int filler = 60; filler <= 61; filler++) {
		/* XREAD, filler COUNT-like words, STREAMS, s */
		off = (size_t)snprintf(cmd, sizeof(cmd), "*%d\r\n$5\r\nXREAD\r\n", filler + 3);
		for (int i = 0; i < filler; i++)
			off += (size_t)snprintf(cmd + off, sizeof(cmd) - off, "$1\r\nx\r\n");
		off += (size_t)snprintf(cmd + off, sizeof(cmd) - off,
					"$7\r\nSTREAMS\r\n$1\r\ns\r\n");
		/* STREAMS at index filler+1, its key at filler+2: 62 fits, 63 is the
		 * last index scanned, so filler 61 still fits; 62 would not */
		assert_int_equal(redis_slot_route(cmd, off, &key, &len), REDIS_SLOT_KEY);
	}
	off = (size_t)snprintf(cmd, sizeof(cmd), "*%d\r\n$5\r\nXREAD\r\n", 62 + 3);
	for (int i = 0; i < 62; i++)
		off += (size_t)snprintf(cmd + off, sizeof(cmd) - off, "$1\r\nx\r\n");
	off += (size_t)snprintf(cmd + off, sizeof(cmd) - off, "$7\r\nSTREAMS\r\n$1\r\ns\r\n");
	assert_int_equal(redis_slot_route(cmd, off, &key, &len), -EINVAL);
}

static void test_redirects(void **state)
{
	char addr[REDIS_SLOT_ADDR_MAX];
	bool ask;
	int s;

	(void)state;
	assert_int_equal(
		redis_slot_redirect("MOVED 3999 127.0.0.1:6381", &ask, &s, addr, sizeof(addr)), 0);
	assert_false(ask);
	assert_int_equal(s, 3999);
	assert_string_equal(addr, "127.0.0.1:6381");
	assert_int_equal(redis_slot_redirect("ASK 16383 ::1:7000", &ask, &s, addr, sizeof(addr)),
			 0);
	assert_true(ask);
	assert_int_equal(s, 16383);
	assert_string_equal(addr, "::1:7000");
	assert_int_equal(redis_slot_redirect("MOVED 16384 h:1", &ask, &s, addr, sizeof(addr)),
			 -EINVAL);
	assert_int_equal(redis_slot_redirect("MOVED 7 :7001", &ask, &s, addr, sizeof(addr)), 0);
	assert_string_equal(addr, ":7001");
	assert_int_equal(s, 7);
	assert_int_equal(redis_slot_redirect("MOVED 1 h:", &ask, &s, addr, sizeof(addr)), -EINVAL);
	assert_int_equal(redis_slot_redirect("MOVED 1 h", &ask, &s, addr, sizeof(addr)), -EINVAL);
	assert_int_equal(redis_slot_redirect("MOVED x h:1", &ask, &s, addr, sizeof(addr)), -EINVAL);
	assert_int_equal(redis_slot_redirect("ERR nope", &ask, &s, addr, sizeof(addr)), -EINVAL);
	assert_int_equal(redis_slot_redirect("MOVED 1 h:1", &ask, &s, addr, 3), -EINVAL);
	assert_int_equal(redis_slot_redirect("MOVED 1 h:1", &ask, &s, addr, 4), 0);
}

/* The one mapping of config.redis: every field as configured, the shared
 * reconnection delays; a daemon's own user and password, each falling back
 * to redis.username / redis.password on its own. */
static void test_opts_from_config(void **state)
{
	char host[] = "redis.example", user[] = "eirc", password[] = "pw";
	eirc_config_redis_t cfg = {.host = host,
				   .port = 7000,
				   .cluster = true,
				   .username = user,
				   .password = password,
				   .partitions = 16,
				   .connect_timeout = 1500,
				   .command_timeout = 2500};
	redis_opts_t o;

	(void)state;
	redis_opts_from_config(&cfg, NULL, NULL, &o);
	assert_ptr_equal(o.host, cfg.host);
	assert_int_equal(o.port, 7000);
	assert_ptr_equal(o.username, cfg.username);
	assert_ptr_equal(o.password, cfg.password);
	redis_opts_from_config(&cfg, "eirc-logger", NULL, &o);
	assert_string_equal(o.username, "eirc-logger");
	assert_ptr_equal(o.password, cfg.password);
	redis_opts_from_config(&cfg, NULL, "own", &o);
	assert_ptr_equal(o.username, cfg.username);
	assert_string_equal(o.password, "own");
	cfg.username = cfg.password = NULL;
	redis_opts_from_config(&cfg, NULL, NULL, &o);
	assert_null(o.username);
	assert_null(o.password);
	assert_true(o.cluster);
	assert_int_equal(o.connect_timeout_ms, 1500);
	assert_int_equal(o.command_timeout_ms, 2500);
	assert_int_equal(o.reconnect_min_ms, REDIS_RECONNECT_MIN_MS);
	assert_int_equal(o.reconnect_max_ms, REDIS_RECONNECT_MAX_MS);
	assert_true(REDIS_RECONNECT_MIN_MS <= REDIS_RECONNECT_MAX_MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc16_and_slots), cmocka_unit_test(test_routes),
		cmocka_unit_test(test_malformed),       cmocka_unit_test(test_streams_at_limit),
		cmocka_unit_test(test_redirects),       cmocka_unit_test(test_opts_from_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
