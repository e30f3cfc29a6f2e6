/* Public interface of the imgfs core library: build or reuse the SQLite
 * index of a container image, then answer filesystem questions from it.
 * The library knows nothing of FUSE; the adapter and the tools call it. */
#ifndef IMGFS_IMGFS_H
#define IMGFS_IMGFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Error detail.  Every function that can fail returns 0 (or a length) or a
 * negative errno and, when given one of these, leaves a one-line message. */
struct imgfs_err {
	int code;       /* the negative errno that was returned */
	int input;      /* 1: the image is at fault (exit 2); 0: runtime (exit 1) */
	char msg[1024];
};

/* How to find and build the index of one image. */
/* Where a build is. */
struct imgfs_progress {
	uint64_t done, total;   /* stored bytes of the image read, of all */
	uint64_t entries;       /* tar entries applied so far */
	const char *phase;      /* NULL while the image is read; then the step
				 * of the finish that begins ("tree totals",
				 * "packages", ...) */
};

struct imgfs_opts {
	const char *image;      /* image tar (any compression), OCI layout dir or rootfs tar */
	const char *image_name; /* --image NAME[:TAG]; NULL: the only one */
	const char *platform;   /* --platform os/arch[/variant]; NULL: the host's */
	const char *index_path; /* --index; NULL: $XDG_CACHE_HOME/imgfs/<identity>.db */
	const char *cache_dir;  /* --cache-dir; NULL: beside the index */
	int force;              /* rebuild even when the index is fresh */
	int quiet;
	int timing;             /* print each build phase's elapsed time on stderr */
	int hold;               /* keep a shared lock on the index (INFO->lock_fd) for a
				 * mount's life: imgfs cache prune leaves it alone */
	uint64_t max_ratio;     /* decompression-bomb ratio; 0: the default (1024) */
	int estimate_compressed; /* gzip each uncompressed layer for its registry size */
	int tls_verify;         /* docker://: -1 --tls-verify=false, else verify */
	const char *creds;      /* docker://: --creds USER:PASS, or NULL */
	/* Called now and then while a build reads the image (not more than
	 * ten times a second), and once as each step after the reading
	 * begins.  May be NULL. */
	void (*progress)(void *ctx, const struct imgfs_progress *p);
	void *progress_ctx;
};

struct imgfs_build_info {
	int reused;             /* 1: a fresh index was found and used */
	int damaged;            /* 1: the index there was damaged (its checksum did not
				 * match) and was rebuilt */
	double seconds;         /* time spent checking or building */
	uint64_t layers;
	uint64_t inodes;        /* inodes in the merged tree, root included */
	uint64_t entries;       /* tar entries read over all layers */
	int temporary;          /* 1: the index of a stream without --index: remove it
				 * with imgfs_index_discard once opened */
	int offline;            /* 1: the registry or engine was unreachable (OFFLINE_WHY):
				 * the last index of the reference was reused */
	char offline_why[1024];
	char index_path[4096];
	int lock_fd;            /* with O->hold: the lock's descriptor, which the caller
				 * closes when done with the index; else -1 */
};

/* Makes sure an index for O->image exists and is fresh: reuses it, or
 * builds it in one streaming pass into a temporary file and renames it into
 * place.  Fills INFO.  Returns 0 or a negative errno with ERR set. */
int imgfs_index_prepare(const struct imgfs_opts *o, struct imgfs_build_info *info,
			struct imgfs_err *err);

/* Removes the index INFO names and its content cache and spool when it is
 * temporary (a stream's, without --index); nothing otherwise.  A mount
 * calls it once imgfs_fs_open holds them open: the mount keeps reading
 * them, and nothing is left once it ends, however it ends. */
void imgfs_index_discard(const struct imgfs_opts *o, const struct imgfs_build_info *info);

/* Removes the files of the build in progress (the temporary index, its
 * content cache and spool).  Async-signal-safe: for the command's SIGINT,
 * SIGTERM and SIGHUP handlers, which then die of the signal.  Whatever a
 * SIGKILL leaves is removed by the next build or reuse of that index. */
