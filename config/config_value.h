/*
 * config_value: one scalar of eirc.yaml into its typed slot, per the schema
 * row; ${VAR} expansion; defaults; freeing.
 *
 * Shared by the walker (values from the file) and the defaults (values from
 * the table), so both obey exactly the same rules. Messages are written
 * without position or key path (the walker adds those) and never contain
 * the text of a secret. No YAML here, no I/O besides getenv.
 */
#ifndef EIRC_CONFIG_VALUE_H
#define EIRC_CONFIG_VALUE_H

#include <stddef.h>

#include "config/config_schema.h"

/* Size of the message buffers passed to this module. */
#define CONFIG_MSG_MAX 256

/*
 * Parse `len` bytes at `text` per row `f` and store the result at `slot`
 * (the member the row's offset points to), replacing and freeing a string
 * already there. `is_null` marks a YAML null (empty, "~", "null"). Returns
 * 0; -EINVAL with the reason in msg (slot untouched); or -ENOMEM.
 */
int config_value_set(const config_field_t *f, const char *text, size_t len, bool is_null,
		     void *slot, char *msg, size_t msg_size);

/* Told each variable name a ${NAME} reference reads (the walker records
 * them per key, see eirc_config_env_refs). on_ref returns 0, or -EINVAL
 * with the reason in msg, or -ENOMEM; the expansion then fails with that
 * code. lookup gives the value of a name (the walker's: the program's
 * table, or the environment then $CREDENTIALS_DIRECTORY, common/cred.h). */
typedef struct config_value_refs {
	int (*on_ref)(void *ud, const char *name, char *msg, size_t msg_size);
	/* The value of name into *out_value (valid until the next call), or
	 * -EINVAL with the reason (unset, unreadable) in msg. */
	int (*lookup)(void *ud, const char *name, const char **out_value, char *msg,
		      size_t msg_size);
	void *ud;
} config_value_refs_t;

/*
 * Expand ${NAME} references in `len` bytes at `text` ("$${" gives "${")
 * from refs->lookup, reporting each name to refs->on_ref.
 * Returns 0 and a malloc'd NUL-terminated string in *out_text and its
 * length in *out_len; -EINVAL with the reason in msg (an unset variable, a
 * malformed reference, a result longer than CONFIG_STRING_MAX, or what
 * on_ref refused); or -ENOMEM.
 */
int config_value_expand(const char *text, size_t len, const config_value_refs_t *refs,
			char **out_text, size_t *out_len, char *msg, size_t msg_size);

/*
 * Set every key of `sec` at `base` to its default, recursively (lists
 * empty). Returns 0; -EINVAL when a default in the table is wrong (a bug,
 * described in msg); or -ENOMEM. Call config_value_free_section after a
 * failure too.
 */
int config_value_defaults(const config_section_t *sec, void *base, char *msg, size_t msg_size);

/* Free every string and list of `sec` at `base`, recursively, and zero
 * them; the struct itself is the caller's. */
void config_value_free_section(const config_section_t *sec, void *base);

/* Write `len` bytes at `text` as a short double-quoted, escaped string for
 * a message (truncated with "..."). Returns buf. */
char *config_value_quote(const char *text, size_t len, char *buf, size_t size);

#endif /* EIRC_CONFIG_VALUE_H */
