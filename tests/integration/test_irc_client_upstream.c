/*
 * eirc-irc-client's upstream connection beyond plain TCP, against a real
 * InspIRCd (ssl_gnutls) and a fake silent server:
 *   - TLS with a throwaway CA made here with the openssl CLI: a verified
 *     session registers and talks; a certificate for another host name,
 *     a CA we do not trust, and a self-signed certificate checked against
 *     the system store are refused (one log line, exit 1); with
 *     tls_verify: false the self-signed server is accepted;
 *   - PING timeout: a server that registers us and then goes silent is
 *     found dead within ping_interval + ping_timeout, the client moves on
 *     to the next server and tells the browser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/irc_line.h"
#include "common/irc_msg.h"
#include "tests/harness/irc_testclient.h"
#include "scripts/stack/launch.h"

#define WEBIRC_PASSWORD "webirc-test-secret"
#define READ_TIMEOUT_MS ITC_TIMEOUT_MS
/* The shortest the config allows: the test waits about their sum. */
#define PING_INTERVAL_MS 5000
#define PING_TIMEOUT_MS  1000

static srv_env_t *env;
static srv_t *ircd;
static char dir[400], bin[512];
static int port_good, port_wrong, port_self;

static pid_t spawned[32];
static size_t n_spawned;

/* Runs a shell command in the test folder; fails the setup on error. */
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int n = snprintf(cmd, sizeof(cmd), "cd '%s' && ", dir);

	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
	va_end(ap);
	int st = system(cmd);
	if (st != 0)
		fprintf(stderr, "command failed (%d): %s\n", st, cmd);
	return st == 0 ? 0 : -1;
}

#define KEY "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"

/* A CA, two certificates it signs (localhost, wrong.example), a
 * self-signed one for localhost and another CA nobody uses to sign. */
static int make_certs(void)
{
	static const char ca_ext[] = "-addext basicConstraints=critical,CA:TRUE "
				     "-addext keyUsage=critical,keyCertSign,cRLSign";

	if (sh("openssl version >/dev/null") < 0) {
		fprintf(stderr, "the openssl CLI is missing: apt-get install openssl\n");
		return -1;
	}
	if (sh("openssl req -x509 " KEY " -keyout ca.key -out ca.pem -days 2 -subj "
	       "'/CN=eIRC test CA' %s 2>/dev/null",
	       ca_ext) < 0 ||
	    sh("openssl req -x509 " KEY " -keyout other-ca.key -out other-ca.pem -days 2 "
	       "-subj '/CN=eIRC other CA' %s 2>/dev/null",
	       ca_ext) < 0 ||
	    sh("openssl req -x509 " KEY " -keyout self.key -out self.pem -days 2 "
	       "-subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null") < 0)
		return -1;
	static const char *const names[] = {"good", "localhost", "wrong", "wrong.example"};
	for (size_t i = 0; i < 4; i += 2) {
		if (sh("printf 'subjectAltName=DNS:%s\\nbasicConstraints=CA:FALSE\\n"
		       "extendedKeyUsage=serverAuth\\n' > %s.ext && "
		       "openssl req " KEY " -keyout %s.key -out %s.csr -subj /CN=%s 2>/dev/null && "
		       "openssl x509 -req -in %s.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
		       "-days 2 -extfile %s.ext -out %s.pem 2>/dev/null",
		       names[i + 1], names[i], names[i], names[i], names[i + 1], names[i], names[i],
		       names[i]) < 0)
			return -1;
	}
	return sh("chmod 0644 *.pem *.key");
}

