/*
 * fuzz_chathist: any bytes, parsed as an IRC line, through chathist_parse
 * under the irc-client's bounds (64-byte targets, limits refused past a
 * maximum) and the bridge's (200-byte targets, limits clamped). A refusal
 * names one of the two FAIL codes; an accepted request has a usable target
 * (none for TARGETS), references its subcommand allows, and a limit in
 * range; every timestamp formats back to the bytes it came from. Whatever
 * the irc-client accepts, the bridge must accept the same way.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/fuzz/fuzz.h"
#include "common/chathist.h"

static void check_ref(const chathist_req_t *q, const irc_msg_span_t *p)
{
	const chathist_ref_t *r = &q->ref[0];
	char ts[40];
	struct tm tm;

	for (size_t i = 0; i < CHATHIST_REFS_MAX; i++, r++, p++) {
		CHECK(r->kind != CHATHIST_REF_STAR || (q->sub == CHATHIST_LATEST && i == 0));
		CHECK(q->sub != CHATHIST_TARGETS || r->kind == CHATHIST_REF_TIME);
		if (r->kind == CHATHIST_REF_MSGID)
			CHECK(r->msgid.len >= 1 && r->msgid.len <= CHATHIST_MSGID_MAX &&
			      r->msgid.ptr == p->ptr + 6);
		if (r->kind != CHATHIST_REF_TIME)
			continue;
		time_t t = (time_t)(r->time_ms / 1000);
		CHECK(r->time_ms >= 0 && gmtime_r(&t, &tm));
		snprintf(ts, sizeof(ts), "timestamp=%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, (int)(r->time_ms % 1000));
		/* a leap second reads as the next minute's :00 */
		CHECK((p->len == strlen(ts) && memcmp(p->ptr, ts, p->len) == 0) ||
		      (p->len == 34 && memcmp(p->ptr + 27, "60", 2) == 0 && tm.tm_sec == 0));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const chathist_opts_t client = {64, 1000000, false};
	static const chathist_opts_t bridge = {CHATHIST_TARGET_MAX, UINT32_MAX, true};
	static char buf[IRC_MSG_MAX * 2];
	chathist_req_t q, b;
	chathist_err_t e, eb;
	irc_msg_t m;

	if (size >= sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	if (irc_msg_parse(buf, size, 0, &m) < 0)
		return 0;
	int r = chathist_parse(&m, &client, &q, &e);
	int rb = chathist_parse(&m, &bridge, &b, &eb);
	CHECK((r == 0 || r == -EINVAL) && (rb == 0 || rb == -EINVAL));
	if (rb < 0)
		CHECK(eb.what >= CHATHIST_E_NO_SUB && eb.what <= CHATHIST_E_LIMIT && eb.text &&
		      (!strcmp(eb.code, "INVALID_PARAMS") ||
		       !strcmp(eb.code, "INVALID_MSGREFTYPE")));
	if (r < 0)
		return 0;
	CHECK(rb == 0 && b.sub == q.sub && b.limit == q.limit && b.target.len == q.target.len);
	for (size_t i = 0; i < CHATHIST_REFS_MAX; i++)
		CHECK(b.ref[i].kind == q.ref[i].kind && b.ref[i].time_ms == q.ref[i].time_ms &&
		      b.ref[i].msgid.ptr == q.ref[i].msgid.ptr);
	CHECK(q.sub < CHATHIST_SUB_COUNT && q.limit >= 1 && q.limit <= client.limit_max);
	CHECK(q.sub == CHATHIST_TARGETS ? q.target.ptr == NULL
					: chathist_target_ok(&q.target, client.target_max));
	check_ref(&q, &m.params[q.sub == CHATHIST_TARGETS ? 1 : 2]);
	return 0;
}
