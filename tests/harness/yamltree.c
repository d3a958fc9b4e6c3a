/*
 * yamltree: libyaml event stream -> tree (see yamltree.h). One recursive
 * descent over the events, depth-bounded. Test harness code: it allocates
 * per node and treats allocation failure as a load error.
 */
#include "tests/harness/yamltree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct loader {
	yaml_parser_t parser;
	const char *name;
	char *errbuf;
	size_t errlen;
};

static int load_error(struct loader *ld, const yaml_mark_t *mark, const char *what)
{
	if (ld->errbuf && ld->errlen > 0)
		snprintf(ld->errbuf, ld->errlen, "%s:%zu:%zu: %s", ld->name, mark->line + 1,
			 mark->column + 1, what);
	return -EINVAL;
}

static int next_event(struct loader *ld, yaml_event_t *ev)
{
	if (yaml_parser_parse(&ld->parser, ev))
		return 0;
	return load_error(ld, &ld->parser.problem_mark,
			  ld->parser.problem ? ld->parser.problem : "YAML syntax error");
}

static struct yamltree_node *node_new(enum yamltree_kind kind, const yaml_event_t *ev)
{
	struct yamltree_node *n = calloc(1, sizeof(*n));

	if (n) {
		n->kind = kind;
		n->line = ev->start_mark.line + 1;
	}
	return n;
}

static bool scalar_is_null(const yaml_event_t *ev)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
	const char *v = (const char *)ev->data.scalar.value;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
		if (strlen(nulls[i]) == ev->data.scalar.length && strcmp(v, nulls[i]) == 0)
			return true;
	}
	return false;
}

static struct yamltree_node *scalar_new(const yaml_event_t *ev)
{
	struct yamltree_node *n;

	if (scalar_is_null(ev))
		return node_new(YAMLTREE_NULL, ev);
	n = node_new(YAMLTREE_SCALAR, ev);
	if (!n)
		return NULL;
	n->len = ev->data.scalar.length;
	n->str = malloc(n->len + 1);
	if (!n->str) {
		free(n);
		return NULL;
	}
	memcpy(n->str, ev->data.scalar.value, n->len);
	n->str[n->len] = '\0';
	return n;
}

/* Appends (key, value) to a seq (key NULL) or map. Takes ownership. */
static int node_append(struct yamltree_node *parent, struct yamltree_node *key,
		       struct yamltree_node *value)
{
	size_t cap = parent->n + 1;
	struct yamltree_node **items = realloc(parent->items, cap * sizeof(*items));

	if (!items)
		goto free_both;
	parent->items = items;
	if (parent->kind == YAMLTREE_MAP) {
		struct yamltree_node **keys = realloc(parent->keys, cap * sizeof(*keys));
		if (!keys)
			goto free_both;
		parent->keys = keys;
		parent->keys[parent->n] = key;
	}
	parent->items[parent->n++] = value;
	return 0;
free_both:
	yamltree_free(key);
	yamltree_free(value);
	return -ENOMEM;
}

static int load_node(struct loader *ld, yaml_event_t *ev, int depth,
		     struct yamltree_node **out_node);

/* Loads the items of a seq or map whose start event was just read. */
static int load_children(struct loader *ld, struct yamltree_node *parent, int depth)
{
	yaml_event_type_t end =
		parent->kind == YAMLTREE_MAP ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
	for (;;) {
		struct yamltree_node *key = NULL, *value = NULL;
		yaml_event_t ev;
		int rc = next_event(ld, &ev);

		if (rc < 0)
			return rc;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (parent->kind == YAMLTREE_MAP) {
			if (ev.type != YAML_SCALAR_EVENT) {
				rc = load_error(ld, &ev.start_mark, "map key is not a scalar");
				yaml_event_delete(&ev);
				return rc;
			}
			rc = load_node(ld, &ev, depth + 1, &key);
			if (rc < 0)
				return rc;
			rc = next_event(ld, &ev);
			if (rc < 0) {
				yamltree_free(key);
				return rc;
			}
		}
		rc = load_node(ld, &ev, depth + 1, &value);
		if (rc < 0) {
			yamltree_free(key);
			return rc;
		}
		rc = node_append(parent, key, value);
		if (rc < 0)
			return rc;
	}
}

/* Builds the node that starts with *ev, consuming (and deleting) *ev. */
static int load_node(struct loader *ld, yaml_event_t *ev, int depth,
		     struct yamltree_node **out_node)
{
	struct yamltree_node *n = NULL;
	int rc = 0;