static int setup(void **state)
{
	char binds[2048], extra[2048];
	const char *bd = getenv("EIRC_BUILD_DIR");
	(void)state;

	srv_env_install_signal_handlers();
	signal(SIGPIPE, SIG_IGN);
	if (!bd || srv_env_new(NULL, &env) < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s", srv_env_dir(env));
	chmod(dir, 0755); /* the sandboxed client runs as nobody */
	snprintf(bin, sizeof(bin), "%s/irc-client/eirc-irc-client", bd);
	if (make_certs() < 0)
		return -1;
	port_good = srv_free_port();
	port_wrong = srv_free_port();
	port_self = srv_free_port();
	while (port_wrong == port_good)
		port_wrong = srv_free_port();
	while (port_self == port_good || port_self == port_wrong)
		port_self = srv_free_port();
	snprintf(binds, sizeof(binds),
		 "<bind address=\"127.0.0.1\" port=\"%d\" type=\"clients\" sslprofile=\"good\">\n"
		 "<bind address=\"127.0.0.1\" port=\"%d\" type=\"clients\" sslprofile=\"wrong\">\n"
		 "<bind address=\"127.0.0.1\" port=\"%d\" type=\"clients\" sslprofile=\"self\">\n",
		 port_good, port_wrong, port_self);
	int n = snprintf(extra, sizeof(extra),
			 "<module name=\"ssl_gnutls\">\n<module name=\"sslinfo\">\n");
	static const char *const profiles[] = {"good", "wrong", "self"};
	for (size_t i = 0; i < 3; i++)
		n += snprintf(extra + n, sizeof(extra) - (size_t)n,
			      "<sslprofile name=\"%s\" provider=\"gnutls\" certfile=\"%s/%s.pem\" "
			      "keyfile=\"%s/%s.key\" cafile=\"\" crlfile=\"\" dhfile=\"\" "
			      "hash=\"sha256\" requestclientcert=\"no\">\n",
			      profiles[i], dir, profiles[i], dir, profiles[i]);
	srv_ircd_opts_t o = {.webirc_password = WEBIRC_PASSWORD,
			     .localmax = 100,
			     .extra_binds = binds,
			     .extra = extra};
	return srv_inspircd_start(env, &o, &ircd) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	srv_env_free(env);
	return 0;
}

/* Writes <dir>/<name>.yaml with the given irc.servers entries (YAML list
 * items, indented 4) and irc_client keys (indented 2). */
static const char *write_config(const char *name, const char *servers, const char *client)
{
	static char path[600];
	snprintf(path, sizeof(path), "%s/%s.yaml", dir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f,
		"irc:\n  servers:\n%s"
		"  webirc_password: " WEBIRC_PASSWORD "\n  connect_timeout: 5s\n"
		"auth:\n  internal_secret: \"0123456789abcdef0123456789\"\n"
		"irc_client:\n  reconnect_min: 100ms\n  reconnect_max: 1s\n%s"
		"history:\n  socket_path: null\n"
		"log:\n  level: warn\n",
		servers, client ? client : "");
	fclose(f);
	return path;
}

/* Starts an irc-client as the gateway does; its stderr goes to
 * <dir>/<nick>.log. */
static itc_t *spawn_client(const char *cfg, const char *nick, const char *uid)
{
	int sv[2];
	char logp[600];

	snprintf(logp, sizeof(logp), "%s/%s.log", dir, nick);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *argv[] = {
			bin,         "--config", cfg,           "--nick",        nick,
			"--user-id", uid,        "--client-ip", "198.51.100.30", NULL};
		int lf = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (lf >= 0)
			dup2(lf, 2);
		dup2(sv[1], 3);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(sv[1]);
	if (n_spawned < 32)
		spawned[n_spawned++] = pid;
	return itc_from_fd(sv[0], pid);
}

/* A plain browser (no CAP): NICK + USER, then the replayed burst. */
static void browser_register(itc_t *b)
{
	itc_sendf(b, "NICK ignored");
	itc_sendf(b, "USER ignored 0 * :ignored");
	itc_expect_within(b, "001", NULL, 10000);
}

static void test_tls_verified_session_talks(void **state)
{
	char servers[600];
	(void)state;

	snprintf(servers, sizeof(servers),
		 "    - host: localhost\n      port: %d\n      tls: true\n"
		 "      tls_ca_file: %s/ca.pem\n",
		 port_good, dir);
	const char *cfg = write_config("tls-good", servers, NULL);
	itc_t *talker = itc_connect(srv_port(ircd));
	itc_t *b = spawn_client(cfg, "tlsuser", "31");

	itc_sendf(talker, "NICK plaintalker");
	itc_sendf(talker, "USER plaintalker 0 * :plaintalker");
	itc_expect(talker, "001", NULL);
	browser_register(b);
	itc_sendf(b, "JOIN #tls");
	itc_expect(b, "JOIN", "#tls");
	itc_sendf(talker, "JOIN #tls");
	itc_expect(talker, "JOIN", "#tls");
	itc_sendf(b, "PRIVMSG #tls :over TLS");
	itc_expect(talker, "PRIVMSG", "over TLS");
	itc_sendf(talker, "PRIVMSG #tls :back in clear");
	itc_expect(b, "PRIVMSG", "back in clear");
	/* the server sees the session on its TLS port */
	itc_sendf(talker, "WHOIS tlsuser");
	itc_expect(talker, "671", "tlsuser");
	assert_int_equal(itc_close(b), 0);
	itc_close(talker);
}

/* Reads the client's log: exactly one line, holding every needle. */
static void expect_one_log_line(const char *nick, const char *n1, const char *n2)
{
	char path[600], buf[4096];
	snprintf(path, sizeof(path), "%s/%s.log", dir, nick);
	FILE *f = fopen(path, "r");
	int lines = 0;
	bool found = false;

	assert_non_null(f);
	while (fgets(buf, sizeof(buf), f)) {
		print_message("%s log: %s", nick, buf);
		lines++;
		found |= strstr(buf, n1) && strstr(buf, n2);
	}
	fclose(f);
	assert_int_equal(lines, 1);
	assert_true(found);
}

/* A refused certificate ends the session at once: EIRC ERROR to the
 * browser, one log line, exit status 1, no retry. */
static void expect_refused(const char *name, int port, const char *ca, const char *nick,
			   const char *reason)
{
	char servers[600];
	snprintf(servers, sizeof(servers),
		 "    - host: localhost\n      port: %d\n      tls: true\n%s%s%s", port,
		 ca ? "      tls_ca_file: " : "", ca ? ca : "", ca ? "\n" : "");
	const char *cfg = write_config(name, servers, NULL);
	itc_t *b = spawn_client(cfg, nick, "32");

	itc_expect(b, "EIRC", "ERROR");
	assert_true(itc_has(b, "certificate was refused"));
	assert_true(itc_has(b, reason));
	int st = itc_close(b);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	expect_one_log_line(nick, "certificate was refused", reason);
}

static void test_tls_wrong_host_refused(void **state)
{
	char ca[500];
	(void)state;

	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	expect_refused("tls-wrong", port_wrong, ca, "wronghost", "mismatch");
}

static void test_tls_untrusted_ca_refused(void **state)
{
	char ca[500];
	(void)state;

	snprintf(ca, sizeof(ca), "%s/other-ca.pem", dir);
	expect_refused("tls-other-ca", port_good, ca, "otherca", "unable to get local issuer");
	/* the system store does not know a self-signed certificate either */
	expect_refused("tls-self-verify", port_self, NULL, "selfverify", "self-signed");
}

static void test_tls_no_verify_accepts_self_signed(void **state)
{
	char servers[600];
	(void)state;

	snprintf(servers, sizeof(servers),
		 "    - host: localhost\n      port: %d\n      tls: true\n"
		 "      tls_verify: false\n",
		 port_self);
	const char *cfg = write_config("tls-noverify", servers, NULL);
	itc_t *b = spawn_client(cfg, "noverify", "33");

	browser_register(b);
	itc_sendf(b, "PING :alive");
	itc_expect(b, "PONG", "alive");
	assert_int_equal(itc_close(b), 0);
}

static void test_tls_ca_file_missing(void **state)
{
	char servers[600];
	(void)state;

	snprintf(servers, sizeof(servers),
		 "    - host: localhost\n      port: %d\n      tls: true\n"
		 "      tls_ca_file: %s/nonexistent.pem\n",
		 port_good, dir);
	const char *cfg = write_config("tls-noca", servers, NULL);
	itc_t *b = spawn_client(cfg, "noca", "34");

	int st = itc_close(b);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	expect_one_log_line("noca", "Failed to start", "CA certificates");
}

/* ---- PING timeout against a silent server ---- */

static int listen_local(int *out_port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*out_port = ntohs(sa.sin_port);
	return fd;
}

static itc_t *accept_within(int lfd, int timeout_ms)
{
	struct pollfd pf = {.fd = lfd, .events = POLLIN};

	assert_int_equal(poll(&pf, 1, timeout_ms), 1);
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd >= 0);
	return itc_from_fd(fd, 0);
}

