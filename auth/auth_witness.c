/*
 * auth_witness: the witness sinks. See auth_witness.h.
 */
#include "auth/auth_witness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

int auth_witness_append(const char *path, bool use_syslog, const char *note)
{
	size_t n = strlen(note), len = n + 5;
	char *buf;
	int fd, r = 0;

	if (use_syslog)
		syslog(LOG_AUTHPRIV | LOG_INFO, "eirc-archive checkpoint %.*s", (int)n, note);
	if (!path)
		return 0;
	if (!(buf = malloc(len + 1)))
		return -ENOMEM;
	snprintf(buf, len + 1, "%s~~~~\n", note);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		r = errno ? -errno : -EIO;
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = -errno;
	free(buf);
	return r;
}
