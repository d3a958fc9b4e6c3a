/*
 * auth_parse and auth_token: form bodies (split, repeated, malformed,
 * at and past the limits), JSON bodies, Content-Type, Basic and Bearer
 * headers, and the token format.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/auth_parse.h"
#include "auth/auth_token.h"

static void test_form_basic(void **state)
{
	auth_form_t f;
	const char *b = "grant_type=password&username=al%69ce+b&password=a%2Bb%26c&empty=&flag";

	(void)state;
	assert_int_equal(auth_form_parse(b, strlen(b), &f), 0);
	assert_int_equal(f.n, 5);
	assert_string_equal(auth_form_get(&f, "grant_type"), "password");
	assert_string_equal(auth_form_get(&f, "username"), "alice b");
	assert_string_equal(auth_form_get(&f, "password"), "a+b&c");
	assert_string_equal(auth_form_get(&f, "empty"), "");
	assert_string_equal(auth_form_get(&f, "flag"), "");
	assert_null(auth_form_get(&f, "missing"));
	auth_form_clear(&f);
	assert_int_equal(auth_form_parse("", 0, &f), 0);
	assert_int_equal(f.n, 0);
	assert_int_equal(auth_form_parse("&&a=1&&", 7, &f), 0);
	assert_int_equal(f.n, 1);
	auth_form_clear(&f);
}

static void test_form_malformed(void **state)
{
	static const char *const bad[] = {
		"a=1&a=2", "=x", "a=%", "a=%4", "a=%zz", "a=%00", "%=1",
	};
	auth_form_t f;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(auth_form_parse(bad[i], strlen(bad[i]), &f), -EINVAL);
	/* an embedded NUL byte */
	assert_int_equal(auth_form_parse("a=b\0c", 5, &f), -EINVAL);
}

static void test_form_limits(void **state)
{
	char body[64 * 40], *big;
	size_t n = 0;
	auth_form_t f;

	(void)state;
	for (int i = 0; i < AUTH_FORM_FIELDS_MAX; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "k%d=v&", i);
	assert_int_equal(auth_form_parse(body, n, &f), 0);
	assert_int_equal(f.n, AUTH_FORM_FIELDS_MAX);
	auth_form_clear(&f);
	n += (size_t)snprintf(body + n, sizeof(body) - n, "one=more");
	assert_int_equal(auth_form_parse(body, n, &f), -E2BIG);
	big = malloc(AUTH_FORM_VALUE_MAX + 3);
	memcpy(big, "v=", 2);
	memset(big + 2, 'x', AUTH_FORM_VALUE_MAX);
	assert_int_equal(auth_form_parse(big, AUTH_FORM_VALUE_MAX + 2, &f), 0);
	auth_form_clear(&f);
	big[AUTH_FORM_VALUE_MAX + 2] = 'x';
	assert_int_equal(auth_form_parse(big, AUTH_FORM_VALUE_MAX + 3, &f), -E2BIG);
	free(big);
}

static void test_form_split_feed(void **state)
{
	/* every prefix of a valid body parses or fails cleanly, never crashes */
	const char *b = "grant_type=refresh_token&refresh_token=abc%2Ddef&scope=chat+history";
	auth_form_t f;

	(void)state;
	for (size_t i = 0; i <= strlen(b); i++) {
		int r = auth_form_parse(b, i, &f);
		assert_true(r == 0 || r == -EINVAL);
		if (r == 0)
			auth_form_clear(&f);
	}
}

static void test_json(void **state)
{
	json_t *j;
	char deep[64];

	(void)state;
	assert_int_equal(auth_json_parse_object("{\"a\":\"b\"}", 9, &j), 0);
	json_decref(j);
	assert_int_equal(auth_json_parse_object("{\"a\":1,\"a\":2}", 13, &j), -EINVAL);
	assert_int_equal(auth_json_parse_object("[1]", 3, &j), -EINVAL);
	assert_int_equal(auth_json_parse_object("{", 1, &j), -EINVAL);
	assert_int_equal(auth_json_parse_object("{\"a\":\"\\u0000\"}", 14, &j), -EINVAL);
	assert_int_equal(auth_json_parse_object("", 0, &j), -EINVAL);
	/* depth AUTH_JSON_DEPTH_MAX is fine, one more is not */
	memset(deep, 0, sizeof(deep));
	strcpy(deep, "{\"a\":");
	for (int i = 0; i < AUTH_JSON_DEPTH_MAX - 1; i++)
		strcat(deep, "[");
	for (int i = 0; i < AUTH_JSON_DEPTH_MAX - 1; i++)
		strcat(deep, "]");
	strcat(deep, "}");
	assert_int_equal(auth_json_parse_object(deep, strlen(deep), &j), 0);
	json_decref(j);
	strcpy(deep, "{\"a\":");
	for (int i = 0; i < AUTH_JSON_DEPTH_MAX + 1; i++)
		strcat(deep, "[");
	for (int i = 0; i < AUTH_JSON_DEPTH_MAX + 1; i++)
		strcat(deep, "]");
	strcat(deep, "}");
	assert_int_equal(auth_json_parse_object(deep, strlen(deep), &j), -EINVAL);
}

