/* This file contains the libFuzzer target over one layer tar read the way
 * fs/build/layer.c reads it, without the merge and its SQLite index: the
 * libarchive reader as imgfs configures it (imgfs_region_archive: its
 * filters, tar and GNU tar, pax, GNU sparse maps), entry names and link
 * targets through util/path_i.h, and our own header walk
 * (imgfs_tarhdr_data_offset, format/tarhdr_i.h) for entries whose data is
 * served in place.
 *
 * The input is the layer tar.  The check that matters: when the header walk
 * says an entry's data starts at byte X, the bytes there are the ones
 * libarchive reads for the entry (else a mount would serve wrong bytes
 * silently), and X lies inside the tar, after the header, on a block.
 *
 * What it cannot reach: the whiteout, opaque and xattr rules of
 * imgfs_layer_apply are static in layer.c and go straight to the merge
 * (SQLite); fuzz_index covers them, slowly. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "format/source_i.h"
#include "format/tarhdr_i.h"
#include "util/path_i.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bounds per input: entries walked and bytes compared per entry; enough for
 * every header form, small enough that one input stays fast. */
#define ENTRIES_MAX 4096
#define CMP_MAX (64u << 10)
#define READ_MAX (1u << 20)

static int fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fd = memfd_create("fuzz_tarhdr", 0);
	if (fd < 0)
		abort();
	return 0;
}

/* The entry's data as libarchive gives it, up to CMP_MAX bytes, compared
 * with the bytes at DATA_OFF in the tar; the rest read through, bounded,
 * as the content cache would (sparse holes come back as zeros). */
static void check_data(struct archive *a, const uint8_t *tar, uint64_t data_off, uint64_t size,
		       int direct)
{
	static char buf[CMP_MAX];
	uint64_t want = size < CMP_MAX ? size : CMP_MAX, got = 0, total;
	la_ssize_t n;

	while (got < want) {
		n = archive_read_data(a, buf + got, (size_t)(want - got));
		if (n <= 0)
			return; /* damaged or truncated: layer.c refuses the layer */
		got += (uint64_t)n;
	}
	if (direct && memcmp(buf, tar + data_off, (size_t)want))
		abort(); /* the header walk points at other bytes than libarchive's */
	for (total = got; total < READ_MAX; total += (uint64_t)n) {
		n = archive_read_data(a, buf, sizeof(buf));
		if (n <= 0)
			break;
	}
}

static void check_names(struct archive_entry *e, const char *raw)
{
	char path[IMGFS_PATH_MAX], link[IMGFS_PATH_MAX];
	const char *t;

	if (imgfs_path_normalize(raw, path, sizeof(path)) != 0)
		return;
	if (path[0] == '/' || strstr(path, "//"))
		abort();
	if ((t = archive_entry_hardlink(e)))
		imgfs_path_normalize(t, link, sizeof(link));
	else if ((t = archive_entry_symlink(e)))
		imgfs_path_join_link(path, t, 0, link, sizeof(link));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imgfs_region r = { 0 };
	struct archive *a;
	struct imgfs_region_io io;
	struct archive_entry *e;
	int i, plain = -1;

	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	r.fd = fd;
	r.size = size;
	r.file = "fuzz.tar";
	a = imgfs_region_archive(&r, &io);
	if (!a)
		return 0;
	for (i = 0; i < ENTRIES_MAX; i++) {
		int hr = archive_read_next_header(a, &e);
		uint64_t esize, off = 0;
		const char *raw, *xn;
		const void *xv;
		size_t xl;
		la_int64_t so, sl;
		int direct = 0;

		if (hr == ARCHIVE_EOF || hr == ARCHIVE_FATAL || hr == ARCHIVE_RETRY)
			break;
		if (hr == ARCHIVE_WARN && archive_error_string(a) &&
		    strstr(archive_error_string(a), "Rejecting pax"))
			break; /* layer.c refuses the layer here */
		if (plain < 0)
			plain = strcmp(imgfs_region_compression(a, &io), "none") == 0;
		raw = archive_entry_pathname(e);
		if (raw)
			check_names(e, raw);
		archive_entry_xattr_reset(e);
		while (archive_entry_xattr_next(e, &xn, &xv, &xl) == ARCHIVE_OK)
			if (!xn || (xl && !xv))
				abort();
		/* count before reset: libarchive 3.6's count frees a map that
		 * is one extent covering the file, and reset would have set its
		 * cursor to the freed head first (a use after free in
		 * archive_entry_sparse_next, found here; imgfs itself only
		 * calls archive_entry_sparse_count) */
		archive_entry_sparse_count(e);
		archive_entry_sparse_reset(e);
		while (archive_entry_sparse_next(e, &so, &sl) == ARCHIVE_OK)
			if (so < 0 || sl < 0)
				abort(); /* a sparse map libarchive let through */
		if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
			continue;
		esize = archive_entry_size_is_set(e) ? (uint64_t)archive_entry_size(e) : 0;
		/* layer.c's condition for serving the data in place */
		if (esize > 0 && plain && archive_entry_sparse_count(e) == 0) {
			uint64_t hdr = (uint64_t)archive_read_header_position(a);
			int rc = imgfs_tarhdr_data_offset(fd, 0, size, hdr, esize, &off);

			if (rc == 0) {
				if (off < hdr + 512 || (off - hdr) % 512 || off + esize > size)
					abort();
				direct = 1;
			} else if (rc != -EILSEQ) {
				abort(); /* a memfd never fails to read */
			}
		}
		check_data(a, data, off, esize, direct);
	}
	imgfs_region_archive_free(a);
	return 0;
}