static void test_ping_timeout_moves_to_next_server(void **state)
{
	char servers[600], client[200];
	int fake_port;
	int lfd = listen_local(&fake_port);
	(void)state;

	/* the silent fake first, the real server next */
	snprintf(servers, sizeof(servers),
		 "    - host: 127.0.0.1\n      port: %d\n"
		 "    - host: 127.0.0.1\n      port: %d\n",
		 fake_port, srv_port(ircd));
	snprintf(client, sizeof(client), "  ping_interval: %dms\n  ping_timeout: %dms\n",
		 PING_INTERVAL_MS, PING_TIMEOUT_MS);
	const char *cfg = write_config("ping", servers, client);
	itc_t *b = spawn_client(cfg, "pingy", "35");
	itc_t *fake = accept_within(lfd, 5000);

	/* a minimal registration: welcome and no MOTD, no CAP answer */
	itc_expect(fake, "USER", NULL);
	itc_sendf(fake, ":fake.test 001 pingy :Welcome to the fake network");
	itc_sendf(fake, ":fake.test 422 pingy :MOTD File is missing");
	browser_register(b);
	assert_true(itc_has(b, "fake.test"));
	uint64_t registered = clock_mono_ms();
	/* from now on the fake reads but never answers */
	itc_expect_within(fake, "PING", NULL, PING_INTERVAL_MS + 2000);
	uint64_t pinged = clock_mono_ms();
	itc_expect_within(b, "EIRC", "DISCONNECTED", PING_TIMEOUT_MS + 2000);
	uint64_t dead = clock_mono_ms();
	assert_true(itc_has(b, "PING timeout"));
	print_message("silent server: PING after %llu ms, taken as dead %llu ms later "
		      "(ping_interval %d + ping_timeout %d ms)\n",
		      (unsigned long long)(pinged - registered),
		      (unsigned long long)(dead - pinged), PING_INTERVAL_MS, PING_TIMEOUT_MS);
	assert_true(dead - registered <= PING_INTERVAL_MS + PING_TIMEOUT_MS + 500);
	/* the client closed the dead connection */
	while (itc_next_within(fake, 2000))
		;
	char c;
	assert_int_equal(read(fake->fd, &c, 1), 0);
	/* and registered on the next server in the list */
	itc_expect_within(b, "EIRC", "RECONNECTED", 10000);
	assert_true(itc_has(b, "irc1.eirc.local"));
	itc_sendf(b, "PING :still here");
	itc_expect(b, "PONG", "still here");
	assert_int_equal(itc_close(b), 0);
	itc_close(fake);
	close(lfd);
}

