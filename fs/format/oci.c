/* This file contains the OCI layout parser: index.json and the image
 * indexes it nests, the choice of one image manifest by name and platform,
 * and that manifest's layer descriptors. */
#include "format/oci_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/config_i.h"
#include "format/platform_i.h"
#include "format/ref_i.h"
#include "util/err_i.h"

/* Sanity limits, low enough that a crafted layout cannot make us allocate
 * or read without bound: descriptors in one index, and index blobs read in
 * one walk (an index may list itself many times). */
static const size_t descs_max = 4096;
static const size_t index_blobs_max = 256;

static const char *const layer_types[] = {
	"application/vnd.oci.image.layer.v1.tar",
	"application/vnd.oci.image.layer.v1.tar+gzip",
	"application/vnd.oci.image.layer.v1.tar+zstd",
	"application/vnd.oci.image.layer.nondistributable.v1.tar",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	"application/vnd.docker.image.rootfs.diff.tar",
	"application/vnd.docker.image.rootfs.diff.tar.gzip",
	"application/vnd.docker.image.rootfs.diff.tar.zstd",
	"application/vnd.docker.image.rootfs.foreign.diff.tar",
	"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
	NULL,
};

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

static bool is_index_type(const char *mt)
{
	return !strcmp(mt, "application/vnd.oci.image.index.v1+json") ||
	       !strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json");
}

static bool is_manifest_type(const char *mt)
{
	return !strcmp(mt, "application/vnd.oci.image.manifest.v1+json") ||
	       !strcmp(mt, "application/vnd.docker.distribution.manifest.v2+json");
}

/* An image manifest found while walking the indexes. */
struct cand {
	char *digest;
	char *name;             /* display name from the index.json descriptor, or NULL */
	char *top;              /* digest of the index.json descriptor it came from */
	size_t group;           /* which index.json descriptor it came from */
	struct imgfs_platform plat;   /* from the descriptor, or resolved from the config */
	bool plat_resolved;
};

struct walk {
	struct cand *v;
	size_t n;
	char **seen;            /* index blobs already read (cycles, repeats) */
	size_t n_seen;
	char *missing_index;    /* first index blob that was absent */
	char *names;            /* the names of every index.json descriptor */
	char **unnamed;         /* digests of index.json descriptors without a name */
	size_t n_unnamed;
	bool named;             /* some descriptor matched --image */
	const char *want_image;
};

static void cand_free(struct cand *k)
{
	free(k->digest);
	free(k->name);
	free(k->top);
	imgfs_platform_free(&k->plat);
	memset(k, 0, sizeof(*k));
}

static void walk_free(struct walk *w)
{
	for (size_t i = 0; i < w->n; i++)
		cand_free(&w->v[i]);
	free(w->v);
	for (size_t i = 0; i < w->n_seen; i++)
		free(w->seen[i]);
	free(w->seen);
	free(w->missing_index);
	free(w->names);
	for (size_t i = 0; i < w->n_unnamed; i++)
		free(w->unnamed[i]);
	free(w->unnamed);
	memset(w, 0, sizeof(*w));
}

/* Whether the index.json descriptor with annotations REF (ref.name) and
 * CTRD (io.containerd.image.name) answers to WANT.  containerd writes only
 * the tag into ref.name, podman the full name. */
static int desc_named(const char *ref, const char *ctrd, const char *want)
{
	const char *wslash = strrchr(want, '/');
	const char *wtag = strrchr(wslash ? wslash : want, ':');
	int m;

	if (ctrd && (m = imgfs_ref_match(ctrd, want)) != 0)
		return m;
	if (!ref)
		return 0;
	if ((m = imgfs_ref_match(ref, want)) != 0)
		return m;
	/* A bare tag in ref.name: compare it with WANT's tag. */
	if (!ctrd && !strchr(ref, '/') && !strchr(ref, ':') && wtag && !strcmp(wtag + 1, ref))
		return 1;
	return 0;
}

