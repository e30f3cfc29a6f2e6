/* The merged tree under construction: OCI layer changeset rules applied
 * entry by entry to the SQLite tables, so memory stays bounded whatever
 * the entry count. */
#ifndef IMGFS_MERGE_I_H
#define IMGFS_MERGE_I_H

#include <sqlite3.h>
#include <stdint.h>

#include "imgfs/imgfs.h"
#include "path_i.h"

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

struct imgfs_merge {
	sqlite3 *db;
	struct imgfs_err *err;
	int layer;
	sqlite3_stmt *find, *ins_inode, *ins_dentry, *upd_dir, *upd_dentry_layer,
		*del_subtree, *sub_fill, *sub_keep, *sub_clear, *sub_fill_children,
		*del_xattrs, *ins_xattr, *ins_chunk, *root_attr;
	/* The last directory resolved, since tar entries come grouped by
	 * directory: saves the walk from the root for nearly every entry. */
	char last_dir[IMGFS_PATH_MAX];
	int64_t last_ino, last_depth;
	int last_valid;
};

/* Prepares statements on DB (the schema must exist).  0 or -errno. */
int imgfs_merge_init(struct imgfs_merge *m, sqlite3 *db, struct imgfs_err *err);
void imgfs_merge_fini(struct imgfs_merge *m);

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
int imgfs_merge_chunk(struct imgfs_merge *m, int64_t ino, int64_t idx, uint64_t off,
		      uint32_t csize);
/* After the last layer: drops unreachable inodes, counts links, computes
 * every directory's subtree totals.  0 or -errno. */
int imgfs_merge_finish(struct imgfs_merge *m);

#endif
