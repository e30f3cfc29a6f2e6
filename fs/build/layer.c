/* This file contains the reading of one layer tar: each entry is
 * normalised, whiteouts are told apart from files, data is located in the
 * image for pread or copied into the content cache, and the result goes to
 * the merge. */
#include "build/layer_i.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/stat.h>

#include "format/tarhdr_i.h"
#include "util/err_i.h"
#include "util/guard_i.h"
#include "util/path_i.h"

/* Refuses the layer once what it decompressed so far, alone or added to
 * the layers before it, passes the bomb ratio: a small blob listed many
 * times (or many small blobs) is as much a bomb as one large ratio. */
static int bomb_check(struct imgfs_layer_job *b, struct archive *a)
{
	uint64_t out = (uint64_t)archive_filter_bytes(a, 0), in = imgfs_region_stored(a, &b->io);
	char what[sizeof(b->err->msg)];

	if (imgfs_bomb_check(NULL, out, in, b->max_ratio, NULL) == 0 &&
	    imgfs_bomb_check(NULL, b->prior_out + out, b->prior_in + in, b->max_ratio, NULL) == 0)
		return 0;
	/* the message names the image, as every input error does */
	if (imgfs_bomb_check(NULL, out, in, b->max_ratio, NULL)) {
		snprintf(what, sizeof(what), "%s: %s", b->image, b->layer_name);
		return imgfs_bomb_check(what, out, in, b->max_ratio, b->err);
	}
	snprintf(what, sizeof(what), "%s: the image up to %s", b->image, b->layer_name);
	return imgfs_bomb_check(what, b->prior_out + out, b->prior_in + in, b->max_ratio, b->err);
}

/* Hands chunk IDX of a file of SIZE bytes (its first FILL bytes in
 * B->buf) to the cache, zeros after them. */
static int flush_chunk(struct imgfs_layer_job *b, int64_t ino, uint64_t size, uint64_t idx,
		       size_t fill)
{
	uint64_t left = size - idx * IMGFS_CHUNK;
	size_t len = left > IMGFS_CHUNK ? IMGFS_CHUNK : (size_t)left;

	memset(b->buf + fill, 0, len - fill);
	return imgfs_cache_add(b->cache, ino, (int64_t)idx, b->buf, len);
}

/* Copies the entry's data through libarchive into the content cache, in
 * chunks of IMGFS_CHUNK (small files share frames).  libarchive hands the
 * data as blocks at offsets (a sparse file's map, a pax realsize past the
 * stored bytes): a chunk that no block touches is a hole and gets no frame
 * (the read side serves zeros for it), so a hole costs neither time nor
 * cache, whatever its size; the rest of a touched chunk is zeros. */
static int cache_data(struct imgfs_layer_job *b, struct archive *a, int64_t ino, uint64_t size)
{
	uint64_t pos = 0, cur = UINT64_MAX; /* end of the data so far, its chunk */
	size_t fill = 0;                    /* bytes of chunk CUR in b->buf */
	int rc = b->open_cache(b->ctx);

	if (rc)
		return rc;
	for (;;) {
		const void *p;
		size_t len;
		la_int64_t at;
		int r = archive_read_data_block(a, &p, &len, &at);

		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return imgfs_errf(b->err, -EINVAL, 1,
					  "%s: %s: corrupt data at byte %llu of the stream: %s",
					  b->image, b->layer_name,
					  (unsigned long long)imgfs_region_stored(a, &b->io),
					  archive_error_string(a) ? archive_error_string(a) : "truncated");
		/* blocks come in file order, inside the file: anything else is
		 * a sparse map no extractor agrees on */
		if (at < 0 || (uint64_t)at < pos || len > size || (uint64_t)at > size - len)
			return imgfs_errf(b->err, -EINVAL, 1,
					  "%s: %s: sparse map out of order or past the file's "
					  "size (%llu bytes at %lld)", b->image, b->layer_name,
					  (unsigned long long)len, (long long)at);
		pos = (uint64_t)at;
		while (len > 0) {
			uint64_t idx = pos / IMGFS_CHUNK;
			size_t in = (size_t)(pos % IMGFS_CHUNK);
			size_t n = len < IMGFS_CHUNK - in ? len : IMGFS_CHUNK - in;

			if (idx != cur) {
				if (cur != UINT64_MAX && (rc = flush_chunk(b, ino, size, cur, fill)) != 0)
					return rc;
				cur = idx;
				fill = 0;
			}
			if (in > fill)
				memset(b->buf + fill, 0, in - fill);
			memcpy(b->buf + in, p, n);
			fill = in + n;
			p = (const char *)p + n;
			pos += n;
			len -= n;
		}
		rc = bomb_check(b, a);
		if (rc)
			return rc;
	}
	if (cur != UINT64_MAX && (rc = flush_chunk(b, ino, size, cur, fill)) != 0)
		return rc;
	/* frames the thread finished meanwhile become rows now */
	return b->drain(b->ctx);
}

