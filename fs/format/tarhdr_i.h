/* Locating a tar entry's data inside an uncompressed tar, so reads can be
 * served with pread from the image file.  libarchive has no API for it. */
#ifndef IMGFS_TARHDR_I_H
#define IMGFS_TARHDR_I_H

#include <stdint.h>

/* Sanity limit: extension headers (pax 'x'/'g', GNU 'L'/'K') before one
 * entry.  Real writers emit at most three. */
#define IMGFS_TAR_EXT_MAX 16
/* A pax header is looked through for size and sparse records up to this
 * size: libarchive rejects larger ones (its own 1 MiB limit), so nothing
 * readable is refused for it. */
#define IMGFS_TAR_PAX_SCAN_MAX (1u << 20)

/* Walks the header blocks of the entry whose first header block starts at
 * byte HDR of the tar that begins at BASE in FD (LIMIT = the tar's size), and
 * stores the offset (relative to BASE) of the entry's data in *DATA.  Each
 * header's checksum is verified, and the stored size (a pax "size" record,
 * else the header's field) must equal WANT_SIZE, the entry's size as
 * libarchive reports it: any sparse form (old GNU 'S' or realsize, pax
 * GNU.sparse.* or SCHILY.realsize) is not contiguous data of that size.
 * Returns 0, -EILSEQ when the headers do not verify or the data is not
 * stored plainly (the caller then reads the data through libarchive
 * instead), -EIO on read errors. */
int imgfs_tarhdr_data_offset(int fd, uint64_t base, uint64_t limit, uint64_t hdr,
			     uint64_t want_size, uint64_t *data);

#endif
