/* The merged tree under construction: OCI layer changeset rules applied
 * entry by entry to the SQLite tables, so memory stays bounded whatever
 * the entry count. */
#ifndef IMGFS_MERGE_I_H
#define IMGFS_MERGE_I_H

#include <sqlite3.h>
#include <stdint.h>

#include "imgfs/imgfs.h"
#include "util/path_i.h"

/* One layer entry, already normalised.  DATA_SRC: 0 no data or data in the
 * content cache (chunks added later by the caller), >0 a source file id
 * whose bytes at DATA_OFF are the file's. */
struct imgfs_entry {
	const char *path;      /* "" is the root */
	uint32_t mode;         /* st_mode: type and permission bits */
	uint32_t uid, gid;
	int64_t mtime;
	uint32_t mtime_ns;
	uint64_t size;
	uint64_t rdev;
	const char *symlink;   /* target, verbatim */
	const char *hardlink;  /* normalised path of the link target, or NULL */
	int64_t data_src;
	uint64_t data_off;
};

/* Where names are resolved: the merged tree or the current layer's own
 * tree under /.imgfs/layers/N.  Each keeps the last directory resolved,
 * since tar entries come grouped by directory: that saves the walk from
 * the root for nearly every entry. */
struct imgfs_cursor {
	int64_t root;          /* directory inode the paths start from */
	int64_t root_depth;    /* its depth; children are one deeper */
	int view;              /* 0 merged, 1 layer view, 2 hidden view */
	char last_dir[IMGFS_PATH_MAX];
	int64_t last_ino, last_depth;
	int last_valid;
};

struct imgfs_merge {
	sqlite3 *db;
	struct imgfs_err *err;
	int layer;
	sqlite3_stmt *find, *ins_inode, *ins_dentry, *upd_dir, *upd_dentry_layer,
		*del_subtree, *sub_fill, *sub_keep, *sub_clear, *sub_fill_children,
		*del_xattrs, *ins_xattr, *ins_chunk, *root_attr, *sub_tsize, *upd_tsize,
		*mark_link;
	struct imgfs_cursor merged;
	struct imgfs_cursor lview;   /* the current layer's own tree */
	int64_t views_ino, layers_ino, hidden_ino;  /* /.imgfs, its layers/ and hidden/ */
	int64_t layer_hidden;        /* /.imgfs/hidden/N of the current layer */
	uint64_t tar_bytes;          /* of the current layer, as dive counts */
	int timing;                  /* print the finish's phase times */
	double t0;                   /* the build's start, CLOCK_MONOTONIC seconds */
	void (*phase)(void *ctx, const char *name); /* a finish step begins; may be NULL */
	void *phase_ctx;
};

/* Prepares statements on DB (the schema must exist).  0 or -errno. */
int imgfs_merge_init(struct imgfs_merge *m, sqlite3 *db, struct imgfs_err *err);
void imgfs_merge_fini(struct imgfs_merge *m);

/* Starts layer NUM: creates /.imgfs/layers/NUM and /.imgfs/hidden/NUM
 * and returns their inodes.  0 or -errno. */
int imgfs_merge_begin_layer(struct imgfs_merge *m, int num, int64_t *view_ino,
			    int64_t *hidden_ino);

/* Adds or replaces entry E in layer M->layer.  Returns 0 and the entry's
 * inode in *INO (a hardlink returns its target's inode), or -errno with the
 * error set (-ENOENT/-EISDIR for a bad hardlink: bad input). */
int imgfs_merge_entry(struct imgfs_merge *m, const struct imgfs_entry *e, int64_t *ino);
/* Hides NAME in directory DIR from the lower layers (".wh.NAME"). */
int imgfs_merge_whiteout(struct imgfs_merge *m, const char *dir, const char *name);
/* Hides every lower-layer child of DIR (".wh..wh..opq"). */
int imgfs_merge_opaque(struct imgfs_merge *m, const char *dir);
int imgfs_merge_xattr(struct imgfs_merge *m, int64_t ino, const char *name,
		      const void *value, size_t len);
/* Adds the read-only file /.imgfs/NAME whose SIZE bytes are at OFF of
 * source file SRC (the image config, served as the archive holds it).
 * Nothing when no layer made /.imgfs.  0 or -errno. */
int imgfs_merge_view_file(struct imgfs_merge *m, const char *name, int64_t src, uint64_t off,
			  uint64_t size);
/* Chunk IDX of INO is in the frame at OFF (CSIZE bytes) of the cache,
 * FOFF bytes into it once decoded. */
int imgfs_merge_chunk(struct imgfs_merge *m, int64_t ino, int64_t idx, uint64_t off,
		      uint32_t csize, uint32_t foff);
/* After the last layer: drops unreachable inodes, counts links, fills the
 * hidden views, computes every directory's subtree totals and hidden
 * bytes.  0 or -errno. */
int imgfs_merge_finish(struct imgfs_merge *m);

#endif
