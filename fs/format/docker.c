/* This file contains the docker-archive parser: manifest.json as docker,
 * podman, containerd and go-containerregistry write it, the choice of one
 * image by RepoTag or ID, and the answer for the pre-1.10 format. */
#include "format/docker_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/config_i.h"
#include "format/ref_i.h"
#include "util/err_i.h"

/* Sanity limits, low enough that a crafted archive cannot make us allocate
 * without bound: images in one manifest.json, and tags of one image (a
 * "docker save" of every tag of a repository stays far below). */
static const size_t images_max = 4096;
static const size_t tags_max = 4096;

struct dimage {
	char *config;          /* member name */
	struct imgfs_jv *layers; /* strings, checked */
	size_t n_layers;
	struct imgfs_jv *tags;   /* strings, checked */
	size_t n_tags;
};

static void dimages_free(struct dimage *im, size_t n)
{
	for (size_t i = 0; im && i < n; i++) {
		free(im[i].config);
		imgfs_jvs_free(im[i].layers, im[i].n_layers);
		imgfs_jvs_free(im[i].tags, im[i].n_tags);
	}
	free(im);
}

/* Reads and type-checks item I (the JSON object OBJ) of manifest.json. */
static int dimage_load(struct imgfs_json *c, size_t i, const char *obj, struct dimage *im)
{
	static const char mf[] = "manifest.json";
	struct imgfs_jv v = { 0 };
	char what[64];
	int rc;

	rc = imgfs_json_get(c, obj, "$.Config", &v);
	if (rc < 0)
		goto out;
	snprintf(what, sizeof(what), "Config of image %zu", i);
	rc = imgfs_json_expect(c, &v, IMGFS_JT_TEXT, mf, what);
	if (rc < 0)
		goto out;
	im->config = v.s;
	v.s = NULL;
	imgfs_jv_clear(&v);

	rc = imgfs_json_get(c, obj, "$.Layers", &v);
	if (rc < 0)
		goto out;
	snprintf(what, sizeof(what), "Layers of image %zu", i);
	rc = imgfs_json_expect(c, &v, IMGFS_JT_ARRAY, mf, what);
	if (rc < 0)
		goto out;
	rc = imgfs_json_each(c, v.s, "$", IMGFS_LAYERS_MAX, &im->layers, &im->n_layers);
	if (rc == -E2BIG)
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: image %zu has more than %d layers", mf, i,
				IMGFS_LAYERS_MAX);
	if (rc < 0)
		goto out;
	for (size_t k = 0; k < im->n_layers; k++) {
		snprintf(what, sizeof(what), "Layers[%zu] of image %zu", k, i);
		rc = imgfs_json_expect(c, &im->layers[k], IMGFS_JT_TEXT, mf, what);
		if (rc < 0)
			goto out;
	}
	imgfs_jv_clear(&v);

	/* RepoTags is null for images saved by ID, and absent in some
	 * hand-made archives. */
	rc = imgfs_json_get(c, obj, "$.RepoTags", &v);
	if (rc < 0 || v.t == IMGFS_JT_MISSING || v.t == IMGFS_JT_NULL)
		goto out;
	snprintf(what, sizeof(what), "RepoTags of image %zu", i);
	rc = imgfs_json_expect(c, &v, IMGFS_JT_ARRAY, mf, what);
	if (rc < 0)
		goto out;
	rc = imgfs_json_each(c, v.s, "$", tags_max, &im->tags, &im->n_tags);
	if (rc == -E2BIG)
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: image %zu has more than %zu RepoTags", mf,
				i, tags_max);
	if (rc < 0)
		goto out;
	for (size_t k = 0; k < im->n_tags; k++) {
		snprintf(what, sizeof(what), "RepoTags[%zu] of image %zu", k, i);
		rc = imgfs_json_expect(c, &im->tags[k], IMGFS_JT_TEXT, mf, what);
		if (rc < 0)
			goto out;
	}
out:
	imgfs_jv_clear(&v);
	return rc;
}

/* "sha256:<hex>" when the config member's name holds the image ID (all
 * writers name it so), else the member name itself. */
static char *config_digest_of(const char *member)
{
	const char *h = imgfs_find_hex64(member);
	char *d;

	if (!h)
		return strdup(member);
	if (asprintf(&d, "sha256:%.64s", h) < 0)
		return NULL;
	return d;
}

