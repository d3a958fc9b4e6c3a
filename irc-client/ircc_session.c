/*
 * ircc_session: browser <-> IRC server session logic (see ircc_session.h).
 *
 * Browser side (enum bstate): NEW (nothing yet) -> CAP (negotiating) ->
 * READY (burst replayed) -> JOINED (the user's rooms joined, at once when
 * the server is up, else at the next registration). Lines the browser
 * sends before the IRC connection's first registration burst is complete
 * are held (bounded) and handled then, so the CAP answer can offer exactly
 * what the server enabled.
 *
 * Server side (enum sstate): the first registration burst (001 to end of
 * MOTD, and whatever follows until the browser is ready) is kept for the
 * replay; after a reconnection the new burst is swallowed and the
 * channels are rejoined.
 */
#include "irc-client/ircc_session.h"

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "common/irc_casemap.h"
#include "common/irc_line.h"
#include "common/irc_mask.h"
#include "common/tokbucket.h"
#include "irc-client/ircc_policy.h"
#include "irc-client/ircc_relay.h"

/* The browser's side; ordered: READY and JOINED are both "replayed". */
enum bstate { B_NEW = 0, B_CAP, B_READY, B_JOINED };

/* The IRC server's side. */
enum sstate {
	S_NEW = 0,     /* never registered */
	S_FIRST_BURST, /* registered; the first burst (001 to end of MOTD) is coming */
	S_FIRST_LOST,  /* the connection was lost before the first burst ended */
	S_UP,          /* registered, the first burst complete */
	S_REBURST,     /* registered again: a later burst is coming (swallowed) */
	S_DOWN,        /* lost after the first burst; irc_conn reconnects */
};

struct pending {
	unsigned seq;
	uint64_t sent_ms;
	bool started;                   /* a line of the answer went out */
	bool quiet;                     /* a JOIN replay: failures are not shown */
	char label[IRCC_LABEL_MAX + 1]; /* the browser's label, or "" */
	char sub[8];
	char target[IRCC_CHATHIST_TARGET_MAX + 1];
};

/* A message sent to the server, until its echo or a 404 answers it. */
struct sent {
	char cmd[8]; /* "" when the slot is free */
	char target[IRCC_SENT_TARGET_MAX + 1];
	char label[IRCC_LABEL_MAX + 1];
};

struct ircc_session {
	const ircc_ident_t *id;
	ircc_session_limits_t lim;
	ircc_session_ops_t ops;
	void *ud;
	enum bstate bstate;
	enum sstate sstate;
	bool nick_seen, user_seen;
	uint32_t bcaps, scaps;
	uint64_t cap_started_ms;
	char nick[IRC_REG_NICK_MAX + 1];
	char server[64];
	enum irc_casemap cm;
	bool member_reveals; /* 005 EIRCREVEAL: any member may unset +s */
	char *hold;
	size_t hold_len;
	char *burst;
	size_t burst_len, burst_cap;
	char *chans[IRCC_CHANNELS_MAX];
	size_t n_chans;
	/* the user's private rooms once the gateway replaced them (EIRC
	 * ROOMS); until then id->private_rooms */
	ircc_room_list_t priv;
	bool priv_set;
	tokbucket_t lines, bytes;
	struct pending hist[IRCC_HISTORY_PENDING_MAX];
	size_t n_hist;
	unsigned hist_seq;
	char ticket[SESSION_TICKET_LEN + 1]; /* the gateway's EIRC SESSION; "" until then */
	struct sent sent[IRCC_SENT_MAX];     /* a ring, oldest at sent_next */
	size_t sent_next;
};

/* Serialization scratch: the loop is single-threaded and every use ends
 * before the function returns. */
static char out_buf[IRC_LINE_MAX + 1];

/* ---- lifecycle ---- */

static bool replayed(const ircc_session_t *s)
{
	return s->bstate >= B_READY;
}

static bool server_up(const ircc_session_t *s)
{
	return s->sstate == S_FIRST_BURST || s->sstate == S_UP || s->sstate == S_REBURST;
}

/* The user's private rooms now. */
static const ircc_room_list_t *my_rooms(const ircc_session_t *s)
{
	return s->priv_set ? &s->priv : &s->id->private_rooms;
}

/* May the user be in (or read) chan now? */
static bool room_allowed(const ircc_session_t *s, const char *chan, size_t len)
{
	return ircc_policy_join_allowed(my_rooms(s), s->lim.private_masks, s->lim.n_private_masks,
					chan, len);
}

static bool in_burst(const ircc_session_t *s)
{
	return s->sstate == S_FIRST_BURST || s->sstate == S_REBURST;
}

/* True once a first burst has ended (the held browser lines went out). */
static bool burst_complete(const ircc_session_t *s)
{
	return s->sstate == S_UP || s->sstate == S_REBURST || s->sstate == S_DOWN;
}

/* ---- output helpers ---- */

static const char *target_nick(const ircc_session_t *s)
{
	return replayed(s) ? s->nick : "*";
}

static void to_browser(ircc_session_t *s, const char *line, size_t len)
{
	s->ops.to_browser(s->ud, line, len);
}

