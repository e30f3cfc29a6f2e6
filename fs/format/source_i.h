/* The image as a set of members: an outer tar (possibly compressed, then
 * spooled to a plain copy once), or an OCI layout directory. */
#ifndef IMGFS_SOURCE_I_H
#define IMGFS_SOURCE_I_H

#include <stdint.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "imgfs/imgfs.h"
#include "format/manifest_i.h"
#include "util/digest_i.h"

/* Sanity limits for hostile archives. */
#define IMGFS_MEMBER_LINK_DEPTH 8  /* member symlink/hardlink chains (podman uses 1) */

/* A byte range of one file: where a layer blob (or a whole rootfs tar) is. */
struct imgfs_region {
	int fd;            /* borrowed from the source */
	uint64_t off;
	uint64_t size;
	const char *file;  /* absolute path of the file FD reads */
};

struct imgfs_source {
	char *path;        /* absolute path of the image */
	struct stat st;    /* of the image (file or directory) */
	int is_dir;        /* an OCI layout directory */
	int fd;            /* tar we read members from (image or spool); -1 for dirs */
	char *tar_path;    /* path of FD: the image itself or the spool */
	uint64_t tar_size;
	const char *outer_filter; /* "none", "gzip", "zstd", "xz", "bzip2", ... */
	sqlite3 *db;       /* borrowed; holds the temp table of members */
	int *dir_fds;      /* blob files opened from a layout directory */
	char **dir_paths;
	size_t n_dir;
	struct imgfs_err *err;
	uint64_t max_ratio;  /* bomb ratio for the spool, 0: IMGFS_BOMB_RATIO */
	int stream;        /* read once from a pipe, FIFO or standard input */
};

/* 1 when PATH is read as a stream: "-" (standard input) or a path that is
 * no regular file or directory (a pipe, a FIFO, /dev/fd/N of a process
 * substitution). */
int imgfs_source_is_stream(const char *path);

/* A libarchive reader over region R (tar, any compression, or empty).
 * Free with imgfs_region_archive_free.  NULL when out of memory
 * (or when libarchive would decompress through an external program). */
struct imgfs_region_io;
struct archive *imgfs_region_archive(const struct imgfs_region *r, struct imgfs_region_io *io);
void imgfs_region_archive_free(struct archive *a);

/* What the reader of a region has read, in the caller's IO (NULL: not
 * wanted), which stays readable after the archive is gone.  A gzip region is decoded by igzip
 * before libarchive sees it (libarchive then counts tar bytes only), so
 * the stored bytes and the compression are asked of these, never of
 * archive_filter_bytes(a, -1) and archive_filter_name. */
struct imgfs_region_io {
	const char *compression; /* "gzip" when decoded ahead of libarchive, else NULL */
	uint64_t stored;         /* bytes of the region read so far, then */
	/* why igzip stopped, or NULL.  Read it at ARCHIVE_EOF too: a stream
	 * cut inside the first tar header fails libarchive's bid for tar,
	 * and its "empty" format then takes the layer for an empty one. */
	const char *error;
	/* The digest imgfs_region_tar_arm gave, when the region is decoded
	 * ahead of libarchive (gzip, zstd): its tar is hashed into it as
	 * libarchive reads it.  NULL for any other region, whose tar is never
	 * seen whole.  TAR_BYTES counts the decoded bytes. */
	struct imgfs_digest *tar;
	uint64_t tar_bytes;
	void *rd;                /* the reader, while it is open */
};
/* Decodes and hashes into IO->tar what is left of a decoded region after
 * libarchive stopped reading (the tar's end-of-archive padding, up to the
 * end of the compressed stream), call it before the archive is freed.
 * Returns 1 when the hash then covers the whole decoded stream, 0 when it
 * cannot (no decoded region, or more than TAIL_MAX bytes were left), or a
 * negative errno when the stream is damaged there. */
