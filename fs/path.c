/* This file contains path normalisation for layer entries and archive
 * members, and the fingerprint hash. */
#include "path_i.h"

#include <errno.h>
#include <string.h>

int imgfs_path_normalize(const char *in, char *out, size_t outlen)
{
	size_t o = 0;
	const char *p = in;

	if (outlen > IMGFS_PATH_MAX)
		outlen = IMGFS_PATH_MAX;
	if (outlen == 0)
		return -ENAMETOOLONG;
	while (*p) {
		const char *c;
		size_t n;

		while (*p == '/')
			p++;
		c = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - c);
		if (n == 0 || (n == 1 && c[0] == '.'))
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return -EINVAL;
		if (o + (o ? 1 : 0) + n + 1 > outlen)
			return -ENAMETOOLONG;
		if (o)
			out[o++] = '/';
		memcpy(out + o, c, n);
		o += n;
	}
	out[o] = '\0';
	return 0;
}

void imgfs_path_split(char *path, const char **dir, const char **base)
{
	char *slash = strrchr(path, '/');

	if (!slash) {
		*dir = "";
		*base = path;
		return;
	}
	*slash = '\0';
	*dir = path;
	*base = slash + 1;
}

int imgfs_path_join_link(const char *name, const char *target, int is_hardlink,
			 char *out, size_t outlen)
{
	/* Lexical resolution with a stack of component ends in OUT. */
	char buf[IMGFS_PATH_MAX * 2 + 2];
	size_t o = 0;
	const char *p;

	buf[0] = '\0';
	if (!is_hardlink && target[0] != '/') {
		const char *slash = strrchr(name, '/');
		size_t n = slash ? (size_t)(slash - name) : 0;

		if (n >= IMGFS_PATH_MAX)
			return -ENAMETOOLONG;
		memcpy(buf, name, n);
		buf[n] = '/';
		buf[n + 1] = '\0';
	}
	if (strlen(target) >= IMGFS_PATH_MAX)
		return -ENAMETOOLONG;
	strcat(buf, target);

	if (outlen == 0)
		return -ENAMETOOLONG;
	out[0] = '\0';
	p = buf;
	while (*p) {
		const char *c;
		size_t n;

		while (*p == '/')
			p++;
		c = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - c);
		if (n == 0 || (n == 1 && c[0] == '.'))
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			char *s;

			if (o == 0)
				return -EINVAL; /* climbs out of the archive */
			s = strrchr(out, '/');
			o = s ? (size_t)(s - out) : 0;
			out[o] = '\0';
			continue;
		}
		if (o + 1 + n + 1 > outlen)
			return -ENAMETOOLONG;
		if (o)
			out[o++] = '/';
		memcpy(out + o, c, n);
		o += n;
		out[o] = '\0';
	}
	return 0;
}

uint64_t imgfs_fnv64(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}
