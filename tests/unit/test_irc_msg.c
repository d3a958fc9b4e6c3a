/*
 * irc_msg unit tests: parsing, every limit at the limit and one past it,
 * malformed input, tag escaping round trips, serializing and its errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/irc_msg.h"

#define BUF_MAX (IRC_TAGS_MAX + IRC_MSG_MAX + 16)

static char g_buf[BUF_MAX];
static char g_out[BUF_MAX];

/* Parses s (copied into g_buf) and returns the code. */
static int parse_str(const char *s, unsigned flags, irc_msg_t *out_msg)
{
	size_t len = strlen(s);

	assert_true(len < sizeof(g_buf));
	memcpy(g_buf, s, len + 1);
	return irc_msg_parse(g_buf, len, flags, out_msg);
}

static void assert_span(const irc_msg_span_t *sp, const char *want)
{
	assert_non_null(sp->ptr);
	assert_int_equal(sp->len, strlen(want));
	assert_memory_equal(sp->ptr, want, sp->len);
}

static void assert_tag(const irc_msg_t *m, const char *key, const char *want)
{
	irc_msg_tag_t t;

	assert_int_equal(irc_msg_tag_get(m, key, &t), 0);
	if (!want) {
		assert_false(t.has_value);
		assert_int_equal(t.value_len, 0);
		return;
	}
	assert_true(t.has_value);
	assert_int_equal(t.value_len, strlen(want));
	assert_memory_equal(t.value, want, t.value_len);
}

/* Fills s[0..n) with 'x' and NUL-terminates; returns s + n. */
static char *fill(char *s, size_t n)
{
	memset(s, 'x', n);
	s[n] = '\0';
	return s + n;
}

static void test_parse_full_line(void **state)
{
	irc_msg_t m;

	assert_int_equal(parse_str("@time=2024-01-02T03:04:05.678Z;msgid=abc;+draft/reply=x1 "
				   ":nick!u1@host.example PRIVMSG #chan :hello  world \r\n",
				   0, &m),
			 0);
	assert_tag(&m, "time", "2024-01-02T03:04:05.678Z");
	assert_tag(&m, "msgid", "abc");
	assert_tag(&m, "+draft/reply", "x1");
	assert_span(&m.source, "nick!u1@host.example");
	assert_span(&m.command, "PRIVMSG");
	assert_true(irc_msg_command_is(&m, "privmsg"));
	assert_false(irc_msg_command_is(&m, "PRIVMS"));
	assert_true(irc_msg_span_is(&m.command, "PrivMsg"));
	assert_false(irc_msg_span_is(&m.command, "PRIVMSGX"));
	assert_false(irc_msg_span_is(&(irc_msg_span_t){NULL, 0}, ""));
	assert_int_equal(m.n_params, 2);
	assert_span(&m.params[0], "#chan");
	assert_span(&m.params[1], "hello  world ");
}

static void test_parse_no_tags_no_source(void **state)
{
	irc_msg_t m;

	assert_int_equal(parse_str("PING :irc.example.net\n", 0, &m), 0);
	assert_null(m.tags.ptr);
	assert_null(m.source.ptr);
	assert_span(&m.command, "PING");
	assert_int_equal(m.n_params, 1);
	assert_span(&m.params[0], "irc.example.net");

	assert_int_equal(parse_str(":irc.example.net 001 alice :Welcome to the eIRC IRC Network "
				   "alice!u1@127.0.0.1",
				   0, &m),
			 0);
	assert_span(&m.command, "001");
	assert_int_equal(m.n_params, 2);
}