int imgfs_region_tar_finish(struct imgfs_region_io *io, uint64_t tail_max);
/* Stored bytes read so far by A (whose IO imgfs_region_archive gave). */
uint64_t imgfs_region_stored(struct archive *a, const struct imgfs_region_io *io);
/* The compression of A's region: "none", "gzip", "zstd", ... */
const char *imgfs_region_compression(struct archive *a, const struct imgfs_region_io *io);

/* The stored bytes of a region hashed as libarchive reads them: the
 * digest D covers the first DONE bytes of the region, in order, as long as
 * GAP is 0.  A read that does not start at DONE (after a seek back, or a
 * skip followed by more reads) sets GAP: the hash then covers no whole
 * blob and claims nothing. */
struct imgfs_region_hash {
	struct imgfs_digest d;   /* begun by the caller with the expected digest */
	uint64_t done;
	int gap;
};

/* Makes the next imgfs_region_archive over R (this very struct, on this
 * thread) hash the stored bytes it reads into H.  The layer reader opens
 * its archive itself; this is how the build hashes a layer blob on the
 * one pass that decompresses it.  Disarm after the layer, whether or not
 * the archive was opened. */
void imgfs_region_hash_arm(const struct imgfs_region *r, struct imgfs_region_hash *h);
/* Makes the next imgfs_region_archive over R hash the decoded tar into D
 * (begun by the caller), when R is decoded ahead of libarchive: see
 * imgfs_region_io.tar.  imgfs_region_hash_disarm disarms both. */
void imgfs_region_tar_arm(const struct imgfs_region *r, struct imgfs_digest *d);
void imgfs_region_hash_disarm(void);

/* Hashes the bytes of R that H does not cover yet (what libarchive never
 * asked for: the end of a compressed stream after the tar's end, a skipped
 * tail), when there are at most TAIL_MAX of them.  Returns 1 when H then
 * covers all of R, 0 when it cannot (GAP, or a longer tail), or a negative
 * errno when the file cannot be read. */
int imgfs_region_hash_finish(const struct imgfs_region *r, struct imgfs_region_hash *h,
			     uint64_t tail_max);

/* A libarchive reader of the uncompressed stream of R as one raw entry
 * (the same in-process decompressors as imgfs_region_archive), hashing the
 * stored bytes it reads into H when H is not NULL.  NULL when out of
 * memory.  Free with imgfs_region_archive_free. */
struct archive *imgfs_region_stream(const struct imgfs_region *r, struct imgfs_region_hash *h);

/* Opens the image at PATH.  A compressed outer tar, a stream (see
 * imgfs_source_is_stream) and an image of the Docker Engine
 * (imgfs_daemon_is_ref) are written once into SPOOL (decompressed; a path
 * the caller owns and removes on failure), which then stands in for the
 * image.  Member names are recorded in a temp table of DB.
 * Returns 0 or a negative errno with ERR set. */
int imgfs_source_open(struct imgfs_source *s, const char *path, const char *spool,
		      uint64_t max_ratio, sqlite3 *db, struct imgfs_err *err);
void imgfs_source_close(struct imgfs_source *s);

/* Opens the plain tar TAR (a spool the caller wrote: a registry image) as
 * the image NAME. */
int imgfs_source_open_tar(struct imgfs_source *s, const char *name, const char *tar,
			  sqlite3 *db, struct imgfs_err *err);

/* Finds member NAME, following member symlinks and hardlinks inside the
 * archive.  Returns 0, -ENOENT, or -ELOOP/-EINVAL (ERR set) for bad links. */
int imgfs_source_member(struct imgfs_source *s, const char *name, struct imgfs_region *r);

/* The whole outer tar as one region (a plain rootfs tar is one layer). */
int imgfs_source_whole(struct imgfs_source *s, struct imgfs_region *r);

/* A member reader for imgfs_manifest_parse over S. */
void imgfs_source_reader(struct imgfs_source *s, struct imgfs_member_reader *r);

/* Names the compression of the LEN bytes at P by their magic: "gzip",
 * "zstd", "xz", "bzip2", or "none". */
const char *imgfs_sniff_compression(const unsigned char *p, size_t len);

#endif
