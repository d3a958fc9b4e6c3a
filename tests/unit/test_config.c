/*
 * Unit tests of the config loader: one test per kind of error, each
 * checking the exact "file:line:column: key.path: message" line; several
 * errors in file order; every named limit at the limit and one past it;
 * ${VAR} expansion; defaults; secrets masked; print/load round trip.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "config/config_print.h"
#include "config/config_schema.h"

/* A history.session_key of exactly SESSION_KEY_MIN bytes. */
#define KEY32 "0123456789abcdef0123456789abcdef"

/* The required keys, so a test sees only the error it is about. Lines 1-6;
 * the snippet of a test starts on line 7. */
#define BASE                                                                                       \
	"irc:\n"                                                                                   \
	"  servers: [{host: 127.0.0.1}]\n"                                                         \
	"  webirc_password: pw\n"                                                                  \
	"auth:\n"                                                                                  \
	"  internal_secret: 0123456789abcdef\n"                                                    \
	"history: {session_key: " KEY32 "}\n"

/* The same without the history section, for snippets that have one. */
#define BASE_NO_HISTORY                                                                            \
	"irc:\n"                                                                                   \
	"  servers:\n"                                                                             \
	"    - host: 127.0.0.1\n"                                                                  \
	"  webirc_password: pw\n"                                                                  \
	"auth:\n"                                                                                  \
	"  internal_secret: 0123456789abcdef\n"

static char *errors_text(const eirc_config_errors_t *errs)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	eirc_config_errors_print(errs, f);
	fclose(f);
	return buf;
}

/* Load `yaml` as "t.yaml" and check it fails with exactly `expected`. */
static void expect_errors(const char *yaml, const char *expected)
{
	eirc_config_t *cfg = (eirc_config_t *)0x1;
	eirc_config_errors_t *errs = NULL;
	int r = eirc_config_load_buffer("t.yaml", yaml, strlen(yaml), &cfg, &errs);
	char *text;

	assert_int_equal(r, -EINVAL);
	assert_ptr_equal(cfg, (eirc_config_t *)0x1); /* untouched on failure */
	assert_non_null(errs);
	text = errors_text(errs);
	assert_string_equal(text, expected);
	free(text);
	eirc_config_errors_free(errs);
}

static eirc_config_t *load_ok(const char *yaml, size_t len)
{
	eirc_config_t *cfg = NULL;
	eirc_config_errors_t *errs = NULL;
	int r = eirc_config_load_buffer("t.yaml", yaml, len, &cfg, &errs);

	if (r != 0) {
		char *text = errors_text(errs);
		print_error("unexpected errors:\n%s", text);
		free(text);
		eirc_config_errors_free(errs);
		fail();
	}
	assert_null(errs); /* untouched on success */
	return cfg;
}

/* ---- one test per kind of error ---- */

static void test_yaml_syntax(void **state)
{
	(void)state;
	/* What was read before the syntax error is checked too. */
	expect_errors(BASE "log:\n  level: [info\n",
		      "t.yaml:8:10: log.level: expected a string, got a list\n"
		      "t.yaml:9:1: YAML syntax error: did not find expected ',' or ']' "
		      "(while parsing a flow sequence at line 8, column 10)\n");
	expect_errors(BASE "log:\n\tlevel: info\n",
		      "t.yaml:8:1: YAML syntax error: found character that cannot start "
		      "any token (while scanning for the next token at line 8, column 1)\n");
	expect_errors(BASE "log:\n  level: \"info\n",
		      "t.yaml:9:1: YAML syntax error: found unexpected end of stream "
		      "(while scanning a quoted scalar at line 8, column 10)\n");
	/* libyaml's reader reports an offset; we still give line:column. */
	expect_errors(BASE "log:\n  level: \xff\n",
		      "t.yaml:8:10: YAML syntax error: invalid leading UTF-8 octet\n");
}

static void test_unknown_key(void **state)
{
	(void)state;
	expect_errors(BASE "gateway:\n  listen_prot: 1\n",
		      "t.yaml:8:3: gateway.listen_prot: unknown key "
		      "(did you mean \"listen_port\"?)\n");
	expect_errors(BASE "frobnicate: {a: 1}\n", "t.yaml:7:1: frobnicate: unknown key\n");
	expect_errors(BASE "auth:\n  databse:\n    host: x\n",
		      "t.yaml:7:1: auth: duplicate key (first at line 4, column 1)\n");
	expect_errors("irc:\n"
		      "  servers:\n"
		      "    - host: 127.0.0.1\n"
		      "      prot: 1\n"
		      "  webirc_password: pw\n"
		      "auth:\n"
		      "  internal_secret: 0123456789abcdef\n"
		      "  databse:\n"
		      "    host: x\n",
		      "t.yaml:4:7: irc.servers[0].prot: unknown key (did you mean \"port\"?)\n"
		      "t.yaml:8:3: auth.databse: unknown key (did you mean \"database\"?)\n");
}

static void test_wrong_type(void **state)
{
	(void)state;
	expect_errors(BASE "gateway:\n  max_sessions: [1]\n",
		      "t.yaml:8:17: gateway.max_sessions: expected an integer, got a list\n");
	expect_errors(BASE "gateway:\n  max_sessions: lots\n",
		      "t.yaml:8:17: gateway.max_sessions: expected an integer, got \"lots\"\n");
	expect_errors(BASE "gateway:\n  max_sessions: 1.5\n",
		      "t.yaml:8:17: gateway.max_sessions: expected an integer, got \"1.5\"\n");
	expect_errors(BASE "gateway:\n  allow_missing_origin: yes\n",
		      "t.yaml:8:25: gateway.allow_missing_origin: expected true or false, "
		      "got \"yes\"\n");
	expect_errors(BASE "log: verbose\n", "t.yaml:7:6: log: expected a mapping, got a scalar\n");
	expect_errors(BASE "gateway:\n  allowed_origins: http://a\n",
		      "t.yaml:8:20: gateway.allowed_origins: expected a list of strings, "
		      "got a scalar\n");
	expect_errors(BASE "gateway:\n  allowed_origins: [[http://a]]\n",
		      "t.yaml:8:21: gateway.allowed_origins[0]: expected a string, got a "
		      "list\n");
	expect_errors(BASE "gateway:\n  listen_address: {a: b}\n",
		      "t.yaml:8:19: gateway.listen_address: expected a string, got a "
		      "mapping\n");
	expect_errors(BASE "redis:\n  port:\n",
		      "t.yaml:8:8: redis.port: missing value (expected a port number)\n");
	expect_errors(BASE_NO_HISTORY "history:\n  socket_mode: rw-rw----\n",
		      "t.yaml:8:16: history.socket_mode: expected an octal file mode from "
		      "0000 to 0777, got \"rw-rw----\"\n");
	expect_errors("- 1\n", "t.yaml:1:1: expected a mapping at the top level, got a list\n");
	expect_errors(BASE "log:\n  level: &l info\n  format: *l\n",
		      "t.yaml:9:11: log.format: YAML aliases are not supported\n");
	expect_errors(BASE "? [a]\n: 1\n", "t.yaml:7:3: keys must be scalars, got a list\n");
}

