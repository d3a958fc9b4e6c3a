/*
 * irc_reg: client registration state machine (see irc_reg.h). Pure: lines
 * leave through the send callback, nothing here reads a clock or a socket.
 */
#include "common/irc_reg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/irc_casemap.h"
#include "common/irc_mask.h"

/* The capability names, in the order of enum irc_cap (irc_reg.h). */
static const char *const cap_names[] = {
	"message-tags", "server-time", "batch",   "echo-message", "labeled-response", "account-tag",
	"multi-prefix", "away-notify", "chghost", "setname",      "invite-notify",
};
_Static_assert(sizeof(cap_names) / sizeof(cap_names[0]) == IRC_CAP_COUNT,
	       "one name per enum irc_cap value");

const char *irc_cap_name(enum irc_cap cap)
{
	return (unsigned)cap < IRC_CAP_COUNT ? cap_names[cap] : NULL;
}

int irc_cap_lookup(const char *name, size_t len, enum irc_cap *out_cap)
{
	for (unsigned i = 0; i < IRC_CAP_COUNT; i++) {
		if (strlen(cap_names[i]) == len && memcmp(cap_names[i], name, len) == 0) {
			*out_cap = (enum irc_cap)i;
			return 0;
		}
	}
	return -ENOENT;
}

/* A word IRC can carry as a middle parameter: non-empty, no space/CR/LF/NUL. */
static bool word_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n <= max && s[0] != ':' && strpbrk(s, " \r\n") == NULL;
}

static bool text_ok(const char *s)
{
	return s && strlen(s) <= 200 && strpbrk(s, "\r\n") == NULL;
}

int irc_reg_init(irc_reg_t *r, const irc_reg_params_t *params, irc_reg_send_fn send, void *ud)
{
	if (!word_ok(params->nick, IRC_REG_NICK_MAX) || !word_ok(params->user, 64) ||
	    !text_ok(params->realname))
		return -EINVAL;
	if (params->webirc_password &&
	    (!word_ok(params->webirc_password, 256) || !word_ok(params->webirc_gateway, 64) ||
	     !word_ok(params->webirc_host, 255) || !word_ok(params->webirc_ip, 64)))
		return -EINVAL;
	if (params->password && !word_ok(params->password, IRC_REG_PASSWORD_MAX))
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->params = params;
	r->send = send;
	r->ud = ud;
	snprintf(r->nick, sizeof(r->nick), "%s", params->nick);
	return 0;
}

