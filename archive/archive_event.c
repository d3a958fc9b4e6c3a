/*
 * archive_event: the event record codec and server-time conversion (see
 * archive_event.h).
 */
#include "archive/archive_event.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const type_names[ARCHIVE_EV_TYPE_COUNT] = {
	"privmsg", "notice", "tagmsg", "join", "part", "quit",
	"kick",    "nick",   "topic",  "mode", "gap",
};

static const char *const str_names[ARCHIVE_EVENT_NSTR] = {
	"msgid", "network", "conv", "target", "nick", "user",
	"host",  "account", "text", "tags",   "arg",
};

static const size_t str_max[ARCHIVE_EVENT_NSTR] = {
	ARCHIVE_EVENT_MSGID_MAX,  ARCHIVE_EVENT_NAME_MAX, ARCHIVE_EVENT_TARGET_MAX,
	ARCHIVE_EVENT_TARGET_MAX, ARCHIVE_EVENT_NAME_MAX, ARCHIVE_EVENT_NAME_MAX,
	ARCHIVE_EVENT_NAME_MAX,   ARCHIVE_EVENT_NAME_MAX, ARCHIVE_EVENT_TEXT_MAX,
	ARCHIVE_EVENT_TAGS_MAX,   ARCHIVE_EVENT_ARG_MAX,
};

const char *archive_event_type_name(enum archive_event_type type)
{
	return (unsigned)type < ARCHIVE_EV_TYPE_COUNT ? type_names[type] : NULL;
}

const char *archive_event_str_name(enum archive_event_str s)
{
	return (unsigned)s < ARCHIVE_EVENT_NSTR ? str_names[s] : NULL;
}

size_t archive_event_encoded_len(const archive_event_t *ev)
{
	size_t n = 10 + 4 * ARCHIVE_EVENT_NSTR;

	for (int i = 0; i < ARCHIVE_EVENT_NSTR; i++)
		n += ev->s[i].n;
	return n;
}

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

int archive_event_encode(const archive_event_t *ev, void *buf, size_t cap)
{
	unsigned char *p = buf;
	size_t need = archive_event_encoded_len(ev), off = 10;

	if ((unsigned)ev->type >= ARCHIVE_EV_TYPE_COUNT || ev->s[ARCHIVE_S_MSGID].n == 0 ||
	    ev->s[ARCHIVE_S_NETWORK].n == 0 || ev->s[ARCHIVE_S_CONV].n == 0)
		return -EINVAL;
	for (int i = 0; i < ARCHIVE_EVENT_NSTR; i++)
		if (ev->s[i].n > str_max[i])
			return -EINVAL;
	if (need > cap)
		return -ENOBUFS;
	p[0] = ARCHIVE_EVENT_VERSION;
	p[1] = (unsigned char)ev->type;
	put_le(p + 2, (uint64_t)ev->time_ms, 8);
	for (int i = 0; i < ARCHIVE_EVENT_NSTR; i++) {
		put_le(p + off, ev->s[i].n, 4);
		if (ev->s[i].n)
			memcpy(p + off + 4, ev->s[i].p, ev->s[i].n);
		off += 4 + ev->s[i].n;
	}
	return (int)off;
}

int archive_event_decode(const void *buf, size_t len, archive_event_t *out_ev)
{
	const unsigned char *p = buf;
	archive_event_t ev;
	size_t off = 10;

	if (len < 10 + 4 * ARCHIVE_EVENT_NSTR || p[0] != ARCHIVE_EVENT_VERSION ||
	    p[1] >= ARCHIVE_EV_TYPE_COUNT)
		return -EBADMSG;
	ev.type = (enum archive_event_type)p[1];
	ev.time_ms = (int64_t)get_le(p + 2, 8);
	for (int i = 0; i < ARCHIVE_EVENT_NSTR; i++) {
		uint64_t n;
		if (len - off < 4)
			return -EBADMSG;
		n = get_le(p + off, 4);
		off += 4;
		if (n > str_max[i] || n > len - off)
			return -EBADMSG;
		ev.s[i].p = n ? (const char *)p + off : NULL;
		ev.s[i].n = (size_t)n;
		off += (size_t)n;
	}
	if (off != len)
		return -EBADMSG;
	*out_ev = ev;
	return 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, size_t len, size_t at, int n, unsigned *out)
{
	unsigned v = 0;

	if (at + (size_t)n > len)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		if (s[at + i] < '0' || s[at + i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[at + i] - '0');
	}
	*out = v;
	return 0;
}

int archive_event_time_parse(const char *s, size_t len, int64_t *out_ms)
{
	unsigned y, mo, d, h, mi, se, ms = 0, scale = 100;
	size_t i = 19;
	static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (len < 20 || digits(s, len, 0, 4, &y) || s[4] != '-' || digits(s, len, 5, 2, &mo) ||
	    s[7] != '-' || digits(s, len, 8, 2, &d) || s[10] != 'T' || digits(s, len, 11, 2, &h) ||
	    s[13] != ':' || digits(s, len, 14, 2, &mi) || s[16] != ':' ||
	    digits(s, len, 17, 2, &se))
		return -EINVAL;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
	    se > 60)
		return -EINVAL;
	if (s[i] == '.') {
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			ms += (unsigned)(s[i] - '0') * scale;
			scale /= 10;
		}
		if (s[i - 1] == '.')
			return -EINVAL;
	}
	if (i != len - 1 || s[i] != 'Z')
		return -EINVAL;
	*out_ms =
		((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + (int64_t)se * 1000 + ms;
	return 0;
}

int archive_event_time_format(int64_t ms, char *buf, size_t cap)
{
	int64_t days, secs, z, era;
	unsigned doe, yoe, doy, mp, d, m;
	int64_t y;
	int n;

	if (ms < 0 || ms >= INT64_C(253402300800000))
		return -EINVAL;
	days = ms / 86400000;
	secs = (ms / 1000) % 86400;
	z = days + 719468;
	era = z / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	n = snprintf(buf, cap, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", (long long)y, m, d,
		     (long long)(secs / 3600), (long long)(secs / 60 % 60), (long long)(secs % 60),
		     (long long)(ms % 1000));
	if (n < 0 || (size_t)n >= cap)
		return -ENOBUFS;
	return n;
}

uint64_t archive_event_fnv64(uint64_t h, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}