static int walk_add(struct imgfs_json *c, struct walk *w, const char *digest, const char *name,
		    const char *top, size_t group, struct imgfs_platform *plat)
{
	struct cand *v, *k;

	if (w->n >= descs_max)
		return imgfs_errf(c->err, -EINVAL, 1, "index.json: more than %zu image manifests",
				  descs_max);
	v = realloc(w->v, (w->n + 1) * sizeof(*v));
	if (!v)
		return imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
	w->v = v;
	k = &v[w->n];
	memset(k, 0, sizeof(*k));
	k->digest = strdup(digest);
	k->name = name ? strdup(name) : NULL;
	k->top = strdup(top);
	if (!k->digest || (name && !k->name) || !k->top) {
		cand_free(k);
		return imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
	}
	k->group = group;
	k->plat = *plat;
	k->plat_resolved = plat->os && plat->arch;
	memset(plat, 0, sizeof(*plat));
	w->n++;
	return 0;
}

static int walk_index(struct imgfs_json *c, struct walk *w, const char *doc, const char *docname,
		      int depth, size_t group, const char *name, const char *top);

/* Notes the digest of the index.json descriptor OBJ, which has no name:
 * messages offer it to --image instead.  A malformed digest is left for
 * the walk to report if the descriptor is used. */
static int unnamed_add(struct imgfs_json *c, struct walk *w, const char *obj)
{
	char *d = NULL, **v;
	int rc;

	rc = imgfs_json_opt_text(c, obj, "$.digest", &d);
	if (rc < 0 || !d || !imgfs_digest_ok(d))
		goto out;
	for (size_t k = 0; k < w->n_unnamed; k++)
		if (!strcmp(w->unnamed[k], d))
			goto out;
	/* Bounded: index.json holds at most descs_max descriptors. */
	v = realloc(w->unnamed, (w->n_unnamed + 1) * sizeof(*v));
	if (!v) {
		rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
		goto out;
	}
	w->unnamed = v;
	v[w->n_unnamed++] = d;
	d = NULL;
out:
	free(d);
	return rc;
}

/* Handles descriptor I (JSON object OBJ) of index DOCNAME.  GROUP, NAME
 * and TOP are those of the index.json descriptor it hangs from (unused at
 * depth 0, where OBJ is one). */
