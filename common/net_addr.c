/*
 * net_addr: addresses, ranges, the client behind a proxy. See net_addr.h.
 */
#include "common/net_addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Parses a textual address into family and 16 bytes; 0 or -EINVAL. */
static int addr_parse(const char *s, int *out_family, uint8_t out[16])
{
	uint8_t buf[16] = {0};

	if (inet_pton(AF_INET, s, buf) == 1) {
		*out_family = AF_INET;
	} else if (inet_pton(AF_INET6, s, buf) == 1) {
		*out_family = AF_INET6;
	} else {
		return -EINVAL;
	}
	memcpy(out, buf, 16);
	return 0;
}

int net_cidr_parse(const char *s, net_cidr_t *out)
{
	char addr[NET_IP_MAX];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long prefix;
	net_cidr_t c;
	char *end;

	if (alen == 0 || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (addr_parse(addr, &c.family, c.addr) < 0)
		return -EINVAL;
	c.prefix = c.family == AF_INET ? 32 : 128;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		errno = 0;
		prefix = strtoul(slash + 1, &end, 10);
		if (errno || *end || prefix > c.prefix)
			return -EINVAL;
		c.prefix = (unsigned)prefix;
	}
	for (unsigned bit = c.prefix; bit < 128; bit++)
		c.addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	*out = c;
	return 0;
}

static bool cidr_contains(const net_cidr_t *c, int family, const uint8_t a[16])
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;

	if (family != c->family)
		return false;
	if (memcmp(a, c->addr, full))
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xffu << (8 - rest));
		if ((a[full] & mask) != c->addr[full])
			return false;
	}
	return true;
}

bool net_cidr_match(const char *ip, const net_cidr_t *cidrs, size_t n)
{
	uint8_t a[16];
	int family;

	if (!ip || addr_parse(ip, &family, a) < 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (cidr_contains(&cidrs[i], family, a))
			return true;
	return false;
}

/* Writes the canonical form of ip into out; 0 or -EINVAL. */
static int addr_canonical(const char *ip, char *out, size_t cap)
{
	uint8_t a[16];
	char buf[INET6_ADDRSTRLEN];
	int family;

	if (addr_parse(ip, &family, a) < 0 || !inet_ntop(family, a, buf, sizeof(buf)) ||
	    strlen(buf) + 1 > cap)
		return -EINVAL;
	memcpy(out, buf, strlen(buf) + 1);
	return 0;
}

/* Copies the hop xff[start..end) trimmed into hop (NET_IP_MAX); false if bad. */
static bool xff_hop(const char *start, const char *end, char hop[NET_IP_MAX])
{
	while (start < end && is_space(*start))
		start++;
	while (end > start && is_space(end[-1]))
		end--;
	if (end == start || (size_t)(end - start) >= NET_IP_MAX)
		return false;
	memcpy(hop, start, (size_t)(end - start));
	hop[end - start] = '\0';
	return true;
}

int net_client_ip(const char *peer, const char *xff, const net_cidr_t *trusted, size_t n, char *out,
		  size_t cap)
{
	char best[NET_IP_MAX], hop[NET_IP_MAX];
	const char *end, *p;
	int hops = 0;

	if (strncmp(peer, "::ffff:", 7) == 0 && strchr(peer + 7, '.'))
		peer += 7; /* IPv4-mapped: a dual-stack socket's IPv4 peer */
	if (addr_canonical(peer, best, sizeof(best)) < 0)
		return -EINVAL;
	if (xff && net_cidr_match(best, trusted, n)) {
		end = xff + strlen(xff);
		while (end > xff && hops++ < NET_XFF_HOPS_MAX) {
			p = end;
			while (p > xff && p[-1] != ',')
				p--;
			if (!xff_hop(p, end, hop) || addr_canonical(hop, best, sizeof(best)) < 0)
				break;
			if (!net_cidr_match(best, trusted, n))
				break;
			end = p > xff ? p - 1 : xff;
		}
	}
	if (strlen(best) + 1 > cap)
		return -EINVAL;
	memcpy(out, best, strlen(best) + 1);
	return 0;
}
