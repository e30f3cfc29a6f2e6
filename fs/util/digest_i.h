/* Content digests of image blobs ("sha256:<hex>"), computed with nettle. */
#ifndef IMGFS_DIGEST_I_H
#define IMGFS_DIGEST_I_H

#include <nettle/nettle-meta.h>
#include <nettle/sha2.h>
#include <stddef.h>
#include <stdint.h>

/* "sha512:" and 128 hex digits, the longest digest computed, and a NUL. */
#define IMGFS_DIGEST_TEXT_MAX (7 + 2 * SHA512_DIGEST_SIZE + 1)

/* One digest being computed and the value it must come to. */
struct imgfs_digest {
	const struct nettle_hash *alg;  /* nettle_sha256 or nettle_sha512 */
	union {
		struct sha256_ctx sha256;
		struct sha512_ctx sha512;
	} ctx;
	unsigned char want[SHA512_DIGEST_SIZE];
	uint64_t bytes;                 /* fed so far */
};

/* Starts D for content that must hash to EXPECTED ("sha256:" and 64
 * lower-case hex digits, or "sha512:" and 128).  Returns 0, -EINVAL when
 * EXPECTED is no such digest, -ENOTSUP for another algorithm (OCI allows
 * others; none is in use). */
int imgfs_digest_begin(struct imgfs_digest *d, const char *expected);
void imgfs_digest_update(struct imgfs_digest *d, const void *p, size_t len);
/* Finishes D: writes what the content hashed to, as "alg:hex", into OUT
 * (IMGFS_DIGEST_TEXT_MAX bytes; may be NULL) and returns 1 when it is the
 * expected digest, 0 when not.  D must be begun again before reuse. */
int imgfs_digest_end(struct imgfs_digest *d, char *out, size_t len);

#endif
