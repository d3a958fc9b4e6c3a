/*
 * config_schema: the table that describes every key of eirc.yaml.
 *
 * Each row names a key, its type, its default (as the text a user would
 * write, parsed by the same code as the file), its range or allowed values,
 * whether it is required, its help text, and where it is stored (offsetof
 * into the section's struct, type-checked at compile time). The walker
 * (config_walk.c), the printer and the reference generator are generic over
 * this table; this module holds no parsing logic, only the table and the
 * few cross-key checks that a single row cannot express.
 */
#ifndef EIRC_CONFIG_SCHEMA_H
#define EIRC_CONFIG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* Most keys in one section (the walker tracks them in a fixed array). */
#define CONFIG_SECTION_KEYS_MAX 64

typedef enum config_type {
	CONFIG_T_BOOL,         /* bool */
	CONFIG_T_INT,          /* int, imin..imax */
	CONFIG_T_PORT,         /* int, 1..65535 (0 too with CONFIG_F_PORT_ZERO) */
	CONFIG_T_STRING,       /* char *, at most max_len bytes */
	CONFIG_T_SECRET,       /* char *, masked when printed */
	CONFIG_T_PATH,         /* char *, at most max_len bytes */
	CONFIG_T_ENUM,         /* an enum (int-sized), index into values[] */
	CONFIG_T_DURATION,     /* uint64_t milliseconds, umin..umax */
	CONFIG_T_SIZE,         /* uint64_t bytes, umin..umax */
	CONFIG_T_MODE,         /* unsigned, octal file mode 0..0777 */
	CONFIG_T_STRLIST,      /* char ** plus size_t count */
	CONFIG_T_SECTION,      /* a nested struct described by sub */
	CONFIG_T_SECTION_LIST, /* array of sub structs plus size_t count */
} config_type_t;

/* Row flags. */
#define CONFIG_F_REQUIRED  0x1u /* must be present (and not empty) */
#define CONFIG_F_PORT_ZERO 0x2u /* port 0 allowed; the help says what it means */

typedef struct config_section config_section_t;
typedef struct config_check config_check_t;

/* A rule on a string value (or list item), with its description for the
 * reference. check returns NULL when `value` is fine, else what is wrong. */
typedef struct config_validator {
	const char *(*check)(const char *value);
	const char *doc;
} config_validator_t;

typedef struct config_field {
	const char *name;
	config_type_t type;
	size_t offset;       /* of the value (array pointer for lists) */
	size_t count_offset; /* lists: of the size_t count */
	const char *def;     /* default as YAML text; NULL: none (NULL, 0, empty) */
	unsigned flags;
	int64_t imin, imax;                 /* CONFIG_T_INT */
	uint64_t umin, umax;                /* DURATION, SIZE; max_len for strings is umax */
	size_t min_items;                   /* lists */
	const char *const *values;          /* CONFIG_T_ENUM, NULL-terminated */
	const config_validator_t *validate; /* strings, list items; optional */
	const config_section_t *sub;        /* SECTION, SECTION_LIST */
	const char *help;
} config_field_t;

/* Cross-key check of one section, run after it is read from the file. */
typedef void config_check_fn(const void *obj, config_check_t *check);

struct config_section {
	const char *name; /* "irc", "auth.database", "irc.servers[]" */
	const char *help;
	const config_field_t *fields;
	size_t n_fields;
	size_t size; /* sizeof the struct (list elements) */
	config_check_fn *check;
};

/* The root section: one CONFIG_T_SECTION row per component. */
extern const config_section_t config_schema_root;

/*
 * Report, from a config_check_fn, that `key` of the section being checked
 * (NULL: the section itself) is wrong. Reported at the key's position when
 * the file sets it, else at the section's.
 */
