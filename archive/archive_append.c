/*
 * archive_append: the append script and its call builders (see
 * archive_append.h).
 */
#include "archive/archive_append.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "archive/tlog.h"

/* Kept small and flat: it runs once per archived event. */
const char archive_append_script[] =
	"local seen = redis.call('GET', KEYS[3])\n"
	"if seen then return {0, seen} end\n"
	"local hid\n"
	"if ARGV[1] ~= '0' then\n"
	"  hid = redis.call('XADD', KEYS[1], 'MINID', '~', ARGV[1], '*', unpack(ARGV, 5))\n"
	"  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
	"else\n"
	"  hid = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 5))\n"
	"end\n"
	"local aid = redis.call('XADD', KEYS[2], '*', 'network', ARGV[3], 'stream', KEYS[1],\n"
	"                       'hid', hid, unpack(ARGV, 5))\n"
	"if ARGV[4] ~= '' then redis.call('RPUSH', KEYS[4], aid .. ' ' .. ARGV[4]) end\n"
	"redis.call('SET', KEYS[3], hid, 'PX', ARGV[2])\n"
	"return {1, hid}\n";

/* The batched form (archive_append.h): the same steps per event, one call. */
const char archive_append_batch_script[] =
	"local out, recs = {}, {}\n"
	"local a = 3\n"
	"for i = 1, #KEYS, 4 do\n"
	"  local net, seal, nf = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])\n"
	"  local s, e = a + 3, a + 2 + nf\n"
	"  a = e + 1\n"
	"  if redis.call('EXISTS', KEYS[i + 2]) == 1 then\n"
	"    out[#out + 1] = 0\n"
	"  else\n"
	"    local hid\n"
	"    if ARGV[1] ~= '0' then\n"
	"      hid = redis.call('XADD', KEYS[i], 'MINID', '~', ARGV[1], '*', unpack(ARGV, s, e))\n"
	"      redis.call('PEXPIRE', KEYS[i], ARGV[2])\n"
	"    else\n"
	"      hid = redis.call('XADD', KEYS[i], '*', unpack(ARGV, s, e))\n"
	"    end\n"
	"    local aid = redis.call('XADD', KEYS[i + 1], '*', 'network', net, 'stream', KEYS[i],\n"
	"                           'hid', hid, unpack(ARGV, s, e))\n"
	"    if seal ~= '' then recs[#recs + 1] = aid .. ' ' .. seal end\n"
	"    redis.call('SET', KEYS[i + 2], hid, 'PX', ARGV[2])\n"
	"    out[#out + 1] = 1\n"
	"  end\n"
	"end\n"
	"if #recs > 0 then redis.call('RPUSH', KEYS[4], unpack(recs)) end\n"
	"return out\n";

/* msgid keys live as long as the history; without retention, 30 days. */
#define ARCHIVE_APPEND_TTL_DEFAULT_MS (UINT64_C(30) * 24 * 3600 * 1000)

static void arg(archive_append_call_t *c, const char *p, size_t n)
{
	c->argv[c->argc] = p ? p : "";
	c->argvlen[c->argc] = n;
	c->argc++;
}

static void str_field(archive_append_call_t *c, const char *name, archive_str_t s)
{
	arg(c, name, strlen(name));
	arg(c, s.p, s.n);
}

/* The trimming bound ("0": none) and the msgid keys' TTL of o. */
static void bounds(const archive_append_opts_t *o, char *minid, size_t minid_cap, char *ttl,
		   size_t ttl_cap)
{
	int64_t bound = o->retention_ms ? o->now_ms - (int64_t)o->retention_ms : 0;

	snprintf(minid, minid_cap, "%" PRId64, bound > 0 ? bound : 0);
	snprintf(ttl, ttl_cap, "%" PRIu64,
		 o->retention_ms ? o->retention_ms : ARCHIVE_APPEND_TTL_DEFAULT_MS);
}

static int sha_valid(const char *sha)
{
	if (!sha || strlen(sha) != ARCHIVE_APPEND_SHA_LEN)
		return 0;
	for (int i = 0; i < ARCHIVE_APPEND_SHA_LEN; i++)
		if (!((sha[i] >= '0' && sha[i] <= '9') || (sha[i] >= 'a' && sha[i] <= 'f')))
			return 0;
	return 1;
}

/* The seal record of an entry as the script archives it (network and the
 * field/value strings v[0..n), n even): "<digest> <mac>" in base64
 * (archive/tlog.h). "" without a key. */
