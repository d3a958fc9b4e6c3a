/*
 * lg_bulk: _bulk NDJSON builder and response walker (see lg_bulk.h).
 */
#include "logger-bot/lg_bulk.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "common/utf8.h"

static int lit(buf_t *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

static int escape_byte(buf_t *b, unsigned char c)
{
	char esc[8];

	switch (c) {
	case '"':
		return lit(b, "\\\"");
	case '\\':
		return lit(b, "\\\\");
	case '\n':
		return lit(b, "\\n");
	case '\r':
		return lit(b, "\\r");
	case '\t':
		return lit(b, "\\t");
	default:
		snprintf(esc, sizeof(esc), "\\u%04x", c);
		return lit(b, esc);
	}
}

int lg_json_string(buf_t *b, const char *s, size_t n)
{
	size_t i = 0, run = 0;
	uint32_t cp;
	int len, rc;

	if ((rc = lit(b, "\"")) < 0)
		return rc;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			continue;
		}
		if ((rc = buf_append(b, s + run, i - run)) < 0)
			return rc;
		if (c < 0x80) {
			if ((rc = escape_byte(b, c)) < 0)
				return rc;
			i++;
		} else if ((len = utf8_decode(s + i, n - i, &cp)) > 0) {
			if ((rc = buf_append(b, s + i, (size_t)len)) < 0)
				return rc;
			i += (size_t)len;
		} else {
			if ((rc = lit(b, "\xEF\xBF\xBD")) < 0)
				return rc;
			i++;
		}
		run = i;
	}
	if ((rc = buf_append(b, s + run, i - run)) < 0 || (rc = lit(b, "\"")) < 0)
		return rc;
	return 0;
}

int lg_bulk_index_name(const char *prefix, int64_t ms, char *buf, size_t cap)
{
	char t[32];
	int n;

	if (!prefix || !*prefix || strlen(prefix) > LG_BULK_PREFIX_MAX ||
	    archive_event_time_format(ms, t, sizeof(t)) < 0)
		return -EINVAL;
	n = snprintf(buf, cap, "%s-%.4s.%.2s.%.2s", prefix, t, t + 5, t + 8);
	if (n < 0 || (size_t)n >= cap)
		return -ENOBUFS;
	return n;
}

static const archive_str_t *field(const lg_bulk_field_t *f, size_t n, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < n && i < LG_BULK_FIELDS_MAX; i++)
		if (f[i].name.n == len && memcmp(f[i].name.p, name, len) == 0)
			return &f[i].value;
	return NULL;
}

static int parse_ms(const archive_str_t *s, int64_t *out)
{
	int64_t v = 0;

	if (!s || s->n == 0 || s->n > 15)
		return -EINVAL;
	for (size_t i = 0; i < s->n; i++) {
		if (s->p[i] < '0' || s->p[i] > '9')
			return -EINVAL;
		v = v * 10 + (s->p[i] - '0');
	}
	*out = v;
	return 0;
}

static int kv(buf_t *b, const char *key, const char *v, size_t n)
{
	int rc;

	if ((rc = lit(b, ",\"")) < 0 || (rc = lit(b, key)) < 0 || (rc = lit(b, "\":")) < 0)
		return rc;
	return lg_json_string(b, v, n);
}

/* "<key>_b64": the exact bytes of a value that is not valid UTF-8 (the
 * JSON string beside it has U+FFFD in their place). */
static int kv_b64(buf_t *b, const char *key, const char *v, size_t n)
{
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *enc;
	int rc;

	if ((rc = lit(b, ",\"")) < 0 || (rc = lit(b, key)) < 0 || (rc = lit(b, "_b64\":\"")) < 0)
		return rc;
	if (!(enc = malloc(cap)))
		return -ENOMEM;
	sodium_bin2base64(enc, cap, (const unsigned char *)v, n, sodium_base64_VARIANT_ORIGINAL);
	rc = buf_append(b, enc, strlen(enc));
	free(enc);
	return rc < 0 ? rc : lit(b, "\"");
}

