/* This file contains the minimal tar header walker that finds where an
 * entry's data starts in an uncompressed tar. */
#include "format/tarhdr_i.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define BLOCK 512
/* Sanity limit: pax records searched for sparse keys.  libarchive rejects
 * pax headers over 1 MiB (the layer is then refused), and longer ones just
 * take the slow path. */
#define IMGFS_TAR_PAX_SCAN (1u << 20)

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

/* Whether the pax records of SIZE bytes at OFF (in FD) name a GNU sparse
 * attribute.  PAX sparse 1.0 keeps its map at the start of the entry's
 * data, which libarchive consumes with the header: the data is then not
 * where the walk would put it, and a crafted pax header can make libarchive
 * take a map the entry's size rules out, so sparse_count says nothing.
 * The key is searched for anywhere (a value holding it only costs the fast
 * path); 1 if found or the records are too long to look at, 0 if not. */
static int pax_sparse(int fd, uint64_t off, uint64_t size)
{
	static const char key[] = "GNU.sparse.";
	const size_t klen = sizeof(key) - 1;
	char buf[4096 + sizeof(key)];
	uint64_t done = 0;
	size_t keep = 0;

	if (size > IMGFS_TAR_PAX_SCAN)
		return 1;
	while (done < size) {
		size_t want = size - done < 4096 ? (size_t)(size - done) : 4096;
		ssize_t n = pread(fd, buf + keep, want, (off_t)(off + done));

		if (n <= 0)
			return 1;
		if (memmem(buf, keep + (size_t)n, key, klen))
			return 1;
		done += (uint64_t)n;
		/* a key split across two reads: keep the tail */
		keep += (size_t)n;
		if (keep > klen - 1) {
			memmove(buf, buf + keep - (klen - 1), klen - 1);
			keep = klen - 1;
		}
	}
	return 0;
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
			if (hdr + BLOCK + (uint64_t)size > limit ||
			    pax_sparse(fd, base + hdr + BLOCK, (uint64_t)size))
				return -EILSEQ; /* sparse: data is not contiguous */
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