static void test_out_of_range(void **state)
{
	(void)state;
	expect_errors(BASE "redis:\n  port: 70000\n",
		      "t.yaml:8:9: redis.port: 70000 is out of range (1..65535)\n");
	expect_errors(BASE "redis:\n  port: 0\n",
		      "t.yaml:8:9: redis.port: 0 is out of range (1..65535)\n");
	expect_errors(BASE "redis:\n  partitions: -1\n",
		      "t.yaml:8:15: redis.partitions: -1 is out of range (1..16384)\n");
	expect_errors(BASE "redis:\n  partitions: 99999999999999999999\n",
		      "t.yaml:8:15: redis.partitions: 99999999999999999999 is out of range "
		      "(1..16384)\n");
	expect_errors(BASE "gateway:\n  ping_interval: 2h\n",
		      "t.yaml:8:18: gateway.ping_interval: 2h is out of range (1s..1h)\n");
	expect_errors(BASE "gateway:\n  send_queue_high_watermark: 2GiB\n",
		      "t.yaml:8:30: gateway.send_queue_high_watermark: 2GiB is out of range "
		      "(16KiB..1GiB)\n");
	expect_errors(BASE_NO_HISTORY "history:\n  socket_mode: \"1777\"\n",
		      "t.yaml:8:16: history.socket_mode: expected an octal file mode from "
		      "0000 to 0777, got \"1777\"\n");
	expect_errors(BASE_NO_HISTORY
		      "history:\n  socket_path: /" /* 107 + 1 bytes */
		      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		      "t.yaml:8:16: history.socket_path: longer than 107 bytes\n");
}

static void test_bad_enum(void **state)
{
	(void)state;
	expect_errors(BASE "log:\n  level: verbose\n",
		      "t.yaml:8:10: log.level: bad value \"verbose\" (allowed: debug, info, "
		      "warn, error)\n");
	expect_errors(BASE "irc_client:\n  nick_collision: Suffix\n",
		      "t.yaml:8:19: irc_client.nick_collision: bad value \"Suffix\" "
		      "(allowed: suffix, fail)\n");
}

static void test_bad_units(void **state)
{
	(void)state;
	expect_errors(BASE "gateway:\n  ping_interval: 30\n",
		      "t.yaml:8:18: gateway.ping_interval: bad duration \"30\": missing unit "
		      "(use ms, s, m, h, d)\n");
	expect_errors(BASE "gateway:\n  ping_interval: 30sec\n",
		      "t.yaml:8:18: gateway.ping_interval: bad duration \"30sec\": unknown "
		      "unit \"sec\" (use ms, s, m, h, d)\n");
	expect_errors(BASE "gateway:\n  ping_interval: soon\n",
		      "t.yaml:8:18: gateway.ping_interval: bad duration \"soon\": expected a "
		      "number and a unit (use ms, s, m, h, d)\n");
	expect_errors(BASE "gateway:\n  send_queue_high_watermark: 8MB\n",
		      "t.yaml:8:30: gateway.send_queue_high_watermark: bad size \"8MB\": "
		      "unknown unit \"MB\" (use B, KiB, MiB, GiB, TiB)\n");
	expect_errors(BASE "gateway:\n  send_queue_high_watermark: 30d\n",
		      "t.yaml:8:30: gateway.send_queue_high_watermark: bad size \"30d\": "
		      "unknown unit \"d\" (use B, KiB, MiB, GiB, TiB)\n");
}

static void test_unset_env(void **state)
{
	(void)state;
	unsetenv("EIRC_TEST_UNSET");
	expect_errors(BASE "redis:\n  password: ${EIRC_TEST_UNSET}\n",
		      "t.yaml:8:13: redis.password: EIRC_TEST_UNSET is not set (neither in the "
		      "environment nor in $CREDENTIALS_DIRECTORY)\n");
	expect_errors(BASE "redis:\n  password: x${EIRC_TEST\n",
		      "t.yaml:8:13: redis.password: unterminated \"${\" (write \"$${\" for a "
		      "literal \"${\")\n");
	expect_errors(BASE "redis:\n  password: ${1X}\n",
		      "t.yaml:8:13: redis.password: bad variable name \"1X\"\n");
	expect_errors(BASE "redis:\n  password: ${}\n",
		      "t.yaml:8:13: redis.password: empty variable name in \"${}\"\n");
}

static void test_duplicate_key(void **state)
{
	(void)state;
	expect_errors(BASE "log:\n  level: info\n  level: debug\n",
		      "t.yaml:9:3: log.level: duplicate key (first at line 8, column 3)\n");
	expect_errors(BASE "log:\n  level: info\nlog:\n  level: info\n",
		      "t.yaml:9:1: log: duplicate key (first at line 7, column 1)\n");
}

static void test_missing_required(void **state)
{
	(void)state;
	expect_errors("# no auth.internal_secret\n"
		      "irc:\n"
		      "  servers:\n"
		      "    - host: 127.0.0.1\n"
		      "  webirc_password: pw\n"
		      "auth:\n"
		      "  listen_port: 1\n",
		      "t.yaml:6:1: auth.internal_secret: required key is missing\n");
	expect_errors("log:\n  level: info\n",
		      "t.yaml:1:1: irc.servers: required key is missing\n"
		      "t.yaml:1:1: irc.webirc_password: required key is missing\n"
		      "t.yaml:1:1: auth.internal_secret: required key is missing\n");
	expect_errors("", "t.yaml:1:1: irc.servers: required key is missing\n"
			  "t.yaml:1:1: irc.webirc_password: required key is missing\n"
			  "t.yaml:1:1: auth.internal_secret: required key is missing\n");
	expect_errors("irc:\n"
		      "  servers: []\n"
		      "  webirc_password: \"\"\n"
		      "auth:\n"
		      "  internal_secret: 0123456789abcdef\n",
		      "t.yaml:2:12: irc.servers: needs at least 1 item\n"
		      "t.yaml:3:20: irc.webirc_password: must not be empty\n");
}

