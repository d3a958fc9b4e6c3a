/*
 * units: durations ("250ms", "180s", "5m", "2h", "30d") and sizes ("512",
 * "64KiB", "8MiB", "1GiB") as found in eirc.yaml, to and from uint64_t
 * milliseconds and bytes.
 *
 * Only whole numbers with one unit; sizes use IEC binary units only (KiB =
 * 1024 bytes), because "KB" means 1000 to some readers and 1024 to others.
 * No range policy here beyond "fits in 64 bits": the schema sets the ranges.
 */
#ifndef EIRC_CONFIG_UNITS_H
#define EIRC_CONFIG_UNITS_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/* Enough for any formatted uint64_t value with its unit and a NUL. */
#define UNITS_FORMAT_MAX 32

/* Parse errors, negative errno values with the meaning they have here. */
#define UNITS_ERR_NUMBER (-EINVAL) /* does not start with a decimal number */
#define UNITS_ERR_UNIT   (-ENOENT) /* unit missing or not one we know */
#define UNITS_ERR_RANGE  (-ERANGE) /* the value does not fit in 64 bits */

/* The accepted units, for messages and documentation. */
#define UNITS_DURATION_LIST "ms, s, m, h, d"
#define UNITS_SIZE_LIST     "B, KiB, MiB, GiB, TiB"

/*
 * Parse `len` bytes at `text` as a duration: digits followed by one of ms,
 * s, m, h, d (a bare "0" is allowed). Returns 0 and sets *out_ms, or one of
 * the UNITS_ERR_* codes with *out_ms untouched.
 */
int units_duration_parse(const char *text, size_t len, uint64_t *out_ms);

/*
 * Parse `len` bytes at `text` as a size: digits, optionally followed by B,
 * KiB, MiB, GiB or TiB. Returns 0 and sets *out_bytes, or one of the
 * UNITS_ERR_* codes with *out_bytes untouched.
 */
int units_size_parse(const char *text, size_t len, uint64_t *out_bytes);

/*
 * Write `ms` with the largest unit that represents it exactly ("3m",
 * "1500ms", "0s") into buf (at least UNITS_FORMAT_MAX bytes). Returns buf.
 */
char *units_duration_format(uint64_t ms, char *buf, size_t size);

/* Same for a size in bytes ("64KiB", "1000"). Returns buf. */
char *units_size_format(uint64_t bytes, char *buf, size_t size);

#endif /* EIRC_CONFIG_UNITS_H */