static void sendf(ircc_session_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sendf(ircc_session_t *s, const char *fmt, ...)
{
	char line[IRC_MSG_MAX + 64];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		to_browser(s, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* ":<server> <numeric> <nick> <rest>" */
#define NUMERIC(s, num, fmt, ...)                                                                  \
	sendf(s, ":%s " num " %s " fmt, (s)->server, target_nick(s), __VA_ARGS__)

static void fail(ircc_session_t *s, const char *cmd, const char *code, const char *ctx,
		 const char *text)
{
	if (ctx)
		sendf(s, ":%s FAIL %s %s %s :%s", s->server, cmd, code, ctx, text);
	else
		sendf(s, ":%s FAIL %s %s :%s", s->server, cmd, code, text);
}

static void span_cpy(char *dst, size_t cap, const irc_msg_span_t *sp)
{
	size_t n = sp->len < cap - 1 ? sp->len : cap - 1;

	memcpy(dst, sp->ptr ? sp->ptr : "", n);
	dst[n] = '\0';
}

static void span_upper(char *buf, size_t cap, const irc_msg_span_t *sp)
{
	span_cpy(buf, cap, sp);
	for (char *p = buf; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
}

static void cmd_name(const irc_msg_t *m, char *buf, size_t cap)
{
	span_cpy(buf, cap, &m->command);
	for (char *p = buf; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
}

/* ---- construction ---- */

int ircc_session_new(const ircc_ident_t *id, const ircc_session_limits_t *lim,
		     const ircc_session_ops_t *ops, void *ud, ircc_session_t **out)
{
	ircc_session_t *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->id = id;
	s->lim = *lim;
	s->ops = *ops;
	s->ud = ud;
	s->cm = IRC_CASEMAP_RFC1459;
	snprintf(s->nick, sizeof(s->nick), "%s", id->nick);
	snprintf(s->server, sizeof(s->server), "eirc");
	uint64_t now = ops->now_ms(ud);
	uint64_t byte_burst = lim->flood_bytes_per_second * 2;
	if (byte_burst < IRC_LINE_MAX)
		byte_burst = IRC_LINE_MAX;
	tokbucket_init(&s->lines, lim->flood_lines_per_second, lim->flood_burst_lines, now);
	tokbucket_init(&s->bytes, lim->flood_bytes_per_second, byte_burst, now);
	*out = s;
	return 0;
}

void ircc_session_free(ircc_session_t *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_chans; i++)
		free(s->chans[i]);
	ircc_room_list_clear(&s->priv);
	free(s->hold);
	free(s->burst);
	free(s);
}

bool ircc_session_server_readable(const ircc_session_t *s)
{
	return replayed(s) || !burst_complete(s);
}

/* ---- channels ---- */

static bool is_channel(const char *name, size_t len)
{
	return len > 0 && (name[0] == '#' || name[0] == '&');
}

static ssize_t chan_find(const ircc_session_t *s, const char *name, size_t len)
{
	for (size_t i = 0; i < s->n_chans; i++)
		if (irc_casemap_equal(s->cm, s->chans[i], strlen(s->chans[i]), name, len))
			return (ssize_t)i;
	return -1;
}

static void chan_add(ircc_session_t *s, const irc_msg_span_t *name)
{
	if (name->len == 0 || name->len > IRCC_ROOM_MAX ||
	    chan_find(s, name->ptr, name->len) >= 0 || s->n_chans == IRCC_CHANNELS_MAX)
		return;
	char *c = malloc(name->len + 1);
	if (!c)
		return;
	span_cpy(c, name->len + 1, name);
	s->chans[s->n_chans++] = c;
}

static void chan_del(ircc_session_t *s, const irc_msg_span_t *name)
{
	ssize_t i = chan_find(s, name->ptr, name->len);

	if (i < 0)
		return;
	free(s->chans[i]);
	s->chans[i] = s->chans[--s->n_chans];
}

/* Sends JOIN for names[0..n) in lines that fit IRC_MSG_MAX. */
static void join_list(ircc_session_t *s, char *const *names, size_t n)
{
	char line[IRC_MSG_MAX];
	size_t len = 0;

	for (size_t i = 0; i <= n; i++) {
		size_t nl = i < n ? strlen(names[i]) : 0;
		if (len && (i == n || len + 1 + nl > IRC_MSG_MAX - 2)) {
			s->ops.to_server(s->ud, line, len);
			len = 0;
		}
		if (i == n)
			break;
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s", len ? "," : "JOIN ",
					names[i]);
	}
}

/* Joins the user's rooms once: when the browser is ready and the server up.
 * A private room the user left meanwhile (EIRC ROOMS) is not joined. */
static void join_rooms_once(ircc_session_t *s)
{
	char *names[IRCC_ROOMS_MAX];
	size_t n = 0;

	if (s->bstate != B_READY || !server_up(s))
		return;
	s->bstate = B_JOINED;
	for (size_t i = 0; i < s->id->rooms.n && n < IRCC_ROOMS_MAX; i++)
		if (room_allowed(s, s->id->rooms.v[i], strlen(s->id->rooms.v[i])))
			names[n++] = s->id->rooms.v[i];
	join_list(s, names, n);
}

/* ---- the registration burst ---- */

/* Keeps one server line for the replay; MOTD text past IRCC_BURST_MAX is
 * left out (a note says so at replay). */
static void burst_keep(ircc_session_t *s, const irc_msg_t *m)
{
	int n = irc_msg_serialize(m, 0, out_buf, sizeof(out_buf));

	if (n <= 0 || s->burst_len + (size_t)n + 1 > IRCC_BURST_MAX)
		return;
	if (s->burst_len + (size_t)n + 1 > s->burst_cap) {
		size_t cap = s->burst_cap ? s->burst_cap * 2 : 4096;
		while (cap < s->burst_len + (size_t)n + 1)
			cap *= 2;
		char *b = realloc(s->burst, cap);
		if (!b)
			return;
		s->burst = b;
		s->burst_cap = cap;
	}
	memcpy(s->burst + s->burst_len, out_buf, (size_t)n + 1);
	s->burst_len += (size_t)n + 1;
}

static void relay(ircc_session_t *s, const irc_msg_t *m, const char *label)
{
	ircc_relay_ctx_t ctx = {s->bcaps, s->scaps, s->nick, label};
	int n = ircc_relay_format(m, &ctx, out_buf, sizeof(out_buf));

	if (n > 0)
		to_browser(s, out_buf, (size_t)n);
}

static void isupport_extra(ircc_session_t *s)
{
	NUMERIC(s, "005",
		"CHATHISTORY=%u MSGREFTYPES=msgid,timestamp :are supported by this server",
		s->lim.chathistory_max);
}

static void join_replay(ircc_session_t *s, const irc_msg_span_t *chan);

/* A JOIN of ours kept in the burst (a sign-in room joined at registration). */
static bool own_join(const ircc_session_t *s, const irc_msg_t *m)
{
	irc_mask_userhost_t uh;

	return irc_msg_command_is(m, "JOIN") && m->n_params >= 1 && m->source.ptr &&
	       irc_mask_split(m->source.ptr, m->source.len, &uh) == 0 &&
	       irc_casemap_equal(s->cm, uh.nick, uh.nick_len, s->nick, strlen(s->nick));
}

/* Replays the kept burst, adding our ISUPPORT tokens after the last 005. */
static void burst_replay(ircc_session_t *s)
{
	bool in_005 = false, added = false;

	for (size_t off = 0; off < s->burst_len;) {
		char *line = s->burst + off;
		size_t len = strlen(line);
		irc_msg_t m;
		off += len + 1;
		if (irc_msg_parse(line, len, 0, &m) < 0)
			continue;
		bool is_005 = irc_msg_command_is(&m, "005");
		if (in_005 && !is_005 && !added) {
			isupport_extra(s);
			added = true;
		}
		in_005 = is_005;
		relay(s, &m, NULL);
		if (own_join(s, &m))
			join_replay(s, &m.params[0]);
	}
	if (!added)
		isupport_extra(s);
	free(s->burst);
	s->burst = NULL;
	s->burst_len = s->burst_cap = 0;
	malloc_trim(0); /* the burst and held lines were the biggest allocations */
}

static void become_ready(ircc_session_t *s)
{
	if (replayed(s))
		return;
	s->bstate = B_READY;
	burst_replay(s);
	join_rooms_once(s);
}

uint64_t ircc_session_browser_grace(ircc_session_t *s)
{
	if (replayed(s))
		return 0;
	if (!burst_complete(s))
		return 100;
	if (s->bstate == B_CAP) {
		uint64_t spent = s->ops.now_ms(s->ud) - s->cap_started_ms;
		if (spent < IRCC_BROWSER_CAP_GRACE_MS)
			return IRCC_BROWSER_CAP_GRACE_MS - spent;
	}
	become_ready(s);
	return 0;
}

/* ---- CAP towards the browser ---- */

static uint32_t caps_offered(const ircc_session_t *s)
{
	return s->scaps | IRCC_BCAP_CHATHISTORY;
}

static void caps_list(uint32_t mask, char *buf, size_t cap)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < IRC_CAP_COUNT; i++)
		if (mask & IRC_CAP_BIT(i))
			n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? " " : "",
					      irc_cap_name(i));
	if (mask & IRCC_BCAP_CHATHISTORY)
		snprintf(buf + n, cap - n, "%sdraft/chathistory", n ? " " : "");
}