void config_check_fail(config_check_t *check, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Find the row named `name` (`len` bytes) in `sec`; NULL when none. */
const config_field_t *config_schema_find(const config_section_t *sec, const char *name, size_t len);

/* Human name of a type for messages and the reference ("duration"). */
const char *config_schema_type_name(config_type_t type);

/* What a value of the type must be, for error text ("an integer", "a list
 * of strings"; "a string" for the string types). */
const char *config_schema_type_noun(config_type_t type);

/* Row constructors: the member's C type is checked at compile time. */
#define CONFIG_MEMBER(T, m, ctype) .offset = offsetof(T, m) + 0 * sizeof((ctype *)0 == &((T *)0)->m)
#define CONFIG_COUNT(T, m)         .count_offset = offsetof(T, m) + 0 * sizeof((size_t *)0 == &((T *)0)->m)

#define CONFIG_BOOL(n, T, m, d, h, ...)                                                            \
	{                                                                                          \
		.name = n, .type = CONFIG_T_BOOL, CONFIG_MEMBER(T, m, bool), .def = d, .help = h,  \
		__VA_ARGS__                                                                        \
	}
#define CONFIG_INT(n, T, m, d, lo, hi, h, ...)                                                     \
	{                                                                                          \
		.name = n, .type = CONFIG_T_INT, CONFIG_MEMBER(T, m, int), .def = d, .imin = lo,   \
		.imax = hi, .help = h, __VA_ARGS__                                                 \
	}
#define CONFIG_PORT(n, T, m, d, h, ...)                                                            \
	{                                                                                          \
		.name = n, .type = CONFIG_T_PORT, CONFIG_MEMBER(T, m, int), .def = d, .help = h,   \
		__VA_ARGS__                                                                        \
	}
#define CONFIG_STRING(n, T, m, d, h, ...)                                                          \
	{                                                                                          \
		.name = n, .type = CONFIG_T_STRING, CONFIG_MEMBER(T, m, char *), .def = d,         \
		.help = h, __VA_ARGS__                                                             \
	}
#define CONFIG_SECRET(n, T, m, h, ...)                                                             \
	{                                                                                          \
		.name = n, .type = CONFIG_T_SECRET, CONFIG_MEMBER(T, m, char *), .help = h,        \
		__VA_ARGS__                                                                        \
	}
#define CONFIG_PATH(n, T, m, d, h, ...)                                                            \
	{                                                                                          \
		.name = n, .type = CONFIG_T_PATH, CONFIG_MEMBER(T, m, char *), .def = d,           \
		.help = h, __VA_ARGS__                                                             \
	}
/* Enums are stored as int: the row refuses an enum of another size. */
#define CONFIG_ENUM(n, T, m, ctype, d, vals, h, ...)                                               \
	{                                                                                          \
		.name = n, .type = CONFIG_T_ENUM,                                                  \
		CONFIG_MEMBER(T, m, ctype) +                                                       \
			0 * sizeof(char[sizeof(ctype) == sizeof(int) ? 1 : -1]),                   \
		.def = d, .values = vals, .help = h, __VA_ARGS__                                   \
	}
#define CONFIG_DURATION(n, T, m, d, lo, hi, h, ...)                                                \
	{                                                                                          \
		.name = n, .type = CONFIG_T_DURATION, CONFIG_MEMBER(T, m, uint64_t), .def = d,     \
		.umin = lo, .umax = hi, .help = h, __VA_ARGS__                                     \
	}
#define CONFIG_SIZE(n, T, m, d, lo, hi, h, ...)                                                    \
	{                                                                                          \
		.name = n, .type = CONFIG_T_SIZE, CONFIG_MEMBER(T, m, uint64_t), .def = d,         \
		.umin = lo, .umax = hi, .help = h, __VA_ARGS__                                     \
	}
#define CONFIG_MODE(n, T, m, d, h, ...)                                                            \
	{                                                                                          \
		.name = n, .type = CONFIG_T_MODE, CONFIG_MEMBER(T, m, unsigned), .def = d,         \
		.help = h, __VA_ARGS__                                                             \
	}
#define CONFIG_STRLIST(n, T, m, cnt, h, ...)                                                       \
	{                                                                                          \
		.name = n, .type = CONFIG_T_STRLIST, CONFIG_MEMBER(T, m, char **),                 \
		CONFIG_COUNT(T, cnt), .help = h, __VA_ARGS__                                       \
	}
#define CONFIG_SECTION(n, T, m, stype, subsec, h, ...)                                             \
	{                                                                                          \
		.name = n, .type = CONFIG_T_SECTION, CONFIG_MEMBER(T, m, stype), .sub = &(subsec), \
		.help = h, __VA_ARGS__                                                             \
	}
#define CONFIG_SECTION_LIST(n, T, m, etype, cnt, subsec, h, ...)                                   \
	{                                                                                          \
		.name = n, .type = CONFIG_T_SECTION_LIST, CONFIG_MEMBER(T, m, etype *),            \
		CONFIG_COUNT(T, cnt), .sub = &(subsec), .help = h, __VA_ARGS__                     \
	}

#endif /* EIRC_CONFIG_SCHEMA_H */
