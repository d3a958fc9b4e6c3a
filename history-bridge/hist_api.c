/*
 * hist_api: rules and formats of the HTTP API (see hist_api.h).
 */
#include "history-bridge/hist_api.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "archive/archive_event.h"
#include "common/irc_casemap.h"
#include "common/irc_line.h"
#include "common/irc_mask.h"
#include "common/irc_msg.h"
#include "history-bridge/hist_req.h"

static const char *role_of(const json_t *user)
{
	return user ? json_string_value(json_object_get(user, "role")) : NULL;
}

bool hist_api_privileged(const json_t *user)
{
	const char *r = role_of(user);

	return r && (strcmp(r, "admin") == 0 || strcmp(r, "auditor") == 0);
}

bool hist_api_is_auditor(const json_t *user)
{
	const char *r = role_of(user);

	return r && strcmp(r, "auditor") == 0;
}

/* True when the array user[key] names room (rfc1459 folding). */
static bool listed(const json_t *user, const char *key, const char *room, size_t len)
{
	const json_t *a = user ? json_object_get(user, key) : NULL;
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
	{
		const char *s = json_string_value(v);
		if (s && irc_casemap_equal(IRC_CASEMAP_RFC1459, s, strlen(s), room, len))
			return true;
	}
	return false;
}

enum hist_api_access hist_api_room_access(const json_t *user, const char *room, size_t len,
					  char *const *masks, size_t n_masks)
{
	bool member = listed(user, "private_rooms", room, len);
	bool denied = listed(user, "denied_rooms", room, len);
	bool private_room = member || denied;

	if (hist_api_privileged(user))
		return HIST_API_PRIVILEGED;
	for (size_t i = 0; i < n_masks && !private_room; i++)
		private_room =
			irc_mask_match(masks[i], strlen(masks[i]), room, len, IRC_CASEMAP_RFC1459);
	if (!private_room)
		return HIST_API_PUBLIC;
	return member && !denied ? HIST_API_MEMBER : HIST_API_DENIED;
}

bool hist_rate_take(tokbucket_t *b, uint64_t now_ms, unsigned *out_retry_s)
{
	uint64_t wait_ms;

	if (tokbucket_take(b, 1, now_ms))
		return true;
	wait_ms = tokbucket_wait_ms(b, 1, now_ms);
	if (wait_ms == UINT64_MAX)
		*out_retry_s = HIST_API_RETRY_NEVER_S;
	else
		*out_retry_s = wait_ms < 1000 ? 1 : (unsigned)((wait_ms + 999) / 1000);
	return false;
}

json_t *hist_cache_get(hist_cache_t *c, const char *token, uint64_t now_ms)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].expires_ms > now_ms && strcmp(c->e[i].token, token) == 0)
			return c->e[i].intro;
	return NULL;
}

void hist_cache_put(hist_cache_t *c, const char *token, json_t *intro, uint64_t now_ms,
		    uint64_t ttl_ms)
{
	hist_cache_entry_t *e = NULL;

	if (ttl_ms == 0 || strlen(token) > HIST_API_TOKEN_MAX)
		return;
	for (size_t i = 0; i < c->n && !e; i++)
		if (c->e[i].expires_ms <= now_ms)
			e = &c->e[i];
	if (!e && c->n < HIST_API_CACHE_MAX)
		e = &c->e[c->n++];
	if (!e) {
		e = &c->e[0];
		for (size_t i = 1; i < c->n; i++)
			if (c->e[i].expires_ms < e->expires_ms)
				e = &c->e[i];
	}
	json_decref(e->intro);
	snprintf(e->token, sizeof(e->token), "%s", token);
	e->expires_ms = now_ms + ttl_ms;
	e->intro = json_incref(intro);
}

void hist_cache_clear(hist_cache_t *c)
{
	for (size_t i = 0; i < c->n; i++)
		json_decref(c->e[i].intro);
	memset(c, 0, sizeof(*c));
}

void hist_cache_drop_user(hist_cache_t *c, uint64_t user)
{
	char sub[24];

	snprintf(sub, sizeof(sub), "%" PRIu64, user);
	for (size_t i = 0; i < c->n; i++) {
		const char *s = json_string_value(json_object_get(c->e[i].intro, "sub"));
		if (s && strcmp(s, sub) == 0) {
			json_decref(c->e[i].intro);
			c->e[i] = (hist_cache_entry_t){.expires_ms = 0};
		}
	}
}

tokbucket_t *hist_rates_get(hist_rates_t *t, const char *user, uint64_t now_ms, unsigned rate,
			    unsigned burst)
{
	hist_rate_t *r = NULL, *lru = NULL;

	for (size_t i = 0; i < t->n && !r; i++) {
		if (strncmp(t->r[i].user, user, HIST_API_USER_MAX) == 0)
			r = &t->r[i];
		else if (!lru || t->r[i].used_ms < lru->used_ms)
			lru = &t->r[i];
	}
	if (!r) {
		r = t->n < HIST_API_RATE_USERS_MAX ? &t->r[t->n++] : lru;
		memset(r, 0, sizeof(*r));
		snprintf(r->user, sizeof(r->user), "%s", user);
		tokbucket_init(&r->b, rate, burst ? burst : 1, now_ms);
	}
	r->used_ms = now_ms;
	return &r->b;
}

