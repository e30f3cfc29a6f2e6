/* Images of a local Docker Engine or podman, over the Engine API on a unix
 * socket: the image ID (the identity an index is reused by) and the image
 * as `docker save` writes it (a docker-archive tar). */
#ifndef IMGFS_DAEMON_I_H
#define IMGFS_DAEMON_I_H

#include <stddef.h>

#include "imgfs/imgfs.h"

/* Sanity limits: an image name (docker's own limit on a reference is 255
 * for the repository, plus tag or digest), and the JSON answers and error
 * bodies we keep in memory (an inspect answer is a few KiB). */
#define IMGFS_DAEMON_NAME_MAX 512
#define IMGFS_DAEMON_BODY_MAX (4u << 20)

/* 1 when IMAGE is "docker-daemon:NAME[:TAG]" or "podman:NAME[:TAG]". */
int imgfs_daemon_is_ref(const char *image);

/* The image ID ("sha256:...") of REF into ID, and the socket asked into
 * SOCK.  Returns 0 or a negative errno with ERR set (input when the engine
 * is not there or lacks the image). */
int imgfs_daemon_image_id(const char *ref, char *id, size_t id_len, char *sock, size_t sock_len,
			  struct imgfs_err *err);

/* Writes the image REF as a docker-archive tar into the new file SPOOL.
 * Returns 0 or a negative errno with ERR set. */
int imgfs_daemon_save(const char *ref, const char *spool, struct imgfs_err *err);

#endif
