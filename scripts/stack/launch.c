/*
 * launch: real PostgreSQL, Redis (and Redis Cluster) and InspIRCd on
 * loopback, for the local stack (eirc-stack) and the integration tests.
 * See launch.h for the cleanup guarantees.
 *
 * Each server runs as a child in its own process group (so a terminal's
 * Ctrl-C reaches only the supervisor, which stops servers in order), with
 * stdout/stderr appended to <dir>/<name>.log and a parent-death signal.
 * The pids of running servers are kept in <dir>/.srv-pids for the watchdog.
 * As root, the child takes its server's user (looked up in the parent: a
 * forked child of a threaded test calls no NSS) before its execve.
 */
#include "scripts/stack/launch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>

#include <libpq-fe.h>

#define SRV_ARGV_MAX   32
#define SRV_SECRET_LEN 32 /* hex characters */
/* Longest environment folder; derived paths stay well under PATH_MAX. */
#define SRV_DIR_MAX 2048

struct srv {
	srv_env_t *env;
	srv_kind_t kind;
	char name[32];
	int port;
	bool auto_port;
	pid_t pid;
	int stop_sig;
	uid_t uid; /* run as this user (another than ours only as root) */
	gid_t gid;
	gid_t groups[SRV_GROUPS_MAX]; /* its supplementary groups */
	int n_groups;
	char user[64];    /* its name, for messages; "" when ours */
	bool setuid_caps; /* srv_as_t.setuid_caps */
	char datadir[SRV_DIR_MAX + 64];
	char log[SRV_DIR_MAX + 64];
	bool durable; /* PostgreSQL: fsync on */
	char password[128];
	char oper_password[128];
	char capture_password[128]; /* InspIRCd: of its capture class */
	char *argv[SRV_ARGV_MAX];
	srv_ircd_opts_t ircd; /* kept to re-render on a port retry */
	char ircd_extra_binds[4096];
	char ircd_extra[8192];
	char ircd_account[SRV_IRCD_ACCOUNT_MAX]; /* srv_ircd_opts_t.native_clients */
	char http_path[256];                     /* SRV_PROCESS: readiness probe, or "" */
	int cluster_port;                        /* Redis Cluster node: its bus port; 0: not one */
	/* Redis of srv_redis_start: the daemons' ACL users */
	bool redis_acl;
	char redis_user[REDIS_ACL_ROLES][REDIS_ACL_NAME_MAX + 1];
	char redis_user_password[REDIS_ACL_ROLES][REDIS_ACL_PASSWORD_MAX + 1];
	char redis_network[REDIS_ACL_NAME_MAX + 1];
	int redis_partitions;
};

struct srv_env {
	char dir[SRV_DIR_MAX];
	bool temp;
	int watchdog_fd;
	pid_t watchdog_pid;
	srv_t *srvs[SRV_MAX];
	int n;
};

/* ---- small utilities ----------------------------------------------------- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void random_hex(char *out, size_t hexlen)
{
	unsigned char raw[64];
	static const char digits[] = "0123456789abcdef";
	size_t n = hexlen / 2;

	if (n > sizeof(raw))
		n = sizeof(raw);
	if (getrandom(raw, n, 0) != (ssize_t)n)
		abort(); /* no entropy: nothing sensible to do in a harness */
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[raw[i] >> 4];
		out[2 * i + 1] = digits[raw[i] & 15];
	}
	out[2 * n] = '\0';
}

static int write_file(const char *path, const char *data, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	size_t len = strlen(data), off = 0;

	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = -errno;
			close(fd);
			return e;
		}
		off += (size_t)w;
	}
	return close(fd) < 0 ? -errno : 0;
}

/* Reads a whole small file into a malloc'd string; NULL on error. */
static char *read_file(const char *path, size_t max)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(max + 1);
	if (!buf) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, max, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void print_log_tail(const srv_t *s)
{
	char *log = read_file(s->log, 1 << 20);
	size_t len;
	const char *p;
	int lines = 0;

	if (!log)
		return;
	len = strlen(log);
	p = log + len;
	while (p > log && lines <= 25)
		if (*--p == '\n')
			lines++;
	fprintf(stderr, "---- last lines of %s ----\n%s---- end ----\n", s->log,
		p == log ? p : p + 1);
	free(log);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP || flag == FTW_D)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

static int rm_rf(const char *dir)
{
	if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* nftw() passes no context: the owner own_tree() gives (this tooling is
 * single-threaded where it prepares servers). */
static uid_t own_uid;
static gid_t own_gid;

static int own_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return lchown(path, own_uid, own_gid) < 0 ? -1 : 0;
}

/* Gives path (a file, or a folder and everything in it) to uid:gid;
 * nothing to do when that is already the caller. 0 or -errno. */
static int own_tree(const char *path, uid_t uid, gid_t gid)
{
	if (uid == geteuid() && gid == getegid())
		return 0;
	own_uid = uid;
	own_gid = gid;
	return nftw(path, own_entry, 16, FTW_PHYS) < 0 ? -errno : 0;
}

int srv_free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

	if (fd < 0)
		return -errno;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* Connects to 127.0.0.1:port; returns the fd or a negative errno. */
static int tcp_connect(int port, int timeout_ms)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct pollfd p;
	int err = 0;
	socklen_t el = sizeof(err);

	if (fd < 0)
		return -errno;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		err = -errno;
		close(fd);
		return err;
	}
	p = (struct pollfd){.fd = fd, .events = POLLOUT};
	if (poll(&p, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 ||
	    err != 0) {
		close(fd);
		return -(err ? err : ETIMEDOUT);
	}
	fcntl(fd, F_SETFL, 0);
	return fd;
}

/* Writes req (if any), then reads until `want` appears or timeout. */
static bool tcp_expect(int port, const char *req, const char *want, int timeout_ms)
{
	char buf[1024];
	size_t len = 0;
	long long end = now_ms() + timeout_ms;
	int fd = tcp_connect(port, timeout_ms);
	bool ok = false;

	if (fd < 0)
		return false;
	if (req && write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		goto out;
	while (!ok && len < sizeof(buf) - 1 && now_ms() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)(end - now_ms())) != 1)
			break;
		ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		ok = strstr(buf, want) != NULL;
	}
out:
	close(fd);
	return ok;
}

/* ---- the pid list and the watchdog --------------------------------------- */

static void write_pids(srv_env_t *env)
{
	char buf[SRV_MAX * 16 + 1] = "", path[PATH_MAX + 16];
	size_t off = 0;

	for (int i = 0; i < env->n; i++)
		if (env->srvs[i]->pid > 0)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%d\n",
						(int)env->srvs[i]->pid);
	snprintf(path, sizeof(path), "%s/.srv-pids", env->dir);
	write_file(path, buf, 0600);
}

static bool any_alive(const pid_t *pids, int n)
{
	for (int i = 0; i < n; i++)
		if (kill(pids[i], 0) == 0)
			return true;
	return false;
}

/* The watchdog's whole life: wait for EOF on fd, then clean up. */
static void watchdog_main(int fd, const char *dir, bool temp)
{
	char path[PATH_MAX + 16], *list, *save = NULL;
	pid_t pids[SRV_MAX];
	int n = 0;
	char c;

	while (read(fd, &c, 1) != 0 && (errno == EINTR || errno == EAGAIN))
		;
	snprintf(path, sizeof(path), "%s/.srv-pids", dir);
	list = read_file(path, 4096);
	for (char *t = list ? strtok_r(list, "\n", &save) : NULL; t && n < SRV_MAX;
	     t = strtok_r(NULL, "\n", &save)) {
		long v = strtol(t, NULL, 10);
		if (v > 1 && v < INT_MAX)
			pids[n++] = (pid_t)v;
	}
	free(list);
	/* Servers got their parent-death signal already; give them time to
	 * shut down cleanly, then make sure. */
	for (int i = 0; i < n; i++)
		kill(-pids[i], SIGTERM);
	for (long long end = now_ms() + SRV_STOP_TIMEOUT_MS; any_alive(pids, n) && now_ms() < end;)
		sleep_ms(50);
	for (int i = 0; i < n; i++)
		kill(-pids[i], SIGKILL);
	if (temp)
		rm_rf(dir);
	_exit(0);
}