void imgfs_index_interrupted(void);

/* ---- the index cache (imgfs cache) ---- */

/* One index of the cache directory with its files, or one file there that
 * no index names (an orphan).  Strings are borrowed for the call. */
struct imgfs_cache_entry {
	const char *path;       /* the index, or the orphan file */
	const char *kind;       /* "index"; an orphan's "lock", "temporary",
				 * "content cache" or "spool" */
	const char *image;      /* the image it was built from; NULL for an orphan or an
				 * index that cannot be read (damaged, older version) */
	const char *name;       /* the --image NAME it was built with, or NULL */
	const char *cache;      /* its content cache, or NULL */
	const char *spool;      /* its spool of a compressed outer tar, or NULL */
	int gone;               /* an index whose image no longer exists or that cannot be read */
	int in_use;             /* a mount or a build holds its lock */
	uint64_t index_bytes, cache_bytes, spool_bytes;
	uint64_t bytes;         /* all of its files, a content cache shared with other
				 * indexes counted in the first of them only (listing);
				 * what its removal freed (prune) */
	int shared;             /* other indexes whose content cache is this one's file
				 * (a hard link: their layers' content is the same) */
	int64_t last_used;      /* seconds since the epoch: the later of the index's atime
				 * (which every use sets) and mtime; an orphan's mtime */
};
typedef int (*imgfs_cache_fn)(void *ctx, const struct imgfs_cache_entry *e);

struct imgfs_cache_opts {
	const char *dir;        /* NULL: $XDG_CACHE_HOME/imgfs, else ~/.cache/imgfs */
	const char *cache_dir;  /* or NULL: content caches here (mount --cache-dir) that
				 * no index names are orphans too */
	int64_t older_than;     /* prune: also what was last used more than this many
				 * seconds ago; < 0: no such rule */
	int64_t max_size;       /* prune: then the least recently used until the total
				 * is at most this many bytes; < 0: no such rule */
	int all;                /* prune: everything not in use (imgfs cache clear) */
};

/* Calls FN for each index of the cache directory (by path), then for each
 * orphan.  Reads the indexes read-only and changes nothing.  A missing
 * directory is an empty cache.  Returns 0, FN's non-zero result, or a
 * negative errno with ERR set. */
int imgfs_cache_list(const struct imgfs_cache_opts *o, imgfs_cache_fn fn, void *ctx,
		     struct imgfs_err *err);

/* Removes, never what is in use: the orphans and the indexes that are gone
 * first, then those older than O->older_than, then the least recently used
 * until the total is at most O->max_size (everything with O->all).  An
 * index goes with its content cache, spool and lock file.  Calls FN (may
 * be NULL) for each entry removed; sets *LEFT (may be NULL) to the bytes
 * that remain.  Returns 0, FN's non-zero result, or a negative errno with
 * ERR set. */
int imgfs_cache_prune(const struct imgfs_cache_opts *o, imgfs_cache_fn fn, void *ctx,
		      uint64_t *left, struct imgfs_err *err);

/* ---- the read side ---- */

#define IMGFS_ROOT_INO 1
/* The hidden view of layers and hidden entries, reached by path only. */
#define IMGFS_VIEW_NAME ".imgfs"
/* /.imgfs/config.json: the image config, byte for byte. */
#define IMGFS_CONFIG_FILE "config.json"
/* On the root: the config fields users check, one JSON object. */
#define IMGFS_XATTR_CONFIG "user.imgfs.config"

struct imgfs_fs; /* an opened index; shared by threads, each gets its own connection */

struct imgfs_attr {
	uint64_t ino;
	uint32_t mode;     /* type and permission bits, as st_mode */
	uint32_t uid, gid;
	uint32_t nlink;
	uint64_t size;
	uint64_t rdev;
	int64_t mtime;
	uint32_t mtime_ns;
};

/* Opens the index at PATH read-only (and the image files it reads from).
 * Returns 0 and *OUT, or a negative errno with ERR set. */