/* "<ms>-<seq>" into its two parts. */
static int parse_id(archive_str_t id, uint64_t *out_ms, uint64_t *out_seq)
{
	const char *dash = id.n ? memchr(id.p, '-', id.n) : NULL;
	uint64_t part[2] = {0, 0};
	const char *p = id.p;

	if (!dash)
		return -EINVAL;
	for (int i = 0; i < 2; i++) {
		const char *end = i == 0 ? dash : id.p + id.n;
		if (end == p || end - p > 19)
			return -EINVAL;
		for (; p < end; p++) {
			if (*p < '0' || *p > '9' || part[i] > (UINT64_MAX - 9) / 10)
				return -EINVAL;
			part[i] = part[i] * 10 + (uint64_t)(*p - '0');
		}
		p = dash + 1;
	}
	*out_ms = part[0];
	*out_seq = part[1];
	return 0;
}

static int add_doc(buf_t *b, int partition, archive_str_t id, const char *ts,
		   const lg_bulk_field_t *f, size_t n)
{
	static const char *const copy[][2] = {
		{"network", "network"}, {"channel", "conv"}, {"target", "target"}, {"type", "type"},
		{"msgid", "msgid"},     {"nick", "nick"},    {"user", "user"},     {"host", "host"},
		{"account", "account"}, {"text", "text"},    {"tags", "tags"},     {"arg", "arg"},
	};

	char nums[96];
	uint64_t ms, seq;
	int rc;

	if (parse_id(id, &ms, &seq) < 0)
		return -EINVAL;
	if ((rc = lit(b, "{\"@timestamp\":\"")) < 0 || (rc = lit(b, ts)) < 0 ||
	    (rc = lit(b, "\"")) < 0)
		return rc;
	for (size_t i = 0; i < sizeof(copy) / sizeof(copy[0]); i++) {
		const archive_str_t *v = field(f, n, copy[i][1]);
		if (v && (rc = kv(b, copy[i][0], v->p, v->n)) < 0)
			return rc;
		if (v && !utf8_is_valid(v->p, v->n) && (rc = kv_b64(b, copy[i][0], v->p, v->n)) < 0)
			return rc;
	}
	snprintf(nums, sizeof(nums),
		 ",\"partition\":%d,\"archive_ms\":%" PRIu64 ",\"archive_seq\":%" PRIu64, partition,
		 ms, seq);
	if ((rc = kv(b, "archive_id", id.p, id.n)) < 0 || (rc = lit(b, nums)) < 0 ||
	    (rc = lit(b, "}\n")) < 0)
		return rc;
	return 0;
}

int lg_bulk_add(buf_t *body, const char *prefix, int partition, archive_str_t id,
		const lg_bulk_field_t *fields, size_t n_fields)
{
	const archive_str_t *msgid = field(fields, n_fields, "msgid");
	char index[LG_BULK_PREFIX_MAX + 16], ts[32];
	size_t start = buf_len(body);
	int64_t ms;
	int rc;

	if (!msgid || msgid->n == 0 || msgid->n > ARCHIVE_EVENT_MSGID_MAX ||
	    parse_ms(field(fields, n_fields, "time"), &ms) < 0 ||
	    lg_bulk_index_name(prefix, ms, index, sizeof(index)) < 0 ||
	    archive_event_time_format(ms, ts, sizeof(ts)) < 0)
		return -EINVAL;
	if ((rc = lit(body, "{\"create\":{\"_index\":\"")) < 0 || (rc = lit(body, index)) < 0 ||
	    (rc = lit(body, "\",\"_id\":")) < 0 ||
	    (rc = lg_json_string(body, msgid->p, msgid->n)) < 0 || (rc = lit(body, "}}\n")) < 0 ||
	    (rc = add_doc(body, partition, id, ts, fields, n_fields)) < 0) {
		buf_truncate(body, start);
		return rc;
	}
	return (int)(buf_len(body) - start);
}

enum lg_bulk_outcome lg_bulk_classify(int status)
{
	if ((status >= 200 && status < 300) || status == 409)
		return LG_BULK_OK;
	if (status == 429 || status >= 500)
		return LG_BULK_RETRY;
	return LG_BULK_DEAD;
}