static int start_watchdog(srv_env_t *env)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = -errno;
		close(p[0]);
		close(p[1]);
		return e;
	}
	if (pid == 0) {
		sigset_t all;
		sigfillset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL); /* only EOF ends it */
		setsid();
		prctl(PR_SET_NAME, "eirc-watchdog");
		/* Keep only the pipe's read end, as fd 3: nothing else of the
		 * test (sockets, the servers' pipes) may stay open here. */
		if (dup2(p[0], 3) < 0)
			_exit(1);
		syscall(SYS_close_range, 4u, ~0u, 0u);
		watchdog_main(3, env->dir, env->temp);
	}
	close(p[0]);
	env->watchdog_fd = p[1];
	env->watchdog_pid = pid;
	return 0;
}

/* ---- environments --------------------------------------------------------- */

int srv_env_new(const char *dir, srv_env_t **out_env)
{
	srv_env_t *env = calloc(1, sizeof(*env));
	int r;

	if (!env)
		return -ENOMEM;
	env->watchdog_fd = -1;
	if (dir) {
		char real[PATH_MAX];
		if (mkdir(dir, 0711) < 0 && errno != EEXIST) {
			r = -errno;
			free(env);
			return r;
		}
		if (!realpath(dir, real) || strlen(real) >= sizeof(env->dir)) {
			r = realpath(dir, real) ? -ENAMETOOLONG : -errno;
			free(env);
			return r;
		}
		memcpy(env->dir, real, strlen(real) + 1);
	} else {
		const char *tmp = getenv("TMPDIR");
		snprintf(env->dir, sizeof(env->dir), "%s/eirc-test-XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(env->dir)) {
			r = -errno;
			free(env);
			return r;
		}
		env->temp = true;
	}
	/* PostgreSQL runs as its own user and must traverse this folder. */
	chmod(env->dir, 0711);
	r = start_watchdog(env);
	if (r < 0) {
		if (env->temp)
			rm_rf(env->dir);
		free(env);
		return r;
	}
	*out_env = env;
	return 0;
}

const char *srv_env_dir(const srv_env_t *env)
{
	return env->dir;
}

void srv_env_free(srv_env_t *env)
{
	if (!env)
		return;
	for (int i = env->n - 1; i >= 0; i--) {
		srv_t *s = env->srvs[i];
		if (s->pid > 0)
			srv_stop(s); /* rewrites the pid list: s must still be listed */
		env->n = i;
		for (int a = 0; a < SRV_ARGV_MAX && s->argv[a]; a++)
			free(s->argv[a]);
		free(s);
	}
	write_pids(env);
	if (env->temp)
		rm_rf(env->dir);
	if (env->watchdog_fd >= 0)
		close(env->watchdog_fd);
	if (env->watchdog_pid > 0)
		while (waitpid(env->watchdog_pid, NULL, 0) < 0 && errno == EINTR)
			;
	free(env);
}

/* Creates every missing folder above path, mode 0755. 0 or -errno. */
static int make_parents(const char *path)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

int srv_env_give_dir(srv_env_t *env, const char *path, const char *user, const char *group,
		     mode_t mode)
{
	char real[PATH_MAX];
	size_t n = strlen(env->dir);
	struct passwd *pw = NULL;
	struct group *gr = NULL;
	struct stat st;
	bool made, inside;
	int r;

	if ((r = make_parents(path)) < 0)
		return r;
	made = mkdir(path, mode) == 0;
	if ((!made && errno != EEXIST) || !realpath(path, real))
		return -errno;
	inside = strncmp(real, env->dir, n) == 0 && real[n] == '/';
	if (geteuid() == 0 && (!(pw = getpwnam(user)) || (group && !(gr = getgrnam(group)))))
		return -ENOENT;
	/* As root, never chown a tree the environment does not hold: outside
	 * it (a relative path of the config with --data-dir elsewhere), only
	 * a folder made just now or already the user's, and only the folder
	 * itself. */
	if (geteuid() == 0 && !inside && !made &&
	    (lstat(real, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != pw->pw_uid))
		return -EINVAL;
	if (chmod(real, mode) < 0)
		return -errno;
	if (geteuid() != 0)
		return 0;
	if (!inside)
		return chown(real, pw->pw_uid, gr ? gr->gr_gid : pw->pw_gid) < 0 ? -errno : 0;
	return own_tree(real, pw->pw_uid, gr ? gr->gr_gid : pw->pw_gid);
}

static void exit_on_signal(int sig)
{
	_exit(128 + sig);
}

void srv_env_install_signal_handlers(void)
{
	struct sigaction sa = {.sa_handler = exit_on_signal};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* ---- processes ------------------------------------------------------------ */

static int set_argv(srv_t *s, const char *first, ...)
{
	va_list ap;
	const char *a = first;
	int n = 0;

	for (int i = 0; i < SRV_ARGV_MAX && s->argv[i]; i++) {
		free(s->argv[i]);
		s->argv[i] = NULL;
	}
	va_start(ap, first);
	while (a && n < SRV_ARGV_MAX - 1) {
		s->argv[n] = strdup(a);
		if (!s->argv[n++]) {
			va_end(ap);
			return -ENOMEM;
		}
		a = va_arg(ap, const char *);
	}
	va_end(ap);
	return a ? -E2BIG : 0;
}

/* After the switch to the server's user (with PR_SET_KEEPCAPS): keeps
 * CAP_SETUID, CAP_SETGID (to start irc-clients as their own user) and
 * CAP_KILL (to stop one that does not quit) alone, permitted, effective,
 * inheritable and ambient; the ambient set is what an execve of a file
 * without capabilities hands on. 0 or -errno. */
static int keep_setuid_caps(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};
	const uint32_t three = 1u << CAP_SETUID | 1u << CAP_SETGID | 1u << CAP_KILL;

	data[0].effective = data[0].permitted = data[0].inheritable = three;
	if (syscall(SYS_capset, &hdr, data) < 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)CAP_SETUID, 0UL, 0UL) < 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)CAP_SETGID, 0UL, 0UL) < 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)CAP_KILL, 0UL, 0UL) < 0)
		return -errno;
	return 0;
}

/* In the child: becomes the server's user (its groups, then the caps it
 * keeps). 0 or -errno. */
static int become_user(const srv_t *s)
{
	if (s->setuid_caps && prctl(PR_SET_KEEPCAPS, 1UL, 0UL, 0UL, 0UL) < 0)
		return -errno;
	if (setgroups((size_t)s->n_groups, s->groups) < 0 || setgid(s->gid) < 0 ||
	    setuid(s->uid) < 0)
		return -errno;
	return s->setuid_caps ? keep_setuid_caps() : 0;
}

/* In the child: own process group, log as stdout/stderr, no other fd, the
 * server's user, a parent-death signal, default signal handling. */
