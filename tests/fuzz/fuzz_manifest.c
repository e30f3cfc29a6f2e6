/* This file contains the libFuzzer target over the manifest parser alone
 * (format/manifest_i.h): manifest.json, index.json, OCI manifests and image
 * configs, without a tar, an index or a disk.
 *
 * The input is a tiny container of archive members: records separated by
 * the byte 0x1e (ASCII record separator, never valid in JSON text), each
 * "NAME\nCONTENT".  A record named "--image" or "--platform" gives the
 * --image / --platform choice instead of a member.  scripts/fuzz makes the
 * seeds from the fixtures' manifest.json, index.json, blobs and configs
 * (tests/fuzz/seeds.py).
 *
 * Beyond "no crash, no leak", it checks what the parser promises: success
 * yields layers whose members exist; -ENOMSG only when there is neither
 * manifest.json nor index.json nor repositories; any other failure leaves
 * one line on the error naming the image when the input is to blame. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/manifest_i.h"
#include "util/path_i.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Members of one input: far more than any image has at its top level. */
#define MEMBERS_MAX 256
#define IMAGE "fuzz.tar"

struct member {
	char name[IMGFS_PATH_MAX];
	const uint8_t *data;
	size_t len;
};

struct members {
	struct member m[MEMBERS_MAX];
	size_t n;
	char *image, *platform;
};

/* The reader resolves names the way imgfs_source_member does for a tar:
 * normalised ("./manifest.json" is "manifest.json"); a name holding ".."
 * is not a member. */
static const struct member *find(const struct members *ms, const char *name)
{
	char norm[IMGFS_PATH_MAX];
	size_t i;

	if (imgfs_path_normalize(name, norm, sizeof(norm)) != 0)
		return NULL;
	/* the last of two same-named members wins, as in a tar */
	for (i = ms->n; i-- > 0;)
		if (!strcmp(ms->m[i].name, norm))
			return &ms->m[i];
	return NULL;
}

static int rd_read(void *ctx, const char *name, size_t max, char **data, size_t *len)
{
	const struct member *m = find(ctx, name);
	char *buf;

	if (!m)
		return -ENOENT;
	if (m->len > max)
		return -EFBIG;
	buf = malloc(m->len + 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, m->data, m->len);
	buf[m->len] = '\0';
	*data = buf;
	*len = m->len;
	return 0;
}

static int rd_exists(void *ctx, const char *name)
{
	return find(ctx, name) ? 0 : -ENOENT;
}

static char *dup_n(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		abort();
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void split(const uint8_t *data, size_t size, struct members *ms)
{
	const uint8_t *p = data, *end = data + size;

	while (p < end && ms->n < MEMBERS_MAX) {
		const uint8_t *rec_end = memchr(p, 0x1e, (size_t)(end - p));
		const uint8_t *nl;
		char raw[IMGFS_PATH_MAX];
		size_t nlen;

		if (!rec_end)
			rec_end = end;
		nl = memchr(p, '\n', (size_t)(rec_end - p));
		if (!nl)
			nl = rec_end;
		nlen = (size_t)(nl - p);
		if (nlen < sizeof(raw) && !memchr(p, '\0', nlen)) {
			const uint8_t *c = nl < rec_end ? nl + 1 : rec_end;

			memcpy(raw, p, nlen);
			raw[nlen] = '\0';
			if (!strcmp(raw, "--image")) {
				free(ms->image);
				ms->image = dup_n(c, (size_t)(rec_end - c));
			} else if (!strcmp(raw, "--platform")) {
				free(ms->platform);
				ms->platform = dup_n(c, (size_t)(rec_end - c));
			} else if (imgfs_path_normalize(raw, ms->m[ms->n].name,
							sizeof(ms->m[ms->n].name)) == 0) {
				ms->m[ms->n].data = c;
				ms->m[ms->n].len = (size_t)(rec_end - c);
				ms->n++;
			}
		}
		p = rec_end < end ? rec_end + 1 : end;
	}
}

static int has_component(const char *p, const char *comp)
{
	size_t n = strlen(comp);

	for (;;) {
		if (!strncmp(p, comp, n) && (p[n] == '/' || !p[n]))
			return 1;
		p = strchr(p, '/');
		if (!p)
			return 0;
		p++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct members ms; /* 1 MB of names: not on the stack */
	struct imgfs_member_reader r = { 0 };
	struct imgfs_image_desc d;
	struct imgfs_err err;
	size_t i;
	int rc;

	ms.n = 0;
	ms.image = ms.platform = NULL;
	split(data, size, &ms);
	r.ctx = &ms;
	r.read = rd_read;
	r.exists = rd_exists;
	r.image = IMAGE;
	memset(&err, 0, sizeof(err));
	rc = imgfs_manifest_parse(&d, &r, ms.image, ms.platform, &err);
	if (rc == 0) {
		if (d.format != IMGFS_FMT_DOCKER_ARCHIVE && d.format != IMGFS_FMT_OCI)
			abort();
		if (d.n_layers > IMGFS_LAYERS_MAX || (d.n_layers && !d.layers))
			abort();
		for (i = 0; i < d.n_layers; i++) {
			const char *p = d.layers[i].path;

			/* every layer names a member that is there, inside the archive */
			if (!p || !find(&ms, p) || p[0] == '/' || has_component(p, ".."))
				abort();
		}
		imgfs_image_desc_free(&d);
	} else if (rc == -ENOMSG) {
		if (find(&ms, "manifest.json") || find(&ms, "index.json") ||
		    find(&ms, "repositories") || err.msg[0])
			abort();
	} else {
		/* a failure explains itself in one line; input's blame names the image */
		if (rc > 0 || !err.msg[0] || strchr(err.msg, '\n'))
			abort();
		if (err.input && strncmp(err.msg, IMAGE ": ", strlen(IMAGE) + 2))
			abort();
	}
	free(ms.image);
	free(ms.platform);
	return 0;
}
