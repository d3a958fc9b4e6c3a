/*
 * yamltree: loads a YAML document into a small read-only tree, for tests
 * that read test vectors. Maps, sequences and scalars; a plain null ("~",
 * "null", or nothing) is a YAMLTREE_NULL node while a quoted "" is an empty
 * scalar. Scalars keep their exact bytes (an escaped "\0" included) and are
 * also NUL-terminated.
 *
 * Test-only: it allocates freely and supports neither anchors/aliases nor
 * tags nor non-scalar map keys (loading such a file fails). Only the first
 * document of a stream is read.
 */
#ifndef EIRC_TESTS_HARNESS_YAMLTREE_H
#define EIRC_TESTS_HARNESS_YAMLTREE_H

#include <stdbool.h>
#include <stddef.h>

/* Deepest nesting accepted, so a hostile file cannot exhaust the stack. */
#define YAMLTREE_DEPTH_MAX 64

enum yamltree_kind {
	YAMLTREE_NULL,
	YAMLTREE_SCALAR,
	YAMLTREE_SEQ,
	YAMLTREE_MAP,
};

struct yamltree_node {
	enum yamltree_kind kind;
	char *str;                    /* scalar bytes, NUL-terminated */
	size_t len;                   /* scalar length */
	size_t line;                  /* 1-based line where the node starts */
	size_t n;                     /* items (seq) or pairs (map) */
	struct yamltree_node **items; /* seq items, or map values */
	struct yamltree_node **keys;  /* map keys (scalars), NULL for a seq */
};

/*
 * Loads the YAML file at path. Returns 0 and stores the root in *out_root
 * (free it with yamltree_free), -errno when the file cannot be opened
 * (-ENOENT when it does not exist), -EINVAL when it is not YAML this reader
 * supports; then a message goes to errbuf (if not NULL) as "path:line:col:
 * what".
 */
int yamltree_load_file(const char *path, struct yamltree_node **out_root, char *errbuf,
		       size_t errlen);

/* As yamltree_load_file, from memory. An empty document gives a null root. */
int yamltree_load_string(const char *text, size_t len, struct yamltree_node **out_root,
			 char *errbuf, size_t errlen);

/* Frees a tree; NULL is a no-op. */
void yamltree_free(struct yamltree_node *root);

/* Returns the value of key in map, or NULL when map is not a map or lacks
 * the key (a key present with a null value gives a YAMLTREE_NULL node). */
const struct yamltree_node *yamltree_get(const struct yamltree_node *map, const char *key);

/* Returns the number of items of a seq or pairs of a map, 0 otherwise
 * (NULL included). */
size_t yamltree_len(const struct yamltree_node *node);

/* Returns item i of a seq or value i of a map, NULL when out of range. */
const struct yamltree_node *yamltree_at(const struct yamltree_node *node, size_t i);

/* Returns key i of a map, NULL when node is not a map or i is out of range. */
const struct yamltree_node *yamltree_key_at(const struct yamltree_node *node, size_t i);

/* Returns true when node is absent (NULL) or a YAML null. */
bool yamltree_is_null(const struct yamltree_node *node);

/* Returns the scalar's bytes (NUL-terminated) and stores its length in
 * *out_len when out_len is not NULL; NULL when node is not a scalar. */
const char *yamltree_str(const struct yamltree_node *node, size_t *out_len);

#endif