int imgfs_fs_open(struct imgfs_fs **out, const char *path, struct imgfs_err *err);
void imgfs_fs_close(struct imgfs_fs *fs);

int imgfs_fs_getattr(struct imgfs_fs *fs, uint64_t ino, struct imgfs_attr *a);
/* -ENOENT when PARENT has no entry NAME, -ENOTDIR when PARENT is no dir. */
int imgfs_fs_lookup(struct imgfs_fs *fs, uint64_t parent, const char *name,
		    struct imgfs_attr *a);

/* Called once per entry; return non-zero to stop (the buffer is full).
 * NEXT is the offset to resume after this entry. */
typedef int (*imgfs_dirent_fn)(void *ctx, const char *name, const struct imgfs_attr *a,
			       uint64_t next);
/* Lists directory INO from offset OFF ("." and ".." included).  Offsets are
 * stable for the life of the index. */
int imgfs_fs_readdir(struct imgfs_fs *fs, uint64_t ino, uint64_t off,
		     imgfs_dirent_fn fn, void *ctx);
/* Copies the symlink target (no NUL) into BUF; returns its length. */
ssize_t imgfs_fs_readlink(struct imgfs_fs *fs, uint64_t ino, char *buf, size_t len);
/* Reads up to SIZE bytes at OFF; returns the count (short only at EOF). */
ssize_t imgfs_fs_read(struct imgfs_fs *fs, uint64_t ino, void *buf, size_t size, uint64_t off);
/* SIZE 0 asks for the length.  -ERANGE when BUF is too small, -ENODATA when
 * there is no such attribute.  Serves the image's xattrs and user.imgfs.*. */
ssize_t imgfs_fs_getxattr(struct imgfs_fs *fs, uint64_t ino, const char *name,
			  void *buf, size_t size);
ssize_t imgfs_fs_listxattr(struct imgfs_fs *fs, uint64_t ino, char *buf, size_t size);

struct imgfs_fs_stat {
	uint64_t inodes;
	uint64_t bytes;     /* user.imgfs.size of the root */
};
int imgfs_fs_statfs(struct imgfs_fs *fs, struct imgfs_fs_stat *st);

struct imgfs_layer_info {
	int num;                  /* 0 = base layer */
	const char *digest;       /* of the stored blob, or NULL */
	const char *diff_id;      /* from the config, or NULL */
	const char *media_type;   /* or NULL (docker-archive has none) */
	const char *compression;  /* none, gzip, zstd, xz, lzma, bzip2, lz4 */
	int64_t stored_size;      /* bytes in the archive */
	int64_t size;             /* uncompressed tar bytes */
	int64_t entries;          /* tar entries */
	int64_t content_bytes;    /* its regular files' bytes (size less tar headers and padding) */
	int64_t push_size;        /* what a registry stores: the stored size of a compressed
				   * layer, the gzip -6 estimate of an uncompressed one, or -1 */
	const char *created_by;   /* history step, or NULL */
};
typedef int (*imgfs_layer_fn)(void *ctx, const struct imgfs_layer_info *l);
int imgfs_fs_layers(struct imgfs_fs *fs, imgfs_layer_fn fn, void *ctx);
/* The index file FS was opened from (borrowed). */
const char *imgfs_fs_path(const struct imgfs_fs *fs);
/* A value of the index's meta table (image, name, format, ...) or NULL;
 * the string is malloc'd for the caller. */
char *imgfs_fs_meta(struct imgfs_fs *fs, const char *key);

/* ---- the tree a mount serves: one image, or several side by side ---- */

struct imgfs_set;
/* A set of the N opened images FS, which the set owns once this returns 0
 * (imgfs_set_free closes them; on failure they stay the caller's).  NAMES NULL: N is 1 and the image is the root.  Otherwise the
 * root is the set's own, a directory holding image K as NAMES[K] (distinct
 * names, checked by the caller).  Returns 0, -EINVAL or -ENOMEM. */
int imgfs_set_new(struct imgfs_set **out, struct imgfs_fs **fs, const char *const *names,
		  size_t n);