static void test_cross_key_checks(void **state)
{
	(void)state;
	expect_errors(BASE "irc_client:\n  reconnect_min: 2m\n  reconnect_max: 1m\n",
		      "t.yaml:8:3: irc_client.reconnect_min: must not be longer than "
		      "reconnect_max\n");
	expect_errors("irc:\n"
		      "  servers:\n"
		      "    - port: 6667\n"
		      "    - host: a\n"
		      "      unix_path: /run/ircd.sock\n"
		      "  webirc_password: pw\n"
		      "auth:\n"
		      "  internal_secret: 0123456789abcdef\n",
		      "t.yaml:3:7: irc.servers[0]: set host or unix_path\n"
		      "t.yaml:5:7: irc.servers[1].unix_path: set host or unix_path, not "
		      "both\n");
}

/* gateway.browser_sndbuf: 0 (the kernel's) or 4KiB..64MiB, at each limit
 * and one past it. */
static void test_gateway_browser_sndbuf(void **state)
{
	static const struct {
		const char *text;
		uint64_t want;
	} ok[] = {{"0", 0}, {"4KiB", 4096}, {"64MiB", 64u << 20}};
	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char yaml[256];
		int n = snprintf(yaml, sizeof(yaml), BASE "gateway:\n  browser_sndbuf: %s\n",
				 ok[i].text);
		eirc_config_t *cfg = load_ok(yaml, (size_t)n);
		assert_int_equal(cfg->gateway.browser_sndbuf, ok[i].want);
		eirc_config_free(cfg);
	}
	expect_errors(BASE "gateway:\n  browser_sndbuf: 4095B\n",
		      "t.yaml:8:3: gateway.browser_sndbuf: must be 0 or at least 4KiB\n");
	expect_errors(BASE "gateway:\n  browser_sndbuf: 67108865B\n",
		      "t.yaml:8:19: gateway.browser_sndbuf: 67108865B is out of range "
		      "(0..64MiB)\n");
}

static void test_validators(void **state)
{
	(void)state;
	expect_errors(BASE "gateway:\n  allowed_origins:\n    - https://ok.example\n"
			   "    - https://x.example/chat\n  trusted_proxies: [10.0.0.0/33]\n",
		      "t.yaml:10:7: gateway.allowed_origins[1]: must be an origin: http:// or "
		      "https://, a host and an optional port, no path\n"
		      "t.yaml:11:21: gateway.trusted_proxies[0]: bad CIDR prefix length\n");
	expect_errors(BASE "logger:\n  channels: [general, \"#ok\", \"\"]\n",
		      "t.yaml:8:14: logger.channels[0]: must be a channel name: '#' or '&' "
		      "then 1 to 63 bytes\n"
		      "t.yaml:8:30: logger.channels[2]: must not be empty\n");
}

/* ---- several errors at once, in file order ---- */

static void test_many_errors_in_file_order(void **state)
{
	(void)state;
	/* auth's missing secret is found at the end of auth's mapping but is
	 * reported at auth (line 1), before everything else. */
	expect_errors("auth:\n"
		      "  listen_port: 99999\n"
		      "  chat_token_ttl: 5 minutes\n"
		      "irc:\n"
		      "  servers:\n"
		      "    - host: 127.0.0.1\n"
		      "      port: http\n"
		      "      tls: maybe\n"
		      "  webirc_password: ${EIRC_TEST_UNSET}\n"
		      "colour: blue\n"
		      "log:\n"
		      "  level: loud\n"
		      "  level: quiet\n"
		      "  format: json\n",
		      "t.yaml:1:1: auth.internal_secret: required key is missing\n"
		      "t.yaml:2:16: auth.listen_port: 99999 is out of range (0..65535)\n"
		      "t.yaml:3:19: auth.chat_token_ttl: bad duration \"5 minutes\": unknown "
		      "unit \" minutes\" (use ms, s, m, h, d)\n"
		      "t.yaml:7:13: irc.servers[0].port: expected a port number, got "
		      "\"http\"\n"
		      "t.yaml:8:12: irc.servers[0].tls: expected true or false, got "
		      "\"maybe\"\n"
		      "t.yaml:9:20: irc.webirc_password: EIRC_TEST_UNSET is not set "
		      "(neither in the environment nor in $CREDENTIALS_DIRECTORY)\n"
		      "t.yaml:10:1: colour: unknown key\n"
		      "t.yaml:12:10: log.level: bad value \"loud\" (allowed: debug, info, "
		      "warn, error)\n"
		      "t.yaml:13:3: log.level: duplicate key (first at line 12, column 3)\n");
}

/* ---- limits, at the limit and one past ---- */

/* BASE padded with a comment to exactly `total` bytes. */
static char *padded(size_t total)
{
	char *buf = malloc(total);
	size_t base = strlen(BASE);

	assert_non_null(buf);
	memcpy(buf, BASE, base);
	buf[base] = '#';
	memset(buf + base + 1, 'x', total - base - 2);
	buf[total - 1] = '\n';
	return buf;
}

static void test_limit_input_size(void **state)
{
	char *buf = padded(CONFIG_INPUT_MAX);
	eirc_config_errors_t *errs = NULL;
	eirc_config_t *cfg = load_ok(buf, CONFIG_INPUT_MAX);
	char *text;

	(void)state;
	eirc_config_free(cfg);
	free(buf);
	buf = padded(CONFIG_INPUT_MAX + 1);
	assert_int_equal(eirc_config_load_buffer("t.yaml", buf, CONFIG_INPUT_MAX + 1, &cfg, &errs),
			 -EINVAL);
	text = errors_text(errs);
	assert_string_equal(text, "t.yaml:1:1: file is larger than 1048576 bytes "
				  "(CONFIG_INPUT_MAX)\n");
	free(text);
	eirc_config_errors_free(errs);
	free(buf);
}

