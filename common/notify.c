/*
 * notify: the NOTIFY_SOCKET datagram. See notify.h.
 */
#include "common/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int notify_addr(const char *env, struct sockaddr_un *out, socklen_t *out_len)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	size_t len;

	if (!env || !*env)
		return -ENOENT;
	if (env[0] != '/' && env[0] != '@')
		return -EAFNOSUPPORT;
	len = strlen(env);
	if (len >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	memcpy(a.sun_path, env, len);
	if (a.sun_path[0] == '@')
		a.sun_path[0] = '\0';
	*out = a;
	/* an abstract name is exactly its bytes; a path has its NUL */
	*out_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (env[0] == '/'));
	return 0;
}

int notify_send(const char *state)
{
	struct sockaddr_un a;
	socklen_t alen;
	size_t len = strlen(state);
	int fd, r = notify_addr(getenv("NOTIFY_SOCKET"), &a, &alen);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (len > NOTIFY_STATE_MAX)
		return -EMSGSIZE;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	r = sendto(fd, state, len, MSG_NOSIGNAL, (struct sockaddr *)&a, alen) == (ssize_t)len
		    ? 1
		    : -errno;
	close(fd);
	return r;
}