static void child_exec(const srv_t *s, char *const argv[], int logfd, pid_t parent)
{
	sigset_t none;
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC), r;

	setpgid(0, 0);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
		_exit(126);
	syscall(SYS_close_range, 3u, ~0u, 0u);
	if (s->uid != geteuid() && (r = become_user(s)) < 0) {
		fprintf(stderr, "launch: cannot run %s as user %s: %s\n", argv[0], s->user,
			strerror(-r));
		_exit(126);
	}
	/* After setuid: a change of credentials clears the death signal. */
	prctl(PR_SET_PDEATHSIG, s->stop_sig);
	if (getppid() != parent)
		_exit(1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	execv(argv[0], argv);
	fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Opens s->log for appending, mode 0600 (also a log an older run left
 * readable): the server writes through the descriptor, and a log may
 * name what no other local user should read. */
static int open_log(const srv_t *s)
{
	int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0600) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* Runs argv to completion, output appended to s->log; returns its exit
 * status (0..255, 128+signal), or a negative errno. */
static int run_status(const srv_t *s, char *const argv[])
{
	int logfd = open_log(s);
	pid_t parent = getpid(), pid;
	int status;

	if (logfd < 0)
		return logfd;
	pid = fork();
	if (pid == 0)
		child_exec(s, argv, logfd, parent);
	close(logfd);
	if (pid < 0)
		return -errno;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int spawn(srv_t *s)
{
	int logfd = open_log(s);
	pid_t parent = getpid(), pid;

	if (logfd < 0)
		return logfd;
	pid = fork();
	if (pid == 0)
		child_exec(s, s->argv, logfd, parent);
	close(logfd);
	if (pid < 0)
		return -errno;
	setpgid(pid, pid); /* also here: no race with the child's own call */
	s->pid = pid;
	write_pids(s->env);
	return 0;
}

bool srv_running(srv_t *s)
{
	if (s->pid <= 0)
		return false;
	if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
		s->pid = 0;
		write_pids(s->env);
		return false;
	}
	return true;
}

static bool is_ready(srv_t *s)
{
	switch (s->kind) {
	case SRV_POSTGRES: {
		char ci[128];
		snprintf(ci, sizeof(ci), "host=127.0.0.1 port=%d dbname=postgres connect_timeout=2",
			 s->port);
		return PQping(ci) == PQPING_OK;
	}
	case SRV_REDIS: {
		char req[256];
		if (s->password[0])
			snprintf(req, sizeof(req), "AUTH %s\r\nPING\r\n", s->password);
		else
			snprintf(req, sizeof(req), "PING\r\n");
		return tcp_expect(s->port, req, "+PONG", 1000);
	}
	case SRV_INSPIRCD:
		/* It says nothing until spoken to; an unregistered QUIT is
		 * answered with ERROR once the server processes commands. */
		return tcp_expect(s->port, "QUIT\r\n", "ERROR", 1000);
	case SRV_PROCESS: {
		char req[512];
		if (!s->http_path[0])
			return true; /* alive after the first poll interval */
		snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
			 s->http_path);
		return tcp_expect(s->port, req, " 200 ", 1000);
	}
	}
	return false;
}

/* True when nothing listens on 127.0.0.1:port. Checked before a start,
 * so that a readiness probe can never be answered by another server. */