static int bcap_lookup(const char *name, size_t len, uint32_t *out_bit)
{
	enum irc_cap c;

	if (len == 17 && memcmp(name, "draft/chathistory", 17) == 0) {
		*out_bit = IRCC_BCAP_CHATHISTORY;
		return 0;
	}
	if (irc_cap_lookup(name, len, &c) < 0)
		return -ENOENT;
	*out_bit = IRC_CAP_BIT(c);
	return 0;
}

/* CAP REQ: all or nothing, as the spec says. */
static void cap_req(ircc_session_t *s, const irc_msg_span_t *list)
{
	uint32_t add = 0, del = 0;
	const char *p = list->ptr, *end = list->ptr + list->len;
	bool ok = list->len > 0;

	while (ok && p < end) {
		const char *w = p;
		while (p < end && *p != ' ')
			p++;
		bool neg = *w == '-';
		uint32_t bit;
		ok = p > w + neg && bcap_lookup(w + neg, (size_t)(p - w - neg), &bit) == 0 &&
		     (caps_offered(s) & bit);
		if (ok)
			*(neg ? &del : &add) |= bit;
		while (p < end && *p == ' ')
			p++;
	}
	if (ok)
		s->bcaps = (s->bcaps | add) & ~del;
	sendf(s, ":%s CAP %s %s :%.*s", s->server, target_nick(s), ok ? "ACK" : "NAK",
	      (int)list->len, list->ptr);
}

static void handle_cap(ircc_session_t *s, const irc_msg_t *m)
{
	char list[IRC_MSG_MAX];
	char sub[16];

	if (m->n_params < 1) {
		NUMERIC(s, "461", "CAP :%s", "Not enough parameters");
		return;
	}
	span_upper(sub, sizeof(sub), &m->params[0]);
	bool starts = s->bstate == B_NEW && (!strcmp(sub, "LS") || !strcmp(sub, "REQ"));
	if (starts) {
		s->bstate = B_CAP;
		s->cap_started_ms = s->ops.now_ms(s->ud);
	}
	if (!strcmp(sub, "LS") || !strcmp(sub, "LIST")) {
		caps_list(!strcmp(sub, "LS") ? caps_offered(s) : s->bcaps, list, sizeof(list));
		sendf(s, ":%s CAP %s %s :%s", s->server, target_nick(s), sub, list);
	} else if (!strcmp(sub, "REQ") && m->n_params >= 2) {
		cap_req(s, &m->params[m->n_params - 1]);
	} else if (!strcmp(sub, "END")) {
		if (s->bstate == B_CAP)
			become_ready(s);
	} else {
		NUMERIC(s, "410", "%s :Invalid CAP command", sub[0] ? sub : "*");
	}
}

/* ---- messages awaiting an answer (IRCC_SENT_MAX) ---- */

static bool is_message_cmd(const char *cmd)
{
	return !strcmp(cmd, "PRIVMSG") || !strcmp(cmd, "NOTICE") || !strcmp(cmd, "TAGMSG");
}

/* Remembers a message f (command cmd) that went to the server. */
static void sent_note(ircc_session_t *s, const char *cmd, const irc_msg_t *f)
{
	struct sent *e = &s->sent[s->sent_next];
	irc_msg_tag_t t;

	if (!is_message_cmd(cmd) || f->n_params < 1 || f->params[0].len > IRCC_SENT_TARGET_MAX)
		return;
	memcpy(e->cmd, cmd, strlen(cmd) + 1); /* is_message_cmd: it fits */
	span_cpy(e->target, sizeof(e->target), &f->params[0]);
	e->label[0] = '\0';
	if (irc_msg_tag_get(f, "label", &t) == 0 && t.value_len <= IRCC_LABEL_MAX)
		snprintf(e->label, sizeof(e->label), "%.*s", (int)t.value_len, t.value);
	s->sent_next = (s->sent_next + 1) % IRCC_SENT_MAX;
}

/* Does the comma-separated list hold target? */
static bool list_has(const ircc_session_t *s, const char *list, const irc_msg_span_t *target)
{
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		if (irc_casemap_equal(s->cm, p, n, target->ptr, target->len))
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}

/* Forgets the oldest remembered message that answer m (an echo, or a 404
 * naming target) answers, and returns its command ("" when none). */
static const char *sent_answered(ircc_session_t *s, const irc_msg_t *m, const char *cmd,
				 const irc_msg_span_t *target)
{
	static char found[8];
	irc_msg_tag_t t;
	bool labelled = irc_msg_tag_get(m, "label", &t) == 0;

	found[0] = '\0';
	for (size_t i = 0; i < IRCC_SENT_MAX; i++) {
		struct sent *e = &s->sent[(s->sent_next + i) % IRCC_SENT_MAX];
		bool match = labelled ? strlen(e->label) == t.value_len &&
						memcmp(e->label, t.value, t.value_len) == 0
				      : list_has(s, e->target, target);
		if (e->cmd[0] && (!cmd || !strcmp(cmd, e->cmd)) && match) {
			memcpy(found, e->cmd, sizeof(found));
			e->cmd[0] = '\0';
			break;
		}
	}
	return found;
}

/*
 * Answers the server's messages that settle a message the browser sent:
 * the echo of one forgets it; a 404 too, and m_eirc_capture's "404 <nick>
 * <target> :... (ARCHIVE_UNAVAILABLE)" (nothing archives the target, so
 * the message went nowhere) becomes "FAIL <command> ARCHIVE_UNAVAILABLE
 * <target> :<text>" for the browser, the label kept. Returns true when m
 * was answered here and is not relayed.
 */
static bool message_answer(ircc_session_t *s, const irc_reg_t *reg, const irc_msg_t *m)
{
	static const char code[] = "(ARCHIVE_UNAVAILABLE)";
	char cmd[16], tags[IRC_TAGS_MAX + 1];
	const irc_msg_span_t *text;
	irc_msg_tag_t t;
	size_t tl = 0;

	cmd_name(m, cmd, sizeof(cmd));
	if (is_message_cmd(cmd) && m->n_params >= 1 && irc_reg_is_self(reg, m)) {
		(void)sent_answered(s, m, cmd, &m->params[0]);
		return false;
	}
	if (strcmp(cmd, "404") != 0 || m->n_params < 3)
		return false;
	const char *failed = sent_answered(s, m, NULL, &m->params[1]);
	text = &m->params[m->n_params - 1];
	if (text->len < sizeof(code) - 1 ||
	    memcmp(text->ptr + text->len - (sizeof(code) - 1), code, sizeof(code) - 1) != 0)
		return false;
	if (irc_msg_tag_get(m, "label", &t) == 0 &&
	    (s->bcaps & IRC_CAP_BIT(IRC_CAP_LABELED_RESPONSE)))
		(void)irc_msg_tags_append("label", 5, t.value, t.value_len, tags, sizeof(tags),
					  &tl);
	sendf(s, "%s%.*s%s:%s FAIL %s ARCHIVE_UNAVAILABLE %.*s :%.*s", tl ? "@" : "", (int)tl, tags,
	      tl ? " " : "", s->server, failed[0] ? failed : "PRIVMSG", (int)m->params[1].len,
	      m->params[1].ptr, (int)text->len, text->ptr);
	return true;
}

