/*
 * eirc-logger's pure modules: key names and partitions, the event record,
 * the append call builder, the direct-message keys and index update, the string map and the metrics
 * text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive_append.h"
#include "archive/archive_dm.h"
#include "archive/archive_event.h"
#include "archive/archive_keys.h"
#include "archive/tlog.h"
#include "logger-bot/lg_map.h"
#include "logger-bot/lg_metrics.h"

static void test_crc32_vectors(void **state)
{
	(void)state;
	assert_int_equal(archive_keys_crc32(0, "", 0), 0);
	assert_int_equal(archive_keys_crc32(0, "123456789", 9), 0xCBF43926u);
	/* continuing gives the same as one pass */
	assert_int_equal(archive_keys_crc32(archive_keys_crc32(0, "1234", 4), "56789", 5),
			 0xCBF43926u);
}

/* The sliced CRC against the plain bitwise definition, at every length and
 * split around the 8-byte steps. */
static uint32_t crc_bitwise(const unsigned char *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int j = 0; j < 8; j++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
	}
	return ~c;
}

static void test_crc32_sliced(void **state)
{
	unsigned char buf[300];

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 131u + 7u);
	for (size_t n = 0; n <= sizeof(buf); n += (n < 40 ? 1 : 37)) {
		uint32_t want = crc_bitwise(buf, n);
		assert_int_equal(archive_keys_crc32(0, buf, n), want);
		for (size_t cut = 0; cut <= n && cut < 20; cut++)
			assert_int_equal(archive_keys_crc32(archive_keys_crc32(0, buf, cut),
							    buf + cut, n - cut),
					 want);
	}
}

static void test_partition_folds_and_bounds(void **state)
{
	char big[ARCHIVE_KEYS_TARGET_MAX + 2];
	int a, b;

	(void)state;
	a = archive_keys_partition("eIRC", "#Chan[1]", 8, IRC_CASEMAP_RFC1459, 16);
	b = archive_keys_partition("eirc", "#chan{1}", 8, IRC_CASEMAP_RFC1459, 16);
	assert_true(a >= 0 && a < 16);
	assert_int_equal(a, b);
	/* ascii mapping keeps [ and { apart: crc of different strings */
	assert_int_equal(archive_keys_partition("eirc", "#chan{1}", 8, IRC_CASEMAP_NONE, 16),
			 (int)(archive_keys_crc32(0, "eirc:#chan{1}", 13) % 16));
	assert_int_equal(archive_keys_partition("n", "#x", 2, IRC_CASEMAP_NONE, 1), 0);
	assert_int_equal(archive_keys_partition("n", "#x", 2, IRC_CASEMAP_NONE, 0), -EINVAL);
	assert_true(archive_keys_partition("n", "#x", 2, IRC_CASEMAP_NONE,
					   ARCHIVE_KEYS_PARTITIONS_MAX) >= 0);
	assert_int_equal(archive_keys_partition("n", "#x", 2, IRC_CASEMAP_NONE,
						ARCHIVE_KEYS_PARTITIONS_MAX + 1),
			 -EINVAL);
	memset(big, 'a', sizeof(big));
	big[0] = '#';
	assert_true(archive_keys_partition("n", big, ARCHIVE_KEYS_TARGET_MAX, IRC_CASEMAP_NONE,
					   16) >= 0);
	assert_int_equal(
		archive_keys_partition("n", big, ARCHIVE_KEYS_TARGET_MAX + 1, IRC_CASEMAP_NONE, 16),
		-EINVAL);
	assert_int_equal(archive_keys_partition("a:b", "#x", 2, IRC_CASEMAP_NONE, 16), -EINVAL);
	assert_int_equal(archive_keys_partition("", "#x", 2, IRC_CASEMAP_NONE, 16), -EINVAL);
}

