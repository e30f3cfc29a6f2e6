/* This file contains the guards on what hostile input can make the build
 * write: the decompression-bomb ratio and the free-disk margin, shared by
 * the outer-tar spool, the layer reader and the content cache. */
#include "util/guard_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "util/err_i.h"

int imgfs_bomb_check(const char *what, uint64_t out, uint64_t in, uint64_t ratio,
		     struct imgfs_err *err)
{
	if (!ratio)
		ratio = IMGFS_BOMB_RATIO;
	if (out > IMGFS_BOMB_MIN && in > 0 && out / in > ratio)
		return imgfs_errf(err, -EFBIG, 1,
				  "%s: decompresses to over %llu times its size (%llu bytes from %llu): "
				  "refusing a decompression bomb (IMGFS_MAX_RATIO overrides)",
				  what, (unsigned long long)ratio, (unsigned long long)out,
				  (unsigned long long)in);
	return 0;
}

int imgfs_space_check(const char *path, uint64_t add, struct imgfs_err *err)
{
	/* Checking statvfs on every write would cost; once per 64 MiB is
	 * enough to stop well before the margin is eaten. */
	static __thread uint64_t since;
	struct statvfs sv;
	char dir[4096];
	char *slash;

	since += add;
	if (since < (64u << 20))
		return 0;
	since = 0;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	if (statvfs(slash ? dir : ".", &sv) != 0)
		return 0;
	if ((uint64_t)sv.f_bavail * sv.f_frsize < IMGFS_DISK_MARGIN)
		return imgfs_errf(err, -ENOSPC, 0,
				  "%s: less than %llu MiB of disk left; stopped before filling it",
				  path, IMGFS_DISK_MARGIN >> 20);
	return 0;
}

int imgfs_body_append(char **body, size_t *len, size_t max, const void *p, size_t n)
{
	char *b;

	if (n > max || *len > max - n)
		return -EFBIG;
	b = realloc(*body, *len + n + 1);
	if (!b)
		return -ENOMEM;
	memcpy(b + *len, p, n);
	*len += n;
	b[*len] = '\0';
	*body = b;
	return 0;
}
