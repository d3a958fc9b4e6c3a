/*
 * eirc_archive_store: eirc-archive's blocking readers of the three stores
 * (eirc_archive.h): Redis (hiredis; on a cluster each command goes to the
 * node of its key's slot, learnt from MOVED and ASK answers), Elasticsearch
 * (common/http_client, its private loop run until each answer; a
 * partition's documents in archive id order with search_after, a page at
 * a time) and PostgreSQL (libpq, the auth database). Archive entries and documents come back as
 * ea_entry_t with the leaf's fields.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "archive/archive_event.h"
#include "archive/archive_keys.h"
#include "archive/eirc_archive.h"
#include "common/cred.h"
#include "common/http_client.h"
#include "common/redis_slot.h"
#include "common/utf8.h"

/* The largest Elasticsearch answer read (a page of EA_PAGE documents). */
#define ES_ANSWER_MAX (64u << 20)

/* ---- ids and entries ---- */

static int parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int ea_id_parse(const char *s, size_t len, ea_id_t *out)
{
	const char *dash = memchr(s, '-', len);
	ea_id_t id;

	if (!dash || parse_u64(s, (size_t)(dash - s), &id.ms) < 0 ||
	    parse_u64(dash + 1, len - (size_t)(dash - s) - 1, &id.seq) < 0)
		return -EINVAL;
	*out = id;
	return 0;
}

int ea_id_cmp(ea_id_t a, ea_id_t b)
{
	if (a.ms != b.ms)
		return a.ms < b.ms ? -1 : 1;
	if (a.seq != b.seq)
		return a.seq < b.seq ? -1 : 1;
	return 0;
}

void ea_id_format(ea_id_t id, char buf[EA_ID_MAX])
{
	snprintf(buf, EA_ID_MAX, "%" PRIu64 "-%" PRIu64, id.ms, id.seq);
}

void ea_entry_clear(ea_entry_t *e)
{
	free(e->buf);
	memset(e, 0, sizeof(*e));
}

int ea_entry_leaf(const ea_entry_t *e, uint8_t out[TLOG_HASH_LEN])
{
	return ea_entry_leaf_as(e, e->idstr, out);
}

int ea_entry_leaf_as(const ea_entry_t *e, const char *id, uint8_t out[TLOG_HASH_LEN])
{
	archive_str_t s = {id, strlen(id)};

	return tlog_leaf_hash(s, e->f, e->n, out);
}

/* Builds e from name/value pairs (copied into one buffer). */
static int entry_build(ea_entry_t *e, const char *id, const archive_str_t *names,
		       const archive_str_t *values, size_t n)
{
	size_t total = 0, at = 0;
	char *p;

	ea_entry_clear(e);
	if (strlen(id) >= EA_ID_MAX || ea_id_parse(id, strlen(id), &e->id) < 0)
		return -EINVAL;
	memcpy(e->idstr, id, strlen(id) + 1);
	for (size_t i = 0; i < n; i++)
		total += names[i].n + values[i].n + 2;
	if (!(e->buf = p = malloc(total + 1)))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char *nm = p + at, *v;
		memcpy(nm, names[i].p, names[i].n);
		nm[names[i].n] = '\0';
		at += names[i].n + 1;
		v = p + at;
		if (values[i].n)
			memcpy(v, values[i].p, values[i].n);
		v[values[i].n] = '\0';
		at += values[i].n + 1;
		if (names[i].n == 5 && !memcmp(nm, "msgid", 5))
			e->msgid = v;
		if (tlog_field_excluded(nm, names[i].n) || values[i].n == 0)
			continue;
		if (e->n == TLOG_FIELDS_MAX)
			return -EINVAL;
		e->f[e->n].name = (archive_str_t){nm, names[i].n};
		e->f[e->n].value = (archive_str_t){v, values[i].n};
		e->n++;
	}
	return 0;
}

/* ---- Redis ---- */