static void test_content_type(void **state)
{
	(void)state;
	assert_true(auth_content_type_is("application/json", "application/json"));
	assert_true(auth_content_type_is("Application/JSON; charset=utf-8", "application/json"));
	assert_true(auth_content_type_is(" application/json ", "application/json"));
	assert_false(auth_content_type_is("application/jsonx", "application/json"));
	assert_false(auth_content_type_is("text/plain", "application/json"));
	assert_false(auth_content_type_is(NULL, "application/json"));
}

static void test_basic(void **state)
{
	char *id, *secret;

	(void)state;
	/* "history:s3cr%3At" -> id history, secret s3cr:t */
	assert_int_equal(auth_basic_parse("Basic aGlzdG9yeTpzM2NyJTNBdA==", &id, &secret), 0);
	assert_string_equal(id, "history");
	assert_string_equal(secret, "s3cr:t");
	free(id);
	free(secret);
	assert_int_equal(auth_basic_parse("Bearer abc", &id, &secret), -ENOENT);
	assert_int_equal(auth_basic_parse(NULL, &id, &secret), -ENOENT);
	assert_int_equal(auth_basic_parse("Basic !!!", &id, &secret), -EINVAL);
	assert_int_equal(auth_basic_parse("Basic bm9jb2xvbg==", &id, &secret), -EINVAL);
	assert_int_equal(auth_basic_parse("Basic ", &id, &secret), -EINVAL);
	assert_int_equal(auth_basic_parse("Basic OmVtcHR5aWQ=", &id, &secret), -EINVAL);
}

static void test_bearer(void **state)
{
	const char *t;
	size_t n;

	(void)state;
	assert_int_equal(auth_bearer_parse("Bearer abc-_.~+/=", &t, &n), 0);
	assert_int_equal(n, 10);
	assert_int_equal(auth_bearer_parse("bearer  xyz  ", &t, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(auth_bearer_parse("Bearer", &t, &n), -ENOENT);
	assert_int_equal(auth_bearer_parse("Bearer ", &t, &n), -EINVAL);
	assert_int_equal(auth_bearer_parse("Bearer a b", &t, &n), -EINVAL);
	assert_int_equal(auth_bearer_parse("Bearer a'b", &t, &n), -EINVAL);
	assert_int_equal(auth_bearer_parse("Basic abc", &t, &n), -ENOENT);
}

static void test_tokens(void **state)
{
	char a[AUTH_TOKEN_LEN + 1], b[AUTH_TOKEN_LEN + 1], h[AUTH_TOKEN_HASH_HEX + 1];

	(void)state;
	auth_token_new(a);
	auth_token_new(b);
	assert_int_equal(strlen(a), AUTH_TOKEN_LEN);
	assert_string_not_equal(a, b);
	assert_true(auth_token_well_formed(a, strlen(a)));
	assert_false(auth_token_well_formed(a, strlen(a) - 1));
	a[5] = '+';
	assert_false(auth_token_well_formed(a, strlen(a)));
	auth_token_hash("abc", 3, h);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_true(auth_secret_equal("same", 4, "same", 4));
	assert_false(auth_secret_equal("same", 4, "samE", 4));
	assert_false(auth_secret_equal("same", 4, "same!", 5));
	assert_false(auth_secret_equal(NULL, 0, "x", 1));
}

static void test_text_ok(void **state)
{
	(void)state;
	assert_true(auth_text_ok("Zoë", 10));
	assert_false(auth_text_ok("a\nb", 10));
	assert_false(auth_text_ok("\xff", 10));
	assert_false(auth_text_ok("toolong", 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form_basic),  cmocka_unit_test(test_form_malformed),
		cmocka_unit_test(test_form_limits), cmocka_unit_test(test_form_split_feed),
		cmocka_unit_test(test_json),        cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_basic),       cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_tokens),      cmocka_unit_test(test_text_ok),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
