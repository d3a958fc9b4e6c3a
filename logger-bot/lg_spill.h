/*
 * lg_spill: the logger's append-only spill file, where events go while
 * Redis is down and the memory queue is full, and from which they are
 * replayed, in order, when Redis is back.
 *
 * File format: the 8-byte header "EIRCSPL1", then records
 *   u32 payload length (little-endian), u32 CRC-32 of the payload, payload
 * (an archive_event record). A crash can leave a torn last record: opening the
 * file keeps every whole record before it and cuts the rest (counted in
 * out_dropped_bytes), so a replay after a crash starts from the first
 * record; the append script makes replaying an archived event harmless.
 *
 * The parser (lg_spill_parse) is pure. The file part does blocking,
 * buffered I/O on a local disk: appends are buffered and written when the
 * buffer fills or lg_spill_flush() runs; lg_spill_sync() adds fdatasync,
 * which the owner calls in batches (a timer), so what the last batch held
 * can be lost in a machine crash - never what an earlier sync covered.
 */
#ifndef EIRC_LOGGER_LG_SPILL_H
#define EIRC_LOGGER_LG_SPILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "archive/archive_event.h"

#define LG_SPILL_MAGIC         "EIRCSPL1"
#define LG_SPILL_HEADER_LEN    8
#define LG_SPILL_RECORD_HEADER 8
/* Largest payload a record may hold. */
#define LG_SPILL_PAYLOAD_MAX ARCHIVE_EVENT_RECORD_MAX
/* Write and read buffers. */
#define LG_SPILL_BUF       65536
#define LG_SPILL_FILE_NAME "spill.dat"

/*
 * Parses one record at buf[0..len). Returns 0 and sets *out_payload
 * (pointing into buf), *out_payload_len and *out_consumed (header plus
 * payload); -EAGAIN when buf holds only the start of a record; -EBADMSG
 * when the length is over LG_SPILL_PAYLOAD_MAX or the CRC does not match.
 */
int lg_spill_parse(const void *buf, size_t len, const void **out_payload, size_t *out_payload_len,
		   size_t *out_consumed);

/* Writes the record header for payload[0..len) into hdr. */
void lg_spill_record_header(const void *payload, size_t len, unsigned char hdr[8]);

typedef struct lg_spill lg_spill_t;

/*
 * Opens (creating when missing) dir/LG_SPILL_FILE_NAME, O_CLOEXEC, with a
 * size limit of max bytes (header included). A file with a foreign header
 * is refused (-EBADMSG) rather than overwritten. Whole records already in
 * it are pending replay; a torn or corrupt tail is cut off and its size
 * stored in *out_dropped_bytes. Returns 0, -EINVAL (max too small), or a
 * negative errno from mkdir/open/read/ftruncate.
 */
int lg_spill_open(const char *dir, uint64_t max, lg_spill_t **out_spill,
		  uint64_t *out_dropped_bytes);

/*
 * Appends one record. Returns 0, -ENOSPC when it would take the file over
 * its limit (nothing written), -EMSGSIZE when len is over
 * LG_SPILL_PAYLOAD_MAX or 0, or a write error.
 */
int lg_spill_append(lg_spill_t *s, const void *payload, size_t len);

/* Writes the append buffer to the file. Returns 0 or a negative errno. */
int lg_spill_flush(lg_spill_t *s);
/* Flushes and fdatasyncs when anything was appended since the last sync. */
int lg_spill_sync(lg_spill_t *s);

/*
 * Reads the next unread record into buf (capacity cap >=
 * LG_SPILL_PAYLOAD_MAX). Returns 0 and sets *out_len; -ENOENT when every
 * record has been read; -EBADMSG when the file is corrupt past this point
 * (the rest is then skipped); or a read error.
 */
int lg_spill_next(lg_spill_t *s, void *buf, size_t cap, size_t *out_len);

/* Bytes in the file (header excluded) and bytes not read yet. */
uint64_t lg_spill_size(const lg_spill_t *s);
uint64_t lg_spill_unread(const lg_spill_t *s);

/* Empties the file (every record was read and archived) and syncs it. */
int lg_spill_reset(lg_spill_t *s);

/* Flushes, syncs and closes. NULL is a no-op. */
void lg_spill_close(lg_spill_t *s);

#endif