	if (depth > YAMLTREE_DEPTH_MAX) {
		rc = load_error(ld, &ev->start_mark, "nesting too deep");
	} else if (ev->type == YAML_SCALAR_EVENT) {
		n = scalar_new(ev);
	} else if (ev->type == YAML_SEQUENCE_START_EVENT) {
		n = node_new(YAMLTREE_SEQ, ev);
	} else if (ev->type == YAML_MAPPING_START_EVENT) {
		n = node_new(YAMLTREE_MAP, ev);
	} else {
		rc = load_error(ld, &ev->start_mark, "unsupported YAML (alias?)");
	}
	if (rc == 0 && !n)
		rc = load_error(ld, &ev->start_mark, "out of memory");
	yaml_event_delete(ev);
	if (rc == 0 && (n->kind == YAMLTREE_SEQ || n->kind == YAMLTREE_MAP))
		rc = load_children(ld, n, depth);
	if (rc < 0) {
		yamltree_free(n);
		return rc;
	}
	*out_node = n;
	return 0;
}

/* Skips to the first document's root node and loads it. */
static int load_document(struct loader *ld, struct yamltree_node **out_root)
{
	yaml_event_t ev;
	int rc;

	for (;;) {
		rc = next_event(ld, &ev);
		if (rc < 0)
			return rc;
		if (ev.type == YAML_STREAM_END_EVENT) {
			*out_root = node_new(YAMLTREE_NULL, &ev);
			yaml_event_delete(&ev);
			return *out_root ? 0 : -ENOMEM;
		}
		if (ev.type != YAML_STREAM_START_EVENT && ev.type != YAML_DOCUMENT_START_EVENT)
			return load_node(ld, &ev, 0, out_root);
		yaml_event_delete(&ev);
	}
}

static int load(struct loader *ld, struct yamltree_node **out_root)
{
	struct yamltree_node *root = NULL;
	int rc = load_document(ld, &root);

	yaml_parser_delete(&ld->parser);
	if (rc < 0)
		return rc;
	*out_root = root;
	return 0;
}

int yamltree_load_string(const char *text, size_t len, struct yamltree_node **out_root,
			 char *errbuf, size_t errlen)
{
	struct loader ld = {.name = "<string>", .errbuf = errbuf, .errlen = errlen};

	if (!yaml_parser_initialize(&ld.parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&ld.parser, (const unsigned char *)text, len);
	return load(&ld, out_root);
}

int yamltree_load_file(const char *path, struct yamltree_node **out_root, char *errbuf,
		       size_t errlen)
{
	struct loader ld = {.name = path, .errbuf = errbuf, .errlen = errlen};
	FILE *f = fopen(path, "rbe");
	int rc;

	if (!f) {
		rc = -errno;
		if (errbuf && errlen > 0)
			snprintf(errbuf, errlen, "%s: cannot open", path);
		return rc;
	}
	if (!yaml_parser_initialize(&ld.parser)) {
		fclose(f);
		return -ENOMEM;
	}
	yaml_parser_set_input_file(&ld.parser, f);
	rc = load(&ld, out_root);
	fclose(f);
	return rc;
}

void yamltree_free(struct yamltree_node *root)
{
	if (!root)
		return;
	for (size_t i = 0; i < root->n; i++) {
		yamltree_free(root->items[i]);
		if (root->keys)
			yamltree_free(root->keys[i]);
	}
	free(root->items);
	free(root->keys);
	free(root->str);
	free(root);
}

const struct yamltree_node *yamltree_get(const struct yamltree_node *map, const char *key)
{
	size_t klen = strlen(key);

	if (!map || map->kind != YAMLTREE_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++) {
		const struct yamltree_node *k = map->keys[i];
		if (k->kind == YAMLTREE_SCALAR && k->len == klen && memcmp(k->str, key, klen) == 0)
			return map->items[i];
	}
	return NULL;
}

size_t yamltree_len(const struct yamltree_node *node)
{
	if (!node || (node->kind != YAMLTREE_SEQ && node->kind != YAMLTREE_MAP))
		return 0;
	return node->n;
}

const struct yamltree_node *yamltree_at(const struct yamltree_node *node, size_t i)
{
	return i < yamltree_len(node) ? node->items[i] : NULL;
}

const struct yamltree_node *yamltree_key_at(const struct yamltree_node *node, size_t i)
{
	if (!node || node->kind != YAMLTREE_MAP || i >= node->n)
		return NULL;
	return node->keys[i];
}

bool yamltree_is_null(const struct yamltree_node *node)
{
	return !node || node->kind == YAMLTREE_NULL;
}

const char *yamltree_str(const struct yamltree_node *node, size_t *out_len)
{
	if (!node || node->kind != YAMLTREE_SCALAR)
		return NULL;
	if (out_len)
		*out_len = node->len;
	return node->str;
}
