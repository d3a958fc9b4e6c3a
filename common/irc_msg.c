/*
 * irc_msg: IRCv3 line parser and serializer (see irc_msg.h for the
 * contract). Parsing is two passes over the caller's buffer: the first
 * validates and measures without writing, the second (only once the whole
 * line is known to be good) unescapes the tags section in place. Serializing
 * measures first, checks the limits and the capacity, then writes, so it
 * never needs bounds checks while writing and never truncates.
 *
 * Not here: framing (irc_line), UTF-8 checks (utf8), case mapping, policy.
 */
#include "common/irc_msg.h"

#include <string.h>

/* Bytes of the CRLF counted in IRC_MSG_MAX whether or not the line has it. */
#define IRC_MSG_EOL_LEN 2

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_key_name_char(char c)
{
	return is_alpha(c) || is_digit(c) || c == '-';
}

static bool is_vendor_char(char c)
{
	return is_key_name_char(c) || c == '.';
}

static bool has_forbidden(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\0' || s[i] == '\r' || s[i] == '\n')
			return true;
	}
	return false;
}

static bool command_valid(const char *s, size_t len)
{
	bool alpha = true, digit = true;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		alpha = alpha && is_alpha(s[i]);
		digit = digit && is_digit(s[i]);
	}
	return alpha || (digit && len == 3);
}

bool irc_msg_tag_key_valid(const char *key, size_t len)
{
	size_t i = 0, start;
	const char *slash;

	if (len > 0 && key[0] == '+')
		i = 1;
	slash = memchr(key + i, '/', len - i);
	if (slash) {
		size_t vend = (size_t)(slash - key);
		if (vend == i)
			return false;
		for (; i < vend; i++) {
			if (!is_vendor_char(key[i]))
				return false;
		}
		i = vend + 1;
	}
	start = i;
	for (; i < len; i++) {
		if (!is_key_name_char(key[i]))
			return false;
	}
	return len > start;
}

static size_t skip_spaces(const char *p, size_t len, size_t i)
{
	while (i < len && p[i] == ' ')
		i++;
	return i;
}

static size_t atom_end(const char *p, size_t len, size_t i)
{
	while (i < len && p[i] != ' ')
		i++;
	return i;
}

static irc_msg_span_t span_of(const char *p, size_t len)
{
	irc_msg_span_t s = {p, len};
	return s;
}

/*
 * Validates the tags section buf[0..end) starts with ('@' at buf[0]): tag
 * keys and the size limits. Stores the index of the space ending it.
 */
static int tags_scan(const char *buf, size_t end, unsigned flags, size_t *out_space)
{
	size_t room = end < IRC_TAGS_MAX ? end : IRC_TAGS_MAX;
	const char *sp = memchr(buf, ' ', room);
	size_t space, data_len, client_len = 0, n_client = 0;

	if (!sp)
		return end >= IRC_TAGS_MAX ? IRC_MSG_ETAGSTOOLONG : IRC_MSG_EMALFORMED;
	space = (size_t)(sp - buf);
	data_len = space - 1;
	if ((flags & IRC_MSG_F_CLIENT) && data_len > IRC_TAGS_CLIENT_MAX)
		return IRC_MSG_ETAGSTOOLONG;
	for (size_t s = 1; s <= space;) {
		const char *semi = memchr(buf + s, ';', space - s);
		size_t e = semi ? (size_t)(semi - buf) : space;
		const char *eq = memchr(buf + s, '=', e - s);
		size_t key_len = eq ? (size_t)(eq - buf) - s : e - s;

		if (!irc_msg_tag_key_valid(buf + s, key_len))
			return IRC_MSG_EMALFORMED;
		if (buf[s] == '+')
			client_len += (e - s) + (n_client++ > 0 ? 1 : 0);
		s = e + 1;
	}
	if (client_len > IRC_TAGS_CLIENT_MAX)
		return IRC_MSG_ETAGSTOOLONG;
	*out_space = space;
	return 0;
}

static char unescape_char(char c)
{
	switch (c) {
	case ':':
		return ';';
	case 's':
		return ' ';
	case 'r':
		return '\r';
	case 'n':
		return '\n';
	default:
		return c; /* "\\" gives '\', an unknown escape the char */
	}
}

/*
 * Rewrites the validated tags buf[1..space) into the packed form at buf + 1
 * and returns its length. The write index never passes the read index.
 */