/* ---- browser lines ---- */

/* Sends msg to the server with only the tags the browser may send: client
 * tags with message-tags, label with labeled-response. */
static void forward(ircc_session_t *s, const irc_msg_t *m)
{
	static char tags[IRC_TAGS_CLIENT_MAX + 1];
	irc_msg_t f = *m;
	irc_msg_tag_t t;
	size_t pos = 0, len = 0;
	char cmd[32];

	while (irc_msg_tag_next(m, &pos, &t)) {
		bool client = t.key_len > 1 && t.key[0] == '+';
		bool label = t.key_len == 5 && memcmp(t.key, "label", 5) == 0;
		if ((client && (s->bcaps & IRC_CAP_BIT(IRC_CAP_MESSAGE_TAGS))) ||
		    (label && (s->bcaps & IRC_CAP_BIT(IRC_CAP_LABELED_RESPONSE))))
			irc_msg_tags_append(t.key, t.key_len, t.has_value ? t.value : NULL,
					    t.value_len, tags, sizeof(tags), &len);
	}
	f.tags.ptr = len ? tags : NULL;
	f.tags.len = len;
	f.source.ptr = NULL; /* a client never names a source */
	f.source.len = 0;
	int n = irc_msg_serialize(&f, IRC_MSG_F_CLIENT, out_buf, sizeof(out_buf));
	cmd_name(m, cmd, sizeof(cmd));
	if (n < 0) {
		NUMERIC(s, "417", ":%s", "Input line was too long");
		return;
	}
	if (s->ops.to_server(s->ud, out_buf, (size_t)n) < 0)
		fail(s, cmd, "TEMPORARILY_UNAVAILABLE", NULL,
		     "Not connected to the IRC server right now (reconnecting); not sent");
	else
		sent_note(s, cmd, &f);
}

static bool nick_is(const ircc_session_t *s, const irc_msg_span_t *n, const char *nick)
{
	return irc_casemap_equal(s->cm, n->ptr, n->len, nick, strlen(nick));
}

static void handle_nick(ircc_session_t *s, const irc_msg_t *m)
{
	if (m->n_params < 1 || m->params[0].len == 0) {
		NUMERIC(s, "431", ":%s", "No nickname given");
		return;
	}
	if (nick_is(s, &m->params[0], s->id->nick) || nick_is(s, &m->params[0], s->nick)) {
		forward(s, m);
		return;
	}
	NUMERIC(s, "432", "%.*s :Nick changes are not allowed: your nick is %s, from your account",
		(int)m->params[0].len, m->params[0].ptr, s->id->nick);
}

/* JOIN: private rooms the user is not a member of are refused one by one
 * (473), the rest is forwarded with their keys. */
static void handle_join(ircc_session_t *s, const irc_msg_t *m)
{
	char chans[IRC_MSG_MAX], keys[IRC_MSG_MAX], line[IRC_MSG_MAX * 2 + 8];
	size_t cl = 0, kl = 0;

	if (m->n_params < 1) {
		NUMERIC(s, "461", "JOIN :%s", "Not enough parameters");
		return;
	}
	const char *p = m->params[0].ptr, *end = p + m->params[0].len;
	const char *k = m->n_params > 1 ? m->params[1].ptr : NULL;
	const char *kend = k ? k + m->params[1].len : NULL;
	while (p < end) {
		const char *c = p, *kw = k;
		while (p < end && *p != ',')
			p++;
		while (k && k < kend && *k != ',')
			k++;
		size_t n = (size_t)(p - c), kn = k ? (size_t)(k - kw) : 0;
		if (n && !room_allowed(s, c, n)) {
			NUMERIC(s, "473", "%.*s :Cannot join channel (private room: members only)",
				(int)n, c);
		} else if (n) {
			cl += (size_t)snprintf(chans + cl, sizeof(chans) - cl, "%s%.*s",
					       cl ? "," : "", (int)n, c);
			kl += (size_t)snprintf(keys + kl, sizeof(keys) - kl, "%s%.*s",
					       kl ? "," : "", (int)kn, kw ? kw : "");
		}
		p += p < end;
		if (k && k < kend)
			k++;
	}
	if (cl == 0)
		return;
	int n = snprintf(line, sizeof(line), "JOIN %s%s%s", chans, m->n_params > 1 ? " " : "",
			 m->n_params > 1 ? keys : "");
	irc_msg_t j;
	if (n > 0 && (size_t)n < sizeof(line) && irc_msg_parse(line, (size_t)n, 0, &j) == 0) {
		j.tags = m->tags; /* keep the browser's label and client tags */
		forward(s, &j);
	}
}

/* MODE: the secret and private modes of a room are eIRC's (see
 * reveal_public); any other mode change goes to the server. */
static void handle_mode(ircc_session_t *s, const irc_msg_t *m)
{
	if (!ircc_policy_mode_visibility(m)) {
		forward(s, m);
		return;
	}
	NUMERIC(s, "482", "%.*s :Cannot change the room's visibility (+s/+p): eIRC sets it",
		(int)m->params[0].len, m->params[0].ptr);
}

/* ---- CHATHISTORY ---- */

static void hist_fail(ircc_session_t *s, const char *code, const char *sub, const char *target,
		      const char *text)
{
	char ctx[IRCC_CHATHIST_TARGET_MAX + 16];

	snprintf(ctx, sizeof(ctx), "%s%s%s", sub, target[0] ? " " : "", target);
	fail(s, "CHATHISTORY", code, ctx, text);
}

/* May the user read target? Channels: only those joined now, and a
 * private room only while a member (not between EIRC ROOMS and the
 * server's answer to our PART). Nicks: the user's own conversation with
 * that nick (the bridge keys it by ids). */
static bool hist_allowed(const ircc_session_t *s, const irc_msg_span_t *t)
{
	if (is_channel(t->ptr, t->len))
		return chan_find(s, t->ptr, t->len) >= 0 && room_allowed(s, t->ptr, t->len);
	return ircc_ident_nick_valid(t->ptr, t->len);
}

/* The server's CASEMAPPING name, for the bridge to fold targets as the
 * logger did. */
