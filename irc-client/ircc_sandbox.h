/*
 * ircc_sandbox: confines an irc-client once its start-up is done (config
 * read, names resolved, sockets open): drop to an unprivileged user when
 * started as root, PR_SET_NO_NEW_PRIVS, rlimits (address space, open files,
 * processes) and a seccomp allow-list (libseccomp) whose default action
 * kills the process. Nothing here runs a loop.
 */
#ifndef EIRC_IRCC_SANDBOX_H
#define EIRC_IRCC_SANDBOX_H

#include <stdint.h>

typedef struct ircc_sandbox_opts ircc_sandbox_opts_t;
struct ircc_sandbox_opts {
	const char *user;   /* user to become when root */
	uint64_t rlimit_as; /* bytes */
	int rlimit_nofile;
	int rlimit_nproc;
};

/*
 * Applies every confinement step, in the order above. Returns 0, or a
 * negative errno with *out_why naming the step that failed (the process
 * must then exit: it is half-confined).
 */
int ircc_sandbox_apply(const ircc_sandbox_opts_t *o, const char **out_why);

#endif
