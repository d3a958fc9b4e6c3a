/*
 * cred: environment, then $CREDENTIALS_DIRECTORY/NAME. See cred.h.
 */
#include "common/cred.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/read_all.h"
#include "common/vars.h"

/* The file's bytes, one trailing newline dropped; buf has room for
 * CRED_VALUE_MAX + 1 bytes, so a file one byte too long is seen. */
static int cred_file(const char *dir, const char *name, char **out_value)
{
	char path[4096], buf[CRED_VALUE_MAX + 1];
	size_t len = 0;
	char *v;
	int fd, r;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return -errno;
	r = read_all(fd, buf, sizeof(buf), &len);
	close(fd);
	if (r == 0 && len > CRED_VALUE_MAX)
		r = -EFBIG;
	if (r == 0 && memchr(buf, '\0', len))
		r = -EINVAL;
	if (r == 0 && len > 0 && buf[len - 1] == '\n')
		len--;
	if (r == 0 && !(v = malloc(len + 1)))
		r = -ENOMEM;
	if (r == 0) {
		memcpy(v, buf, len);
		v[len] = '\0';
		*out_value = v;
	}
	explicit_bzero(buf, sizeof(buf));
	return r;
}

int cred_get(const char *name, char **out_value)
{
	const char *env, *dir;
	char *v;

	if (!vars_name_ok(name))
		return -EINVAL;
	if ((env = getenv(name))) {
		if (!(v = strdup(env)))
			return -ENOMEM;
		*out_value = v;
		return 0;
	}
	dir = getenv("CREDENTIALS_DIRECTORY");
	if (!dir || !*dir)
		return -ENOENT;
	return cred_file(dir, name, out_value);
}