static int walk_desc(struct imgfs_json *c, struct walk *w, const char *obj, const char *docname,
		     int depth, size_t i, size_t group, const char *name, const char *top)
{
	struct imgfs_platform plat = { 0 };
	char *mt = NULL, *digest = NULL, *ref = NULL, *ctrd = NULL, *rtype = NULL;
	char *path = NULL, *sub = NULL;
	bool attest;
	int rc;

	rc = imgfs_json_opt_text(c, obj, "$.mediaType", &mt);
	if (rc < 0)
		goto out;
	/* Unknown descriptor types "MUST NOT generate an error". */
	if (!mt || (!is_index_type(mt) && !is_manifest_type(mt)))
		goto out;

	if (depth == 0) {
		group = i;
		rc = imgfs_json_opt_text(c, obj, "$.annotations.\"org.opencontainers.image.ref.name\"", &ref);
		if (rc == 0)
			rc = imgfs_json_opt_text(c, obj, "$.annotations.\"io.containerd.image.name\"", &ctrd);
		if (rc < 0)
			goto out;
		name = ctrd ? ctrd : ref;
		if (name && imgfs_names_add(&w->names, name) < 0) {
			rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
			goto out;
		}
		if (!name && (rc = unnamed_add(c, w, obj)) < 0)
			goto out;
		if (w->want_image) {
			rc = desc_named(ref, ctrd, w->want_image);
			if (rc < 0) {
				rc = imgfs_errf(c->err, rc, 0, "out of memory");
				goto out;
			}
			if (!rc)
				goto out;
			rc = 0;
			w->named = true;
		}
	}

	rc = imgfs_json_opt_text(c, obj, "$.platform.os", &plat.os);
	if (rc == 0)
		rc = imgfs_json_opt_text(c, obj, "$.platform.architecture", &plat.arch);
	if (rc == 0)
		rc = imgfs_json_opt_text(c, obj, "$.platform.variant", &plat.variant);
	if (rc == 0)
		rc = imgfs_json_opt_text(c, obj, "$.annotations.\"vnd.docker.reference.type\"", &rtype);
	if (rc < 0)
		goto out;
	/* buildkit's provenance and SBOM manifests are no filesystems. */
	attest = (plat.os && !strcmp(plat.os, "unknown")) ||
		 (plat.arch && !strcmp(plat.arch, "unknown")) ||
		 (rtype && !strcmp(rtype, "attestation-manifest"));
	if (attest)
		goto out;

	rc = imgfs_json_opt_text(c, obj, "$.digest", &digest);
	if (rc < 0)
		goto out;
	if (!digest || !imgfs_digest_ok(digest)) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: manifests[%zu] has %s digest%s%s%s", docname,
				i, digest ? "a malformed" : "no", digest ? " \"" : "",
				digest ? digest : "", digest ? "\"" : "");
		goto out;
	}

	if (depth == 0)
		top = digest;
	if (is_manifest_type(mt)) {
		rc = walk_add(c, w, digest, name, top, group, &plat);
		goto out;
	}

	/* A nested index. */
	for (size_t k = 0; k < w->n_seen; k++)
		if (!strcmp(w->seen[k], digest))
			goto out;
	if (depth + 1 > IMGFS_INDEX_DEPTH_MAX) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: image indexes nested deeper than %d",
				docname, IMGFS_INDEX_DEPTH_MAX);
		goto out;
	}
	if (w->n_seen >= index_blobs_max) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: more than %zu nested image indexes",
				docname, index_blobs_max);
		goto out;
	}
	{
		char **s = realloc(w->seen, (w->n_seen + 1) * sizeof(*s));

		if (!s) {
			rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
			goto out;
		}
		w->seen = s;
		w->seen[w->n_seen++] = digest;
		digest = NULL;
	}
	path = imgfs_blob_path(w->seen[w->n_seen - 1]);
	if (!path) {
		rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
		goto out;
	}
	rc = imgfs_json_read(c, path, &sub);
	/* Exporters keep indexes whose platforms they did not copy: an
	 * absent blob only matters if nothing else is found. */
	if (rc == -ENOENT) {
		rc = 0;
		if (!w->missing_index) {
			w->missing_index = path;
			path = NULL;
		}
		goto out;
	}
	if (rc < 0)
		goto out;
	rc = walk_index(c, w, sub, path, depth + 1, group, name, top);
out:
	free(sub);
	free(path);
	free(rtype);
	imgfs_platform_free(&plat);
	free(ctrd);
	free(ref);
	free(digest);
	free(mt);
	return rc;
}

/* Walks the image index DOC (member DOCNAME) at nesting DEPTH, adding its
 * image manifests to W.  GROUP, NAME and TOP are those of the index.json
 * descriptor it hangs from (unused at depth 0). */
