/* docker-archive images: "docker save" / "podman save" manifest.json, and
 * the pre-1.10 "repositories" format it replaced. */
#ifndef IMGFS_DOCKER_I_H
#define IMGFS_DOCKER_I_H

#include "format/image_i.h"
#include "format/json_i.h"

/* Fills D from manifest.json and the chosen image's config.  WANT_IMAGE
 * (--image, may be NULL) is a RepoTag or the image ID.  Returns 0 or a
 * negative errno with C's message set; D may be partly filled on error
 * (the caller frees it). */
int imgfs_docker_parse(struct imgfs_json *c, struct imgfs_image_desc *d, const char *want_image);

/* The answer for an archive with "repositories" but no manifest.json:
 * -ENOTSUP with the message on ERR. */
int imgfs_docker_legacy(struct imgfs_err *err);

#endif
