/*
 * ircc_policy: the browser command table (see ircc_policy.h).
 */
#include "irc-client/ircc_policy.h"

#include <errno.h>
#include <string.h>

#include "common/irc_casemap.h"
#include "common/irc_mask.h"

static const struct {
	const char *cmd;
	enum ircc_policy_action action;
} table[] = {
	{"CAP", IRCC_POL_CAP},
	{"PING", IRCC_POL_PING},
	{"PONG", IRCC_POL_IGNORE},
	{"QUIT", IRCC_POL_QUIT},
	{"NICK", IRCC_POL_NICK},
	{"JOIN", IRCC_POL_JOIN},
	{"CHATHISTORY", IRCC_POL_CHATHISTORY},
	{"PASS", IRCC_POL_REGISTRATION},
	{"USER", IRCC_POL_REGISTRATION},
	{"WEBIRC", IRCC_POL_UNKNOWN},
	{"SERVICE", IRCC_POL_UNKNOWN},
	{"OPER", IRCC_POL_NOPRIV},
	{"KILL", IRCC_POL_NOPRIV},
	{"SQUIT", IRCC_POL_NOPRIV},
	{"MODE", IRCC_POL_MODE},
	{"EIRC", IRCC_POL_CONTROL},
};

enum ircc_policy_action ircc_policy_classify(const irc_msg_t *msg)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (irc_msg_command_is(msg, table[i].cmd))
			return table[i].action;
	return IRCC_POL_FORWARD;
}

bool ircc_policy_room_private(char *const *masks, size_t n_masks, const char *chan, size_t len)
{
	for (size_t i = 0; i < n_masks; i++)
		if (irc_mask_match(masks[i], strlen(masks[i]), chan, len, IRC_CASEMAP_RFC1459))
			return true;
	return false;
}

static bool member_of(const ircc_room_list_t *mine, const char *chan, size_t len)
{
	for (size_t i = 0; i < mine->n; i++) {
		const char *r = mine->v[i];
		if (irc_casemap_equal(IRC_CASEMAP_RFC1459, r, strlen(r), chan, len))
			return true;
	}
	return false;
}

bool ircc_policy_join_allowed(const ircc_room_list_t *mine, char *const *masks, size_t n_masks,
			      const char *chan, size_t len)
{
	return !ircc_policy_room_private(masks, n_masks, chan, len) || member_of(mine, chan, len);
}

bool ircc_policy_room_public(const ircc_room_list_t *mine, char *const *masks, size_t n_masks,
			     const char *chan, size_t len)
{
	return !ircc_policy_room_private(masks, n_masks, chan, len) && !member_of(mine, chan, len);
}

bool ircc_policy_mode_visibility(const irc_msg_t *m)
{
	if (m->n_params < 2 || m->params[0].len == 0 ||
	    (m->params[0].ptr[0] != '#' && m->params[0].ptr[0] != '&'))
		return false;
	/* only the first mode string: InspIRCd takes the rest as arguments */
	return memchr(m->params[1].ptr, 's', m->params[1].len) ||
	       memchr(m->params[1].ptr, 'p', m->params[1].len);
}

int ircc_policy_chathist(const irc_msg_t *m, chathist_req_t *out_req, chathist_err_t *out_err)
{
	static const chathist_opts_t opts = {IRCC_CHATHIST_TARGET_MAX, IRCC_CHATHIST_LIMIT_MAX,
					     false};
	chathist_err_t err;

	if (chathist_parse(m, &opts, out_req, &err) < 0) {
		/* the spec allows the standard codes here; ours since the start */
		if (err.what == CHATHIST_E_NO_SUB || err.what == CHATHIST_E_MISSING)
			err.code = "NEED_MORE_PARAMS";
		else if (err.what == CHATHIST_E_UNKNOWN_SUB)
			err.code = "UNKNOWN_COMMAND";
		*out_err = err;
		return -EINVAL;
	}
	return 0;
}
