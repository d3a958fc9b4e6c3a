/*
 * ircc_chathist: CHATHISTORY request checks (see ircc_chathist.h): the
 * common grammar under the irc-client's bounds and FAIL codes.
 */
#include "irc-client/ircc_chathist.h"

#include <errno.h>

int ircc_chathist_parse(const struct irc_msg *m, struct ircc_chathist_req *out_req,
                        struct ircc_chathist_err *out_err)
{
	static const struct chathist_opts opts = {IRCC_CHATHIST_TARGET_MAX, IRCC_CHATHIST_LIMIT_MAX,
	                                          false};
	struct chathist_req req;
	struct chathist_err err;

	if (chathist_parse(m, &opts, &req, &err) < 0) {
		/* the spec allows the standard codes here; ours since the start */
		out_err->code = err.what == CHATHIST_E_NO_SUB || err.what == CHATHIST_E_MISSING
		                    ? "NEED_MORE_PARAMS"
		                : err.what == CHATHIST_E_UNKNOWN_SUB ? "UNKNOWN_COMMAND"
		                                                     : err.code;
		out_err->text = err.text;
		return -EINVAL;
	}
	out_req->sub = req.sub;
	out_req->target = req.target;
	out_req->limit = req.limit;
	return 0;
}