/* The browser leaves while the server has not finished registering us:
 * the client sends QUIT, the server answers ERROR and closes, and the
 * client must exit, not take the ERROR for a lost connection and
 * reconnect (it used to, and lived on with nobody at the other end). */
static void test_browser_leaves_during_registration(void **state)
{
	char servers[300];
	int fake_port, status = 0;
	int lfd = listen_local(&fake_port);
	(void)state;

	snprintf(servers, sizeof(servers), "    - host: 127.0.0.1\n      port: %d\n", fake_port);
	const char *cfg = write_config("leave", servers, NULL);
	itc_t *b = spawn_client(cfg, "leaver", "36");
	pid_t pid = b->pid;
	itc_t *fake = accept_within(lfd, 5000);

	itc_expect(fake, "USER", NULL); /* registering; the fake never welcomes */
	b->pid = 0;                     /* waited for below, with a deadline */
	itc_close(b);
	itc_expect_within(fake, "QUIT", NULL, 5000);
	itc_sendf(fake, "ERROR :Closing link: (u36@198.51.100.30) [Quit: Web session closed]");
	itc_close(fake);
	for (int i = 0; i < 50 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(100 * 1000);
	errno = 0;
	bool gone = kill(pid, 0) < 0 && errno == ESRCH;
	if (!gone) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	assert_true(gone);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* and it never came back (reconnect_min is 100 ms) */
	struct pollfd pf = {.fd = lfd, .events = POLLIN};
	assert_int_equal(poll(&pf, 1, 1000), 0);
	close(lfd);
}

static void test_no_leftover_children(void **state)
{
	(void)state;
	for (size_t i = 0; i < n_spawned; i++) {
		errno = 0;
		assert_int_equal(kill(spawned[i], 0), -1);
		assert_int_equal(errno, ESRCH);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_verified_session_talks),
		cmocka_unit_test(test_tls_wrong_host_refused),
		cmocka_unit_test(test_tls_untrusted_ca_refused),
		cmocka_unit_test(test_tls_no_verify_accepts_self_signed),
		cmocka_unit_test(test_tls_ca_file_missing),
		cmocka_unit_test(test_ping_timeout_moves_to_next_server),
		cmocka_unit_test(test_browser_leaves_during_registration),
		cmocka_unit_test(test_no_leftover_children),
	};
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