/* Whether image IM answers to WANT: one of its tags, or its image ID.
 * Sets *TAG to the matching tag (borrowed) or NULL. */
static int dimage_match(const struct dimage *im, const char *want, const char **tag)
{
	char *id;
	int m = 0;

	*tag = NULL;
	for (size_t k = 0; k < im->n_tags; k++) {
		m = imgfs_ref_match(im->tags[k].s, want);
		if (m < 0)
			return m;
		if (m) {
			*tag = im->tags[k].s;
			return 1;
		}
	}
	id = config_digest_of(im->config);
	if (!id)
		return -ENOMEM;
	m = !strcmp(id, want) || !strcmp(im->config, want) ||
	    (!strncmp(id, "sha256:", 7) && !strcmp(id + 7, want));
	free(id);
	return m;
}

/* The names of all images, for messages: their tags, or the image ID of
 * an untagged one (which --image also accepts). */
static int dimage_names(const struct dimage *im, size_t n, char **list)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		if (im[i].n_tags == 0) {
			char *id = config_digest_of(im[i].config);

			rc = id ? imgfs_names_add(list, id) : -ENOMEM;
			free(id);
			continue;
		}
		for (size_t k = 0; k < im[i].n_tags && rc == 0; k++)
			rc = imgfs_names_add(list, im[i].tags[k].s);
	}
	return rc;
}

/* The image whose ID WANT gives a prefix of (see imgfs_digest_want()), as
 * docker's short IDs do.  Returns 1 with *PICK set, 0 when no ID fits, or
 * a negative errno with C's message set: -EINVAL when several do. */
static int dimage_by_id(struct imgfs_json *c, const struct dimage *im, size_t n,
			const char *want, size_t *pick)
{
	char **ids;
	char *list = NULL;
	size_t hits = 0;
	int rc = 0;

	ids = calloc(n, sizeof(*ids));
	if (!ids)
		return imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
	for (size_t i = 0; i < n && rc == 0; i++)
		if (!(ids[i] = config_digest_of(im[i].config)))
			rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
	/* One image saved twice (two entries, one config) is one image. */
	for (size_t i = 0; i < n && rc == 0; i++) {
		bool again = false;

		for (size_t k = 0; k < i && !again; k++)
			again = !strcmp(ids[k], ids[i]);
		if (again || !imgfs_digest_ok(ids[i]) || !imgfs_digest_prefix(ids[i], want))
			continue;
		if (hits++ == 0)
			*pick = i;
	}
	if (rc == 0 && hits > 1) {
		for (size_t i = 0; i < n && rc == 0; i++) {
			bool again = false;

			for (size_t k = 0; k < i && !again; k++)
				again = !strcmp(ids[k], ids[i]);
			if (!again && imgfs_digest_ok(ids[i]) && imgfs_digest_prefix(ids[i], want)) {
				char *s = imgfs_digest_short(ids[i], (const char *const *)ids, n);

				rc = s ? imgfs_names_add(&list, s) : -ENOMEM;
				free(s);
			}
		}
		if (rc < 0)
			rc = imgfs_errf(c->err, rc, 0, "out of memory");
		else
			rc = imgfs_errf(c->err, -EINVAL, 1,
					"manifest.json: --image %s fits %zu image IDs, give more of one: %s",
					want, hits, list);
	}
	if (rc == 0)
		rc = hits == 1;
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	free(list);
	return rc;
}

