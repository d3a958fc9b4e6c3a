/* Tests for common/log: redaction, escaping, JSON shape, truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/utf8.h"

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
	static const char json_tail[] = "...\",\"cut\":true}\n";
	static char msg[LOG_LINE_MAX * 2];
	char buf[LOG_LINE_MAX], big[LOG_LINE_MAX];
	log_field_t f[] = {{"peer", big}};
	size_t n, t = strlen(json_tail);
	(void)state;

	/* text: cut, ends with "..." */
	memset(msg, 'a', sizeof(msg) - 1);
	n = log_format_line(buf, sizeof(buf), LOG_INFO, NULL, 0, msg);
	assert_true(n <= sizeof(buf) - 1);
	assert_string_equal(buf + n - 4, "...\n");

	/* JSON: a cut line is still one JSON object (it lost its closing
	 * brace before): the message cut, "cut":true */
	log_setup("eirc-test", LOG_DEBUG, LOG_FORMAT_JSON, 2);
	n = log_format_line(buf, sizeof(buf), LOG_INFO, NULL, 0, msg);
	assert_true(n <= sizeof(buf) - 1);
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf + n - t, json_tail);

	/* an escape is never split: "\n" pairs up to the tail */
	for (size_t i = 0; i < sizeof(msg) - 1; i++)
		msg[i] = i % 2 ? '\n' : 'b';
	for (size_t off = 0; off < 3; off++) {
		n = log_format_line(buf, sizeof(buf) - off, LOG_INFO, NULL, 0, msg + off);
		assert_string_equal(buf + n - t, json_tail);
		size_t bs = 0;
		for (size_t i = n - t; i > 0 && buf[i - 1] == '\\'; i--)
			bs++;
		assert_int_equal(bs % 2, 0);
	}

	/* nor a UTF-8 sequence: "é" (2 bytes) and "€" (3) at every offset */
	for (size_t off = 0; off < 6; off++) {
		for (size_t i = 0; i + 1 < sizeof(msg); i++)
			msg[i] = "\xc3\xa9\xe2\x82\xac"[i % 5];
		msg[sizeof(msg) - 1] = '\0';
		n = log_format_line(buf, sizeof(buf) - off, LOG_INFO, NULL, 0, msg);
		assert_true(utf8_is_valid(buf, n));
		assert_string_equal(buf + n - t, json_tail);
	}

	/* a field past the limit: the fields go, the line stays JSON */
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = log_format_line(buf, sizeof(buf), LOG_INFO, f, 1, "short");
	assert_non_null(strstr(buf, "\"msg\":\"short\",\"cut\":true}\n"));
	assert_int_equal(n, strlen(buf));

	/* A message that fits exactly is not cut. */
	size_t plain = log_format_line(buf, sizeof(buf), LOG_INFO, NULL, 0, "x");
	assert_string_equal(buf + plain - 3, "\"}\n");
	log_setup("eirc-test", LOG_INFO, LOG_FORMAT_TEXT, 2);
}

/* Under systemd (stderr is the journal stream $JOURNAL_STREAM names), each
 * line starts with its sd-daemon(3) priority, so journalctl -p err finds
 * the errors; anywhere else, no prefix. */
static void test_journal_priority(void **state)
{
	int p[2];
	char got[LOG_LINE_MAX], env[64];
	struct stat st;
	ssize_t n;
	(void)state;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(fstat(p[1], &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	log_setup("eirc-test", LOG_DEBUG, LOG_FORMAT_TEXT, p[1]);
	log_error("boom");
	n = read(p[0], got, sizeof(got) - 1);
	assert_true(n > 3);
	assert_memory_equal(got, "<3>", 3);
	log_warn("careful");
	n = read(p[0], got, sizeof(got) - 1);
	assert_memory_equal(got, "<4>", 3);
	log_info("fine");
	n = read(p[0], got, sizeof(got) - 1);
	assert_memory_equal(got, "<6>", 3);
	log_debug("detail");
	n = read(p[0], got, sizeof(got) - 1);
	assert_memory_equal(got, "<7>", 3);
	/* another stream: no prefix */
	setenv("JOURNAL_STREAM", "1:2", 1);
	log_setup("eirc-test", LOG_DEBUG, LOG_FORMAT_TEXT, p[1]);
	log_error("boom");
	n = read(p[0], got, sizeof(got) - 1);
	assert_true(n > 3);
	assert_true(got[0] != '<');
	unsetenv("JOURNAL_STREAM");
	log_setup("eirc-test", LOG_INFO, LOG_FORMAT_TEXT, 2);
	close(p[0]);
	close(p[1]);
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
		cmocka_unit_test(test_journal_priority),
		cmocka_unit_test(test_level_filter_and_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
