/*
 * Fuzzes what eirc-auth parses from peers: the first byte picks the
 * listener and method, the rest is used as a path (route table, static
 * path rules), a form body, a JSON body and Authorization headers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tests/fuzz/fuzz.h"
#include "auth/auth_parse.h"
#include "auth/auth_route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	auth_route_t route;
	auth_form_t form;
	json_t *j;
	char *s, *id, *secret, out[2048];
	const char *tok;
	size_t n;

	if (!init++ && sodium_init() < 0)
		abort();
	if (size < 1)
		return 0;
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	auth_route_match(data[0] & 1 ? AUTH_L_INTERNAL : AUTH_L_PUBLIC,
			 (auth_method_t)((data[0] >> 1) % (AUTH_M_OTHER + 1)), s, size - 1, &route);
	(void)auth_static_path(s, strnlen(s, size - 1), out, sizeof(out));
	if (auth_form_parse(s, size - 1, &form) == 0)
		auth_form_clear(&form);
	if (auth_json_parse_object(s, size - 1, &j) == 0)
		json_decref(j);
	if (auth_basic_parse(s, &id, &secret) == 0) {
		free(id);
		free(secret);
	}
	(void)auth_bearer_parse(s, &tok, &n);
	(void)auth_content_type_is(s, "application/json");
	(void)auth_text_ok(s, 64);
	free(s);
	return 0;
}
