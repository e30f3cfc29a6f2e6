/* How images and blobs are named: digests, blob paths, image references
 * as --image gives them, and the lists of names error messages offer. */
#ifndef IMGFS_REF_I_H
#define IMGFS_REF_I_H

#include <stdbool.h>

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

/* Whether the stored name STORED means the user's WANT.  Returns 1, 0, or
 * -ENOMEM. */
int imgfs_ref_match(const char *stored, const char *want);

/* Appends S to the malloc'd list *BUF (", "-separated), stopping with "..."
 * once the list is long enough for one message line.  Returns 0 or
 * -ENOMEM (*BUF then unchanged). */
int imgfs_names_add(char **buf, const char *s);

#endif
