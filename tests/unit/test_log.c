/* Tests for common/log: redaction, escaping, JSON shape, truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

static void check_redact(const char *in, const char *want)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s", in);
	size_t n = log_redact(buf, strlen(buf));
	assert_int_equal(n, strlen(want));
	assert_string_equal(buf, want);
}

static void test_redact(void **state)
{
	(void)state;
	check_redact("GET /chat?chat_token=abcdef123456&x=1 HTTP/1.1",
		     "GET /chat?chat_token=***&x=1 HTTP/1.1");
	check_redact("Authorization: Bearer abc.def-ghi", "Authorization: Bearer ***");
	check_redact("bearer abcdefgh", "bearer ***");
	check_redact("{\"access_token\":\"s3cr3tvalue\",\"expires_in\":180}",
		     "{\"access_token\":\"***\",\"expires_in\":180}");
	check_redact("{\"password\": \"hunter2hunter2\"}", "{\"password\": \"***\"}");
	check_redact("PASSWORD=x", "PASSWORD=*");
	check_redact("secret=ab", "secret=**");
	check_redact("webirc_password: longvalue1 next", "webirc_password: *** next");
	/* Words without a value stay. */
	check_redact("token expired for user 12", "token expired for user 12");
	check_redact("wrong password", "wrong password");
	check_redact("", "");
	/* Idempotent. */
	check_redact("token=***", "token=***");
	/* Several secrets in one line. */
	check_redact("token=aaaaaaa password=bbbbbbb", "token=*** password=***");
}

static void test_text_line_escapes_controls(void **state)
{
	char buf[LOG_LINE_MAX];
	(void)state;

	log_setup("eirc-test", LOG_DEBUG, LOG_FORMAT_TEXT, 2);
	size_t n =
		log_format_line(buf, sizeof(buf), LOG_WARN, NULL, 0, "evil\r\nfake line\x01 end");
	assert_int_equal(n, strlen(buf));
	assert_true(buf[n - 1] == '\n');
	/* Exactly one newline: the terminator. */
	assert_ptr_equal(strchr(buf, '\n'), buf + n - 1);
	assert_non_null(strstr(buf, " eirc-test["));
	assert_non_null(strstr(buf, "] warn: evil\\r\\nfake line\\x01 end\n"));
}

static void test_fields_text_and_json(void **state)
{
	char buf[LOG_LINE_MAX];
	log_field_t f[] = {
		{"session", "s-1"},
		{"peer", "1.2.3.4 port"},
		{"chat_token", "abcdef"},
		{"note", NULL},
	};
	(void)state;

	log_setup("eirc-test", LOG_DEBUG, LOG_FORMAT_TEXT, 2);
	log_format_line(buf, sizeof(buf), LOG_INFO, f, 4, "hello");
	assert_non_null(strstr(
		buf, "info: hello session=s-1 peer=\"1.2.3.4 port\" chat_token=*** note=-\n"));

	log_setup("eirc-test", LOG_DEBUG, LOG_FORMAT_JSON, 2);
	log_format_line(buf, sizeof(buf), LOG_ERROR, f, 4, "say \"hi\"\n");
	assert_true(strncmp(buf, "{\"time\":\"", 9) == 0);
	assert_non_null(strstr(buf, "\"level\":\"error\",\"prog\":\"eirc-test\",\"pid\":"));
	assert_non_null(
		strstr(buf, ",\"msg\":\"say \\\"hi\\\"\\n\",\"session\":\"s-1\","
			    "\"peer\":\"1.2.3.4 port\",\"chat_token\":\"***\",\"note\":null}\n"));
	log_setup("eirc-test", LOG_INFO, LOG_FORMAT_TEXT, 2);
}

static void test_truncation_at_limit(void **state)
{
	static char msg[LOG_LINE_MAX * 2];
	char buf[LOG_LINE_MAX];
	(void)state;

	memset(msg, 'a', sizeof(msg) - 1);
	log_setup("eirc-test", LOG_DEBUG, LOG_FORMAT_JSON, 2);
	size_t n = log_format_line(buf, sizeof(buf), LOG_INFO, NULL, 0, msg);
	assert_true(n <= sizeof(buf) - 1);
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf + n - 4, "...\n");

	/* A message that fits exactly is not cut. */
	size_t plain = log_format_line(buf, sizeof(buf), LOG_INFO, NULL, 0, "x");
	assert_string_equal(buf + plain - 3, "\"}\n");
	log_setup("eirc-test", LOG_INFO, LOG_FORMAT_TEXT, 2);
}

static void test_level_filter_and_parse(void **state)
{
	int p[2];
	char got[LOG_LINE_MAX];
	log_level_t lv;
	(void)state;

	assert_int_equal(log_level_parse("warn", &lv), 0);
	assert_int_equal(lv, LOG_WARN);
	lv = LOG_DEBUG;
	assert_int_equal(log_level_parse("loud", &lv), -22);
	assert_int_equal(lv, LOG_DEBUG); /* untouched on failure */

	assert_int_equal(pipe(p), 0);
	log_setup("eirc-test", LOG_WARN, LOG_FORMAT_TEXT, p[1]);
	log_info("dropped");
	log_error("kept chat_token=%s", "zzzzzzzz");
	close(p[1]);
	ssize_t n = read(p[0], got, sizeof(got) - 1);
	close(p[0]);
	assert_true(n > 0);
	got[n] = '\0';
	assert_null(strstr(got, "dropped"));
	assert_non_null(strstr(got, "error: kept chat_token=***\n"));
	log_setup("eirc-test", LOG_INFO, LOG_FORMAT_TEXT, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_text_line_escapes_controls),
		cmocka_unit_test(test_fields_text_and_json),
		cmocka_unit_test(test_truncation_at_limit),
		cmocka_unit_test(test_level_filter_and_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