static int entry_seal(const uint8_t *key, archive_str_t network, const char *const *v,
		      const size_t *vlen, int n, char out[ARCHIVE_APPEND_SEAL_LEN + 1])
{
	tlog_field_t f[TLOG_FIELDS_MAX];
	uint8_t d[TLOG_HASH_LEN];
	size_t nf = 0;
	int err;

	out[0] = '\0';
	if (!key)
		return 0;
	if (n / 2 + 1 > TLOG_FIELDS_MAX)
		return -EINVAL;
	f[nf++] = (tlog_field_t){{"network", 7}, network};
	for (int i = 0; i + 1 < n; i += 2)
		f[nf++] = (tlog_field_t){{v[i], vlen[i]}, {v[i + 1], vlen[i + 1]}};
	if ((err = tlog_event_digest(f, nf, d)) < 0)
		return err;
	sodium_bin2base64(out, TLOG_MAC_B64_LEN + 1, d, sizeof(d), sodium_base64_VARIANT_ORIGINAL);
	out[TLOG_MAC_B64_LEN] = ' ';
	tlog_mac_digest(key, d, out + TLOG_MAC_B64_LEN + 1);
	return 0;
}

static int build_keys(const archive_event_t *ev, const archive_append_opts_t *o,
		      archive_append_call_t *c)
{
	char network[ARCHIVE_KEYS_NETWORK_MAX + 1];
	const archive_str_t *net = &ev->s[ARCHIVE_S_NETWORK], *conv = &ev->s[ARCHIVE_S_CONV];
	int k, n;

	if (net->n == 0 || net->n > ARCHIVE_KEYS_NETWORK_MAX)
		return -EINVAL;
	memcpy(network, net->p, net->n);
	network[net->n] = '\0';
	k = archive_keys_partition(network, conv->p, conv->n, IRC_CASEMAP_NONE, o->partitions);
	if (k < 0)
		return k;
	c->partition = k;
	n = archive_keys_history(k, network, conv->p, conv->n, IRC_CASEMAP_NONE, c->history,
				 sizeof(c->history));
	if (n < 0)
		return -EINVAL;
	if (archive_keys_archive(k, c->archive, sizeof(c->archive)) < 0 ||
	    archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_PENDING, c->pending, sizeof(c->pending)) < 0)
		return -EINVAL;
	if (archive_keys_msgid(k, ev->s[ARCHIVE_S_MSGID].p, ev->s[ARCHIVE_S_MSGID].n, c->msgid,
			       sizeof(c->msgid)) < 0)
		return -EINVAL;
	return 0;
}

int archive_append_build(const archive_event_t *ev, const archive_append_opts_t *o, const char *sha,
			 archive_append_call_t *out_call)
{
	archive_append_call_t *c = out_call;
	static const enum archive_event_str order[] = {ARCHIVE_S_NICK, ARCHIVE_S_USER,
						       ARCHIVE_S_HOST, ARCHIVE_S_ACCOUNT,
						       ARCHIVE_S_TEXT, ARCHIVE_S_TAGS};
	const char *type = archive_event_type_name(ev->type);
	int err, seal_at;

	if ((sha && !sha_valid(sha)) || !type)
		return -EINVAL;
	if ((err = build_keys(ev, o, c)) < 0)
		return err;
	bounds(o, c->minid, sizeof(c->minid), c->ttl, sizeof(c->ttl));
	snprintf(c->time, sizeof(c->time), "%" PRId64, ev->time_ms);
	c->argc = 0;
	if (sha) {
		memcpy(c->sha, sha, ARCHIVE_APPEND_SHA_LEN + 1);
		arg(c, "EVALSHA", 7);
		arg(c, c->sha, ARCHIVE_APPEND_SHA_LEN);
	} else {
		c->sha[0] = '\0';
		arg(c, "EVAL", 4);
		arg(c, archive_append_script, sizeof(archive_append_script) - 1);
	}
	arg(c, "4", 1);
	arg(c, c->history, strlen(c->history));
	arg(c, c->archive, strlen(c->archive));
	arg(c, c->msgid, strlen(c->msgid));
	arg(c, c->pending, strlen(c->pending));
	arg(c, c->minid, strlen(c->minid));
	arg(c, c->ttl, strlen(c->ttl));
	arg(c, ev->s[ARCHIVE_S_NETWORK].p, ev->s[ARCHIVE_S_NETWORK].n);
	seal_at = c->argc;
	arg(c, c->seal, 0);
	str_field(c, "msgid", ev->s[ARCHIVE_S_MSGID]);
	arg(c, "time", 4);
	arg(c, c->time, strlen(c->time));
	arg(c, "type", 4);
	arg(c, type, strlen(type));
	str_field(c, "conv", ev->s[ARCHIVE_S_CONV]);
	str_field(c, "target", ev->s[ARCHIVE_S_TARGET]);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		str_field(c, archive_event_str_name(order[i]), ev->s[order[i]]);
	if (ev->s[ARCHIVE_S_ARG].n)
		str_field(c, "arg", ev->s[ARCHIVE_S_ARG]);
	if ((err = entry_seal(o->mac_key, ev->s[ARCHIVE_S_NETWORK], c->argv + seal_at + 1,
			      c->argvlen + seal_at + 1, c->argc - seal_at - 1, c->seal)) < 0)
		return err;
	c->argvlen[seal_at] = strlen(c->seal);
	return 0;
}

