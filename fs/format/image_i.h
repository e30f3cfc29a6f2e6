/* The image description the manifest parsers fill in, and the member
 * reader they read the archive through: the types shared by the dispatch
 * (manifest.c) and the format parsers (docker.c, oci.c). */
#ifndef IMGFS_IMAGE_I_H
#define IMGFS_IMAGE_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imgfs/imgfs.h"

/* Sanity limits: small JSON documents; a crafted archive must not make us
 * read gigabytes into memory or recurse without end. */
#define IMGFS_JSON_MAX (16u << 20)     /* manifest.json, index.json, configs */
#define IMGFS_INDEX_DEPTH_MAX 8        /* nested image indexes */
#define IMGFS_LAYERS_MAX 4096          /* layers of one image */

/* How the manifest parser reads archive members.  NAME is a path inside the
 * archive or layout directory; member symlinks and hardlinks are resolved by
 * the reader.  read() returns 0 and a malloc'd *DATA (NUL-terminated, *LEN
 * without the NUL), -ENOENT if there is no such member, -EFBIG if it is
 * larger than MAX.  exists() returns 0 or -ENOENT. */
struct imgfs_member_reader {
	void *ctx;
	int (*read)(void *ctx, const char *name, size_t max, char **data, size_t *len);
	int (*exists)(void *ctx, const char *name);
	/* The image file or directory, put before input-error messages so
	 * that they name it ("IMAGE: manifest.json: ..."); NULL: not. */
	const char *image;
};

enum imgfs_format {
	IMGFS_FMT_DOCKER_ARCHIVE = 1, /* manifest.json (classic, Docker 25+, containerd, ggcr) */
	IMGFS_FMT_OCI = 2,            /* oci-layout + index.json, no manifest.json */
	IMGFS_FMT_ROOTFS = 3,         /* a plain filesystem tar: one layer */
};

struct imgfs_layer_desc {
	char *path;        /* member path of the layer blob, e.g. "abc/layer.tar" or "blobs/sha256/<hex>" */
	char *digest;      /* "sha256:<hex>" of the stored blob, or NULL when unknown */
	char *diff_id;     /* "sha256:<hex>" from rootfs.diff_ids, or NULL */
	char *media_type;  /* descriptor media type, or NULL (docker-archive) */
	char *created_by;  /* history created_by matched to this layer, or NULL */
	int64_t size;      /* descriptor size, or -1 */
	bool estargz;      /* descriptor carries containerd.io/snapshot/stargz/toc.digest */
};

struct imgfs_image_desc {
	enum imgfs_format format;
	char *name;             /* chosen RepoTag / ref name, or NULL */
	char *config_digest;    /* "sha256:<hex>" or the config member name; NULL for rootfs */
	char *manifest_digest;  /* OCI manifest digest, or NULL */
	char *config_path;      /* the config's member path; NULL for rootfs */
	char *config_fields;    /* JSON object of the config fields users check
				 * (User, Entrypoint, ...: IMGFS_CONFIG_FIELDS); NULL for rootfs */
	size_t n_layers;
	struct imgfs_layer_desc *layers;  /* base first */
};

#endif
