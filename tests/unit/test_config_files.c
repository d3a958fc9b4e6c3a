/*
 * Unit tests of the committed config files: config/eirc.yaml loads cleanly
 * (with the run script's secrets in the environment) and holds what the
 * local stack expects; docs/configuration.md equals `eirc-config
 * --reference` (the doc cannot drift from the schema); the shared
 * --check-config helper's output and exit status; reading files.
 */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/redis_acl.h"
#include "config/config.h"
#include "tests/harness/testfile.h"

static char source_path[4096];

/* EIRC_SOURCE_DIR (set by CTest, else compiled in) + rel. */
static const char *source_file(const char *rel)
{
	const char *dir = getenv("EIRC_SOURCE_DIR");

	if (!dir)
		dir = EIRC_SOURCE_DIR;
	snprintf(source_path, sizeof(source_path), "%s/%s", dir, rel);
	return source_path;
}

static char *slurp(const char *path, size_t *out_len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*out_len = (size_t)n;
	return buf;
}

static void set_secrets(void)
{
	setenv("EIRC_WEBIRC_PASSWORD", "webirc-test-password", 1);
	setenv("EIRC_INTERNAL_SECRET", "internal-test-secret-0123456789", 1);
	setenv("EIRC_DB_PASSWORD", "db-test-password", 1);
	setenv("EIRC_DB_OWNER_PASSWORD", "db-owner-test-password", 1);
	setenv("EIRC_REDIS_PASSWORD", "redis-test-password", 1);
	setenv("EIRC_REDIS_AUTH_PASSWORD", "redis-auth-test-password", 1);
	setenv("EIRC_REDIS_GATEWAY_PASSWORD", "redis-gateway-test-password", 1);
	setenv("EIRC_REDIS_LOGGER_PASSWORD", "redis-logger-test-password", 1);
	setenv("EIRC_LOGGER_IRC_PASSWORD", "logger-irc-test-password", 1);
	setenv("EIRC_REDIS_HISTORY_PASSWORD", "redis-history-test-password", 1);
	setenv("EIRC_HISTORY_CLIENT_SECRET", "history-client-secret-0123456789", 1);
	setenv("EIRC_SESSION_KEY", "session-test-key-0123456789abcdef", 1);
	setenv("EIRC_ARCHIVE_SIGNING_KEY", "PRIVATE+KEY+test+00000000+AQ", 1);
}

static void test_example_loads(void **state)
{
	eirc_config_t *cfg = NULL;
	eirc_config_errors_t *errs = NULL;
	int r;

	(void)state;
	set_secrets();
	r = eirc_config_load(source_file("config/eirc.yaml"), &cfg, &errs);
	if (r != 0) {
		eirc_config_errors_print(errs, stderr);
		eirc_config_errors_free(errs);
		fail();
	}
	/* What the local-stack supervisor reads. */
	assert_string_equal(cfg->irc.network, "eirc");
	assert_int_equal(cfg->irc.n_servers, 1);
	assert_string_equal(cfg->irc.servers[0].host, "127.0.0.1");
	assert_int_equal(cfg->irc.servers[0].port, 16667);
	assert_false(cfg->irc.servers[0].tls);
	assert_true(cfg->irc.servers[0].tls_verify);
	assert_null(cfg->irc.servers[0].tls_ca_file);
	assert_null(cfg->irc.servers[0].unix_path);
	assert_string_equal(cfg->irc.webirc_password, "webirc-test-password");
	assert_string_equal(cfg->redis.host, "127.0.0.1");
	assert_int_equal(cfg->redis.port, 16379);
	assert_string_equal(cfg->redis.password, "redis-test-password");
	assert_int_equal(cfg->redis.partitions, 16);
	assert_string_equal(cfg->auth.database.host, "127.0.0.1");
	assert_int_equal(cfg->auth.database.port, 15432);
	assert_string_equal(cfg->auth.database.name, "eirc");
	assert_string_equal(cfg->auth.database.user, "eirc");
	assert_string_equal(cfg->auth.database.password, "db-test-password");
	assert_string_equal(cfg->auth.listen_address, "127.0.0.1");
	assert_int_equal(cfg->auth.listen_port, 8080);
	assert_string_equal(cfg->auth.internal_secret, "internal-test-secret-0123456789");
	assert_true(cfg->auth.chat_token_ttl == 180000);
	assert_string_equal(cfg->gateway.listen_address, "127.0.0.1");
	assert_int_equal(cfg->gateway.listen_port, 8081);
	/* The history socket: the irc-clients' group only, tickets checked. */
	assert_int_equal(cfg->history.socket_mode, 0660);
	assert_string_equal(cfg->history.socket_group, "eirc-session");
	assert_string_equal(cfg->irc_client.sandbox_user, "eirc-session");
	assert_string_equal(cfg->history.session_key, "session-test-key-0123456789abcdef");
	assert_int_equal(cfg->log.level, EIRC_CONFIG_LOG_INFO);
	assert_int_equal(cfg->log.format, EIRC_CONFIG_LOG_TEXT);
	eirc_config_free(cfg);
}