static size_t tags_pack(char *buf, size_t space)
{
	size_t r = 1, w = 1;

	while (r < space) {
		while (r < space && buf[r] != '=' && buf[r] != ';')
			buf[w++] = buf[r++];
		if (r < space && buf[r] == '=') {
			buf[w++] = buf[r++];
			while (r < space && buf[r] != ';') {
				char c = buf[r++];
				if (c != '\\') {
					buf[w++] = c;
				} else if (r < space && buf[r] != ';') {
					buf[w++] = unescape_char(buf[r++]);
				} /* else: a trailing lone '\' is dropped */
			}
		}
		buf[w++] = '\0';
		r++;
	}
	return w - 1;
}

static int parse_params(const char *p, size_t len, size_t i, irc_msg_t *m)
{
	for (;;) {
		size_t s;

		i = skip_spaces(p, len, i);
		if (i == len)
			return 0;
		if (p[i] == ':' || m->n_params == IRC_PARAMS_MAX - 1) {
			if (p[i] == ':')
				i++;
			m->params[m->n_params++] = span_of(p + i, len - i);
			return 0;
		}
		s = i;
		i = atom_end(p, len, i);
		m->params[m->n_params++] = span_of(p + s, i - s);
	}
}

/* Parses source, command and params of the message part p[0..len). */
static int parse_message(const char *p, size_t len, irc_msg_t *m)
{
	size_t i = skip_spaces(p, len, 0), s;

	if (i < len && p[i] == ':') {
		s = ++i;
		i = atom_end(p, len, i);
		if (i == s)
			return IRC_MSG_EMALFORMED;
		m->source = span_of(p + s, i - s);
		i = skip_spaces(p, len, i);
	}
	s = i;
	i = atom_end(p, len, i);
	if (!command_valid(p + s, i - s))
		return IRC_MSG_EMALFORMED;
	m->command = span_of(p + s, i - s);
	return parse_params(p, len, i, m);
}

int irc_msg_parse(char *buf, size_t len, unsigned flags, irc_msg_t *out_msg)
{
	irc_msg_t m;
	size_t end = len, space = 0, mstart = 0;
	int rc;

	if (len == 0)
		return IRC_MSG_EMALFORMED;
	if (end > 0 && buf[end - 1] == '\n') {
		end--;
		if (end > 0 && buf[end - 1] == '\r')
			end--;
	}
	if (has_forbidden(buf, end))
		return IRC_MSG_EMALFORMED;
	memset(&m, 0, sizeof(m));
	if (end > 0 && buf[0] == '@') {
		rc = tags_scan(buf, end, flags, &space);
		if (rc < 0)
			return rc;
		mstart = space + 1;
	}
	if (end - mstart + IRC_MSG_EOL_LEN > IRC_MSG_MAX)
		return IRC_MSG_ETOOLONG;
	rc = parse_message(buf + mstart, end - mstart, &m);
	if (rc < 0)
		return rc;
	if (mstart > 0)
		m.tags = span_of(buf + 1, tags_pack(buf, space));
	*out_msg = m;
	return 0;
}

bool irc_msg_tag_next(const irc_msg_t *msg, size_t *io_pos, irc_msg_tag_t *out_tag)
{
	size_t pos = *io_pos, n;
	const char *e, *nul, *eq;

	if (!msg->tags.ptr || pos >= msg->tags.len)
		return false;
	e = msg->tags.ptr + pos;
	nul = memchr(e, '\0', msg->tags.len - pos);
	n = nul ? (size_t)(nul - e) : msg->tags.len - pos;
	eq = memchr(e, '=', n);
	out_tag->key = e;
	out_tag->key_len = eq ? (size_t)(eq - e) : n;
	out_tag->has_value = eq != NULL;
	out_tag->value = eq ? eq + 1 : e + n;
	out_tag->value_len = eq ? n - out_tag->key_len - 1 : 0;
	*io_pos = pos + n + 1;
	return true;
}

int irc_msg_tag_get(const irc_msg_t *msg, const char *key, irc_msg_tag_t *out_tag)
{
	irc_msg_tag_t t, found;
	size_t pos = 0, key_len = strlen(key);
	bool any = false;

	while (irc_msg_tag_next(msg, &pos, &t)) {
		if (t.key_len == key_len && memcmp(t.key, key, key_len) == 0) {
			found = t;
			any = true;
		}
	}
	if (!any)
		return IRC_MSG_ENOENT;
	*out_tag = found;
	return 0;
}