static void test_key_names(void **state)
{
	char buf[ARCHIVE_KEYS_KEY_MAX];

	(void)state;
	assert_int_equal(
		archive_keys_history(3, "eIRC", "#Ops", 4, IRC_CASEMAP_ASCII, buf, sizeof(buf)),
		(int)strlen("eirc:{p3}:history:eIRC:#ops"));
	assert_string_equal(buf, "eirc:{p3}:history:eIRC:#ops");
	assert_true(archive_keys_msgid(15, "abc", 3, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "eirc:{p15}:msgid:abc");
	assert_true(archive_keys_archive(0, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "eirc:{p0}:archive");
	assert_true(archive_keys_dead(7, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "eirc:{p7}:archive:dead");
	assert_int_equal(archive_keys_archive(0, buf, 10), -ENOBUFS);
	assert_int_equal(archive_keys_history(0, "n", "#x", 2, IRC_CASEMAP_NONE, buf, 10),
			 -ENOBUFS);
	assert_int_equal(archive_keys_msgid(0, "", 0, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(archive_keys_dm_target(42, 7, buf, sizeof(buf)), 7);
	assert_string_equal(buf, "dm:7:42");
	assert_int_equal(archive_keys_dm_target(7, 7, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(archive_keys_dm_target(0, 7, buf, sizeof(buf)), -EINVAL);
}

/* The conversation of a direct-message pair gives its two ids back, and
 * the index update names each side's set with the other's id. */
static void test_dm_keys_and_index(void **state)
{
	char buf[ARCHIVE_KEYS_KEY_MAX], nick[ARCHIVE_DM_NICK_MAX + 1];
	archive_dm_index_t x;
	uint64_t lo = 0, hi = 0;

	(void)state;
	assert_int_equal(archive_dm_conv_ids("dm:7:42", 7, &lo, &hi), 0);
	assert_true(lo == 7 && hi == 42);
	assert_int_equal(archive_dm_conv_ids("dm:1:18446744073709551615", 25, &lo, &hi), 0);
	assert_true(hi == UINT64_MAX);
	/* one past the largest id, and everything that is not a pair */
	assert_int_equal(archive_dm_conv_ids("dm:1:18446744073709551616", 25, &lo, &hi), -EINVAL);
	assert_int_equal(archive_dm_conv_ids("#dm:1:2", 7, &lo, &hi), -EINVAL);
	assert_int_equal(archive_dm_conv_ids("dm:0:2", 6, &lo, &hi), -EINVAL);
	assert_int_equal(archive_dm_conv_ids("dm:2:2", 6, &lo, &hi), -EINVAL);
	assert_int_equal(archive_dm_conv_ids("dm:3:2", 6, &lo, &hi), -EINVAL);
	assert_int_equal(archive_dm_conv_ids("dm:2:", 5, &lo, &hi), -EINVAL);
	assert_int_equal(archive_dm_conv_ids("dm:2:3x", 7, &lo, &hi), -EINVAL);

	assert_int_equal(archive_dm_index_build("eIRC", 16, 42, 7, 5000, 1000, &x), 0);
	assert_int_equal(x.n, ARCHIVE_DM_INDEX_CMDS);
	assert_true(archive_dm_user_key("eIRC", 16, "dms", 42, buf, sizeof(buf)) > 0);
	assert_int_equal(x.cmd[0].argc, 5);
	assert_string_equal(x.cmd[0].argv[0], "ZADD");
	assert_string_equal(x.cmd[0].argv[1], buf);
	assert_string_equal(x.cmd[0].argv[2], "GT");
	assert_string_equal(x.cmd[0].argv[3], "5000");
	assert_string_equal(x.cmd[0].argv[4], "7");
	assert_string_equal(x.cmd[1].argv[0], "ZREMRANGEBYSCORE");
	assert_string_equal(x.cmd[1].argv[3], "(4000");
	assert_string_equal(x.cmd[2].argv[0], "PEXPIRE");
	assert_string_equal(x.cmd[2].argv[2], "1000");
	assert_string_equal(x.cmd[3].argv[4], "42");
	assert_non_null(strstr(x.cmd[3].argv[1], ":dms:eIRC:7"));
	assert_int_equal(archive_dm_index_build("eIRC", 16, 7, 7, 5000, 1000, &x), -EINVAL);
	assert_int_equal(archive_dm_index_build("eIRC", 16, 0, 7, 5000, 1000, &x), -EINVAL);

	/* nick keys: up to ARCHIVE_DM_NICK_MAX bytes, not one more */
	memset(nick, 'n', sizeof(nick));
	assert_true(archive_dm_nick_key("eIRC", 16, nick, ARCHIVE_DM_NICK_MAX, IRC_CASEMAP_ASCII,
					buf, sizeof(buf)) > 0);
	assert_int_equal(archive_dm_nick_key("eIRC", 16, nick, ARCHIVE_DM_NICK_MAX + 1,
					     IRC_CASEMAP_ASCII, buf, sizeof(buf)),
			 -EINVAL);
}

static archive_event_t sample(void)
{
	archive_event_t ev = {.type = ARCHIVE_EV_KICK, .time_ms = 1700000000123};

	ev.s[ARCHIVE_S_MSGID] = (archive_str_t){"m1", 2};
	ev.s[ARCHIVE_S_NETWORK] = (archive_str_t){"eIRC", 4};
	ev.s[ARCHIVE_S_CONV] = (archive_str_t){"#ops", 4};
	ev.s[ARCHIVE_S_TARGET] = (archive_str_t){"#Ops", 4};
	ev.s[ARCHIVE_S_NICK] = (archive_str_t){"alice", 5};
	ev.s[ARCHIVE_S_TEXT] = (archive_str_t){"bye \xff", 5};
	ev.s[ARCHIVE_S_ARG] = (archive_str_t){"bob", 3};
	return ev;
}

static void test_event_roundtrip(void **state)
{
	unsigned char buf[ARCHIVE_EVENT_RECORD_MAX];
	archive_event_t ev = sample(), back;
	int n;

	(void)state;
	n = archive_event_encode(&ev, buf, sizeof(buf));
	assert_int_equal(n, (int)archive_event_encoded_len(&ev));
	assert_int_equal(archive_event_decode(buf, (size_t)n, &back), 0);
	assert_int_equal(back.type, ARCHIVE_EV_KICK);
	assert_true(back.time_ms == ev.time_ms);
	for (int i = 0; i < ARCHIVE_EVENT_NSTR; i++) {
		assert_int_equal(back.s[i].n, ev.s[i].n);
		if (ev.s[i].n)
			assert_memory_equal(back.s[i].p, ev.s[i].p, ev.s[i].n);
	}
	/* truncated, extended, bad version, bad type */
	for (int cut = 0; cut < n; cut++)
		assert_int_equal(archive_event_decode(buf, (size_t)cut, &back), -EBADMSG);
	assert_int_equal(archive_event_decode(buf, (size_t)n + 1, &back), -EBADMSG);
	buf[0] = 9;
	assert_int_equal(archive_event_decode(buf, (size_t)n, &back), -EBADMSG);
	buf[0] = ARCHIVE_EVENT_VERSION;
	buf[1] = ARCHIVE_EV_TYPE_COUNT;
	assert_int_equal(archive_event_decode(buf, (size_t)n, &back), -EBADMSG);
	assert_int_equal(archive_event_encode(&ev, buf, (size_t)n - 1), -ENOBUFS);
}

static void test_event_limits(void **state)
{
	static char text[ARCHIVE_EVENT_TEXT_MAX + 1];
	static unsigned char buf[ARCHIVE_EVENT_RECORD_MAX + 16];
	archive_event_t ev = sample(), back;
	int n;

	(void)state;
	memset(text, 'x', sizeof(text));
	ev.s[ARCHIVE_S_TEXT] = (archive_str_t){text, ARCHIVE_EVENT_TEXT_MAX};
	n = archive_event_encode(&ev, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(archive_event_decode(buf, (size_t)n, &back), 0);
	ev.s[ARCHIVE_S_TEXT].n = ARCHIVE_EVENT_TEXT_MAX + 1;
	assert_int_equal(archive_event_encode(&ev, buf, sizeof(buf)), -EINVAL);
	ev = sample();
	ev.s[ARCHIVE_S_MSGID].n = 0;
	assert_int_equal(archive_event_encode(&ev, buf, sizeof(buf)), -EINVAL);
}

static void test_time(void **state)
{
	int64_t ms = 0;
	char buf[32];

	(void)state;
	assert_int_equal(archive_event_time_parse("2023-11-14T22:13:20.123Z", 24, &ms), 0);
	assert_true(ms == INT64_C(1700000000123));
	assert_int_equal(archive_event_time_parse("2023-11-14T22:13:20Z", 20, &ms), 0);
	assert_true(ms == INT64_C(1700000000000));
	assert_int_equal(archive_event_time_parse("2023-11-14T22:13:20.1234567Z", 28, &ms), 0);
	assert_true(ms == INT64_C(1700000000123));
	assert_int_equal(archive_event_time_parse("1970-01-01T00:00:00.000Z", 24, &ms), 0);
	assert_true(ms == 0);
	assert_int_equal(archive_event_time_parse("2024-02-29T00:00:00.000Z", 24, &ms), 0);
	assert_int_equal(archive_event_time_parse("2023-13-14T22:13:20.123Z", 24, &ms), -EINVAL);
	assert_int_equal(archive_event_time_parse("2023-11-14T22:13:20.Z", 21, &ms), -EINVAL);
	assert_int_equal(archive_event_time_parse("2023-11-14T22:13:20.123", 23, &ms), -EINVAL);
	assert_int_equal(archive_event_time_parse("2023-11-14 22:13:20.123Z", 24, &ms), -EINVAL);
	assert_int_equal(archive_event_time_parse("", 0, &ms), -EINVAL);
	assert_int_equal(archive_event_time_format(INT64_C(1700000000123), buf, sizeof(buf)), 24);
	assert_string_equal(buf, "2023-11-14T22:13:20.123Z");
	assert_int_equal(archive_event_time_format(0, buf, sizeof(buf)), 24);
	assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
	assert_int_equal(archive_event_time_format(-1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(archive_event_time_format(0, buf, 24), -ENOBUFS);
}

static void test_append_call(void **state)
{
	archive_event_t ev = sample();
	archive_append_opts_t o = {16, INT64_C(1700000000000), 3600000, NULL};
	static archive_append_call_t c;
	const char *sha = "0123456789abcdef0123456789abcdef01234567";
	int k = archive_keys_partition("eIRC", "#ops", 4, IRC_CASEMAP_NONE, 16);
	char want[128];

	(void)state;
	assert_int_equal(archive_append_build(&ev, &o, sha, &c), 0);
	assert_int_equal(c.partition, k);
	assert_string_equal(c.argv[0], "EVALSHA");
	assert_string_equal(c.argv[2], "4");
	snprintf(want, sizeof(want), "eirc:{p%d}:history:eIRC:#ops", k);
	assert_string_equal(c.argv[3], want);
	snprintf(want, sizeof(want), "eirc:{p%d}:archive", k);
	assert_string_equal(c.argv[4], want);
	snprintf(want, sizeof(want), "eirc:{p%d}:msgid:m1", k);
	assert_string_equal(c.argv[5], want);
	snprintf(want, sizeof(want), "eirc:{p%d}:pending", k);
	assert_string_equal(c.argv[6], want);
	assert_string_equal(c.argv[7], "1699996400000");
	assert_string_equal(c.argv[8], "3600000");
	assert_string_equal(c.argv[9], "eIRC");
	/* no MAC key: an empty seal record */
	assert_int_equal(c.argvlen[10], 0);
	/* field/value pairs after the network and the seal record: even count */
	assert_int_equal((c.argc - 11) % 2, 0);
	assert_true(c.argc <= ARCHIVE_APPEND_ARGC_MAX);
	assert_string_equal(c.argv[c.argc - 2], "arg");
	/* every key of the call carries the same hash tag */
	snprintf(want, sizeof(want), "{p%d}", k);
	for (int i = 3; i <= 6; i++)
		assert_non_null(strstr(c.argv[i], want));
	assert_int_equal(archive_append_build(&ev, &o, "xyz", &c), -EINVAL);
	o.retention_ms = 0;
	assert_int_equal(archive_append_build(&ev, &o, sha, &c), 0);
	assert_string_equal(c.argv[7], "0");
	assert_non_null(strstr(archive_append_script, "unpack(ARGV, 5)"));
}

/* sha NULL: the same call as EVAL of the script itself (eirc-history's
 * direct messages), argument for argument after the script. */
static void test_append_call_eval(void **state)
{
	archive_event_t ev = sample();
	archive_append_opts_t o = {16, INT64_C(1700000000000), 3600000, NULL};
	static archive_append_call_t sha_call, eval_call;
	const char *sha = "0123456789abcdef0123456789abcdef01234567";

	(void)state;
	assert_int_equal(archive_append_build(&ev, &o, sha, &sha_call), 0);
	assert_int_equal(archive_append_build(&ev, &o, NULL, &eval_call), 0);
	assert_string_equal(eval_call.argv[0], "EVAL");
	assert_int_equal(eval_call.argvlen[1], strlen(archive_append_script));
	assert_memory_equal(eval_call.argv[1], archive_append_script, eval_call.argvlen[1]);
	assert_int_equal(eval_call.argc, sha_call.argc);
	for (int i = 2; i < eval_call.argc; i++) {
		assert_int_equal(eval_call.argvlen[i], sha_call.argvlen[i]);
		assert_memory_equal(eval_call.argv[i], sha_call.argv[i], eval_call.argvlen[i]);
	}
}

/* The batched call: events of one partition, keys then per-event
 * arguments, at ARCHIVE_APPEND_BATCH_MAX and one past it. */
static void test_append_batch(void **state)
{
	static archive_append_batch_t b;
	archive_append_opts_t o = {16, INT64_C(1700000000000), 3600000, NULL};
	const char *sha = "0123456789abcdef0123456789abcdef01234567";
	archive_event_t ev = sample(), other = sample();
	int k = archive_keys_partition("eIRC", "#ops", 4, IRC_CASEMAP_NONE, 16);
	char ids[ARCHIVE_APPEND_BATCH_MAX][16], want[128], t[16];
	int i, a;

	(void)state;
	assert_int_equal(archive_append_batch_begin(&b, "xyz", &o), -EINVAL);
	assert_int_equal(archive_append_batch_begin(&b, sha, &o), 0);
	assert_int_equal(archive_append_batch_finish(&b), -EINVAL);
	for (i = 0; i < ARCHIVE_APPEND_BATCH_MAX; i++) {
		ev.s[ARCHIVE_S_MSGID] =
			(archive_str_t){ids[i], (size_t)snprintf(ids[i], 16, "m%d", i)};
		ev.s[ARCHIVE_S_ARG] = i % 2 ? (archive_str_t){"bob", 3} : (archive_str_t){NULL, 0};
		assert_int_equal(archive_append_batch_add(&b, &ev, &o), 0);
	}
	assert_int_equal(archive_append_batch_add(&b, &ev, &o), -ENOSPC);
	assert_int_equal(b.partition, k);
	assert_int_equal(archive_append_batch_finish(&b), 0);
	assert_true(b.argc <= ARCHIVE_APPEND_BATCH_ARGC_MAX);
	assert_string_equal(b.argv[0], "EVALSHA");
	assert_string_equal(b.argv[1], sha);
	snprintf(want, sizeof(want), "%d", 4 * ARCHIVE_APPEND_BATCH_MAX);
	assert_string_equal(b.argv[2], want);
	snprintf(want, sizeof(want), "eirc:{p%d}:msgid:m%d", k, ARCHIVE_APPEND_BATCH_MAX - 1);
	assert_string_equal(b.argv[3 + 4 * ARCHIVE_APPEND_BATCH_MAX - 2], want);
	snprintf(want, sizeof(want), "eirc:{p%d}:pending", k);
	assert_string_equal(b.argv[3 + 4 * ARCHIVE_APPEND_BATCH_MAX - 1], want);
	a = 3 + 4 * ARCHIVE_APPEND_BATCH_MAX;
	assert_string_equal(b.argv[a], "1699996400000");
	assert_string_equal(b.argv[a + 1], "3600000");
	/* walk the per-event arguments as the script does */
	a += 2;
	for (i = 0; i < ARCHIVE_APPEND_BATCH_MAX; i++) {
		int nf = (int)strtol(b.argv[a + 2], NULL, 10);
		assert_string_equal(b.argv[a], "eIRC");
		assert_int_equal(b.argvlen[a + 1], 0); /* no MAC key: no seal record */
		assert_int_equal(nf, i % 2 ? 24 : 22);
		assert_string_equal(b.argv[a + 3], "msgid");
		assert_memory_equal(b.argv[a + 4], ids[i], b.argvlen[a + 4]);
		a += 3 + nf;
	}
	assert_int_equal(a, b.argc);
	/* another partition is refused, not added */
	for (i = 0; i < 100; i++) {
		other.s[ARCHIVE_S_CONV] =
			(archive_str_t){t, (size_t)snprintf(t, sizeof(t), "#c%d", i)};
		if (archive_keys_partition("eIRC", t, other.s[ARCHIVE_S_CONV].n, IRC_CASEMAP_NONE,
					   16) != k)
			break;
	}
	assert_int_equal(archive_append_batch_begin(&b, sha, &o), 0);
	assert_int_equal(archive_append_batch_add(&b, &ev, &o), 0);
	assert_int_equal(archive_append_batch_add(&b, &other, &o), -EXDEV);
	assert_int_equal(b.n, 1);
	other.s[ARCHIVE_S_MSGID] = (archive_str_t){NULL, 0};
	assert_int_equal(archive_append_batch_add(&b, &other, &o), -EINVAL);
	assert_non_null(strstr(archive_append_batch_script, "unpack(ARGV, s, e)"));
}

/* With a MAC key, the single and the batched call carry the same seal
 * record "<digest> <mac>": the event digest over network and the event's
 * fields as the archive entry gets them (empty ones included, as Redis
 * keeps them) and its MAC, which tlog_mac_digest_check accepts; another
 * text gives another digest. */
static void test_append_mac(void **state)
{
	static archive_append_call_t c;
	static archive_append_batch_t b;
	uint8_t key[32], d[TLOG_HASH_LEN], rec[TLOG_HASH_LEN];
	archive_append_opts_t o = {16, INT64_C(1700000000000), 3600000, key};
	const char *sha = "0123456789abcdef0123456789abcdef01234567";
	archive_event_t ev = sample();
	tlog_field_t f[TLOG_FIELDS_MAX];
	size_t nf = 0, rec_len;
	char text[8] = "bye \xff";

	(void)state;
	memset(key, 7, sizeof(key));
	assert_int_equal(archive_append_build(&ev, &o, sha, &c), 0);
	assert_int_equal(c.argvlen[10], ARCHIVE_APPEND_SEAL_LEN);
	assert_int_equal(c.argv[10][TLOG_MAC_B64_LEN], ' ');
	f[nf++] = (tlog_field_t){{"network", 7}, {c.argv[9], c.argvlen[9]}};
	for (int i = 11; i + 1 < c.argc; i += 2)
		f[nf++] = (tlog_field_t){{c.argv[i], c.argvlen[i]},
					 {c.argv[i + 1], c.argvlen[i + 1]}};
	assert_int_equal(tlog_event_digest(f, nf, d), 0);
	assert_int_equal(sodium_base642bin(rec, sizeof(rec), c.argv[10], TLOG_MAC_B64_LEN, NULL,
					   &rec_len, NULL, sodium_base64_VARIANT_ORIGINAL),
			 0);
	assert_int_equal(rec_len, TLOG_HASH_LEN);
	assert_memory_equal(rec, d, TLOG_HASH_LEN);
	assert_int_equal(
		tlog_mac_digest_check(key, d, c.argv[10] + TLOG_MAC_B64_LEN + 1, TLOG_MAC_B64_LEN),
		0);
	assert_int_equal(archive_append_batch_begin(&b, sha, &o), 0);
	assert_int_equal(archive_append_batch_add(&b, &ev, &o), 0);
	assert_int_equal(archive_append_batch_finish(&b), 0);
	assert_int_equal(b.argvlen[3 + 4 + 2 + 1], ARCHIVE_APPEND_SEAL_LEN);
	assert_memory_equal(b.argv[3 + 4 + 2 + 1], c.argv[10], ARCHIVE_APPEND_SEAL_LEN);
	/* another text: another digest */
	text[0] = 'B';
	ev.s[ARCHIVE_S_TEXT] = (archive_str_t){text, 5};
	assert_int_equal(archive_append_build(&ev, &o, sha, &c), 0);
	assert_memory_not_equal(c.argv[10], b.argv[3 + 4 + 2 + 1], TLOG_MAC_B64_LEN);
}

/* The heartbeat key: one partition's hash tag, network and nick in it;
 * bounded like the other keys. */
static void test_seen_key(void **state)
{
	char key[ARCHIVE_KEYS_KEY_MAX], want[128], small[16];
	int k = archive_keys_partition("eIRC", "lgr", 3, IRC_CASEMAP_NONE, 16);

	(void)state;
	assert_true(archive_keys_seen(16, "eIRC", "lgr", key, sizeof(key)) > 0);
	snprintf(want, sizeof(want), "eirc:{p%d}:logger:eIRC:lgr:seen", k);
	assert_string_equal(key, want);
	assert_int_equal(archive_keys_seen(16, "eIRC", "lgr", small, sizeof(small)), -ENOBUFS);
	assert_int_equal(archive_keys_seen(16, "eIRC", "", key, sizeof(key)), -EINVAL);
	assert_int_equal(archive_keys_seen(0, "eIRC", "lgr", key, sizeof(key)), -EINVAL);
}

static void test_map(void **state)
{
	lg_map_t m = {0};
	char key[16];

	(void)state;
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(lg_map_put(&m, key, strlen(key), (void *)(intptr_t)(i + 1)), 1);
	}
	for (int i = 0; i < 1000; i += 2) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_ptr_equal(lg_map_del(&m, key, strlen(key)), (void *)(intptr_t)(i + 1));
	}
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		void *v = lg_map_get(&m, key, strlen(key));
		if (i % 2)
			assert_ptr_equal(v, (void *)(intptr_t)(i + 1));
		else
			assert_null(v);
	}
	assert_int_equal(m.n, 500);
	/* churn through tombstones keeps working */
	for (int r = 0; r < 20000; r++) {
		snprintf(key, sizeof(key), "t%d", r);
		assert_int_equal(lg_map_put(&m, key, strlen(key), (void *)1), 1);
		assert_non_null(lg_map_del(&m, key, strlen(key)));
	}
	assert_int_equal(m.n, 500);
	lg_map_clear(&m);
}

static void test_metrics_text(void **state)
{
	lg_metrics_t m = {0};
	buf_t b;

	(void)state;
	buf_init(&b, LG_METRICS_TEXT_MAX);
	m.events_written = 42;
	m.ship_oldest_age_ms = 1500;
	assert_int_equal(lg_metrics_render(&m, &b), 0);
	assert_non_null(strstr(buf_data(&b), "# TYPE eirc_logger_events_written_total counter\n"
					     "eirc_logger_events_written_total 42\n"));
	assert_non_null(
		strstr(buf_data(&b), "eirc_logger_shipper_oldest_pending_age_seconds 1.500\n"));
	buf_free(&b);
}

/* The sealing delay histogram: each delay in its bucket (bounds
 * inclusive), cumulative buckets, +Inf, sum and count. */
static void test_metrics_seal_delay(void **state)
{
	lg_metrics_t m = {0};
	buf_t b;

	(void)state;
	buf_init(&b, LG_METRICS_TEXT_MAX);
	lg_metrics_seal_delay(&m, -5); /* a clock step: 0 */
	lg_metrics_seal_delay(&m, 100);
	lg_metrics_seal_delay(&m, 101);
	lg_metrics_seal_delay(&m, 70000);
	assert_int_equal(lg_metrics_render(&m, &b), 0);
	assert_non_null(strstr(buf_data(&b),
			       "# TYPE eirc_logger_seal_delay_seconds histogram\n"
			       "eirc_logger_seal_delay_seconds_bucket{le=\"0.100\"} 2\n"
			       "eirc_logger_seal_delay_seconds_bucket{le=\"0.250\"} 3\n"));
	assert_non_null(strstr(buf_data(&b),
			       "eirc_logger_seal_delay_seconds_bucket{le=\"60.000\"} 3\n"
			       "eirc_logger_seal_delay_seconds_bucket{le=\"+Inf\"} 4\n"
			       "eirc_logger_seal_delay_seconds_sum 70.201\n"
			       "eirc_logger_seal_delay_seconds_count 4\n"));
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32_vectors),
		cmocka_unit_test(test_partition_folds_and_bounds),
		cmocka_unit_test(test_key_names),
		cmocka_unit_test(test_event_roundtrip),
		cmocka_unit_test(test_event_limits),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_append_call),
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_append_batch),
		cmocka_unit_test(test_append_mac),
		cmocka_unit_test(test_crc32_sliced),
		cmocka_unit_test(test_seen_key),
		cmocka_unit_test(test_append_call_eval),
		cmocka_unit_test(test_metrics_text),
		cmocka_unit_test(test_metrics_seal_delay),
		cmocka_unit_test(test_dm_keys_and_index),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
