/* This file contains the minimal tar header walker that finds where an
 * entry's data starts in an uncompressed tar. */
#include "format/tarhdr_i.h"

#include <errno.h>
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

int imgfs_tarhdr_data_offset(int fd, uint64_t base, uint64_t limit, uint64_t hdr,
			     uint64_t want_size, uint64_t *data)
{
	unsigned char h[BLOCK];
	int saw_pax = 0;
	int i;

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
		if (size < 0)
			return -EILSEQ;
		switch (h[156]) {
		case 'x': case 'g': case 'X':
			saw_pax = 1;
			/* fall through */
		case 'L': case 'K':
			hdr += BLOCK + (((uint64_t)size + BLOCK - 1) & ~(uint64_t)(BLOCK - 1));
			continue;
		case 'S':
			return -EILSEQ; /* old GNU sparse: data is not contiguous */
		default:
			if (!saw_pax && (uint64_t)size != want_size)
				return -EILSEQ;
			if (hdr + BLOCK + want_size > limit)
				return -EILSEQ;
			*data = hdr + BLOCK;
			return 0;
		}
	}
	return -EILSEQ;
}
