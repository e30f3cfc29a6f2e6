/* This file contains the re-shipped-unchanged figure of imgfs check: in
 * each group of identical files (imgfs_fs_duplicates), a merged-tree file
 * at /P with a hidden copy at /.imgfs/hidden/N/P is the same bytes shipped
 * again by its layer at the same path.  A metadata change alone (owner,
 * mode, times) makes a layer tar carry the whole file. */
#include "reshipped.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct walk {
	struct reshipped *r;
	int failed;
};

static struct reshipped_layer *layer_of(struct reshipped *r, int layer)
{
	struct reshipped_layer *l;
	size_t k;

	for (k = 0; k < r->n; k++)
		if (r->l[k].layer == layer)
			return &r->l[k];
	l = realloc(r->l, (r->n + 1) * sizeof(*l));
	if (!l)
		return NULL;
	r->l = l;
	/* kept in layer order */
	for (k = r->n; k > 0 && r->l[k - 1].layer > layer; k--)
		r->l[k] = r->l[k - 1];
	memset(&r->l[k], 0, sizeof(r->l[k]));
	r->l[k].layer = layer;
	r->n++;
	return &r->l[k];
}

/* "/.imgfs/hidden/N/P" -> "/P", or NULL. */
static const char *unhide(const char *path)
{
	static const char pre[] = "/" IMGFS_VIEW_NAME "/hidden/";
	const char *p;

	if (strncmp(path, pre, sizeof(pre) - 1))
		return NULL;
	p = path + sizeof(pre) - 1;
	while (*p >= '0' && *p <= '9')
		p++;
	return *p == '/' ? p : NULL;
}

static int group(void *ctx, uint64_t size, size_t copies, const char *sum,
		 const struct imgfs_dup_file *f, size_t n)
{
	struct walk *w = ctx;

	(void)copies;
	(void)sum;
	for (size_t i = 0; i < n; i++) {
		if (f[i].hidden)
			continue;
		for (size_t j = 0; j < n; j++) {
			const char *p = f[j].hidden ? unhide(f[j].path) : NULL;
			struct reshipped_layer *l;

			if (!p || strcmp(p, f[i].path) || f[j].layer >= f[i].layer)
				continue;
			l = layer_of(w->r, f[i].layer);
			if (!l) {
				w->failed = 1;
				return 1;
			}
			l->bytes += size;
			l->files++;
			w->r->bytes += size;
			w->r->files++;
			break; /* the merged copy counts once, whatever it hides */
		}
	}
	return 0;
}

static int step(void *ctx, const struct imgfs_layer_info *li)
{
	struct reshipped *r = ctx;

	for (size_t k = 0; k < r->n; k++)
		if (r->l[k].layer == li->num && li->created_by && !r->l[k].created_by)
			r->l[k].created_by = strdup(li->created_by);
	return 0;
}

int reshipped_collect(struct imgfs_fs *fs, struct reshipped *r)
{
	struct walk w = { .r = r };
	struct imgfs_dup_stats st;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = imgfs_fs_duplicates(fs, 1, group, &w, &st);
	if (rc == 0 && w.failed)
		rc = -ENOMEM;
	if (rc == 0)
		rc = imgfs_fs_layers(fs, step, r);
	return rc;
}

void reshipped_free(struct reshipped *r)
{
	for (size_t k = 0; k < r->n; k++)
		free(r->l[k].created_by);
	free(r->l);
	memset(r, 0, sizeof(*r));
}
