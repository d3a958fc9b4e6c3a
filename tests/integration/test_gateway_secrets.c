/*
 * What an irc-client's secrets look like from outside, everything real
 * (PostgreSQL, eirc-auth, InspIRCd with WEBIRC, eirc-gateway): the config
 * holds only ${NAME} references (the WEBIRC password, eirc-auth's internal
 * secret, the history client secret), as a deployment's does.
 *
 *   - the session registers with WEBIRC: the password reached the child,
 *     through fd 4;
 *   - no secret value is in any irc-client's environment or command line,
 *     and its environment has only PATH, TZ, LANG, LC_ALL and the
 *     sanitizer options;
 *   - another uid (nobody) and the irc-client's own uid (eirc-session,
 *     like a second irc-client) can open neither /proc/<pid>/environ nor
 *     /proc/<pid>/mem, nor PTRACE_ATTACH; /proc/<pid>/cmdline, readable by
 *     all, shows no secret;
 *   - the irc-client runs as irc_client.sandbox_user (eirc-session) with
 *     no capability, whether the gateway runs as root or as eirc with
 *     CAP_SETUID, CAP_SETGID and CAP_KILL as ambient capabilities only
 *     (the local stack's way);
 *   - that gateway still stops an irc-client of the other uid that does
 *     not quit (SIGTERM, then SIGKILL: CAP_KILL);
 *   - irc-clients never open the config file: the gateway hands them the
 *     text it loaded at start (fd 5), so the file need not be readable by
 *     eirc-session, and an edit reaches no session before the gateway
 *     restarts (deploy issue, items 1 and 8).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/harness/session_test.h"
#include "tests/integration/gateway_fixture.h"

#define SANDBOX_USER "eirc-session"
#define GATEWAY_USER "eirc"
/* Bytes of a /proc file read (an irc-client's environ and cmdline are far
 * smaller). */
#define PROC_READ_MAX 16384

static const char *const secrets[] = {GWFX_WEBIRC_PASSWORD, FX_SECRET, GWFX_HISTORY_SECRET,
				      SESSION_TEST_KEY};

static gwfx_t g, g_caps;

static int setup(void **state)
{
	gwfx_opts_t caps = {.base = &g, .run_as = GATEWAY_USER};

	(void)state;
	if (gwfx_start(&g, NULL) < 0)
		return -1;
	gwfx_add_user(&g, "alice");
	gwfx_add_user(&g, "bob");
	return gwfx_start_with(&g_caps, &caps) < 0 ? -1 : 0;
}

static int after_test(void **state)
{
	(void)state;
	return gwfx_cleanup(&g_caps) < 0 || gwfx_cleanup(&g) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	if (g_caps.gw)
		gwfx_stop(&g_caps);
	if (g.auth.env) /* gwfx_test_clean_stop did not run (TEST_FILTER) */
		gwfx_stop(&g);
	return 0;
}

/* Reads /proc/<pid>/<file> into buf (NUL-terminated); its length, or -1. */
static ssize_t proc_read(pid_t pid, const char *file, char buf[PROC_READ_MAX])
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, PROC_READ_MAX - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* Problems found by the checks: each is printed, the test fails at the end
 * of the session checks (so that a run shows every one, not the first). */
static int problems;

