/* This file contains the image-description parser's entry point: it tells
 * a docker-archive (manifest.json) from an OCI layout (index.json) and
 * hands the archive to that format's parser (docker.c, oci.c). */
#include "format/manifest_i.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/docker_i.h"
#include "format/json_i.h"
#include "format/oci_i.h"
#include "util/err_i.h"

void imgfs_image_desc_free(struct imgfs_image_desc *d)
{
	if (!d)
		return;
	for (size_t i = 0; d->layers && i < d->n_layers; i++) {
		struct imgfs_layer_desc *l = &d->layers[i];

		free(l->path);
		free(l->digest);
		free(l->diff_id);
		free(l->media_type);
		free(l->created_by);
	}
	free(d->layers);
	free(d->name);
	free(d->config_digest);
	free(d->manifest_digest);
	free(d->config_path);
	free(d->config_fields);
	memset(d, 0, sizeof(*d));
}

static int member_exists(struct imgfs_json *c, const char *name, bool *yes)
{
	int rc = c->r->exists(c->r->ctx, name);

	*yes = rc == 0;
	if (rc == -ENOENT || rc == 0)
		return 0;
	return imgfs_errf(c->err, rc, 0, "%s: %s", name, strerror(-rc));
}

/* Messages quote names and media types from the image: keep them one line
 * whatever bytes those hold. */
static void msg_one_line(struct imgfs_err *err)
{
	for (char *p = err->msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

/* Puts "IMAGE: " before ERR's message: a bad manifest.json must be told
 * apart from the same member of another image. */
static void prefix_image(struct imgfs_err *err, const char *image)
{
	char msg[sizeof(err->msg) * 2];
	size_t n = strlen(image);

	if (!strncmp(err->msg, image, n) && err->msg[n] == ':')
		return;
	snprintf(msg, sizeof(msg), "%s: %s", image, err->msg);
	msg[sizeof(err->msg) - 1] = '\0';
	memcpy(err->msg, msg, sizeof(err->msg));
}

int imgfs_manifest_parse(struct imgfs_image_desc *out, const struct imgfs_member_reader *r,
			 const char *want_image, const char *want_platform, struct imgfs_err *err)
{
	struct imgfs_image_desc d = { 0 };
	struct imgfs_json c;
	bool yes = false, fresh = err && !err->msg[0];
	int rc;

	assert(out && r && r->read && r->exists);
	memset(out, 0, sizeof(*out));
	rc = imgfs_json_open(&c, r, err);
	if (rc < 0)
		goto out;
	rc = member_exists(&c, "manifest.json", &yes);
	if (rc < 0)
		goto out;
	if (yes) {
		rc = imgfs_docker_parse(&c, &d, want_image);
		goto out;
	}
	rc = member_exists(&c, "index.json", &yes);
	if (rc < 0)
		goto out;
	if (yes) {
		rc = imgfs_oci_parse(&c, &d, want_image, want_platform);
		goto out;
	}
	rc = member_exists(&c, "repositories", &yes);
	if (rc < 0)
		goto out;
	if (yes)
		rc = imgfs_docker_legacy(err);
	else
		rc = -ENOMSG;
out:
	imgfs_json_close(&c);
	if (rc < 0 && fresh)
		msg_one_line(err);
	if (rc < 0 && fresh && err->input && r->image && err->msg[0])
		prefix_image(err, r->image);
	if (rc < 0)
		imgfs_image_desc_free(&d);
	else
		*out = d;
	return rc;
}
