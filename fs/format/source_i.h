/* The image as a set of members: an outer tar (possibly compressed, then
 * spooled to a plain copy once), or an OCI layout directory. */
#ifndef IMGFS_SOURCE_I_H
#define IMGFS_SOURCE_I_H

#include <stdint.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "imgfs/imgfs.h"
#include "format/manifest_i.h"

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
};

/* A libarchive reader over region R (tar, any compression, or empty).
 * Free with imgfs_region_archive_free.  NULL when out of memory
 * (or when libarchive would decompress through an external program). */
struct archive *imgfs_region_archive(const struct imgfs_region *r);
void imgfs_region_archive_free(struct archive *a);

/* Opens the image at PATH.  A compressed outer tar is decompressed once into
 * SPOOL (a path the caller owns and removes on failure), which then stands in
 * for the image.  Member names are recorded in a temp table of DB.
 * Returns 0 or a negative errno with ERR set. */
int imgfs_source_open(struct imgfs_source *s, const char *path, const char *spool,
		      uint64_t max_ratio, sqlite3 *db, struct imgfs_err *err);
void imgfs_source_close(struct imgfs_source *s);

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