static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void problem(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("PROBLEM: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	problems++;
}

/* A problem when a secret's value is in the n bytes at buf. */
static void expect_no_secret(const char *buf, size_t n, const char *what, pid_t pid)
{
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		if (memmem(buf, n, secrets[i], strlen(secrets[i])))
			problem("a secret (%s) is in %s of %d", secrets[i], what, (int)pid);
}

/* The child of gateway gw that runs the session of user (its --nick). */
static pid_t child_of(const gwfx_t *gw, const char *user)
{
	pid_t pids[16], found = 0;
	size_t n = gwfx_children(gw, pids, 16);
	char buf[PROC_READ_MAX];

	for (size_t i = 0; i < n && i < 16; i++) {
		ssize_t len = proc_read(pids[i], "cmdline", buf);
		for (ssize_t o = 0; o + 1 < len; o += (ssize_t)strlen(buf + o) + 1)
			if (!strcmp(buf + o, "--nick") && !strcmp(buf + o + 7, user))
				found = pids[i];
	}
	if (!found)
		fail_msg("no child of the gateway runs the session of %s", user);
	return found;
}

/* A hexadecimal field of /proc/<pid>/status ("CapEff"); -1 when absent. */
static long long status_hex(pid_t pid, const char *field)
{
	char buf[PROC_READ_MAX], key[32];
	const char *at;

	snprintf(key, sizeof(key), "\n%s:", field);
	if (proc_read(pid, "status", buf) < 0 || !(at = strstr(buf, key)))
		return -1;
	return strtoll(at + strlen(key), NULL, 16);
}

/* A problem unless field of pid's status is want (hex: a capability
 * set). */
static void expect_status(pid_t pid, const char *field, bool hex, long long want)
{
	long long v = hex ? status_hex(pid, field) : gwfx_status_field(pid, field);

	if (v != want)
		problem("%s of %d is %llx, not %llx", field, (int)pid, v, want);
}

/* What the root of the test sees: the uid, no capability, an environment
 * of the kept variables only, no secret in it or in argv. */
static void check_child(pid_t pid, const struct passwd *sandbox)
{
	static const char *const kept[] = {
		"PATH=",          "TZ=",          "LANG=", "LC_ALL=", "ASAN_OPTIONS=",
		"UBSAN_OPTIONS=", "LSAN_OPTIONS="};
	char buf[PROC_READ_MAX];
	ssize_t n;

	expect_status(pid, "Uid", false, sandbox->pw_uid);
	expect_status(pid, "Gid", false, sandbox->pw_gid);
	expect_status(pid, "CapPrm", true, 0);
	expect_status(pid, "CapEff", true, 0);
	expect_status(pid, "CapAmb", true, 0);
	assert_true((n = proc_read(pid, "environ", buf)) >= 0);
	expect_no_secret(buf, (size_t)n, "the environment", pid);
	for (ssize_t o = 0; o < n; o += (ssize_t)strlen(buf + o) + 1) {
		bool ok = false;
		for (size_t k = 0; k < sizeof(kept) / sizeof(kept[0]); k++)
			ok |= !strncmp(buf + o, kept[k], strlen(kept[k]));
		if (!ok)
			problem("%.40s%s is in the environment of %d", buf + o,
				strlen(buf + o) > 40 ? "..." : "", (int)pid);
	}
	assert_true((n = proc_read(pid, "cmdline", buf)) > 0);
	expect_no_secret(buf, (size_t)n, "the command line", pid);
}

/*
 * What a process of user sees of victim: a forked child takes the user's
 * uid and gid (no supplementary groups) and tries. Bit 0: environ opened,
 * 1: mem opened, 2: PTRACE_ATTACH succeeded, 3: a secret in the readable
 * cmdline, 4: cmdline unreadable, 5: could not become the user.
 */
static int peek_as(pid_t victim, const struct passwd *pw)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		char path[64], buf[PROC_READ_MAX];
		int bits = 0, fd;
		ssize_t n;
		if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
			_exit(32);
		snprintf(path, sizeof(path), "/proc/%d/environ", (int)victim);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
			bits |= 1;
			close(fd);
		}
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)victim);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
			bits |= 2;
			close(fd);
		}
		if (ptrace(PTRACE_ATTACH, victim, NULL, NULL) == 0) {
			bits |= 4;
			ptrace(PTRACE_DETACH, victim, NULL, NULL);
		}
		if ((n = proc_read(victim, "cmdline", buf)) <= 0)
			bits |= 16;
		for (size_t i = 0; n > 0 && i < sizeof(secrets) / sizeof(secrets[0]); i++)
			if (memmem(buf, (size_t)n, secrets[i], strlen(secrets[i])))
				bits |= 8;
		_exit(bits);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void expect_unreadable(pid_t victim, const char *user)
{
	struct passwd *pw = getpwnam(user);
	int bits;

	assert_non_null(pw);
	bits = peek_as(victim, pw);
	print_message("as %s (uid %d): environ %s, mem %s, ptrace %s, cmdline %s\n", user,
		      (int)pw->pw_uid, bits & 1 ? "READ" : "refused", bits & 2 ? "READ" : "refused",
		      bits & 4 ? "ATTACHED" : "refused",
		      bits & 8 ? "HAS A SECRET"
			       : (bits & 16 ? "unreadable" : "readable, no secret"));
	if (bits != 0)
		problem("%s got at the irc-client %d (bits %#x)", user, (int)victim, bits);
}

/* Two sessions of gateway gw: each child checked as the test's root sees
 * it, and as nobody and as the sandbox user (another irc-client) see it;
 * both still serve. */
static void check_sessions(gwfx_t *gw)
{
	struct passwd *pw = getpwnam(SANDBOX_USER), sandbox;
	itc_t *a, *b;
	ws_client_t *wa, *wb;

	if (!pw)
		fail_msg("no user %s: run scripts/install-deps.sh", SANDBOX_USER);
	sandbox = *pw;
	wa = gwfx_open_registered(gw, "alice", NULL, &a); /* WEBIRC: fd 4 read */
	wb = gwfx_open_registered(gw, "bob", NULL, &b);
	assert_true(gwfx_wait_children(gw, 2, 10000));
	pid_t victim = child_of(gw, "alice"), other = child_of(gw, "bob");
	print_message("alice's irc-client: pid %d, uid %ld; bob's: pid %d\n", (int)victim,
		      gwfx_status_field(victim, "Uid"), (int)other);
	check_child(victim, &sandbox);
	check_child(other, &sandbox);
	expect_unreadable(victim, "nobody");
	expect_unreadable(victim, SANDBOX_USER);
	itc_sendf(a, "PING :after");
	itc_expect(a, "PONG", "after");
	itc_sendf(b, "PING :after");
	itc_expect(b, "PONG", "after");
	itc_close(a);
	itc_close(b);
	gwfx_close(gw, wa);
	gwfx_close(gw, wb);
	assert_true(gwfx_wait_children(gw, 0, 20000));
	assert_int_equal(problems, 0);
}

