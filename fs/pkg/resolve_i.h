/* Reading the merged tree the way its users see it: paths resolved with
 * symlinks followed, directories listed, directories found by name. */
#ifndef IMGFS_RESOLVE_I_H
#define IMGFS_RESOLVE_I_H

#include <stddef.h>
#include <stdint.h>

#include "pkg/pass_i.h"

struct entry {
	char *name;
	uint64_t ino;
	uint32_t mode;
};

struct dirlist {
	struct entry *v;
	size_t n, cap;
};

/* The entries of directory INO but "." and "..", into DL (owned by the
 * caller, freed with pkg_dirlist_free()), each counted as a lookup.
 * Returns 0; or, DL empty, -ENOTDIR or -ENOENT (the image's), -ECANCELED
 * (a bound reached), or a fatal -errno (on c->err). */
int pkg_list_dir(struct pkg_ctx *c, uint64_t ino, struct dirlist *dl);
void pkg_dirlist_free(struct dirlist *dl);

/* Resolves PATH inside the image, from directory BASE when relative, the
 * way the kernel would with the image as root: symlinks followed in every
 * component but the last (and the last too when FOLLOW_LAST), ".." taken
 * physically, each component counted as a lookup.  Returns 0 and *OUT;
 * or -ENOENT, -ENOTDIR, -ELOOP, -ENAMETOOLONG (the path does not resolve),
 * -ECANCELED (a bound reached), or a fatal -errno (on c->err). */
int pkg_resolve(struct pkg_ctx *c, uint64_t base, const char *path, int follow_last,
		struct imgfs_attr *out);
/* pkg_resolve() of PATH's last component not followed, its directory part
 * resolved once for a run of paths in the same directory; the same
 * returns. */
int pkg_resolve_file(struct pkg_ctx *c, uint64_t base, const char *path, struct imgfs_attr *out);

/* The inodes of the merged tree's directories named NAME1 or NAME2, in
 * tree order, into *OUT (malloc'd, the caller's) and their count into *N.
 * Found with one scan of the dentry table: the read API has no search by
 * name, and walking the whole tree through it would cost a readdir per
 * directory of the image.  Returns 0 or a fatal -errno (on c->err). */
int pkg_dirs_named(struct pkg_ctx *c, const char *name1, const char *name2, uint64_t **out,
		   size_t *n);

/* The path of the merged tree's inode INO ("/usr/lib"; "/" for the root)
 * into BUF of SIZE bytes, from its first name in the dentry table.
 * Returns 0, -ENAMETOOLONG (longer than SIZE), -ENOENT (no name), or a
 * fatal -errno (on c->err). */
int pkg_path_of(struct pkg_ctx *c, uint64_t ino, char *buf, size_t size);

#endif
