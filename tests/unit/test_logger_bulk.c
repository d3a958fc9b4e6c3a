/*
 * The _bulk NDJSON builder and the response walker, with the response
 * shapes the Elasticsearch 8 bulk API documents (per-item results, errors
 * true, 201/409/429/400/5xx items).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "logger-bot/lg_bulk.h"

#define S(x)                                                                                       \
	{                                                                                          \
		x, sizeof(x) - 1                                                                   \
	}

static void test_index_name(void **state)
{
	char buf[80];

	(void)state;
	assert_int_equal(lg_bulk_index_name("eirc", INT64_C(1700000000123), buf, sizeof(buf)), 15);
	assert_string_equal(buf, "eirc-2023.11.14");
	/* a day boundary in UTC */
	lg_bulk_index_name("eirc", INT64_C(1700006399999), buf, sizeof(buf));
	assert_string_equal(buf, "eirc-2023.11.14");
	lg_bulk_index_name("eirc", INT64_C(1700006400000), buf, sizeof(buf));
	assert_string_equal(buf, "eirc-2023.11.15");
	assert_int_equal(lg_bulk_index_name("", 0, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(lg_bulk_index_name("eirc", 0, buf, 10), -ENOBUFS);
}

static void test_add_document(void **state)
{
	lg_bulk_field_t f[] = {
		{S("network"), S("eIRC")},
		{S("stream"), S("eirc:{p1}:history:eIRC:#x")},
		{S("msgid"), S("abc\"1")},
		{S("time"), S("1700000000123")},
		{S("type"), S("privmsg")},
		{S("conv"), S("#x")},
		{S("target"), S("#X")},
		{S("nick"), S("al\\ice")},
		{S("text"), S("hi\n\x01\xff\xc3\xa9")},
	};
	buf_t b;
	archive_str_t id = S("1-0");

	(void)state;
	buf_init(&b, SIZE_MAX);
	assert_true(lg_bulk_add(&b, "eirc", 1, id, f, sizeof(f) / sizeof(f[0])) > 0);
	assert_string_equal(
		buf_data(&b),
		"{\"create\":{\"_index\":\"eirc-2023.11.14\",\"_id\":\"abc\\\"1\"}}\n"
		"{\"@timestamp\":\"2023-11-14T22:13:20.123Z\",\"network\":\"eIRC\","
		"\"channel\":\"#x\",\"target\":\"#X\",\"type\":\"privmsg\",\"msgid\":"
		"\"abc\\\"1\",\"nick\":\"al\\\\ice\",\"text\":\"hi\\n\\u0001\xEF\xBF\xBD"
		"\xc3\xa9\",\"text_b64\":\"aGkKAf/DqQ==\",\"archive_id\":\"1-0\","
		"\"partition\":1,\"archive_ms\":1,\"archive_seq\":0}\n");
	/* no msgid, no time, bad time: refused, body untouched */
	size_t len = buf_len(&b);
	assert_int_equal(lg_bulk_add(&b, "eirc", 1, id, f + 3, 6), -EINVAL);
	f[3].value = (archive_str_t)S("12x");
	assert_int_equal(lg_bulk_add(&b, "eirc", 1, id, f, 9), -EINVAL);
	assert_int_equal(lg_bulk_add(&b, "eirc", 1, id, f, 2), -EINVAL);
	assert_int_equal(buf_len(&b), len);
	/* an id that is not "<ms>-<seq>" */
	f[3].value = (archive_str_t)S("1700000000123");
	assert_int_equal(lg_bulk_add(&b, "eirc", 1, (archive_str_t)S("1"), f, 9), -EINVAL);
	assert_int_equal(lg_bulk_add(&b, "eirc", 1, (archive_str_t)S("1-x"), f, 9), -EINVAL);
	assert_true(lg_bulk_add(&b, "eirc", 1, (archive_str_t)S("1700000000123-18"), f, 9) > 0);
	assert_non_null(strstr(buf_data(&b), "\"archive_ms\":1700000000123,\"archive_seq\":18}"));
	buf_free(&b);
}

struct seen {
	int n;
	int status[8];
	enum lg_bulk_outcome o[8];
	char err[8][256];
};

static void on_item(void *ud, size_t i, int status, enum lg_bulk_outcome o, const char *err)
{
	struct seen *s = ud;

	assert_int_equal(i, (size_t)s->n);
	s->status[s->n] = status;
	s->o[s->n] = o;
	snprintf(s->err[s->n], sizeof(s->err[0]), "%s", err);
	s->n++;
}

/* A response as Elasticsearch 8 answers a mixed bulk. */
static const char mixed[] =
	"{\"took\":486,\"errors\":true,\"items\":["
	"{\"create\":{\"_index\":\"eirc-2023.11.14\",\"_id\":\"a\",\"_version\":1,"
	"\"result\":\"created\",\"_shards\":{\"total\":2,\"successful\":1,\"failed\":0},"
	"\"_seq_no\":0,\"_primary_term\":1,\"status\":201}},"
	"{\"create\":{\"_index\":\"eirc-2023.11.14\",\"_id\":\"b\",\"status\":409,\"error\":{"
	"\"type\":\"version_conflict_engine_exception\",\"reason\":\"[b]: version conflict, "
	"document already exists (current version [1])\",\"index_uuid\":\"x\",\"shard\":\"0\","
	"\"index\":\"eirc-2023.11.14\"}}},"
	"{\"create\":{\"_index\":\"eirc-2023.11.14\",\"_id\":\"c\",\"status\":429,\"error\":{"
	"\"type\":\"es_rejected_execution_exception\",\"reason\":\"rejected execution\"}}},"
	"{\"create\":{\"_index\":\"eirc-2023.11.14\",\"_id\":\"d\",\"status\":400,\"error\":{"
	"\"type\":\"document_parsing_exception\",\"reason\":\"[1:15] failed to parse\"}}},"
	"{\"create\":{\"_index\":\"eirc-2023.11.14\",\"_id\":\"e\",\"status\":503,\"error\":{"
	"\"type\":\"unavailable_shards_exception\",\"reason\":\"primary shard is not active\"}}}"
	"]}";

static void test_walk_mixed(void **state)
{
	struct seen s = {0};

	(void)state;
	assert_int_equal(lg_bulk_walk(mixed, strlen(mixed), 5, on_item, &s), 3);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.o[0], LG_BULK_OK);
	assert_int_equal(s.o[1], LG_BULK_OK); /* 409: already indexed */
	assert_int_equal(s.o[2], LG_BULK_RETRY);
	assert_int_equal(s.o[3], LG_BULK_DEAD);
	assert_int_equal(s.o[4], LG_BULK_RETRY);
	assert_non_null(strstr(s.err[3], "document_parsing_exception"));
	assert_string_equal(s.err[0], "");
}