int irc_msg_tags_append(const char *key, size_t key_len, const char *value, size_t value_len,
			char *buf, size_t cap, size_t *io_len)
{
	size_t len = *io_len;
	size_t need = key_len + (value ? 1 + value_len : 0) + 1;

	if (!irc_msg_tag_key_valid(key, key_len) || (value && memchr(value, '\0', value_len)))
		return IRC_MSG_EINVAL;
	if (len > cap || cap - len < need)
		return IRC_MSG_ENOBUFS;
	memcpy(buf + len, key, key_len);
	len += key_len;
	if (value) {
		buf[len++] = '=';
		memcpy(buf + len, value, value_len);
		len += value_len;
	}
	buf[len++] = '\0';
	*io_len = len;
	return 0;
}

static size_t escaped_len(const char *v, size_t len)
{
	size_t n = len;

	for (size_t i = 0; i < len; i++) {
		if (v[i] == ';' || v[i] == ' ' || v[i] == '\\' || v[i] == '\r' || v[i] == '\n')
			n++;
	}
	return n;
}

/* Measures the escaped tag data of msg: all of it, and its client-only part. */
static int tags_measure(const irc_msg_t *msg, size_t *out_data, size_t *out_client)
{
	irc_msg_tag_t t;
	size_t pos = 0, data = 0, client = 0, n = 0, n_client = 0;

	while (irc_msg_tag_next(msg, &pos, &t)) {
		size_t entry =
			t.key_len + (t.has_value ? 1 + escaped_len(t.value, t.value_len) : 0);

		if (!irc_msg_tag_key_valid(t.key, t.key_len))
			return IRC_MSG_EINVAL;
		data += entry + (n++ > 0 ? 1 : 0);
		if (t.key[0] == '+')
			client += entry + (n_client++ > 0 ? 1 : 0);
	}
	*out_data = data;
	*out_client = client;
	return 0;
}

static char *tags_write(const irc_msg_t *msg, char *w)
{
	static const char from[] = "; \\\r\n", to[] = ":s\\rn";
	irc_msg_tag_t t;
	size_t pos = 0;
	bool first = true;

	while (irc_msg_tag_next(msg, &pos, &t)) {
		if (!first)
			*w++ = ';';
		first = false;
		memcpy(w, t.key, t.key_len);
		w += t.key_len;
		if (!t.has_value)
			continue;
		*w++ = '=';
		for (size_t i = 0; i < t.value_len; i++) {
			const char *esc = memchr(from, t.value[i], sizeof(from) - 1);
			if (esc) {
				*w++ = '\\';
				*w++ = to[esc - from];
			} else {
				*w++ = t.value[i];
			}
		}
	}
	return w;
}

int irc_msg_tags_serialize(const irc_msg_t *msg, char *buf, size_t cap)
{
	size_t data, client;
	int rc = tags_measure(msg, &data, &client);

	if (rc < 0)
		return rc;
	if (cap < data + 1)
		return IRC_MSG_ENOBUFS;
	*tags_write(msg, buf) = '\0';
	return (int)data;
}

static bool trailing_needed(const irc_msg_span_t *p)
{
	return p->len == 0 || p->ptr[0] == ':' || memchr(p->ptr, ' ', p->len) != NULL;
}

/* Checks the atoms and returns the message part's length (no CRLF). */
static int message_measure(const irc_msg_t *msg, size_t *out_len)
{
	size_t len = msg->command.len;

	if (!msg->command.ptr || !command_valid(msg->command.ptr, msg->command.len))
		return IRC_MSG_EINVAL;
	if (msg->source.ptr) {
		if (msg->source.len == 0 || memchr(msg->source.ptr, ' ', msg->source.len) ||
		    has_forbidden(msg->source.ptr, msg->source.len))
			return IRC_MSG_EINVAL;
		len += msg->source.len + 2;
	}
	if (msg->n_params > IRC_PARAMS_MAX)
		return IRC_MSG_EINVAL;
	for (size_t i = 0; i < msg->n_params; i++) {
		const irc_msg_span_t *p = &msg->params[i];
		bool last = i + 1 == msg->n_params;

		if ((p->len > 0 && !p->ptr) || has_forbidden(p->ptr, p->len))
			return IRC_MSG_EINVAL;
		if (!last && trailing_needed(p))
			return IRC_MSG_EINVAL;
		len += 1 + p->len + (last && trailing_needed(p) ? 1 : 0);
	}
	*out_len = len;
	return 0;
}