/* BASE then "extra: " and `depth` nested flow lists. */
static char *nested(unsigned depth)
{
	char *buf = malloc(strlen(BASE) + 16 + 2 * depth);
	size_t o = strlen(BASE);

	assert_non_null(buf);
	memcpy(buf, BASE, o);
	memcpy(buf + o, "extra: ", 7);
	o += 7;
	for (unsigned i = 0; i < depth; i++)
		buf[o++] = '[';
	for (unsigned i = 0; i < depth; i++)
		buf[o++] = ']';
	buf[o++] = '\n';
	buf[o] = '\0';
	return buf;
}

static void test_limit_depth(void **state)
{
	char *buf;

	(void)state;
	/* The root mapping is level 1: 15 lists reach CONFIG_DEPTH_MAX. */
	buf = nested(CONFIG_DEPTH_MAX - 1);
	expect_errors(buf, "t.yaml:7:1: extra: unknown key\n");
	free(buf);
	buf = nested(CONFIG_DEPTH_MAX);
	expect_errors(buf, "t.yaml:7:1: extra: unknown key\n"
			   "t.yaml:7:23: extra: nesting is deeper than 16 levels "
			   "(CONFIG_DEPTH_MAX), stopping here\n");
	free(buf);
	/* Deep nesting costs no stack (the walker skips iteratively) and no
	 * time (the walk stops at the limit, libyaml reads no further). */
	buf = nested(CONFIG_INPUT_MAX / 2 - 128);
	expect_errors(buf, "t.yaml:7:1: extra: unknown key\n"
			   "t.yaml:7:23: extra: nesting is deeper than 16 levels "
			   "(CONFIG_DEPTH_MAX), stopping here\n");
	free(buf);
}

static char *long_list(size_t items)
{
	size_t cap = strlen(BASE) + 64 + items * 24;
	char *buf = malloc(cap);
	size_t o = (size_t)snprintf(buf, cap, "%sgateway:\n  trusted_proxies:\n", BASE);

	for (size_t i = 0; i < items; i++)
		o += (size_t)snprintf(buf + o, cap - o, "    - 10.0.%zu.%zu\n", i / 256, i % 256);
	return buf;
}

static void test_limit_list(void **state)
{
	char *buf = long_list(CONFIG_LIST_MAX);
	eirc_config_t *cfg = load_ok(buf, strlen(buf));
	char expected[256];

	(void)state;
	assert_int_equal(cfg->gateway.n_trusted_proxies, CONFIG_LIST_MAX);
	assert_string_equal(cfg->gateway.trusted_proxies[1023], "10.0.3.255");
	eirc_config_free(cfg);
	free(buf);
	buf = long_list(CONFIG_LIST_MAX + 1);
	snprintf(expected, sizeof(expected),
		 "t.yaml:%d:7: "
		 "gateway.trusted_proxies[1024]: more than 1024 items in a list "
		 "(CONFIG_LIST_MAX)\n",
		 9 + CONFIG_LIST_MAX);
	expect_errors(buf, expected);
	free(buf);
}

static void test_limit_string(void **state)
{
	size_t cap = strlen(BASE) + CONFIG_STRING_MAX + 64;
	char *buf = malloc(cap), *big = malloc(CONFIG_STRING_MAX + 2);
	eirc_config_t *cfg;

	(void)state;
	memset(big, 'w', CONFIG_STRING_MAX + 1);
	big[CONFIG_STRING_MAX] = '\0';
	snprintf(buf, cap, "%slogger:\n  spill_dir: %s\n", BASE, big);
	cfg = load_ok(buf, strlen(buf));
	assert_int_equal(strlen(cfg->logger.spill_dir), CONFIG_STRING_MAX);
	eirc_config_free(cfg);
	big[CONFIG_STRING_MAX] = 'w';
	big[CONFIG_STRING_MAX + 1] = '\0';
	snprintf(buf, cap, "%slogger:\n  spill_dir: %s\n", BASE, big);
	expect_errors(buf, "t.yaml:8:14: logger.spill_dir: longer than 4096 bytes "
			   "(CONFIG_STRING_MAX)\n");
	/* The same limit after ${} expansion. */
	setenv("EIRC_TEST_BIG", big, 1);
	expect_errors(BASE "logger:\n  spill_dir: ${EIRC_TEST_BIG}\n",
		      "t.yaml:8:14: logger.spill_dir: longer than 4096 bytes "
		      "(CONFIG_STRING_MAX)\n");
	big[CONFIG_STRING_MAX] = '\0';
	setenv("EIRC_TEST_BIG", big, 1);
	cfg = load_ok(BASE "logger:\n  spill_dir: ${EIRC_TEST_BIG}\n",
		      strlen(BASE "logger:\n  spill_dir: ${EIRC_TEST_BIG}\n"));
	assert_int_equal(strlen(cfg->logger.spill_dir), CONFIG_STRING_MAX);
	eirc_config_free(cfg);
	unsetenv("EIRC_TEST_BIG");
	free(big);
	free(buf);
}

static void test_limit_errors(void **state)
{
	size_t cap = strlen(BASE) + 200 * 16;
	char *buf = malloc(cap);
	size_t o = (size_t)snprintf(buf, cap, "%s", BASE);
	eirc_config_t *cfg = NULL;
	eirc_config_errors_t *errs = NULL;

	(void)state;
	for (int i = 0; i < 200; i++)
		o += (size_t)snprintf(buf + o, cap - o, "unknown%d: 1\n", i);
	assert_int_equal(eirc_config_load_buffer("t.yaml", buf, o, &cfg, &errs), -EINVAL);
	assert_int_equal(errs->n, CONFIG_ERRORS_MAX + 1);
	assert_string_equal(errs->v[CONFIG_ERRORS_MAX - 1].path, "unknown99");
	assert_string_equal(errs->v[CONFIG_ERRORS_MAX].message,
			    "too many errors (CONFIG_ERRORS_MAX is 100), stopping "
			    "here");
	eirc_config_errors_free(errs);
	free(buf);
}