static void test_walk_refuses_bad_bodies(void **state)
{
	static const char *const bad[] = {
		"",
		"{",
		"[]",
		"{\"errors\":false}",
		"{\"errors\":false,\"items\":{}}",
		"{\"errors\":\"no\",\"items\":[]}",
		"{\"errors\":false,\"items\":[{\"create\":{\"status\":\"201\"}}]}",
		"{\"errors\":false,\"items\":[{\"create\":{}}]}",
		"{\"errors\":false,\"items\":[7]}",
		"{\"error\":{\"type\":\"es_rejected_execution_exception\"},\"status\":429}",
	};
	const char *ok = "{\"took\":1,\"errors\":false,\"items\":[{\"create\":{\"_id\":\"a\","
			 "\"status\":201}}]}";
	struct seen s = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(lg_bulk_walk(bad[i], strlen(bad[i]), 1, on_item, &s), -EBADMSG);
	assert_int_equal(s.n, 0);
	/* item count must match the request */
	assert_int_equal(lg_bulk_walk(ok, strlen(ok), 2, on_item, &s), -EBADMSG);
	assert_int_equal(lg_bulk_walk(ok, strlen(ok), 1, on_item, &s), 0);
	assert_int_equal(s.n, 1);
}

static void test_classify(void **state)
{
	(void)state;
	assert_int_equal(lg_bulk_classify(200), LG_BULK_OK);
	assert_int_equal(lg_bulk_classify(201), LG_BULK_OK);
	assert_int_equal(lg_bulk_classify(409), LG_BULK_OK);
	assert_int_equal(lg_bulk_classify(429), LG_BULK_RETRY);
	assert_int_equal(lg_bulk_classify(500), LG_BULK_RETRY);
	assert_int_equal(lg_bulk_classify(503), LG_BULK_RETRY);
	assert_int_equal(lg_bulk_classify(400), LG_BULK_DEAD);
	assert_int_equal(lg_bulk_classify(404), LG_BULK_DEAD);
	assert_int_equal(lg_bulk_classify(-1), LG_BULK_DEAD);
}

static void test_template(void **state)
{
	buf_t b;

	(void)state;
	buf_init(&b, SIZE_MAX);
	assert_int_equal(lg_bulk_template("eirc", &b), 0);
	assert_non_null(strstr(buf_data(&b), "\"index_patterns\":[\"eirc-*\"]"));
	assert_non_null(strstr(buf_data(&b), "\"text\":{\"type\":\"text\"}"));
	assert_non_null(strstr(buf_data(&b), "\"@timestamp\":{\"type\":\"date\"}"));
	assert_non_null(strstr(buf_data(&b), "\"msgid\":{\"type\":\"keyword\"}"));
	assert_non_null(strstr(buf_data(&b), "\"partition\":{\"type\":\"integer\"}"));
	assert_non_null(strstr(buf_data(&b), "\"archive_ms\":{\"type\":\"long\"}"));
	assert_non_null(strstr(buf_data(&b), "\"archive_seq\":{\"type\":\"long\"}"));
	assert_non_null(strstr(buf_data(&b), "\"text_b64\":{\"type\":\"keyword\",\"index\":false,"
					     "\"doc_values\":false}"));
	/* the body is one JSON object */
	json_t *j = json_loads(buf_data(&b), 0, NULL);
	assert_non_null(j);
	json_decref(j);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_name), cmocka_unit_test(test_add_document),
		cmocka_unit_test(test_walk_mixed), cmocka_unit_test(test_walk_refuses_bad_bodies),
		cmocka_unit_test(test_classify),   cmocka_unit_test(test_template),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
