/* The image config both formats end in: its rootfs.diff_ids checked
 * against the layer list, and its history matched to the layers. */
#ifndef IMGFS_CONFIG_I_H
#define IMGFS_CONFIG_I_H

#include <stddef.h>

#include "format/image_i.h"
#include "format/json_i.h"

/* Gives D N layers (zeroed, size -1).  Returns 0 or -ENOMEM with C's
 * message set. */
int imgfs_desc_alloc_layers(struct imgfs_json *c, struct imgfs_image_desc *d, size_t n);

/* Checks the image config CFG (member NAME) against D's layers: rootfs.type
 * "layers" and one diff_id per layer; fills diff_id and created_by, and
 * D's config_path (NAME) and config_fields.  SOURCE
 * names where the layer count came from, for the message.  Returns 0 or a
 * negative errno with C's message set. */
int imgfs_config_apply(struct imgfs_json *c, const char *name, const char *cfg,
		       const char *source, struct imgfs_image_desc *d);

#endif
