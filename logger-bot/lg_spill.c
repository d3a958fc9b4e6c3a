/*
 * lg_spill: spill file format and buffered file I/O (see lg_spill.h).
 */
#include "logger-bot/lg_spill.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/archive_keys.h"

struct lg_spill {
	int fd;
	uint64_t max;
	uint64_t size;   /* file bytes, header and append buffer included */
	uint64_t rd_off; /* next record to read */
	bool dirty;      /* appended since the last sync */
	size_t wlen;
	unsigned char wbuf[LG_SPILL_BUF];
	uint64_t rbuf_off; /* file offset of rbuf[0] */
	size_t rlen;
	unsigned char rbuf[LG_SPILL_BUF];
};

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

int lg_spill_parse(const void *buf, size_t len, const void **out_payload, size_t *out_payload_len,
		   size_t *out_consumed)
{
	const unsigned char *p = buf;
	uint32_t n;

	if (len < LG_SPILL_RECORD_HEADER)
		return -EAGAIN;
	n = le32(p);
	if (n == 0 || n > LG_SPILL_PAYLOAD_MAX)
		return -EBADMSG;
	if (len - LG_SPILL_RECORD_HEADER < n)
		return -EAGAIN;
	if (archive_keys_crc32(0, p + LG_SPILL_RECORD_HEADER, n) != le32(p + 4))
		return -EBADMSG;
	*out_payload = p + LG_SPILL_RECORD_HEADER;
	*out_payload_len = n;
	*out_consumed = LG_SPILL_RECORD_HEADER + (size_t)n;
	return 0;
}

void lg_spill_record_header(const void *payload, size_t len, unsigned char hdr[8])
{
	put32(hdr, (uint32_t)len);
	put32(hdr + 4, archive_keys_crc32(0, payload, len));
}

static int write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Fills rbuf from file offset off; returns bytes available or -errno. */
static ssize_t fill(lg_spill_t *s, uint64_t off)
{
	ssize_t r;

	do
		r = pread(s->fd, s->rbuf, sizeof(s->rbuf), (off_t)off);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	s->rbuf_off = off;
	s->rlen = (size_t)r;
	return r;
}

/* Reads the record at s->rd_off into buf through rbuf. */
static int read_record(lg_spill_t *s, void *buf, size_t cap, size_t *out_len)
{
	const void *payload;
	size_t plen, used;
	int err;

	for (int pass = 0; pass < 2; pass++) {
		size_t at = (size_t)(s->rd_off - s->rbuf_off);
		if (s->rd_off >= s->rbuf_off && s->rd_off <= s->rbuf_off + s->rlen) {
			err = lg_spill_parse(s->rbuf + at, s->rlen - at, &payload, &plen, &used);
			if (err == 0) {
				if (plen > cap)
					return -ENOBUFS;
				memcpy(buf, payload, plen);
				s->rd_off += used;
				*out_len = plen;
				return 0;
			}
			if (err != -EAGAIN)
				return err;
		}
		if (pass == 0 && fill(s, s->rd_off) < 0)
			return -errno;
	}
	return -EBADMSG; /* a record that does not fit the file */
}

int lg_spill_next(lg_spill_t *s, void *buf, size_t cap, size_t *out_len)
{
	int err;

	if (s->rd_off >= s->size)
		return -ENOENT;
	if ((err = lg_spill_flush(s)) < 0)
		return err;
	err = read_record(s, buf, cap, out_len);
	if (err == -EBADMSG)
		s->rd_off = s->size;
	return err;
}

/* Scans whole records from the header on; returns the end of the last. */
static uint64_t scan_valid(lg_spill_t *s, uint64_t file_size)
{
	static unsigned char tmp[LG_SPILL_PAYLOAD_MAX];
	size_t n;

	s->size = file_size;
	s->rd_off = LG_SPILL_HEADER_LEN;
	s->rlen = 0;
	while (read_record(s, tmp, sizeof(tmp), &n) == 0 && s->rd_off <= file_size)
		;
	return s->rd_off > file_size ? LG_SPILL_HEADER_LEN : s->rd_off;
}