/* The package's /etc/eirc/eirc.yaml loads with its secrets set. */
static void test_production_example_loads(void **state)
{
	eirc_config_t *cfg = NULL;
	eirc_config_errors_t *errs = NULL;

	(void)state;
	set_secrets();
	setenv("EIRC_ES_API_KEY", "es-test-key", 1);
	setenv("EIRC_HISTORY_CLIENT_SECRET", "history-test-secret", 1);
	if (eirc_config_load(source_file("dist/eirc.yaml"), &cfg, &errs) != 0) {
		eirc_config_errors_print(errs, stderr);
		eirc_config_errors_free(errs);
		fail();
	}
	/* one host: InspIRCd, Redis and PostgreSQL on loopback, no Elasticsearch */
	assert_int_equal(cfg->irc.n_servers, 1);
	assert_string_equal(cfg->irc.servers[0].host, "127.0.0.1");
	assert_string_equal(cfg->redis.host, "127.0.0.1");
	assert_int_equal(cfg->elasticsearch.n_urls, 0);
	assert_string_equal(cfg->auth.web_root, "/usr/share/eirc/web");
	assert_string_equal(cfg->logger.spill_dir, "/var/lib/eirc/spill");
	assert_string_equal(cfg->auth.web_gateway_url, "/chat");
	assert_int_equal(cfg->gateway.n_trusted_proxies, 1);
	assert_false(cfg->gateway.allow_missing_origin);
	/* every daemon as its own Redis user (dist/redis-users.acl) */
	assert_null(cfg->redis.password);
	assert_string_equal(cfg->auth.redis_username, "eirc-auth");
	assert_string_equal(cfg->auth.redis_password, "redis-auth-test-password");
	assert_string_equal(cfg->gateway.redis_username, "eirc-gateway");
	assert_string_equal(cfg->gateway.redis_password, "redis-gateway-test-password");
	assert_string_equal(cfg->logger.redis_username, "eirc-logger");
	assert_string_equal(cfg->logger.redis_password, "redis-logger-test-password");
	assert_string_equal(cfg->history.redis_username, "eirc-history");
	assert_string_equal(cfg->history.redis_password, "redis-history-test-password");
	assert_string_equal(cfg->irc_client.sandbox_user, "eirc-session");
	assert_string_equal(cfg->history.socket_group, "eirc-session");
	assert_int_equal(cfg->log.format, EIRC_CONFIG_LOG_JSON);
	eirc_config_free(cfg);
	unsetenv("EIRC_ES_API_KEY");
	unsetenv("EIRC_HISTORY_CLIENT_SECRET");
}

/* Every key of the schema is written out in the example. */
static void test_example_is_complete(void **state)
{
	eirc_config_t *cfg = NULL;
	char *printed = NULL, *example;
	size_t plen = 0, elen = 0;
	FILE *f;

	(void)state;
	set_secrets();
	assert_int_equal(eirc_config_load(source_file("config/eirc.yaml"), &cfg, NULL), 0);
	f = open_memstream(&printed, &plen);
	eirc_config_print(cfg, f);
	fclose(f);
	example = slurp(source_path, &elen);
	assert_non_null(example);
	/* Each "key:" the printer emits (one per schema key) is in the file. */
	size_t missing = 0;
	for (char *line = strtok(printed, "\n"); line; line = strtok(NULL, "\n")) {
		char key[128];
		if (line[0] == '#' || sscanf(line, " - %126[a-z_]:", key) != 1) {
			if (sscanf(line, " %126[a-z_]:", key) != 1)
				continue;
		}
		strcat(key, ":");
		if (!strstr(example, key)) {
			print_error("config/eirc.yaml lacks key %s (write every key of "
				    "the schema there, with a comment)\n",
				    key);
			missing++;
		}
	}
	free(example);
	free(printed);
	eirc_config_free(cfg);
	assert_int_equal(missing, 0);
}

static void test_docs_current(void **state)
{
	char *generated = NULL, *committed;
	size_t glen = 0, clen = 0;
	FILE *f = open_memstream(&generated, &glen);

	(void)state;
	eirc_config_reference_print(f);
	fclose(f);
	committed = slurp(source_file("docs/configuration.md"), &clen);
	bool same = committed && clen == glen && memcmp(committed, generated, glen) == 0;
	if (!same)
		print_error("docs/configuration.md is not what the schema generates: "
			    "run `eirc-config --reference > docs/configuration.md` "
			    "(or build the eirc-config-reference target)\n");
	free(committed);
	free(generated);
	assert_true(same);
}