static void test_parse_tag_forms_and_escapes(void **state)
{
	irc_msg_t m;
	irc_msg_tag_t t;
	size_t pos = 0, n = 0;

	assert_int_equal(parse_str("@a;b=;c=\\:\\s\\\\\\r\\n;d=\\q\\;e=x\\ CMD", 0, &m), 0);
	assert_tag(&m, "a", NULL);
	assert_tag(&m, "b", "");
	assert_tag(&m, "c", "; \\\r\n");
	assert_tag(&m, "d", "q"); /* unknown escape: backslash dropped */
	assert_tag(&m, "e", "x"); /* trailing lone backslash dropped */
	assert_int_equal(irc_msg_tag_get(&m, "f", &t), IRC_MSG_ENOENT);
	while (irc_msg_tag_next(&m, &pos, &t))
		n++;
	assert_int_equal(n, 5);
	assert_span(&m.command, "CMD");
}

static void test_parse_duplicate_tags_last_wins(void **state)
{
	irc_msg_t m;
	irc_msg_tag_t t;
	size_t pos = 0;

	assert_int_equal(parse_str("@k=1;v/k=2;k=3 CMD", 0, &m), 0);
	assert_tag(&m, "k", "3");
	assert_tag(&m, "v/k", "2");
	assert_true(irc_msg_tag_next(&m, &pos, &t));
	assert_int_equal(t.key_len, 1);
	assert_memory_equal(t.value, "1", 1);
}

static void test_parse_spaces(void **state)
{
	irc_msg_t m;

	assert_int_equal(parse_str("@a=b   :src   CMD   p1    p2   :  t  ", 0, &m), 0);
	assert_span(&m.source, "src");
	assert_int_equal(m.n_params, 3);
	assert_span(&m.params[2], "  t  ");
	assert_int_equal(parse_str("CMD p1   ", 0, &m), 0);
	assert_int_equal(m.n_params, 1);
	assert_int_equal(parse_str("CMD\tx", 0, &m), IRC_MSG_EMALFORMED);
}

static void test_parse_params_max(void **state)
{
	irc_msg_t m;

	assert_int_equal(parse_str("C 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15", 0, &m), 0);
	assert_int_equal(m.n_params, IRC_PARAMS_MAX);
	assert_span(&m.params[14], "15");
	/* One past: the 15th takes the rest of the line (RFC 2812). */
	assert_int_equal(parse_str("C 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16  17", 0, &m), 0);
	assert_int_equal(m.n_params, IRC_PARAMS_MAX);
	assert_span(&m.params[14], "15 16  17");
	assert_int_equal(parse_str("C 1 2 3 4 5 6 7 8 9 10 11 12 13 14 :15 16", 0, &m), 0);
	assert_span(&m.params[14], "15 16");
}

static void test_parse_eol_and_forbidden_bytes(void **state)
{
	irc_msg_t m;
	char nul[] = "PRIVMSG #c :a\0b";

	assert_int_equal(parse_str("CMD x\r\n", 0, &m), 0);
	assert_span(&m.params[0], "x");
	assert_int_equal(parse_str("CMD x\n", 0, &m), 0);
	assert_span(&m.params[0], "x");
	assert_int_equal(parse_str("CMD x\r", 0, &m), IRC_MSG_EMALFORMED);
	assert_int_equal(parse_str("CMD x\ry", 0, &m), IRC_MSG_EMALFORMED);
	assert_int_equal(parse_str("CMD x\ny", 0, &m), IRC_MSG_EMALFORMED);
	assert_int_equal(parse_str("CMD x\r\r\n", 0, &m), IRC_MSG_EMALFORMED);
	assert_int_equal(parse_str("CMD x\n\n", 0, &m), IRC_MSG_EMALFORMED);
	assert_int_equal(irc_msg_parse(nul, sizeof(nul) - 1, 0, &m), IRC_MSG_EMALFORMED);
}

