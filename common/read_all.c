/*
 * read_all: see read_all.h.
 */
#include "common/read_all.h"

#include <errno.h>
#include <unistd.h>

int read_all(int fd, void *dst, size_t cap, size_t *out_len)
{
	char *p = dst;
	size_t len = 0;
	int r = 0;

	while (len < cap) {
		ssize_t n = read(fd, p + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	*out_len = len;
	return r;
}
