/*
 * auth_parse: form, JSON and header parsing for eirc-auth. See auth_parse.h.
 */
#include "auth/auth_parse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "common/utf8.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes one form-encoded piece into a new string. */
static int form_decode(const char *s, size_t len, char **out)
{
	char *d;
	size_t n = 0;

	if (len > 3 * AUTH_FORM_VALUE_MAX)
		return -E2BIG;
	d = malloc(len + 1);
	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;
		char c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (i + 2 >= len)
				goto bad;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				goto bad;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0')
			goto bad;
		d[n++] = c;
	}
	if (n > AUTH_FORM_VALUE_MAX) {
		free(d);
		return -E2BIG;
	}
	d[n] = '\0';
	*out = d;
	return 0;
bad:
	free(d);
	return -EINVAL;
}

static int form_add(auth_form_t *f, const char *p, size_t len)
{
	const char *eq = memchr(p, '=', len);
	size_t nlen = eq ? (size_t)(eq - p) : len;
	char *name = NULL, *value = NULL;
	int r;

	if (nlen == 0)
		return -EINVAL;
	if (f->n == AUTH_FORM_FIELDS_MAX)
		return -E2BIG;
	r = form_decode(p, nlen, &name);
	if (r == 0)
		r = eq ? form_decode(eq + 1, len - nlen - 1, &value) : form_decode("", 0, &value);
	if (r == 0 && auth_form_get(f, name))
		r = -EINVAL;
	if (r < 0) {
		free(name);
		free(value);
		return r;
	}
	f->v[f->n].name = name;
	f->v[f->n].value = value;
	f->n++;
	return 0;
}

int auth_form_parse(const char *body, size_t len, auth_form_t *out)
{
	auth_form_t f = {.n = 0};
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		int r;
		if (i < len && body[i] != '&')
			continue;
		if (i > start) {
			r = form_add(&f, body + start, i - start);
			if (r < 0) {
				auth_form_clear(&f);
				return r;
			}
		}
		start = i + 1;
	}
	*out = f;
	return 0;
}

void auth_form_clear(auth_form_t *form)
{
	for (size_t i = 0; i < form->n; i++) {
		free(form->v[i].name);
		free(form->v[i].value);
	}
	form->n = 0;
}

const char *auth_form_get(const auth_form_t *form, const char *name)
{
	for (size_t i = 0; i < form->n; i++)
		if (strcmp(form->v[i].name, name) == 0)
			return form->v[i].value;
	return NULL;
}

static int json_depth(const json_t *j, int depth)
{
	const char *key;
	json_t *v;
	size_t i;

	if (depth > AUTH_JSON_DEPTH_MAX)
		return -EINVAL;
	if (json_is_object(j)) {
		json_object_foreach((json_t *)j, key,
				    v) if (json_depth(v, depth + 1) < 0) return -EINVAL;
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v) if (json_depth(v, depth + 1) < 0) return -EINVAL;
	}
	return 0;
}

int auth_json_parse_object(const char *body, size_t len, json_t **out_obj)
{
	json_error_t err;
	json_t *j;

	/* JSON_REJECT_DUPLICATES: {"a":1,"a":2} is ambiguous, refuse it.
	 * Without JSON_ALLOW_NUL, "\u0000" inside a string is refused. */
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (!j)
		return -EINVAL;
	if (!json_is_object(j) || json_depth(j, 0) < 0) {
		json_decref(j);
		return -EINVAL;
	}
	*out_obj = j;
	return 0;
}

bool auth_content_type_is(const char *ct, const char *type)
{
	size_t n = strlen(type);

	if (!ct)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, type, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* Skips "scheme" and the spaces after it; NULL when the scheme differs. */
static const char *auth_scheme(const char *header, const char *scheme)
{
	size_t n = strlen(scheme);

	if (!header || strncasecmp(header, scheme, n) != 0 ||
	    (header[n] != ' ' && header[n] != '\t'))
		return NULL;
	header += n;
	while (*header == ' ' || *header == '\t')
		header++;
	return header;
}

static int basic_split(const char *dec, size_t len, char **out_id, char **out_secret)
{
	const char *colon = memchr(dec, ':', len);
	char *id = NULL, *secret = NULL;
	size_t idlen;

	if (!colon)
		return -EINVAL;
	idlen = (size_t)(colon - dec);
	if (form_decode(dec, idlen, &id) < 0 ||
	    form_decode(colon + 1, len - idlen - 1, &secret) < 0 ||
	    strlen(id) > AUTH_CREDENTIAL_MAX || *id == '\0' ||
	    strlen(secret) > AUTH_CREDENTIAL_MAX) {
		free(id);
		free(secret);
		return -EINVAL;
	}
	*out_id = id;
	*out_secret = secret;
	return 0;
}

int auth_basic_parse(const char *header, char **out_id, char **out_secret)
{
	const char *b64 = auth_scheme(header, "Basic");
	unsigned char dec[3 * AUTH_CREDENTIAL_MAX + 8];
	size_t dlen = 0, blen;
	int r;

	if (!b64)
		return -ENOENT;
	blen = strlen(b64);
	while (blen > 0 && (b64[blen - 1] == ' ' || b64[blen - 1] == '\t'))
		blen--;
	if (blen == 0 || blen > 4 * sizeof(dec) / 3)
		return -EINVAL;
	if (sodium_base642bin(dec, sizeof(dec), b64, blen, NULL, &dlen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return -EINVAL;
	if (memchr(dec, '\0', dlen))
		return -EINVAL;
	r = basic_split((const char *)dec, dlen, out_id, out_secret);
	sodium_memzero(dec, sizeof(dec));
	return r;
}

int auth_bearer_parse(const char *header, const char **out_tok, size_t *out_len)
{
	const char *t = auth_scheme(header, "Bearer");
	size_t n = 0;

	if (!t)
		return -ENOENT;
	/* b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
	while (t[n] && strchr(" \t", t[n]) == NULL) {
		char c = t[n];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      strchr("-._~+/=", c)))
			return -EINVAL;
		n++;
	}
	if (n == 0 || n > 4096)
		return -EINVAL;
	for (size_t i = n; t[i]; i++)
		if (t[i] != ' ' && t[i] != '\t')
			return -EINVAL;
	*out_tok = t;
	*out_len = n;
	return 0;
}

bool auth_text_ok(const char *s, size_t max)
{
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	if (n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return utf8_is_valid(s, n);
}