static bool field_is(const hist_field_t *f, const char *name)
{
	return f->name_len == strlen(name) && memcmp(f->name, name, f->name_len) == 0;
}

/* The stored tags (escaped, without '@') as a JSON object; {} when none
 * or unparsable. */
static json_t *tags_json(const char *p, size_t n)
{
	static char line[IRC_LINE_MAX + 8];
	json_t *o = json_object();
	irc_msg_t m;
	irc_msg_tag_t t;
	size_t pos = 0;

	if (!o || n == 0 || n + 4 > sizeof(line))
		return o;
	line[0] = '@';
	memcpy(line + 1, p, n);
	memcpy(line + 1 + n, " X", 3);
	if (irc_msg_parse(line, n + 3, 0, &m) != 0)
		return o;
	while (irc_msg_tag_next(&m, &pos, &t)) {
		char key[IRC_TAGS_MAX + 1];
		if (t.key_len >= sizeof(key))
			continue;
		memcpy(key, t.key, t.key_len);
		key[t.key_len] = '\0';
		json_object_set_new(o, key,
				    t.has_value ? json_stringn(t.value, t.value_len) : json_true());
	}
	return o;
}

static json_t *str_or_null(const hist_field_t *f)
{
	return f && f->value_len ? json_stringn(f->value, f->value_len) : json_null();
}

/* The fields of an entry the API reads: indices into wanted[] and got[]. */
enum { F_MSGID, F_TIME, F_TYPE, F_NICK, F_ACCOUNT, F_TEXT, F_TAGS, F_COUNT };

json_t *hist_api_message(const hist_field_t *f, size_t n)
{
	static const char *const wanted[F_COUNT] = {
		[F_MSGID] = "msgid",     [F_TIME] = "time", [F_TYPE] = "type", [F_NICK] = "nick",
		[F_ACCOUNT] = "account", [F_TEXT] = "text", [F_TAGS] = "tags"};
	const hist_field_t *got[F_COUNT] = {0};
	char tbuf[40];
	int64_t ms = 0;

	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < F_COUNT; k++)
			if (field_is(&f[i], wanted[k])) {
				got[k] = &f[i]; /* a repeated field: the last one counts */
				break;
			}
	const hist_field_t *msgid = got[F_MSGID], *time = got[F_TIME], *type = got[F_TYPE],
			   *nick = got[F_NICK], *account = got[F_ACCOUNT], *text = got[F_TEXT],
			   *tags = got[F_TAGS];
	/* 18 digits at most: 19 can overflow int64_t (found by fuzz_hist_api) */
	if (!msgid || !time || !type || !msgid->value_len || time->value_len > 18 ||
	    (type->value_len == 3 && memcmp(type->value, "gap", 3) == 0))
		return NULL;
	for (size_t i = 0; i < time->value_len; i++) {
		if (time->value[i] < '0' || time->value[i] > '9')
			return NULL;
		ms = ms * 10 + (time->value[i] - '0');
	}
	if (archive_event_time_format(ms, tbuf, sizeof(tbuf)) < 0)
		return NULL;
	return json_pack("{s:s%,s:s,s:s%,s:o,s:o,s:o,s:o}", "msgid", msgid->value, msgid->value_len,
			 "time", tbuf, "type", type->value, type->value_len, "nick",
			 str_or_null(nick), "account", str_or_null(account), "text",
			 text ? json_stringn(text->value, text->value_len) : json_string(""),
			 "tags", tags ? tags_json(tags->value, tags->value_len) : json_object());
}

bool hist_api_cursor_ok(const char *v, size_t len)
{
	if (len == 0 || len > CHATHIST_MSGID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] == 0x7f)
			return false;
	return true;
}

bool hist_api_token_ok(const char *t, size_t len)
{
	size_t i = 0;

	if (len == 0 || len > HIST_API_TOKEN_MAX)
		return false;
	for (; i < len && t[i] != '='; i++) {
		char c = t[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'))
			return false;
	}
	if (i == 0)
		return false;
	for (; i < len; i++)
		if (t[i] != '=')
			return false;
	return true;
}

bool hist_api_room_ok(const char *room, size_t len)
{
	irc_msg_span_t t = {room, len};

	return len > 0 && (room[0] == '#' || room[0] == '&') &&
	       chathist_target_ok(&t, CHATHIST_TARGET_MAX);
}

bool hist_api_messages_path(const char *path, size_t len, const char **out_room, size_t *out_len)
{
	static const char pre[] = "/v1/rooms/", suf[] = "/messages";
	size_t np = sizeof(pre) - 1, ns = sizeof(suf) - 1;

	if (len <= np + ns || memcmp(path, pre, np) != 0 || memcmp(path + len - ns, suf, ns) != 0)
		return false;
	*out_room = path + np;
	*out_len = len - np - ns;
	return true;
}

int hist_api_limit_parse(const char *s, uint32_t dflt, uint32_t max, uint32_t *out)
{
	unsigned long long v = 0;

	if (!s[0]) {
		*out = dflt < max ? dflt : max;
		return 0;
	}
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (v < 1000000000ULL)
			v = v * 10 + (unsigned)(*p - '0');
	}
	if (v == 0)
		return -EINVAL;
	*out = v < max ? (uint32_t)v : max;
	return 0;
}