static int walk_index(struct imgfs_json *c, struct walk *w, const char *doc, const char *docname,
		      int depth, size_t group, const char *name, const char *top)
{
	struct imgfs_jv root = { 0 }, m = { 0 }, *items = NULL;
	size_t n = 0;
	int rc;

	rc = imgfs_json_get_expect(c, doc, "$", &root, IMGFS_JT_OBJECT, docname, "the image index");
	if (rc < 0)
		goto out;
	rc = imgfs_json_get(c, doc, "$.manifests", &m);
	if (rc < 0)
		goto out;
	if (m.t == IMGFS_JT_MISSING || m.t == IMGFS_JT_NULL) {
		if (depth == 0)
			rc = imgfs_errf(c->err, -EINVAL, 1, "%s: no manifests", docname);
		goto out;
	}
	rc = imgfs_json_expect(c, &m, IMGFS_JT_ARRAY, docname, "manifests");
	if (rc < 0)
		goto out;
	rc = imgfs_json_each(c, m.s, "$", descs_max, &items, &n);
	if (rc == -E2BIG)
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: more than %zu manifests", docname,
				descs_max);
	if (rc < 0)
		goto out;
	if (n == 0 && depth == 0) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: no manifests", docname);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char what[32];

		snprintf(what, sizeof(what), "manifests[%zu]", i);
		rc = imgfs_json_expect(c, &items[i], IMGFS_JT_OBJECT, docname, what);
		if (rc < 0)
			goto out;
		rc = walk_desc(c, w, items[i].s, docname, depth, i, group, name, top);
		if (rc < 0)
			goto out;
	}
out:
	imgfs_jvs_free(items, n);
	imgfs_jv_clear(&m);
	imgfs_jv_clear(&root);
	return rc;
}

/* Reads the config digest out of the manifest blob MDOC (member MNAME). */
static int manifest_config(struct imgfs_json *c, const char *mdoc, const char *mname, char **digest)
{
	struct imgfs_jv v = { 0 };
	int rc;

	*digest = NULL;
	rc = imgfs_json_get(c, mdoc, "$.config", &v);
	if (rc == 0)
		rc = imgfs_json_expect(c, &v, IMGFS_JT_OBJECT, mname, "config");
	if (rc == 0) {
		rc = imgfs_json_opt_text(c, v.s, "$.digest", digest);
		if (rc == 0 && (!*digest || !imgfs_digest_ok(*digest)))
			rc = imgfs_errf(c->err, -EINVAL, 1, "%s: config has %s digest", mname,
					*digest ? "a malformed" : "no");
	}
	if (rc < 0) {
		free(*digest);
		*digest = NULL;
	}
	imgfs_jv_clear(&v);
	return rc;
}

/* Fills K's platform from its config when the descriptor had none
 * (podman's oci-archive).  Blobs may be absent for platforms that were not
 * exported, so failing to find them leaves the platform unknown. */
static int cand_resolve(struct imgfs_json *c, struct cand *k)
{
	char *mpath = NULL, *mdoc = NULL, *cdig = NULL, *cpath = NULL, *cdoc = NULL;
	struct imgfs_platform p = { 0 };
	int rc;

	if (k->plat_resolved)
		return 0;
	k->plat_resolved = true;
	mpath = imgfs_blob_path(k->digest);
	if (!mpath) {
		rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
		goto out;
	}
	rc = imgfs_json_read(c, mpath, &mdoc);
	if (rc == 0)
		rc = manifest_config(c, mdoc, mpath, &cdig);
	if (rc == 0 && !(cpath = imgfs_blob_path(cdig)))
		rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
	if (rc == 0)
		rc = imgfs_json_read(c, cpath, &cdoc);
	if (rc == 0)
		rc = imgfs_json_opt_text(c, cdoc, "$.os", &p.os);
	if (rc == 0)
		rc = imgfs_json_opt_text(c, cdoc, "$.architecture", &p.arch);
	if (rc == 0)
		rc = imgfs_json_opt_text(c, cdoc, "$.variant", &p.variant);
	if (rc == -ENOENT)
		rc = 0;
	if (rc == 0 && p.os && p.arch) {
		imgfs_platform_free(&k->plat);
		k->plat = p;
		memset(&p, 0, sizeof(p));
	}
out:
	imgfs_platform_free(&p);
	free(cdoc);
	free(cpath);
	free(cdig);
	free(mdoc);
	free(mpath);
	return rc;
}

