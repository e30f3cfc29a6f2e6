/* Content caches shared between indexes, by hard link. */
#ifndef IMGFS_SHARE_I_H
#define IMGFS_SHARE_I_H

#include <sqlite3.h>

/* Before the index being built (DB, open read-write, to become INDEX; the
 * caller holds INDEX's build lock) is sealed: when another complete
 * index's content cache in the directory of CACHE holds every frame of
 * CACHE, the same compressed bytes for the same chunks, possibly in
 * another order (the compressing threads claim offsets as they finish),
 * points DB's chunks at that cache's offsets and replaces CACHE by a hard
 * link to it, so the two use the disk once.  Returns 1 when shared, 0 when
 * nothing was (CACHE and DB as they were), a negative errno when DB was
 * changed but CACHE could not be replaced: the build must then fail. */
int imgfs_cache_share(sqlite3 *db, const char *index, const char *cache);

#endif
