/* Locating a tar entry's data inside an uncompressed tar, so reads can be
 * served with pread from the image file.  libarchive has no API for it. */
#ifndef IMGFS_TARHDR_I_H
#define IMGFS_TARHDR_I_H

#include <stdint.h>

/* Sanity limit: extension headers (pax 'x'/'g', GNU 'L'/'K') before one
 * entry.  Real writers emit at most three. */
#define IMGFS_TAR_EXT_MAX 16

/* Walks the header blocks of the entry whose first header block starts at
 * byte HDR of the tar that begins at BASE in FD (LIMIT = the tar's size), and
 * stores the offset (relative to BASE) of the entry's data in *DATA.  Each
 * header's checksum is verified and the main header's size field must equal
 * WANT_SIZE unless a pax header (which may override it) was seen.
 * Returns 0, -EILSEQ when the headers do not verify (the caller then reads
 * the data through libarchive instead), -EIO on read errors. */
int imgfs_tarhdr_data_offset(int fd, uint64_t base, uint64_t limit, uint64_t hdr,
			     uint64_t want_size, uint64_t *data);

#endif