static const char *casemap_name(enum irc_casemap cm)
{
	switch (cm) {
	case IRC_CASEMAP_ASCII:
		return "ascii";
	case IRC_CASEMAP_STRICT_RFC1459:
		return "strict-rfc1459";
	default:
		return "rfc1459";
	}
}

/* Builds "@eirc/user=<id>;eirc/nick=<nick>;label=h<seq>;eirc/casemap=<cm>
 * CHATHISTORY ..." into out_buf. Returns its length, -E2BIG when the
 * user's channel list (TARGETS) or the whole line does not fit, or another
 * negative error. */
static int hist_request(ircc_session_t *s, const irc_msg_t *m, unsigned seq, bool targets)
{
	char tags[IRC_TAGS_CLIENT_MAX], uid[24], label[16], chans[CHATHIST_CHANNELS_MAX];
	size_t tl = 0;
	int bad = 0;
	irc_msg_t r = {0};
	const char *cm = casemap_name(s->cm);

	snprintf(uid, sizeof(uid), "%llu", (unsigned long long)s->id->user_id);
	snprintf(label, sizeof(label), "h%u", seq);
	bad |= irc_msg_tags_append("eirc/user", 9, uid, strlen(uid), tags, sizeof(tags), &tl);
	bad |= irc_msg_tags_append("eirc/nick", 9, s->nick, strlen(s->nick), tags, sizeof(tags),
				   &tl);
	bad |= irc_msg_tags_append("label", 5, label, strlen(label), tags, sizeof(tags), &tl);
	bad |= irc_msg_tags_append("eirc/casemap", 12, cm, strlen(cm), tags, sizeof(tags), &tl);
	if (targets) {
		/* TARGETS: the bridge does not know which channels the user is in */
		size_t cl = 0;
		for (size_t i = 0; i < s->n_chans; i++) {
			size_t n = strlen(s->chans[i]);
			if (cl + n + 1 > sizeof(chans))
				return -E2BIG; /* never a silently shortened list */
			if (cl)
				chans[cl++] = ',';
			memcpy(chans + cl, s->chans[i], n);
			cl += n;
		}
		bad |= irc_msg_tags_append("eirc/channels", 13, chans, cl, tags, sizeof(tags), &tl);
	}
	if (bad)
		return -E2BIG;
	r.tags.ptr = tags;
	r.tags.len = tl;
	r.command.ptr = "CHATHISTORY";
	r.command.len = 11;
	r.n_params = m->n_params;
	memcpy(r.params, m->params, sizeof(r.params[0]) * m->n_params);
	int n = irc_msg_serialize(&r, 0, out_buf, sizeof(out_buf));
	return n < 0 ? -E2BIG : n;
}

/* Labels we echo verbatim: no character that would need tag escaping. */
static bool label_safe(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == ' ' || v[i] == ';' || v[i] == '\\' || (unsigned char)v[i] < 0x21)
			return false;
	return n > 0;
}

static void handle_chathistory(ircc_session_t *s, const irc_msg_t *m)
{
	chathist_req_t req;
	chathist_err_t err;
	struct pending p = {0};
	irc_msg_tag_t lt;

	if (ircc_policy_chathist(m, &req, &err) < 0) {
		char sub[16] = "*";
		if (m->n_params > 0)
			span_cpy(sub, sizeof(sub), &m->params[0]);
		fail(s, "CHATHISTORY", err.code, sub, err.text);
		return;
	}
	snprintf(p.sub, sizeof(p.sub), "%s", chathist_sub_name(req.sub));
	if (req.target.ptr)
		span_cpy(p.target, sizeof(p.target), &req.target);
	if (req.target.ptr && !hist_allowed(s, &req.target)) {
		hist_fail(s, "INVALID_TARGET", p.sub, p.target,
			  "You may only read the history of channels you are in and of your own "
			  "conversations");
		return;
	}
	if (s->n_hist == IRCC_HISTORY_PENDING_MAX) {
		hist_fail(s, "MESSAGE_ERROR", p.sub, p.target,
			  "Too many history requests in flight; try again");
		return;
	}
	p.seq = ++s->hist_seq;
	int n = hist_request(s, m, p.seq, req.sub == CHATHIST_TARGETS);
	int r = n < 0 ? n : s->ops.to_history(s->ud, out_buf, (size_t)n);
	if (r < 0) {
		hist_fail(
			s, "MESSAGE_ERROR", p.sub, p.target,
			r == -E2BIG    ? "Message history request too long: the list of the "
					 "channels you are in is longer than the history service takes"
			: r == -ENOENT ? "Message history is not available yet: no history service "
					 "is configured"
				       : "Message history is not available: the history service "
					 "cannot be reached");
		return;
	}
	if ((s->bcaps & IRC_CAP_BIT(IRC_CAP_LABELED_RESPONSE)) &&
	    irc_msg_tag_get(m, "label", &lt) == 0 && lt.value_len <= IRCC_LABEL_MAX &&
	    label_safe(lt.value, lt.value_len))
		snprintf(p.label, sizeof(p.label), "%.*s", (int)lt.value_len, lt.value);
	p.sent_ms = s->ops.now_ms(s->ud);
	s->hist[s->n_hist++] = p;
}

/* A browser without draft/chathistory that joins a channel gets its last
 * join_replay_lines lines (history.join_replay_lines), as a chathistory
 * batch it may not understand (the relay drops BATCH and the batch tag
 * for it). Best effort: nothing is shown when history is unavailable. */
static void join_replay(ircc_session_t *s, const irc_msg_span_t *chan)
{
	char n[16];
	irc_msg_t m = {0};
	struct pending p = {.quiet = true};

	if (s->lim.join_replay_lines == 0 || (s->bcaps & IRCC_BCAP_CHATHISTORY) ||
	    s->n_hist == IRCC_HISTORY_PENDING_MAX || chan->len >= sizeof(p.target))
		return;
	snprintf(n, sizeof(n), "%u", s->lim.join_replay_lines);
	m.command = (irc_msg_span_t){"CHATHISTORY", 11};
	m.params[0] = (irc_msg_span_t){"LATEST", 6};
	m.params[1] = *chan;
	m.params[2] = (irc_msg_span_t){"*", 1};
	m.params[3] = (irc_msg_span_t){n, strlen(n)};
	m.n_params = 4;
	p.seq = ++s->hist_seq;
	snprintf(p.sub, sizeof(p.sub), "LATEST");
	span_cpy(p.target, sizeof(p.target), chan);
	int len = hist_request(s, &m, p.seq, false);
	if (len < 0 || s->ops.to_history(s->ud, out_buf, (size_t)len) < 0)
		return;
	p.sent_ms = s->ops.now_ms(s->ud);
	s->hist[s->n_hist++] = p;
}

/* ---- direct-message reports ---- */

/* Reports a direct message this session sent (the server's echo, with its
 * msgid) or received to the history bridge, which stores it once per
 * msgid in the conversation keyed by the two user ids (docs/history.md):
 * the server line with "eirc/dm", "eirc/user", "eirc/nick" and
 * "eirc/casemap" added. Fire and forget: the bridge does not answer, and a
 * report that cannot be sent now is lost (logged by nobody: best effort). */
