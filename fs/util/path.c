/* This file contains path normalisation for layer entries and archive
 * members, and the fingerprint hash. */
#include "util/path_i.h"

#include <errno.h>
#include <string.h>

/* Copies the components of IN to OUT joined by single '/', dropping empty
 * and "." ones.  A ".." is refused (-EINVAL) unless RESOLVE, then it takes
 * back the last component, and refused still when there is none: nothing
 * climbs above the root. */
static int walk(const char *in, char *out, size_t outlen, int resolve)
{
	size_t o = 0;
	const char *p = in;

	if (outlen > IMGFS_PATH_MAX)
		outlen = IMGFS_PATH_MAX;
	if (outlen == 0)
		return -ENAMETOOLONG;
	out[0] = '\0';
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

			if (!resolve || o == 0)
				return -EINVAL;
			s = strrchr(out, '/');
			o = s ? (size_t)(s - out) : 0;
			out[o] = '\0';
			continue;
		}
		if (o + (o ? 1 : 0) + n + 1 > outlen)
			return -ENAMETOOLONG;
		if (o)
			out[o++] = '/';
		memcpy(out + o, c, n);
		o += n;
		out[o] = '\0';
	}
	return 0;
}

int imgfs_path_normalize(const char *in, char *out, size_t outlen)
{
	return walk(in, out, outlen, 0);
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
	/* Lexical resolution of the member's directory and TARGET joined. */
	char buf[IMGFS_PATH_MAX * 2 + 2];

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

	return walk(buf, out, outlen, 1);
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
