/* Images of a registry (docker://HOST[:PORT]/REPO[:TAG|@DIGEST]) over the
 * OCI distribution API: the manifest digest (the identity an index is
 * reused by) and the image's blobs, digest-checked, written as an
 * oci-archive tar that the build then reads like any other. */
#ifndef IMGFS_REGISTRY_I_H
#define IMGFS_REGISTRY_I_H

#include <stddef.h>

#include "imgfs/imgfs.h"

/* Sanity limits: a reference, a manifest or index (the spec's own advice
 * is 4 MiB), a token answer, the layers of one image (docker's limit on
 * layers is 127; OCI sets none). */
#define IMGFS_REGISTRY_REF_MAX 1024
#define IMGFS_REGISTRY_MANIFEST_MAX (4u << 20)
#define IMGFS_REGISTRY_LAYERS_MAX 1000

/* 1 when IMAGE is "docker://...". */
int imgfs_registry_is_ref(const char *image);

/* The digest of the manifest O->image names (one HEAD) into DIGEST.
 * Returns 0 or a negative errno with ERR set. */
int imgfs_registry_digest(const struct imgfs_opts *o, char *digest, size_t len,
			  struct imgfs_err *err);

/* Writes the image O->image (the manifest of O->platform, or the host's,
 * when it is an index) as an oci-archive tar into the new file SPOOL,
 * checking every blob against its digest.  Returns 0 or a negative errno
 * with ERR set. */
int imgfs_registry_save(const struct imgfs_opts *o, const char *spool, struct imgfs_err *err);

#endif
