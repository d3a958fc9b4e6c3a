/*
 * read_all: reads a descriptor until end of file or until a buffer is
 * full, whichever comes first (EINTR retried). The one read loop of the
 * config loader (a file) and of vars (the irc-client's fd 4): callers that
 * must tell "exactly full" from "more than allowed" pass one byte more
 * than they allow and check the length.
 */
#ifndef EIRC_READ_ALL_H
#define EIRC_READ_ALL_H

#include <stddef.h>

/* Reads fd into dst (cap bytes at most); *out_len says how many were read,
 * also on error. 0, or a negative errno of read(2). */
int read_all(int fd, void *dst, size_t cap, size_t *out_len);

#endif
