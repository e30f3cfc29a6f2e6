/* Helpers shared by the Check unit tests: temporary directories, layer tars
 * written with libarchive from tables of entries, and the docker-archive and
 * OCI-archive images that wrap them. */
#ifndef IMGFS_TESTUTIL_H
#define IMGFS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* A fresh empty directory under $IMGFS_TEST_TMP (or /tmp); malloc'd. */
char *tu_tmpdir(void);
/* Writes LEN bytes of DATA to DIR/NAME; returns the malloc'd path. */
char *tu_write_file(const char *dir, const char *name, const void *data, size_t len);
/* Reads the whole file PATH into a malloc'd buffer; aborts on error. */
void *tu_read_file(const char *path, size_t *len);
void tu_rm_rf(const char *path);
/* Number of entries of DIR whose name contains PART. */
int tu_count_names(const char *dir, const char *part);

enum tu_type { TU_FILE, TU_DIR, TU_SYMLINK, TU_HARDLINK, TU_FIFO, TU_CHR };

struct tu_xattr {
	const char *name;
	const void *value;   /* NULL: the name itself as the value */
	size_t len;          /* 0: strlen(value) */
};

/* One layer entry.  Unset fields take defaults: mode 0644 for files,
 * 0755 for directories, 0777 for symlinks; uid, gid, mtime 0. */
struct tu_entry {
	const char *path;         /* written verbatim: "./a/", "../x", ".wh.b" */
	enum tu_type type;
	unsigned mode;            /* permission bits (with setuid etc.); 0: default */
	unsigned uid, gid;
	int64_t mtime;
	long nsec;
	const char *content;      /* file content as a string */
	const void *data;         /* or binary content of SIZE bytes */
	size_t size;
	const char *link;         /* symlink or hardlink target, verbatim */
	unsigned rmajor, rminor;  /* TU_CHR */
	struct tu_xattr xattrs[4];/* ended by a NULL name */
};

enum tu_tar_flags {
	TU_GZIP = 1 << 0,     /* gzip the tar */
	TU_PAX_FULL = 1 << 1, /* pax interchange instead of pax restricted */
};

/* A tar in memory, malloc'd. */
struct tu_blob {
	void *data;
	size_t len;
};

/* Writes the N entries E as a tar (pax restricted unless TU_PAX_FULL) into
 * *OUT.  Aborts on a libarchive error. */
void tu_tar(struct tu_blob *out, const struct tu_entry *e, size_t n, int flags);
void tu_blob_free(struct tu_blob *b);

/* One layer of an image: its tar and the history step that made it. */
struct tu_layer {
	struct tu_blob tar;
	const char *created_by;
};

/* Writes a docker-archive at PATH: <i>/layer.tar per layer, a config
 * <64 hex>.json with rootfs.diff_ids and history (an empty_layer step is
 * placed after the first layer's), and manifest.json, in that order. */
/* The "config" object of the image config the archives below carry: the
 * fields imgfs shows as user.imgfs.config, out of their order there, with
 * spaces, escapes and fields it leaves out. */
#define TU_CONFIG_RUN \
	"{\"Hostname\":\"\",\"Env\":[\"PATH=/usr/bin\",\"Q=a \\\"b\\\"\"], \"Cmd\":[\"serve\",\"--port\",\"80\"]," \
	"\"ArgsEscaped\":true,\"ExposedPorts\":{\"80/tcp\":{}},\"User\":\"app:app\"," \
	"\"WorkingDir\":\"/srv\",\"Entrypoint\":null,\"Labels\":{\"a.b\":\"1\"},\"StopSignal\":\"SIGTERM\"}"
/* The image config of layers L[0..N): diff_ids of made-up digests,
 * TU_CONFIG_RUN, one history step per layer and an empty_layer step after
 * the first (malloc'd). */
char *tu_config_json(const struct tu_layer *l, size_t n);
void tu_docker_archive(const char *path, const struct tu_layer *l, size_t n);

/* Writes an OCI archive at PATH: oci-layout, blobs/sha256/<sha256> for the
 * layers (media type tar+gzip when GZIPPED, else tar; the tars are stored
 * as given), config and manifest, then index.json. */
void tu_oci_archive(const char *path, const struct tu_layer *l, size_t n, int gzipped);

/* A 64-lowercase-hex name made from SEED and DATA; not a real sha256. */
void tu_hex64(char out[65], uint64_t seed, const void *data, size_t len);

/* The real sha256 of DATA, 64 hex digits: the names of OCI layer blobs,
 * which the index build checks (a compressed blob must match its digest). */
void tu_sha256_hex(char out[65], const void *data, size_t len);

/* LEN pseudo-random bytes from SEED (xorshift64), malloc'd. */
unsigned char *tu_random(size_t len, uint64_t seed);

/* ---- the read side ---- */

struct imgfs_fs;
struct imgfs_attr;
struct imgfs_err;
struct imgfs_build_info;

/* imgfs_index_prepare of IMAGE into INDEX with default options. */
int tu_prepare(const char *image, const char *index, struct imgfs_build_info *info,
	       struct imgfs_err *err);
/* Prepares DIR/index.db for IMAGE and opens it.  0 or the failing -errno. */
int tu_open(const char *image, const char *dir, struct imgfs_fs **fs, struct imgfs_err *err);
/* Looks PATH ("a/b/c", "" for the root) up from the root into *A. */
int tu_walk(struct imgfs_fs *fs, const char *path, struct imgfs_attr *a);
/* Content of INO / of PATH, NUL-terminated and malloc'd; NULL on error. */
char *tu_read_all(struct imgfs_fs *fs, uint64_t ino, size_t *len);
char *tu_file(struct imgfs_fs *fs, const char *path);
/* Value of xattr NAME, NUL-terminated and malloc'd; NULL on error. */
char *tu_xattr(struct imgfs_fs *fs, uint64_t ino, const char *name);
/* Names of directory INO as "name;name;..." ("." and ".." included), in
 * one readdir call, or one entry per call resuming from the NEXT offset
 * (*CALLS: how many calls it took).  Malloc'd; NULL on error. */
char *tu_list(struct imgfs_fs *fs, uint64_t ino);
char *tu_list_by_one(struct imgfs_fs *fs, uint64_t ino, int *calls);

#endif