static void test_parse_malformed(void **state)
{
	static const char *const bad[] = {
		"",          "\r\n",         "   ",     ":src",       ":src ",    ": CMD",
		":",         "@a",           "@a=b",    "@ CMD",      "@a; CMD",  "@;a CMD",
		"@=v CMD",   "@a/ CMD",      "@/a CMD", "@a/b/c CMD", "@a_b CMD", "@+ CMD",
		"@+/a CMD",  "@v_x/a CMD",   "12 x",    "1234",       "PRIV1",    "PRIV-MSG",
		"@a=b :src", "@a=b :src 12",
	};
	irc_msg_t m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse_str(bad[i], 0, &m);
		if (rc != IRC_MSG_EMALFORMED)
			fail_msg("\"%s\": got %d (%s)", bad[i], rc, irc_msg_strerror(rc));
	}
}

static void test_parse_failure_leaves_everything(void **state)
{
	static const char line[] = "@a=b\\sc;+d=e :src 12 x";
	irc_msg_t m, before;

	memset(&m, 0xA5, sizeof(m));
	before = m;
	assert_int_equal(parse_str(line, 0, &m), IRC_MSG_EMALFORMED);
	assert_memory_equal(&m, &before, sizeof(m));
	assert_string_equal(g_buf, line);
}

/* Writes "@" + tags of exactly data_len bytes (tag "a=xxx...") + " CMD". */
static void make_tags_line(char *s, size_t data_len, const char *key)
{
	size_t klen = strlen(key);

	s[0] = '@';
	memcpy(s + 1, key, klen);
	s[1 + klen] = '=';
	strcpy(fill(s + 2 + klen, data_len - klen - 1), " CMD");
}

static void test_limit_tags_section(void **state)
{
	static char line[BUF_MAX];
	irc_msg_t m;

	/* Section = data + '@' + ' ' = IRC_TAGS_MAX: fits. */
	make_tags_line(line, IRC_TAGS_MAX - 2, "a");
	assert_int_equal(parse_str(line, 0, &m), 0);
	assert_int_equal(m.tags.len, IRC_TAGS_MAX - 2 + 1);
	make_tags_line(line, IRC_TAGS_MAX - 1, "a");
	assert_int_equal(parse_str(line, 0, &m), IRC_MSG_ETAGSTOOLONG);
	/* No space at all within the limit. */
	line[0] = '@';
	fill(line + 1, IRC_TAGS_MAX + 10);
	assert_int_equal(parse_str(line, 0, &m), IRC_MSG_ETAGSTOOLONG);
}

static void test_limit_client_tags(void **state)
{
	static char line[BUF_MAX];
	irc_msg_t m;

	make_tags_line(line, IRC_TAGS_CLIENT_MAX, "+a");
	assert_int_equal(parse_str(line, 0, &m), 0);
	make_tags_line(line, IRC_TAGS_CLIENT_MAX + 1, "+a");
	assert_int_equal(parse_str(line, 0, &m), IRC_MSG_ETAGSTOOLONG);
	/* Server tags are not client tags... */
	make_tags_line(line, IRC_TAGS_CLIENT_MAX + 1, "a");
	assert_int_equal(parse_str(line, 0, &m), 0);
	/* ...unless the line comes from a client. */
	assert_int_equal(parse_str(line, IRC_MSG_F_CLIENT, &m), IRC_MSG_ETAGSTOOLONG);
	make_tags_line(line, IRC_TAGS_CLIENT_MAX, "a");
	assert_int_equal(parse_str(line, IRC_MSG_F_CLIENT, &m), 0);
	/* Two client tags: their data counts the ';' between them. */
	strcpy(line, "@+a=");
	strcpy(fill(line + 4, IRC_TAGS_CLIENT_MAX - 3 - 5), ";+b=x;c CMD");
	assert_int_equal(parse_str(line, 0, &m), 0);
	strcpy(line, "@+a=");
	strcpy(fill(line + 4, IRC_TAGS_CLIENT_MAX - 3 - 4), ";+b=x;c CMD");
	assert_int_equal(parse_str(line, 0, &m), IRC_MSG_ETAGSTOOLONG);
}

