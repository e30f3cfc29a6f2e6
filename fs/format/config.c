/* This file contains the image config's part of an image description, the
 * same for both formats: rootfs.diff_ids checked against the layers, and
 * the build history matched to them. */
#include "format/config_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "format/ref_i.h"
#include "util/err_i.h"

int imgfs_desc_alloc_layers(struct imgfs_json *c, struct imgfs_image_desc *d, size_t n)
{
	d->n_layers = n;
	if (n == 0)
		return 0;
	d->layers = calloc(n, sizeof(*d->layers));
	if (!d->layers) {
		d->n_layers = 0;
		return imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		d->layers[i].size = -1;
	return 0;
}

/* Maps the config's history onto D's layers: the k-th entry that is not
 * empty_layer describes layer k.  History is informative only, and many
 * builders write it short, long or not at all, so nothing here fails but
 * the machine. */
struct history {
	struct imgfs_image_desc *d;
	size_t k;               /* the layer the next entry describes */
};

/* One object of the history array: skipped when empty_layer is true,
 * otherwise its created_by, or its comment when created_by is absent or
 * empty (if a usable string), goes to layer K. */
static int history_entry(struct imgfs_json *c, const char *obj, void *arg)
{
	struct history *h = arg;
	struct imgfs_jv v = { 0 };
	bool empty;
	int rc;

	rc = imgfs_json_get(c, obj, "$.empty_layer", &v);
	if (rc < 0)
		return rc;
	empty = v.t == IMGFS_JT_TRUE;
	imgfs_jv_clear(&v);
	if (empty)
		return 0;
	/* buildah's `commit` and `docker import` leave created_by empty and
	 * say what made the layer in comment: better than nothing */
	for (int k = 0; k < 2 && !h->d->layers[h->k].created_by; k++) {
		rc = imgfs_json_get(c, obj, k ? "$.comment" : "$.created_by", &v);
		if (rc < 0)
			return rc;
		if (v.t == IMGFS_JT_TEXT && !v.nul && v.s[0]) {
			h->d->layers[h->k].created_by = v.s;
			v.s = NULL;
		}
		imgfs_jv_clear(&v);
	}
	h->k++;
	return h->k < h->d->n_layers ? 0 : 1;
}

static int config_history(struct imgfs_json *c, const char *cfg, struct imgfs_image_desc *d)
{
	struct history hist = { .d = d };
	struct imgfs_jv h = { 0 };
	int rc;

	rc = imgfs_json_get(c, cfg, "$.history", &h);
	if (rc < 0 || h.t != IMGFS_JT_ARRAY || d->n_layers == 0)
		goto out;
	rc = imgfs_json_each_object(c, h.s, history_entry, &hist);
out:
	imgfs_jv_clear(&h);
	return rc;
}

/* The fields of the config's "config" object people check before they ship
 * an image (who it runs as, what it runs, what it exposes), in this order,
 * as one JSON object: each value as the config has it (json_each gives text
 * unquoted and true as 1, hence the CASE).  Absent fields are left out. */
static const char fields_sql[] =
	"WITH k(n, key) AS (VALUES (1, 'User'), (2, 'WorkingDir'), (3, 'Entrypoint'), (4, 'Cmd'),"
	" (5, 'Env'), (6, 'ExposedPorts'), (7, 'Labels'))"
	" SELECT json_group_object(key, json(v)) FROM (SELECT k.key AS key, CASE e.type"
	" WHEN 'text' THEN json_quote(e.value) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'"
	" WHEN 'null' THEN 'null' ELSE e.value END AS v FROM k"
	" JOIN json_each(?1, '$.config') e ON e.key = k.key ORDER BY k.n)";

static int config_fields(struct imgfs_json *c, const char *cfg, struct imgfs_image_desc *d)
{
	sqlite3_stmt *q = NULL;
	int rc = 0;

	if (sqlite3_prepare_v2(c->db, fields_sql, -1, &q, NULL) != SQLITE_OK)
		return imgfs_errf(c->err, -EIO, 0, "config: %s", sqlite3_errmsg(c->db));
	sqlite3_bind_text(q, 1, cfg, -1, SQLITE_STATIC);
	/* an aggregate: one row, "{}" when "config" is absent or no object */
	if (sqlite3_step(q) != SQLITE_ROW || !sqlite3_column_text(q, 0))
		rc = imgfs_errf(c->err, -EIO, 0, "config: %s", sqlite3_errmsg(c->db));
	else if (!(d->config_fields = strdup((const char *)sqlite3_column_text(q, 0))))
		rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
	sqlite3_finalize(q);
	return rc;
}

/* Checks the image config CFG (member NAME) against D's layers: rootfs.type
 * "layers" and one diff_id per layer; fills diff_id and created_by.  SOURCE
 * names where the layer count came from, for the message. */
int imgfs_config_apply(struct imgfs_json *c, const char *name, const char *cfg, const char *source,
			struct imgfs_image_desc *d)
{
	struct imgfs_jv v = { 0 }, rootfs = { 0 }, *ids = NULL;
	size_t n_ids = 0;
	int rc;

	rc = imgfs_json_get_expect(c, cfg, "$", &v, IMGFS_JT_OBJECT, name, "the image config");
	if (rc < 0)
		goto out;
	rc = imgfs_json_get_expect(c, cfg, "$.rootfs", &rootfs, IMGFS_JT_OBJECT, name, "rootfs");
	if (rc < 0)
		goto out;
	imgfs_jv_clear(&v);
	rc = imgfs_json_get_expect(c, rootfs.s, "$.type", &v, IMGFS_JT_TEXT, name, "rootfs.type");
	if (rc < 0)
		goto out;
	if (strcmp(v.s, "layers")) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: rootfs.type is \"%s\", expected \"layers\"",
				name, v.s);
		goto out;
	}
	imgfs_jv_clear(&v);
	rc = imgfs_json_get_expect(c, rootfs.s, "$.diff_ids", &v, IMGFS_JT_ARRAY, name, "rootfs.diff_ids");
	if (rc < 0)
		goto out;
	rc = imgfs_json_each(c, v.s, "$", IMGFS_LAYERS_MAX, &ids, &n_ids);
	if (rc == -E2BIG)
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: more than %d rootfs.diff_ids", name,
				IMGFS_LAYERS_MAX);
	if (rc < 0)
		goto out;
	if (n_ids != d->n_layers) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: %zu layers in %s but %zu rootfs.diff_ids",
				name, d->n_layers, source, n_ids);
		goto out;
	}
	for (size_t i = 0; i < n_ids; i++) {
		char what[64];

		snprintf(what, sizeof(what), "rootfs.diff_ids[%zu]", i);
		rc = imgfs_json_expect(c, &ids[i], IMGFS_JT_TEXT, name, what);
		if (rc < 0)
			goto out;
		if (!imgfs_digest_ok(ids[i].s)) {
			rc = imgfs_errf(c->err, -EINVAL, 1, "%s: %s \"%s\" is not a digest", name,
					what, ids[i].s);
			goto out;
		}
		d->layers[i].diff_id = ids[i].s;
		ids[i].s = NULL;
	}
	rc = config_history(c, cfg, d);
	if (rc == 0 && !(d->config_path = strdup(name)))
		rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
	if (rc == 0)
		rc = config_fields(c, cfg, d);
out:
	imgfs_jvs_free(ids, n_ids);
	imgfs_jv_clear(&rootfs);
	imgfs_jv_clear(&v);
	return rc;
}
