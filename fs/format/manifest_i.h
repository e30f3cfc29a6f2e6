/* Image descriptions: which layers, in which order, from manifest.json
 * (docker-archive), index.json (OCI layouts) and the image config. */
#ifndef IMGFS_MANIFEST_I_H
#define IMGFS_MANIFEST_I_H

#include <stddef.h>

#include "format/image_i.h"
#include "format/platform_i.h"
#include "imgfs/imgfs.h"

/* Parses the archive behind R into OUT.  WANT_IMAGE (--image) and
 * WANT_PLATFORM (--platform "os/arch[/variant]") may be NULL.
 * Returns 0; -ENOMSG when the archive holds neither manifest.json nor an
 * OCI layout nor a legacy "repositories" file (the caller then mounts it as a
 * plain rootfs tar; ERR untouched); otherwise a negative errno with a line
 * on ERR naming the member and the problem (ERR->input = 1 for bad input). */
int imgfs_manifest_parse(struct imgfs_image_desc *out, const struct imgfs_member_reader *r,
			 const char *want_image, const char *want_platform, struct imgfs_err *err);
void imgfs_image_desc_free(struct imgfs_image_desc *d);

/* imgfs_host_platform(), exposed for tests, is declared in platform_i.h. */

#endif