static void test_limit_message_part(void **state)
{
	static char line[BUF_MAX];
	irc_msg_t m;
	char *p;

	/* 510 bytes of message + CRLF = IRC_MSG_MAX. */
	strcpy(line, "PRIVMSG #c :");
	fill(line + 12, IRC_MSG_MAX - 2 - 12);
	assert_int_equal(parse_str(line, 0, &m), 0);
	strcat(line, "\r\n");
	assert_int_equal(parse_str(line, 0, &m), 0);
	strcpy(line, "PRIVMSG #c :");
	fill(line + 12, IRC_MSG_MAX - 1 - 12);
	assert_int_equal(parse_str(line, 0, &m), IRC_MSG_ETOOLONG);
	strcat(line, "\n");
	assert_int_equal(parse_str(line, 0, &m), IRC_MSG_ETOOLONG);
	/* Tags do not count towards the message part. */
	strcpy(line, "@a=b PRIVMSG #c :");
	p = fill(line + 17, IRC_MSG_MAX - 2 - 12);
	assert_int_equal(parse_str(line, 0, &m), 0);
	strcpy(p, "x");
	assert_int_equal(parse_str(line, 0, &m), IRC_MSG_ETOOLONG);
}

/* Serializes m, parses the result, and checks both messages are equal. */
static void assert_round_trip(const irc_msg_t *m, unsigned flags)
{
	irc_msg_t again;
	int n = irc_msg_serialize(m, flags, g_out, sizeof(g_out));

	assert_true(n > 0);
	assert_int_equal(strlen(g_out), (size_t)n);
	assert_int_equal(irc_msg_parse(g_out, (size_t)n, flags, &again), 0);
	assert_true(irc_msg_equal(m, &again));
}

static void test_round_trip_lines(void **state)
{
	static const char *const lines[] = {
		"@time=2024-05-01T10:00:00.000Z;account=alice;msgid=Zx1 :alice!u1@h PRIVMSG #c :hi",
		"@+typing=active;+draft/reply=x TAGMSG #c",
		"@label=l1;eirc/user=42;eirc/nick=bob CHATHISTORY LATEST #chan * 50",
		"@batch=ref1 :srv.example 005 bob CASEMAPPING=rfc1459 CHANTYPES=# :are supported",
		"@a=\\:\\s\\\\\\r\\n;b;c= CMD :",
		":n!u@h JOIN #c * :Real Name",
		"CAP * LS :multi-prefix sasl message-tags",
		"PING x",
	};
	irc_msg_t m;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		assert_int_equal(parse_str(lines[i], 0, &m), 0);
		assert_round_trip(&m, 0);
		assert_round_trip(&m, IRC_MSG_F_CRLF);
	}
}

static void test_tag_value_escape_round_trip(void **state)
{
	static const char *const values[] = {
		"",
		"plain",
		";",
		" ",
		"\\",
		"\r",
		"\n",
		"; \\\r\n",
		"\\\\s",
		"\\:",
		"end\\",
		"a=b=c",
		"\xc3\xa9t\xc3\xa9",
		"\x01\x7f",
	};
	char tags[256];
	irc_msg_t m = {.command = {"TAGMSG", 6}};

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		irc_msg_t again;
		size_t len = 0;
		int n;

		assert_int_equal(irc_msg_tags_append("+v/k", 4, values[i], strlen(values[i]), tags,
						     sizeof(tags), &len),
				 0);
		m.tags = (irc_msg_span_t){tags, len};
		n = irc_msg_serialize(&m, 0, g_out, sizeof(g_out));
		assert_true(n > 0);
		assert_int_equal(irc_msg_parse(g_out, (size_t)n, 0, &again), 0);
		assert_true(irc_msg_equal(&m, &again));
		assert_tag(&again, "+v/k", values[i]);
	}
}

