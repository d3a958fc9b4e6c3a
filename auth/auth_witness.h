/*
 * auth_witness: the witness sinks of a signed checkpoint (docs/compliance.md,
 * "Witnesses"): integrity.witness_file, where each note is followed by a line
 * "~~~~" ("<note>~~~~\n", the format eirc-logger's sealer writes too and
 * `eirc-archive --checkpoint` reads), and syslog (LOG_AUTHPRIV).
 *
 * Apart from auth_integrity because <syslog.h> and common/log.h name the
 * same levels.
 */
#ifndef EIRC_AUTH_WITNESS_H
#define EIRC_AUTH_WITNESS_H

#include <stdbool.h>

/*
 * Appends note (a signed note, ending in "\n") to the file at path (NULL:
 * none; created 0640 when missing) with one write(2) on O_APPEND, blocking:
 * one short append per checkpoint; and logs it to syslog when use_syslog.
 * Returns 0 or the file's negative errno (syslog cannot fail).
 */
int auth_witness_append(const char *path, bool use_syslog, const char *note);

#endif