/* Extended attributes from pax headers, de-duplicated by the table's key;
 * overlayfs' own never belong to the image.  libarchive and bsdtar write
 * each xattr twice (LIBARCHIVE.xattr and SCHILY.xattr records) and the
 * reader hands both over, so the limit counts distinct names, kept in a
 * small open-addressing set (an entry may carry thousands of records):
 * a name seen again is the same xattr, its later value wins, and a name
 * dropped is warned about once. */
#define XATTR_COUNTED 1 /* the name has a place under the limit */
#define XATTR_WARNED 2  /* the name's drop was reported */

static int entry_xattrs(struct imgfs_layer_job *b, struct archive_entry *e, int64_t ino)
{
	const char *name, **names;
	const void *value;
	unsigned char *state;
	size_t len, cap = 2;
	int n = 0, rc = 0, count = archive_entry_xattr_reset(e);

	if (count <= 0)
		return 0;
	while (cap < 2 * (size_t)count) /* at most half full: probes stay short */
		cap <<= 1;
	names = calloc(cap, sizeof(*names));
	state = calloc(cap, 1);
	if (!names || !state) {
		rc = imgfs_errf(b->err, -ENOMEM, 0, "out of memory");
		goto out;
	}
	while (archive_entry_xattr_next(e, &name, &value, &len) == ARCHIVE_OK) {
		size_t h;

		if (!strncmp(name, "trusted.overlay.", 16) || !strncmp(name, "user.overlay.", 13) ||
		    !strncmp(name, "user.imgfs.", 11))
			continue;
		/* the entry owns NAME until its next header: no copy needed */
		h = (size_t)imgfs_fnv64(IMGFS_FNV64_INIT, name, strlen(name)) & (cap - 1);
		while (names[h] && strcmp(names[h], name))
			h = (h + 1) & (cap - 1);
		names[h] = name;
		if (len <= IMGFS_XATTR_VALUE_MAX && !(state[h] & XATTR_COUNTED) &&
		    n < IMGFS_XATTRS_PER_ENTRY) {
			state[h] |= XATTR_COUNTED;
			n++;
		}
		if (len > IMGFS_XATTR_VALUE_MAX || !(state[h] & XATTR_COUNTED)) {
			if (!(state[h] & XATTR_WARNED))
				fprintf(stderr,
					"imgfs: warning: %s: %s: %s: xattr %s dropped (over the limit)\n",
					b->image, b->layer_name, archive_entry_pathname(e), name);
			state[h] |= XATTR_WARNED;
			continue;
		}
		rc = imgfs_merge_xattr(b->merge, ino, name, value, len);
		if (rc)
			goto out;
	}
out:
	free(names);
	free(state);
	return rc;
}

/* Names and owners no Linux filesystem can hold (issue 13, item 17).
 * The kernel refuses a path component over NAME_MAX (255) bytes and a
 * symlink target that does not fit PATH_MAX (4096) with its NUL; served
 * anyway they showed in one place and not another (readdir left them out,
 * lookup found them; stat gave a size readlink could not return).  Such an
 * entry is left out of the tree with one warning, everywhere alike. */
