/* This file contains the digest checks of image blobs: parsing an OCI
 * digest, hashing content as it streams past, and the comparison.  The
 * hashes are nettle's: libarchive already links it, so no new library
 * enters the process, and its calls need no global set-up. */
#include "util/digest_i.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* upper case is refused: OCI digests are lower-case */
}

int imgfs_digest_begin(struct imgfs_digest *d, const char *expected)
{
	const char *hex;
	size_t i, n;

	memset(d, 0, sizeof(*d));
	if (!expected)
		return -EINVAL;
	if (!strncmp(expected, "sha256:", 7))
		d->alg = &nettle_sha256;
	else if (!strncmp(expected, "sha512:", 7))
		d->alg = &nettle_sha512;
	else
		return strchr(expected, ':') ? -ENOTSUP : -EINVAL;
	hex = expected + 7;
	n = d->alg->digest_size;
	if (strlen(hex) != 2 * n)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		d->want[i] = (unsigned char)(hi << 4 | lo);
	}
	d->alg->init(&d->ctx);
	return 0;
}

void imgfs_digest_update(struct imgfs_digest *d, const void *p, size_t len)
{
	d->alg->update(&d->ctx, len, p);
	d->bytes += len;
}

int imgfs_digest_end(struct imgfs_digest *d, char *out, size_t len)
{
	unsigned char got[SHA512_DIGEST_SIZE];
	size_t i, n = d->alg->digest_size;

	d->alg->digest(&d->ctx, n, got);
	if (out && len >= IMGFS_DIGEST_TEXT_MAX) {
		memcpy(out, d->alg == &nettle_sha256 ? "sha256:" : "sha512:", 7);
		for (i = 0; i < n; i++)
			snprintf(out + 7 + 2 * i, 3, "%02x", got[i]);
	} else if (out && len) {
		out[0] = '\0';
	}
	return memcmp(got, d->want, n) == 0;
}