static char *message_write(const irc_msg_t *msg, char *w)
{
	if (msg->source.ptr) {
		*w++ = ':';
		memcpy(w, msg->source.ptr, msg->source.len);
		w += msg->source.len;
		*w++ = ' ';
	}
	memcpy(w, msg->command.ptr, msg->command.len);
	w += msg->command.len;
	for (size_t i = 0; i < msg->n_params; i++) {
		const irc_msg_span_t *p = &msg->params[i];

		*w++ = ' ';
		if (i + 1 == msg->n_params && trailing_needed(p))
			*w++ = ':';
		if (p->len > 0)
			memcpy(w, p->ptr, p->len);
		w += p->len;
	}
	return w;
}

int irc_msg_serialize(const irc_msg_t *msg, unsigned flags, char *buf, size_t cap)
{
	size_t data = 0, client = 0, mlen, total;
	int rc = tags_measure(msg, &data, &client);
	char *w = buf;

	if (rc < 0 || (rc = message_measure(msg, &mlen)) < 0)
		return rc;
	if (data + 2 > IRC_TAGS_MAX || client > IRC_TAGS_CLIENT_MAX ||
	    ((flags & IRC_MSG_F_CLIENT) && data > IRC_TAGS_CLIENT_MAX))
		return IRC_MSG_ETAGSTOOLONG;
	if (mlen + IRC_MSG_EOL_LEN > IRC_MSG_MAX)
		return IRC_MSG_ETOOLONG;
	total = (data > 0 ? data + 2 : 0) + mlen + ((flags & IRC_MSG_F_CRLF) ? 2 : 0);
	if (cap < total + 1)
		return IRC_MSG_ENOBUFS;
	if (data > 0) {
		*w++ = '@';
		w = tags_write(msg, w);
		*w++ = ' ';
	}
	w = message_write(msg, w);
	if (flags & IRC_MSG_F_CRLF) {
		*w++ = '\r';
		*w++ = '\n';
	}
	*w = '\0';
	return (int)(w - buf);
}

static bool span_equal(const irc_msg_span_t *a, const irc_msg_span_t *b)
{
	if (!a->ptr || !b->ptr)
		return a->ptr == b->ptr;
	return a->len == b->len && (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

bool irc_msg_equal(const irc_msg_t *a, const irc_msg_t *b)
{
	irc_msg_span_t ta = a->tags, tb = b->tags;

	if (ta.len == 0)
		ta.ptr = NULL; /* no tags, however it is spelled */
	if (tb.len == 0)
		tb.ptr = NULL;
	if (!span_equal(&ta, &tb) || !span_equal(&a->source, &b->source) ||
	    !span_equal(&a->command, &b->command) || a->n_params != b->n_params)
		return false;
	for (size_t i = 0; i < a->n_params; i++) {
		irc_msg_span_t pa = a->params[i], pb = b->params[i];
		if (pa.len == 0 && pb.len == 0)
			continue; /* an empty param may be spelled with ptr NULL */
		if (!span_equal(&pa, &pb))
			return false;
	}
	return true;
}

bool irc_msg_span_is(const irc_msg_span_t *s, const char *word)
{
	size_t n = strlen(word);

	if (!s->ptr || s->len != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char a = s->ptr[i], b = word[i];
		if (a >= 'a' && a <= 'z')
			a = (char)(a - 'a' + 'A');
		if (b >= 'a' && b <= 'z')
			b = (char)(b - 'a' + 'A');
		if (a != b)
			return false;
	}
	return true;
}

bool irc_msg_command_is(const irc_msg_t *msg, const char *cmd)
{
	return irc_msg_span_is(&msg->command, cmd);
}

const char *irc_msg_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case IRC_MSG_EAGAIN:
		return "incomplete line, need more bytes";
	case IRC_MSG_ETOOLONG:
		return "line too long";
	case IRC_MSG_ETAGSTOOLONG:
		return "message tags too long";
	case IRC_MSG_EMALFORMED:
		return "malformed line";
	case IRC_MSG_ENOBUFS:
		return "output buffer too small";
	case IRC_MSG_EINVAL:
		return "invalid message atom";
	case IRC_MSG_ENOENT:
		return "no such tag";
	default:
		return "unknown error";
	}
}
