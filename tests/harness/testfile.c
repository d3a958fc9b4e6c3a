/*
 * testfile: throwaway files for tests (see testfile.h).
 */
#include "tests/harness/testfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

char *tf_temp_file(const char *tag, const char *content)
{
	size_t len = strlen(content);
	char *path = NULL;
	int fd;

	if (asprintf(&path, "/tmp/eirc-test-%s-XXXXXX", tag) < 0)
		abort();
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0 || write(fd, content, len) != (ssize_t)len) {
		perror("tf_temp_file");
		abort();
	}
	close(fd);
	return path;
}