static void test_serialize_trailing_choice(void **state)
{
	irc_msg_t m = {.command = {"PRIVMSG", 7}, .n_params = 2};

	m.params[0] = (irc_msg_span_t){"#c", 2};
	m.params[1] = (irc_msg_span_t){"word", 4};
	assert_int_equal(irc_msg_serialize(&m, 0, g_out, sizeof(g_out)), 15);
	assert_string_equal(g_out, "PRIVMSG #c word");
	m.params[1] = (irc_msg_span_t){":x", 2};
	irc_msg_serialize(&m, 0, g_out, sizeof(g_out));
	assert_string_equal(g_out, "PRIVMSG #c ::x");
	m.params[1] = (irc_msg_span_t){"a b", 3};
	irc_msg_serialize(&m, 0, g_out, sizeof(g_out));
	assert_string_equal(g_out, "PRIVMSG #c :a b");
	m.params[1] = (irc_msg_span_t){NULL, 0};
	irc_msg_serialize(&m, IRC_MSG_F_CRLF, g_out, sizeof(g_out));
	assert_string_equal(g_out, "PRIVMSG #c :\r\n");
	m.params[1] = (irc_msg_span_t){"a\tb", 3};
	irc_msg_serialize(&m, 0, g_out, sizeof(g_out));
	assert_string_equal(g_out, "PRIVMSG #c a\tb");
}

static void test_serialize_invalid(void **state)
{
	irc_msg_t ok = {.command = {"NOTICE", 6}, .n_params = 2}, m;

	ok.params[0] = (irc_msg_span_t){"#c", 2};
	ok.params[1] = (irc_msg_span_t){"hi", 2};
	m = ok;
	m.command = (irc_msg_span_t){"12", 2};
	assert_int_equal(irc_msg_serialize(&m, 0, g_out, sizeof(g_out)), IRC_MSG_EINVAL);
	m.command = (irc_msg_span_t){NULL, 0};
	assert_int_equal(irc_msg_serialize(&m, 0, g_out, sizeof(g_out)), IRC_MSG_EINVAL);
	m = ok;
	m.source = (irc_msg_span_t){"a b", 3};
	assert_int_equal(irc_msg_serialize(&m, 0, g_out, sizeof(g_out)), IRC_MSG_EINVAL);
	m.source = (irc_msg_span_t){"", 0};
	assert_int_equal(irc_msg_serialize(&m, 0, g_out, sizeof(g_out)), IRC_MSG_EINVAL);
	static const char *const middles[] = {"", "a b", ":a"};
	for (size_t i = 0; i < 3; i++) {
		m = ok;
		m.params[0] = (irc_msg_span_t){middles[i], strlen(middles[i])};
		assert_int_equal(irc_msg_serialize(&m, 0, g_out, sizeof(g_out)), IRC_MSG_EINVAL);
	}
	static const char *const forbidden[] = {"a\rb", "a\nb", "a\0b"};
	for (size_t i = 0; i < 3; i++) {
		m = ok;
		m.params[1] = (irc_msg_span_t){forbidden[i], 3};
		assert_int_equal(irc_msg_serialize(&m, 0, g_out, sizeof(g_out)), IRC_MSG_EINVAL);
	}
	m = ok;
	m.n_params = IRC_PARAMS_MAX + 1;
	assert_int_equal(irc_msg_serialize(&m, 0, g_out, sizeof(g_out)), IRC_MSG_EINVAL);
	m = ok;
	m.tags = (irc_msg_span_t){"bad_key\0", 8};
	assert_int_equal(irc_msg_serialize(&m, 0, g_out, sizeof(g_out)), IRC_MSG_EINVAL);
}