static bool port_is_free(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	bool ok;

	if (fd < 0)
		return false;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* Starts the process and waits until it answers. */
static int start_and_wait(srv_t *s)
{
	long long end = now_ms() + SRV_START_TIMEOUT_MS;
	int r;

	if (s->port > 0 && !port_is_free(s->port))
		return -EADDRINUSE;
	r = spawn(s);
	if (r < 0)
		return r;
	if (s->kind == SRV_PROCESS && !s->http_path[0])
		sleep_ms(200);
	while (now_ms() < end) {
		if (!srv_running(s))
			return -ECHILD;
		if (is_ready(s))
			return 0;
		sleep_ms(50);
	}
	srv_stop(s);
	return -ETIMEDOUT;
}

int srv_stop(srv_t *s)
{
	long long end;
	int status;

	if (s->pid <= 0)
		return -ECHILD;
	kill(s->pid, s->stop_sig);
	end = now_ms() + SRV_STOP_TIMEOUT_MS;
	while (now_ms() < end) {
		pid_t w = waitpid(s->pid, &status, WNOHANG);
		if (w == s->pid || (w < 0 && errno == ECHILD))
			break;
		sleep_ms(20);
	}
	if (now_ms() >= end) {
		fprintf(stderr, "launch: %s (pid %d) did not stop in %d ms, killing it\n", s->name,
			(int)s->pid, SRV_STOP_TIMEOUT_MS);
		kill(-s->pid, SIGKILL);
		waitpid(s->pid, &status, 0);
	}
	/* Anything the server left in its group (PostgreSQL backends exit by
	 * themselves; this is for the unexpected). */
	kill(-s->pid, SIGKILL);
	s->pid = 0;
	write_pids(s->env);
	return 0;
}

int srv_kill(srv_t *s, int sig)
{
	if (s->pid <= 0)
		return -ECHILD;
	if (kill(s->pid, sig) < 0)
		return -errno;
	if (sig == SIGKILL) {
		waitpid(s->pid, NULL, 0);
		kill(-s->pid, SIGKILL);
		s->pid = 0;
		write_pids(s->env);
	}
	return 0;
}

int srv_restart(srv_t *s)
{
	int r;

	if (srv_running(s))
		return -EBUSY;
	r = start_and_wait(s);
	if (r < 0)
		print_log_tail(s);
	return r;
}

srv_kind_t srv_kind(const srv_t *s)
{
	return s->kind;
}
const char *srv_name(const srv_t *s)
{
	return s->name;
}
int srv_port(const srv_t *s)
{
	return s->port;
}
pid_t srv_pid(const srv_t *s)
{
	return s->pid;
}
const char *srv_log_path(const srv_t *s)
{
	return s->log;
}
const char *srv_data_dir(const srv_t *s)
{
	return s->datadir;
}
const char *srv_password(const srv_t *s)
{
	return s->password[0] ? s->password : NULL;
}
const char *srv_oper_password(const srv_t *s)
{
	return s->oper_password[0] ? s->oper_password : NULL;
}

const char *srv_capture_password(const srv_t *s)
{
	return s->capture_password[0] ? s->capture_password : NULL;
}

const char *srv_redis_user_name(const srv_t *s, enum redis_acl_role role)
{
	return s->redis_acl && (unsigned)role < REDIS_ACL_ROLES ? s->redis_user[role] : NULL;
}

const char *srv_redis_user_password(const srv_t *s, enum redis_acl_role role)
{
	return s->redis_acl && (unsigned)role < REDIS_ACL_ROLES ? s->redis_user_password[role]
								: NULL;
}

/* ---- server kinds ----------------------------------------------------------- */

static const char *find_exe(const char *name, char *buf, size_t cap)
{
	const char *dirs[] = {"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(buf, cap, "%s/%s", dirs[i], name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

static int srv_new(srv_env_t *env, srv_kind_t kind, const char *name, int port, srv_t **out_srv)
{
	srv_t *s;

	if (env->n >= SRV_MAX)
		return -ENOSPC;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->env = env;
	s->kind = kind;
	s->stop_sig = SIGTERM;
	s->uid = geteuid();
	s->gid = getegid();
	s->auto_port = port == 0;
	s->port = port > 0 ? port : port == 0 ? srv_free_port() : 0;
	/* Several servers of one name (linked IRC servers): name them apart. */
	int same = 0;
	for (int i = 0; i < env->n; i++)
		same += strncmp(env->srvs[i]->name, name, strlen(name)) == 0;
	if (same)
		snprintf(s->name, sizeof(s->name), "%s%d", name, same + 1);
	else
		snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->datadir, sizeof(s->datadir), "%s/%s", env->dir, s->name);
	snprintf(s->log, sizeof(s->log), "%s/%s.log", env->dir, s->name);
	if (s->port < 0) {
		int e = s->port;
		free(s);
		return e;
	}
	env->srvs[env->n++] = s;
	*out_srv = s;
	return 0;
}

/*
 * As root: makes s run as `user` (its uid, group and supplementary groups,
 * looked up here, not in the forked child). Otherwise a no-op: everything
 * runs as the caller. 0, or -ENOENT (said on stderr) when the user does
 * not exist.
 */
static int srv_set_user(srv_t *s, const char *user)
{
	struct passwd *pw;
	int n = SRV_GROUPS_MAX;

	if (geteuid() != 0)
		return 0;
	if (!(pw = getpwnam(user))) {
		fprintf(stderr,
			"launch: running as root needs the user '%s' to run %s as "
			"(scripts/install-deps.sh makes it)\n",
			user, s->name);
		return -ENOENT;
	}
	if (getgrouplist(user, pw->pw_gid, s->groups, &n) < 0) {
		fprintf(stderr, "launch: user '%s' is in more than %d groups\n", user,
			SRV_GROUPS_MAX);
		return -E2BIG;
	}
	s->n_groups = n;
	s->uid = pw->pw_uid;
	s->gid = pw->pw_gid;
	snprintf(s->user, sizeof(s->user), "%s", user);
	return 0;
}

/* Whether s's user may enter a folder of mode/owner st (owner, then
 * group, then other bits, as the kernel decides). */
static bool may_enter(const srv_t *s, const struct stat *st)
{
	if (st->st_uid == s->uid)
		return st->st_mode & S_IXUSR;
	for (int i = 0; i < s->n_groups; i++)
		if (st->st_gid == s->groups[i])
			return st->st_mode & S_IXGRP;
	if (st->st_gid == s->gid)
		return st->st_mode & S_IXGRP;
	return st->st_mode & S_IXOTH;
}

/* A server of another user must get through every folder above path.
 * Says which one it cannot, rather than the server's "permission denied"
 * on a file it cannot name. 0 or -EACCES. */
static int check_reachable(const srv_t *s, const char *path)
{
	char dirs[PATH_MAX];
	struct stat st;

	if (s->uid == geteuid())
		return 0;
	snprintf(dirs, sizeof(dirs), "%s", path);
	for (char *slash = strrchr(dirs, '/'); slash; slash = strrchr(dirs, '/')) {
		*slash = '\0';
		const char *dir = *dirs ? dirs : "/";
		if (stat(dir, &st) < 0)
			return -errno;
		if (!may_enter(s, &st)) {
			fprintf(stderr,
				"launch: %s runs as user '%s', which cannot enter %s: use a "
				"folder elsewhere, or chmod o+x %s\n",
				s->name, s->user, dir, dir);
			return -EACCES;
		}
	}
	return 0;
}

/* Removes a server that never started from its environment. */
static void srv_discard(srv_t *s)
{
	srv_env_t *env = s->env;

	for (int i = 0; i < env->n; i++)
		if (env->srvs[i] == s) {
			memmove(&env->srvs[i], &env->srvs[i + 1],
				sizeof(env->srvs[0]) * (size_t)(env->n - i - 1));
			env->n--;
			break;
		}
	for (int a = 0; a < SRV_ARGV_MAX && s->argv[a]; a++)
		free(s->argv[a]);
	free(s);
}

typedef int (*prepare_fn)(srv_t *s);

/* Prepares and starts, retrying on another port when the chosen free port
 * was taken in the meantime. */
static int launch(srv_t *s, prepare_fn prepare, srv_t **out_srv)
{
	int r = -EIO;

	for (int attempt = 0; attempt < 3; attempt++) {
		if ((r = check_reachable(s, s->datadir)) < 0 ||
		    (s->kind == SRV_PROCESS && (r = check_reachable(s, s->argv[0])) < 0))
			break;
		r = prepare(s);
		if (r < 0)
			break;
		r = start_and_wait(s);
		if (r == 0) {
			*out_srv = s;
			return 0;
		}
		if (!s->auto_port || (r != -ECHILD && r != -EADDRINUSE))
			break;
		s->port = srv_free_port();
	}
	fprintf(stderr, "launch: %s failed to start on port %d: %s\n", s->name, s->port,
		strerror(-r));
	print_log_tail(s);
	srv_discard(s);
	return r;
}

/* PostgreSQL ------------------------------------------------------------ */

static int pg_bindir(char *out, size_t cap)
{
	const char *env = getenv("EIRC_PG_BINDIR");
	glob_t g;

	if (env && *env) {
		snprintf(out, cap, "%s", env);
		return 0;
	}
	if (glob("/usr/lib/postgresql/*/bin/postgres", 0, NULL, &g) != 0)
		return -ENOENT;
	/* glob sorts: the last is the newest major version. */
	snprintf(out, cap, "%s", g.gl_pathv[g.gl_pathc - 1]);
	globfree(&g);
	*strrchr(out, '/') = '\0';
	return 0;
}

static int pg_initdb(srv_t *s, const char *bindir)
{
	char pwfile[PATH_MAX + 32], initdb[PATH_MAX + 16], opt_pw[PATH_MAX + 48];
	int r;

	if (mkdir(s->datadir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (chown(s->datadir, s->uid, s->gid) < 0)
		return -errno;
	snprintf(pwfile, sizeof(pwfile), "%s/.pg-pwfile", s->env->dir);
	if ((r = write_file(pwfile, s->password, 0600)) < 0)
		return r;
	if (chown(pwfile, s->uid, s->gid) < 0) {
		r = -errno;
		unlink(pwfile);
		return r;
	}
	snprintf(initdb, sizeof(initdb), "%s/initdb", bindir);
	snprintf(opt_pw, sizeof(opt_pw), "--pwfile=%s", pwfile);
	char *argv[] = {initdb,
			(char *)"-D",
			s->datadir,
			(char *)"-U",
			(char *)"postgres",
			(char *)"--auth=scram-sha-256",
			opt_pw,
			(char *)"-E",
			(char *)"UTF8",
			(char *)"--locale=C.UTF-8",
			(char *)"--no-instructions",
			NULL};
	r = run_status(s, argv);
	unlink(pwfile);
	return r == 0 ? 0 : -EIO;
}

static int pg_prepare(srv_t *s)
{
	char bindir[PATH_MAX], exe[PATH_MAX + 16], pgver[PATH_MAX + 16], port[32];
	int r = pg_bindir(bindir, sizeof(bindir));

	if (r < 0) {
		fprintf(stderr, "launch: PostgreSQL not found: apt-get install postgresql\n");
		return r;
	}
	snprintf(pgver, sizeof(pgver), "%s/PG_VERSION", s->datadir);
	if (access(pgver, F_OK) != 0 && (r = pg_initdb(s, bindir)) < 0)
		return r;
	snprintf(exe, sizeof(exe), "%s/postgres", bindir);
	snprintf(port, sizeof(port), "port=%d", s->port);
	if (s->durable)
		return set_argv(s, exe, "-D", s->datadir, "-c", "listen_addresses=127.0.0.1", "-c",
				port, "-c", "unix_socket_directories=", "-c", "max_connections=200",
				NULL);
	return set_argv(s, exe, "-D", s->datadir, "-c", "listen_addresses=127.0.0.1", "-c", port,
			"-c", "unix_socket_directories=", "-c", "max_connections=200", "-c",
			"fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
			NULL);
}

/* The superuser password: given, else the one saved with the data, else new. */
static int pg_password(srv_t *s, const char *given)
{
	char path[PATH_MAX + 32], *saved;

	snprintf(path, sizeof(path), "%s/postgres.password", s->env->dir);
	saved = read_file(path, sizeof(s->password) - 1);
	if (given)
		snprintf(s->password, sizeof(s->password), "%s", given);
	else if (saved && *saved)
		snprintf(s->password, sizeof(s->password), "%s", saved);
	else
		random_hex(s->password, SRV_SECRET_LEN);
	free(saved);
	return write_file(path, s->password, 0600);
}

int srv_postgres_start(srv_env_t *env, const srv_pg_opts_t *opts, srv_t **out_srv)
{
	srv_pg_opts_t o = opts ? *opts : (srv_pg_opts_t){0};
	srv_t *s;
	int r = srv_new(env, SRV_POSTGRES, "postgres", o.port, &s);

	if (r < 0)
		return r;
	s->stop_sig = SIGINT; /* "fast" shutdown */
	/* initdb and postgres refuse to run as root (apt-get install
	 * postgresql makes the user). */
	if ((r = srv_set_user(s, "postgres")) < 0 ||
	    (r = pg_password(s, o.superuser_password)) < 0) {
		srv_discard(s);
		return r;
	}
	s->durable = o.durable;
	return launch(s, pg_prepare, out_srv);
}

static PGconn *pg_connect(srv_t *s, const char *dbname)
{
	char port[16];
	const char *keys[] = {"host", "port", "dbname", "user", "password", "connect_timeout",
			      NULL};
	const char *vals[] = {"127.0.0.1", port,        dbname ? dbname : "postgres",
			      "postgres",  s->password, "10",
			      NULL};

	snprintf(port, sizeof(port), "%d", s->port);
	return PQconnectdbParams(keys, vals, 0);
}

int srv_pg_exec(srv_t *s, const char *dbname, const char *sql)
{
	PGconn *c;
	PGresult *res;
	int r = 0;

	if (s->kind != SRV_POSTGRES)
		return -EINVAL;
	c = pg_connect(s, dbname);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "launch: connect to PostgreSQL: %s", PQerrorMessage(c));
		PQfinish(c);
		return -EIO;
	}
	res = PQexec(c, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "launch: SQL failed: %s", PQerrorMessage(c));
		r = -EIO;
	}
	PQclear(res);
	PQfinish(c);
	return r;
}

int srv_pg_create_role(srv_t *s, const char *user, const char *password)
{
	PGconn *c = pg_connect(s, NULL);
	char *u = NULL, *pw = NULL, *ul = NULL, sql[1024];
	int r = -EIO;

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "launch: connect to PostgreSQL: %s", PQerrorMessage(c));
		goto out;
	}
	u = PQescapeIdentifier(c, user, strlen(user));
	ul = PQescapeLiteral(c, user, strlen(user));
	pw = PQescapeLiteral(c, password, strlen(password));
	if (!u || !ul || !pw)
		goto out;
	/* create, or reset the password to the configured one */
	snprintf(sql, sizeof(sql),
		 "DO $$BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = %s) THEN "
		 "ALTER ROLE %s LOGIN PASSWORD %s; ELSE CREATE ROLE %s LOGIN PASSWORD %s; "
		 "END IF; END$$",
		 ul, u, pw, u, pw);
	PGresult *res = PQexec(c, sql);
	if (PQresultStatus(res) == PGRES_COMMAND_OK)
		r = 0;
	else
		fprintf(stderr, "launch: create role: %s", PQerrorMessage(c));
	PQclear(res);
