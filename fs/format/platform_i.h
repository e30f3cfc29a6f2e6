/* Platforms as images and --platform name them ("linux/arm64/v8"): parsed,
 * compared the way containerd normalises them, and the host's own. */
#ifndef IMGFS_PLATFORM_I_H
#define IMGFS_PLATFORM_I_H

#include <stdbool.h>
#include <stddef.h>

struct imgfs_platform {
	char *os, *arch, *variant;   /* malloc'd, NULL when unknown */
};

/* Frees P's strings and zeroes P. */
void imgfs_platform_free(struct imgfs_platform *p);

/* Whether HAVE satisfies WANT; a WANT without variant takes any variant. */
bool imgfs_platform_match(const struct imgfs_platform *have, const struct imgfs_platform *want);

/* "os/arch[/variant]" into P.  Returns 0, -EINVAL or -ENOMEM (P then
 * empty). */
int imgfs_platform_parse(const char *s, struct imgfs_platform *p);

/* "linux/arm64/v8" or "unknown platform" into a malloc'd string; NULL when
 * out of memory. */
char *imgfs_platform_str(const struct imgfs_platform *p);

/* The host's platform as "linux/amd64", "linux/arm64", "linux/arm/v7"...
 * into BUF.  Exposed for tests. */
void imgfs_host_platform(char *buf, size_t len);

#endif