/* Durations and sizes through the loader: schema range ends and overflow. */
static void test_units_at_limits(void **state)
{
	eirc_config_t *cfg;
	const char *y = BASE "elasticsearch:\n  bulk_max_bytes: 100MiB\n"
			     "  retry_min: 10ms\n  retry_max: 1h\n"
			     "logger:\n  spill_max: 16TiB\n  retention: 3650d\n";

	(void)state;
	cfg = load_ok(y, strlen(y));
	assert_true(cfg->elasticsearch.bulk_max_bytes == 100u << 20);
	assert_true(cfg->elasticsearch.retry_min == 10);
	assert_true(cfg->elasticsearch.retry_max == 3600000);
	assert_true(cfg->logger.spill_max == UINT64_C(16) << 40);
	assert_true(cfg->logger.retention == UINT64_C(3650) * 86400000);
	eirc_config_free(cfg);
	expect_errors(BASE "elasticsearch:\n  bulk_max_bytes: 104857601\n",
		      "t.yaml:8:19: elasticsearch.bulk_max_bytes: 104857601 is out of range "
		      "(1KiB..100MiB)\n");
	expect_errors(BASE "elasticsearch:\n  retry_min: 9ms\n",
		      "t.yaml:8:14: elasticsearch.retry_min: 9ms is out of range "
		      "(10ms..1m)\n");
	expect_errors(BASE "logger:\n  retention: 3651d\n",
		      "t.yaml:8:14: logger.retention: 3651d is out of range (1h..3650d)\n");
	expect_errors(BASE "logger:\n  retention: 213503982334d\n",
		      "t.yaml:8:14: logger.retention: 213503982334d is out of range "
		      "(1h..3650d)\n");
	expect_errors(BASE "logger:\n  retention: 213503982335d\n",
		      "t.yaml:8:14: logger.retention: bad duration \"213503982335d\": too "
		      "large\n");
	expect_errors(BASE "logger:\n  spill_max: 16777216TiB\n",
		      "t.yaml:8:14: logger.spill_max: bad size \"16777216TiB\": too large\n");
}

/* ---- values ---- */

static void test_defaults(void **state)
{
	eirc_config_t *cfg = load_ok(BASE, strlen(BASE));

	(void)state;
	assert_string_equal(cfg->irc.network, "eirc");
	assert_int_equal(cfg->irc.n_servers, 1);
	assert_string_equal(cfg->irc.servers[0].host, "127.0.0.1");
	assert_int_equal(cfg->irc.servers[0].port, 6667);
	assert_false(cfg->irc.servers[0].tls);
	assert_true(cfg->irc.servers[0].tls_verify);
	assert_null(cfg->irc.servers[0].unix_path);
	assert_int_equal(cfg->redis.partitions, 16);
	assert_null(cfg->redis.password);
	assert_true(cfg->auth.chat_token_ttl == 180000);
	assert_string_equal(cfg->auth.database.name, "eirc");
	assert_int_equal(cfg->auth.database.port, 5432);
	assert_null(cfg->auth.database.password);
	assert_int_equal(cfg->gateway.listen_port, 8081);
	assert_int_equal(cfg->gateway.n_allowed_origins, 0);
	assert_null(cfg->gateway.allowed_origins);
	assert_true(cfg->gateway.send_queue_high_watermark == 1u << 20);
	assert_int_equal(cfg->irc_client.nick_collision, EIRC_CONFIG_NICK_SUFFIX);
	assert_int_equal(cfg->history.socket_mode, 0660);
	assert_int_equal(cfg->log.level, EIRC_CONFIG_LOG_INFO);
	assert_int_equal(cfg->log.format, EIRC_CONFIG_LOG_TEXT);
	eirc_config_free(cfg);
}

static void test_values(void **state)
{
	const char *y =
		BASE_NO_HISTORY "redis: ~\n"
				"log:\n  level: debug\n  format: json\n"
				"irc_client:\n  nick_collision: fail\n  sandbox: FALSE\n"
				"history:\n  socket_mode: \"0600\"\n  introspect_client_id: 'x'\n"
				"  socket_group: eirc-session\n  session_key: " KEY32 "\n"
				"gateway:\n  listen_port: 0\n  allowed_origins:\n"
				"    - https://chat.example.com\n    - http://[::1]:8080\n"
				"  trusted_proxies: [\"10.0.0.0/8\", \"::1\", 192.168.1.1]\n"
				"logger:\n  channels: []\n  nick: \"eirc|bot\"\n";
	eirc_config_t *cfg = load_ok(y, strlen(y));

	(void)state;
	assert_int_equal(cfg->redis.port, 6379);
	assert_int_equal(cfg->log.level, EIRC_CONFIG_LOG_DEBUG);
	assert_int_equal(cfg->log.format, EIRC_CONFIG_LOG_JSON);
	assert_int_equal(cfg->irc_client.nick_collision, EIRC_CONFIG_NICK_FAIL);
	assert_false(cfg->irc_client.sandbox);
	assert_int_equal(cfg->history.socket_mode, 0600);
	assert_int_equal(cfg->gateway.listen_port, 0);
	assert_int_equal(cfg->gateway.n_allowed_origins, 2);
	assert_string_equal(cfg->gateway.allowed_origins[1], "http://[::1]:8080");
	assert_int_equal(cfg->gateway.n_trusted_proxies, 3);
	assert_int_equal(cfg->logger.n_channels, 0);
	assert_string_equal(cfg->logger.nick, "eirc|bot");
	eirc_config_free(cfg);
}

static void test_env_expansion(void **state)
{
	const char *y = BASE "redis:\n  password: ${EIRC_TEST_A}-${EIRC_TEST_B}\n"
			     "elasticsearch:\n  username: \"$${NOT_A_VAR} costs $5\"\n"
			     "  password: ${EIRC_TEST_B}\n";
	const char *y2 = BASE "redis:\n  password: ${EIRC_TEST_EMPTY}\n"
			      "  port: ${EIRC_TEST_A}\n";
	eirc_config_t *cfg;

	(void)state;
	setenv("EIRC_TEST_A", "alpha", 1);
	setenv("EIRC_TEST_B", "beta", 1);
	setenv("EIRC_TEST_EMPTY", "", 1);
	cfg = load_ok(y, strlen(y));
	assert_string_equal(cfg->redis.password, "alpha-beta");
	assert_string_equal(cfg->elasticsearch.username, "${NOT_A_VAR} costs $5");
	eirc_config_free(cfg);
	/* Empty means unset; numbers are not expanded. */
	expect_errors(y2, "t.yaml:9:9: redis.port: expected a port number, got "
			  "\"${EIRC_TEST_A}\"\n");
	unsetenv("EIRC_TEST_A");
	unsetenv("EIRC_TEST_B");
	unsetenv("EIRC_TEST_EMPTY");
}