struct ea_redis {
	int n;
	struct {
		char addr[REDIS_SLOT_ADDR_MAX];
		redisContext *c;
	} node[EA_NODES_MAX];
	int8_t slot[REDIS_SLOT_COUNT]; /* node index + 1; 0: the first node */
};

static struct timeval ms_tv(uint64_t ms)
{
	return (struct timeval){.tv_sec = (time_t)(ms / 1000),
				.tv_usec = (suseconds_t)(ms % 1000) * 1000};
}

/* Connects to host:port and logs in; NULL after printing why. */
static redisContext *redis_connect(const ea_t *ea, const char *host, int port)
{
	const eirc_config_redis_t *rc = &ea->cfg->redis;
	redisContext *c = redisConnectWithTimeout(host, port, ms_tv(rc->connect_timeout));
	redisReply *r = NULL;

	if (!c || c->err) {
		fprintf(stderr, "eirc-archive: cannot connect to Redis at %s:%d: %s\n", host, port,
			c ? c->errstr : "out of memory");
		redisFree(c);
		return NULL;
	}
	(void)fcntl(c->fd, F_SETFD, FD_CLOEXEC);
	redisSetTimeout(c, ms_tv(rc->command_timeout));
	if (rc->username) {
		r = redisCommand(c, "AUTH %s %s", rc->username, rc->password ? rc->password : "");
	} else if (rc->password) {
		r = redisCommand(c, "AUTH %s", rc->password);
	} else {
		/* no login in the config (a production config names only the
		 * daemons' users): Redis's default user, as eirc-backup */
		char *pw = NULL;
		if (cred_get(EA_REDIS_PASSWORD_CRED, &pw) < 0)
			return c;
		r = redisCommand(c, "AUTH %s", pw);
		sodium_memzero(pw, strlen(pw));
		free(pw);
	}
	if (!r || r->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "eirc-archive: Redis at %s:%d refused the login: %s\n", host, port,
			r ? r->str : c->errstr);
		freeReplyObject(r);
		redisFree(c);
		return NULL;
	}
	freeReplyObject(r);
	return c;
}