void imgfs_set_free(struct imgfs_set *s);
size_t imgfs_set_count(const struct imgfs_set *s);
struct imgfs_fs *imgfs_set_image(const struct imgfs_set *s, size_t k);
/* As imgfs_fs_getattr ... imgfs_fs_statfs, over the set's inodes. */
int imgfs_set_getattr(struct imgfs_set *s, uint64_t ino, struct imgfs_attr *a);
int imgfs_set_lookup(struct imgfs_set *s, uint64_t parent, const char *name,
		     struct imgfs_attr *a);
int imgfs_set_readdir(struct imgfs_set *s, uint64_t ino, uint64_t off, imgfs_dirent_fn fn,
		      void *ctx);
ssize_t imgfs_set_readlink(struct imgfs_set *s, uint64_t ino, char *buf, size_t len);
ssize_t imgfs_set_read(struct imgfs_set *s, uint64_t ino, void *buf, size_t size, uint64_t off);
ssize_t imgfs_set_getxattr(struct imgfs_set *s, uint64_t ino, const char *name, void *buf,
			   size_t size);
ssize_t imgfs_set_listxattr(struct imgfs_set *s, uint64_t ino, char *buf, size_t size);
int imgfs_set_statfs(struct imgfs_set *s, struct imgfs_fs_stat *st);

/* ---- duplicate content ---- */

/* One name of a copy: PATH in the merged tree, or under /.imgfs/hidden/N
 * (HIDDEN: a lower layer ships it and the merged tree hides it). */
struct imgfs_dup_file {
	const char *path;
	uint64_t ino;
	int layer;              /* the layer that put this copy there */
	int hidden;
};
/* One group: COPIES inodes of SIZE bytes with the same sha256 (SUM, hex),
 * FILES their N names (an inode with several hardlinks is one copy).
 * Return non-zero to stop. */
typedef int (*imgfs_dup_fn)(void *ctx, uint64_t size, size_t copies, const char *sum,
			    const struct imgfs_dup_file *files, size_t n);
struct imgfs_dup_stats {
	uint64_t candidates;    /* files whose size another file has */
	uint64_t hashed_files, hashed_bytes;  /* read this run (0 when the sums were kept) */
	uint64_t groups, copies;
	uint64_t saving;        /* the bytes keeping one copy of each group would save */
};
/* Calls FN for each group of regular files of at least MIN_SIZE bytes
 * (0: 1) with the same content and different inodes, in the merged tree
 * and the hidden copies, the biggest files first.  Only files whose size
 * collides are read; their sums are kept in INDEX.sums for the next run.
 * Returns 0 or a negative errno. */
int imgfs_fs_duplicates(struct imgfs_fs *fs, uint64_t min_size, imgfs_dup_fn fn, void *ctx,
			struct imgfs_dup_stats *st);

/* What dive reports about an image, computed with dive's own definitions
 * (filetree/efficiency.go), beside imgfs's own figure. */
struct imgfs_dive_stats {
	double efficiency;          /* sum of each path's smallest copy / sum of all copies */
	uint64_t wasted_bytes;      /* all copies of paths seen in two or more layers */
	double user_wasted_percent; /* wasted_bytes / user_size_bytes (a fraction) */
	uint64_t size_bytes;        /* tar sizes of all layers */
	uint64_t user_size_bytes;   /* tar sizes of all layers but the base */
	uint64_t hidden_bytes;      /* imgfs: bytes lower layers ship that the merged tree
				     * hides, each hidden copy once (user.imgfs.wasted of /) */
};
/* Fills S.  Returns 0 or a negative errno. */
int imgfs_fs_dive_stats(struct imgfs_fs *fs, struct imgfs_dive_stats *s);

/* ---- packages (attributed at index time) ---- */