/* Candidates left after filtering are ambiguous when two of them are
 * different manifests under different index.json descriptors; within one
 * descriptor (one multi-platform index) the first match wins, as
 * image-index.md asks. */
static bool ambiguous(const struct cand *v, const bool *keep, size_t n, size_t *first)
{
	size_t f = n;

	for (size_t i = 0; i < n; i++) {
		if (!keep[i])
			continue;
		if (f == n) {
			f = i;
			continue;
		}
		if (strcmp(v[i].digest, v[f].digest) && v[i].group != v[f].group)
			return true;
	}
	*first = f;
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every digest --image can name in W, each once, sorted: the candidates'
 * manifests, the index.json descriptors they came from, and the unnamed
 * descriptors.  *ALL is malloc'd, its strings borrowed from W.  Returns 0
 * or -ENOMEM. */
static int walk_digests(const struct walk *w, const char ***all, size_t *n)
{
	const char **v;
	size_t k = 0;

	*all = NULL;
	*n = 0;
	v = malloc((2 * w->n + w->n_unnamed + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < w->n; i++) {
		v[k++] = w->v[i].digest;
		v[k++] = w->v[i].top;
	}
	for (size_t i = 0; i < w->n_unnamed; i++)
		v[k++] = w->unnamed[i];
	qsort(v, k, sizeof(*v), cmp_str);
	*n = 0;
	for (size_t i = 0; i < k; i++)
		if (*n == 0 || strcmp(v[*n - 1], v[i]))
			v[(*n)++] = v[i];
	*all = v;
	return 0;
}

/* Appends the digest D to *LIST in the shortest form --image takes for it
 * among the digests ALL[0..N), followed by SUFFIX. */
static int digest_names_add(char **list, const char *d, const char *const *all, size_t n,
			    const char *suffix)
{
	char *sh = imgfs_digest_short(d, all, n), *s = NULL;
	int rc = -ENOMEM;

	if (sh && asprintf(&s, "%s%s", sh, suffix) >= 0)
		rc = imgfs_names_add(list, s);
	else
		s = NULL;
	free(s);
	free(sh);
	return rc;
}

/* "latest (linux/amd64), sha256:abcdef012345 (linux/arm64)" for messages:
 * each name or digest in a form --image accepts, then the platform. */
static int cand_names(const struct walk *w, const bool *keep, char **list)
{
	const char **all = NULL;
	size_t n_all = 0;
	int rc;

	rc = walk_digests(w, &all, &n_all);
	for (size_t i = 0; i < w->n && rc == 0; i++) {
		const struct cand *k = &w->v[i];
		char *p, *s = NULL;

		if (keep && !keep[i])
			continue;
		/* A name is "name (platform)", a digest's suffix " (platform)". */
		p = imgfs_platform_str(&k->plat);
		if (p && asprintf(&s, "%s (%s)", k->name ? k->name : "", p) < 0)
			s = NULL;
		if (!s)
			rc = -ENOMEM;
		else if (k->name)
			rc = imgfs_names_add(list, s);
		else
			rc = digest_names_add(list, k->digest, all, n_all, s);
		free(s);
		free(p);
	}
	free(all);
	return rc;
}

/* The choices --image has in W, for messages: the names of index.json
 * descriptors and the digests of the unnamed ones. */
static int walk_choices(const struct walk *w, char **list)
{
	const char **all = NULL;
	size_t n_all = 0;
	int rc;

	*list = w->names ? strdup(w->names) : NULL;
	if (w->names && !*list)
		return -ENOMEM;
	rc = walk_digests(w, &all, &n_all);
	for (size_t i = 0; i < w->n_unnamed && rc == 0; i++)
		rc = digest_names_add(list, w->unnamed[i], all, n_all, "");
	free(all);
	return rc;
}

/* Keeps the candidates of W that WANT, a digest or a prefix of one (see
 * imgfs_digest_want()), names: by their image manifest's digest or by that
 * of the index.json descriptor they came from.  A WANT that fits several
 * digests is refused with the list of them.  Returns 0 (with W->named set
 * when WANT named a digest) or a negative errno with C's message set. */
static int by_digest(struct imgfs_json *c, struct walk *w, const char *want)
{
	const char **all = NULL, *hit = NULL;
	size_t n_all = 0, hits = 0, k = 0;
	char *list = NULL;
	int rc;

	rc = walk_digests(w, &all, &n_all);
	if (rc < 0) {
		rc = imgfs_errf(c->err, rc, 0, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n_all; i++)
		if (imgfs_digest_prefix(all[i], want)) {
			hit = hit ? hit : all[i];
			hits++;
		}
	if (hits > 1) {
		for (size_t i = 0; i < n_all && rc == 0; i++)
			if (imgfs_digest_prefix(all[i], want))
				rc = digest_names_add(&list, all[i], all, n_all, "");
		if (rc < 0)
			rc = imgfs_errf(c->err, rc, 0, "out of memory");
		else
			rc = imgfs_errf(c->err, -EINVAL, 1,
					"index.json: --image %s fits %zu digests, give more of one: %s",
					want, hits, list);
		goto out;
	}
	/* HIT is borrowed from W, from a candidate that fits (and stays)
	 * or from the unnamed list. */
	for (size_t i = 0; i < w->n; i++) {
		struct cand *v = &w->v[i];

		if (hit && (!strcmp(v->digest, hit) || !strcmp(v->top, hit)))
			w->v[k++] = *v;
		else
			cand_free(v);
	}
	w->named = hits == 1;
	w->n = k;
out:
	free(list);
	free(all);
	return rc;
}

/* Picks one candidate of W by platform; sets *PICK. */
static int oci_choose(struct imgfs_json *c, struct walk *w, const char *want_platform, size_t *pick)
{
	struct imgfs_platform want = { 0 };
	char host[64], *list = NULL;
	bool *keep = NULL;
	size_t first = 0, left = 0;
	int rc;

	keep = calloc(w->n, sizeof(*keep));
	if (!keep)
		return imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
	for (size_t i = 0; i < w->n; i++)
		keep[i] = true;
	if (!want_platform) {
		bool one = true;

		/* One manifest (perhaps under several names) needs no choice,
		 * whatever its platform. */
		for (size_t i = 1; i < w->n && one; i++)
			one = !strcmp(w->v[i].digest, w->v[0].digest);
		if (one) {
			*pick = 0;
			rc = 0;
			goto out;
		}
		imgfs_host_platform(host, sizeof(host));
	}
	rc = imgfs_platform_parse(want_platform ? want_platform : host, &want);
	if (rc == -EINVAL)
		rc = imgfs_errf(c->err, -EINVAL, 1, "--platform %s: expected os/arch[/variant]",
				want_platform);
	else if (rc < 0)
		rc = imgfs_errf(c->err, rc, 0, "out of memory");
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < w->n; i++) {
		rc = cand_resolve(c, &w->v[i]);
		if (rc < 0)
			goto out;
		keep[i] = imgfs_platform_match(&w->v[i].plat, &want);
		left += keep[i];
	}
	if (left == 0) {
		rc = cand_names(w, NULL, &list);
		if (rc < 0) {
			rc = imgfs_errf(c->err, rc, 0, "out of memory");
			goto out;
		}
		rc = imgfs_errf(c->err, -EINVAL, 1,
				"index.json: no image for %s%s, choose one with --platform: %s",
				want_platform ? "" : "this host's platform ",
				want_platform ? want_platform : host, list);
		goto out;
	}
	if (ambiguous(w->v, keep, w->n, &first)) {
		rc = cand_names(w, keep, &list);
		if (rc < 0) {
			rc = imgfs_errf(c->err, rc, 0, "out of memory");
			goto out;
		}
		rc = imgfs_errf(c->err, -EINVAL, 1,
				"index.json: several images for %s, choose one with --image: %s",
				want_platform ? want_platform : host, list);
		goto out;
	}
	*pick = first;
	rc = 0;
out:
	free(list);
	free(keep);
	imgfs_platform_free(&want);
	return rc;
}

/* Reads layer descriptor I (object OBJ) of manifest MNAME into L.  Layers
 * are counted from 0 in messages, as imgfs_layer_info.num counts them. */
static int oci_layer(struct imgfs_json *c, const char *obj, const char *mname, size_t i,
		     struct imgfs_layer_desc *l)
{
	struct imgfs_jv mt = { 0 }, dg = { 0 }, sz = { 0 };
	char what[48], *toc = NULL;
	int rc;

	snprintf(what, sizeof(what), "mediaType of layer %zu", i);
	rc = imgfs_json_get(c, obj, "$.mediaType", &mt);
	if (rc == 0)
		rc = imgfs_json_expect(c, &mt, IMGFS_JT_TEXT, mname, what);
	if (rc < 0)
		goto out;
	if (!in_list(mt.s, layer_types)) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: layer %zu has unsupported media type %s",
				mname, i, mt.s);
		goto out;
	}
	snprintf(what, sizeof(what), "digest of layer %zu", i);
	rc = imgfs_json_get(c, obj, "$.digest", &dg);
	if (rc == 0)
		rc = imgfs_json_expect(c, &dg, IMGFS_JT_TEXT, mname, what);
	if (rc < 0)
		goto out;
	if (!imgfs_digest_ok(dg.s)) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: layer %zu has a malformed digest \"%s\"",
				mname, i, dg.s);
		goto out;
	}
	rc = imgfs_json_get(c, obj, "$.size", &sz);
	if (rc < 0)
		goto out;
	if (sz.t == IMGFS_JT_INTEGER && sz.i >= 0) {
		l->size = sz.i;
	} else if (sz.t != IMGFS_JT_MISSING) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: size of layer %zu is not a byte count",
				mname, i);
		goto out;
	}
	rc = imgfs_json_opt_text(c, obj,
				 "$.annotations.\"containerd.io/snapshot/stargz/toc.digest\"", &toc);
	if (rc < 0)
		goto out;
	l->estargz = toc != NULL;
	l->path = imgfs_blob_path(dg.s);
	if (!l->path) {
		rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
		goto out;
	}
	rc = c->r->exists(c->r->ctx, l->path);
	if (rc == -ENOENT)
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: missing layer blob", l->path);
	else if (rc < 0)
		rc = imgfs_errf(c->err, rc, 0, "%s: %s", l->path, strerror(-rc));
	if (rc < 0)
		goto out;
	l->media_type = mt.s;
	mt.s = NULL;
	l->digest = dg.s;
	dg.s = NULL;