static int open_file(const char *dir, int *out_fd)
{
	char path[4096];
	int fd;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (snprintf(path, sizeof(path), "%s/%s", dir, LG_SPILL_FILE_NAME) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	*out_fd = fd;
	return 0;
}

static int check_header(lg_spill_t *s, uint64_t file_size, uint64_t *out_dropped)
{
	unsigned char hdr[LG_SPILL_HEADER_LEN];
	uint64_t end;

	if (file_size < LG_SPILL_HEADER_LEN) {
		if (ftruncate(s->fd, 0) < 0 ||
		    pwrite(s->fd, LG_SPILL_MAGIC, LG_SPILL_HEADER_LEN, 0) != LG_SPILL_HEADER_LEN)
			return -errno;
		*out_dropped = file_size;
		s->size = s->rd_off = LG_SPILL_HEADER_LEN;
		return fdatasync(s->fd) < 0 ? -errno : 0;
	}
	if (pread(s->fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr))
		return -EIO;
	if (memcmp(hdr, LG_SPILL_MAGIC, LG_SPILL_HEADER_LEN) != 0)
		return -EBADMSG;
	end = scan_valid(s, file_size);
	*out_dropped = file_size - end;
	if (end < file_size && ftruncate(s->fd, (off_t)end) < 0)
		return -errno;
	s->size = end;
	s->rd_off = LG_SPILL_HEADER_LEN;
	s->rlen = 0;
	return 0;
}

int lg_spill_open(const char *dir, uint64_t max, lg_spill_t **out_spill,
		  uint64_t *out_dropped_bytes)
{
	lg_spill_t *s;
	struct stat st;
	uint64_t dropped = 0;
	int err;

	if (max < LG_SPILL_HEADER_LEN + LG_SPILL_RECORD_HEADER + LG_SPILL_PAYLOAD_MAX)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->max = max;
	if ((err = open_file(dir, &s->fd)) < 0)
		goto free_s;
	if (fstat(s->fd, &st) < 0) {
		err = -errno;
		goto close_fd;
	}
	if ((err = check_header(s, (uint64_t)st.st_size, &dropped)) < 0)
		goto close_fd;
	if (lseek(s->fd, 0, SEEK_END) < 0) {
		err = -errno;
		goto close_fd;
	}
	*out_spill = s;
	if (out_dropped_bytes)
		*out_dropped_bytes = dropped;
	return 0;
close_fd:
	close(s->fd);
free_s:
	free(s);
	return err;
}

int lg_spill_append(lg_spill_t *s, const void *payload, size_t len)
{
	unsigned char hdr[LG_SPILL_RECORD_HEADER];
	int err;

	if (len == 0 || len > LG_SPILL_PAYLOAD_MAX)
		return -EMSGSIZE;
	if (s->size + sizeof(hdr) + len > s->max)
		return -ENOSPC;
	if (s->wlen + sizeof(hdr) + len > sizeof(s->wbuf) && (err = lg_spill_flush(s)) < 0)
		return err;
	lg_spill_record_header(payload, len, hdr);
	if (sizeof(hdr) + len > sizeof(s->wbuf)) {
		if ((err = write_all(s->fd, hdr, sizeof(hdr))) < 0 ||
		    (err = write_all(s->fd, payload, len)) < 0)
			return err;
	} else {
		memcpy(s->wbuf + s->wlen, hdr, sizeof(hdr));
		memcpy(s->wbuf + s->wlen + sizeof(hdr), payload, len);
		s->wlen += sizeof(hdr) + len;
	}
	s->size += sizeof(hdr) + len;
	s->dirty = true;
	return 0;
}

int lg_spill_flush(lg_spill_t *s)
{
	int err;

	if (s->wlen == 0)
		return 0;
	err = write_all(s->fd, s->wbuf, s->wlen);
	s->wlen = 0;
	return err;
}

int lg_spill_sync(lg_spill_t *s)
{
	int err = lg_spill_flush(s);

	if (err < 0 || !s->dirty)
		return err;
	s->dirty = false;
	return fdatasync(s->fd) < 0 ? -errno : 0;
}

uint64_t lg_spill_size(const lg_spill_t *s)
{
	return s->size - LG_SPILL_HEADER_LEN;
}

uint64_t lg_spill_unread(const lg_spill_t *s)
{
	return s->size - s->rd_off;
}

int lg_spill_reset(lg_spill_t *s)
{
	s->wlen = 0;
	s->rlen = 0;
	s->size = s->rd_off = LG_SPILL_HEADER_LEN;
	s->dirty = false;
	if (ftruncate(s->fd, LG_SPILL_HEADER_LEN) < 0 || lseek(s->fd, 0, SEEK_END) < 0)
		return -errno;
	return fdatasync(s->fd) < 0 ? -errno : 0;
}

void lg_spill_close(lg_spill_t *s)
{
	if (!s)
		return;
	(void)lg_spill_sync(s);
	close(s->fd);
	free(s);
}