static void dm_report(ircc_session_t *s, const irc_msg_t *m)
{
	irc_mask_userhost_t uh;
	irc_msg_tag_t t;
	char uid[24];
	size_t tl = 0, pos = 0;
	irc_msg_t r = *m;
	static char tags[IRC_TAGS_MAX + 1];

	if (!(irc_msg_command_is(m, "PRIVMSG") || irc_msg_command_is(m, "NOTICE")) ||
	    m->n_params < 2 || is_channel(m->params[0].ptr, m->params[0].len) || !m->source.ptr ||
	    irc_mask_split(m->source.ptr, m->source.len, &uh) < 0 || !uh.user ||
	    irc_msg_tag_get(m, "msgid", &t) < 0)
		return;
	irc_msg_span_t from = {uh.nick, uh.nick_len};
	bool to_me = nick_is(s, &m->params[0], s->nick), from_me = nick_is(s, &from, s->nick);
	if (to_me == from_me)
		return; /* neither ours, or a note to self */
	snprintf(uid, sizeof(uid), "%llu", (unsigned long long)s->id->user_id);
	const char *cm = casemap_name(s->cm);
	if (irc_msg_tags_append("eirc/dm", 7, NULL, 0, tags, sizeof(tags), &tl) < 0 ||
	    irc_msg_tags_append("eirc/user", 9, uid, strlen(uid), tags, sizeof(tags), &tl) < 0 ||
	    irc_msg_tags_append("eirc/nick", 9, s->nick, strlen(s->nick), tags, sizeof(tags), &tl) <
		    0 ||
	    irc_msg_tags_append("eirc/casemap", 12, cm, strlen(cm), tags, sizeof(tags), &tl) < 0)
		return;
	while (irc_msg_tag_next(m, &pos, &t))
		if (irc_msg_tags_append(t.key, t.key_len, t.has_value ? t.value : NULL, t.value_len,
					tags, sizeof(tags), &tl) < 0)
			return;
	r.tags.ptr = tags;
	r.tags.len = tl;
	int n = irc_msg_serialize(&r, 0, out_buf, sizeof(out_buf));
	if (n > 0)
		(void)s->ops.to_history(s->ud, out_buf, (size_t)n);
}

static void hist_pop(ircc_session_t *s)
{
	memmove(&s->hist[0], &s->hist[1], sizeof(s->hist[0]) * (s->n_hist - 1));
	s->n_hist--;
}

bool ircc_session_history_line(ircc_session_t *s, char *line, size_t len)
{
	irc_msg_t m;

	if (s->n_hist == 0 || irc_msg_parse(line, len, 0, &m) < 0)
		return true;
	struct pending *p = &s->hist[0];
	if (irc_msg_command_is(&m, "EIRC") && m.n_params >= 2 && m.params[0].len == 4 &&
	    memcmp(m.params[0].ptr, "DONE", 4) == 0) {
		char want[16];
		int wl = snprintf(want, sizeof(want), "h%u", p->seq);
		if (m.params[1].len != (size_t)wl || memcmp(m.params[1].ptr, want, (size_t)wl) != 0)
			return true;
		if (!p->started && p->label[0])
			sendf(s, "@label=%s :%s ACK", p->label, s->server);
		hist_pop(s);
		return false;
	}
	if (p->quiet && irc_msg_command_is(&m, "FAIL"))
		return false; /* the browser did not ask: nothing to explain */
	/* Replayed lines are history, not echoes: the user's own messages stay
	 * (no self nick for the echo filter). */
	ircc_relay_ctx_t ctx = {s->bcaps, s->scaps, NULL, p->started ? "" : p->label};
	int n = ircc_relay_format(&m, &ctx, out_buf, sizeof(out_buf));
	if (n > 0)
		to_browser(s, out_buf, (size_t)n);
	p->started = true;
	return false;
}

int ircc_session_history_hello(const ircc_session_t *s, char *buf, size_t cap)
{
	if (!s->ticket[0])
		return -ENOENT;
	int n = snprintf(buf, cap, "EIRC HELLO %" PRIu64 " %s", s->id->user_id, s->ticket);
	return n > 0 && (size_t)n < cap ? n : -ENOBUFS;
}

void ircc_session_history_down(ircc_session_t *s, const char *why)
{
	char text[160];

	snprintf(text, sizeof(text), "Message history is not available: %s", why);
	while (s->n_hist > 0) {
		if (!s->hist[0].quiet)
			hist_fail(s, "MESSAGE_ERROR", s->hist[0].sub, s->hist[0].target, text);
		hist_pop(s);
	}
}

size_t ircc_session_history_pending(const ircc_session_t *s, uint64_t *out_oldest_ms)
{
	*out_oldest_ms = s->n_hist ? s->hist[0].sent_ms : 0;
	return s->n_hist;
}

/* ---- browser dispatch ---- */

static void handle_ping(ircc_session_t *s, const irc_msg_t *m)
{
	sendf(s, ":%s PONG %s :%.*s", s->server, s->server,
	      m->n_params ? (int)m->params[m->n_params - 1].len : 0,
	      m->n_params ? m->params[m->n_params - 1].ptr : "");
}

static void handle_quit(ircc_session_t *s, const irc_msg_t *m)
{
	char reason[IRC_MSG_MAX] = "";

	if (m->n_params > 0)
		span_cpy(reason, sizeof(reason), &m->params[m->n_params - 1]);
	s->ops.quit(s->ud, reason);
}

static void refuse_unknown(ircc_session_t *s, const irc_msg_t *m)
{
	char cmd[32];

	cmd_name(m, cmd, sizeof(cmd));
	NUMERIC(s, "421", "%s :Unknown command (not available through eIRC)", cmd);
}

static void refuse_nopriv(ircc_session_t *s, const irc_msg_t *m)
{
	char cmd[32];

	cmd_name(m, cmd, sizeof(cmd));
	NUMERIC(s, "481", ":Permission Denied - %s is not available through eIRC", cmd);
}

static void reregister(ircc_session_t *s, const irc_msg_t *m)
{
	(void)m;
	NUMERIC(s, "462", ":%s", "You may not reregister (eIRC registers you)");
}

/* What each policy action does once the browser is ready (NULL: nothing). */
static void (*const dispatch[])(ircc_session_t *, const irc_msg_t *) = {
	[IRCC_POL_FORWARD] = forward,
	[IRCC_POL_CAP] = handle_cap,
	[IRCC_POL_PING] = handle_ping,
	[IRCC_POL_IGNORE] = NULL,
	[IRCC_POL_QUIT] = handle_quit,
	[IRCC_POL_NICK] = handle_nick,
	[IRCC_POL_JOIN] = handle_join,
	[IRCC_POL_CHATHISTORY] = handle_chathistory,
	[IRCC_POL_REGISTRATION] = reregister,
	[IRCC_POL_UNKNOWN] = refuse_unknown,
	[IRCC_POL_NOPRIV] = refuse_nopriv,
	[IRCC_POL_MODE] = handle_mode,
	/* with tags or a source it is not the gateway's (see control_line) */
	[IRCC_POL_CONTROL] = refuse_unknown,
};