#define IMGFS_NAME_MAX 255
#define IMGFS_TARGET_MAX 4095
/* uid_t is 32 bits and (uid_t)-1 means "no change" to chown: a larger id
 * cut to 32 bits could become 0 (2^40 did) and show a file as root's.
 * Such ids show as the kernel's overflow id (/proc/sys/kernel/overflowuid),
 * as for any id a user namespace cannot map: an owner that is no one. */
#define IMGFS_ID_MAX 4294967294LL
#define IMGFS_ID_OVERFLOW 65534

/* The length of the longest component of normalised path P. */
static size_t longest_component(const char *p)
{
	size_t best = 0;

	while (*p) {
		size_t n = strcspn(p, "/");

		if (n > best)
			best = n;
		p += n + (p[n] == '/');
	}
	return best;
}

/* Warns that the entry at PATH of the current layer is left out: WHY. */
static void refuse(const struct imgfs_layer_job *b, const char *path, const char *why)
{
	fprintf(stderr, "imgfs: warning: %s: %s: %.100s%s: %s, skipped\n", b->image, b->layer_name,
		path, strlen(path) > 100 ? "..." : "", why);
}

/* A uid or gid as the tree shows it: ids no uid_t holds become the
 * overflow id, with a warning naming the entry. */
static uint32_t owner_id(const struct imgfs_layer_job *b, const char *path, la_int64_t id,
			 const char *what)
{
	if (id >= 0 && id <= IMGFS_ID_MAX)
		return (uint32_t)id;
	fprintf(stderr, "imgfs: warning: %s: %s: %.100s%s: %s %lld is no Linux id, shown as %d\n",
		b->image, b->layer_name, path, strlen(path) > 100 ? "..." : "", what,
		(long long)id, IMGFS_ID_OVERFLOW);
	return IMGFS_ID_OVERFLOW;
}

static int is_estargz_name(const char *p)
{
	return !strcmp(p, "stargz.index.json") || !strcmp(p, ".prefetch.landmark") ||
	       !strcmp(p, ".no.prefetch.landmark");
}

/* Where the data of the entry just read starts in uncompressed region R,
 * if it can be read there.  libarchive has no API for either: our own
 * walk of the tar headers (checksums, extension headers, the stored size)
 * says, for every entry: an entry whose stored bytes are not exactly its
 * SIZE (a pax GNU.sparse.realsize without a map, any sparse form) is read
 * through libarchive instead, which knows what its bytes are.  The stream
 * position after libarchive's header must agree with the walk. */
static int data_offset(struct archive *a, const struct imgfs_region *r, uint64_t size,
		       uint64_t *data)
{
	uint64_t hdr = (uint64_t)archive_read_header_position(a);
	uint64_t pos = (uint64_t)archive_filter_bytes(a, 0);
	int rc = imgfs_tarhdr_data_offset(r->fd, r->off, r->size, hdr, size, data);

	if (rc)
		return rc;
	return *data == pos ? 0 : -EILSEQ;
}

