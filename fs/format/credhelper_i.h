/* Docker credential helpers: `docker-credential-NAME get`, the program
 * that ~/.docker/config.json's "credsStore" and "credHelpers" name, run
 * as docker and skopeo run it (the server on standard input, JSON out). */
#ifndef IMGFS_CREDHELPER_H
#define IMGFS_CREDHELPER_H

#include <stddef.h>

#include "imgfs/imgfs.h"

/* Sanity limits: a helper's answer read whole ({"ServerURL", "Username",
 * "Secret"}: a token is a few KiB), and a helper's name (it becomes part
 * of a program name looked up on PATH). */
#define IMGFS_CREDHELPER_OUT_MAX (64u << 10)
#define IMGFS_CREDHELPER_NAME_MAX 64

/* Runs docker-credential-NAME get with SERVER on its standard input and
 * puts "USER:SECRET" into OUT (LEN bytes).  REF names the image in
 * messages.  Returns 1 with OUT set, 0 when the helper has no credentials
 * for SERVER (its "credentials not found" answer), or a negative errno
 * with ERR set (input: a helper that is missing, fails or answers no
 * JSON).  The helper's standard error is ours: it may ask something. */
int imgfs_credhelper_get(const char *ref, const char *name, const char *server, char *out,
			 size_t len, struct imgfs_err *err);

#endif
