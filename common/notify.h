/*
 * notify: systemd's readiness protocol without libsystemd (sd_notify(3)):
 * one datagram of "KEY=value" lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace). A unit
 * of Type=notify is started when the program sends READY=1; STOPPING=1
 * and RELOADING=1 tell systemd what it is doing. Outside systemd
 * (NOTIFY_SOCKET unset) nothing is sent.
 *
 * Not here: when to send (common/daemon.c), logging.
 */
#ifndef EIRC_NOTIFY_H
#define EIRC_NOTIFY_H

#include <sys/socket.h>
#include <sys/un.h>

/* Most bytes of one state text (a datagram systemd reads whole). */
#define NOTIFY_STATE_MAX 4096

/*
 * The address $NOTIFY_SOCKET names, parsed from env: a path starting with
 * '/' or an abstract name starting with '@' (its '@' a NUL byte on the
 * wire), at most sizeof(sun_path) - 1 bytes. Returns 0 with *out and
 * *out_len; -ENOENT when env is NULL or empty; -EAFNOSUPPORT for any
 * other form (systemd's vsock addresses); -ENAMETOOLONG past the limit.
 */
int notify_addr(const char *env, struct sockaddr_un *out, socklen_t *out_len);

/*
 * Sends state ("READY=1", "STOPPING=1", "RELOADING=1\nSTATUS=...") to
 * $NOTIFY_SOCKET. Returns 1 sent, 0 when NOTIFY_SOCKET is unset, or a
 * negative errno (notify_addr's, socket(2)'s or sendto(2)'s; -EMSGSIZE
 * past NOTIFY_STATE_MAX). Blocks at most as long as one sendto to a
 * local datagram socket.
 */
int notify_send(const char *state);

#endif