static int sendf(irc_reg_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sendf(irc_reg_t *r, const char *fmt, ...)
{
	char line[IRC_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		return -EMSGSIZE;
	return r->send(r->ud, line, (size_t)n);
}

int irc_reg_start(irc_reg_t *r)
{
	const irc_reg_params_t *p = r->params;
	int err = 0;

	if (p->password)
		err = sendf(r, "PASS %s", p->password);
	if (err == 0 && p->webirc_password)
		err = sendf(r, "WEBIRC %s %s %s %s", p->webirc_password, p->webirc_gateway,
			    p->webirc_host, p->webirc_ip);
	if (err == 0 && p->caps_wanted)
		err = sendf(r, "CAP LS 302");
	if (err == 0)
		err = sendf(r, "NICK %s", r->nick);
	if (err == 0)
		err = sendf(r, "USER %s 0 * :%s", p->user, p->realname);
	if (err == 0)
		r->state = p->caps_wanted ? IRC_REG_CAP_LS : IRC_REG_WELCOME;
	return err;
}

static bool param_is(const irc_msg_t *m, size_t i, const char *s)
{
	return i < m->n_params && m->params[i].len == strlen(s) &&
	       memcmp(m->params[i].ptr, s, m->params[i].len) == 0;
}

/* Walks a space-separated cap list; each "[-]name[=value]" whose name is
 * known sets (or, with '-', clears) its bit in *io_mask. */
static void caps_apply(const irc_msg_span_t *list, uint32_t *io_mask)
{
	const char *p = list->ptr, *end = list->ptr + list->len;

	while (p < end) {
		const char *w = p;
		while (p < end && *p != ' ')
			p++;
		bool neg = w < p && *w == '-';
		const char *name = w + neg;
		size_t len = 0;
		while (name + len < p && name[len] != '=')
			len++;
		enum irc_cap cap;
		if (irc_cap_lookup(name, len, &cap) == 0) {
			if (neg)
				*io_mask &= ~IRC_CAP_BIT(cap);
			else
				*io_mask |= IRC_CAP_BIT(cap);
		}
		while (p < end && *p == ' ')
			p++;
	}
}

/* Sends "CAP REQ :<names>" for the caps in want (not 0). */
static int cap_req_send(irc_reg_t *r, uint32_t want)
{
	char list[IRC_MSG_MAX];
	size_t n = 0;

	for (unsigned i = 0; i < IRC_CAP_COUNT; i++) {
		if (want & IRC_CAP_BIT(i))
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", n ? " " : "",
					      cap_names[i]);
	}
	return sendf(r, "CAP REQ :%s", list);
}

static int cap_request(irc_reg_t *r)
{
	uint32_t want = r->params->caps_wanted & r->caps_offered;

	if (want == 0) {
		r->state = IRC_REG_WELCOME;
		return sendf(r, "CAP END");
	}
	r->state = IRC_REG_CAP_REQ;
	return cap_req_send(r, want);
}

/* cap-notify's CAP NEW: while the LS is still coming the caps join the
 * offer (cap_request asks for them); later, those we want and do not have
 * yet are requested on their own (the ACK enables them, a NAK changes
 * nothing), without touching the registration state. */
static int handle_cap_new(irc_reg_t *r, const irc_msg_span_t *list)
{
	uint32_t added = 0;

	caps_apply(list, &added);
	r->caps_offered |= added;
	if (r->state == IRC_REG_IDLE || r->state == IRC_REG_CAP_LS || r->state == IRC_REG_FAILED)
		return IRC_REG_CONTINUE;
	uint32_t want = added & r->params->caps_wanted & ~r->caps_enabled;
	return want ? cap_req_send(r, want) : IRC_REG_CONTINUE;
}

static int handle_cap(irc_reg_t *r, const irc_msg_t *m)
{
	if (m->n_params < 3)
		return IRC_REG_CONTINUE;
	const irc_msg_span_t *last = &m->params[m->n_params - 1];
	if (param_is(m, 1, "LS") && r->state == IRC_REG_CAP_LS) {
		caps_apply(last, &r->caps_offered);
		bool more = m->n_params >= 4 && param_is(m, 2, "*");
		if (more && ++r->cap_ls_lines < IRC_REG_CAP_LS_LINES_MAX)
			return IRC_REG_CONTINUE;
		return cap_request(r);
	}
	if (param_is(m, 1, "ACK")) {
		caps_apply(last, &r->caps_enabled);
		r->caps_enabled &= r->params->caps_wanted;
	} else if (param_is(m, 1, "NEW")) {
		return handle_cap_new(r, last);
	} else if (param_is(m, 1, "DEL")) {
		uint32_t gone = 0;
		caps_apply(last, &gone);
		r->caps_enabled &= ~gone;
		r->caps_offered &= ~gone;
		return IRC_REG_CONTINUE;
	} else if (!param_is(m, 1, "NAK")) {
		return IRC_REG_CONTINUE;
	}
	if (r->state != IRC_REG_CAP_REQ)
		return IRC_REG_CONTINUE;
	r->state = IRC_REG_WELCOME;
	return sendf(r, "CAP END");
}

/* 433/436 before 001: the suffix policy tries nick|2, nick|3, ... (the
 * first session has nick, so the second is |2). The separator is one no
 * account name holds, so a retry never takes another account's nick. */
static int handle_nick_in_use(irc_reg_t *r)
{
	if (r->params->nick_policy == IRC_REG_NICK_FAIL ||
	    r->nick_tries >= IRC_REG_NICK_TRIES_MAX) {
		r->state = IRC_REG_FAILED;
		return -EADDRINUSE;
	}
	r->nick_tries++;
	int err = irc_nick_suffixed(r->params->nick, r->nick_tries + 1, r->nick, sizeof(r->nick));
	if (err < 0) {
		r->state = IRC_REG_FAILED;
		return err;
	}
	return sendf(r, "NICK %s", r->nick);
}

static void span_copy(char *dst, size_t cap, const irc_msg_span_t *s)
{
	size_t n = s->len < cap - 1 ? s->len : cap - 1;

	memcpy(dst, s->ptr ? s->ptr : "", n);
	dst[n] = '\0';
}

static int handle_welcome(irc_reg_t *r, const irc_msg_t *m)
{
	if (m->n_params >= 1 && m->params[0].len <= IRC_REG_NICK_MAX)
		span_copy(r->nick, sizeof(r->nick), &m->params[0]);
	if (m->source.ptr)
		span_copy(r->server, sizeof(r->server), &m->source);
	r->state = IRC_REG_DONE;
	return IRC_REG_REGISTERED;
}

bool irc_reg_is_self(const irc_reg_t *r, const irc_msg_t *m)
{
	irc_mask_userhost_t uh;

	if (!m->source.ptr || irc_mask_split(m->source.ptr, m->source.len, &uh) < 0)
		return false;
	return irc_casemap_equal(IRC_CASEMAP_RFC1459, uh.nick, uh.nick_len, r->nick,
				 strlen(r->nick));
}

int irc_reg_handle(irc_reg_t *r, const irc_msg_t *m)
{
	bool before = r->state != IRC_REG_DONE;

	if (irc_msg_command_is(m, "PING")) {
		if (m->n_params == 0)
			return sendf(r, "PONG");
		return sendf(r, "PONG :%.*s", (int)m->params[m->n_params - 1].len,
			     m->params[m->n_params - 1].ptr);
	}
	if (irc_msg_command_is(m, "CAP"))
		return handle_cap(r, m);
	if (irc_msg_command_is(m, "001") && before)
		return handle_welcome(r, m);
	if (irc_msg_command_is(m, "NICK") && !before && m->n_params >= 1 &&
	    m->params[0].len <= IRC_REG_NICK_MAX && irc_reg_is_self(r, m)) {
		span_copy(r->nick, sizeof(r->nick), &m->params[0]);
		return IRC_REG_CONTINUE;
	}
	if (!before)
		return IRC_REG_CONTINUE;
	if (irc_msg_command_is(m, "433") || irc_msg_command_is(m, "436"))
		return handle_nick_in_use(r);
	if (irc_msg_command_is(m, "432")) {
		r->state = IRC_REG_FAILED;
		return -EINVAL;
	}
	if (irc_msg_command_is(m, "ERROR")) {
		r->state = IRC_REG_FAILED;
		return -ECONNRESET;
	}
	return IRC_REG_CONTINUE;
}
