/*
 * config_walk: libyaml events -> eirc_config_t, generic over the schema.
 *
 * Each walk_* function is entered with w->ev holding the first event of a
 * node and returns with w->ev holding its last event, or returns false when
 * the walk must stop (syntax error, too many errors, out of memory). The
 * recursion follows the schema only (a few levels); subtrees the schema
 * does not know are skipped iteratively, so hostile nesting costs no stack.
 */
#include "config/config_walk.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/cred.h"
#include "config/config_schema.h"
#include "config/config_value.h"

/* Longest key segment shown in a path, and the longest key we try to match
 * for "did you mean". */
#define WALK_SEGMENT_MAX 64

typedef struct walk {
	yaml_parser_t parser;
	yaml_event_t ev;
	bool have_ev;
	bool stop;
	bool nomem;
	const char *buf;
	size_t len;
	unsigned depth;
	eirc_config_errors_t *errs;
	eirc_config_t *cfg;             /* for its ${NAME} references */
	const eirc_config_vars_t *vars; /* NULL: every key, common/cred.h */
	char *cred;                     /* the last value cred_get gave (wiped) */
	char path[CONFIG_KEYPATH_MAX];
	size_t path_len;
} walk_t;

struct config_check {
	walk_t *w;
	const config_section_t *sec;
	const yaml_mark_t *seen_at;
	const bool *seen;
	yaml_mark_t owner;
};

/* ---- errors ---- */

