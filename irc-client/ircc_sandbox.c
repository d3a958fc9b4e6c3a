/*
 * ircc_sandbox: privilege drop, rlimits and the seccomp allow-list (see
 * ircc_sandbox.h). The list is what a libuv loop with TCP/UNIX sockets,
 * timers and signals needs after start-up, plus what OpenSSL needs for a
 * handshake (getrandom); socket() only for AF_INET, AF_INET6, AF_UNIX;
 * ioctl() only for FIONBIO/FIOCLEX (libuv); mprotect() never with
 * PROT_EXEC. Everything else - execve, clone/fork, ptrace, open - kills.
 */
#include "irc-client/ircc_sandbox.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define IRCC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IRCC_ASAN 1
#endif
#endif

static int drop_user(const char *user)
{
	if (geteuid() != 0)
		return 0;
	struct passwd *pw = getpwnam(user);
	if (!pw || pw->pw_uid == 0)
		return -ESRCH;
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		return -errno;
	if (setuid(0) == 0) /* must be impossible now */
		return -EPERM;
	return 0;
}

static int limit(int resource, uint64_t value)
{
	struct rlimit rl = {value, value};

	return setrlimit(resource, &rl) < 0 ? -errno : 0;
}

static int limits(const ircc_sandbox_opts_t *o)
{
	int err = 0;

#ifndef IRCC_ASAN /* ASan reserves terabytes of shadow address space */
	err = limit(RLIMIT_AS, o->rlimit_as);
#endif
	if (err == 0)
		err = limit(RLIMIT_NOFILE, (uint64_t)o->rlimit_nofile);
	if (err == 0)
		err = limit(RLIMIT_NPROC, (uint64_t)o->rlimit_nproc);
	if (err == 0)
		err = limit(RLIMIT_CORE, 0);
	return err;
}

static const int allowed[] = {
	SCMP_SYS(read),         SCMP_SYS(write),         SCMP_SYS(readv),
	SCMP_SYS(writev),       SCMP_SYS(recvfrom),      SCMP_SYS(recvmsg),
	SCMP_SYS(sendto),       SCMP_SYS(sendmsg),       SCMP_SYS(close),
	SCMP_SYS(epoll_wait),   SCMP_SYS(epoll_pwait),   SCMP_SYS(epoll_ctl),
	SCMP_SYS(connect),      SCMP_SYS(getsockopt),    SCMP_SYS(setsockopt),
	SCMP_SYS(getsockname),  SCMP_SYS(getpeername),   SCMP_SYS(shutdown),
	SCMP_SYS(fcntl),        SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
	SCMP_SYS(brk),          SCMP_SYS(mmap),          SCMP_SYS(munmap),
	SCMP_SYS(mremap),       SCMP_SYS(madvise),       SCMP_SYS(exit),
	SCMP_SYS(exit_group),   SCMP_SYS(rt_sigreturn),  SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigaction), SCMP_SYS(getpid),        SCMP_SYS(gettid),
	SCMP_SYS(tgkill),       SCMP_SYS(futex),         SCMP_SYS(getrandom),
	SCMP_SYS(fstat),        SCMP_SYS(newfstatat),    SCMP_SYS(restart_syscall),
	SCMP_SYS(sched_yield),  SCMP_SYS(getuid),        SCMP_SYS(geteuid),
};

/* SCMP_A0() and friends leave datum_b out, which clang warns about. */
static struct scmp_arg_cmp arg_cmp(unsigned arg, enum scmp_compare op, scmp_datum_t a,
				   scmp_datum_t b)
{
	struct scmp_arg_cmp c = {.arg = arg, .op = op, .datum_a = a, .datum_b = b};

	return c;
}

static int seccomp_rules(scmp_filter_ctx ctx)
{
	int err = 0;

	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && err == 0; i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	static const int domains[] = {AF_INET, AF_INET6, AF_UNIX};
	for (size_t i = 0; i < 3 && err == 0; i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				       arg_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)domains[i], 0));
	static const unsigned long ioctls[] = {FIONBIO, FIOCLEX};
	for (size_t i = 0; i < 2 && err == 0; i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				       arg_cmp(1, SCMP_CMP_EQ, (scmp_datum_t)ioctls[i], 0));
	if (err == 0)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				       arg_cmp(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	return err;
}

static int filter_install(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);

	if (!ctx)
		return -ENOMEM;
	int err = seccomp_rules(ctx);
	if (err == 0)
		err = seccomp_load(ctx);
	seccomp_release(ctx);
	return err;
}

int ircc_sandbox_apply(const ircc_sandbox_opts_t *o, const char **out_why)
{
	int err = drop_user(o->user);

	if (err < 0) {
		*out_why = err == -ESRCH ? "the sandbox user does not exist (or is root)"
					 : "cannot drop privileges to the sandbox user";
		return err;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		*out_why = "prctl(PR_SET_NO_NEW_PRIVS) failed";
		return -errno;
	}
	/* Every irc-client runs as the same sandbox user: without this,
	 * another one (or anything else of that uid) could read this one's
	 * /proc/<pid>/environ and memory, or ptrace it. Not dumpable, its
	 * /proc files belong to root and PTRACE_ATTACH needs CAP_SYS_PTRACE.
	 * execve() made it dumpable again whatever the gateway did before. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		*out_why = "prctl(PR_SET_DUMPABLE) failed";
		return -errno;
	}
	err = limits(o);
	if (err < 0) {
		*out_why = "setrlimit failed";
		return err;
	}
	err = filter_install();
	if (err < 0)
		*out_why = "cannot install the seccomp filter";
	return err;
}