out:
	PQfreemem(u);
	PQfreemem(ul);
	PQfreemem(pw);
	PQfinish(c);
	return r;
}

int srv_pg_ircd_role(srv_t *s, const char *dbname, const char *user, const char *password)
{
	PGconn *c;
	char *u, sql[512];
	int r = srv_pg_create_role(s, user, password);

	if (r < 0)
		return r;
	c = pg_connect(s, dbname);
	if (PQstatus(c) != CONNECTION_OK || !(u = PQescapeIdentifier(c, user, strlen(user)))) {
		fprintf(stderr, "launch: connect to PostgreSQL: %s", PQerrorMessage(c));
		PQfinish(c);
		return -EIO;
	}
	/* the columns m_eirc_account's query reads, and nothing else */
	snprintf(sql, sizeof(sql),
		 "DO $$BEGIN IF to_regclass('public.users') IS NOT NULL THEN "
		 "REVOKE ALL ON users FROM %s; "
		 "GRANT SELECT (id, nick, nick_folded, password_hash, disabled) ON users TO %s; "
		 "END IF; END$$",
		 u, u);
	PQfreemem(u);
	PQfinish(c);
	return srv_pg_exec(s, dbname, sql);
}

int srv_pg_create_db(srv_t *s, const char *dbname, const char *owner, const char *password)
{
	PGconn *c;
	char *u = NULL, *db = NULL, *dbl = NULL, sql[1024];
	int r;

	if ((r = srv_pg_create_role(s, owner, password)) < 0)
		return r;
	r = -EIO;
	c = pg_connect(s, NULL);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "launch: connect to PostgreSQL: %s", PQerrorMessage(c));
		goto out;
	}
	u = PQescapeIdentifier(c, owner, strlen(owner));
	db = PQescapeIdentifier(c, dbname, strlen(dbname));
	dbl = PQescapeLiteral(c, dbname, strlen(dbname));
	if (!u || !db || !dbl)
		goto out;
	snprintf(sql, sizeof(sql), "SELECT 1 FROM pg_database WHERE datname = %s", dbl);
	PGresult *res = PQexec(c, sql);
	bool exists = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	PQclear(res);
	r = 0;
	if (!exists) {
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s OWNER %s ENCODING 'UTF8'", db, u);
		res = PQexec(c, sql);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			fprintf(stderr, "launch: create database: %s", PQerrorMessage(c));
			r = -EIO;
		}
		PQclear(res);
	}
out:
	PQfreemem(u);
	PQfreemem(db);
	PQfreemem(dbl);
	PQfinish(c);
	return r;
}

/* Redis ------------------------------------------------------------------- */

/* The daemons' ACL users as redis.conf lines (common/redis_acl.h). */
static int redis_users(const srv_t *s, char *out, size_t cap)
{
	size_t len = 0;
	int n;

	out[0] = '\0';
	for (int i = 0; s->redis_acl && i < REDIS_ACL_ROLES; i++) {
		n = redis_acl_line((enum redis_acl_role)i, s->redis_user[i],
				   s->redis_user_password[i], s->redis_network, s->redis_partitions,
				   out + len, cap - len);
		if (n < 0) {
			fprintf(stderr, "launch: cannot write Redis user %s: %s\n",
				s->redis_user[i], strerror(-n));
			return n;
		}
		len += (size_t)n;
	}
	return 0;
}

