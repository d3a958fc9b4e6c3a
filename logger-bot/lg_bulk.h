/*
 * lg_bulk: the Elasticsearch side of the shipper, without I/O: turns
 * archive stream entries into a `_bulk` NDJSON body (one `create` action
 * with `_id` = msgid per entry, daily index `<prefix>-YYYY.MM.DD` from the
 * event's own time), and walks a `_bulk` response into one outcome per
 * item, as the Elasticsearch 8 bulk API documents it:
 *   201/200 created, 409 version conflict (already indexed) -> OK;
 *   429 and 5xx -> RETRY (with backoff);
 *   any other item status -> DEAD (dead-letter stream, with the error).
 * Text that is not valid UTF-8 is sent with U+FFFD replacements (JSON must
 * be UTF-8), and its exact bytes beside it in base64 (lg_bulk_add).
 *
 * Also the index template the shipper installs at start.
 */
#ifndef EIRC_LOGGER_LG_BULK_H
#define EIRC_LOGGER_LG_BULK_H

#include <stddef.h>
#include <stdint.h>

#include "archive/archive_event.h"
#include "common/buf.h"

/* Longest index prefix (config validates the syntax). */
#define LG_BULK_PREFIX_MAX 64
/* Fields of one archive entry looked at; more are ignored. */
#define LG_BULK_FIELDS_MAX 32
/* Largest response body the walker accepts. */
#define LG_BULK_RESPONSE_MAX (64u * 1024 * 1024)
/* Bytes of an item's error kept for the dead-letter stream. */
#define LG_BULK_ERROR_MAX 2048

/* One field of an archive stream entry (name, value), borrowed. */
typedef struct lg_bulk_field lg_bulk_field_t;
struct lg_bulk_field {
	archive_str_t name;
	archive_str_t value;
};

/*
 * Appends the action and document lines of one archive entry (stream id
 * `id` of partition `partition`'s archive) to body. Document fields:
 * @timestamp (from "time"), network, channel (the folded conv), target,
 * type, msgid, nick, user, host, account, text, tags, arg, archive_id,
 * partition, and archive_ms and archive_seq (the id's two parts, to sort
 * on). For each of the copied fields whose bytes are not valid UTF-8,
 * also "<document field>_b64" (e.g. "text_b64"): base64 of the exact
 * bytes, so that the entry's leaf (archive/tlog.h) can be recomputed from
 * the document alone; the "mac" is not shipped. Returns the bytes
 * appended, -EINVAL when the entry has no msgid, no valid time or a
 * malformed id, -EMSGSIZE past body's limit or -ENOMEM (on every error
 * body is as it was).
 */
int lg_bulk_add(buf_t *body, const char *prefix, int partition, archive_str_t id,
		const lg_bulk_field_t *fields, size_t n_fields);

/* Writes "<prefix>-YYYY.MM.DD" for time ms. Returns the length, -EINVAL or
 * -ENOBUFS. */
int lg_bulk_index_name(const char *prefix, int64_t ms, char *buf, size_t cap);

enum lg_bulk_outcome {
	LG_BULK_OK = 0,
	LG_BULK_RETRY,
	LG_BULK_DEAD,
};

/* Outcome of one item status code. */
enum lg_bulk_outcome lg_bulk_classify(int status);

/* Called once per item, in request order; err is the item's error object
 * as compact JSON (NUL-terminated, at most LG_BULK_ERROR_MAX bytes) or ""
 * when it has none. */
typedef void (*lg_bulk_item_fn)(void *ud, size_t i, int status, enum lg_bulk_outcome outcome,
				const char *err);

/*
 * Walks the body of a 200 answer to a `_bulk` of n_items actions. Returns
 * the number of items not OK (0: all accepted) after calling fn for each
 * item, or -EBADMSG when the body is not a bulk response with exactly
 * n_items items (then fn is not called at all: retry the whole request).
 * When "errors" is false every item is OK without a per-item walk... but
 * the count is still checked.
 */
int lg_bulk_walk(const char *body, size_t len, size_t n_items, lg_bulk_item_fn fn, void *ud);

/* The body of PUT _index_template/<prefix> for indices "<prefix>-*",
 * in place of what out held. Returns 0, -EMSGSIZE or -ENOMEM. */
int lg_bulk_template(const char *prefix, buf_t *out);

/* Appends s[0..n) as a JSON string (quotes included), repairing invalid
 * UTF-8 with U+FFFD. Returns 0, -EMSGSIZE or -ENOMEM (then part of the
 * string may have been appended). */
int lg_json_string(buf_t *b, const char *s, size_t n);

#endif