/* The gateway as root: children as eirc-session. */
static void test_sessions_of_a_root_gateway(void **state)
{
	(void)state;
	assert_int_equal(geteuid(), 0);
	problems = 0;
	check_sessions(&g);
}

/* The gateway as eirc with CAP_SETUID, CAP_SETGID and CAP_KILL ambient:
 * children as eirc-session too, none with a capability. */
static void test_sessions_of_a_gateway_with_capabilities(void **state)
{
	struct passwd *pw = getpwnam(GATEWAY_USER);
	pid_t gw = gwfx_gateway_pid(&g_caps);

	(void)state;
	assert_non_null(pw);
	problems = 0;
	expect_status(gw, "Uid", false, pw->pw_uid);
	expect_status(gw, "CapAmb", true, 0); /* cleared at start */
	expect_status(gw, "CapEff", true, (1LL << 5) | (1LL << 6) | (1LL << 7));
	check_sessions(&g_caps);
}

/* An irc-client that does not quit when its browser leaves (stopped here,
 * as a hung one would be) is signalled by that gateway, whose uid is not
 * the child's: SIGTERM after GW_CHILD_QUIT_MS (5 s), SIGKILL 5 s later. */
static void test_stuck_child_stopped_by_a_gateway_with_capabilities(void **state)
{
	itc_t *a;
	ws_client_t *wa;

	(void)state;
	wa = gwfx_open_registered(&g_caps, "alice", NULL, &a);
	assert_true(gwfx_wait_children(&g_caps, 1, 10000));
	pid_t child = child_of(&g_caps, "alice");
	assert_int_equal(kill(child, SIGSTOP), 0);
	itc_close(a);
	gwfx_close(&g_caps, wa);
	assert_true(gwfx_wait_children(&g_caps, 0, 20000));
	assert_true(gwfx_log_has(&g_caps, "irc-client still running: SIGKILL"));
	assert_int_equal(kill(child, 0), -1);
}

/* The config file made unreadable to eirc-session (0600, root's) and then
 * broken (not YAML any more) while the gateway runs: a new session still
 * registers and answers, on the text the gateway loaded at start. Before
 * fd 5, the irc-client read the file itself: it could not, and exited. */
static void test_config_handed_to_sessions(void **state)
{
	struct stat st;
	char *orig;
	size_t len;
	FILE *f;
	itc_t *a;
	ws_client_t *wa;

	(void)state;
	assert_int_equal(stat(g.config, &st), 0);
	assert_non_null(f = fopen(g.config, "r"));
	assert_non_null(orig = malloc((size_t)st.st_size + 1));
	len = fread(orig, 1, (size_t)st.st_size, f);
	fclose(f);
	assert_int_equal(chown(g.config, 0, 0), 0);
	assert_int_equal(chmod(g.config, 0600), 0);
	assert_non_null(f = fopen(g.config, "a"));
	fputs("irc: [this is not\n", f);
	fclose(f);

	wa = gwfx_open_registered(&g, "alice", NULL, &a);
	itc_sendf(a, "PING :config");
	itc_expect(a, "PONG", "config");
	itc_close(a);
	gwfx_close(&g, wa);
	assert_true(gwfx_wait_children(&g, 0, 20000));

	assert_non_null(f = fopen(g.config, "w"));
	assert_int_equal(fwrite(orig, 1, len, f), len);
	fclose(f);
	free(orig);
	assert_int_equal(chown(g.config, st.st_uid, st.st_gid), 0);
	assert_int_equal(chmod(g.config, st.st_mode & 07777), 0);
}

/* Last: both gateways and eirc-auth exit 0 on SIGTERM (every libuv handle
 * closed; under ASan, nothing leaked). */
static void test_clean_stop(void **state)
{
	(void)state;
	assert_int_equal(gwfx_stop(&g_caps), 0);
	assert_int_equal(gwfx_stop(&g), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_sessions_of_a_root_gateway, after_test),
		cmocka_unit_test_teardown(test_sessions_of_a_gateway_with_capabilities, after_test),
		cmocka_unit_test_teardown(test_stuck_child_stopped_by_a_gateway_with_capabilities,
					  after_test),
		cmocka_unit_test_teardown(test_config_handed_to_sessions, after_test),
		cmocka_unit_test(test_clean_stop), /* last */
	};
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