int archive_append_batch_begin(archive_append_batch_t *b, const char *sha,
			       const archive_append_opts_t *o)
{
	if (!sha_valid(sha))
		return -EINVAL;
	memcpy(b->sha, sha, ARCHIVE_APPEND_SHA_LEN + 1);
	bounds(o, b->minid, sizeof(b->minid), b->ttl, sizeof(b->ttl));
	b->partition = -1;
	b->n = b->argc = b->nargs = 0;
	return 0;
}

static void batch_arg(archive_append_batch_t *b, const char *p, size_t n)
{
	b->args[b->nargs] = p ? p : "";
	b->argslen[b->nargs] = n;
	b->nargs++;
}

static void batch_field(archive_append_batch_t *b, const char *name, const char *p, size_t n)
{
	batch_arg(b, name, strlen(name));
	batch_arg(b, p, n);
}

int archive_append_batch_add(archive_append_batch_t *b, const archive_event_t *ev,
			     const archive_append_opts_t *o)
{
	static const enum archive_event_str order[] = {
		ARCHIVE_S_CONV, ARCHIVE_S_TARGET,  ARCHIVE_S_NICK, ARCHIVE_S_USER,
		ARCHIVE_S_HOST, ARCHIVE_S_ACCOUNT, ARCHIVE_S_TEXT, ARCHIVE_S_TAGS};
	static archive_append_call_t keys; /* build_keys' scratch; single-threaded */
	const char *type = archive_event_type_name(ev->type);
	int err, nf_at, start = b->nargs;

	if (!type)
		return -EINVAL;
	if (b->n == ARCHIVE_APPEND_BATCH_MAX)
		return -ENOSPC;
	if ((err = build_keys(ev, o, &keys)) < 0)
		return err;
	if (b->partition >= 0 && keys.partition != b->partition)
		return -EXDEV;
	b->partition = keys.partition;
	memcpy(b->archive, keys.archive, sizeof(b->archive));
	memcpy(b->pending, keys.pending, sizeof(b->pending));
	memcpy(b->ev[b->n].history, keys.history, sizeof(keys.history));
	memcpy(b->ev[b->n].msgid, keys.msgid, sizeof(keys.msgid));
	snprintf(b->ev[b->n].time, sizeof(b->ev[b->n].time), "%" PRId64, ev->time_ms);
	batch_arg(b, ev->s[ARCHIVE_S_NETWORK].p, ev->s[ARCHIVE_S_NETWORK].n);
	batch_arg(b, b->ev[b->n].seal, 0);
	nf_at = b->nargs;
	batch_arg(b, NULL, 0);
	batch_field(b, "msgid", ev->s[ARCHIVE_S_MSGID].p, ev->s[ARCHIVE_S_MSGID].n);
	batch_field(b, "time", b->ev[b->n].time, strlen(b->ev[b->n].time));
	batch_field(b, "type", type, strlen(type));
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		batch_field(b, archive_event_str_name(order[i]), ev->s[order[i]].p,
			    ev->s[order[i]].n);
	if (ev->s[ARCHIVE_S_ARG].n)
		batch_field(b, "arg", ev->s[ARCHIVE_S_ARG].p, ev->s[ARCHIVE_S_ARG].n);
	b->argslen[nf_at] = (size_t)snprintf(b->ev[b->n].nf, sizeof(b->ev[b->n].nf), "%d",
					     b->nargs - nf_at - 1);
	b->args[nf_at] = b->ev[b->n].nf;
	if ((err = entry_seal(o->mac_key, ev->s[ARCHIVE_S_NETWORK], b->args + nf_at + 1,
			      b->argslen + nf_at + 1, b->nargs - nf_at - 1, b->ev[b->n].seal)) <
	    0) {
		b->nargs = start;
		return err;
	}
	b->argslen[nf_at - 1] = strlen(b->ev[b->n].seal);
	b->n++;
	return 0;
}

static void batch_out(archive_append_batch_t *b, const char *p, size_t n)
{
	b->argv[b->argc] = p;
	b->argvlen[b->argc] = n;
	b->argc++;
}

int archive_append_batch_finish(archive_append_batch_t *b)
{
	if (b->n == 0)
		return -EINVAL;
	b->argc = 0;
	batch_out(b, "EVALSHA", 7);
	batch_out(b, b->sha, ARCHIVE_APPEND_SHA_LEN);
	batch_out(b, b->numkeys, (size_t)snprintf(b->numkeys, sizeof(b->numkeys), "%d", 4 * b->n));
	for (int i = 0; i < b->n; i++) {
		batch_out(b, b->ev[i].history, strlen(b->ev[i].history));
		batch_out(b, b->archive, strlen(b->archive));
		batch_out(b, b->ev[i].msgid, strlen(b->ev[i].msgid));
		batch_out(b, b->pending, strlen(b->pending));
	}
	batch_out(b, b->minid, strlen(b->minid));
	batch_out(b, b->ttl, strlen(b->ttl));
	for (int i = 0; i < b->nargs; i++)
		batch_out(b, b->args[i], b->argslen[i]);
	return 0;
}
