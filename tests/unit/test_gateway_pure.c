/*
 * eirc-gateway's pure modules: upgrade decisions (origin, subprotocol,
 * token in the query, trusted proxies and X-Forwarded-For), the browser
 * message assembler at its limit and one past it, split and malformed
 * input, the text/binary conversion towards the browser, the metrics
 * text, the session table with its per-address counts, the ${} scan that
 * decides the irc-client's environment, the consume answer parser, the
 * refusal of a browser's EIRC line, and the access check's body and answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/gw_access.h"
#include "gateway/gw_auth.h"
#include "gateway/gw_frame.h"
#include "gateway/gw_metrics.h"
#include "gateway/gw_session.h"
#include "gateway/gw_spawn.h"
#include "common/net_addr.h"
#include "gateway/gw_upgrade.h"

/* ---- gw_upgrade ---- */

static void test_origin(void **state)
{
	char *allowed[] = {(char *)"http://127.0.0.1:8080", (char *)"https://chat.example.com"};

	(void)state;
	assert_true(gw_origin_allowed("http://127.0.0.1:8080", allowed, 2, false));
	assert_true(gw_origin_allowed("HTTPS://Chat.Example.com", allowed, 2, false));
	assert_false(gw_origin_allowed("http://127.0.0.1:8081", allowed, 2, false));
	assert_false(gw_origin_allowed("https://chat.example.com.evil", allowed, 2, false));
	assert_false(gw_origin_allowed("https://chat.example.co", allowed, 2, false));
	assert_false(gw_origin_allowed("null", allowed, 2, false));
	assert_false(gw_origin_allowed(NULL, allowed, 2, false));
	assert_false(gw_origin_allowed("", allowed, 2, false));
	assert_true(gw_origin_allowed(NULL, allowed, 2, true));
	assert_false(gw_origin_allowed("http://x", NULL, 0, true));
}

static void test_subproto(void **state)
{
	(void)state;
	assert_int_equal(gw_subproto_choose(NULL), GW_SUBP_NONE);
	assert_int_equal(gw_subproto_choose(""), GW_SUBP_NONE);
	assert_int_equal(gw_subproto_choose("text.ircv3.net"), GW_SUBP_TEXT);
	assert_int_equal(gw_subproto_choose("binary.ircv3.net"), GW_SUBP_BINARY);
	assert_int_equal(gw_subproto_choose("binary.ircv3.net, text.ircv3.net"), GW_SUBP_BINARY);
	assert_int_equal(gw_subproto_choose("text.ircv3.net,binary.ircv3.net"), GW_SUBP_TEXT);
	assert_int_equal(gw_subproto_choose("foo, binary.ircv3.net"), GW_SUBP_BINARY);
	assert_int_equal(gw_subproto_choose("  ,, text.ircv3.net  "), GW_SUBP_TEXT);
	assert_int_equal(gw_subproto_choose("foo"), GW_SUBP_UNKNOWN);
	assert_int_equal(gw_subproto_choose("TEXT.IRCV3.NET"), GW_SUBP_UNKNOWN);
	assert_int_equal(gw_subproto_choose("text.ircv3.netx"), GW_SUBP_UNKNOWN);
	assert_int_equal(gw_subproto_choose("xtext.ircv3.net"), GW_SUBP_UNKNOWN);
	assert_int_equal(gw_subproto_choose(","), GW_SUBP_UNKNOWN);
}

static int token_of(const char *q, char out[GW_TOKEN_MAX + 1])
{
	return gw_token_from_query(q, strlen(q), out, GW_TOKEN_MAX + 1);
}

static void test_token(void **state)
{
	char out[GW_TOKEN_MAX + 1], q[GW_TOKEN_MAX + 64];

	(void)state;
	strcpy(out, "untouched");
	assert_int_equal(token_of("chat_token=abc-_XYZ09", out), 0);
	assert_string_equal(out, "abc-_XYZ09");
	assert_int_equal(token_of("a=1&chat_token=tok&b=2", out), 0);
	assert_string_equal(out, "tok");
	strcpy(out, "untouched");
	assert_int_equal(token_of("", out), -ENOENT);
	assert_int_equal(token_of("chat_token=", out), -ENOENT);
	assert_int_equal(token_of("chat_tokenx=abc", out), -ENOENT);
	assert_int_equal(token_of("xchat_token=abc", out), -ENOENT);
	assert_int_equal(token_of("chat_token", out), -ENOENT);
	assert_int_equal(token_of("chat_token=a&chat_token=b", out), -EINVAL);
	assert_int_equal(token_of("chat_token=a%20b", out), -EINVAL);
	assert_int_equal(token_of("chat_token=a b", out), -EINVAL);
	assert_int_equal(token_of("chat_token=a=b", out), -EINVAL);
	assert_string_equal(out, "untouched");
	assert_int_equal(gw_token_from_query(NULL, 0, out, sizeof(out)), -ENOENT);
	/* at the limit and one past it */
	strcpy(q, "chat_token=");
	memset(q + 11, 'a', GW_TOKEN_MAX);
	q[11 + GW_TOKEN_MAX] = '\0';
	assert_int_equal(token_of(q, out), 0);
	assert_int_equal(strlen(out), GW_TOKEN_MAX);
	strcat(q, "a");
	assert_int_equal(token_of(q, out), -EINVAL);
	/* a NUL inside the query is a malformed byte, not an end */
	assert_int_equal(gw_token_from_query("chat_token=a\0b", 14, out, sizeof(out)), -EINVAL);
	/* the buffer must hold it */
	assert_int_equal(gw_token_from_query("chat_token=abcd", 15, out, 4), -EINVAL);
}

