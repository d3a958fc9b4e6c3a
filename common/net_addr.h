/*
 * net_addr: textual IP addresses, CIDR ranges and the real client address
 * behind trusted reverse proxies (X-Forwarded-For), for every listener that
 * is reached through a proxy: eirc-gateway's /chat and eirc-auth.
 *
 * Pure: bytes in, answers out. Every input may come from an untrusted peer,
 * so every function takes a bound and refuses what it does not understand.
 */
#ifndef EIRC_COMMON_NET_ADDR_H
#define EIRC_COMMON_NET_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest textual IP address we handle (INET6_ADDRSTRLEN). */
#define NET_IP_MAX 46
/* Most X-Forwarded-For hops examined (right to left). */
#define NET_XFF_HOPS_MAX 32
/* Longest X-Forwarded-For value a listener reads; a longer one is refused. */
#define NET_XFF_MAX 1024

/* An address range (trusted_proxies). */
typedef struct net_cidr {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order, host bits cleared */
	unsigned prefix;  /* 0..32 or 0..128 */
} net_cidr_t;

/* Parses "192.0.2.1", "10.0.0.0/8", "::1", "fd00::/8". 0 or -EINVAL. */
int net_cidr_parse(const char *s, net_cidr_t *out);

/* True when the textual address ip is inside one of cidrs[0..n). */
bool net_cidr_match(const char *ip, const net_cidr_t *cidrs, size_t n);

/*
 * The real client address: peer itself unless peer is a trusted proxy;
 * then the right-most address of X-Forwarded-For (xff, NULL when absent)
 * that is not itself trusted (all trusted: the left-most). A malformed
 * hop ends the walk and the last good answer stands (peer if none). An
 * IPv4-mapped peer ("::ffff:192.0.2.1", a dual-stack socket) counts as the
 * IPv4 address. Writes it into out (cap >= NET_IP_MAX), canonical text
 * form. Returns 0, or -EINVAL when peer is not an address.
 */
int net_client_ip(const char *peer, const char *xff, const net_cidr_t *trusted, size_t n, char *out,
		  size_t cap);

#endif
