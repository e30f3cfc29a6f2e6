/* This file contains the image source: it opens the image (outer tar or OCI
 * layout directory), spools a compressed outer tar once, records where each
 * member's data lives, and resolves member links inside the archive. */
#include "format/source_i.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "util/err_i.h"
#include "util/guard_i.h"
#include "util/path_i.h"
#include "store/schema_i.h"
#include "format/daemon_i.h"
#include "format/inflate_i.h"
#include "format/unzstd_i.h"
#include "format/tarhdr_i.h"

const char *imgfs_sniff_compression(const unsigned char *p, size_t len)
{
	if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return "gzip";
	if (len >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
		return "zstd";
	/* zstd skippable frames (zstd:chunked metadata) come before the data */
	if (len >= 4 && (p[0] & 0xf0) == 0x50 && p[1] == 0x2a && p[2] == 0x4d && p[3] == 0x18)
		return "zstd";
	if (len >= 6 && memcmp(p, "\xfd" "7zXZ\0", 6) == 0)
		return "xz";
	if (len >= 3 && memcmp(p, "BZh", 3) == 0)
		return "bzip2";
	if (len >= 4 && memcmp(p, "\x04\x22\x4d\x18", 4) == 0)
		return "lz4";
	return "none";
}

/* The decompressors an image may use, all in-process.  Never
 * archive_read_support_filter_all: it also registers filters that libarchive
 * runs as external programs found on PATH (lzop -d, grzip -d, lrzip -d...),
 * which would run a program of the caller's PATH on image bytes.  A filter
 * libarchive itself would run externally (ARCHIVE_WARN: built without its
 * library) is refused the same way. */
static int support_filters(struct archive *a)
{
	int (*const filters[])(struct archive *) = {
		archive_read_support_filter_gzip, archive_read_support_filter_zstd,
		archive_read_support_filter_xz, archive_read_support_filter_lzma,
		archive_read_support_filter_bzip2, archive_read_support_filter_lz4,
	};
	size_t i;

	for (i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		if (filters[i](a) != ARCHIVE_OK)
			return -ENOTSUP;
	return 0;
}

/* 1 when the error of A says its input ended too soon (libarchive's
 * "Truncated tar archive", "truncated gzip input", ...). */
static int truncated(struct archive *a)
{
	const char *m = archive_error_string(a);

	return m && strcasestr(m, "truncated") != NULL;
}

/* Our name of the libarchive filter CODE, for the index's meta table. */
static const char *filter_name(int code)
{
	switch (code) {
	case ARCHIVE_FILTER_GZIP: return "gzip";
	case ARCHIVE_FILTER_ZSTD: return "zstd";
	case ARCHIVE_FILTER_XZ: return "xz";
	case ARCHIVE_FILTER_LZMA: return "lzma";
	case ARCHIVE_FILTER_BZIP2: return "bzip2";
	case ARCHIVE_FILTER_LZ4: return "lz4";
	default: return "none";
	}
}

/* Decompresses the whole outer file into SPOOL with libarchive's raw
 * format, so members can be read with pread afterwards. */
static int spool_outer(struct imgfs_source *s, const char *spool)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char *buf = NULL;
	int out = -1, rc = 0, r = ARCHIVE_OK;
	uint64_t total = 0;
	const size_t bufsz = 1 << 20;

	if (!a || !(buf = malloc(bufsz))) {
		rc = imgfs_errf(s->err, -ENOMEM, 0, "out of memory");
		goto out;
	}
	if (support_filters(a)) {
		rc = imgfs_errf(s->err, -ENOTSUP, 0, "%s: libarchive lacks an in-process decompressor",
				s->path);
		goto out;
	}
	archive_read_support_format_raw(a);
	if (archive_read_open_fd(a, s->fd, 1 << 16) != ARCHIVE_OK ||
	    (r = archive_read_next_header(a, &e)) != ARCHIVE_OK) {
		if (s->stream && (r == ARCHIVE_EOF || archive_filter_bytes(a, -1) == 0))
			rc = imgfs_errf(s->err, -EINVAL, 1, "%s: the stream is empty", s->path);
		else if (s->stream && truncated(a))
			rc = imgfs_errf(s->err, -EINVAL, 1, "%s: the stream ended early: %s", s->path,
					archive_error_string(a));
		else
			rc = imgfs_errf(s->err, -EINVAL, 1, "%s: cannot %s: %s", s->path,
					s->stream ? "read the stream" : "decompress",
					archive_error_string(a));
		goto out;
	}
	out = open(spool, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = imgfs_errf(s->err, -errno, 0, "%s: %s", spool, strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t n = archive_read_data(a, buf, bufsz);

		if (n == 0)
			break;
		if (n < 0 && s->stream && truncated(a)) {
			rc = imgfs_errf(s->err, -EINVAL, 1, "%s: the stream ended early: %s", s->path,
					archive_error_string(a));
			goto out;
		}
		if (n < 0) {
			rc = imgfs_errf(s->err, -EINVAL, 1, "%s: corrupt %s stream at byte %lld: %s",
					s->path, s->outer_filter,
					(long long)archive_filter_bytes(a, -1),
					archive_error_string(a));
			goto out;
		}
		total += (uint64_t)n;
		rc = imgfs_bomb_check(s->path, total, (uint64_t)archive_filter_bytes(a, -1),
				      s->max_ratio, s->err);
		if (rc)
			goto out;
		rc = imgfs_space_check(spool, (uint64_t)n, s->err);
		if (rc)
			goto out;
		if (write(out, buf, (size_t)n) != n) {
			rc = imgfs_errf(s->err, -errno ? -errno : -EIO, 0, "%s: write: %s", spool,
					strerror(errno));
			goto out;
		}
	}
	if (s->stream) {
		if (total == 0) {
			rc = imgfs_errf(s->err, -EINVAL, 1, "%s: the stream is empty", s->path);
			goto out;
		}
		s->outer_filter = filter_name(archive_filter_code(a, 0));
	}
	close(s->fd);
	s->fd = open(spool, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		rc = imgfs_errf(s->err, -errno, 0, "%s: %s", spool, strerror(errno));
		goto out;
	}
	free(s->tar_path);
	s->tar_path = strdup(spool);
	s->tar_size = total;
out:
	if (out >= 0)
		close(out);
	free(buf);
	if (a)
		archive_read_free(a);
	return rc;
}

/* The decoders run ahead of libarchive: the same calls for both. */
struct decoder {
	const char *name;
	void *(*space)(void *z, size_t *cap);
	void (*fill)(void *z, size_t n);
	int (*wants_input)(const void *z);
	ssize_t (*run)(void *z, void *out, size_t len, int at_eof);
	int (*ended)(const void *z);
	const char *(*error)(const void *z);
	void (*free)(void *z);
};

/* Each decoder's calls behind the one signature (no casts of function
 * pointers: calling through one of another type is undefined). */
#define DECODER(NAME, P)                                                                   \
	static void *P##_space_(void *z, size_t *cap) { return P##_space(z, cap); }         \
	static void P##_fill_(void *z, size_t n) { P##_fill(z, n); }                        \
	static int P##_wants_(const void *z) { return P##_wants_input(z); }                 \
	static ssize_t P##_run_(void *z, void *o, size_t l, int e) { return P##_run(z, o, l, e); } \
	static int P##_ended_(const void *z) { return P##_ended(z); }                       \
	static const char *P##_error_(const void *z) { return P##_error(z); }               \
	static void P##_free_(void *z) { P##_free(z); }                                     \
	static const struct decoder P##_decoder = { NAME, P##_space_, P##_fill_, P##_wants_, \
		P##_run_, P##_ended_, P##_error_, P##_free_ }

DECODER("gzip", imgfs_inflate);
DECODER("zstd", imgfs_unzstd);

/* libarchive callbacks over a region of a file read with pread. */
struct rd {
	int fd;
	uint64_t off, size, pos;
	struct imgfs_region_hash *hash; /* borrowed; NULL: not hashed */
	/* a gzip region decoded by igzip or a zstd one by libzstd ahead of
	 * libarchive, or NULL (then OPS is NULL too) */
	void *z;
	const struct decoder *ops;
	/* the caller's (it outlives us: libarchive may close the client
	 * before the caller is done, as when no format bids), or OWN_IO */
	struct imgfs_region_io *io, own_io;
	char buf[1 << 16];
};

/* The hash imgfs_region_hash_arm set for the next reader over ARMED_FOR:
 * per thread, as two builds may run at once in one process. */
static _Thread_local const struct imgfs_region *armed_for;
static _Thread_local struct imgfs_region_hash *armed_hash;

void imgfs_region_hash_arm(const struct imgfs_region *r, struct imgfs_region_hash *h)
{
	armed_for = r;
	armed_hash = h;
}

static _Thread_local const struct imgfs_region *armed_tar_for;
static _Thread_local struct imgfs_digest *armed_tar;

void imgfs_region_tar_arm(const struct imgfs_region *r, struct imgfs_digest *d)
{
	armed_tar_for = r;
	armed_tar = d;
}

void imgfs_region_hash_disarm(void)
{
	armed_for = NULL;
	armed_hash = NULL;
	armed_tar_for = NULL;
	armed_tar = NULL;
}

/* The N stored bytes at P were read at R->pos: into the blob's hash when
 * they continue it. */
static void hash_more(struct rd *r, const void *p, size_t n)
{
	if (!r->hash || r->hash->gap)
		return;
	if (r->hash->done == r->pos) {
		imgfs_digest_update(&r->hash->d, p, n);
		r->hash->done += (uint64_t)n;
	} else {
		r->hash->gap = 1;
	}
}

static la_ssize_t rd_read(struct archive *a, void *c, const void **out)
{
	struct rd *r = c;
	size_t want = sizeof(r->buf);
	ssize_t n;

	(void)a;
	if (r->pos >= r->size)
		return 0;
	if (want > r->size - r->pos)
		want = (size_t)(r->size - r->pos);
	n = pread(r->fd, r->buf, want, (off_t)(r->off + r->pos));
	if (n < 0) {
		archive_set_error(a, errno, "read error");
		return -1;
	}
	hash_more(r, r->buf, (size_t)n);
	r->pos += (uint64_t)n;
	*out = r->buf;
	return n;
}

/* Decodes the next bytes of a decoded region into R->buf: their count, 0
 * at the end, or -1 with *WHY set (a read error: errno in *ERR). */
static ssize_t pull(struct rd *r, const char **why, int *err)
{
	for (;;) {
		ssize_t n;

		if (r->ops->wants_input(r->z) && r->pos < r->size) {
			size_t cap;
			void *p = r->ops->space(r->z, &cap);

			if (cap > r->size - r->pos)
				cap = (size_t)(r->size - r->pos);
			n = pread(r->fd, p, cap, (off_t)(r->off + r->pos));
			if (n < 0) {
				*err = errno;
				*why = "read error";
				return -1;
			}
			if (n == 0)
				r->size = r->pos; /* the file shrank: what is left is cut */
			hash_more(r, p, (size_t)n);
			r->pos += (uint64_t)n;
			r->io->stored = r->pos;
			r->ops->fill(r->z, (size_t)n);
		}
		n = r->ops->run(r->z, r->buf, sizeof(r->buf), r->pos >= r->size);
		if (n < 0) {
			*err = EINVAL;
			*why = r->io->error = r->ops->error(r->z);
			return -1;
		}
		if (n > 0) {
			if (r->io->tar)
				imgfs_digest_update(r->io->tar, r->buf, (size_t)n);
			r->io->tar_bytes += (uint64_t)n;
			return n;
		}
		if (r->ops->ended(r->z) || r->pos >= r->size)
			return 0;
	}
}

/* The read callback of a decoded region: stored bytes are read into the
 * decoder's buffer (hashed there) and libarchive gets the tar. */
static la_ssize_t rd_inflate(struct archive *a, void *c, const void **out)
{
	struct rd *r = c;
	const char *why = NULL;
	int err = 0;
	ssize_t n = pull(r, &why, &err);

	if (n < 0) {
		archive_set_error(a, err, "%s", why);
		return -1;
	}
	*out = r->buf;
	return n;
}

int imgfs_region_tar_finish(struct imgfs_region_io *io, uint64_t tail_max)
{
	struct rd *r = io->rd;
	uint64_t start = io->tar_bytes;

	if (!r || !r->ops)
		return 0;
	for (;;) {
		const char *why = NULL;
		int err = 0;
		ssize_t n = pull(r, &why, &err);

		if (n < 0)
			return -err;
		if (n == 0)
			return 1;
		if (io->tar_bytes - start > tail_max)
			return 0;
	}
}

static la_int64_t rd_skip(struct archive *a, void *c, la_int64_t req)
{
	struct rd *r = c;
	uint64_t left = r->size - r->pos;

	(void)a;
	if ((uint64_t)req > left)
		req = (la_int64_t)left;
	r->pos += (uint64_t)req;
	return req;
}

static la_int64_t rd_seek(struct archive *a, void *c, la_int64_t off, int whence)
{
	struct rd *r = c;
	int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (int64_t)r->pos : (int64_t)r->size;

	(void)a;
	if (base + off < 0 || (uint64_t)(base + off) > r->size)
		return ARCHIVE_FATAL;
	r->pos = (uint64_t)(base + off);
	return (la_int64_t)r->pos;
}

static int rd_close(struct archive *a, void *c)
{
	struct rd *r = c;

	(void)a;
	if (r->ops)
		r->ops->free(r->z);
	if (r->io && r->io->rd == r)
		r->io->rd = NULL;
	free(r);
	return ARCHIVE_OK;
}

/* The decoder of REG's compression when we run one ahead of libarchive
 * (gzip, zstd), else NULL. */
static const struct decoder *region_decoder(const struct imgfs_region *reg)
{
	unsigned char m[4];

	if (reg->size < sizeof(m) || pread(reg->fd, m, sizeof(m), (off_t)reg->off) != sizeof(m))
		return NULL;
	if (m[0] == 0x1f && m[1] == 0x8b)
		return &imgfs_inflate_decoder;
	if (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
		return &imgfs_unzstd_decoder;
	return NULL;
}

/* A reader over REG with our filters and callbacks, hashing into H (or
 * not); the caller adds the formats and opens it. */
static struct archive *region_reader(const struct imgfs_region *reg, struct imgfs_region_hash *h,
				     struct rd **out)
{
	struct archive *a = archive_read_new();
	struct rd *r;

	if (!a)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r) {
		archive_read_free(a);
		return NULL;
	}
	r->fd = reg->fd;
	r->off = reg->off;
	r->size = reg->size;
	r->hash = h;
	if (support_filters(a)) {
		archive_read_free(a);
		free(r);
		return NULL;
	}
	*out = r;
	return a;
}

struct archive *imgfs_region_archive(const struct imgfs_region *reg, struct imgfs_region_io *io)
{
	struct imgfs_region_hash *h = NULL;
	struct archive *a;
	struct rd *r;

	if (armed_for == reg) {
		h = armed_hash;
		imgfs_region_hash_disarm();
	}
	a = region_reader(reg, h, &r);
	if (!a)
		return NULL;
	r->io = io ? io : &r->own_io;
	*r->io = (struct imgfs_region_io){ .rd = r };
	if (armed_tar_for == reg) {
		r->io->tar = armed_tar;
		armed_tar_for = NULL;
		armed_tar = NULL;
	}
	/* gzip is decoded by igzip ahead of libarchive, which then reads a
	 * plain tar: the build of a gzip image is mostly inflate (issue 18);
	 * zstd by libzstd, so that the tar bytes of both can be hashed */
	r->ops = region_decoder(reg);
	if (r->ops) {
		r->z = r->ops == &imgfs_inflate_decoder ? (void *)imgfs_inflate_new() : (void *)imgfs_unzstd_new();
		if (!r->z) {
			archive_read_free(a);
			free(r);
			return NULL;
		}
		r->io->compression = r->ops->name;
	} else {
		r->io->tar = NULL; /* only a decoded region's tar is hashed */
	}
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_format_empty(a);
	/* AppleDouble merging would rename entries: never wanted here. */
	archive_read_set_format_option(a, "tar", "mac-ext", NULL);
	/* a decoded stream can neither skip nor seek: libarchive reads through */
	archive_read_set_read_callback(a, r->z ? rd_inflate : rd_read);
	if (!r->z) {
		archive_read_set_skip_callback(a, rd_skip);
		archive_read_set_seek_callback(a, rd_seek);
	}
	archive_read_set_callback_data(a, r);
	archive_read_set_close_callback(a, rd_close);
	/* On failure the archive is kept so the caller can read the error from
	 * the first archive_read_next_header(). */
	archive_read_open1(a);
	return a;
}

uint64_t imgfs_region_stored(struct archive *a, const struct imgfs_region_io *io)
{
	return io->compression ? io->stored : (uint64_t)archive_filter_bytes(a, -1);
}

const char *imgfs_region_compression(struct archive *a, const struct imgfs_region_io *io)
{
	if (io->compression)
		return io->compression;
	return archive_filter_count(a) > 1 ? archive_filter_name(a, 0) : "none";
}

struct archive *imgfs_region_stream(const struct imgfs_region *reg, struct imgfs_region_hash *h)
{
	struct rd *r;
	struct archive *a = region_reader(reg, h, &r);

	if (!a)
		return NULL;
	archive_read_support_format_raw(a);
	archive_read_set_read_callback(a, rd_read);
	archive_read_set_skip_callback(a, rd_skip);
	archive_read_set_seek_callback(a, rd_seek);
	archive_read_set_callback_data(a, r);
	archive_read_set_close_callback(a, rd_close);
	archive_read_open1(a); /* a failure shows at the first header */
	return a;
}

int imgfs_region_hash_finish(const struct imgfs_region *r, struct imgfs_region_hash *h,
			     uint64_t tail_max)
{
	unsigned char buf[1 << 16];

	if (h->gap || h->done > r->size || r->size - h->done > tail_max)
		return 0;
	while (h->done < r->size) {
		size_t want = r->size - h->done > sizeof(buf) ? sizeof(buf)
							     : (size_t)(r->size - h->done);
		ssize_t n = pread(r->fd, buf, want, (off_t)(r->off + h->done));

		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the file shrank under us */
		imgfs_digest_update(&h->d, buf, (size_t)n);
		h->done += (uint64_t)n;
	}
	return 1;
}

void imgfs_region_archive_free(struct archive *a)
{
	if (a)
		archive_read_free(a); /* rd_close frees our callback data */
}

/* Records every member of the outer tar: name, type, data offset, size and
 * link target.  Metadata members come last in every writer, so nothing can
 * be resolved before this pass ends.  Types: 'f' a file, 's' a sparse file,
 * 'l' a symlink, 'h' a hardlink, 'd' anything else. */
static int scan_members(struct imgfs_source *s)
{
	struct imgfs_region whole = { s->fd, 0, s->tar_size, s->tar_path };
	struct archive *a = NULL;
	struct archive_entry *e;
	sqlite3_stmt *ins = NULL;
	int rc = 0, n = 0;

	if (sqlite3_exec(s->db, imgfs_scratch_member, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO member VALUES(?,?,?,?,?)", -1, &ins,
			       NULL) != SQLITE_OK) {
		rc = imgfs_errf(s->err, -EIO, 0, "index: %s", sqlite3_errmsg(s->db));
		goto out;
	}
	a = imgfs_region_archive(&whole, NULL);
	if (!a) {
		rc = imgfs_errf(s->err, -ENOMEM, 0, "out of memory");
		goto out;
	}
	for (;;) {
		char name[IMGFS_PATH_MAX];
		const char *link = NULL;
		int type, r;
		uint64_t data = 0;

		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if ((r == ARCHIVE_FATAL || r == ARCHIVE_RETRY) && s->stream && truncated(a)) {
			rc = imgfs_errf(s->err, -EINVAL, 1, "%s: the stream ended early: %s", s->path,
					archive_error_string(a));
			goto out;
		}
		if (r == ARCHIVE_FATAL || r == ARCHIVE_RETRY) {
			rc = imgfs_errf(s->err, -EINVAL, 1, "%s: %s%s", s->path,
					n ? "damaged tar: " : "not a container image (tar or OCI layout): ",
					archive_error_string(a));
			goto out;
		}
		n++;
		if (imgfs_path_normalize(archive_entry_pathname(e), name, sizeof(name)) != 0)
			continue; /* a member named with ".." can never be referenced safely */
		if (archive_entry_hardlink(e)) {
			type = 'h';
			link = archive_entry_hardlink(e);
		} else if (archive_entry_filetype(e) == AE_IFLNK) {
			type = 'l';
			link = archive_entry_symlink(e);
		} else if (archive_entry_filetype(e) == AE_IFREG && archive_entry_sparse_count(e)) {
			/* Its stored bytes are a map and the data without the
			 * holes: no region of the tar holds its content. */
			type = 's';
		} else if (archive_entry_filetype(e) == AE_IFREG) {
			/* The data offset is found from the header position when
			 * the member is asked for: most members never are. */
			type = 'f';
			data = (uint64_t)archive_read_header_position(a);
		} else {
			type = 'd';
		}
		sqlite3_bind_text(ins, 1, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(ins, 2, type);
		sqlite3_bind_int64(ins, 3, (sqlite3_int64)data);
		sqlite3_bind_int64(ins, 4, archive_entry_size(e));
		if (link)
			sqlite3_bind_text(ins, 5, link, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(ins, 5);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			rc = imgfs_errf(s->err, -EIO, 0, "index: %s", sqlite3_errmsg(s->db));
			goto out;
		}
		sqlite3_reset(ins);
		sqlite3_clear_bindings(ins);
	}
	if (n == 0)
		rc = imgfs_errf(s->err, -EINVAL, 1, "%s: empty archive", s->path);
out:
	sqlite3_finalize(ins);
	imgfs_region_archive_free(a);
	return rc;
}

int imgfs_source_is_stream(const char *path)
{
	struct stat st;

	if (strcmp(path, "-") == 0)
		return 1;
	return stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

/* Reads the plain tar at TAR (a spool this build wrote) as the image NAME. */
static int open_plain(struct imgfs_source *s, const char *tar, const char *name)
{
	struct stat st;

	s->fd = open(tar, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0 || fstat(s->fd, &st) != 0)
		return imgfs_errf(s->err, -errno, 0, "%s: %s", tar, strerror(errno));
	s->tar_path = strdup(tar);
	if (!s->tar_path)
		return imgfs_errf(s->err, -ENOMEM, 0, "out of memory");
	s->tar_size = (uint64_t)st.st_size;
	if (s->tar_size == 0)
		return imgfs_errf(s->err, -EINVAL, 1, "%s: empty image", name);
	return scan_members(s);
}

int imgfs_source_open_tar(struct imgfs_source *s, const char *name, const char *tar,
			  sqlite3 *db, struct imgfs_err *err)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->db = db;
	s->err = err;
	s->outer_filter = "none";
	s->path = strdup(name);
	if (!s->path)
		return imgfs_errf(err, -ENOMEM, 0, "out of memory");
	return open_plain(s, tar, name);
}

int imgfs_source_open(struct imgfs_source *s, const char *path, const char *spool,
		      uint64_t max_ratio, sqlite3 *db, struct imgfs_err *err)
{
	unsigned char magic[8];
	ssize_t n;
	char *real;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->db = db;
	s->err = err;
	s->max_ratio = max_ratio;
	s->outer_filter = "none";
	if (imgfs_daemon_is_ref(path)) {
		int rc;

		s->path = strdup(path);
		if (!s->path)
			return imgfs_errf(err, -ENOMEM, 0, "out of memory");
		rc = imgfs_daemon_save(path, spool, err);
		if (rc)
			return rc;
		return open_plain(s, spool, path);
	}
	if (imgfs_source_is_stream(path)) {
		int rc;

		/* read once, front to back, into SPOOL (decompressed on the
		 * way): the members are read with pread afterwards */
		s->stream = 1;
		s->path = strdup(path);
		if (!s->path)
			return imgfs_errf(err, -ENOMEM, 0, "out of memory");
		/* a FIFO's open waits for its writer, as cat's would */
		s->fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
		if (s->fd < 0)
			return imgfs_errf(err, -errno, 1, "%s: %s", path, strerror(errno));
		/* an image typed on a keyboard is a mistake, not a wait */
		if (isatty(s->fd))
			return imgfs_errf(err, -EINVAL, 1, "%s: a terminal, not an image: pipe one in "
					  "(docker save IMAGE | imgfs mount - MNT)", path);
		rc = spool_outer(s, spool);
		if (rc)
			return rc;
		return scan_members(s);
	}
	real = realpath(path, NULL);
	if (!real)
		return imgfs_errf(err, -errno, 1, "%s: %s", path, strerror(errno));
	s->path = real;
	if (stat(real, &s->st) != 0)
		return imgfs_errf(err, -errno, 1, "%s: %s", path, strerror(errno));
	if (S_ISDIR(s->st.st_mode)) {
		s->is_dir = 1;
		s->fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->fd < 0)
			return imgfs_errf(err, -errno, 1, "%s: %s", path, strerror(errno));
		return 0;
	}
	if (!S_ISREG(s->st.st_mode))
		return imgfs_errf(err, -EINVAL, 1, "%s: not a regular file or directory", path);
	/* O_NONBLOCK: should a FIFO be swapped in after the stat, the open
	 * must not wait for a writer (it changes nothing for regular files) */
	s->fd = open(real, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (s->fd < 0)
		return imgfs_errf(err, -errno, 1, "%s: %s", path, strerror(errno));
	s->tar_path = strdup(real);
	s->tar_size = (uint64_t)s->st.st_size;
	if (s->tar_size == 0)
		return imgfs_errf(err, -EINVAL, 1, "%s: empty file", path);
	n = pread(s->fd, magic, sizeof(magic), 0);
	if (n < 0)
		return imgfs_errf(err, -errno, 0, "%s: %s", path, strerror(errno));
	s->outer_filter = imgfs_sniff_compression(magic, (size_t)n);
	if (strcmp(s->outer_filter, "none") != 0) {
		int rc = spool_outer(s, spool);

		if (rc)
			return rc;
	}
	return scan_members(s);
}

void imgfs_source_close(struct imgfs_source *s)
{
	size_t i;

	for (i = 0; i < s->n_dir; i++) {
		close(s->dir_fds[i]);
		free(s->dir_paths[i]);
	}
	free(s->dir_fds);
	free(s->dir_paths);
	if (s->fd >= 0)
		close(s->fd);
	free(s->tar_path);
	free(s->path);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/* Opens NAME under the layout directory one component at a time with
 * O_NOFOLLOW: a blob that is a symlink on the host is never followed. */
static int dir_member(struct imgfs_source *s, const char *name, struct imgfs_region *r)
{
	char norm[IMGFS_PATH_MAX], *p, *slash, *full = NULL;
	int dfd, fd = -1, rc;
	struct stat st;
	size_t i;

	rc = imgfs_path_normalize(name, norm, sizeof(norm));
	if (rc || !norm[0])
		return -ENOENT;
	dfd = dup(s->fd);
	if (dfd < 0)
		return -errno;
	p = norm;
	while ((slash = strchr(p, '/'))) {
		int nfd;

		*slash = '\0';
		nfd = openat(dfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(dfd);
		if (nfd < 0)
			return -ENOENT;
		dfd = nfd;
		*slash = '/';
		p = slash + 1;
	}
	/* a FIFO in the layout would block the open until a writer came:
	 * O_NONBLOCK returns at once, and fstat below refuses it */
	fd = openat(dfd, p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	close(dfd);
	if (fd < 0)
		return -ENOENT;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -ENOENT;
	}
	if (asprintf(&full, "%s/%s", s->path, norm) < 0) {
		close(fd);
		return imgfs_errf(s->err, -ENOMEM, 0, "out of memory");
	}
	for (i = 0; i < s->n_dir; i++)
		if (strcmp(s->dir_paths[i], full) == 0)
			break;
	if (i < s->n_dir) {
		close(fd);
		fd = s->dir_fds[i];
	} else {
		int *fds = realloc(s->dir_fds, (s->n_dir + 1) * sizeof(*fds));
		char **paths;

		if (!fds) {
			close(fd);
			free(full);
			return imgfs_errf(s->err, -ENOMEM, 0, "out of memory");
		}
		s->dir_fds = fds;
		paths = realloc(s->dir_paths, (s->n_dir + 1) * sizeof(*paths));
		if (!paths) {
			close(fd);
			free(full);
			return imgfs_errf(s->err, -ENOMEM, 0, "out of memory");
		}
		s->dir_paths = paths;
		s->dir_paths[s->n_dir] = full;
		full = NULL;
		s->dir_fds[s->n_dir++] = fd;
	}
	free(full);
	r->fd = fd;
	r->off = 0;
	r->size = (uint64_t)st.st_size;
	r->file = s->dir_paths[i];
	return 0;
}

int imgfs_source_member(struct imgfs_source *s, const char *name, struct imgfs_region *r)
{
	char cur[IMGFS_PATH_MAX], next[IMGFS_PATH_MAX];
	sqlite3_stmt *q = NULL;
	int depth, rc = -ENOENT;

	if (s->is_dir)
		return dir_member(s, name, r);
	if (imgfs_path_normalize(name, cur, sizeof(cur)) != 0)
		return -ENOENT;
	if (sqlite3_prepare_v2(s->db, "SELECT type, off, size, link FROM member WHERE name=?", -1,
			       &q, NULL) != SQLITE_OK)
		return imgfs_errf(s->err, -EIO, 0, "index: %s", sqlite3_errmsg(s->db));
	for (depth = 0; depth <= IMGFS_MEMBER_LINK_DEPTH; depth++) {
		const char *link;
		int type;

		sqlite3_reset(q);
		sqlite3_bind_text(q, 1, cur, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_ROW) {
			rc = -ENOENT;
			goto out;
		}
		type = sqlite3_column_int(q, 0);
		if (type == 'f') {
			uint64_t hdr = (uint64_t)sqlite3_column_int64(q, 1), data = 0;

			r->fd = s->fd;
			r->size = (uint64_t)sqlite3_column_int64(q, 2);
			r->file = s->tar_path;
			rc = 0;
			if (r->size > 0 &&
			    imgfs_tarhdr_data_offset(s->fd, 0, s->tar_size, hdr, r->size, &data) != 0)
				rc = imgfs_errf(s->err, -EINVAL, 1,
						"%s: member %s: its data is not stored contiguously",
						s->path, cur);
			r->off = data;
			goto out;
		}
		if (type == 's') {
			rc = imgfs_errf(s->err, -EINVAL, 1,
					"%s: member %s is stored sparse, cannot be read in place",
					s->path, cur);
			goto out;
		}
		if (type != 'l' && type != 'h') {
			rc = -ENOENT;
			goto out;
		}
		link = (const char *)sqlite3_column_text(q, 3);
		if (!link || !link[0]) {
			/* an empty target names nothing: a dangling link */
			rc = -ENOENT;
			goto out;
		}
		if (imgfs_path_join_link(cur, link, type == 'h', next, sizeof(next)) != 0) {
			rc = imgfs_errf(s->err, -EINVAL, 1, "%s: member %s links outside the archive",
					s->path, cur);
			goto out;
		}
		memcpy(cur, next, sizeof(cur));
	}
	rc = imgfs_errf(s->err, -ELOOP, 1, "%s: member %s: too many levels of links", s->path, name);
out:
	sqlite3_finalize(q);
	return rc;
}

int imgfs_source_whole(struct imgfs_source *s, struct imgfs_region *r)
{
	if (s->is_dir)
		return imgfs_errf(s->err, -EINVAL, 1, "%s: a directory without index.json", s->path);
	r->fd = s->fd;
	r->off = 0;
	r->size = s->tar_size;
	r->file = s->tar_path;
	return 0;
}

static int reader_read(void *ctx, const char *name, size_t max, char **data, size_t *len)
{
	struct imgfs_source *s = ctx;
	struct imgfs_region r;
	char *buf;
	ssize_t n;
	int rc = imgfs_source_member(s, name, &r);

	if (rc)
		return rc;
	if (r.size > max)
		return -EFBIG;
	buf = malloc((size_t)r.size + 1);
	if (!buf)
		return imgfs_errf(s->err, -ENOMEM, 0, "out of memory");
	n = pread(r.fd, buf, (size_t)r.size, (off_t)r.off);
	if (n != (ssize_t)r.size) {
		free(buf);
		return imgfs_errf(s->err, -EIO, 1, "%s: member %s is truncated", s->path, name);
	}
	buf[r.size] = '\0';
	*data = buf;
	*len = (size_t)r.size;
	return 0;
}

static int reader_exists(void *ctx, const char *name)
{
	struct imgfs_region r;

	return imgfs_source_member(ctx, name, &r);
}

void imgfs_source_reader(struct imgfs_source *s, struct imgfs_member_reader *r)
{
	r->ctx = s;
	r->read = reader_read;
	r->exists = reader_exists;
	r->image = s->path;
}
