/*
 * yamltree unit tests: the test harness's YAML reader must tell null from
 * "", keep escaped bytes (NUL included), look keys up, and refuse what it
 * does not support with a file:line:col message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tests/harness/yamltree.h"

static struct yamltree_node *load(const char *text)
{
	struct yamltree_node *root = NULL;
	char err[256] = "";

	if (yamltree_load_string(text, strlen(text), &root, err, sizeof(err)) < 0)
		fail_msg("load failed: %s", err);
	return root;
}

static void test_null_vs_empty(void **state)
{
	struct yamltree_node *root = load("a: ~\nb: \"\"\nc:\nd: null\ne: ''\nf: x\n");
	size_t len = 9;

	assert_true(yamltree_is_null(yamltree_get(root, "a")));
	assert_non_null(yamltree_get(root, "a")); /* present, null */
	assert_false(yamltree_is_null(yamltree_get(root, "b")));
	assert_string_equal(yamltree_str(yamltree_get(root, "b"), &len), "");
	assert_int_equal(len, 0);
	assert_true(yamltree_is_null(yamltree_get(root, "c")));
	assert_true(yamltree_is_null(yamltree_get(root, "d")));
	assert_string_equal(yamltree_str(yamltree_get(root, "e"), NULL), "");
	assert_string_equal(yamltree_str(yamltree_get(root, "f"), NULL), "x");
	assert_null(yamltree_get(root, "missing"));
	assert_true(yamltree_is_null(yamltree_get(root, "missing")));
	assert_null(yamltree_str(yamltree_get(root, "a"), NULL));
	yamltree_free(root);
}

static void test_structure(void **state)
{
	struct yamltree_node *root = load("tests:\n  - input: \"x\"\n    params: [a, b]\n"
					  "  - {k: v}\n");
	const struct yamltree_node *tests = yamltree_get(root, "tests"), *first;

	assert_int_equal(yamltree_len(root), 1);
	assert_int_equal(yamltree_len(tests), 2);
	first = yamltree_at(tests, 0);
	assert_int_equal(first->kind, YAMLTREE_MAP);
	assert_int_equal(first->line, 2);
	assert_string_equal(yamltree_str(yamltree_key_at(first, 1), NULL), "params");
	assert_int_equal(yamltree_len(yamltree_get(first, "params")), 2);
	assert_string_equal(yamltree_str(yamltree_at(yamltree_get(first, "params"), 1), NULL), "b");
	assert_null(yamltree_at(tests, 2));
	assert_null(yamltree_key_at(tests, 0)); /* a seq has no keys */
	assert_null(yamltree_get(tests, "k"));  /* not a map */
	assert_int_equal(yamltree_len(yamltree_get(first, "input")), 0);
	yamltree_free(root);
}

static void test_escapes_keep_bytes(void **state)
{
	struct yamltree_node *root = load("s: \"a\\0b\\x03\\t\\\\\\u00e9\"\n");
	size_t len = 0;
	const char *s = yamltree_str(yamltree_get(root, "s"), &len);

	assert_int_equal(len, 8);
	assert_memory_equal(s, "a\0b\x03\t\\\xC3\xA9", 8);
	yamltree_free(root);
}

static void test_empty_document(void **state)
{
	struct yamltree_node *root = load("");

	assert_true(yamltree_is_null(root));
	yamltree_free(root);
	yamltree_free(NULL);
}

static void test_errors(void **state)
{
	static const char *const bad[] = {"a: [1, 2\n", "a: &x 1\nb: *x\n", "? [a]\n: b\n",
					  "a: \"unterminated\n"};
	struct yamltree_node *root = NULL;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(
			yamltree_load_string(bad[i], strlen(bad[i]), &root, err, sizeof(err)),
			-EINVAL);
		assert_null(root);
		assert_non_null(strstr(err, "<string>:"));
	}
	assert_int_equal(yamltree_load_file("/nonexistent/x.yaml", &root, NULL, 0), -ENOENT);
	assert_null(root);
}

static void test_depth_limit(void **state)
{
	char text[2 * (YAMLTREE_DEPTH_MAX + 2) + 1];
	struct yamltree_node *root = NULL;
	size_t n = YAMLTREE_DEPTH_MAX + 2;

	memset(text, '[', n);
	memset(text + n, ']', n);
	text[2 * n] = '\0';
	assert_int_equal(yamltree_load_string(text, 2 * n, &root, NULL, 0), -EINVAL);
	assert_null(root);
	n = YAMLTREE_DEPTH_MAX;
	text[n] = '\0';
	memset(text + n / 2, ']', n / 2);
	root = load(text);
	assert_int_equal(root->kind, YAMLTREE_SEQ);
	yamltree_free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_vs_empty),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_escapes_keep_bytes),
		cmocka_unit_test(test_empty_document),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_depth_limit),
	};

	return cmocka_run_group_tests_name("yamltree", tests, NULL, NULL);
}