out:
	free(toc);
	imgfs_jv_clear(&sz);
	imgfs_jv_clear(&dg);
	imgfs_jv_clear(&mt);
	return rc;
}

/* Reads the chosen manifest K and its config into D. */
static int oci_image(struct imgfs_json *c, const struct cand *k, struct imgfs_image_desc *d)
{
	struct imgfs_jv top = { 0 }, layers = { 0 }, *items = NULL;
	char *mpath = NULL, *mdoc = NULL, *cpath = NULL, *cdoc = NULL;
	size_t n = 0;
	int rc;

	d->manifest_digest = strdup(k->digest);
	d->name = k->name ? strdup(k->name) : NULL;
	mpath = imgfs_blob_path(k->digest);
	if (!d->manifest_digest || (k->name && !d->name) || !mpath) {
		rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
		goto out;
	}
	rc = imgfs_json_read(c, mpath, &mdoc);
	if (rc == -ENOENT)
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: missing manifest blob", mpath);
	if (rc < 0)
		goto out;
	rc = imgfs_json_get(c, mdoc, "$", &top);
	if (rc == 0)
		rc = imgfs_json_expect(c, &top, IMGFS_JT_OBJECT, mpath, "the image manifest");
	if (rc == 0)
		rc = manifest_config(c, mdoc, mpath, &d->config_digest);
	if (rc == 0)
		rc = imgfs_json_get(c, mdoc, "$.layers", &layers);
	if (rc == 0)
		rc = imgfs_json_expect(c, &layers, IMGFS_JT_ARRAY, mpath, "layers");
	if (rc < 0)
		goto out;
	rc = imgfs_json_each(c, layers.s, "$", IMGFS_LAYERS_MAX, &items, &n);
	if (rc == -E2BIG)
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: more than %d layers", mpath,
				IMGFS_LAYERS_MAX);
	if (rc == 0)
		rc = imgfs_desc_alloc_layers(c, d, n);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		char what[32];

		snprintf(what, sizeof(what), "layer %zu", i);
		rc = imgfs_json_expect(c, &items[i], IMGFS_JT_OBJECT, mpath, what);
		if (rc == 0)
			rc = oci_layer(c, items[i].s, mpath, i, &d->layers[i]);
		if (rc < 0)
			goto out;
	}
	cpath = imgfs_blob_path(d->config_digest);
	if (!cpath) {
		rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
		goto out;
	}
	rc = imgfs_json_read(c, cpath, &cdoc);
	if (rc == -ENOENT)
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: missing config blob", cpath);
	if (rc == 0)
		rc = imgfs_config_apply(c, cpath, cdoc, mpath, d);
