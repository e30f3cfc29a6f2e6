/* The layer table of `imgfs layers`: one image, or several with the
 * layers they share (the same diff_id) marked and their bytes split into
 * shared and unique. */
#ifndef IMGFS_TOOLS_LAYERS_H
#define IMGFS_TOOLS_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "imgfs/imgfs.h"

struct layer_row {
	int num;
	char *digest, *diff_id, *media_type, *compression, *created_by;
	int64_t stored, size, content, entries;
	int64_t push;          /* what a registry stores, or -1 when not known */
};

/* What one image's table shows; the strings are the table's. */
struct layer_image {
	const char *image;      /* the argument, as given */
	char *index;            /* its index path */
	char *cache;            /* the content cache, or NULL */
	long long cache_bytes;
	char *config;           /* the config fields as JSON, or NULL */
	struct layer_row *rows;
	size_t n;
	int failed;             /* out of memory while collecting */
};

/* Reads FS's layer rows, cache and config into IMG (IMAGE and INDEX are
 * copied).  Returns 0 or a negative errno. */
int layers_collect(struct imgfs_fs *fs, const char *image, const char *index,
		   struct layer_image *img);
void layers_free(struct layer_image *img);

/* Prints the table of the N images of IMGS, text (sizes in human units
 * with HUMAN) or JSON (imgfs(1), JSON OUTPUT).  Returns 0 or -EIO when
 * standard output fails. */
int layers_print(const struct layer_image *imgs, size_t n, int json, int human);

#endif
