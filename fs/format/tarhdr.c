/* This file contains the minimal tar header walker that finds where an
 * entry's data starts in an uncompressed tar. */
#include "format/tarhdr_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK 512
/* Parses an octal or GNU base-256 numeric field; -1 if malformed. */
static int64_t tar_number(const unsigned char *f, size_t n)
{
	int64_t v = 0;
	size_t i = 0;

	if (f[0] & 0x80) {
		/* base-256: big-endian, first byte's top bit is the marker */
		v = f[0] & 0x3f;
		if (f[0] & 0x40)
			return -1; /* negative sizes are nonsense */
		for (i = 1; i < n; i++) {
			if (v > (INT64_MAX >> 8))
				return -1;
			v = (v << 8) | f[i];
		}
		return v;
	}
	while (i < n && f[i] == ' ')
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v > (INT64_MAX >> 3))
			return -1;
		v = v * 8 + (f[i] - '0');
	}
	return v;
}

static int checksum_ok(const unsigned char *h)
{
	int64_t want = tar_number(h + 148, 8);
	uint64_t u = 0;
	int64_t s = 0;
	int i;

	for (i = 0; i < BLOCK; i++) {
		unsigned char c = (i >= 148 && i < 156) ? ' ' : h[i];

		u += c;
		s += (signed char)c;
	}
	return want >= 0 && ((uint64_t)want == u || want == s);
}

/* Looks through the records of a pax header (SIZE bytes at OFF of FD) for
 * what makes the entry's stored bytes differ from a plain file's: a
 * "size" record (stored in *PAX_SIZE, *HAS_SIZE set) and any sparse key.
 * Only that is read, to decide whether the data may be read in place;
 * libarchive does the parsing that counts (it serves the bytes otherwise).
 * -EILSEQ for a sparse key or a header past IMGFS_TAR_PAX_SCAN_MAX. */
static int pax_scan(int fd, uint64_t off, uint64_t size, uint64_t *pax_size, int *has_size)
{
	size_t at = 0;
	ssize_t n;
	char *buf;
	int rc = 0;

	if (size > IMGFS_TAR_PAX_SCAN_MAX)
		return -EILSEQ;
	buf = malloc(size ? (size_t)size : 1);
	if (!buf)
		return -ENOMEM;
	n = pread(fd, buf, (size_t)size, (off_t)off);
	if (n < 0)
		rc = -EIO;
	else if ((uint64_t)n != size)
		rc = -EILSEQ;
	/* "GNU.sparse." anywhere, not only as a well-formed record's key:
	 * fuzz_tarhdr found a PAX sparse 1.0 entry with a misspelt realsize
	 * whose map libarchive consumed from the data while reporting no
	 * extents, so the walk pointed at the map text (the regress input
	 * pax-sparse-1.0-without-realsize.tar).  A value holding the words
	 * only costs the fast path. */
	if (rc == 0 && memmem(buf, (size_t)n, "GNU.sparse.", 11))
		rc = -EILSEQ;
	while (rc == 0 && at < (size_t)n) {
		size_t len = 0, i = at, k;

		while (i < (size_t)n && buf[i] >= '0' && buf[i] <= '9' && len <= (size_t)n)
			len = len * 10 + (size_t)(buf[i++] - '0');
		/* libarchive too stops at a malformed record and ignores the
		 * rest; the stored size is still checked against its reading */
		if (i == at || i >= (size_t)n || buf[i] != ' ' || len <= i - at + 1 ||
		    len > (size_t)n - at || buf[at + len - 1] != '\n')
			break;
		k = i + 1; /* the key, up to '=' */
		if (!strncmp(buf + k, "GNU.sparse.", 11) || !strncmp(buf + k, "SCHILY.realsize=", 16) ||
		    !strncmp(buf + k, "SCHILY.sparse", 13)) {
			rc = -EILSEQ;
			break;
		}
		if (!strncmp(buf + k, "size=", 5)) {
			uint64_t v = 0;

			for (i = k + 5; rc == 0 && i < at + len - 1; i++) {
				if (buf[i] < '0' || buf[i] > '9' || v > (UINT64_MAX - 9) / 10)
					rc = -EILSEQ;
				v = v * 10 + (uint64_t)(buf[i] - '0');
			}
			*pax_size = v;
			*has_size = 1;
		}
		at += len;
	}
	free(buf);
	return rc;
}

int imgfs_tarhdr_data_offset(int fd, uint64_t base, uint64_t limit, uint64_t hdr,
			     uint64_t want_size, uint64_t *data)
{
	unsigned char h[BLOCK];
	uint64_t pax_size = 0;
	int has_size = 0;
	int i, rc;

	for (i = 0; i <= IMGFS_TAR_EXT_MAX; i++) {
		int64_t size;
		ssize_t n;

		if (hdr + BLOCK > limit)
			return -EILSEQ;
		n = pread(fd, h, BLOCK, (off_t)(base + hdr));
		if (n < 0)
			return -EIO;
		if (n != BLOCK || !checksum_ok(h))
			return -EILSEQ;
		size = tar_number(h + 124, 12);
		if (size < 0 || (uint64_t)size > limit - hdr - BLOCK)
			return -EILSEQ;
		switch (h[156]) {
		case 'x': case 'g': case 'X':
			rc = pax_scan(fd, base + hdr + BLOCK, (uint64_t)size, &pax_size, &has_size);
			if (rc)
				return rc;
			/* fall through */
		case 'L': case 'K':
			hdr += BLOCK + (((uint64_t)size + BLOCK - 1) & ~(uint64_t)(BLOCK - 1));
			continue;
		case 'S':
			return -EILSEQ; /* old GNU sparse: data is not contiguous */
		default:
			/* an old-GNU header's realsize or sparse extension */
			if (!memcmp(h + 257, "ustar  \0", 8) && (h[482] || tar_number(h + 483, 12)))
				return -EILSEQ;
			/* the stored bytes must be the entry's bytes */
			if ((has_size ? pax_size : (uint64_t)size) != want_size)
				return -EILSEQ;
			if (hdr + BLOCK + want_size > limit)
				return -EILSEQ;
			*data = hdr + BLOCK;
			return 0;
		}
	}
	return -EILSEQ;
}
