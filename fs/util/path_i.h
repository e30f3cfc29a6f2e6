/* Path helpers: normalising entry names from tars and small hashes. */
#ifndef IMGFS_PATH_I_H
#define IMGFS_PATH_I_H

#include <stddef.h>
#include <stdint.h>

/* Sanity limit: Linux's PATH_MAX; a longer name in a layer cannot exist in
 * a real root filesystem and only serves to make us allocate. */
#define IMGFS_PATH_MAX 4096

/* Normalises IN (a tar entry name) into OUT: strips leading "/" and "./",
 * folds "//" and "." components and the trailing "/".  The root becomes "".
 * Returns 0, -EINVAL when a component is "..", -ENAMETOOLONG when the result
 * does not fit OUTLEN or IMGFS_PATH_MAX. */
int imgfs_path_normalize(const char *in, char *out, size_t outlen);

/* Splits normalised PATH in place at its last '/': *DIR becomes the parent
 * ("" for the root) and *BASE the last component.  PATH must not be "". */
void imgfs_path_split(char *path, const char **dir, const char **base);

/* Resolves member link TARGET seen at member NAME (symlinks are relative to
 * NAME's directory, hardlinks to the archive root) into OUT, lexically,
 * confined to the archive: -EINVAL if it climbs above the root. */
int imgfs_path_join_link(const char *name, const char *target, int is_hardlink,
			 char *out, size_t outlen);

/* FNV-1a, 64 bits: a fingerprint, not a security hash. */
uint64_t imgfs_fnv64(uint64_t h, const void *data, size_t len);
#define IMGFS_FNV64_INIT 0xcbf29ce484222325ULL

#endif
