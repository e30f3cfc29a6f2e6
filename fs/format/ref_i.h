/* How images and blobs are named: digests, blob paths, image references
 * as --image gives them, and the lists of names error messages offer. */
#ifndef IMGFS_REF_I_H
#define IMGFS_REF_I_H

#include <stdbool.h>
#include <stddef.h>

/* Digests name blob paths, so they are checked strictly: "alg:hex" with a
 * lower-case algorithm and lower-case hex (64 digits for sha256, 128 for
 * sha512); nothing that could hold '/' or "..". */
bool imgfs_digest_ok(const char *d);

/* "blobs/<alg>/<encoded>" of a digest that passed imgfs_digest_ok(), as a
 * malloc'd string, or NULL when out of memory. */
char *imgfs_blob_path(const char *digest);

/* Start of the first run of exactly 64 lower-case hex digits in S, or NULL. */
const char *imgfs_find_hex64(const char *s);

/* Sets *DIGEST to a malloc'd "sha256:<hex>" when PATH is
 * "blobs/sha256/<hex>": only then is the member named by the digest of its
 * stored bytes; to NULL otherwise.  Returns 0 or -ENOMEM: out of memory
 * must not pass for "digest unknown". */
int imgfs_blob_digest(const char *path, char **digest);

/* --image may name a digest by a prefix of its hex digits, with or without
 * "sha256:", as docker's short image IDs do; 12 digits is their length.
 * Fewer would often name several images, and short hex words ("cafe",
 * "beef") must stay names. */
#define IMGFS_DIGEST_PREFIX_MIN 12

/* Whether WANT has the form of a digest or digest prefix: "alg:" and
 * IMGFS_DIGEST_PREFIX_MIN or more lower-case hex digits, or the digits
 * alone. */
bool imgfs_digest_want(const char *want);

/* Whether the digest D (one that passed imgfs_digest_ok()) begins as WANT
 * (one that passed imgfs_digest_want()) says: same algorithm if WANT names
 * one, and WANT's hex digits first. */
bool imgfs_digest_prefix(const char *d, const char *want);

/* D cut to the fewest hex digits, at least IMGFS_DIGEST_PREFIX_MIN, that
 * no other digest of ALL[0..N) begins with (entries of ALL that are no
 * digests are ignored): the form error messages offer to --image, which
 * then names D alone.  Malloc'd; NULL when out of memory. */
char *imgfs_digest_short(const char *d, const char *const *all, size_t n);

/* Whether the stored name STORED means the user's WANT.  Returns 1, 0, or
 * -ENOMEM. */
int imgfs_ref_match(const char *stored, const char *want);

/* Appends S to the malloc'd list *BUF (", "-separated), stopping with "..."
 * once the list is long enough for one message line.  Returns 0 or
 * -ENOMEM (*BUF then unchanged). */
int imgfs_names_add(char **buf, const char *s);

#endif