static void test_serialize_buffer_exact(void **state)
{
	irc_msg_t m;
	char small[64];

	assert_int_equal(parse_str("@a=b;c :s CMD x :y z", 0, &m), 0);
	/* 20 bytes + NUL: 21 fits, 20 does not (never truncated). */
	assert_int_equal(irc_msg_serialize(&m, 0, small, 21), 20);
	assert_string_equal(small, "@a=b;c :s CMD x :y z");
	assert_int_equal(irc_msg_serialize(&m, 0, small, 20), IRC_MSG_ENOBUFS);
	assert_int_equal(irc_msg_serialize(&m, IRC_MSG_F_CRLF, small, 22), IRC_MSG_ENOBUFS);
	assert_int_equal(irc_msg_serialize(&m, IRC_MSG_F_CRLF, small, 23), 22);
	assert_int_equal(irc_msg_serialize(&m, 0, small, 0), IRC_MSG_ENOBUFS);
}

static void test_serialize_limits(void **state)
{
	static char big[IRC_TAGS_MAX];
	static char tags[IRC_TAGS_MAX + 8];
	irc_msg_t m = {.command = {"PRIVMSG", 7}, .n_params = 2};
	size_t len = 0;

	m.params[0] = (irc_msg_span_t){"#c", 2};
	fill(big, sizeof(big) - 1);
	/* Message part: "PRIVMSG #c " is 11 bytes (no ':' needed), + CRLF. */
	m.params[1] = (irc_msg_span_t){big, IRC_MSG_MAX - 2 - 11};
	assert_int_equal(irc_msg_serialize(&m, 0, g_out, sizeof(g_out)), IRC_MSG_MAX - 2);
	m.params[1].len++;
	assert_int_equal(irc_msg_serialize(&m, 0, g_out, sizeof(g_out)), IRC_MSG_ETOOLONG);
	m.params[1].len = 4;
	/* Tags section '@' + "a=" + 8187 + ' ' = IRC_TAGS_MAX, then one past. */
	assert_int_equal(
		irc_msg_tags_append("a", 1, big, IRC_TAGS_MAX - 2 - 2, tags, sizeof(tags), &len),
		0);
	m.tags = (irc_msg_span_t){tags, len};
	assert_true(irc_msg_serialize(&m, 0, g_out, sizeof(g_out)) > 0);
	assert_int_equal(irc_msg_serialize(&m, IRC_MSG_F_CLIENT, g_out, sizeof(g_out)),
			 IRC_MSG_ETAGSTOOLONG);
	len = 0;
	assert_int_equal(
		irc_msg_tags_append("a", 1, big, IRC_TAGS_MAX - 2 - 1, tags, sizeof(tags), &len),
		0);
	m.tags = (irc_msg_span_t){tags, len};
	assert_int_equal(irc_msg_serialize(&m, 0, g_out, sizeof(g_out)), IRC_MSG_ETAGSTOOLONG);
	len = 0;
	/* Client tag data is counted escaped: a space takes two bytes.
	 * "+a=" + 2045 spaces + "x" = 3 + 4090 + 1 = IRC_TAGS_CLIENT_MAX. */
	memset(big, ' ', 2047);
	assert_int_equal(irc_msg_tags_append("+a", 2, big + 2, 2046, tags, sizeof(tags), &len), 0);
	m.tags = (irc_msg_span_t){tags, len};
	assert_true(irc_msg_serialize(&m, 0, g_out, sizeof(g_out)) > 0);
	len = 0; /* 3 + 2 * 2046 = IRC_TAGS_CLIENT_MAX + 1 */
	assert_int_equal(irc_msg_tags_append("+a", 2, big + 1, 2046, tags, sizeof(tags), &len), 0);
	m.tags = (irc_msg_span_t){tags, len};
	assert_int_equal(irc_msg_serialize(&m, 0, g_out, sizeof(g_out)), IRC_MSG_ETAGSTOOLONG);
}

