/*
 * fuzz_hist_req: any bytes through hist_req_parse. A request it accepts
 * must have a label, a user, a limit >= 1 and a target that fits its
 * limit; a refused one names a FAIL code; a channel request must build a
 * script call whose limit is clamped. The same bytes go through the
 * direct-message report parser: an accepted report has a msgid, a
 * reporter and NUL-terminated parts within their buffers. And through the
 * EIRC HELLO parser: an accepted line names a user and a ticket of exactly
 * SESSION_TICKET_LEN characters, and is never also a request.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "history-bridge/hist_dm.h"
#include "history-bridge/hist_query.h"
#include "history-bridge/hist_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static hist_query_call_t call;
	hist_query_opts_t o = {"eirc", 16, 100};
	hist_req_t q;
	hist_req_err_t e;
	int r = hist_req_parse((const char *)data, size, &q, &e);

	static hist_dm_t dm;
	int d = hist_dm_parse((const char *)data, size, &dm);

	CHECK(d == 0 || d == -ENOENT || d == -EINVAL);
	if (d == 0)
		CHECK(dm.msgid[0] && dm.reporter_id > 0 && strlen(dm.text) < sizeof(dm.text) &&
		      strlen(dm.tags) < sizeof(dm.tags));
	hist_hello_t h;
	int hr = hist_hello_parse((const char *)data, size, &h);

	CHECK(hr == 0 || hr == -EPROTO);
	if (hr == 0)
		CHECK(h.user_id > 0 && strlen(h.ticket) == SESSION_TICKET_LEN && r == -EPROTO);
	CHECK(r == 0 || r == -EINVAL || r == -EPROTO);
	if (r == -EINVAL)
		CHECK(e.code && e.text && e.label[0]);
	if (r == 0) {
		CHECK(q.label[0] && q.user_id > 0 && q.limit >= 1);
		CHECK(q.target_len <= CHATHIST_TARGET_MAX && strlen(q.target) == q.target_len);
		if (hist_query_build(&q, &o, NULL, &call) == 0)
			CHECK(call.limit >= 1 && call.limit <= 100 && call.argc <= HIST_QUERY_ARGC);
	}
	return 0;
}