/* The status of one item ({"create": {...,"status":N}}), or -1. */
static int item_status(json_t *item, json_t **out_result)
{
	const char *action;
	json_t *result = NULL, *status;

	if (!json_is_object(item) || json_object_size(item) != 1)
		return -1;
	json_object_foreach(item, action, result) break;
	(void)action;
	status = json_object_get(result, "status");
	if (!json_is_object(result) || !json_is_integer(status))
		return -1;
	*out_result = result;
	return (int)json_integer_value(status);
}

static void item_error(json_t *result, char *buf, size_t cap)
{
	json_t *err = json_object_get(result, "error");
	char *s = err ? json_dumps(err, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

	snprintf(buf, cap, "%s", s ? s : "");
	free(s);
}

static int walk_items(json_t *items, lg_bulk_item_fn fn, void *ud)
{
	char err[LG_BULK_ERROR_MAX + 1];
	json_t *item, *result = NULL;
	size_t i;
	int bad = 0;

	json_array_foreach(items, i, item)
	{
		int status = item_status(item, &result);
		enum lg_bulk_outcome o = lg_bulk_classify(status);
		if (o != LG_BULK_OK) {
			bad++;
			item_error(result, err, sizeof(err));
		} else {
			err[0] = '\0';
		}
		fn(ud, i, status, o, err);
	}
	return bad;
}

int lg_bulk_walk(const char *body, size_t len, size_t n_items, lg_bulk_item_fn fn, void *ud)
{
	json_t *root, *items, *item, *result = NULL;
	size_t i;
	int bad = -EBADMSG;

	if (len > LG_BULK_RESPONSE_MAX)
		return -EBADMSG;
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	items = json_object_get(root, "items");
	if (!json_is_object(root) || !json_is_boolean(json_object_get(root, "errors")) ||
	    !json_is_array(items) || json_array_size(items) != n_items)
		goto out;
	json_array_foreach(items, i, item) if (item_status(item, &result) < 0) goto out;
	bad = walk_items(items, fn, ud);
out:
	json_decref(root);
	return bad;
}

int lg_bulk_template(const char *prefix, buf_t *out)
{
	static const char *const b64_fields[] = {"network", "channel", "target", "type",
						 "msgid",   "nick",    "user",   "host",
						 "account", "text",    "tags",   "arg"};
	char head[LG_BULK_PREFIX_MAX + 64];
	int rc;

	snprintf(head, sizeof(head), "{\"index_patterns\":[\"%s-*\"],\"priority\":100,", prefix);
	buf_reset(out);
	if ((rc = lit(out, head)) < 0 ||
	    (rc = lit(out,
		      "\"template\":{\"mappings\":{\"dynamic\":false,\"properties\":{"
		      "\"@timestamp\":{\"type\":\"date\"},"
		      "\"network\":{\"type\":\"keyword\"},\"channel\":{\"type\":\"keyword\"},"
		      "\"target\":{\"type\":\"keyword\"},\"type\":{\"type\":\"keyword\"},"
		      "\"msgid\":{\"type\":\"keyword\"},\"nick\":{\"type\":\"keyword\"},"
		      "\"user\":{\"type\":\"keyword\"},\"host\":{\"type\":\"keyword\"},"
		      "\"account\":{\"type\":\"keyword\"},\"text\":{\"type\":\"text\"},"
		      "\"tags\":{\"type\":\"keyword\",\"index\":false},"
		      "\"arg\":{\"type\":\"keyword\"},\"archive_id\":{\"type\":\"keyword\"},"
		      "\"partition\":{\"type\":\"integer\"},\"archive_ms\":{\"type\":\"long\"},"
		      "\"archive_seq\":{\"type\":\"long\"}")) < 0)
		return rc;
	for (size_t i = 0; i < sizeof(b64_fields) / sizeof(b64_fields[0]); i++) {
		char m[96];
		snprintf(m, sizeof(m),
			 ",\"%s_b64\":{\"type\":\"keyword\",\"index\":false,\"doc_values\":false}",
			 b64_fields[i]);
		if ((rc = lit(out, m)) < 0)
			return rc;
	}
	if ((rc = lit(out, "}}}}")) < 0)
		return rc;
	return 0;
}