static void test_cidr(void **state)
{
	net_cidr_t c[3];

	(void)state;
	assert_int_equal(net_cidr_parse("10.0.0.0/8", &c[0]), 0);
	assert_int_equal(net_cidr_parse("192.0.2.7", &c[1]), 0);
	assert_int_equal(net_cidr_parse("fd00::/8", &c[2]), 0);
	assert_true(net_cidr_match("10.255.1.2", c, 3));
	assert_false(net_cidr_match("11.0.0.1", c, 3));
	assert_true(net_cidr_match("192.0.2.7", c, 3));
	assert_false(net_cidr_match("192.0.2.8", c, 3));
	assert_true(net_cidr_match("fdab::1", c, 3));
	assert_false(net_cidr_match("fe80::1", c, 3));
	assert_false(net_cidr_match("garbage", c, 3));
	assert_false(net_cidr_match(NULL, c, 3));
	assert_int_equal(net_cidr_parse("10.1.2.3/12", &c[0]), 0); /* host bits cleared */
	assert_true(net_cidr_match("10.15.255.255", c, 1));
	assert_false(net_cidr_match("10.16.0.0", c, 1));
	assert_int_equal(net_cidr_parse("0.0.0.0/0", &c[0]), 0);
	assert_true(net_cidr_match("203.0.113.9", c, 1));
	assert_false(net_cidr_match("::1", c, 1));
	assert_int_equal(net_cidr_parse("10.0.0.0/33", &c[0]), -EINVAL);
	assert_int_equal(net_cidr_parse("::/129", &c[0]), -EINVAL);
	assert_int_equal(net_cidr_parse("10.0.0.0/", &c[0]), -EINVAL);
	assert_int_equal(net_cidr_parse("10.0.0.0/-1", &c[0]), -EINVAL);
	assert_int_equal(net_cidr_parse("10.0.0.0/8x", &c[0]), -EINVAL);
	assert_int_equal(net_cidr_parse("/8", &c[0]), -EINVAL);
	assert_int_equal(net_cidr_parse("host.example", &c[0]), -EINVAL);
	assert_int_equal(net_cidr_parse("", &c[0]), -EINVAL);
}

