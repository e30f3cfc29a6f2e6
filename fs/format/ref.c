/* This file contains how images and blobs are named: strict digests and
 * the blob paths they give, image references compared the way docker and
 * podman shorten them, and the name lists of error messages. */
#include "format/ref_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sanity limit: the length of one digest, well above sha512's 135
 * characters, so that a crafted descriptor cannot name an endless path. */
static const size_t digest_max = 200;
/* The list of names in an error message; the message line is 1024 bytes. */
static const size_t names_msg_max = 700;

static bool is_lhex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
}

/* Digests name blob paths, so they are checked strictly: "alg:hex" with a
 * lower-case algorithm and lower-case hex (64 digits for sha256, 128 for
 * sha512); nothing that could hold '/' or "..". */
bool imgfs_digest_ok(const char *d)
{
	const char *colon = strchr(d, ':');
	size_t alen, elen;

	if (!colon || strlen(d) > digest_max)
		return false;
	alen = colon - d;
	if (alen == 0)
		return false;
	for (const char *p = d; p < colon; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return false;
	elen = strlen(colon + 1);
	if (elen == 0)
		return false;
	for (const char *p = colon + 1; *p; p++)
		if (!is_lhex(*p))
			return false;
	if (alen == 6 && !strncmp(d, "sha256", 6) && elen != 64)
		return false;
	if (alen == 6 && !strncmp(d, "sha512", 6) && elen != 128)
		return false;
	return true;
}

/* "blobs/<alg>/<encoded>" of a digest that passed imgfs_digest_ok(). */
char *imgfs_blob_path(const char *digest)
{
	const char *colon = strchr(digest, ':');
	char *p;

	if (asprintf(&p, "blobs/%.*s/%s", (int)(colon - digest), digest, colon + 1) < 0)
		return NULL;
	return p;
}

/* Start of the first run of exactly 64 lower-case hex digits in S, or NULL. */
const char *imgfs_find_hex64(const char *s)
{
	const char *p = s;

	while (*p) {
		size_t n = 0;

		while (is_lhex(p[n]))
			n++;
		if (n == 64)
			return p;
		p += n ? n : 1;
	}
	return NULL;
}

/* "sha256:<hex>" when PATH is "blobs/sha256/<hex>": only then is the member
 * named by the digest of its stored bytes. */
int imgfs_blob_digest(const char *path, char **digest)
{
	*digest = NULL;
	if (!strncmp(path, "./", 2))
		path += 2;
	if (strncmp(path, "blobs/sha256/", 13) || strlen(path + 13) != 64 ||
	    imgfs_find_hex64(path + 13) != path + 13)
		return 0;
	if (asprintf(digest, "sha256:%s", path + 13) < 0) {
		*digest = NULL;
		return -ENOMEM;
	}
	return 0;
}

bool imgfs_digest_want(const char *want)
{
	const char *colon = strchr(want, ':');
	const char *hex = colon ? colon + 1 : want;
	size_t n = 0;

	if (strlen(want) > digest_max || (colon && colon == want))
		return false;
	for (const char *p = want; colon && p < colon; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return false;
	for (; hex[n]; n++)
		if (!is_lhex(hex[n]))
			return false;
	return n >= IMGFS_DIGEST_PREFIX_MIN;
}

bool imgfs_digest_prefix(const char *d, const char *want)
{
	const char *dhex = strchr(d, ':') + 1;
	const char *wcolon = strchr(want, ':');

	if (wcolon && (wcolon - want != dhex - 1 - d || strncmp(d, want, wcolon - want)))
		return false;
	want = wcolon ? wcolon + 1 : want;
	return !strncmp(dhex, want, strlen(want));
}

char *imgfs_digest_short(const char *d, const char *const *all, size_t n)
{
	const char *hex = strchr(d, ':') + 1;
	size_t keep = IMGFS_DIGEST_PREFIX_MIN;
	char *s;

	/* A prefix of K digits names D alone when every other digest
	 * differs from it within the first K: one more than the longest
	 * prefix shared, compared as bare hex since --image takes that too. */
	for (size_t i = 0; i < n; i++) {
		const char *o = strchr(all[i], ':');
		size_t k = 0;

		if (!o || !strcmp(all[i], d))
			continue;
		o++;
		while (hex[k] && hex[k] == o[k])
			k++;
		if (k + 1 > keep)
			keep = k + 1;
	}
	if (keep > strlen(hex))
		keep = strlen(hex);
	if (asprintf(&s, "%.*s%.*s", (int)(hex - d), d, (int)keep, hex) < 0)
		return NULL;
	return s;
}

/* Reduces an image reference to a comparable form: ":latest" added when
 * there is no tag or digest, and the registry prefixes that docker and
 * podman leave out of short names removed. */
static char *ref_norm(const char *ref)
{
	static const char *const prefixes[] = {
		"docker.io/library/", "index.docker.io/library/", "docker.io/",
		"index.docker.io/", "localhost/", NULL,
	};
	const char *slash = strrchr(ref, '/');
	const char *base = slash ? slash + 1 : ref;
	bool tagged = strchr(base, ':') || strchr(ref, '@');
	char *n;

	for (const char *const *p = prefixes; *p; p++) {
		size_t l = strlen(*p);

		if (!strncmp(ref, *p, l) && ref[l]) {
			ref += l;
			break;
		}
	}
	if (asprintf(&n, "%s%s", ref, tagged ? "" : ":latest") < 0)
		return NULL;
	return n;
}

/* Whether the stored name STORED means the user's WANT.  Returns 1, 0, or
 * -ENOMEM. */
int imgfs_ref_match(const char *stored, const char *want)
{
	char *a, *b;
	int m;

	if (!strcmp(stored, want))
		return 1;
	a = ref_norm(stored);
	b = ref_norm(want);
	m = (a && b) ? !strcmp(a, b) : -ENOMEM;
	free(a);
	free(b);
	return m;
}

/* Appends S to the malloc'd list *BUF (", "-separated), stopping with "..."
 * once the list is long enough for one message line. */
int imgfs_names_add(char **buf, const char *s)
{
	size_t have = *buf ? strlen(*buf) : 0;
	char *n;

	if (have >= names_msg_max)
		return 0;
	if (have + strlen(s) > names_msg_max)
		s = "...";
	if (asprintf(&n, "%s%s%s", *buf ? *buf : "", *buf ? ", " : "", s) < 0)
		return -ENOMEM;
	free(*buf);
	*buf = n;
	return 0;
}