struct imgfs_pkg_info {
	const char *manager;      /* dpkg, pip, npm, apk */
	const char *name;
	const char *version;      /* or NULL */
	const char *arch;         /* or NULL; NULL in by-layer rows */
	int64_t files, bytes;     /* regular files it owns (in that layer, by layer) */
	int64_t missing;          /* files it lists that the tree lacks; 0 by layer */
	int64_t first_bytes;      /* bytes whose most specific claim it is; 0 by layer */
	const char *layers;       /* "0,2": layers holding its files; NULL by layer */
	/* The dependency graph (imgfs_fs_packages_graph() only; else 0/NULL).
	 * The lists are "manager:name" lines joined by '\n', sorted, NULL
	 * when empty. */
	const char *location;     /* its database entry in the image, or NULL */
	int root;                 /* 1: nothing installed requires it, or apt's manual mark */
	int64_t retained_bytes;   /* what removing it and what only it needs frees; -1 unknown */
	const char *requires, *required_by;
	const char *missing_requires; /* requirements naming nothing installed */
	const char *retained;     /* the packages it dominates, itself included */
};
struct imgfs_pkg_totals {
	int64_t total_bytes;      /* user.imgfs.size of / */
	int64_t unowned_files;    /* regular files no package claims */
	int64_t unowned_bytes;
};
struct imgfs_pkg_layer {
	int layer;
	const char *created_by;   /* or NULL */
	int64_t bytes;            /* regular files of the merged tree from this layer */
	int64_t unowned_files, unowned_bytes;
};
/* Return non-zero to stop; that value is returned.  Strings are borrowed
 * for the call. */
typedef int (*imgfs_pkg_fn)(void *ctx, const struct imgfs_pkg_info *p);
typedef int (*imgfs_pkg_layer_fn)(void *ctx, const struct imgfs_pkg_layer *l);

/* Fills T and calls FN for each package, most bytes first.  0, FN's
 * non-zero result, or -errno with ERR set. */
int imgfs_fs_packages(struct imgfs_fs *fs, struct imgfs_pkg_totals *t, imgfs_pkg_fn fn,
		      void *ctx, struct imgfs_err *err);
/* Orders of imgfs_fs_packages_graph(). */
enum imgfs_pkg_sort {
	IMGFS_PKG_BY_BYTES = 0,   /* most bytes first */
	IMGFS_PKG_BY_RETAINED,    /* most retained bytes first */
};
/* Flags of imgfs_fs_packages_graph(). */
#define IMGFS_PKG_ROOTS_ONLY 1    /* only the roots */
#define IMGFS_PKG_LISTS 2         /* fill requires, required_by, missing_requires, retained */
/* imgfs_fs_packages() in order SORT with the graph's fields filled (the
 * lists only with IMGFS_PKG_LISTS: they cost four queries a package). */
int imgfs_fs_packages_graph(struct imgfs_fs *fs, enum imgfs_pkg_sort sort, int flags,
			    struct imgfs_pkg_totals *t, imgfs_pkg_fn fn, void *ctx,
			    struct imgfs_err *err);

/* One package of a chain of imgfs_fs_packages_why(). */
struct imgfs_pkg_link {
	const char *manager, *name, *version;
	int layer;                /* the layer holding most of its bytes, -1 none */
	const char *created_by;   /* that layer's step, or NULL */
};
/* Return non-zero to stop; that value is returned. */
typedef int (*imgfs_pkg_chain_fn)(void *ctx, const struct imgfs_pkg_link *chain, size_t n);
/* Why each package NAME ("name" or "manager:name"; pip's compared PEP
 * 503-normalised) is installed: for each root requiring it through
 * packages that are no roots (a chain through another root is that
 * root's), nearest first, every shortest chain from that root to it, root
 * first: FN for each (at most IMGFS_WHY_CHAINS_MAX per package; a root
 * itself is a chain of one).  *FOUND: the packages NAME matched.  0, FN's
 * non-zero result, or -errno with ERR set. */
#define IMGFS_WHY_CHAINS_MAX 1000
int imgfs_fs_packages_why(struct imgfs_fs *fs, const char *name, imgfs_pkg_chain_fn fn,
			  void *ctx, size_t *found, struct imgfs_err *err);