/* Before the browser is READY: CAP, NICK, USER and PASS are registration;
 * any other command makes it a plain client (READY at once). Returns true
 * when the line was consumed. */
static bool browser_registering(ircc_session_t *s, const irc_msg_t *m, enum ircc_policy_action a)
{
	switch (a) {
	case IRCC_POL_CAP:
		handle_cap(s, m);
		return true;
	case IRCC_POL_NICK:
		s->nick_seen = true;
		break;
	case IRCC_POL_REGISTRATION:
		s->user_seen |= irc_msg_command_is(m, "USER");
		break;
	case IRCC_POL_PING:
	case IRCC_POL_IGNORE:
	case IRCC_POL_QUIT:
		return false;
	default:
		become_ready(s);
		return false;
	}
	if (s->bstate == B_NEW && s->nick_seen && s->user_seen)
		become_ready(s);
	return true;
}

static bool flood_ok(ircc_session_t *s, const irc_msg_t *m, size_t len)
{
	uint64_t now = s->ops.now_ms(s->ud);
	char cmd[32], text[160];

	if (tokbucket_take(&s->lines, 1, now) && tokbucket_take(&s->bytes, len + 2, now))
		return true;
	cmd_name(m, cmd, sizeof(cmd));
	snprintf(text, sizeof(text),
		 "Too many lines too fast (limit %u lines and %llu bytes per second); not sent",
		 s->lim.flood_lines_per_second, (unsigned long long)s->lim.flood_bytes_per_second);
	fail(s, cmd, "RATE_LIMITED", NULL, text);
	return false;
}

static void process_line(ircc_session_t *s, char *line, size_t len)
{
	irc_msg_t m;
	int r = irc_msg_parse(line, len, IRC_MSG_F_CLIENT, &m);

	if (r == IRC_MSG_ETOOLONG || r == IRC_MSG_ETAGSTOOLONG) {
		NUMERIC(s, "417", ":%s", "Input line was too long");
		return;
	}
	if (r < 0) {
		fail(s, "*", "INVALID_MESSAGE", NULL, "Malformed line refused");
		return;
	}
	enum ircc_policy_action a = ircc_policy_classify(&m);
	if (a != IRCC_POL_QUIT && !flood_ok(s, &m, len))
		return;
	if (!replayed(s) && browser_registering(s, &m, a))
		return;
	if (dispatch[a])
		dispatch[a](s, &m);
}

/* Holds a line until the first registration burst is complete. */
static void hold(ircc_session_t *s, const char *line, size_t len)
{
	if (s->hold_len + len + 1 > IRCC_HOLD_MAX) {
		fail(s, "*", "TEMPORARILY_UNAVAILABLE", NULL,
		     "Still connecting to the IRC server; line not sent");
		return;
	}
	if (!s->hold && !(s->hold = malloc(IRCC_HOLD_MAX)))
		return;
	memcpy(s->hold + s->hold_len, line, len + 1);
	s->hold_len += len + 1;
}

static void hold_release(ircc_session_t *s)
{
	char *h = s->hold;
	size_t n = s->hold_len;

	s->hold = NULL;
	s->hold_len = 0;
	for (size_t off = 0; off < n;) {
		size_t len = strlen(h + off);
		process_line(s, h + off, len);
		off += len + 1;
	}
	free(h);
}

/* Leaves every joined channel the user may no longer be in (PART to the
 * server, whose echo tells the browser) and forgets it at once: no
 * CHATHISTORY for it, no rejoin after a reconnection. */
static void part_removed(ircc_session_t *s)
{
	char line[IRC_MSG_MAX];

	for (size_t i = s->n_chans; i-- > 0;) {
		if (room_allowed(s, s->chans[i], strlen(s->chans[i])))
			continue;
		int n = snprintf(line, sizeof(line), "PART %s :Removed from the room", s->chans[i]);
		if (n > 0 && (size_t)n < sizeof(line))
			(void)s->ops.to_server(s->ud, line, (size_t)n);
		free(s->chans[i]);
		s->chans[i] = s->chans[--s->n_chans];
	}
}

/* "EIRC SESSION <ticket>": the ticket this process shows eirc-history
 * (EIRC HELLO); the first one is kept, a malformed one ignored. */
static void session_ticket(ircc_session_t *s, const char *p)
{
	size_t n = strlen(p);

	if (s->ticket[0] || n != SESSION_TICKET_LEN || strchr(p, ' '))
		return;
	memcpy(s->ticket, p, n + 1);
}

/*
 * A control line of the gateway (docs/irc-client.md): "EIRC ROOMS :#a,#b"
 * replaces the user's private rooms (invalid names are left out; a list
 * that cannot be read counts as empty: the user loses rooms, never gains
 * one); "EIRC SESSION <ticket>" (its first line) hands over the ticket
 * for eirc-history. Other EIRC subcommands are ignored. The gateway never
 * lets a browser send EIRC, so the line is the gateway's.
 */
static void control_line(ircc_session_t *s, char *line)
{
	char *p = line + 4;
	ircc_room_list_t l = {0};

	while (*p == ' ')
		p++;
	if (strncmp(p, "SESSION ", 8) == 0) {
		session_ticket(s, p + 8);
		return;
	}
	if (strncasecmp(p, "ROOMS", 5) != 0 || (p[5] && p[5] != ' '))
		return;
	for (p += 5; *p == ' '; p++)
		;
	p += *p == ':';
	(void)ircc_room_list_parse(p, true, &l);
	ircc_room_list_clear(&s->priv);
	s->priv = l;
	s->priv_set = true;
	part_removed(s);
}

void ircc_session_browser_line(ircc_session_t *s, char *line, size_t len)
{
	if (len >= 4 && strncasecmp(line, "EIRC", 4) == 0 && (len == 4 || line[4] == ' ')) {
		control_line(s, line);
		return;
	}
	if (!burst_complete(s) &&
	    !(len >= 4 && strncasecmp(line, "QUIT", 4) == 0 && (len == 4 || line[4] == ' '))) {
		hold(s, line, len);
		return;
	}
	process_line(s, line, len);
}

void ircc_session_browser_bad_line(ircc_session_t *s, int err)
{
	if (err == IRC_MSG_ETOOLONG)
		NUMERIC(s, "417", ":%s", "Input line was too long");
	else
		fail(s, "*", "INVALID_MESSAGE", NULL,
		     "Line refused: CR, LF or NUL inside a line is not allowed");
}

/* ---- server side ---- */

static bool is_burst_numeric(const irc_msg_t *m)
{
	static const char *const nums[] = {"001", "002", "003", "004", "005", "250",
					   "251", "252", "253", "254", "255", "265",
					   "266", "375", "372", "376", "422"};

	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		if (irc_msg_command_is(m, nums[i]))
			return true;
	return false;
}

