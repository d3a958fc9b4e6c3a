/*
 * lg_append: the append script and its call builder (see lg_append.h).
 */
#include "logger-bot/lg_append.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Kept small and flat: it runs once per archived event. */
const char lg_append_script[] =
	"local seen = redis.call('GET', KEYS[3])\n"
	"if seen then return {0, seen} end\n"
	"local hid\n"
	"if ARGV[1] ~= '0' then\n"
	"  hid = redis.call('XADD', KEYS[1], 'MINID', '~', ARGV[1], '*', unpack(ARGV, 4))\n"
	"else\n"
	"  hid = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 4))\n"
	"end\n"
	"redis.call('XADD', KEYS[2], '*', 'network', ARGV[3], 'stream', KEYS[1], 'hid', hid,\n"
	"           unpack(ARGV, 4))\n"
	"redis.call('SET', KEYS[3], hid, 'PX', ARGV[2])\n"
	"return {1, hid}\n";

/* msgid keys live as long as the history; without retention, 30 days. */
#define LG_APPEND_TTL_DEFAULT_MS (UINT64_C(30) * 24 * 3600 * 1000)

static void arg(struct lg_append_call *c, const char *p, size_t n)
{
	c->argv[c->argc] = p ? p : "";
	c->argvlen[c->argc] = n;
	c->argc++;
}

static void str_field(struct lg_append_call *c, const char *name, struct lg_str s)
{
	arg(c, name, strlen(name));
	arg(c, s.p, s.n);
}

static int sha_valid(const char *sha)
{
	if (!sha || strlen(sha) != LG_APPEND_SHA_LEN)
		return 0;
	for (int i = 0; i < LG_APPEND_SHA_LEN; i++)
		if (!((sha[i] >= '0' && sha[i] <= '9') || (sha[i] >= 'a' && sha[i] <= 'f')))
			return 0;
	return 1;
}

static int build_keys(const struct lg_event *ev, const struct lg_append_opts *o,
                      struct lg_append_call *c)
{
	char network[LG_KEYS_NETWORK_MAX + 1];
	const struct lg_str *net = &ev->s[LG_S_NETWORK], *conv = &ev->s[LG_S_CONV];
	int k, n;

	if (net->n == 0 || net->n > LG_KEYS_NETWORK_MAX)
		return -EINVAL;
	memcpy(network, net->p, net->n);
	network[net->n] = '\0';
	k = lg_keys_partition(network, conv->p, conv->n, IRC_CASEMAP_NONE, o->partitions);
	if (k < 0)
		return k;
	c->partition = k;
	n = lg_keys_history(k, network, conv->p, conv->n, IRC_CASEMAP_NONE, c->history,
	                    sizeof(c->history));
	if (n < 0)
		return -EINVAL;
	if (lg_keys_archive(k, c->archive, sizeof(c->archive)) < 0)
		return -EINVAL;
	if (lg_keys_msgid(k, ev->s[LG_S_MSGID].p, ev->s[LG_S_MSGID].n, c->msgid,
	                  sizeof(c->msgid)) < 0)
		return -EINVAL;
	return 0;
}

int lg_append_build(const struct lg_event *ev, const struct lg_append_opts *o, const char *sha,
                    struct lg_append_call *out_call)
{
	struct lg_append_call *c = out_call;
	static const enum lg_event_str order[] = { LG_S_NICK, LG_S_USER, LG_S_HOST, LG_S_ACCOUNT,
		                                   LG_S_TEXT, LG_S_TAGS };
	int64_t minid = o->retention_ms ? o->now_ms - (int64_t)o->retention_ms : 0;
	uint64_t ttl = o->retention_ms ? o->retention_ms : LG_APPEND_TTL_DEFAULT_MS;
	const char *type = lg_event_type_name(ev->type);
	int err;

	if (!sha_valid(sha) || !type)
		return -EINVAL;
	if ((err = build_keys(ev, o, c)) < 0)
		return err;
	memcpy(c->sha, sha, LG_APPEND_SHA_LEN + 1);
	snprintf(c->minid, sizeof(c->minid), "%" PRId64, minid > 0 ? minid : 0);
	snprintf(c->ttl, sizeof(c->ttl), "%" PRIu64, ttl);
	snprintf(c->time, sizeof(c->time), "%" PRId64, ev->time_ms);
	c->argc = 0;
	arg(c, "EVALSHA", 7);
	arg(c, c->sha, LG_APPEND_SHA_LEN);
	arg(c, "3", 1);
	arg(c, c->history, strlen(c->history));
	arg(c, c->archive, strlen(c->archive));
	arg(c, c->msgid, strlen(c->msgid));
	arg(c, c->minid, strlen(c->minid));
	arg(c, c->ttl, strlen(c->ttl));
	arg(c, ev->s[LG_S_NETWORK].p, ev->s[LG_S_NETWORK].n);
	str_field(c, "msgid", ev->s[LG_S_MSGID]);
	arg(c, "time", 4);
	arg(c, c->time, strlen(c->time));
	arg(c, "type", 4);
	arg(c, type, strlen(type));
	str_field(c, "conv", ev->s[LG_S_CONV]);
	str_field(c, "target", ev->s[LG_S_TARGET]);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		str_field(c, lg_event_str_name(order[i]), ev->s[order[i]]);
	if (ev->s[LG_S_ARG].n)
		str_field(c, "arg", ev->s[LG_S_ARG]);
	return 0;
}
