/*
 * cred: the value of a config file's ${NAME} (docs/operations.md, "Secrets"):
 * the environment first, then the file $CREDENTIALS_DIRECTORY/NAME, which
 * systemd fills from /etc/eirc/credentials/NAME for the names a unit's
 * LoadCredential= lists (one trailing newline dropped, as `echo` leaves
 * one). So each daemon sees only its own secrets, and none sits in an
 * environment that /proc or a child could show.
 *
 * Not here: which names a program may leave unset (config/, the keys it
 * reads), and any logging.
 */
#ifndef EIRC_CRED_H
#define EIRC_CRED_H

/* Most bytes of a credential file (with its trailing newline): a secret,
 * not a certificate bundle. */
#define CRED_VALUE_MAX 4096

/*
 * The value of name into *out_value (malloc'd, NUL-terminated; the caller
 * wipes and frees it). Returns 0; -ENOENT when the environment has no
 * name and $CREDENTIALS_DIRECTORY is unset, empty or holds no file name;
 * -EINVAL when name is not a ${NAME} name or the file holds a NUL byte;
 * -EFBIG when the file is longer than CRED_VALUE_MAX bytes; -ENOMEM; or
 * open(2)'s or read(2)'s negative errno (-EACCES: the file is there but
 * not ours to read). *out_value is untouched on failure.
 */
int cred_get(const char *name, char **out_value);

#endif
