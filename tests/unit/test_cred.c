/*
 * common/cred: a ${NAME}'s value from the environment first, then from
 * $CREDENTIALS_DIRECTORY/NAME (systemd's LoadCredential=): one trailing
 * newline dropped, CRED_VALUE_MAX bytes and one past, a NUL byte, a name
 * that is no ${NAME} name (never a path), a missing folder or file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cred.h"

static char dir[] = "/tmp/eirc-test-cred-XXXXXX";

static void put(const char *name, const char *bytes, size_t len)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, len), (ssize_t)len);
	close(fd);
}

static void drop(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	unsetenv("T_CRED");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	drop("T_CRED");
	drop("T_BIG");
	rmdir(dir);
	unsetenv("CREDENTIALS_DIRECTORY");
	return 0;
}

/* The environment wins; then the file, one trailing newline dropped. */
static void test_order_and_newline(void **state)
{
	char *v = NULL;

	(void)state;
	put("T_CRED", "from-the-file\n", 14);
	assert_int_equal(cred_get("T_CRED", &v), 0);
	assert_string_equal(v, "from-the-file");
	free(v);
	setenv("T_CRED", "from-the-environment", 1);
	assert_int_equal(cred_get("T_CRED", &v), 0);
	assert_string_equal(v, "from-the-environment");
	free(v);
	unsetenv("T_CRED");
	put("T_CRED", "two\n\n", 5); /* only one newline is dropped */
	assert_int_equal(cred_get("T_CRED", &v), 0);
	assert_string_equal(v, "two\n");
	free(v);
	put("T_CRED", "", 0); /* an empty file is an empty value */
	assert_int_equal(cred_get("T_CRED", &v), 0);
	assert_string_equal(v, "");
	free(v);
}

/* Unset: no variable and no file, or no folder at all. */
static void test_unset(void **state)
{
	char *v = (char *)"untouched";

	(void)state;
	drop("T_CRED");
	assert_int_equal(cred_get("T_CRED", &v), -ENOENT);
	setenv("CREDENTIALS_DIRECTORY", "", 1);
	assert_int_equal(cred_get("T_CRED", &v), -ENOENT);
	unsetenv("CREDENTIALS_DIRECTORY");
	assert_int_equal(cred_get("T_CRED", &v), -ENOENT);
	assert_string_equal(v, "untouched");
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
}

/* CRED_VALUE_MAX bytes load; one more (even a newline) is -EFBIG. */
static void test_limit(void **state)
{
	char *big = malloc(CRED_VALUE_MAX + 1), *v = NULL;

	(void)state;
	assert_non_null(big);
	memset(big, 'k', CRED_VALUE_MAX + 1);
	put("T_BIG", big, CRED_VALUE_MAX);
	assert_int_equal(cred_get("T_BIG", &v), 0);
	assert_int_equal(strlen(v), CRED_VALUE_MAX);
	free(v);
	v = NULL;
	put("T_BIG", big, CRED_VALUE_MAX + 1);
	assert_int_equal(cred_get("T_BIG", &v), -EFBIG);
	big[CRED_VALUE_MAX] = '\n';
	put("T_BIG", big, CRED_VALUE_MAX + 1);
	assert_int_equal(cred_get("T_BIG", &v), -EFBIG);
	assert_null(v);
	free(big);
}

/* A NUL byte, a name that could be a path, a folder in place of a file. */
static void test_refused(void **state)
{
	char *v = NULL, path[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/T_CRED", dir);
	put("T_CRED", "a\0b", 3);
	assert_int_equal(cred_get("T_CRED", &v), -EINVAL);
	assert_int_equal(cred_get("../T_CRED", &v), -EINVAL);
	assert_int_equal(cred_get("", &v), -EINVAL);
	assert_int_equal(cred_get("1ABC", &v), -EINVAL);
	drop("T_CRED");
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(cred_get("T_CRED", &v), -EISDIR);
	assert_int_equal(rmdir(path), 0);
	assert_null(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_newline),
		cmocka_unit_test(test_unset),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