static void test_empty_env_is_unset(void **state)
{
	const char *y = BASE "redis:\n  password: ${EIRC_TEST_EMPTY}\n";
	eirc_config_t *cfg;

	(void)state;
	setenv("EIRC_TEST_EMPTY", "", 1);
	cfg = load_ok(y, strlen(y));
	assert_null(cfg->redis.password);
	eirc_config_free(cfg);
	unsetenv("EIRC_TEST_EMPTY");
}

/* history.session_key: at least SESSION_KEY_MIN (32) bytes, required
 * whenever history.socket_path is set (its default is), also when the file
 * has no history section; not needed without a socket. */
static void test_session_key(void **state)
{
	static const char key31[] = "0123456789abcdef0123456789abcde";
	char y[512];
	eirc_config_t *cfg;

	(void)state;
	snprintf(y, sizeof(y), BASE_NO_HISTORY "history:\n  session_key: %s\n", KEY32);
	cfg = load_ok(y, strlen(y));
	assert_string_equal(cfg->history.session_key, KEY32);
	assert_null(cfg->history.socket_group);
	eirc_config_free(cfg);
	snprintf(y, sizeof(y), BASE_NO_HISTORY "history:\n  session_key: %s\n", key31);
	expect_errors(y, "t.yaml:8:16: history.session_key: must be at least 32 bytes long\n");
	expect_errors(BASE_NO_HISTORY "history:\n  socket_mode: \"0660\"\n",
		      "t.yaml:7:1: history.session_key: required when socket_path is set\n");
	expect_errors(BASE_NO_HISTORY "log:\n  level: info\n",
		      "t.yaml:1:1: history: session_key is required when socket_path is set\n");
	cfg = load_ok(BASE_NO_HISTORY "history:\n  socket_path: null\n",
		      strlen(BASE_NO_HISTORY "history:\n  socket_path: null\n"));
	assert_null(cfg->history.socket_path);
	assert_null(cfg->history.session_key);
	eirc_config_free(cfg);
	expect_errors(BASE_NO_HISTORY "history:\n  session_key: " KEY32 "\n"
				      "  socket_group: \"eirc session\"\n",
		      "t.yaml:9:17: history.socket_group: must be one word (no spaces or "
		      "control characters)\n");
}

/* ---- printing ---- */

static char *print_text(const eirc_config_t *cfg, bool mask)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	if (mask)
		eirc_config_print(cfg, f);
	else
		config_print(cfg, f, false);
	fclose(f);
	return buf;
}

static void test_secrets_masked(void **state)
{
	const char *y = "irc:\n  servers:\n    - host: 127.0.0.1\n"
			"  webirc_password: ${EIRC_TEST_PW}\n"
			"auth:\n  internal_secret: s3cr3t-internal-value\n"
			"redis:\n  password: redis-pass-value\n"
			"history:\n  session_key: s3ss10n-key-value-0123456789abcdef\n";
	eirc_config_t *cfg;
	char *text;

	(void)state;
	setenv("EIRC_TEST_PW", "webirc-pass-value", 1);
	cfg = load_ok(y, strlen(y));
	assert_string_equal(cfg->irc.webirc_password, "webirc-pass-value");
	text = print_text(cfg, true);
	assert_non_null(strstr(text, "  webirc_password: \"********\"\n"));
	assert_non_null(strstr(text, "  internal_secret: \"********\"\n"));
	assert_non_null(strstr(text, "  password: \"********\"\n"));
	assert_non_null(strstr(text, "  api_key: null\n")); /* unset: null */
	assert_null(strstr(text, "webirc-pass-value"));
	assert_null(strstr(text, "s3cr3t"));
	assert_null(strstr(text, "redis-pass-value"));
	assert_non_null(strstr(text, "  session_key: \"********\"\n"));
	assert_null(strstr(text, "s3ss10n"));
	free(text);
	eirc_config_free(cfg);
	unsetenv("EIRC_TEST_PW");
	/* An error about a secret never shows its value. */
	expect_errors("irc:\n  servers: [{host: a}]\n"
		      "  webirc_password: \"hunter2 hunter2\"\n"
		      "auth:\n  internal_secret: hunter2\n",
		      "t.yaml:3:20: irc.webirc_password: must be one word (no "
		      "spaces or control characters)\n"
		      "t.yaml:5:20: auth.internal_secret: must be at least 16 "
		      "bytes long\n");
}

static void test_print_round_trip(void **state)
{
	const char *y =
		BASE_NO_HISTORY "gateway:\n  allowed_origins: [\"https://a.example\"]\n"
				"  slow_reader_timeout: 1500ms\n"
				"logger:\n  channels: [\"#a\", \"&b\"]\n  nick: \"we\\\\ird\"\n"
				"history:\n  socket_mode: \"0640\"\n  session_key: " KEY32 "\n"
				"redis:\n  password: \"quote\\\" back\\\\slash tab\\t nl\\n "
				"$${lit} \\u2028\\x85\xc3\xa9\"\n";
	eirc_config_t *cfg = load_ok(y, strlen(y)), *again;
	char *one, *two;

	(void)state;
	one = print_text(cfg, false);
	again = load_ok(one, strlen(one));
	two = print_text(again, false);
	assert_string_equal(one, two);
	assert_string_equal(again->redis.password, "quote\" back\\slash tab\t nl\n ${lit} "
						   "\xe2\x80\xa8\xc2\x85\xc3\xa9");
	assert_non_null(strstr(one, "$${lit} \\L\\x85\xc3\xa9\"\n"));
	assert_true(again->gateway.slow_reader_timeout == 1500);
	assert_int_equal(again->history.socket_mode, 0640);
	free(one);
	free(two);
	eirc_config_free(cfg);
	eirc_config_free(again);
}

/* ---- the schema itself ---- */

static void schema_walk(const config_section_t *sec, unsigned depth)
{
	assert_true(sec->n_fields <= CONFIG_SECTION_KEYS_MAX);
	assert_true(depth < CONFIG_DEPTH_MAX);
	for (size_t i = 0; i < sec->n_fields; i++) {
		const config_field_t *f = &sec->fields[i];
		assert_non_null(f->help);
		assert_true(f->offset < sec->size);
		for (size_t j = i + 1; j < sec->n_fields; j++)
			assert_string_not_equal(f->name, sec->fields[j].name);
		if (f->type == CONFIG_T_ENUM)
			assert_non_null(f->values[0]);
		if (f->sub)
			schema_walk(f->sub, depth + 1);
	}
}