static void test_client_ip(void **state)
{
	net_cidr_t t[2];
	char out[NET_IP_MAX];

	(void)state;
	assert_int_equal(net_cidr_parse("127.0.0.1", &t[0]), 0);
	assert_int_equal(net_cidr_parse("10.0.0.0/8", &t[1]), 0);
	/* untrusted peer: XFF ignored */
	assert_int_equal(net_client_ip("198.51.100.1", "203.0.113.5", t, 2, out, sizeof(out)), 0);
	assert_string_equal(out, "198.51.100.1");
	/* trusted peer: right-most untrusted hop */
	assert_int_equal(net_client_ip("127.0.0.1", "1.1.1.1, 203.0.113.5, 10.0.0.3", t, 2, out,
				       sizeof(out)),
			 0);
	assert_string_equal(out, "203.0.113.5");
	/* every hop trusted: the left-most */
	assert_int_equal(net_client_ip("127.0.0.1", "10.0.0.9,10.0.0.3", t, 2, out, sizeof(out)),
			 0);
	assert_string_equal(out, "10.0.0.9");
	/* trusted peer without XFF */
	assert_int_equal(net_client_ip("127.0.0.1", NULL, t, 2, out, sizeof(out)), 0);
	assert_string_equal(out, "127.0.0.1");
	/* malformed right-most hop: the peer stands */
	assert_int_equal(net_client_ip("127.0.0.1", "203.0.113.5, evil", t, 2, out, sizeof(out)),
			 0);
	assert_string_equal(out, "127.0.0.1");
	assert_int_equal(net_client_ip("127.0.0.1", "", t, 2, out, sizeof(out)), 0);
	assert_string_equal(out, "127.0.0.1");
	assert_int_equal(net_client_ip("127.0.0.1", ",", t, 2, out, sizeof(out)), 0);
	assert_string_equal(out, "127.0.0.1");
	/* IPv6, canonical form */
	assert_int_equal(net_client_ip("127.0.0.1", "2001:DB8:0:0::1", t, 2, out, sizeof(out)), 0);
	assert_string_equal(out, "2001:db8::1");
	/* not an address */
	assert_int_equal(net_client_ip("nope", NULL, t, 2, out, sizeof(out)), -EINVAL);
	/* no trusted proxies at all */
	assert_int_equal(net_client_ip("127.0.0.1", "203.0.113.5", NULL, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "127.0.0.1");
}

/* ---- gw_frame ---- */

static int feed1(gw_frame_t *f, const char *s, size_t n, bool binary, const char **line,
		 size_t *len)
{
	return gw_frame_feed(f, s, n, true, true, binary, 0, line, len);
}

static void test_frame_basic(void **state)
{
	gw_frame_t *f = malloc(sizeof(*f));
	const char *line = NULL;
	size_t len = 0;

	(void)state;
	gw_frame_init(f);
	assert_int_equal(feed1(f, "NICK a", 6, false, &line, &len), GW_FRAME_LINE);
	assert_int_equal(len, 8);
	assert_memory_equal(line, "NICK a\r\n", 8);
	assert_int_equal(feed1(f, "", 0, false, &line, &len), GW_FRAME_EMPTY);
	/* fragments, a code point split across them */
	assert_int_equal(
		gw_frame_feed(f, "PRIVMSG #a :\xC3", 13, true, false, false, 0, &line, &len),
		GW_FRAME_MORE);
	assert_int_equal(gw_frame_feed(f, "\xA9!", 2, false, true, false, 0, &line, &len),
			 GW_FRAME_LINE);
	assert_memory_equal(line, "PRIVMSG #a :\xC3\xA9!\r\n", 17);
	/* binary: any byte but CR, LF, NUL */
	assert_int_equal(feed1(f, "PRIVMSG #a :\xFF\xFE", 14, true, &line, &len), GW_FRAME_LINE);
	free(f);
}

static void test_frame_refusals(void **state)
{
	gw_frame_t *f = malloc(sizeof(*f));
	const char *line = NULL;
	size_t len = 0;

	(void)state;
	gw_frame_init(f);
	assert_int_equal(feed1(f, "a\rb", 3, false, &line, &len), GW_FRAME_ECRLF);
	/* an error sticks */
	assert_int_equal(feed1(f, "ok", 2, false, &line, &len), GW_FRAME_ECRLF);
	gw_frame_init(f);
	assert_int_equal(feed1(f, "a\nb", 3, true, &line, &len), GW_FRAME_ECRLF);
	gw_frame_init(f);
	assert_int_equal(feed1(f, "a\0b", 3, true, &line, &len), GW_FRAME_ECRLF);
	gw_frame_init(f);
	assert_int_equal(feed1(f, "a\r\n", 3, false, &line, &len), GW_FRAME_ECRLF);
	gw_frame_init(f);
	assert_int_equal(feed1(f, "\xFF", 1, false, &line, &len), GW_FRAME_EUTF8);
	gw_frame_init(f);
	assert_int_equal(feed1(f, "\xED\xA0\x80", 3, false, &line, &len), GW_FRAME_EUTF8);
	gw_frame_init(f);
	/* a sequence cut by the end of the message */
	assert_int_equal(feed1(f, "x\xC3", 2, false, &line, &len), GW_FRAME_EUTF8);
	gw_frame_init(f);
	assert_int_equal(gw_frame_feed(f, "x\xC3", 2, true, false, false, 0, &line, &len),
			 GW_FRAME_MORE);
	assert_int_equal(gw_frame_feed(f, "y", 1, false, true, false, 0, &line, &len),
			 GW_FRAME_EUTF8);
	assert_int_equal(gw_frame_close_code(GW_FRAME_ETOOBIG), 1009);
	assert_int_equal(gw_frame_close_code(GW_FRAME_ECRLF), 1008);
	assert_int_equal(gw_frame_close_code(GW_FRAME_EUTF8), 1007);
	assert_string_equal(gw_frame_close_reason(GW_FRAME_ETOOBIG), "message too big");
	assert_string_equal(gw_frame_error_label(GW_FRAME_EUTF8), "invalid_utf8");
	free(f);
}

static void test_frame_limit(void **state)
{
	gw_frame_t *f = malloc(sizeof(*f));
	char *big = malloc(GW_LINE_MAX + 1);
	const char *line = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(GW_LINE_MAX, 8191 + 512 - 2);
	memset(big, 'a', GW_LINE_MAX + 1);
	gw_frame_init(f);
	/* at the limit */
	assert_int_equal(feed1(f, big, GW_LINE_MAX, false, &line, &len), GW_FRAME_LINE);
	assert_int_equal(len, GW_LINE_MAX + 2);
	/* one past it */
	assert_int_equal(feed1(f, big, GW_LINE_MAX + 1, false, &line, &len), GW_FRAME_ETOOBIG);
	/* fragments: at the limit in sum, then one past */
	gw_frame_init(f);
	assert_int_equal(gw_frame_feed(f, big, 5000, true, false, false, 0, &line, &len),
			 GW_FRAME_MORE);
	assert_int_equal(
		gw_frame_feed(f, big, GW_LINE_MAX - 5000, false, true, false, 0, &line, &len),
		GW_FRAME_LINE);
	assert_int_equal(gw_frame_feed(f, big, 5000, true, false, false, 0, &line, &len),
			 GW_FRAME_MORE);
	assert_int_equal(
		gw_frame_feed(f, big, GW_LINE_MAX - 4999, false, true, false, 0, &line, &len),
		GW_FRAME_ETOOBIG);
	/* announced: a frame whose rest would pass the limit is refused early */
	gw_frame_init(f);
	assert_int_equal(
		gw_frame_feed(f, big, 10, true, false, false, GW_LINE_MAX - 10, &line, &len),
		GW_FRAME_MORE);
	gw_frame_init(f);
	assert_int_equal(
		gw_frame_feed(f, big, 10, true, false, false, GW_LINE_MAX - 9, &line, &len),
		GW_FRAME_ETOOBIG);
	gw_frame_init(f);
	assert_int_equal(gw_frame_feed(f, big, 10, true, false, false, SIZE_MAX, &line, &len),
			 GW_FRAME_ETOOBIG);
	/* a new message drops the bytes of an unfinished one */
	gw_frame_init(f);
	assert_int_equal(gw_frame_feed(f, big, GW_LINE_MAX, true, false, false, 0, &line, &len),
			 GW_FRAME_MORE);
	assert_int_equal(feed1(f, "PING x", 6, false, &line, &len), GW_FRAME_LINE);
	free(big);
	free(f);
}

static void test_frame_one_byte_at_a_time(void **state)
{
	static const char msg[] = "@a=b PRIVMSG #c :h\xC3\xA9llo \xF0\x9F\x98\x80";
	gw_frame_t *f = malloc(sizeof(*f));
	const char *line = NULL;
	size_t len = 0, n = sizeof(msg) - 1;

	(void)state;
	gw_frame_init(f);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(
			gw_frame_feed(f, msg + i, 1, i == 0, i == n - 1, false, 0, &line, &len),
			i == n - 1 ? GW_FRAME_LINE : GW_FRAME_MORE);
	assert_int_equal(len, n + 2);
	assert_memory_equal(line, msg, n);
	free(f);
}

static void test_to_browser(void **state)
{
	char out[64];
	size_t n = 0;

	(void)state;
	assert_int_equal(gw_frame_to_browser("ok \xFF!", 5, false, out, sizeof(out), &n), 0);
	assert_int_equal(n, 7);
	assert_memory_equal(out, "ok \xEF\xBF\xBD!", 7);
	assert_int_equal(gw_frame_to_browser("ok \xFF!", 5, true, out, sizeof(out), &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "ok \xFF!", 5);
	assert_int_equal(gw_frame_to_browser("\xFF\xFF", 2, false, out, 5, &n), -ENOBUFS);
	assert_int_equal(gw_frame_to_browser("abcdef", 6, true, out, 5, &n), -ENOBUFS);
	assert_int_equal(gw_frame_to_browser("\xFF\xFF", 2, false, out, GW_TO_BROWSER_MAX(2), &n),
			 0);
	assert_int_equal(n, 6);
}

/* ---- gw_metrics ---- */

static void test_metrics(void **state)
{
	gw_metrics_t *m = calloc(1, sizeof(*m));
	char *text = NULL;
	size_t len = 0;

	(void)state;
	m->sessions_open = 3;
	m->upgrades_refused[GW_REF_MAX_SESSIONS_PER_IP] = 2;
	m->bytes_to_browser = 1234;
	m->frames_refused[GW_FREF_CRLF_NUL] = 1;
	gw_metrics_child_exit(m, 0, 0);
	gw_metrics_child_exit(m, 1, 0);
	gw_metrics_child_exit(m, 1, 0);
	gw_metrics_child_exit(m, 0, 9);
	gw_metrics_child_exit(m, 0, 99); /* out of range: ignored */
	assert_int_equal(gw_metrics_render(m, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	assert_non_null(strstr(text, "# TYPE eirc_gateway_sessions_open gauge\n"
				     "eirc_gateway_sessions_open 3\n"));
	assert_non_null(strstr(text, "eirc_gateway_upgrades_refused_total{reason="
				     "\"max_sessions_per_ip\"} 2\n"));
	assert_non_null(strstr(text, "eirc_gateway_upgrades_refused_total{reason="
				     "\"origin\"} 0\n"));
	assert_non_null(strstr(text, "eirc_gateway_bytes_total{direction=\"to_browser\"} 1234\n"));
	assert_non_null(strstr(text, "eirc_gateway_frames_refused_total{reason=\"crlf_nul\"} 1\n"));
	assert_non_null(
		strstr(text, "eirc_gateway_child_exits_total{how=\"exit\",code=\"1\"} 2\n"));
	assert_non_null(
		strstr(text, "eirc_gateway_child_exits_total{how=\"exit\",code=\"0\"} 1\n"));
	assert_non_null(strstr(text, "eirc_gateway_child_exits_total{how=\"signal\",code=\"9\"} "
				     "1\n"));
	assert_null(strstr(text, "code=\"99\""));
	assert_non_null(strstr(text, "# TYPE eirc_gateway_queue_high_water_total counter\n"));
	assert_non_null(strstr(text, "eirc_gateway_children 0\n"));
	assert_string_equal(gw_refusal_label(GW_REF_INVALID_TOKEN), "invalid_token");
	assert_string_equal(gw_refusal_label(GW_REF_FD_LIMIT), "fd_limit");
	assert_non_null(strstr(text, "eirc_gateway_upgrades_refused_total{reason="
				     "\"fd_limit\"} 0\n"));
	assert_string_equal(gw_refusal_label(GW_REF_COUNT), "other");
	free(text);
	free(m);
}

/* ---- gw_session table ---- */

static gw_session_t *sess(const char *id, const char *ip)
{
	gw_session_t *s = calloc(1, sizeof(*s));

	snprintf(s->request_id, sizeof(s->request_id), "%s", id);
	snprintf(s->client_ip, sizeof(s->client_ip), "%s", ip);
	return s;
}

static void test_table(void **state)
{
	gw_table_t *t = malloc(sizeof(*t));
	gw_session_t *a = sess("g-1", "10.0.0.1"), *b = sess("g-2", "10.0.0.1"),
		     *c = sess("g-3", "10.0.0.2"), *dup = sess("g-2", "10.0.0.9");

	(void)state;
	gw_table_init(t);
	assert_int_equal(gw_table_add(t, a), 0);
	assert_int_equal(gw_table_add(t, b), 0);
	assert_int_equal(gw_table_add(t, c), 0);
	assert_int_equal(gw_table_add(t, dup), -EEXIST);
	assert_int_equal(t->count, 3);
	assert_int_equal(gw_table_ip_count(t, "10.0.0.1"), 2);
	assert_int_equal(gw_table_ip_count(t, "10.0.0.2"), 1);
	assert_int_equal(gw_table_ip_count(t, "10.0.0.9"), 0);
	assert_ptr_equal(gw_table_find(t, "g-2"), b);
	assert_null(gw_table_find(t, "g-4"));
	gw_table_remove(t, b);
	assert_null(gw_table_find(t, "g-2"));
	assert_int_equal(gw_table_ip_count(t, "10.0.0.1"), 1);
	gw_table_remove(t, a);
	gw_table_remove(t, c);
	assert_int_equal(t->count, 0);
	assert_true(queue_empty(&t->all));
	assert_int_equal(gw_table_ip_count(t, "10.0.0.1"), 0);
	/* many sessions in few buckets, removed out of order */
	gw_session_t *many[3 * GW_TABLE_BUCKETS / 2];
	for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++) {
		char id[32];
		snprintf(id, sizeof(id), "g-%zu", i);
		many[i] = sess(id, i % 2 ? "::1" : "192.0.2.1");
		assert_int_equal(gw_table_add(t, many[i]), 0);
	}
	assert_int_equal(gw_table_ip_count(t, "::1"), GW_TABLE_BUCKETS * 3 / 4);
	for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i += 2)
		gw_table_remove(t, many[i]);
	for (size_t i = 1; i < sizeof(many) / sizeof(many[0]); i += 2) {
		assert_ptr_equal(gw_table_find(t, many[i]->request_id), many[i]);
		gw_table_remove(t, many[i]);
	}
	assert_int_equal(t->count, 0);
	for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++)
		free(many[i]);
	free(a), free(b), free(c), free(dup);
	free(t);
}

/* ---- gw_spawn: start-up checks ---- */

/* Writes the config (with the irc-client binary and the sandbox user to
 * use) at path, loads it and runs gw_spawn_cfg_init on it. */
static int spawn_init(gw_spawn_cfg_t *c, const char *path, const char *client, const char *user,
		      eirc_err_t *err)
{
	eirc_config_t *cfg = NULL;
	FILE *f = fopen(path, "w");
	int r;

	assert_non_null(f);
	fprintf(f,
		"irc:\n  servers:\n    - host: 127.0.0.1\n"
		"  webirc_password: ${GW_TEST_NEEDED}\n  webirc_gateway: ${GW_TEST_BOTH}\n"
		"auth:\n  internal_secret: "
		"${GW_TEST_SECRET}\n  database:\n    password: ${GW_TEST_BOTH}\n"
		"gateway:\n  irc_client_path: %s\n"
		"irc_client:\n  sandbox_user: %s\n"
		"history:\n  socket_path: /run/${GW_TEST_RUN}/h.sock\n"
		"  introspect_client_secret: ${GW_TEST_HISTORY}\n"
		"  session_key: 0123456789abcdef0123456789abcdef\n",
		client, user);
	fclose(f);
	assert_int_equal(eirc_config_load(path, &cfg, NULL), 0);
	memset(c, 0, sizeof(*c));
	r = gw_spawn_cfg_init(c, cfg, path, "/x/gw", err);
	eirc_config_free(cfg);
	return r;
}

static void test_spawn_cfg(void **state)
{
	char dir[] = "/tmp/gw-spawn-test-XXXXXX", cfgp[64];
	eirc_err_t why;
	gw_spawn_cfg_t c;
	int r;

	(void)state;
	assert_non_null(mkdtemp(dir)); /* mode 0700 */
	snprintf(cfgp, sizeof(cfgp), "%s/eirc.yaml", dir);
	setenv("GW_TEST_NEEDED", "visible", 1);
	setenv("GW_TEST_SECRET", "must-not-reach-the-child", 1);
	setenv("GW_TEST_HISTORY", "nor-this-one", 1);
	setenv("GW_TEST_RUN", "eirc", 1);
	setenv("GW_TEST_BOTH", "info", 1);
	/* a binary that does not exist */
	r = spawn_init(&c, cfgp, "/nonexistent/eirc-irc-client", "nobody", &why);
	assert_int_equal(r, -ENOENT);
	assert_non_null(strstr(why.text, "/nonexistent/eirc-irc-client"));
	gw_spawn_cfg_clear(&c);
	/* /bin/true stands in for the irc-client */
	if (geteuid() == 0) {
		assert_int_equal(spawn_init(&c, cfgp, "/bin/true", "no-such-user-gw", &why),
				 -ENOENT);
		gw_spawn_cfg_clear(&c);
	}
	r = spawn_init(&c, cfgp, "/bin/true", "nobody", &why);
	/* root: children run as nobody, who cannot even enter the config's
	 * 0700 folder: they need not, its text is on fd 5 (deploy issue,
	 * item 1; refused at start before) */
	assert_true(c.drop_privileges == (geteuid() == 0));
	assert_int_equal(r, 0);
	/* fd 5: the text the gateway loaded, byte for byte, sealed */
	{
		char file[8192], mem[8192];
		FILE *f = fopen(cfgp, "r");
		size_t n;

		assert_non_null(f);
		n = fread(file, 1, sizeof(file), f);
		fclose(f);
		assert_true(c.config_fd > 2);
		assert_int_equal(pread(c.config_fd, mem, sizeof(mem), 0), (ssize_t)n);
		assert_memory_equal(mem, file, n);
		assert_int_equal(fcntl(c.config_fd, F_GET_SEALS),
				 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
		assert_int_equal(pwrite(c.config_fd, "x", 1, 0), -1);
		assert_int_equal(errno, EPERM);
	}
	/* the environment: none of the config's variables, nothing else */
	for (size_t i = 0; c.env[i]; i++) {
		static const char *const kept[] = {
			"PATH=",          "TZ=",          "LANG=", "LC_ALL=", "ASAN_OPTIONS=",
			"UBSAN_OPTIONS=", "LSAN_OPTIONS="};
		bool ok = false;
		for (size_t k = 0; k < sizeof(kept) / sizeof(kept[0]); k++)
			ok |= !strncmp(c.env[i], kept[k], strlen(kept[k]));
		if (!ok)
			fail_msg("%s is in the environment of irc-clients", c.env[i]);
	}
	/* fd 4: the values of the keys the child reads, per key (the history
	 * socket's, not the history client secret); the others withheld; a
	 * name under both kinds of keys keeps its value */
	vars_t v = VARS_INIT;
	assert_int_equal(vars_parse(&v, c.vars, c.vars_len), 0);
	assert_int_equal(v.n, 5);
	assert_string_equal(vars_get(&v, "GW_TEST_NEEDED"), "visible");
	assert_string_equal(vars_get(&v, "GW_TEST_RUN"), "eirc");
	assert_string_equal(vars_get(&v, "GW_TEST_BOTH"), "info");
	assert_string_equal(vars_get(&v, "GW_TEST_SECRET"), GW_ENV_WITHHELD);
	assert_string_equal(vars_get(&v, "GW_TEST_HISTORY"), GW_ENV_WITHHELD);
	vars_clear(&v);
	gw_spawn_cfg_clear(&c);
	/* a value with a newline cannot be a line of fd 4: refused at start */
	setenv("GW_TEST_RUN", "ei\nrc", 1); /* a path may hold one */
	assert_int_equal(spawn_init(&c, cfgp, "/bin/true", "nobody", &why), -EINVAL);
	assert_non_null(strstr(why.text, "GW_TEST_RUN"));
	gw_spawn_cfg_clear(&c);
	unlink(cfgp);
	rmdir(dir);
}

/* gw_spawn_cfg_init on a config of n room variables (GW_TEST_ROOM_<i>,
 * value "x") and a WEBIRC password ${GW_TEST_BIG} of big bytes. */
static int spawn_init_sized(int n, size_t big, eirc_err_t *why)
{
	char path[] = "/tmp/gw-spawn-env-XXXXXX", name[32], *value = malloc(big + 1);
	eirc_config_t *cfg = NULL;
	gw_spawn_cfg_t c;
	int fd = mkstemp(path), r;
	FILE *f = fdopen(fd, "w");

	assert_non_null(f);
	assert_non_null(value);
	fchmod(fd, 0644); /* as root, the probe reads it as the sandbox user */
	memset(value, 'v', big);
	value[big] = '\0';
	setenv("GW_TEST_BIG", value, 1);
	free(value);
	fputs("irc:\n  servers:\n    - host: 127.0.0.1\n  webirc_password: ${GW_TEST_BIG}\n"
	      "auth:\n  internal_secret: 0123456789abcdef\n"
	      "history:\n  socket_path: null\n"
	      "gateway:\n  irc_client_path: /bin/true\n"
	      "irc_client:\n  private_room_masks:\n    - \"#p-*\"\n",
	      f);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "GW_TEST_ROOM_%d", i);
		setenv(name, "x", 1);
		fprintf(f, "    - \"#${%s}\"\n", name);
	}
	fclose(f);
	assert_int_equal(eirc_config_load(path, &cfg, NULL), 0);
	memset(&c, 0, sizeof(c));
	r = gw_spawn_cfg_init(&c, cfg, path, "/x/gw", why);
	if (r == 0)
		assert_int_equal(c.vars_len, (size_t)n * strlen("GW_TEST_ROOM_0=x\n") +
						     (size_t)(n > 10) * (size_t)(n - 10) +
						     strlen("GW_TEST_BIG=\n") + big);
	gw_spawn_cfg_clear(&c);
	eirc_config_free(cfg);
	unlink(path);
	return r;
}