/* For each layer, base first: LFN with its totals, PFN for each package
 * with files from it (most bytes first), then LFN with NULL (the layer's
 * end).  0, a callback's non-zero result, or -errno with ERR set. */
int imgfs_fs_packages_by_layer(struct imgfs_fs *fs, imgfs_pkg_layer_fn lfn, imgfs_pkg_fn pfn,
			       void *ctx, struct imgfs_err *err);

/* ---- ELF files (measured at index time) ---- */

/* On an ELF file strip would shrink: the bytes strip --strip-unneeded
 * would save, in decimal. */
#define IMGFS_XATTR_STRIP "user.imgfs.strip"

struct imgfs_elf_info {
	const char *path;         /* its first path in the merged tree, "/usr/lib/x.so" */
	uint64_t ino;
	int64_t size;
	int64_t strip_bytes;      /* what strip --strip-unneeded would save */
	int64_t debug_bytes;      /* of which debug sections (.debug_*, ...) and their relocations */
	int64_t symtab_bytes;     /* of which .symtab and its .strtab */
	int layer;                /* the layer its content comes from */
};
struct imgfs_elf_totals {
	int64_t elf_files;        /* ELF files the index measured */
	int64_t files;            /* of those, the ones listed (strip_bytes >= MIN) */
	int64_t size, strip_bytes, debug_bytes, symtab_bytes; /* sums over those listed */
};
/* Return non-zero to stop; that value is returned.  Strings are borrowed
 * for the call. */
typedef int (*imgfs_elf_fn)(void *ctx, const struct imgfs_elf_info *e);
/* Calls FN for each ELF file of the merged tree whose saving is at least
 * MIN bytes, largest saving first, and fills T.  0, FN's non-zero result,
 * or -errno with ERR set. */
int imgfs_fs_elf(struct imgfs_fs *fs, int64_t min, struct imgfs_elf_totals *t, imgfs_elf_fn fn,
		 void *ctx, struct imgfs_err *err);

/* ---- digests (imgfs verify) ---- */

enum imgfs_verify_status {
	IMGFS_VERIFY_OK = 0,
	IMGFS_VERIFY_MISMATCH = 1,  /* the content is not what its digest says */
	IMGFS_VERIFY_SKIPPED = 2,   /* nothing to check against, or an algorithm not computed */
};

/* One check imgfs_verify made.  Strings are borrowed for the call. */
struct imgfs_verify_item {
	const char *object;     /* "manifest", "config", "layer" or "image" */
	int layer;              /* layer number (0 = base); -1 for the others */
	const char *kind;       /* "digest": the stored blob; "diff_id": the layer's
				 * uncompressed tar (rootfs.diff_ids of the config) */
	const char *member;     /* the blob's path in the image, or NULL */
	const char *expected;   /* "sha256:<hex>", or NULL */
	const char *actual;     /* what the content hashes to, or NULL (skipped, unreadable) */
	enum imgfs_verify_status status;
	const char *note;       /* why skipped or unreadable, or NULL */
	uint64_t bytes;         /* bytes hashed */
};
/* Return non-zero to stop; that value is returned. */
typedef int (*imgfs_verify_fn)(void *ctx, const struct imgfs_verify_item *it);

/* Hashes every blob the image O->image (O->image_name, O->platform)
 * references and compares each with the digest that names it: the OCI
 * manifest, the config, each layer blob with its manifest digest and each
 * layer's uncompressed tar with the config's rootfs.diff_ids.  Reads the
 * image only (a compressed outer tar is spooled to a temporary file under
 * O->cache_dir, else $TMPDIR, else /var/tmp); no index is built or used.
 * Calls FN (may be NULL) once per check, in order.  Returns 0 when nothing
 * mismatched; -EBADMSG with ERR naming the first mismatch (ERR->input 1)
 * once every check was made; FN's non-zero result; or another negative
 * errno with ERR set (an unreadable image stops the checks). */
int imgfs_verify(const struct imgfs_opts *o, imgfs_verify_fn fn, void *ctx, struct imgfs_err *err);

#endif