static bool motd_end(const irc_msg_t *m)
{
	return irc_msg_command_is(m, "376") || irc_msg_command_is(m, "422");
}

/* True when the names list of a 353 (nick or nick!user@host, each after its
 * prefixes) has nick with channel operator rank or above. */
static bool names_op(const ircc_session_t *s, const irc_msg_span_t *names, const char *nick)
{
	const char *p = names->ptr, *end = p + names->len;

	while (p < end) {
		const char *w = p, *n;
		while (p < end && *p != ' ')
			p++;
		for (n = w; n < p && strchr("~&@%+", *n); n++)
			;
		const char *e = memchr(n, '!', (size_t)(p - n));
		size_t len = (size_t)((e ? e : p) - n);
		if (irc_casemap_equal(s->cm, n, len, nick, strlen(nick)))
			return memchr(w, '~', (size_t)(n - w)) || memchr(w, '&', (size_t)(n - w)) ||
			       memchr(w, '@', (size_t)(n - w));
		p += p < end;
	}
	return false;
}

/*
 * Every channel is born secret (+s: InspIRCd's <options defaultmodes>), so
 * no one outside a room ever sees it, not even between its creation and a
 * MODE. A public room is made visible by the irc-client of a member: on the
 * 353 that shows the channel secret ('@'), a room that is public for this
 * user gets MODE -s when we are its operator (its creator) or when the
 * server lets any member do it (eIRC's m_eirc_reveal, 005 EIRCREVEAL). A
 * private room is never touched, and the browser may not change +s/+p
 * (handle_mode).
 */
static void reveal_public(ircc_session_t *s, const irc_reg_t *reg, const irc_msg_t *m)
{
	char line[IRC_MSG_MAX];

	if (m->n_params < 4 || !irc_msg_span_is(&m->params[1], "@") ||
	    !ircc_policy_room_public(my_rooms(s), s->lim.private_masks, s->lim.n_private_masks,
				     m->params[2].ptr, m->params[2].len) ||
	    (!s->member_reveals && !names_op(s, &m->params[3], reg->nick)))
		return;
	int n = snprintf(line, sizeof(line), "MODE %.*s -s", (int)m->params[2].len,
			 m->params[2].ptr);
	if (n > 0 && (size_t)n < sizeof(line))
		(void)s->ops.to_server(s->ud, line, (size_t)n);
}

/* Follows our channels (JOIN/PART/KICK of ourselves) and the server's
 * case mapping; makes the public rooms we create visible. */
static void track(ircc_session_t *s, const irc_reg_t *reg, const irc_msg_t *m)
{
	if (irc_msg_command_is(m, "005")) {
		for (size_t i = 1; i + 1 < m->n_params; i++) {
			irc_casemap_from_isupport(m->params[i].ptr, m->params[i].len, &s->cm);
			s->member_reveals |= irc_msg_span_is(&m->params[i], "EIRCREVEAL");
		}
	} else if (irc_msg_command_is(m, "JOIN") && m->n_params >= 1 && irc_reg_is_self(reg, m)) {
		chan_add(s, &m->params[0]);
	} else if (irc_msg_command_is(m, "PART") && m->n_params >= 1 && irc_reg_is_self(reg, m)) {
		chan_del(s, &m->params[0]);
	} else if (irc_msg_command_is(m, "KICK") && m->n_params >= 2 &&
		   nick_is(s, &m->params[1], reg->nick)) {
		chan_del(s, &m->params[0]);
	} else if (irc_msg_command_is(m, "353")) {
		reveal_public(s, reg, m);
	}
	snprintf(s->nick, sizeof(s->nick), "%s", reg->nick);
}

void ircc_session_server_msg(ircc_session_t *s, const irc_reg_t *reg, const irc_msg_t *m)
{
	track(s, reg, m);
	if (!server_up(s))
		return; /* before 001: registration chatter, irc_reg's business */
	dm_report(s, m);
	/* cap-notify (CAP NEW / DEL) may change them after 001: the relay
	 * filter (echo-message) must see what is enabled now. */
	s->scaps = reg->caps_enabled;
	if (in_burst(s) && (!replayed(s) || is_burst_numeric(m))) {
		if (!replayed(s))
			burst_keep(s, m);
		if (motd_end(m)) {
			bool first = s->sstate == S_FIRST_BURST;
			s->sstate = S_UP;
			if (first)
				hold_release(s);
		}
		return;
	}
	if (!replayed(s)) {
		burst_keep(s, m); /* the browser is not ready yet: keep order */
		return;
	}
	if (!message_answer(s, reg, m))
		relay(s, m, NULL);
	if (irc_msg_command_is(m, "JOIN") && m->n_params >= 1 && irc_reg_is_self(reg, m))
		join_replay(s, &m->params[0]);
}

uint64_t ircc_session_server_registered(ircc_session_t *s, const irc_reg_t *reg)
{
	char old[IRC_REG_NICK_MAX + 1];

	snprintf(old, sizeof(old), "%s", s->nick);
	snprintf(s->nick, sizeof(s->nick), "%s", reg->nick);
	if (reg->server[0])
		snprintf(s->server, sizeof(s->server), "%s", reg->server);
	s->scaps = reg->caps_enabled;
	if (s->sstate == S_NEW) {
		s->sstate = S_FIRST_BURST;
		return IRCC_BROWSER_IDLE_GRACE_MS;
	}
	s->sstate = burst_complete(s) ? S_REBURST : S_FIRST_BURST;
	if (replayed(s)) {
		if (strcmp(old, s->nick) != 0)
			sendf(s, ":%s NICK %s", old, s->nick);
		sendf(s, "EIRC RECONNECTED %s", s->server);
		sendf(s,
		      ":%s NOTICE %s :*** Reconnected to the IRC server; rejoining your channels",
		      s->server, s->nick);
	}
	join_list(s, s->chans, s->n_chans);
	join_rooms_once(s);
	return 0;
}

void ircc_session_server_down(ircc_session_t *s, const char *why, uint64_t retry_ms)
{
	bool was_up = server_up(s);

	if (s->sstate == S_FIRST_BURST)
		s->sstate = S_FIRST_LOST;
	else if (was_up)
		s->sstate = S_DOWN;
	if (!replayed(s) && retry_ms)
		return;
	if (was_up)
		for (size_t i = 0; i < s->n_chans; i++)
			sendf(s, ":%s PART %s :Connection to the IRC server lost", s->nick,
			      s->chans[i]);
	if (retry_ms == 0) {
		sendf(s, "EIRC ERROR :%s", why);
		sendf(s, "ERROR :Closing link: %s", why);
		return;
	}
	sendf(s, "EIRC DISCONNECTED %llu :%s", (unsigned long long)retry_ms, why);
	sendf(s,
	      ":%s NOTICE %s :*** Lost the connection to the IRC server (%s); reconnecting "
	      "in %llu ms",
	      s->server, s->nick, why, (unsigned long long)retry_ms);
}
