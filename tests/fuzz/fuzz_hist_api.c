/*
 * fuzz_hist_api: eirc-history's HTTP request checks with any bytes. The
 * input is split on LF into: a path (what lws gives after decoding), a
 * limit=, a cursor (before=/after=/around=), a bearer token, a time
 * (after=/before= of /v1/search), then name/value pairs of a stored entry.
 * A matched /v1/rooms/{room}/messages path gives a span inside the path; an
 * accepted room, cursor or token keeps its syntax; an accepted limit is
 * within 1..max; a stored entry gives a JSON message or NULL, and a
 * CHATHISTORY line (hist_query_format) without CR or LF, or none. The
 * query string splitting and %-decoding are lws's, not here.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tests/fuzz/fuzz.h"
#include "archive/archive_event.h"
#include "common/irc_line.h"
#include "history-bridge/hist_api.h"
#include "history-bridge/hist_query.h"
#include "history-bridge/hist_req.h"

/* Fields of a stored entry taken from one input. */
#define FUZZ_FIELDS_MAX 32

/* The next LF-separated part of d[*pos..size): a span, *pos moved past it. */
static const char *part(const uint8_t *d, size_t size, size_t *pos, size_t *out_len)
{
	const char *p = (const char *)d + *pos;
	size_t left = size - *pos;
	const char *nl = memchr(p, '\n', left);
	size_t n = nl ? (size_t)(nl - p) : left;

	*pos += nl ? n + 1 : n;
	*out_len = n;
	return p;
}

static void path_check(const char *p, size_t n)
{
	const char *room = NULL;
	size_t len = 0;

	if (!hist_api_messages_path(p, n, &room, &len))
		return;
	CHECK(room >= p + 10 && room + len + 9 == p + n);
	if (hist_api_room_ok(room, len)) {
		CHECK(len >= 1 && len <= CHATHIST_TARGET_MAX && (room[0] == '#' || room[0] == '&'));
		CHECK(!memchr(room, ' ', len) && !memchr(room, ',', len));
	}
}

static void limit_check(const char *p, size_t n)
{
	char s[64];
	uint32_t v = 0;

	if (n >= sizeof(s) || memchr(p, '\0', n))
		return; /* lws gives a NUL-terminated value of at most 24 bytes */
	memcpy(s, p, n);
	s[n] = '\0';
	if (hist_api_limit_parse(s, 50, 100, &v) == 0)
		CHECK(v >= 1 && v <= 100 && (n > 0 || v == 50));
}

static void entry_check(const uint8_t *d, size_t size, size_t pos)
{
	hist_field_t f[FUZZ_FIELDS_MAX];
	size_t n = 0;

	while (pos < size && n < FUZZ_FIELDS_MAX) {
		f[n].name = part(d, size, &pos, &f[n].name_len);
		f[n].value = part(d, size, &pos, &f[n].value_len);
		n++;
	}
	json_t *m = hist_api_message(f, n);
	if (m)
		CHECK(json_is_object(m) && json_is_string(json_object_get(m, "msgid")));
	json_decref(m);
	/* the same entry as the CHATHISTORY line it replays */
	static char line[IRC_LINE_MAX + 1];
	int len = hist_query_format(f, n, "hb1", "#c", line, sizeof(line));
	CHECK(len <= (int)IRC_LINE_MAX);
	if (len > 0)
		CHECK(strlen(line) == (size_t)len && !memchr(line, '\r', (size_t)len) &&
		      !memchr(line, '\n', (size_t)len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pos = 0, n;
	const char *p;
	int64_t ms;

	p = part(data, size, &pos, &n);
	path_check(p, n);
	p = part(data, size, &pos, &n);
	limit_check(p, n);
	p = part(data, size, &pos, &n);
	if (hist_api_cursor_ok(p, n))
		CHECK(n >= 1 && n <= CHATHIST_MSGID_MAX && !memchr(p, ' ', n));
	p = part(data, size, &pos, &n);
	if (hist_api_token_ok(p, n))
		CHECK(n >= 1 && n <= HIST_API_TOKEN_MAX && p[0] != '=' && !memchr(p, ' ', n));
	p = part(data, size, &pos, &n);
	(void)archive_event_time_parse(p, n, &ms);
	entry_check(data, size, pos);
	return 0;
}