/* The index of the node at addr ("host:port"), connecting when new; -1. */
static int redis_node(ea_t *ea, const char *addr)
{
	ea_redis_t *R = ea->redis;
	const char *colon = strrchr(addr, ':');
	char host[REDIS_SLOT_ADDR_MAX];
	uint64_t port;

	for (int i = 0; i < R->n; i++)
		if (!strcmp(R->node[i].addr, addr))
			return i;
	if (R->n == EA_NODES_MAX || !colon || (size_t)(colon - addr) >= sizeof(host) ||
	    parse_u64(colon + 1, strlen(colon + 1), &port) < 0 || port > 65535) {
		fprintf(stderr, "eirc-archive: Redis redirected to %s: refused\n", addr);
		return -1;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	if (!(R->node[R->n].c = redis_connect(ea, host, (int)port)))
		return -1;
	snprintf(R->node[R->n].addr, sizeof(R->node[R->n].addr), "%s", addr);
	return R->n++;
}

redisReply *ea_redis(ea_t *ea, int argc, const char **argv, const size_t *len)
{
	ea_redis_t *R = ea->redis;
	int ki = (argc > 2 && !strcasecmp(argv[0], "XINFO")) ? 2 : 1;
	int slot = argc > ki ? redis_slot_of(argv[ki], len[ki]) : 0, node = R->slot[slot] - 1;
	bool ask = false;

	if (node < 0)
		node = 0;
	for (int tries = 0; tries < 6; tries++) {
		redisContext *c = R->node[node].c;
		redisReply *r;
		char addr[REDIS_SLOT_ADDR_MAX];
		int rslot;

		if (ask)
			freeReplyObject(redisCommand(c, "ASKING"));
		r = redisCommandArgv(c, argc, argv, len);
		if (!r) {
			fprintf(stderr, "eirc-archive: Redis at %s: %s\n", R->node[node].addr,
				c->errstr);
			return NULL;
		}
		if (r->type != REDIS_REPLY_ERROR)
			return r;
		if (!ea->cfg->redis.cluster ||
		    redis_slot_redirect(r->str, &ask, &rslot, addr, sizeof(addr)) < 0) {
			fprintf(stderr, "eirc-archive: Redis %s %.*s: %s\n", argv[0],
				argc > 1 ? (int)len[1] : 0, argc > 1 ? argv[1] : "", r->str);
			freeReplyObject(r);
			return NULL;
		}
		freeReplyObject(r);
		if (!addr[0] || addr[0] == ':')
			snprintf(addr, sizeof(addr), "%s", R->node[node].addr);
		if ((node = redis_node(ea, addr)) < 0)
			return NULL;
		if (!ask)
			R->slot[slot] = (int8_t)(node + 1);
	}
	fprintf(stderr, "eirc-archive: Redis %s: too many redirects\n", argv[0]);
	return NULL;
}

redisReply *ea_redisf(ea_t *ea, const char *fmt, ...)
{
	/* formatted once, then split back into arguments for ea_redis */
	char *cmd = NULL;
	va_list ap;
	int n;
	redisReader *rd;
	redisReply *parsed = NULL, *out = NULL;

	va_start(ap, fmt);
	n = redisvFormatCommand(&cmd, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	/* the formatted command is a RESP array of bulk strings */
	rd = redisReaderCreate();
	if (rd && redisReaderFeed(rd, cmd, (size_t)n) == REDIS_OK &&
	    redisReaderGetReply(rd, (void **)&parsed) == REDIS_OK && parsed &&
	    parsed->type == REDIS_REPLY_ARRAY && parsed->elements <= 32) {
		const char *argv[32];
		size_t len[32];
		for (size_t i = 0; i < parsed->elements; i++) {
			argv[i] = parsed->element[i]->str;
			len[i] = parsed->element[i]->len;
		}
		out = ea_redis(ea, (int)parsed->elements, argv, len);
	}
	freeReplyObject(parsed);
	redisReaderFree(rd);
	redisFreeCommand(cmd);
	return out;
}

static int redis_open(ea_t *ea)
{
	char addr[REDIS_SLOT_ADDR_MAX];

	if (!(ea->redis = calloc(1, sizeof(*ea->redis))))
		return -ENOMEM;
	snprintf(addr, sizeof(addr), "%s:%d", ea->cfg->redis.host, ea->cfg->redis.port);
	return redis_node(ea, addr) < 0 ? -EIO : 0;
}

static void redis_close(ea_redis_t *R)
{
	if (!R)
		return;
	for (int i = 0; i < R->n; i++)
		redisFree(R->node[i].c);
	free(R);
}

/* ---- Redis stream reader ---- */

void ea_rsrc_init(ea_rsrc_t *s, ea_t *ea, const char *key, const char *after)
{
	memset(s, 0, sizeof(*s));
	s->ea = ea;
	snprintf(s->key, sizeof(s->key), "%s", key);
	snprintf(s->after, sizeof(s->after), "%s", after);
}

static int rsrc_fill(ea_rsrc_t *s)
{
	char from[EA_ID_MAX + 2], count[16];
	const char *argv[6] = {"XRANGE", s->key, from, "+", "COUNT", count};
	size_t len[6];

	snprintf(from, sizeof(from), "%s%s", strcmp(s->after, "-") ? "(" : "", s->after);
	snprintf(count, sizeof(count), "%d", EA_PAGE);
	for (int i = 0; i < 6; i++)
		len[i] = strlen(argv[i]);
	freeReplyObject(s->page);
	s->page = NULL;
	s->at = 0;
	if (!(s->page = ea_redis(s->ea, 6, argv, len)))
		return -EIO;
	if (s->page->type != REDIS_REPLY_ARRAY)
		return -EIO;
	if (s->page->elements < EA_PAGE)
		s->done = true;
	return 0;
}

int ea_rsrc_next(ea_rsrc_t *s, ea_entry_t *e)
{
	archive_str_t names[2 * TLOG_FIELDS_MAX], values[2 * TLOG_FIELDS_MAX];
	redisReply *it, *kv;
	size_t n = 0;

	if (!s->page || s->at == s->page->elements) {
		if (s->done)
			return 0;
		if (rsrc_fill(s) < 0)
			return -EIO;
		if (s->page->elements == 0)
			return 0;
	}
	it = s->page->element[s->at++];
	if (it->type != REDIS_REPLY_ARRAY || it->elements != 2 ||
	    it->element[0]->type != REDIS_REPLY_STRING || it->element[1]->type != REDIS_REPLY_ARRAY)
		return -EIO;
	kv = it->element[1];
	for (size_t i = 0; i + 1 < kv->elements && n < 2 * TLOG_FIELDS_MAX; i += 2, n++) {
		names[n] = (archive_str_t){kv->element[i]->str, kv->element[i]->len};
		values[n] = (archive_str_t){kv->element[i + 1]->str, kv->element[i + 1]->len};
	}
	snprintf(s->after, sizeof(s->after), "%s", it->element[0]->str);
	if (entry_build(e, it->element[0]->str, names, values, n) < 0) {
		fprintf(stderr, "eirc-archive: %s %s: malformed entry\n", s->key,
			it->element[0]->str);
		return -EIO;
	}
	return 1;
}

void ea_rsrc_free(ea_rsrc_t *s)
{
	freeReplyObject(s->page);
	s->page = NULL;
}

/* ---- Elasticsearch ---- */

struct ea_es {
	uv_loop_t loop;
	http_client_t *http;
	char auth[1024];
	size_t url; /* the node that answered last */
	/* the answer of the request in flight */
	bool done;
	int err;
	long status;
	char *body;
	size_t len;
};

/* The answer of a request: kept for es_post, which runs the loop until it
 * comes. */
static void es_answer(void *ud, const http_client_answer_t *ans, const eirc_err_t *why)
{
	ea_es_t *es = ud;

	(void)why;
	es->done = true;
	es->err = ans->err;
	es->status = ans->status;
	free(es->body);
	es->body = NULL;
	es->len = 0;
	if (ans->err == 0 && (es->body = malloc(ans->len + 1))) {
		memcpy(es->body, ans->body, ans->len + 1);
		es->len = ans->len;
	}
}

/* One request, blocking: sends it and runs the private loop until the
 * answer. 0, or the client's negative errno. */
static int es_send(ea_es_t *es, const http_client_req_t *req)
{
	int rc;

	es->done = false;
	if ((rc = http_client_send(es->http, req, es_answer, es, NULL)) < 0)
		return rc;
	while (!es->done)
		uv_run(&es->loop, UV_RUN_ONCE);
	return es->err;
}

/* POSTs json to path on the first node that answers; the parsed answer
 * (json_decref) or NULL after printing why (unless quiet). */
static json_t *es_post_q(ea_t *ea, const char *path, json_t *body, bool quiet)
{
	const eirc_config_elasticsearch_t *c = &ea->cfg->elasticsearch;
	ea_es_t *es = ea->es;
	char *text = json_dumps(body, JSON_COMPACT), url[2048];
	const char *hdr[2] = {"Content-Type: application/json", es->auth};
	int rc = -EIO;
	json_t *out;

	if (!text)
		return NULL;
	for (size_t t = 0; t < c->n_urls; t++) {
		size_t u = (es->url + t) % c->n_urls, blen = strlen(c->urls[u]);
		http_client_req_t req = {
			.method = "POST",
			.url = url,
			.headers = hdr,
			.n_headers = es->auth[0] ? 2 : 1,
			.username = c->api_key ? NULL : c->username,
			.password = c->password,
			.body = text,
			.body_len = strlen(text),
			.timeout_ms = c->request_timeout,
			.answer_max = ES_ANSWER_MAX,
			.tls_no_verify = !c->tls_verify,
			.tls_ca_file = c->tls_ca_file,
		};
		snprintf(url, sizeof(url), "%.*s%s",
			 (int)(blen && c->urls[u][blen - 1] == '/' ? blen - 1 : blen), c->urls[u],
			 path);
		if ((rc = es_send(es, &req)) == 0) {
			es->url = u;
			break;
		}
	}
	free(text);
	if (rc < 0) {
		if (!quiet)
			fprintf(stderr, "eirc-archive: Elasticsearch unreachable: %s\n",
				strerror(-rc));
		return NULL;
	}
	out = json_loadb(es->body ? es->body : "", es->len, 0, NULL);
	if (es->status == 404 && out) /* no index yet: no documents */
		return out;
	if (es->status != 200 || !out) {
		if (!quiet)
			fprintf(stderr, "eirc-archive: Elasticsearch %s answered %ld: %.300s\n",
				path, es->status, es->body ? es->body : "");
		json_decref(out);
		return NULL;
	}
	return out;
}

static json_t *es_post(ea_t *ea, const char *path, json_t *body)
{
	return es_post_q(ea, path, body, false);
}

static int es_open(ea_t *ea)
{
	const eirc_config_elasticsearch_t *c = &ea->cfg->elasticsearch;
	ea_es_t *es;

	if (!(ea->es = es = calloc(1, sizeof(*es))))
		return -ENOMEM;
	if (uv_loop_init(&es->loop) < 0) {
		free(es);
		ea->es = NULL;
		return -ENOMEM;
	}
	if (c->api_key)
		snprintf(es->auth, sizeof(es->auth), "Authorization: ApiKey %s", c->api_key);
	return http_client_new(&es->loop, NULL, &es->http);
}

static void es_closed(void *arg)
{
	*(bool *)arg = true;
}

static void es_close(ea_es_t *es)
{
	bool closed = false;

	if (!es)
		return;
	if (es->http) {
		http_client_close(es->http, es_closed, &closed);
		while (!closed)
			uv_run(&es->loop, UV_RUN_ONCE);
	}
	uv_run(&es->loop, UV_RUN_NOWAIT);
	(void)uv_loop_close(&es->loop);
	free(es->body);
	free(es);
}

/* The document's value of one archive field: the exact bytes of
 * <name>_b64 when present, else the string. */
static int doc_field(json_t *src, const char *esname, const char *alt, char **out, size_t *out_n)
{
	char key[64];
	json_t *v;

	*out = NULL;
	*out_n = 0;
	for (int pass = 0; pass < 2; pass++) {
		const char *nm = pass ? alt : esname;
		if (!nm)
			continue;
		snprintf(key, sizeof(key), "%s_b64", nm);
		if (json_is_string(v = json_object_get(src, key))) {
			size_t cap = json_string_length(v) + 1, n;
			uint8_t *b = malloc(cap);
			if (!b || ea_b64_decode(json_string_value(v), json_string_length(v), b, cap,
						&n) < 0) {
				free(b);
				return -EINVAL;
			}
			*out = (char *)b;
			*out_n = n;
			return 0;
		}
	}
	if (json_is_string(v = json_object_get(src, esname))) {
		*out_n = json_string_length(v);
		if (!(*out = malloc(*out_n + 1)))
			return -ENOMEM;
		memcpy(*out, json_string_value(v), *out_n);
	}
	return 0;
}

/* The event time (ms) as the archive stores it: "time" if shipped, else
 * @timestamp. */
static int doc_time(json_t *src, char *buf, size_t cap)
{
	json_t *v = json_object_get(src, "time");
	int64_t ms;

	if (json_is_integer(v))
		return snprintf(buf, cap, "%" PRId64, (int64_t)json_integer_value(v));
	if (json_is_string(v))
		return snprintf(buf, cap, "%s", json_string_value(v));
	v = json_object_get(src, "@timestamp");
	if (!json_is_string(v) ||
	    archive_event_time_parse(json_string_value(v), json_string_length(v), &ms) < 0)
		return -EINVAL;
	return snprintf(buf, cap, "%" PRId64, ms);
}

/* Archive field name, document field name, its other name for <name>_b64. */
static const char *const doc_map[][3] = {
	{"network", "network", NULL}, {"msgid", "msgid", NULL},   {"type", "type", NULL},
	{"conv", "channel", "conv"},  {"target", "target", NULL}, {"nick", "nick", NULL},
	{"user", "user", NULL},       {"host", "host", NULL},     {"account", "account", NULL},
	{"text", "text", NULL},       {"tags", "tags", NULL},     {"arg", "arg", NULL},
};
#define DOC_FIELDS (sizeof(doc_map) / sizeof(doc_map[0]))

/* A hit as an entry: the fields the archive entry had. */
static int doc_entry(json_t *hit, ea_entry_t *e)
{
	json_t *src = json_object_get(hit, "_source"), *aid;
	archive_str_t names[DOC_FIELDS + 1], values[DOC_FIELDS + 1];
	char *val[DOC_FIELDS] = {0}, t[32];
	size_t n = 0;
	int rc = -EINVAL;

	aid = json_object_get(src, "archive_id");
	if (!json_is_object(src) || !json_is_string(aid) || doc_time(src, t, sizeof(t)) <= 0)
		return -EINVAL;
	for (size_t i = 0; i < DOC_FIELDS; i++) {
		size_t vn;
		if (doc_field(src, doc_map[i][1], doc_map[i][2], &val[i], &vn) < 0)
			goto free_vals;
		names[n] = (archive_str_t){doc_map[i][0], strlen(doc_map[i][0])};
		values[n++] = (archive_str_t){val[i], vn};
	}
	names[n] = (archive_str_t){"time", 4};
	values[n++] = (archive_str_t){t, strlen(t)};
	rc = entry_build(e, json_string_value(aid), names, values, n);
free_vals:
	for (size_t i = 0; i < DOC_FIELDS; i++)
		free(val[i]);
	return rc;
}

static char *es_path(ea_t *ea, char *buf, size_t cap)
{
	snprintf(buf, cap, "/%s-*/_search", ea->cfg->elasticsearch.index_prefix);
	return buf;
}

void ea_es_refresh(ea_t *ea)
{
	char path[256];
	json_t *q = json_object(), *ans;

	snprintf(path, sizeof(path), "/%s-*/_refresh", ea->cfg->elasticsearch.index_prefix);
	ans = es_post_q(ea, path, q, true);
	json_decref(ans);
	json_decref(q);
}

void ea_esrc_init(ea_esrc_t *s, ea_t *ea, int k, const ea_id_t *after)
{
	memset(s, 0, sizeof(*s));
	s->ea = ea;
	s->k = k;
	if (after) {
		s->has_after = true;
		s->after = *after;
	}
}

static int esrc_fill(ea_esrc_t *s)
{
	char path[256];
	json_t *q, *ans, *hits;

	/* unmapped_type: daily indices from before the log have no such
	 * fields, and sorting on an unmapped field fails the search */
	q = json_pack("{s:i, s:{s:{s:i}}, s:[{s:{s:s, s:s}}, {s:{s:s, s:s}}]}", "size", EA_PAGE,
		      "query", "term", "partition", s->k, "sort", "archive_ms", "order", "asc",
		      "unmapped_type", "long", "archive_seq", "order", "asc", "unmapped_type",
		      "long");
	if (s->has_after)
		json_object_set_new(
			q, "search_after",
			json_pack("[I, I]", (json_int_t)s->after.ms, (json_int_t)s->after.seq));
	ans = es_post(s->ea, es_path(s->ea, path, sizeof(path)), q);
	json_decref(q);
	if (!ans)
		return -EIO;
	json_decref(s->page);
	s->page = NULL;
	s->at = 0;
	hits = json_object_get(json_object_get(ans, "hits"), "hits");
	s->page = json_is_array(hits) ? json_incref(hits) : json_array();
	json_decref(ans);
	if (json_array_size(s->page) < EA_PAGE)
		s->done = true;
	return 0;
}

int ea_esrc_next(ea_esrc_t *s, ea_entry_t *e)
{
	json_t *hit;

	if (!s->page || s->at == json_array_size(s->page)) {
		if (s->done)
			return 0;
		if (esrc_fill(s) < 0)
			return -EIO;
		if (json_array_size(s->page) == 0)
			return 0;
	}
	hit = json_array_get(s->page, s->at++);
	if (doc_entry(hit, e) < 0) {
		fprintf(stderr, "eirc-archive: Elasticsearch document %s: malformed\n",
			json_string_value(json_object_get(hit, "_id")));
		return -EIO;
	}
	s->after = e->id;
	s->has_after = true;
	return 1;
}

void ea_esrc_free(ea_esrc_t *s)
{
	json_decref(s->page);
	s->page = NULL;
}

int ea_es_find_msgid(ea_t *ea, const char *msgid, ea_entry_t *e, int *out_k)
{
	char path[256];
	json_t *q = json_pack("{s:i, s:{s:{s:s}}}", "size", 1, "query", "term", "msgid", msgid);
	json_t *ans = es_post(ea, es_path(ea, path, sizeof(path)), q), *hit, *k;
	int rc = 0;

	json_decref(q);
	if (!ans)
		return -EIO;
	hit = json_array_get(json_object_get(json_object_get(ans, "hits"), "hits"), 0);
	k = json_object_get(json_object_get(hit, "_source"), "partition");
	if (hit && json_is_integer(k) && doc_entry(hit, e) == 0) {
		*out_k = (int)json_integer_value(k);
		rc = 1;
	}
	json_decref(ans);
	return rc;
}

/* ---- PostgreSQL ---- */

static int pg_open(ea_t *ea)
{
	const eirc_config_auth_database_t *d = &ea->cfg->auth.database;
	char port[16], timeout[24];
	const char *keys[] = {
		"host", "port", "dbname", "user", "password", "connect_timeout", "application_name",
		NULL};
	const char *vals[8];

	snprintf(port, sizeof(port), "%d", d->port);
	snprintf(timeout, sizeof(timeout), "%" PRIu64, (d->connect_timeout + 999) / 1000);
	vals[0] = d->host;
	vals[1] = port;
	vals[2] = d->name;
	vals[3] = d->user;
	vals[4] = d->password;
	vals[5] = timeout;
	vals[6] = "eirc-archive";
	vals[7] = NULL;
	ea->pg = (struct pg_conn *)PQconnectdbParams(keys, vals, 0);
	if (PQstatus((PGconn *)ea->pg) != CONNECTION_OK) {
		fprintf(stderr, "eirc-archive: cannot connect to PostgreSQL: %s",
			PQerrorMessage((PGconn *)ea->pg));
		return -EIO;
	}
	return 0;
}

struct pg_conn *ea_pg(ea_t *ea)
{
	return ea->pg;
}

/* ---- opening ---- */

int ea_open(ea_t *ea, bool want_es, bool want_pg)
{
	if (redis_open(ea) < 0)
		return EA_EXIT_UNREACHABLE;
	if (want_es && ea->cfg->elasticsearch.n_urls > 0) {
		if (es_open(ea) < 0)
			return EA_EXIT_UNREACHABLE;
	}
	if (want_pg && pg_open(ea) < 0)
		return EA_EXIT_UNREACHABLE;
	return 0;
}

void ea_close(ea_t *ea)
{
	redis_close(ea->redis);
	ea->redis = NULL;
	es_close(ea->es);
	ea->es = NULL;
	if (ea->pg)
		PQfinish((PGconn *)ea->pg);
	ea->pg = NULL;
}

/* ---- base64 ---- */

int ea_b64_encode(const uint8_t *p, size_t n, char *out, size_t cap)
{
	if (cap < sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL))
		return -ENOBUFS;
	sodium_bin2base64(out, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
	return (int)strlen(out);
}

int ea_b64_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
	const char *end;
	size_t len;

	if (sodium_base642bin(out, cap, s, n, NULL, &len, &end, sodium_base64_VARIANT_ORIGINAL) !=
		    0 ||
	    end != s + n)
		return -EINVAL;
	*out_len = len;
	return 0;
}