int imgfs_docker_parse(struct imgfs_json *c, struct imgfs_image_desc *d, const char *want_image)
{
	static const char mf[] = "manifest.json";
	struct imgfs_jv top = { 0 }, *items = NULL;
	struct dimage *im = NULL;
	size_t n = 0, pick = 0;
	const char *tag = NULL;
	char *doc = NULL, *cfg = NULL, *names = NULL;
	int rc;

	d->format = IMGFS_FMT_DOCKER_ARCHIVE;
	rc = imgfs_json_read(c, mf, &doc);
	if (rc == -ENOENT)
		rc = imgfs_errf(c->err, -EIO, 0, "%s: vanished while reading", mf);
	if (rc < 0)
		goto out;
	rc = imgfs_json_get(c, doc, "$", &top);
	if (rc < 0)
		goto out;
	if (top.t == IMGFS_JT_NULL) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: is null, expected an array of images", mf);
		goto out;
	}
	if (top.t != IMGFS_JT_ARRAY) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: is %s, expected an array of images", mf,
				imgfs_jt_desc(top.t));
		goto out;
	}
	rc = imgfs_json_each(c, doc, "$", images_max, &items, &n);
	if (rc == -E2BIG)
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: more than %zu images", mf, images_max);
	if (rc < 0)
		goto out;
	if (n == 0) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: holds no images", mf);
		goto out;
	}
	im = calloc(n, sizeof(*im));
	if (!im) {
		rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char what[32];

		snprintf(what, sizeof(what), "image %zu", i);
		rc = imgfs_json_expect(c, &items[i], IMGFS_JT_OBJECT, mf, what);
		if (rc < 0)
			goto out;
		rc = dimage_load(c, i, items[i].s, &im[i]);
		if (rc < 0)
			goto out;
	}

	if (want_image) {
		bool found = false;

		for (size_t i = 0; i < n && !found; i++) {
			rc = dimage_match(&im[i], want_image, &tag);
			if (rc < 0) {
				rc = imgfs_errf(c->err, rc, 0, "out of memory");
				goto out;
			}
			if (rc) {
				found = true;
				pick = i;
			}
		}
		rc = 0;
		if (!found && imgfs_digest_want(want_image)) {
			rc = dimage_by_id(c, im, n, want_image, &pick);
			if (rc < 0)
				goto out;
			found = rc == 1;
			rc = 0;
		}
		if (!found) {
			if (dimage_names(im, n, &names) < 0) {
				rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
				goto out;
			}
			rc = imgfs_errf(c->err, -EINVAL, 1, "%s: no image named %s; the archive holds: %s",
					mf, want_image, names);
			goto out;
		}
	} else if (n > 1) {
		if (dimage_names(im, n, &names) < 0) {
			rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
			goto out;
		}
		rc = imgfs_errf(c->err, -EINVAL, 1,
				"archive holds %zu images, choose one with --image: %s", n, names);
		goto out;
	}
	if (!tag && im[pick].n_tags)
		tag = im[pick].tags[0].s;
	if (tag && !(d->name = strdup(tag))) {
		rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
		goto out;
	}

	rc = imgfs_desc_alloc_layers(c, d, im[pick].n_layers);
	if (rc < 0)
		goto out;
	for (size_t k = 0; k < d->n_layers; k++) {
		struct imgfs_layer_desc *l = &d->layers[k];

		rc = c->r->exists(c->r->ctx, im[pick].layers[k].s);
		if (rc == -ENOENT)
			rc = imgfs_errf(c->err, -EINVAL, 1,
					"%s: listed in manifest.json but missing from the archive",
					im[pick].layers[k].s);
		else if (rc < 0)
			rc = imgfs_errf(c->err, rc, 0, "%s: %s", im[pick].layers[k].s, strerror(-rc));
		if (rc < 0)
			goto out;
		l->path = im[pick].layers[k].s;
		im[pick].layers[k].s = NULL;
		rc = imgfs_blob_digest(l->path, &l->digest);
		if (rc < 0) {
			rc = imgfs_errf(c->err, rc, 0, "out of memory");
			goto out;
		}
	}

	rc = imgfs_json_read(c, im[pick].config, &cfg);
	if (rc == -ENOENT)
		rc = imgfs_errf(c->err, -EINVAL, 1,
				"%s: listed in manifest.json but missing from the archive",
				im[pick].config);
	if (rc < 0)
		goto out;
	d->config_digest = config_digest_of(im[pick].config);
	if (!d->config_digest) {
		rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
		goto out;
	}
	rc = imgfs_config_apply(c, im[pick].config, cfg, mf, d);
out:
	free(names);
	free(cfg);
	dimages_free(im, n);
	imgfs_jvs_free(items, n);
	imgfs_jv_clear(&top);
	free(doc);
	return rc;
}

int imgfs_docker_legacy(struct imgfs_err *err)
{
	return imgfs_errf(err, -ENOTSUP, 1,
			  "pre-1.10 docker-archive (repositories without manifest.json) is not "
			  "supported; re-save it with a current docker or skopeo");
}