/* More ${NAME} variables for the child than GW_ENV_MAX, or more than
 * VARS_BYTES_MAX bytes of them: refused at start; at the limits: started. */
static void test_spawn_env_limit(void **state)
{
	/* the text: "GW_TEST_BIG=<big>\n" */
	size_t one = VARS_BYTES_MAX - strlen("GW_TEST_BIG=\n");
	eirc_err_t why;

	(void)state;
	assert_int_equal(spawn_init_sized(GW_ENV_MAX - 1, 1, &why), 0);
	assert_int_equal(spawn_init_sized(GW_ENV_MAX, 1, &why), -E2BIG);
	assert_non_null(strstr(why.text, "GW_ENV_MAX"));
	assert_int_equal(spawn_init_sized(0, one, &why), 0);
	assert_int_equal(spawn_init_sized(0, one + 1, &why), -E2BIG);
	assert_non_null(strstr(why.text, "VARS_BYTES_MAX"));
}

/* ---- gw_auth: the consume answer ---- */

static int ident(const char *s, gw_identity_t *id)
{
	return gw_identity_parse(s, strlen(s), id);
}

static void test_identity(void **state)
{
	static const char ok[] = "{\"user_id\":42,\"nick\":\"alice\",\"display_name\":\"Alice A\","
				 "\"role\":\"user\",\"private_rooms\":[\"#ops\"],"
				 "\"autojoin\":[\"#general\",\"#ops\",\"bad,name\"]}";
	gw_identity_t id;

	(void)state;
	assert_int_equal(ident(ok, &id), 0);
	assert_int_equal(id.user_id, 42);
	assert_int_equal(id.family, 0); /* none named */
	assert_string_equal(id.nick, "alice");
	assert_string_equal(id.display_name, "Alice A");
	assert_string_equal(id.autojoin, "#general,#ops");
	assert_string_equal(id.private_rooms, "#ops");
	gw_identity_clear(&id);
	assert_null(id.autojoin);
	assert_int_equal(ident("{\"user_id\":1,\"nick\":\"b\",\"autojoin\":[],\"family\":7}", &id),
			 0);
	assert_int_equal(id.family, 7);
	assert_null(id.autojoin);
	assert_null(id.private_rooms);
	assert_string_equal(id.display_name, "");
	gw_identity_clear(&id);
	assert_int_equal(ident("{\"nick\":\"b\"}", &id), -EINVAL);
	assert_int_equal(ident("{\"user_id\":0,\"nick\":\"b\"}", &id), -EINVAL);
	assert_int_equal(ident("{\"user_id\":\"1\",\"nick\":\"b\"}", &id), -EINVAL);
	assert_int_equal(ident("{\"user_id\":1,\"nick\":\"\"}", &id), -EINVAL);
	assert_int_equal(ident("[1]", &id), -EINVAL);
	assert_int_equal(ident("{", &id), -EINVAL);
	assert_int_equal(ident("", &id), -EINVAL);
	assert_int_equal(ident("{\"user_id\":1,\"user_id\":2,\"nick\":\"b\"}", &id), -EINVAL);
}