int config_errors_add(eirc_config_errors_t *errs, unsigned line, unsigned column, const char *path,
		      const char *fmt, ...)
{
	char msg[CONFIG_MSG_MAX * 2];
	eirc_config_error_t *v, *e;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v = realloc(errs->v, (errs->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	errs->v = v;
	e = &v[errs->n];
	e->line = line;
	e->column = column;
	e->path = strdup(path);
	e->message = strdup(msg);
	if (!e->path || !e->message) {
		free(e->path);
		free(e->message);
		return -ENOMEM;
	}
	errs->n++;
	return 0;
}

static void walk_vfail(walk_t *w, yaml_mark_t at, const char *path, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static void walk_vfail(walk_t *w, yaml_mark_t at, const char *path, const char *fmt, va_list ap)
{
	char msg[CONFIG_MSG_MAX * 2];
	unsigned line = (unsigned)at.line + 1, col = (unsigned)at.column + 1;

	if (w->stop)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (config_errors_add(w->errs, line, col, path, "%s", msg) != 0) {
		w->nomem = w->stop = true;
		return;
	}
	if (w->errs->n == CONFIG_ERRORS_MAX) {
		if (config_errors_add(w->errs, line, col, "",
				      "too many errors "
				      "(CONFIG_ERRORS_MAX is %d), stopping here",
				      CONFIG_ERRORS_MAX) != 0)
			w->nomem = true;
		w->stop = true;
	}
}

static void walk_fail(walk_t *w, yaml_mark_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void walk_fail(walk_t *w, yaml_mark_t at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	walk_vfail(w, at, w->path, fmt, ap);
	va_end(ap);
}

/* ---- key path ---- */

/* Append sep and the first n bytes of s to the path; returns the length to
 * restore with walk_pop. Odd bytes show as '?', long keys end in "...". */
static size_t walk_push(walk_t *w, const char *sep, const char *s, size_t n)
{
	size_t saved = w->path_len, o = saved, room = sizeof(w->path) - 4;

	for (const char *p = sep; *p && o < room; p++)
		w->path[o++] = *p;
	for (size_t i = 0; i < n && i < WALK_SEGMENT_MAX && o < room; i++) {
		unsigned char c = (unsigned char)s[i];
		w->path[o++] = (c <= ' ' || c == 0x7f) ? '?' : (char)c;
	}
	if (n > WALK_SEGMENT_MAX || o == room) {
		memcpy(w->path + o, "...", 3);
		o += 3;
	}
	w->path[o] = '\0';
	w->path_len = o;
	return saved;
}

static size_t walk_push_key(walk_t *w, const char *key, size_t n)
{
	return walk_push(w, w->path_len ? "." : "", key, n);
}

static size_t walk_push_index(walk_t *w, size_t i)
{
	char idx[32];

	snprintf(idx, sizeof(idx), "[%zu]", i);
	return walk_push(w, "", idx, strlen(idx));
}

static void walk_pop(walk_t *w, size_t saved)
{
	w->path_len = saved;
	w->path[saved] = '\0';
}

/* ---- events ---- */

static void walk_syntax_error(walk_t *w)
{
	yaml_parser_t *p = &w->parser;
	yaml_mark_t at = p->problem_mark;
	char ctx[CONFIG_MSG_MAX] = "";

	if (p->error == YAML_MEMORY_ERROR) {
		w->nomem = true;
		return;
	}
	if (p->error == YAML_READER_ERROR) {
		/* The reader gives a byte offset, not a mark. */
		at.line = at.column = 0;
		for (size_t i = 0; i < p->problem_offset && i < w->len; i++) {
			unsigned char c = (unsigned char)w->buf[i];
			if (c == '\n') {
				at.line++;
				at.column = 0;
			} else if ((c & 0xc0) != 0x80) {
				at.column++;
			}
		}
	}
	if (p->context)
		snprintf(ctx, sizeof(ctx), " (%s at line %zu, column %zu)", p->context,
			 p->context_mark.line + 1, p->context_mark.column + 1);
	if (config_errors_add(w->errs, (unsigned)at.line + 1, (unsigned)at.column + 1, "",
			      "YAML syntax error: %s%s",
			      p->problem ? p->problem : "unknown problem", ctx) != 0)
		w->nomem = true;
}

/* Next event into w->ev; false (and w->stop) when the walk must end. */
static bool walk_next(walk_t *w)
{
	if (w->have_ev) {
		yaml_event_delete(&w->ev);
		w->have_ev = false;
	}
	if (w->stop)
		return false;
	if (!yaml_parser_parse(&w->parser, &w->ev)) {
		walk_syntax_error(w);
		w->stop = true;
		return false;
	}
	w->have_ev = true;
	return true;
}

static const char *walk_node_name(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SEQUENCE_START_EVENT:
		return "a list";
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	case YAML_ALIAS_EVENT:
		return "an alias";
	default:
		return "a scalar";
	}
}

static bool walk_is_null(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;

	if (ev->type != YAML_SCALAR_EVENT || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !strcmp(v, "") || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

/* Enter a collection: false when it would nest deeper than
 * CONFIG_DEPTH_MAX (the caller then skips it, which reports it). */
static bool walk_enter(walk_t *w)
{
	if (w->depth + 1 > CONFIG_DEPTH_MAX)
		return false;
	w->depth++;
	return true;
}

/* Skip the node at w->ev. Nesting deeper than CONFIG_DEPTH_MAX ends the
 * walk: libyaml's scanner does work proportional to the flow nesting for
 * every token, so hostile nesting must not be read any further. */
static bool walk_skip(walk_t *w)
{
	unsigned level = 0, base = w->depth;

	do {
		switch (w->ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			level++;
			if (base + level > CONFIG_DEPTH_MAX) {
				walk_fail(w, w->ev.start_mark,
					  "nesting is deeper than %d "
					  "levels (CONFIG_DEPTH_MAX), stopping here",
					  CONFIG_DEPTH_MAX);
				w->stop = true;
				return false;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			level--;
			break;
		default:
			break;
		}
	} while (level > 0 && walk_next(w));
	return !w->stop;
}

/* Report that the node at w->ev is not what row f needs, and skip it. */
static bool walk_wrong_type(walk_t *w, const char *expected)
{
	if (w->ev.type == YAML_ALIAS_EVENT)
		walk_fail(w, w->ev.start_mark, "YAML aliases are not supported");
	else
		walk_fail(w, w->ev.start_mark, "expected %s, got %s", expected,
			  walk_node_name(&w->ev));
	return walk_skip(w);
}

/* ---- scalars ---- */

/* The current key path without its list indexes ("irc.servers.host"). */
static void walk_key(const walk_t *w, char out[CONFIG_KEYPATH_MAX])
{
	size_t o = 0;

	for (size_t i = 0; i < w->path_len; i++) {
		if (w->path[i] == '[')
			i += strcspn(w->path + i, "]");
		else
			out[o++] = w->path[i];
	}
	out[o] = '\0';
}

/* Records the reference of ${name} under the current key, once per (key,
 * name); see eirc_config_env_refs. */
static int walk_env_ref(void *ud, const char *name, char *msg, size_t msg_size)
{
	walk_t *w = ud;
	eirc_config_t *cfg = w->cfg;
	char key[CONFIG_KEYPATH_MAX];
	size_t key_len;
	eirc_config_env_ref_t *v;

	walk_key(w, key);
	key_len = strlen(key);
	for (size_t i = 0; i < cfg->n_env_refs; i++) {
		const eirc_config_env_ref_t *e = &cfg->env_refs[i];
		if (!strcmp(e->key, key) && !strcmp(e->name, name))
			return 0;
	}
	if (cfg->n_env_refs == CONFIG_ENV_REFS_MAX) {
		snprintf(msg, msg_size,
			 "more than %d ${NAME} references "
			 "(CONFIG_ENV_REFS_MAX)",
			 CONFIG_ENV_REFS_MAX);
		return -EINVAL;
	}
	/* one allocation: "key\0name\0", freed through key */
	char *both = malloc(key_len + strlen(name) + 2);
	if (!both)
		return -ENOMEM;
	memcpy(both, key, key_len + 1);
	strcpy(both + key_len + 1, name);
	v = realloc(cfg->env_refs, (cfg->n_env_refs + 1) * sizeof(*v));
	if (!v) {
		free(both);
		return -ENOMEM;
	}
	cfg->env_refs = v;
	v[cfg->n_env_refs] = (eirc_config_env_ref_t){both, both + key_len + 1};
	cfg->n_env_refs++;
	return 0;
}

static void walk_cred_free(walk_t *w)
{
	if (w->cred) {
		explicit_bzero(w->cred, strlen(w->cred));
		free(w->cred);
		w->cred = NULL;
	}
}

/* Whether the program reads the current key: it is under one of
 * w->vars->keys (every key without a list). */
static bool walk_key_read(const walk_t *w)
{
	char key[CONFIG_KEYPATH_MAX];

	if (!w->vars || !w->vars->keys)
		return true;
	walk_key(w, key);
	for (const char *const *k = w->vars->keys; *k; k++) {
		size_t len = strlen(*k);
		if (!strncmp(key, *k, len) && (!key[len] || key[len] == '.'))
			return true;
	}
	return false;
}

/* The value of ${name}: the program's table (vars->get), else the
 * environment then $CREDENTIALS_DIRECTORY (docs/operations.md, "Secrets"); unset
 * under a key the program does not read, EIRC_CONFIG_VAR_UNREAD. */
static int walk_var(void *ud, const char *name, const char **out_value, char *msg, size_t msg_size)
{
	walk_t *w = ud;
	const char *v = NULL;
	int r = -ENOENT;

	walk_cred_free(w);
	if (w->vars && w->vars->get)
		v = w->vars->get(w->vars->ud, name);
	else if ((r = cred_get(name, &w->cred)) == -ENOMEM)
		return r;
	else if (r == 0)
		v = w->cred;
	if (!v && (r == -ENOENT || (w->vars && w->vars->get)) && !walk_key_read(w))
		v = EIRC_CONFIG_VAR_UNREAD;
	if (v) {
		*out_value = v;
		return 0;
	}
	if (w->vars && w->vars->get)
		snprintf(msg, msg_size, "variable %s is not set", name);
	else if (r == -ENOENT)
		snprintf(msg, msg_size,
			 "%s is not set (neither in the environment nor in "
			 "$CREDENTIALS_DIRECTORY)",
			 name);
	else if (r == -EFBIG)
		snprintf(msg, msg_size,
			 "$CREDENTIALS_DIRECTORY/%s: longer than %d bytes (CRED_VALUE_MAX)", name,
			 CRED_VALUE_MAX);
	else if (r == -EINVAL)
		snprintf(msg, msg_size, "$CREDENTIALS_DIRECTORY/%s: holds a NUL byte", name);
	else
		snprintf(msg, msg_size, "$CREDENTIALS_DIRECTORY/%s: %s", name, strerror(-r));
	return -EINVAL;
}

/* Parse the scalar at w->ev per row f into slot. */
static bool walk_scalar(walk_t *w, const config_field_t *f, void *slot)
{
	const char *text = (const char *)w->ev.data.scalar.value;
	size_t len = w->ev.data.scalar.length;
	bool is_null = walk_is_null(&w->ev);
	bool is_str = f->type == CONFIG_T_STRING || f->type == CONFIG_T_SECRET ||
		      f->type == CONFIG_T_PATH;
	char msg[CONFIG_MSG_MAX], *expanded = NULL;
	config_value_refs_t refs = {walk_env_ref, walk_var, w};
	int r = 0;

	/* Strings are measured after ${} expansion, by config_value_expand. */
	if (!is_str && len > CONFIG_STRING_MAX) {
		walk_fail(w, w->ev.start_mark,
			  "longer than %d bytes "
			  "(CONFIG_STRING_MAX)",
			  CONFIG_STRING_MAX);
		return !w->stop;
	}
	if (is_str && !is_null)
		r = config_value_expand(text, len, &refs, &expanded, &len, msg, sizeof(msg));
	if (r == 0)
		r = config_value_set(f, expanded ? expanded : text, len, is_null, slot, msg,
				     sizeof(msg));
	free(expanded);
	if (r == -ENOMEM)
		w->nomem = w->stop = true;
	else if (r != 0)
		walk_fail(w, w->ev.start_mark, "%s", msg);
	return !w->stop;
}

/* What a YAML node for row f must be. An enum is written as a string. */
static const char *walk_expected(const config_field_t *f)
{
	return f->type == CONFIG_T_ENUM ? "a string" : config_schema_type_noun(f->type);
}

/* ---- lists ---- */

/* Make room for one more element of `size` bytes in the array at *slot. */
static void *walk_grow(walk_t *w, void *slot, size_t n, size_t size)
{
	char *v = realloc(*(char **)slot, (n + 1) * size);

	if (!v) {
		w->nomem = w->stop = true;
		return NULL;
	}
	*(char **)slot = v;
	memset(v + n * size, 0, size);
	return v + n * size;
}

static bool walk_mapping(walk_t *w, const config_section_t *sec, void *base, yaml_mark_t owner);
static bool walk_empty(walk_t *w, const config_section_t *sec, void *base, yaml_mark_t owner);

/* One item of a list at w->ev, already counted in *count. */
static bool walk_item(walk_t *w, const config_field_t *f, char *slot, size_t *count)
{
	config_field_t item = {.name = f->name,
			       .type = CONFIG_T_STRING,
			       .flags = CONFIG_F_REQUIRED,
			       .validate = f->validate};
	yaml_mark_t at = w->ev.start_mark;
	bool is_null = walk_is_null(&w->ev);
	char msg[CONFIG_MSG_MAX];
	void *elem;

	if (f->type == CONFIG_T_STRLIST && w->ev.type != YAML_SCALAR_EVENT)
		return walk_wrong_type(w, "a string");
	if (f->type == CONFIG_T_SECTION_LIST && w->ev.type != YAML_MAPPING_START_EVENT && !is_null)
		return walk_wrong_type(w, "a mapping");
	elem = walk_grow(w, slot, *count,
			 f->type == CONFIG_T_STRLIST ? sizeof(char *) : f->sub->size);
	if (!elem)
		return false;
	if (f->type == CONFIG_T_STRLIST) {
		if (!walk_scalar(w, &item, elem))
			return false;
		if (*(char **)elem)
			(*count)++;
		return true;
	}
	(*count)++;
	if (config_value_defaults(f->sub, elem, msg, sizeof(msg)) != 0) {
		walk_fail(w, at, "%s", msg);
		return !w->stop;
	}
	if (is_null)
		return walk_empty(w, f->sub, elem, at);
	return walk_mapping(w, f->sub, elem, at);
}

/* A list (of strings or of sections) at w->ev for row f. */
static bool walk_list(walk_t *w, const config_field_t *f, char *base)
{
	char *slot = base + f->offset;
	size_t *count = (size_t *)(base + f->count_offset);
	yaml_mark_t at = w->ev.start_mark;

	if (walk_is_null(&w->ev))
		goto check;
	if (w->ev.type != YAML_SEQUENCE_START_EVENT)
		return walk_wrong_type(w, walk_expected(f));
	if (!walk_enter(w))
		return walk_skip(w);
	for (size_t i = 0; walk_next(w); i++) {
		if (w->ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		size_t saved = walk_push_index(w, i);
		bool ok = true;
		if (i == CONFIG_LIST_MAX)
			walk_fail(w, w->ev.start_mark,
				  "more than %d items in a list "
				  "(CONFIG_LIST_MAX)",
				  CONFIG_LIST_MAX);
		if (i >= CONFIG_LIST_MAX)
			ok = walk_skip(w);
		else
			ok = walk_item(w, f, slot, count);
		walk_pop(w, saved);
		if (!ok)
			return false;
	}
	w->depth--;
	if (w->stop)
		return false;
check:
	if (*count < f->min_items)
		walk_fail(w, at, "needs at least %zu item%s", f->min_items,
			  f->min_items == 1 ? "" : "s");
	return !w->stop;
}

/* ---- mappings ---- */

/* The value of row f at w->ev, stored in the struct at base. */
static bool walk_value(walk_t *w, const config_field_t *f, char *base, yaml_mark_t key_at)
{
	switch (f->type) {
	case CONFIG_T_SECTION:
		if (walk_is_null(&w->ev))
			return walk_empty(w, f->sub, base + f->offset, key_at);
		if (w->ev.type != YAML_MAPPING_START_EVENT)
			return walk_wrong_type(w, "a mapping");
		return walk_mapping(w, f->sub, base + f->offset, key_at);
	case CONFIG_T_STRLIST:
	case CONFIG_T_SECTION_LIST:
		return walk_list(w, f, base);
	default:
		if (w->ev.type != YAML_SCALAR_EVENT)
			return walk_wrong_type(w, walk_expected(f));
		return walk_scalar(w, f, base + f->offset);
	}
}

static size_t walk_distance(const char *a, size_t la, const char *b)
{
	size_t lb = strlen(b), prev[WALK_SEGMENT_MAX + 1], cur[WALK_SEGMENT_MAX + 1];

	if (la > WALK_SEGMENT_MAX || lb > WALK_SEGMENT_MAX)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb];
}

static void walk_unknown_key(walk_t *w, const config_section_t *sec, const char *key, size_t len,
			     yaml_mark_t at)
{
	const char *best = NULL;
	size_t best_d = 3;

	for (size_t i = 0; i < sec->n_fields; i++) {
		size_t d = walk_distance(key, len, sec->fields[i].name);
		if (d < best_d) {
			best_d = d;
			best = sec->fields[i].name;
		}
	}
	if (best)
		walk_fail(w, at, "unknown key (did you mean \"%s\"?)", best);
	else
		walk_fail(w, at, "unknown key");
}

/* One key and its value, w->ev at the key. */
static bool walk_pair(walk_t *w, const config_section_t *sec, char *base, yaml_mark_t *seen_at,
		      bool *seen)
{
	yaml_mark_t at = w->ev.start_mark;
	const config_field_t *f = NULL;
	size_t idx = 0, saved;

	if (w->ev.type != YAML_SCALAR_EVENT) {
		walk_fail(w, at, "keys must be scalars, got %s", walk_node_name(&w->ev));
		return walk_skip(w) && walk_next(w) && walk_skip(w);
	}
	const char *key = (const char *)w->ev.data.scalar.value;
	size_t len = w->ev.data.scalar.length;
	bool ok;

	f = config_schema_find(sec, key, len);
	idx = f ? (size_t)(f - sec->fields) : 0;
	saved = walk_push_key(w, key, len);
	if (!f) {
		walk_unknown_key(w, sec, key, len, at);
		ok = walk_next(w) && walk_skip(w);
	} else if (seen[idx]) {
		walk_fail(w, at, "duplicate key (first at line %zu, column %zu)",
			  seen_at[idx].line + 1, seen_at[idx].column + 1);
		ok = walk_next(w) && walk_skip(w);
	} else {
		seen[idx] = true;
		seen_at[idx] = at;
		ok = walk_next(w) && walk_value(w, f, base, at);
	}
	walk_pop(w, saved);
	return ok;
}

/* Report required keys of sec that were not seen (seen NULL: none were),
 * and those of absent subsections, at `owner`. */
static void walk_missing(walk_t *w, const config_section_t *sec, const bool *seen,
			 yaml_mark_t owner)
{
	for (size_t i = 0; i < sec->n_fields && !w->stop; i++) {
		const config_field_t *f = &sec->fields[i];
		if (seen && seen[i])
			continue;
		size_t saved = walk_push_key(w, f->name, strlen(f->name));
		if (f->flags & CONFIG_F_REQUIRED)
			walk_fail(w, owner, "required key is missing");
		else if (f->type == CONFIG_T_SECTION)
			walk_missing(w, f->sub, NULL, owner);
		walk_pop(w, saved);
	}
}

/* A mapping at w->ev for section sec stored at base; `owner` is where its
 * key is (missing keys and section-level problems are reported there). */
static bool walk_mapping(walk_t *w, const config_section_t *sec, void *base, yaml_mark_t owner)
{
	yaml_mark_t seen_at[CONFIG_SECTION_KEYS_MAX];
	bool seen[CONFIG_SECTION_KEYS_MAX] = {false};
	size_t errors_before = w->errs->n;

	if (!walk_enter(w))
		return walk_skip(w);
	while (walk_next(w) && w->ev.type != YAML_MAPPING_END_EVENT) {
		if (!walk_pair(w, sec, base, seen_at, seen))
			return false;
	}
	w->depth--;
	if (w->stop)
		return false;
	walk_missing(w, sec, seen, owner);
	if (sec->check && w->errs->n == errors_before) {
		config_check_t c = {w, sec, seen_at, seen, owner};
		sec->check(base, &c);
	}
	return !w->stop;
}

/* A null where section sec was expected: an empty mapping. */
static bool walk_empty(walk_t *w, const config_section_t *sec, void *base, yaml_mark_t owner)
{
	bool seen[CONFIG_SECTION_KEYS_MAX] = {false};
	size_t errors_before = w->errs->n;

	walk_missing(w, sec, seen, owner);
	if (sec->check && w->errs->n == errors_before) {
		config_check_t c = {w, sec, NULL, seen, owner};
		sec->check(base, &c);
	}
	return !w->stop;
}

void config_check_fail(config_check_t *c, const char *key, const char *fmt, ...)
{
	walk_t *w = c->w;
	yaml_mark_t at = c->owner;
	size_t saved = w->path_len;
	va_list ap;

	if (key) {
		const config_field_t *f = config_schema_find(c->sec, key, strlen(key));
		if (f && c->seen[f - c->sec->fields])
			at = c->seen_at[f - c->sec->fields];
		walk_push_key(w, key, strlen(key));
	}
	va_start(ap, fmt);
	walk_vfail(w, at, w->path, fmt, ap);
	va_end(ap);
	walk_pop(w, saved);
}

/* ---- the document ---- */

static bool walk_expect(walk_t *w, yaml_event_type_t type)
{
	return walk_next(w) && w->ev.type == type;
}

static void walk_document(walk_t *w, eirc_config_t *cfg)
{
	yaml_mark_t at;

	if (!walk_expect(w, YAML_STREAM_START_EVENT) || !walk_next(w))
		return;
	if (w->ev.type == YAML_STREAM_END_EVENT) {
		walk_missing(w, &config_schema_root, NULL, w->ev.start_mark);
		return;
	}
	if (!walk_next(w)) /* the root node, after DOCUMENT-START */
		return;
	at = w->ev.start_mark;
	if (w->ev.type == YAML_MAPPING_START_EVENT) {
		if (!walk_mapping(w, &config_schema_root, cfg, at))
			return;
	} else if (walk_is_null(&w->ev)) {
		walk_missing(w, &config_schema_root, NULL, at);
	} else if (w->ev.type == YAML_ALIAS_EVENT) {
		walk_fail(w, at, "YAML aliases are not supported");
	} else {
		walk_fail(w, at, "expected a mapping at the top level, got %s",
			  walk_node_name(&w->ev));
		if (!walk_skip(w))
			return;
	}
	if (!walk_expect(w, YAML_DOCUMENT_END_EVENT) || !walk_next(w))
		return;
	if (w->ev.type == YAML_DOCUMENT_START_EVENT)
		walk_fail(w, w->ev.start_mark, "only one YAML document is allowed");
}

/* Stable insertion sort by position: the errors are few (bounded). */
static void walk_sort(eirc_config_errors_t *errs)
{
	for (size_t i = 1; i < errs->n; i++) {
		eirc_config_error_t e = errs->v[i];
		size_t j = i;
		while (j > 0 &&
		       (errs->v[j - 1].line > e.line ||
			(errs->v[j - 1].line == e.line && errs->v[j - 1].column > e.column))) {
			errs->v[j] = errs->v[j - 1];
			j--;
		}
		errs->v[j] = e;
	}
}

int config_walk(const char *buf, size_t len, const eirc_config_vars_t *vars, eirc_config_t *cfg,
		eirc_config_errors_t *errs)
{
	walk_t w = {.buf = buf, .len = len, .errs = errs, .cfg = cfg, .vars = vars};

	if (!yaml_parser_initialize(&w.parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&w.parser, (const unsigned char *)buf, len);
	walk_document(&w, cfg);
	walk_cred_free(&w);
	if (w.have_ev)
		yaml_event_delete(&w.ev);
	yaml_parser_delete(&w.parser);
	walk_sort(errs);
	return w.nomem ? -ENOMEM : 0;
}
