/*
 * `systemctl reload` of eirc-gateway (SIGHUP, common/daemon.c): a config
 * that loads is taken for new sessions (the sealed memfd the gateway
 * hands each irc-client on fd 5 holds the new text, and a session opened
 * after works), a config that does not load is refused (logged; the
 * gateway and its memfd keep the last good text; sessions still open).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/gateway_fixture.h"

static gwfx_t g;

static int setup(void **state)
{
	(void)state;
	return gwfx_start(&g, NULL);
}

static int teardown(void **state)
{
	(void)state;
	return gwfx_cleanup(&g);
}

/* The text of the gateway's "eirc-config" memfd (the one it hands to the
 * irc-clients it starts next), malloc'd; NULL when it has none. */
static char *gateway_memfd(void)
{
	char dir[64], link[PATH_MAX], path[400], *text = NULL;
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)gwfx_gateway_pid(&g));
	assert_non_null(d = opendir(dir));
	while (!text && (e = readdir(d))) {
		ssize_t n;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strncmp(link, "/memfd:eirc-config", 18) == 0) {
			FILE *f = fopen(path, "re");
			size_t cap = 0;
			if (f && getdelim(&text, &cap, '\0', f) < 0) {
				free(text);
				text = NULL;
			}
			if (f)
				fclose(f);
		}
	}
	closedir(d);
	return text;
}

static void wait_log(const char *needle)
{
	for (int i = 0; i < 100 && !gwfx_log_has(&g, needle); i++)
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	if (!gwfx_log_has(&g, needle))
		fail_msg("the gateway never logged \"%s\"", needle);
}

static void append(const char *text)
{
	FILE *f = fopen(g.config, "ae");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void session_works(const char *user)
{
	itc_t *c;
	ws_client_t *ws = gwfx_open_registered(&g, user, NULL, &c);

	itc_sendf(c, "PING :reload");
	itc_expect(c, "PONG", "reload");
	itc_close(c);
	gwfx_close(&g, ws);
}

static void test_reload(void **state)
{
	char *text;

	(void)state;
	gwfx_add_user(&g, "alice");
	text = gateway_memfd();
	assert_non_null(text);
	assert_null(strstr(text, "# reload-marker"));
	free(text);
	/* a good edit: new sessions get it */
	append("# reload-marker\n");
	assert_int_equal(kill(gwfx_gateway_pid(&g), SIGHUP), 0);
	wait_log("Reloaded");
	assert_non_null(text = gateway_memfd());
	assert_non_null(strstr(text, "# reload-marker\n"));
	free(text);
	session_works("alice");
	/* a broken edit: refused, nothing changes */
	append("irc: [not yaml\n");
	assert_int_equal(kill(gwfx_gateway_pid(&g), SIGHUP), 0);
	wait_log("Reload refused");
	assert_non_null(text = gateway_memfd());
	assert_non_null(strstr(text, "# reload-marker\n"));
	assert_null(strstr(text, "not yaml"));
	free(text);
	session_works("alice");
	assert_int_equal(gwfx_stop(&g), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reload),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