/* ---- the browser's EIRC line, gw_access ---- */

static void test_control_line(void **state)
{
	static const char *const yes[] = {
		"EIRC ROOMS :#a\r\n",  "eirc rooms\r\n",       "EiRc\r\n",    "EIRC",
		"@a=b EIRC ROOMS :#a", "@a=b :src EIRC ROOMS", ":src eirc x", "  EIRC x",
	};
	static const char *const no[] = {
		"PRIVMSG #a :EIRC ROOMS",
		"EIRCX ROOMS",
		"@EIRC PING",
		":EIRC PING",
		"EIR",
		"",
		"JOIN #eirc",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(gw_frame_is_control(yes[i], strlen(yes[i])));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(gw_frame_is_control(no[i], strlen(no[i])));
}

static int verdicts(const char *body, size_t n, gw_access_verdict_t *v)
{
	return gw_access_parse(body, strlen(body), n, v);
}

static void test_access_answer(void **state)
{
	gw_access_verdict_t v[4];
	gw_session_t a = {.user_id = 1, .family = 7}, b = {.user_id = 2};
	gw_session_t *both[] = {&a, &b};
	char *body;

	(void)state;
	body = gw_access_body(both, 2);
	assert_string_equal(body, "{\"sessions\":[{\"user_id\":1,\"family\":7},"
				  "{\"user_id\":2,\"family\":0}]}");
	free(body);
	body = gw_access_body(NULL, 0);
	assert_string_equal(body, "{\"sessions\":[]}");
	free(body);

	assert_int_equal(verdicts("{\"sessions\":[{\"active\":true,\"private_rooms\":[\"#p-a\","
				  "\"bad,name\",\"#p-b\"]},{\"active\":false,\"reason\":"
				  "\"disabled\"},{\"active\":false,\"reason\":\"deleted\"},"
				  "{\"active\":false,\"reason\":\"signed_out\"}]}",
				  4, v),
			 0);
	assert_true(v[0].active);
	assert_string_equal(v[0].rooms, "#p-a,#p-b");
	assert_false(v[1].active);
	assert_string_equal(v[1].why, "account disabled");
	assert_string_equal(v[2].why, "account deleted");
	assert_string_equal(v[3].why, "signed out");
	gw_access_verdicts_free(v, 4);
	assert_null(v[0].rooms);
	/* no rooms, empty rooms */
	assert_int_equal(verdicts("{\"sessions\":[{\"active\":true},{\"active\":true,"
				  "\"private_rooms\":[]}]}",
				  2, v),
			 0);
	assert_string_equal(v[0].rooms, "");
	assert_string_equal(v[1].rooms, "");
	gw_access_verdicts_free(v, 2);
	/* not n entries, an unknown reason, wrong types: refused whole */
	assert_int_equal(verdicts("{\"sessions\":[{\"active\":true}]}", 2, v), -EINVAL);
	assert_int_equal(verdicts("{\"sessions\":[{\"active\":false,\"reason\":\"x\"}]}", 1, v),
			 -EINVAL);
	assert_int_equal(verdicts("{\"sessions\":[{\"active\":false}]}", 1, v), -EINVAL);
	assert_int_equal(verdicts("{\"sessions\":[{\"active\":1}]}", 1, v), -EINVAL);
	assert_int_equal(
		verdicts("{\"sessions\":[{\"active\":true,\"private_rooms\":\"#a\"}]}", 1, v),
		-EINVAL);
	assert_int_equal(verdicts("{\"sessions\":[{\"active\":true},1]}", 2, v), -EINVAL);
	assert_null(v[0].rooms);
	assert_int_equal(verdicts("{\"sessions\":{}}", 0, v), -EINVAL);
	assert_int_equal(verdicts("{", 1, v), -EINVAL);
	assert_int_equal(verdicts("", 1, v), -EINVAL);
	/* GW_AUTH_ROOMS_MAX private rooms, as the consume takes them, and one
	 * more: refused like the consume refuses it */
	for (int n = GW_AUTH_ROOMS_MAX; n <= GW_AUTH_ROOMS_MAX + 1; n++) {
		static char big[(GW_AUTH_ROOMS_MAX + 1) * 16 + 64];
		size_t len = (size_t)snprintf(
			big, sizeof(big), "{\"sessions\":[{\"active\":true,\"private_rooms\":[");
		for (int i = 0; i < n; i++)
			len += (size_t)snprintf(big + len, sizeof(big) - len, "%s\"#p-%d\"",
						i ? "," : "", i);
		snprintf(big + len, sizeof(big) - len, "]}]}");
		if (n == GW_AUTH_ROOMS_MAX) {
			assert_int_equal(verdicts(big, 1, v), 0);
			assert_non_null(strstr(v[0].rooms, "#p-255"));
			gw_access_verdicts_free(v, 1);
		} else {
			assert_int_equal(verdicts(big, 1, v), -EINVAL);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_origin),
		cmocka_unit_test(test_subproto),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_client_ip),
		cmocka_unit_test(test_frame_basic),
		cmocka_unit_test(test_frame_refusals),
		cmocka_unit_test(test_frame_limit),
		cmocka_unit_test(test_frame_one_byte_at_a_time),
		cmocka_unit_test(test_to_browser),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_spawn_cfg),
		cmocka_unit_test(test_spawn_env_limit),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_control_line),
		cmocka_unit_test(test_access_answer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