int imgfs_layer_apply(struct imgfs_layer_job *b, int num, const struct imgfs_region *r,
		      int hide_estargz, uint64_t *entries, uint64_t *size,
		      const char **compression)
{
	struct archive *a = imgfs_region_archive(r, &b->io);
	struct archive_entry *e;
	int64_t src = 0;
	int rc = 0, plain = -1;

	*entries = 0;
	*size = 0;
	*compression = "none";
	if (!a)
		return imgfs_errf(b->err, -ENOMEM, 0, "out of memory");
	b->merge->layer = num;
	for (;;) {
		char path[IMGFS_PATH_MAX], link[IMGFS_PATH_MAX];
		const char *raw, *base;
		struct imgfs_entry en;
		int64_t ino;
		int hr = archive_read_next_header(a, &e);

		if (hr == ARCHIVE_EOF && b->io.error) {
			rc = imgfs_errf(b->err, -EINVAL, 1, "%s: %s: cannot read the layer at byte %llu: %s",
					b->image, b->layer_name, (unsigned long long)b->io.stored,
					b->io.error);
			goto out;
		}
		if (hr == ARCHIVE_EOF)
			break;
		if (hr == ARCHIVE_FATAL || hr == ARCHIVE_RETRY) {
			long long at = b->io.compression ? (long long)b->io.stored
							  : (long long)archive_filter_bytes(a, -1);
			char where[48] = "";

			/* after a fatal error of the decompressor the count is gone */
			if (at >= 0)
				snprintf(where, sizeof(where), " at byte %lld", at);
			rc = imgfs_errf(b->err, -EINVAL, 1, "%s: %s: %s%s: %s", b->image,
					b->layer_name,
					*entries || archive_format(a) ? "damaged tar" : "cannot read the layer",
					where, archive_error_string(a));
			goto out;
		}
		/* ARCHIVE_WARN (a name not convertible to the locale) is not
		 * fatal: the raw bytes are used.  But a pax record libarchive
		 * rejected (over its 1 MiB limit) leaves the entry with the
		 * truncated ustar name or without the attribute: serving that
		 * would show a file the image does not hold, so refuse. */
		if (hr == ARCHIVE_WARN && archive_error_string(a) &&
		    strstr(archive_error_string(a), "Rejecting pax")) {
			const char *p = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";

			rc = imgfs_errf(b->err, -EINVAL, 1, "%s: %s: entry %.100s%s: %s", b->image,
					b->layer_name, p, strlen(p) > 100 ? "..." : "",
					archive_error_string(a));
			goto out;
		}
		if (plain < 0) {
			*compression = imgfs_region_compression(a, &b->io);
			plain = strcmp(*compression, "none") == 0;
			if (plain && (rc = b->source_id(b->ctx, r->file, &src)) != 0)
				goto out;
		}
		if (++*entries > IMGFS_LAYER_ENTRIES_MAX) {
			rc = imgfs_errf(b->err, -EFBIG, 1, "%s: %s: more than %llu entries", b->image,
					b->layer_name, IMGFS_LAYER_ENTRIES_MAX);
			goto out;
		}
		b->entries++;
		if ((b->entries & 1023) == 0) {
			b->progress(b->ctx, imgfs_region_stored(a, &b->io));
			/* headers alone decompress too (millions of empty files) */
			if ((rc = bomb_check(b, a)) != 0)
				goto out;
		}
		raw = archive_entry_pathname(e);
		if (!raw) {
			fprintf(stderr, "imgfs: warning: %s: %s: entry without a name skipped\n",
				b->image, b->layer_name);
			continue;
		}
		rc = imgfs_path_normalize(raw, path, sizeof(path));
		if (rc == -EINVAL) {
			fprintf(stderr, "imgfs: warning: %s: %s: %s: '..' in the name, skipped\n",
				b->image, b->layer_name, raw);
			rc = 0;
			continue;
		}
		if (rc) {
			rc = imgfs_errf(b->err, rc, 1, "%s: %s: name too long: %.100s...", b->image,
					b->layer_name, raw);
			goto out;
		}
		if (longest_component(path) > IMGFS_NAME_MAX) {
			refuse(b, path, "a name component over 255 bytes (NAME_MAX)");
			continue;
		}
		if (hide_estargz && is_estargz_name(path))
			continue;
		/* AUFS keeps hardlink bookkeeping under .wh..wh.plnk/ and the
		 * like: Docker skips those names and everything beneath them. */
		if (!strncmp(path, ".wh..wh.", 8) || strstr(path, "/.wh..wh."))
			if (strcmp(strrchr(path, '/') ? strrchr(path, '/') + 1 : path, ".wh..wh..opq"))
				continue;
		base = strrchr(path, '/');
		base = base ? base + 1 : path;
		if (!strncmp(base, ".wh.", 4)) {
			char dir[IMGFS_PATH_MAX];

			memcpy(dir, path, (size_t)(base - path));
			dir[base - path ? base - path - 1 : 0] = '\0';
			if (!strcmp(base, ".wh..wh..opq"))
				rc = imgfs_merge_opaque(b->merge, dir);
			else if (!strncmp(base, ".wh..wh.", 8))
				continue; /* AUFS metadata (.wh..wh.plnk, .wh..wh.aufs) */
			else if (!base[4])
				rc = imgfs_errf(b->err, -EINVAL, 1,
						"%s: %s: invalid whiteout entry %s (no name)",
						b->image, b->layer_name, raw);
			else
				rc = imgfs_merge_whiteout(b->merge, dir, base + 4);
			if (rc)
				goto out;
			continue;
		}

		memset(&en, 0, sizeof(en));
		en.path = path;
		en.mode = archive_entry_mode(e);
		en.uid = owner_id(b, path, archive_entry_uid(e), "uid");
		en.gid = owner_id(b, path, archive_entry_gid(e), "gid");
		en.mtime = archive_entry_mtime(e);
		en.mtime_ns = (uint32_t)archive_entry_mtime_nsec(e);
		en.rdev = archive_entry_rdev(e);
		if (archive_entry_hardlink(e)) {
			if (imgfs_path_normalize(archive_entry_hardlink(e), link, sizeof(link)) != 0) {
				rc = imgfs_errf(b->err, -EINVAL, 1, "%s: %s: hardlink %s: bad target %s",
						b->image, b->layer_name, path, archive_entry_hardlink(e));
				goto out;
			}
			/* its target was left out, so is the link */
			if (longest_component(link) > IMGFS_NAME_MAX) {
				refuse(b, path, "a hardlink to a name component over 255 bytes");
				continue;
			}
			en.hardlink = link;
		} else if (archive_entry_filetype(e) == AE_IFLNK) {
			en.symlink = archive_entry_symlink(e);
			if (!en.symlink)
				en.symlink = "";
			if (strlen(en.symlink) > IMGFS_TARGET_MAX) {
				refuse(b, path, "a symlink target over 4095 bytes (PATH_MAX)");
				continue;
			}
			en.size = strlen(en.symlink);
			/* Linux symlinks are always 0777 (the mode is never
			 * checked); the bits a tar stored are shown nowhere. */
			en.mode = AE_IFLNK | 0777;
		} else if (archive_entry_filetype(e) == AE_IFREG) {
			en.size = archive_entry_size_is_set(e) ? (uint64_t)archive_entry_size(e) : 0;
			if (en.size > IMGFS_FILE_SIZE_MAX) {
				rc = imgfs_errf(b->err, -EFBIG, 1, "%s: %s: %.100s: apparent size %llu "
						"over the limit of %llu bytes", b->image, b->layer_name,
						path, (unsigned long long)en.size, IMGFS_FILE_SIZE_MAX);
				goto out;
			}
		} else if (archive_entry_filetype(e) == AE_IFSOCK || !archive_entry_filetype(e)) {
			continue; /* sockets never belong in images */
		}

		uint64_t data = 0;
		int direct = en.size > 0 && !en.hardlink && archive_entry_filetype(e) == AE_IFREG &&
			     plain && archive_entry_sparse_count(e) == 0 &&
			     data_offset(a, r, en.size, &data) == 0;
		if (direct) {
			en.data_src = src;
			en.data_off = r->off + data;
		}
		rc = imgfs_merge_entry(b->merge, &en, &ino);
		if (rc) {
			if (b->err && b->err->input) {
				/* add where it happened to the merge's message */
				char msg[sizeof(b->err->msg) * 2];
				int n = snprintf(msg, sizeof(msg), "%s: %s: %s", b->image,
						 b->layer_name, b->err->msg);

				if (n >= (int)sizeof(b->err->msg))
					msg[sizeof(b->err->msg) - 1] = '\0';
				memcpy(b->err->msg, msg, sizeof(b->err->msg));
			}
			goto out;
		}
		if (en.hardlink)
			continue;
		rc = entry_xattrs(b, e, ino);
		if (rc)
			goto out;
		if (en.size > 0 && !direct && archive_entry_filetype(e) == AE_IFREG) {
			rc = cache_data(b, a, ino, en.size);
			if (rc)
				goto out;
		}
	}
	*size = (uint64_t)archive_filter_bytes(a, 0);
out:
	imgfs_region_archive_free(a);
	return rc;
}
