/* The streaming pass that fills a new index file, and its state. */
#ifndef IMGFS_BUILD_I_H
#define IMGFS_BUILD_I_H

#include <sqlite3.h>

#include "build/cache_write_i.h"
#include "build/merge_i.h"

struct imgfs_build {
	sqlite3 *db;
	struct imgfs_err *err;
	struct imgfs_merge merge;
	struct imgfs_cache_writer cache;
	int cache_open;
	const char *cache_path;  /* the content cache this build writes */
	const char *image;       /* for messages */
	sqlite3_stmt *src_get, *src_ins;
	uint64_t entries;
	unsigned char *buf;      /* IMGFS_CHUNK bytes */
	double t0;               /* when the build started (monotonic seconds) */
	const struct imgfs_opts *opts;
	uint64_t read_done;      /* stored bytes of the layers already applied */
	uint64_t read_total;     /* stored bytes of all layers */
	double last_progress;
};

/* Builds the index of O->image into the new file TMP (the content cache,
 * if one is needed, into CACHE; a compressed outer tar spooled to SPOOL),
 * recording IDENTITY and IMAGE_REAL in its meta table, and commits it.
 * Fills *ENTRIES and sets *CACHE_USED when the cache was written.  The
 * caller renames TMP into place and removes the files on failure.
 * Returns 0 or a negative errno with ERR set. */
int imgfs_build_run(const struct imgfs_opts *o, const char *tmp, const char *cache,
		    const char *spool, const char *identity, const char *image_real,
		    uint64_t *entries, int *cache_used, struct imgfs_err *err);

#endif