static int redis_prepare(srv_t *s)
{
	char conf[PATH_MAX + 16], exe[PATH_MAX], *body, *users;
	size_t users_cap = REDIS_ACL_ROLES * REDIS_ACL_LINE_MAX,
	       body_cap = PATH_MAX * 2 + users_cap;
	int r;

	if (!find_exe("redis-server", exe, sizeof(exe))) {
		fprintf(stderr, "launch: redis-server not found: apt-get install redis-server\n");
		return -ENOENT;
	}
	if (mkdir(s->datadir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (!(body = malloc(body_cap)))
		return -ENOMEM;
	users = body + PATH_MAX * 2;
	if ((r = redis_users(s, users, users_cap)) < 0) {
		free(body);
		return r;
	}
	snprintf(conf, sizeof(conf), "%s.conf", s->datadir);
	/* the default user (requirepass) keeps every command, for operators
	 * and tests; the daemons' users follow */
	snprintf(body, PATH_MAX * 2,
		 "# Written by eIRC's server harness; rewritten at every start.\n"
		 "port %d\nbind 127.0.0.1\nprotected-mode yes\ndaemonize no\n"
		 "dir %s\nappendonly yes\nappendfsync everysec\nsave \"\"\n"
		 "logfile \"\"\n%s%s\n",
		 s->port, s->datadir, s->password[0] ? "requirepass " : "", s->password);
	memmove(body + strlen(body), users, strlen(users) + 1);
	r = write_file(conf, body, 0600);
	free(body);
	/* its data folder (also one a run as root left) and config are its own */
	if (r < 0 || (r = own_tree(conf, s->uid, s->gid)) < 0 ||
	    (r = own_tree(s->datadir, s->uid, s->gid)) < 0)
		return r;
	return set_argv(s, exe, conf, NULL);
}

int srv_redis_start(srv_env_t *env, const srv_redis_opts_t *opts, srv_t **out_srv)
{
	srv_redis_opts_t o = opts ? *opts : (srv_redis_opts_t){0};
	srv_t *s;
	int r = srv_new(env, SRV_REDIS, "redis", o.port, &s);

	if (r < 0)
		return r;
	if ((r = srv_set_user(s, SRV_USER)) < 0) {
		srv_discard(s);
		return r;
	}
	if (o.password)
		snprintf(s->password, sizeof(s->password), "%s", o.password);
	s->redis_acl = true;
	for (int i = 0; i < REDIS_ACL_ROLES; i++) {
		snprintf(s->redis_user[i], sizeof(s->redis_user[i]), "%s",
			 o.user_names[i] ? o.user_names[i]
					 : redis_acl_default_name((enum redis_acl_role)i));
		if (o.user_passwords[i])
			snprintf(s->redis_user_password[i], sizeof(s->redis_user_password[i]), "%s",
				 o.user_passwords[i]);
		else
			random_hex(s->redis_user_password[i], SRV_SECRET_LEN);
	}
	snprintf(s->redis_network, sizeof(s->redis_network), "%s", o.network ? o.network : "eIRC");
	s->redis_partitions = o.partitions > 0 ? o.partitions : 16384;
	return launch(s, redis_prepare, out_srv);
}

/* InspIRCd ------------------------------------------------------------------ */

/* Replaces each @NAME@ of the table in tpl; other text is copied as is. */
static char *render(const char *tpl, const char *const (*vars)[2], size_t nvars)
{
	size_t cap = strlen(tpl) + 1, len = 0;
	char *out;

	for (size_t i = 0; i < nvars; i++)
		cap += strlen(vars[i][1]) * 8; /* generous: few uses per name */
	out = malloc(cap);
	if (!out)
		return NULL;
	for (const char *p = tpl; *p;) {
		size_t i = nvars;
		if (*p == '@') {
			for (i = 0; i < nvars; i++) {
				size_t kl = strlen(vars[i][0]);
				if (strncmp(p + 1, vars[i][0], kl) == 0 && p[kl + 1] == '@')
					break;
			}
		}
		if (i < nvars) {
			size_t vl = strlen(vars[i][1]);
			if (len + vl >= cap) {
				free(out);
				return NULL;
			}
			memcpy(out + len, vars[i][1], vl);
			len += vl;
			p += strlen(vars[i][0]) + 2;
		} else {
			if (len + 1 >= cap) {
				free(out);
				return NULL;
			}
			out[len++] = *p++;
		}
	}
	out[len] = '\0';
	return out;
}

/* Where Debian's InspIRCd keeps its modules (INSPIRCD_MODULE_PATH). */
#define IRCD_STOCK_MODULES "/usr/lib/inspircd/modules"

/* (Re)creates the symlink link -> target. */
static int symlink_force(const char *target, const char *link)
{
	if (symlink(target, link) == 0)
		return 0;
	if (errno != EEXIST || unlink(link) < 0 || symlink(target, link) < 0)
		return -errno;
	return 0;
}

/* eIRC's InspIRCd modules (config/inspircd/m_<name>.cpp), built into
 * EIRC_INSPIRCD_MODULE_DIR: fast registration, any member may unset +s,
 * capture bots (the logger) in every channel with a copy of every message.
 * Each is linked into the module folder; all but the last are loaded
 * always, m_eirc_account when srv_ircd_opts_t.native_clients says. */
static const char *const ircd_ours[] = {"eirc_fastregister", "eirc_reveal", "eirc_capture",
					"eirc_account"};
#define IRCD_OURS_ALWAYS 3

/*
 * Chooses InspIRCd's module directory. With eIRC's modules built
 * (EIRC_INSPIRCD_MODULE_DIR), <datadir>/modules holds a symlink to every
 * stock module plus ours, and extra gets the <module> lines that load them;
 * otherwise the stock directory and nothing extra.
 */
static int ircd_modules(srv_t *s, char *moddir, size_t cap, char *extra, size_t ecap)
{
	const char *dir = NULL;
	char link[PATH_MAX + 128], ours[PATH_MAX];
	size_t n = 0;
	glob_t g;
	int r = 0;

#ifdef EIRC_INSPIRCD_MODULE_DIR
	dir = EIRC_INSPIRCD_MODULE_DIR;
#endif
	snprintf(moddir, cap, "%s", IRCD_STOCK_MODULES);
	extra[0] = '\0';
	for (size_t i = 0; dir && i < sizeof(ircd_ours) / sizeof(ircd_ours[0]); i++) {
		snprintf(ours, sizeof(ours), "%s/m_%s.so", dir, ircd_ours[i]);
		if (access(ours, R_OK) < 0)
			dir = NULL;
	}
	if (!dir && s->ircd_account[0]) {
		fprintf(stderr, "launch: m_eirc_account not built (g++ and inspircd-dev): "
				"InspIRCd cannot bind clients to accounts\n");
		return -ENOENT;
	}
	if (!dir) {
		fprintf(stderr, "launch: eIRC's InspIRCd modules not built (g++ and "
				"inspircd-dev): InspIRCd sends 001 only on its 1 s tick, "
				"only a channel's creator can make a public room visible, and "
				"the logger archives only the channels it joins\n");
		return 0;
	}
	snprintf(moddir, cap, "%s/modules", s->datadir);
	if (mkdir(moddir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (glob(IRCD_STOCK_MODULES "/*.so", 0, NULL, &g) != 0) {
		fprintf(stderr, "launch: no modules in " IRCD_STOCK_MODULES "\n");
		return -ENOENT;
	}
	for (size_t i = 0; i < g.gl_pathc && r == 0; i++) {
		const char *base = strrchr(g.gl_pathv[i], '/') + 1;
		snprintf(link, sizeof(link), "%s/%s", moddir, base);
		r = symlink_force(g.gl_pathv[i], link);
	}
	globfree(&g);
	for (size_t i = 0; r == 0 && i < sizeof(ircd_ours) / sizeof(ircd_ours[0]); i++) {
		snprintf(ours, sizeof(ours), "%s/m_%s.so", dir, ircd_ours[i]);
		snprintf(link, sizeof(link), "%s/m_%s.so", moddir, ircd_ours[i]);
		r = symlink_force(ours, link);
		if (i < IRCD_OURS_ALWAYS)
			n += (size_t)snprintf(extra + n, n < ecap ? ecap - n : 0,
					      "<module name=\"%s\">\n", ircd_ours[i]);
	}
	if (r == 0 && s->ircd_account[0])
		snprintf(extra + n, n < ecap ? ecap - n : 0, "%s", s->ircd_account);
	return r < 0 ? r : 0;
}

/* A value InspIRCd's config can hold between double quotes as it is. */
static bool ircd_value_ok(const char *v)
{
	return v && !strpbrk(v, "\"&\r\n");
}

/* Renders srv_ircd_opts_t.native_clients and account_db into
 * s->ircd_account ("" when not asked for); -EINVAL for another mode or a
 * value that cannot be written, -ENAMETOOLONG when it does not fit. */
static int ircd_account_conf(srv_t *s, const srv_ircd_opts_t *o)
{
	const srv_ircd_account_db_t *db = &o->account_db;
	size_t cap = sizeof(s->ircd_account);
	int n;

	s->ircd_account[0] = '\0';
	if (!o->native_clients)
		return 0;
	if (strcmp(o->native_clients, "refuse") == 0)
		n = snprintf(s->ircd_account, cap,
			     "<module name=\"services_account\">\n<module name=\"eirc_account\">\n"
			     "<eircaccount native=\"refuse\">\n");
	else if (strcmp(o->native_clients, "authenticated") == 0 && ircd_value_ok(db->name) &&
		 ircd_value_ok(db->user) && ircd_value_ok(db->password) && db->port > 0)
		n = snprintf(
			s->ircd_account, cap,
			"<module name=\"services_account\">\n<module name=\"pgsql\">\n"
			"<module name=\"argon2\">\n<module name=\"eirc_account\">\n"
			"<eircaccount native=\"authenticated\" dbid=\"eirc\">\n"
			"<database module=\"pgsql\" id=\"eirc\" host=\"127.0.0.1\" port=\"%d\" "
			"name=\"%s\" user=\"%s\" pass=\"%s\" ssl=\"no\">\n",
			db->port, db->name, db->user, db->password);
	else
		return -EINVAL;
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int ircd_prepare(srv_t *s)
{
	const srv_ircd_opts_t *o = &s->ircd;
	char conf[PATH_MAX + 32], motd[PATH_MAX + 32], exe[PATH_MAX], port[16], localmax[16],
		opt_conf[PATH_MAX + 48], tpl_path[PATH_MAX];
	char moddir[SRV_DIR_MAX + 80], extra_modules[256 + SRV_IRCD_ACCOUNT_MAX];
	char *tpl, *text;
	int r;

	if (!find_exe("inspircd", exe, sizeof(exe))) {
		fprintf(stderr, "launch: inspircd not found: apt-get install inspircd\n");
		return -ENOENT;
	}
	if (mkdir(s->datadir, 0700) < 0 && errno != EEXIST)
		return -errno;
	r = ircd_modules(s, moddir, sizeof(moddir), extra_modules, sizeof(extra_modules));
	if (r < 0)
		return r;
	snprintf(tpl_path, sizeof(tpl_path), "%s",
		 o->template_path ? o->template_path : EIRC_SOURCE_DIR "/config/inspircd.conf.in");
	tpl = read_file(tpl_path, 1 << 20);
	if (!tpl) {
		fprintf(stderr, "launch: cannot read %s: %s\n", tpl_path, strerror(errno));
		return -ENOENT;
	}
	snprintf(port, sizeof(port), "%d", s->port);
	snprintf(localmax, sizeof(localmax), "%d", o->localmax > 0 ? o->localmax : 10);
	const char *const vars[][2] = {
		{"DIR", s->datadir},
		{"SERVER_NAME", o->server_name ? o->server_name : "irc1.eirc.local"},
		{"SID", o->sid ? o->sid : "1EI"},
		{"NETWORK", o->network ? o->network : "eIRC"},
		{"BIND", "127.0.0.1"},
		{"PORT", port},
		{"LOCALMAX", localmax},
		{"WEBIRC_PASSWORD", s->password},
		{"OPER_PASSWORD", s->oper_password},
		{"CAPTURE_PASSWORD", s->capture_password},
		{"REQUIRE_ARCHIVE", o->require_archive ? "yes" : "no"},
		{"EXTRA_BINDS", s->ircd_extra_binds},
		{"EXTRA", s->ircd_extra},
		{"MODULE_DIR", moddir},
		{"EXTRA_MODULES", extra_modules},
	};
	text = render(tpl, vars, sizeof(vars) / sizeof(vars[0]));
	free(tpl);
	if (!text)
		return -ENOMEM;
	snprintf(conf, sizeof(conf), "%s/inspircd.conf", s->datadir);
	snprintf(motd, sizeof(motd), "%s/motd.txt", s->datadir);
	r = write_file(conf, text, 0600);
	free(text);
	if (r < 0 || (r = write_file(motd, "Welcome to eIRC.\n", 0644)) < 0)
		return r;
	/* config, modules, its log and pid file: all in its own folder */
	if ((r = own_tree(s->datadir, s->uid, s->gid)) < 0)
		return r;
	snprintf(opt_conf, sizeof(opt_conf), "--config=%s", conf);
	return set_argv(s, exe, "--nofork", opt_conf, NULL); /* never root */
}

int srv_inspircd_start(srv_env_t *env, const srv_ircd_opts_t *opts, srv_t **out_srv)
{
	srv_ircd_opts_t o = opts ? *opts : (srv_ircd_opts_t){0};
	srv_t *s;
	int r = srv_new(env, SRV_INSPIRCD, "inspircd", o.port, &s);

	if (r < 0)
		return r;
	if ((r = srv_set_user(s, SRV_USER)) < 0) {
		srv_discard(s);
		return r;
	}
	s->ircd = o;
	snprintf(s->ircd_extra_binds, sizeof(s->ircd_extra_binds), "%s",
		 o.extra_binds ? o.extra_binds : "");
	snprintf(s->ircd_extra, sizeof(s->ircd_extra), "%s", o.extra ? o.extra : "");
	if ((r = ircd_account_conf(s, &o)) < 0) {
		fprintf(stderr, "launch: cannot render native_clients \"%s\" and its database\n",
			o.native_clients);
		srv_discard(s);
		return r;
	}
	/* Strings in opts belong to the caller: keep only what we copied. */
	s->ircd.extra_binds = s->ircd.extra = NULL;
	s->ircd.native_clients = NULL;
	s->ircd.account_db = (srv_ircd_account_db_t){0};
	if (o.webirc_password)
		snprintf(s->password, sizeof(s->password), "%s", o.webirc_password);
	else
		random_hex(s->password, SRV_SECRET_LEN);
	if (o.oper_password)
		snprintf(s->oper_password, sizeof(s->oper_password), "%s", o.oper_password);
	else
		random_hex(s->oper_password, SRV_SECRET_LEN);
	if (o.capture_password)
		snprintf(s->capture_password, sizeof(s->capture_password), "%s",
			 o.capture_password);
	else
		random_hex(s->capture_password, SRV_SECRET_LEN);
	r = launch(s, ircd_prepare, out_srv);
	if (r == 0) /* the caller's strings are not ours to keep */
		s->ircd = (srv_ircd_opts_t){.port = s->port};
	return r;
}

/* The link of one server to its peer, as raw config lines. */
static void ircd_link_conf(char *binds, size_t bcap, char *extra, size_t ecap, int own_port,
			   const char *peer, int peer_port)
{
	snprintf(binds, bcap, "<bind address=\"127.0.0.1\" port=\"%d\" type=\"servers\">\n",
		 own_port);
	snprintf(extra, ecap,
		 "<module name=\"spanningtree\">\n"
		 "<link name=\"%s\" ipaddr=\"127.0.0.1\" port=\"%d\" allowmask=\"127.0.0.0/8\"\n"
		 "      timeout=\"5s\" sendpass=\"linkpass\" recvpass=\"linkpass\">\n"
		 "<autoconnect period=\"1s\" server=\"%s\">\n",
		 peer, peer_port, peer);
}

int srv_inspircd_pair_start(srv_env_t *env, const srv_ircd_opts_t *base, srv_t *out_pair[2])
{
	static const char *const names[2] = {"irc1.eirc.local", "irc2.eirc.local"};
	static const char *const sids[2] = {"1EI", "2EI"};
	char binds[2][256], extra[2][1024], capture[SRV_SECRET_LEN + 1] = "";
	int link[2] = {srv_free_port(), -1};
	srv_t *pair[2];
	int r;

	/* the kernel may hand out the port it just took back: ask again */
	for (int i = 0; i < 16 && link[0] >= 0 && (link[1] < 0 || link[1] == link[0]); i++)
		link[1] = srv_free_port();
	if (link[0] < 0 || link[1] < 0)
		return link[0] < 0 ? link[0] : link[1];
	if (link[0] == link[1]) {
		fprintf(stderr, "launch: no second free port for the server link\n");
		return -EADDRINUSE;
	}
	random_hex(capture, SRV_SECRET_LEN);
	for (int i = 0; i < 2; i++) {
		srv_ircd_opts_t o = base ? *base : (srv_ircd_opts_t){0};

		if (!o.capture_password)
			o.capture_password = capture;

		ircd_link_conf(binds[i], sizeof(binds[i]), extra[i], sizeof(extra[i]), link[i],
			       names[1 - i], link[1 - i]);
		o.port = 0;
		o.server_name = names[i];
		o.sid = sids[i];
		o.extra_binds = binds[i];
		o.extra = extra[i];
		if ((r = srv_inspircd_start(env, &o, &pair[i])) < 0)
			return r;
	}
	out_pair[0] = pair[0];
	out_pair[1] = pair[1];
	return 0;
}

/* Our own daemons ------------------------------------------------------------ */

static int process_prepare(srv_t *s)
{
	(void)s; /* argv was set by srv_process_start */
	return 0;
}

int srv_process_start(srv_env_t *env, const char *name, char *const argv[], int http_port,
		      const char *http_path, srv_t **out_srv)
{
	return srv_process_start_as(env, name, argv, http_port, http_path, NULL, out_srv);
}

/* Takes `as` (NULL: the caller) for s. */
static int srv_set_as(srv_t *s, const srv_as_t *as)
{
	int r;

	if (!as || !as->user)
		return 0;
	if ((r = srv_set_user(s, as->user)) < 0)
		return r;
	s->setuid_caps = as->setuid_caps && s->uid != geteuid();
	return 0;
}

int srv_process_start_as(srv_env_t *env, const char *name, char *const argv[], int http_port,
			 const char *http_path, const srv_as_t *as, srv_t **out_srv)
{
	srv_t *s;
	int n = 0, r;

	/* No port given: none at all (srv_new would otherwise pick one). */
	r = srv_new(env, SRV_PROCESS, name, http_port > 0 ? http_port : -1, &s);
	if (r < 0)
		return r;
	if ((r = srv_set_as(s, as)) < 0) {
		srv_discard(s);
		return r;
	}
	snprintf(s->http_path, sizeof(s->http_path), "%s",
		 http_port > 0 && http_path ? http_path : "");
	for (; argv[n] && n < SRV_ARGV_MAX - 1; n++) {
		if (!(s->argv[n] = strdup(argv[n]))) {
			srv_discard(s);
			return -ENOMEM;
		}
	}
	if (argv[n]) {
		srv_discard(s);
		return -E2BIG;
	}
	return launch(s, process_prepare, out_srv);
}

int srv_run(srv_env_t *env, const char *name, char *const argv[])
{
	return srv_run_as(env, name, argv, NULL);
}

int srv_run_as(srv_env_t *env, const char *name, char *const argv[], const srv_as_t *as)
{
	srv_t tmp = {.env = env, .stop_sig = SIGTERM, .uid = geteuid(), .gid = getegid()};
	int r;

	snprintf(tmp.name, sizeof(tmp.name), "%s", name);
	snprintf(tmp.log, sizeof(tmp.log), "%s/%s.log", env->dir, name);
	if ((r = srv_set_as(&tmp, as)) < 0 || (r = check_reachable(&tmp, argv[0])) < 0)
		return r;
	return run_status(&tmp, argv);
}

/* Redis Cluster --------------------------------------------------------- */

/* A Redis node: the plain configuration plus cluster mode, its own
 * nodes.conf in its data folder and an explicit bus port. */
static int redis_cluster_prepare(srv_t *s)
{
	char conf[PATH_MAX + 16], line[PATH_MAX + 256];
	int r = redis_prepare(s), fd;

	if (r < 0)
		return r;
	snprintf(conf, sizeof(conf), "%s.conf", s->datadir);
	snprintf(line, sizeof(line),
		 "cluster-enabled yes\ncluster-config-file %s/nodes.conf\n"
		 "cluster-port %d\ncluster-node-timeout 5000\n"
		 "cluster-require-full-coverage yes\n",
		 s->datadir, s->cluster_port);
	fd = open(conf, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = write(fd, line, strlen(line)) == (ssize_t)strlen(line) ? 0 : -EIO;
	close(fd);
	return r;
}

static bool cluster_ok(const srv_t *s)
{
	return tcp_expect(s->port, "CLUSTER INFO\r\n", "cluster_state:ok", 1000);
}

int srv_redis_cluster_start(srv_env_t *env, int n_masters, srv_t **out_nodes)
{
	char exe[PATH_MAX], addrs[SRV_REDIS_CLUSTER_MAX][32];
	char *argv[SRV_REDIS_CLUSTER_MAX + 8];
	srv_t *nodes[SRV_REDIS_CLUSTER_MAX];
	int r = 0, n = 0, a = 0;
	long long end;

	if (n_masters < 3 || n_masters > SRV_REDIS_CLUSTER_MAX)
		return -EINVAL;
	if (!find_exe("redis-cli", exe, sizeof(exe))) {
		fprintf(stderr, "launch: redis-cli not found: apt-get install redis-tools\n");
		return -ENOENT;
	}
	for (; n < n_masters; n++) {
		srv_t *s;
		if ((r = srv_new(env, SRV_REDIS, "redis-cluster", 0, &s)) < 0)
			goto fail;
		if ((r = srv_set_user(s, SRV_USER)) < 0 ||
		    (r = s->cluster_port = srv_free_port()) < 0) {
			srv_discard(s);
			goto fail;
		}
		if ((r = launch(s, redis_cluster_prepare, &nodes[n])) < 0)
			goto fail;
		snprintf(addrs[n], sizeof(addrs[n]), "127.0.0.1:%d", s->port);
	}
	argv[a++] = exe;
	argv[a++] = (char *)"--cluster";
	argv[a++] = (char *)"create";
	for (int i = 0; i < n; i++)
		argv[a++] = addrs[i];
	argv[a++] = (char *)"--cluster-replicas";
	argv[a++] = (char *)"0";
	argv[a++] = (char *)"--cluster-yes";
	argv[a] = NULL;
	if ((r = srv_run(env, "redis-cluster-create", argv)) != 0) {
		fprintf(stderr,
			"launch: redis-cli --cluster create exited with %d (see %s/"
			"redis-cluster-create.log)\n",
			r, env->dir);
		r = r < 0 ? r : -EIO;
		goto fail;
	}
	end = now_ms() + SRV_START_TIMEOUT_MS;
	for (int i = 0; i < n; i++) {
		while (!cluster_ok(nodes[i])) {
			if (now_ms() > end) {
				fprintf(stderr, "launch: %s never reached cluster_state:ok\n",
					nodes[i]->name);
				r = -ETIMEDOUT;
				goto fail;
			}
			usleep(50 * 1000);
		}
	}
	for (int i = 0; i < n; i++)
		out_nodes[i] = nodes[i];
	return 0;
fail:
	for (int i = 0; i < n; i++)
		srv_stop(nodes[i]);
	return r;
}
