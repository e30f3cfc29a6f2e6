/* What builds leave behind, and removing it. */
#ifndef IMGFS_LEFTOVERS_I_H
#define IMGFS_LEFTOVERS_I_H

/* Names the files a build is writing (any may be NULL), for
 * imgfs_index_interrupted to remove; disarm once they are renamed into
 * place or removed. */
void imgfs_leftovers_arm(const char *tmp, const char *cache, const char *spool);
void imgfs_leftovers_disarm(void);

/* Removes beside INDEX what no build in progress and no fresh index uses:
 * temporary indexes (INDEX.tmp.PID: the caller holds the index's lock, so
 * no build of it runs), and content caches and spools other than
 * KEEP_CACHE and KEEP_SPOOL (either may be NULL). */
void imgfs_leftovers_sweep(const char *index, const char *keep_cache, const char *keep_spool);

#endif