out:
	free(cdoc);
	free(cpath);
	imgfs_jvs_free(items, n);
	imgfs_jv_clear(&layers);
	imgfs_jv_clear(&top);
	free(mdoc);
	free(mpath);
	return rc;
}

int imgfs_oci_parse(struct imgfs_json *c, struct imgfs_image_desc *d, const char *want_image,
		     const char *want_platform)
{
	struct walk w = { .want_image = want_image };
	char *doc = NULL, *names = NULL;
	size_t pick = 0;
	int rc;

	d->format = IMGFS_FMT_OCI;
	rc = imgfs_json_read(c, "index.json", &doc);
	if (rc == -ENOENT)
		rc = imgfs_errf(c->err, -EIO, 0, "index.json: vanished while reading");
	if (rc < 0)
		goto out;
	rc = walk_index(c, &w, doc, "index.json", 0, 0, NULL, NULL);
	if (rc < 0)
		goto out;
	if (want_image && !w.named && imgfs_digest_want(want_image)) {
		/* No name fits: --image may give a digest, which can be that
		 * of a manifest deep in a nested index, so walk them all
		 * (walk_free() leaves want_image NULL). */
		walk_free(&w);
		rc = walk_index(c, &w, doc, "index.json", 0, 0, NULL, NULL);
		if (rc == 0)
			rc = by_digest(c, &w, want_image);
		if (rc < 0)
			goto out;
	}
	if (w.n == 0) {
		if (want_image && !w.named) {
			rc = walk_choices(&w, &names);
			if (rc < 0)
				rc = imgfs_errf(c->err, rc, 0, "out of memory");
			else
				rc = imgfs_errf(c->err, -EINVAL, 1,
						"index.json: no image named %s; it holds: %s", want_image,
						names ? names : "no images");
		} else if (w.missing_index)
			rc = imgfs_errf(c->err, -EINVAL, 1, "%s: missing index blob", w.missing_index);
		else
			rc = imgfs_errf(c->err, -EINVAL, 1, "index.json: no image manifests");
		goto out;
	}
	rc = oci_choose(c, &w, want_platform, &pick);
	if (rc == 0)
		rc = oci_image(c, &w.v[pick], d);
out:
	walk_free(&w);
	free(names);
	free(doc);
	return rc;
}