static void test_check_main(void **state)
{
	char *out = NULL, *err = NULL, expected[1024];
	size_t olen = 0, elen = 0;
	FILE *fo = open_memstream(&out, &olen), *fe = open_memstream(&err, &elen);
	char *path;

	(void)state;
	set_secrets();
	assert_int_equal(eirc_config_check_main(source_file("config/eirc.yaml"), NULL, fo, fe), 0);
	fflush(fo);
	fflush(fe);
	assert_string_equal(err, "");
	assert_non_null(strstr(out, "  webirc_password: \"********\"\n"));
	assert_null(strstr(out, "webirc-test-password"));
	assert_non_null(strstr(out, "  session_key: \"********\"\n"));
	assert_null(strstr(out, "session-test-key"));
	path = tf_temp_file("config", "log:\n  level: loud\n");
	assert_int_equal(eirc_config_check_main(path, NULL, fo, fe), 1);
	fclose(fo);
	fclose(fe);
	snprintf(expected, sizeof(expected),
		 "%s:1:1: irc.servers: required key is missing\n"
		 "%s:1:1: irc.webirc_password: required key is missing\n"
		 "%s:1:1: auth.internal_secret: required key is missing\n"
		 "%s:2:10: log.level: bad value \"loud\" (allowed: debug, info, "
		 "warn, error)\n"
		 "%s: 4 errors, configuration not valid\n",
		 path, path, path, path, path);
	assert_string_equal(err, expected);
	unlink(path);
	free(path);
	free(out);
	free(err);
}

static void test_unreadable_file(void **state)
{
	eirc_config_t *cfg = (eirc_config_t *)0x1;
	eirc_config_errors_t *errs = NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_int_equal(eirc_config_load("/nonexistent/eirc.yaml", &cfg, &errs), -ENOENT);
	assert_ptr_equal(cfg, (eirc_config_t *)0x1);
	f = open_memstream(&text, &len);
	eirc_config_errors_print(errs, f);
	fclose(f);
	assert_string_equal(text, "/nonexistent/eirc.yaml: cannot read: No such "
				  "file or directory\n");
	free(text);
	eirc_config_errors_free(errs);
	/* A directory reads as an error too, and NULL out_errs is allowed. */
	assert_int_equal(eirc_config_load("/", &cfg, NULL), -EISDIR);
	eirc_config_free(NULL);
	eirc_config_errors_free(NULL);
}

/* dist/redis-users.acl: its user lines are what redis_acl writes for
 * dist/eirc.yaml, the passwords being the ${VARIABLES} its sections name. */
static void test_dist_redis_users(void **state)
{
	static const char *const vars[REDIS_ACL_ROLES] = {
		"EIRC_REDIS_AUTH_PASSWORD", "EIRC_REDIS_GATEWAY_PASSWORD",
		"EIRC_REDIS_LOGGER_PASSWORD", "EIRC_REDIS_HISTORY_PASSWORD"};
	eirc_config_t *cfg = NULL;
	const char *names[REDIS_ACL_ROLES];
	char pw[64], *file, *users, buf[REDIS_ACL_LINE_MAX];
	size_t len = 0;

	(void)state;
	set_secrets();
	setenv("EIRC_ES_API_KEY", "es-test-key", 1);
	for (int r = 0; r < REDIS_ACL_ROLES; r++) {
		snprintf(pw, sizeof(pw), "${%s}", vars[r]);
		setenv(vars[r], pw, 1);
	}
	assert_int_equal(eirc_config_load(source_file("dist/eirc.yaml"), &cfg, NULL), 0);
	names[REDIS_ACL_AUTH] = cfg->auth.redis_username;
	names[REDIS_ACL_GATEWAY] = cfg->gateway.redis_username;
	names[REDIS_ACL_LOGGER] = cfg->logger.redis_username;
	names[REDIS_ACL_HISTORY] = cfg->history.redis_username;
	file = slurp(source_file("dist/redis-users.acl"), &len);
	assert_non_null(file);
	users = strstr(file, "\nuser eirc-");
	assert_non_null(users);
	users++;
	for (int r = 0; r < REDIS_ACL_ROLES; r++) {
		const char *pws[REDIS_ACL_ROLES] = {
			cfg->auth.redis_password, cfg->gateway.redis_password,
			cfg->logger.redis_password, cfg->history.redis_password};
		int n = redis_acl_line((enum redis_acl_role)r, names[r], pws[r], cfg->irc.network,
				       cfg->redis.partitions, buf, sizeof(buf));
		assert_true(n > 0);
		if (strncmp(users, buf, (size_t)n) != 0)
			fail_msg("dist/redis-users.acl: expected\n%s", buf);
		users += n;
	}
	assert_string_equal(users, "");
	free(file);
	eirc_config_free(cfg);
	unsetenv("EIRC_ES_API_KEY");
	set_secrets();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_loads),
		cmocka_unit_test(test_production_example_loads),
		cmocka_unit_test(test_example_is_complete),
		cmocka_unit_test(test_dist_redis_users),
		cmocka_unit_test(test_docs_current),
		cmocka_unit_test(test_check_main),
		cmocka_unit_test(test_unreadable_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
