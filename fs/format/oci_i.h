/* OCI image layouts: index.json, nested image indexes, image manifests,
 * and the choice of one manifest by name and platform. */
#ifndef IMGFS_OCI_I_H
#define IMGFS_OCI_I_H

#include "format/image_i.h"
#include "format/json_i.h"

/* Fills D from index.json, the chosen image manifest and its config.
 * WANT_IMAGE (--image) and WANT_PLATFORM (--platform) may be NULL.
 * Returns 0 or a negative errno with C's message set; D may be partly
 * filled on error (the caller frees it). */
int imgfs_oci_parse(struct imgfs_json *c, struct imgfs_image_desc *d, const char *want_image,
		    const char *want_platform);

#endif
