/* The index database: its schema and the state of one build. */
#ifndef IMGFS_INDEX_I_H
#define IMGFS_INDEX_I_H

#include <sqlite3.h>

#include "cache_i.h"
#include "merge_i.h"
#include "schema_i.h"

struct imgfs_build {
	sqlite3 *db;
	struct imgfs_err *err;
	struct imgfs_merge merge;
	struct imgfs_cache_writer cache;
	int cache_open;
	char *cache_path;        /* the content cache this build writes */
	const char *image;       /* for messages */
	const char *layer_name;  /* "layer 3 (sha256:ab12...)" while applying one */
	sqlite3_stmt *src_get, *src_ins;
	uint64_t entries;
	uint64_t layer_verified;  /* data offsets checked by header walk, this layer */
	int layer_walk;           /* the derived offsets failed once: walk them all */
	unsigned char *buf;      /* IMGFS_CHUNK bytes */
	double t0;               /* when the build started (monotonic seconds) */
	const struct imgfs_opts *opts;
	uint64_t read_done;      /* stored bytes of the layers already applied */
	uint64_t read_total;     /* stored bytes of all layers */
	double last_progress;
};

/* The id of FILE in the source table (added if new).  0 or -errno. */
int imgfs_build_source_id(struct imgfs_build *b, const char *file, int64_t *id);
/* Reports progress when due: DONE stored bytes of the current layer read. */
void imgfs_build_progress(struct imgfs_build *b, uint64_t done);
/* Opens the content cache on first use.  0 or -errno. */
int imgfs_build_cache(struct imgfs_build *b);

#endif