static void test_tags_append_and_serialize(void **state)
{
	char tags[16], raw[64];
	size_t len = 0;
	irc_msg_t m = {.command = {"CMD", 3}};

	assert_int_equal(irc_msg_tags_append("k", 1, "a b", 3, tags, sizeof(tags), &len), 0);
	assert_int_equal(irc_msg_tags_append("+n", 2, NULL, 0, tags, sizeof(tags), &len), 0);
	assert_int_equal(len, 9);
	assert_int_equal(irc_msg_tags_append("k_", 2, NULL, 0, tags, sizeof(tags), &len),
			 IRC_MSG_EINVAL);
	assert_int_equal(irc_msg_tags_append("k", 1, "a\0b", 3, tags, sizeof(tags), &len),
			 IRC_MSG_EINVAL);
	assert_int_equal(irc_msg_tags_append("long", 4, "valu", 4, tags, sizeof(tags), &len),
			 IRC_MSG_ENOBUFS);
	assert_int_equal(len, 9);
	m.tags = (irc_msg_span_t){tags, len};
	assert_int_equal(irc_msg_tags_serialize(&m, raw, sizeof(raw)), 9);
	assert_string_equal(raw, "k=a\\sb;+n");
	assert_int_equal(irc_msg_tags_serialize(&m, raw, 9), IRC_MSG_ENOBUFS);
	m.tags = (irc_msg_span_t){NULL, 0};
	assert_int_equal(irc_msg_tags_serialize(&m, raw, sizeof(raw)), 0);
	assert_string_equal(raw, "");
}

static void test_tag_key_valid(void **state)
{
	static const char *const good[] = {"a",           "A-1",        "+a",
					   "v.example/k", "+v-1.x/k-2", "draft/label"};
	static const char *const bad[] = {"",    "+",   "/",   "a/",    "/a",  "+/a", "a/b/c",
					  "a_b", "a=b", "a b", "v_x/a", "++a", "a+"};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(irc_msg_tag_key_valid(good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(irc_msg_tag_key_valid(bad[i], strlen(bad[i])));
}

static void test_strerror_distinct(void **state)
{
	static const int codes[] = {IRC_MSG_EAGAIN,     IRC_MSG_ETOOLONG, IRC_MSG_ETAGSTOOLONG,
				    IRC_MSG_EMALFORMED, IRC_MSG_ENOBUFS,  IRC_MSG_EINVAL,
				    IRC_MSG_ENOENT};
	size_t n = sizeof(codes) / sizeof(codes[0]);

	for (size_t i = 0; i < n; i++) {
		assert_true(codes[i] < 0);
		for (size_t j = i + 1; j < n; j++) {
			assert_int_not_equal(codes[i], codes[j]);
			assert_string_not_equal(irc_msg_strerror(codes[i]),
						irc_msg_strerror(codes[j]));
		}
	}
	assert_string_equal(irc_msg_strerror(-9999), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_full_line),
		cmocka_unit_test(test_parse_no_tags_no_source),
		cmocka_unit_test(test_parse_tag_forms_and_escapes),
		cmocka_unit_test(test_parse_duplicate_tags_last_wins),
		cmocka_unit_test(test_parse_spaces),
		cmocka_unit_test(test_parse_params_max),
		cmocka_unit_test(test_parse_eol_and_forbidden_bytes),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_parse_failure_leaves_everything),
		cmocka_unit_test(test_limit_tags_section),
		cmocka_unit_test(test_limit_client_tags),
		cmocka_unit_test(test_limit_message_part),
		cmocka_unit_test(test_round_trip_lines),
		cmocka_unit_test(test_tag_value_escape_round_trip),
		cmocka_unit_test(test_serialize_trailing_choice),
		cmocka_unit_test(test_serialize_invalid),
		cmocka_unit_test(test_serialize_buffer_exact),
		cmocka_unit_test(test_serialize_limits),
		cmocka_unit_test(test_tags_append_and_serialize),
		cmocka_unit_test(test_tag_key_valid),
		cmocka_unit_test(test_strerror_distinct),
	};

	return cmocka_run_group_tests_name("irc_msg", tests, NULL, NULL);
}