static void test_schema_sane(void **state)
{
	(void)state;
	schema_walk(&config_schema_root, 1);
	assert_int_equal(config_schema_root.n_fields, 10);
}

/* ---- ${NAME} references, per section ---- */

typedef struct names {
	char v[8][32];
	size_t n;
} names_t;

static void name_cb(void *ud, const char *name)
{
	names_t *n = ud;

	if (n->n < 8)
		snprintf(n->v[n->n], sizeof(n->v[0]), "%s", name);
	n->n++;
}

static names_t refs_of(const eirc_config_t *cfg, const char *section)
{
	names_t n = {.n = 0};
	size_t count = eirc_config_env_refs(cfg, section, name_cb, &n);

	assert_int_equal(count, n.n);
	return n;
}

static void test_env_refs(void **state)
{
	static const char yaml[] = "# a comment mentions ${NOT_A_REF}\n"
				   "irc:\n"
				   "  servers:\n"
				   "    - host: ${T_HOST}\n"
				   "  webirc_password: ${T_PW} # and ${IN_COMMENT}\n"
				   "  webirc_gateway: \"$${LITERAL}-${T_PW}\"\n"
				   "auth:\n"
				   "  internal_secret: ${T_SECRET}${T_SECRET}\n"
				   "  database:\n"
				   "    password: ${T_DB}\n"
				   "gateway:\n"
				   "  allowed_origins: [\"https://${T_HOST}\", \"https://x\"]\n"
				   "history:\n"
				   "  socket_path: /run/${T_RUN}/h.sock\n"
				   "  session_key: " KEY32 "\n";
	eirc_config_t *cfg;
	names_t n;

	(void)state;
	setenv("T_HOST", "127.0.0.1", 1);
	setenv("T_PW", "pw", 1);
	setenv("T_SECRET", "0123456789abcdef", 1);
	setenv("T_DB", "db", 1);
	setenv("T_RUN", "eirc", 1);
	cfg = load_ok(yaml, sizeof(yaml) - 1);
	assert_string_equal(cfg->irc.webirc_gateway, "${LITERAL}-pw");
	n = refs_of(cfg, "irc");
	assert_int_equal(n.n, 2); /* T_PW once, in file order */
	assert_string_equal(n.v[0], "T_HOST");
	assert_string_equal(n.v[1], "T_PW");
	n = refs_of(cfg, "auth");
	assert_int_equal(n.n, 2);
	assert_string_equal(n.v[0], "T_SECRET");
	assert_string_equal(n.v[1], "T_DB");
	n = refs_of(cfg, "gateway");
	assert_int_equal(n.n, 1);
	assert_string_equal(n.v[0], "T_HOST");
	n = refs_of(cfg, "history");
	assert_int_equal(n.n, 1);
	assert_string_equal(n.v[0], "T_RUN");
	assert_int_equal(refs_of(cfg, "log").n, 0);
	n = refs_of(cfg, NULL); /* every name once */
	assert_int_equal(n.n, 5);
	assert_string_equal(n.v[4], "T_RUN");
	/* per key: a key, a list of sections, a subsection */
	n = refs_of(cfg, "irc.webirc_password");
	assert_int_equal(n.n, 1);
	assert_string_equal(n.v[0], "T_PW");
	n = refs_of(cfg, "irc.servers");
	assert_int_equal(n.n, 1);
	assert_string_equal(n.v[0], "T_HOST");
	assert_int_equal(refs_of(cfg, "irc.servers.host").n, 1);
	assert_int_equal(refs_of(cfg, "irc.servers.port").n, 0);
	n = refs_of(cfg, "auth.database");
	assert_int_equal(n.n, 1);
	assert_string_equal(n.v[0], "T_DB");
	assert_int_equal(refs_of(cfg, "gateway.allowed_origins").n, 1);
	assert_int_equal(refs_of(cfg, "history.socket_path").n, 1);
	assert_int_equal(refs_of(cfg, "history.socket").n, 0); /* a key, not a prefix */
	assert_int_equal(refs_of(cfg, "history.introspect_client_secret").n, 0);
	assert_int_equal(refs_of(cfg, "au").n, 0);
	eirc_config_free(cfg);
}

static const char *table_var(void *ud, const char *name)
{
	const char *const *kv = ud;

	for (; kv[0]; kv += 2)
		if (!strcmp(kv[0], name))
			return kv[1];
	return NULL;
}

/* ${NAME} through a lookup (eirc-irc-client's fd 4 table): the
 * environment is never read, and a name missing from the table is unset. */
static void test_load_vars(void **state)
{
	static const char yaml[] = "irc:\n  servers:\n    - host: 127.0.0.1\n"
				   "  webirc_password: ${T_VAR_PW}\n"
				   "auth:\n  internal_secret: ${T_VAR_SECRET}\n"
				   "history:\n  socket_path: null\n";
	const char *kv[] = {"T_VAR_PW", "from-the-table", "T_VAR_SECRET", "0123456789abcdef", NULL};
	eirc_config_vars_t vars = {table_var, kv, NULL};
	char path[] = "/tmp/test-config-vars-XXXXXX";
	int fd = mkstemp(path);
	eirc_config_t *cfg = NULL;
	eirc_config_errors_t *errs = NULL;
	char *text;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, yaml, sizeof(yaml) - 1), (ssize_t)sizeof(yaml) - 1);
	close(fd);
	setenv("T_VAR_PW", "from-the-environment", 1);
	unsetenv("T_VAR_SECRET");
	assert_int_equal(eirc_config_load_vars(path, &vars, &cfg, &errs), 0);
	assert_string_equal(cfg->irc.webirc_password, "from-the-table");
	assert_string_equal(cfg->auth.internal_secret, "0123456789abcdef");
	eirc_config_free(cfg);
	kv[2] = "T_VAR_OTHER"; /* the secret is not in the table */
	setenv("T_VAR_SECRET", "0123456789abcdef", 1);
	assert_int_equal(eirc_config_load_vars(path, &vars, &cfg, &errs), -EINVAL);
	text = errors_text(errs);
	assert_non_null(strstr(text, "auth.internal_secret: variable T_VAR_SECRET is not set"));
	free(text);
	eirc_config_errors_free(errs);
	unsetenv("T_VAR_PW");
	unsetenv("T_VAR_SECRET");
	unlink(path);
}

