/*
 * auth_parse: the request pieces eirc-auth reads from peers, as pure
 * functions of bytes: application/x-www-form-urlencoded bodies (OAuth 2.0),
 * JSON bodies (the API), Content-Type, and the Authorization header
 * (Basic client credentials per RFC 6749 §2.3.1, Bearer per RFC 6750 §2.1).
 *
 * Every parser has a named limit and answers -EINVAL for malformed input,
 * -E2BIG past a limit; nothing here logs, allocates without bound or
 * touches a socket. The fuzz target fuzz_auth_request feeds all of them.
 */
#ifndef EIRC_AUTH_PARSE_H
#define EIRC_AUTH_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define AUTH_FORM_FIELDS_MAX 32   /* parameters in one form body */
#define AUTH_FORM_VALUE_MAX  4096 /* decoded bytes of one name or value */
#define AUTH_JSON_DEPTH_MAX  8    /* nesting of a JSON body */
#define AUTH_CREDENTIAL_MAX  512  /* bytes of a client id or secret */

typedef struct auth_form_field {
	char *name;
	char *value;
} auth_form_field_t;

/* A decoded form body: names and values are NUL-terminated copies. */
typedef struct auth_form {
	auth_form_field_t v[AUTH_FORM_FIELDS_MAX];
	size_t n;
} auth_form_t;

/*
 * Decodes body[0..len) as application/x-www-form-urlencoded into *out
 * ('+' is a space, %XX escapes). A parameter that appears twice is an error
 * (RFC 6749 §3.1), as are NUL bytes, bad escapes and empty names.
 * Returns 0; -EINVAL (malformed), -E2BIG (past a limit) or -ENOMEM, with
 * *out left empty. Free with auth_form_clear().
 */
int auth_form_parse(const char *body, size_t len, auth_form_t *out);
void auth_form_clear(auth_form_t *form);

/* The value of `name`, or NULL. */
const char *auth_form_get(const auth_form_t *form, const char *name);

/*
 * Parses body[0..len) as one JSON object (duplicate keys refused, depth at
 * most AUTH_JSON_DEPTH_MAX, no NUL inside strings). Returns 0 and a new
 * reference in *out_obj, or -EINVAL.
 */
int auth_json_parse_object(const char *body, size_t len, json_t **out_obj);

/*
 * True when the Content-Type header value `ct` names media type `type`
 * (case-insensitive, parameters such as "; charset=utf-8" ignored).
 */
bool auth_content_type_is(const char *ct, const char *type);

/*
 * Reads "Basic <base64 of id:secret>" (RFC 7617; id and secret are form-encoded
 * per RFC 6749 §2.3.1). Returns 0 and malloc'd *out_id, *out_secret;
 * -ENOENT when the header is not Basic; -EINVAL when malformed.
 */
int auth_basic_parse(const char *header, char **out_id, char **out_secret);

/*
 * Reads "Bearer <token>" (RFC 6750 §2.1, scheme case-insensitive).
 * Returns 0 and points *out_tok and *out_len into header; -ENOENT when the
 * scheme is not Bearer; -EINVAL when the token is empty or has bad bytes.
 */
int auth_bearer_parse(const char *header, const char **out_tok, size_t *out_len);

/*
 * True when s is printable UTF-8 text without control characters, of at
 * most max bytes: what a nick, room name or display name may hold before
 * its own rules apply.
 */
bool auth_text_ok(const char *s, size_t max);

#endif
