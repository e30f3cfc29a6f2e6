/* Content caches shared between indexes, by hard link. */
#ifndef IMGFS_SHARE_I_H
#define IMGFS_SHARE_I_H

/* After a build renamed INDEX into place with its content cache CACHE
 * (the caller holds INDEX's build lock): when another complete index's
 * content cache in CACHE's directory is byte for byte CACHE, replaces
 * CACHE by a hard link to it, so the two use the disk once.  Best effort:
 * on any failure CACHE stays as it is. */
void imgfs_cache_share(const char *index, const char *cache);

#endif