/* D2: ${NAME} from $CREDENTIALS_DIRECTORY/NAME when the environment has
 * none (one trailing newline dropped); with keys, an unset name under a key
 * the program does not read loads as EIRC_CONFIG_VAR_UNREAD, while one
 * under a key it reads still fails, naming both places looked in. */
static void test_load_credentials(void **state)
{
	static const char yaml[] = "irc:\n  servers:\n    - host: 127.0.0.1\n"
				   "  webirc_password: ${T_CRED_PW}\n"
				   "auth:\n  internal_secret: ${T_CRED_SECRET}\n"
				   "history:\n  socket_path: null\n";
	static const char *const irc_only[] = {"irc", NULL};
	static const char *const auth_only[] = {"auth.internal_secret", NULL};
	eirc_config_vars_t vars = {NULL, NULL, irc_only};
	char dir[] = "/tmp/test-config-cred-XXXXXX", file[128],
	     path[] = "/tmp/test-config-cred-y-XXXXXX";
	int fd = mkstemp(path);
	eirc_config_t *cfg = NULL;
	eirc_config_errors_t *errs = NULL;
	char *text;
	FILE *f;

	(void)state;
	assert_true(fd >= 0 && mkdtemp(dir));
	assert_int_equal(write(fd, yaml, sizeof(yaml) - 1), (ssize_t)sizeof(yaml) - 1);
	close(fd);
	unsetenv("T_CRED_PW");
	unsetenv("T_CRED_SECRET");
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	snprintf(file, sizeof(file), "%s/T_CRED_PW", dir);
	assert_non_null(f = fopen(file, "w"));
	fputs("from-the-credential\n", f);
	fclose(f);
	/* eirc-gateway's way: T_CRED_SECRET is not its to read */
	assert_int_equal(eirc_config_load_vars(path, &vars, &cfg, &errs), 0);
	assert_string_equal(cfg->irc.webirc_password, "from-the-credential");
	assert_string_equal(cfg->auth.internal_secret, EIRC_CONFIG_VAR_UNREAD);
	eirc_config_free(cfg);
	/* every key read (eirc-config --check): the missing one fails */
	assert_int_equal(eirc_config_load(path, &cfg, &errs), -EINVAL);
	text = errors_text(errs);
	assert_non_null(strstr(text,
			       "auth.internal_secret: T_CRED_SECRET is not set (neither in the "
			       "environment nor in $CREDENTIALS_DIRECTORY)"));
	free(text);
	eirc_config_errors_free(errs);
	/* a program that reads it fails too, and the environment wins */
	vars.keys = auth_only;
	assert_int_equal(eirc_config_load_vars(path, &vars, &cfg, &errs), -EINVAL);
	eirc_config_errors_free(errs);
	setenv("T_CRED_SECRET", "0123456789abcdef", 1);
	setenv("T_CRED_PW", "from-the-environment", 1);
	assert_int_equal(eirc_config_load_vars(path, &vars, &cfg, &errs), 0);
	assert_string_equal(cfg->irc.webirc_password, "from-the-environment");
	assert_string_equal(cfg->auth.internal_secret, "0123456789abcdef");
	eirc_config_free(cfg);
	unsetenv("T_CRED_PW");
	unsetenv("T_CRED_SECRET");
	unsetenv("CREDENTIALS_DIRECTORY");
	unlink(file);
	rmdir(dir);
	unlink(path);
}

/* CONFIG_ENV_REFS_MAX distinct references load; one more is an error. */
static void test_env_refs_limit(void **state)
{
	size_t cap = 64 * (CONFIG_ENV_REFS_MAX + 2) + 256, o = 0;
	char *yaml = malloc(cap), name[32], expected[256];
	eirc_config_t *cfg;

	(void)state;
	assert_non_null(yaml);
	for (int i = 0; i <= CONFIG_ENV_REFS_MAX; i++) {
		snprintf(name, sizeof(name), "T_REF_%d", i);
		setenv(name, "x", 1);
	}
	o += (size_t)snprintf(yaml + o, cap - o, BASE "gateway:\n  allowed_origins:\n");
	for (int i = 0; i < CONFIG_ENV_REFS_MAX; i++)
		o += (size_t)snprintf(yaml + o, cap - o, "    - https://${T_REF_%d}\n", i);
	cfg = load_ok(yaml, o);
	assert_int_equal(refs_of(cfg, "gateway").n, CONFIG_ENV_REFS_MAX);
	eirc_config_free(cfg);
	snprintf(yaml + o, cap - o, "    - https://${T_REF_%d}\n", CONFIG_ENV_REFS_MAX);
	snprintf(expected, sizeof(expected),
		 "t.yaml:%d:7: gateway.allowed_origins[%d]: more "
		 "than %d ${NAME} references (CONFIG_ENV_REFS_MAX)\n",
		 9 + CONFIG_ENV_REFS_MAX, CONFIG_ENV_REFS_MAX, CONFIG_ENV_REFS_MAX);
	expect_errors(yaml, expected);
	free(yaml);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yaml_syntax),
		cmocka_unit_test(test_env_refs),
		cmocka_unit_test(test_env_refs_limit),
		cmocka_unit_test(test_load_vars),
		cmocka_unit_test(test_load_credentials),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_bad_enum),
		cmocka_unit_test(test_bad_units),
		cmocka_unit_test(test_unset_env),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_cross_key_checks),
		cmocka_unit_test(test_validators),
		cmocka_unit_test(test_gateway_browser_sndbuf),
		cmocka_unit_test(test_many_errors_in_file_order),
		cmocka_unit_test(test_limit_input_size),
		cmocka_unit_test(test_limit_depth),
		cmocka_unit_test(test_limit_list),
		cmocka_unit_test(test_limit_string),
		cmocka_unit_test(test_limit_errors),
		cmocka_unit_test(test_units_at_limits),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_session_key),
		cmocka_unit_test(test_env_expansion),
		cmocka_unit_test(test_empty_env_is_unset),
		cmocka_unit_test(test_secrets_masked),
		cmocka_unit_test(test_print_round_trip),
		cmocka_unit_test(test_schema_sane),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
