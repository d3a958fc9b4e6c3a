/*
 * archive_keys: partitioning and key names (see archive_keys.h).
 */
#include "archive/archive_keys.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Slice-by-8: eight table lookups per 8 bytes (the spill file checks
 * every record it writes and reads with it). */
static uint32_t crc_table[8][256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int j = 0; j < 8; j++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^
					  crc_table[0][crc_table[t - 1][i] & 0xFF];
}

uint32_t archive_keys_crc32(uint32_t crc, const void *buf, size_t len)
{
	static int ready;
	const unsigned char *p = buf;

	if (!ready) {
		crc_init();
		ready = 1;
	}
	crc = ~crc;
	for (; len >= 8; len -= 8, p += 8) {
		uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
				     (uint32_t)p[3] << 24);
		crc = crc_table[7][lo & 0xFF] ^ crc_table[6][(lo >> 8) & 0xFF] ^
		      crc_table[5][(lo >> 16) & 0xFF] ^ crc_table[4][lo >> 24] ^
		      crc_table[3][p[4]] ^ crc_table[2][p[5]] ^ crc_table[1][p[6]] ^
		      crc_table[0][p[7]];
	}
	while (len--)
		crc = crc_table[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
	return ~crc;
}

static int network_valid(const char *network)
{
	size_t n = network ? strlen(network) : 0;

	return n > 0 && n <= ARCHIVE_KEYS_NETWORK_MAX && !memchr(network, ':', n);
}

int archive_keys_partition(const char *network, const char *target, size_t target_len,
			   enum irc_casemap cm, int partitions)
{
	char folded[ARCHIVE_KEYS_NETWORK_MAX + 1 + ARCHIVE_KEYS_TARGET_MAX];
	size_t n;

	if (partitions < 1 || partitions > ARCHIVE_KEYS_PARTITIONS_MAX || !network_valid(network) ||
	    target_len == 0 || target_len > ARCHIVE_KEYS_TARGET_MAX)
		return -EINVAL;
	n = strlen(network);
	irc_casemap_fold(cm, network, n, folded);
	folded[n] = ':';
	irc_casemap_fold(cm, target, target_len, folded + n + 1);
	return (int)(archive_keys_crc32(0, folded, n + 1 + target_len) % (uint32_t)partitions);
}

static int finish(int n, size_t cap)
{
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= cap)
		return -ENOBUFS;
	return n;
}

int archive_keys_history(int k, const char *network, const char *target, size_t target_len,
			 enum irc_casemap cm, char *buf, size_t cap)
{
	int n;

	if (k < 0 || !network_valid(network) || target_len == 0 ||
	    target_len > ARCHIVE_KEYS_TARGET_MAX)
		return -EINVAL;
	n = snprintf(buf, cap, "eirc:{p%d}:history:%s:", k, network);
	if (n < 0 || (size_t)n + target_len >= cap)
		return -ENOBUFS;
	irc_casemap_fold(cm, target, target_len, buf + n);
	buf[(size_t)n + target_len] = '\0';
	return n + (int)target_len;
}

int archive_keys_msgid(int k, const char *msgid, size_t msgid_len, char *buf, size_t cap)
{
	int n;

	if (k < 0 || msgid_len == 0 || msgid_len > ARCHIVE_KEYS_MSGID_MAX)
		return -EINVAL;
	n = snprintf(buf, cap, "eirc:{p%d}:msgid:", k);
	if (n < 0 || (size_t)n + msgid_len >= cap)
		return -ENOBUFS;
	memcpy(buf + n, msgid, msgid_len);
	buf[(size_t)n + msgid_len] = '\0';
	return n + (int)msgid_len;
}

int archive_keys_seen(int partitions, const char *network, const char *nick, char *buf, size_t cap)
{
	size_t len = strlen(nick);
	int k = archive_keys_partition(network, nick, len, IRC_CASEMAP_NONE, partitions);

	if (k < 0)
		return -EINVAL;
	return finish(snprintf(buf, cap, "eirc:{p%d}:logger:%s:%s:seen", k, network, nick), cap);
}

int archive_keys_archive(int k, char *buf, size_t cap)
{
	if (k < 0)
		return -EINVAL;
	return finish(snprintf(buf, cap, "eirc:{p%d}:archive", k), cap);
}

int archive_keys_dead(int k, char *buf, size_t cap)
{
	if (k < 0)
		return -EINVAL;
	return finish(snprintf(buf, cap, "eirc:{p%d}:archive:dead", k), cap);
}

int archive_keys_dm_target(uint64_t id_a, uint64_t id_b, char *buf, size_t cap)
{
	uint64_t lo = id_a < id_b ? id_a : id_b, hi = id_a < id_b ? id_b : id_a;

	if (lo == 0 || lo == hi)
		return -EINVAL;
	return finish(snprintf(buf, cap, "dm:%" PRIu64 ":%" PRIu64, lo, hi), cap);
}

/* The tamper-evident log's keys (archive/tlog.h, docs/compliance.md). */
int archive_keys_tlog(int k, const char *what, char *buf, size_t cap)
{
	if (k < 0 || !what || !*what)
		return -EINVAL;
	return finish(snprintf(buf, cap, "eirc:{p%d}:%s", k, what), cap);
}

int archive_keys_leaves(int k, uint64_t chunk, char *buf, size_t cap)
{
	if (k < 0)
		return -EINVAL;
	return finish(snprintf(buf, cap, "eirc:{p%d}:leaves:%" PRIu64, k, chunk), cap);
}
