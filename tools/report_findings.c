/* This file contains the audit findings beside the map of "imgfs report":
 * the dive figures `imgfs check` computes, the bytes each layer re-ships
 * unchanged, what strip would save on the ELF files, and the bytes of a
 * few patterns people remove to shrink an image (Python bytecode, package
 * caches, docs, test suites of installed Python packages), found in the
 * merged tree the report walked, each inode once (as the map counts). */
#include "report_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "reshipped.h"

/* The paths listed under each finding: enough to say where, few enough
 * to keep the panel short. */
#define FIND_TOP 5

struct top {
	char *path[FIND_TOP];
	uint64_t bytes[FIND_TOP];
	size_t n;
};

/* Keeps PATH among the FIND_TOP largest of T; -ENOMEM. */
static int top_add(struct top *t, const char *path, uint64_t bytes)
{
	size_t k = t->n < FIND_TOP ? t->n : FIND_TOP - 1;
	char *p;

	if (t->n == FIND_TOP && bytes <= t->bytes[FIND_TOP - 1])
		return 0;
	p = strdup(path);
	if (!p)
		return -ENOMEM;
	if (t->n == FIND_TOP)
		free(t->path[FIND_TOP - 1]);
	else
		t->n++;
	for (; k > 0 && t->bytes[k - 1] < bytes; k--) {
		t->path[k] = t->path[k - 1];
		t->bytes[k] = t->bytes[k - 1];
	}
	t->path[k] = p;
	t->bytes[k] = bytes;
	return 0;
}

static void top_json(FILE *f, const struct top *t, void (*str)(FILE *, const char *))
{
	size_t i;

	fputc('[', f);
	for (i = 0; i < t->n; i++) {
		fputs(i ? ",[" : "[", f);
		str(f, t->path[i]);
		fprintf(f, ",%llu]", (unsigned long long)t->bytes[i]);
	}
	fputc(']', f);
}

static void top_free(struct top *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->path[i]);
}

/* ---- the patterns ---- */

/* PATH is DIR or under it */
static int under(const char *path, const char *dir)
{
	size_t l = strlen(dir);

	return !strncmp(path, dir, l) && (path[l] == '/' || path[l] == '\0');
}

/* a directory component of PATH (not its last) is NAME */
static int has_dir(const char *path, const char *name)
{
	size_t l = strlen(name);
	const char *p;

	for (p = strchr(path, '/'); p; p = strchr(p + 1, '/'))
		if (!strncmp(p + 1, name, l) && p[1 + l] == '/')
			return 1;
	return 0;
}

static int m_pycache(const char *path)
{
	size_t l = strlen(path);

	return has_dir(path, "__pycache__") || (l > 4 && !strcmp(path + l - 4, ".pyc"));
}

static int m_caches(const char *path)
{
	return under(path, "/var/cache/apt") || under(path, "/var/lib/apt/lists") ||
	       under(path, "/root/.cache");
}

static int m_docs(const char *path)
{
	return under(path, "/usr/share/doc") || under(path, "/usr/share/man");
}

/* a tests (or test) directory inside an installed Python package */
static int m_tests(const char *path)
{
	const char *s = strstr(path, "/site-packages/");

	if (!s)
		s = strstr(path, "/dist-packages/");
	return s && (has_dir(s + 1, "tests") || has_dir(s + 1, "test"));
}

static const struct pattern {
	const char *id, *label;
	int (*match)(const char *path);
} patterns[] = {
	{ "pycache", "Python bytecode (__pycache__, *.pyc)", m_pycache },
	{ "caches", "package caches (/var/cache/apt, /var/lib/apt/lists, /root/.cache)", m_caches },
	{ "docs", "docs (/usr/share/doc, /usr/share/man)", m_docs },
	{ "tests", "tests directories of Python packages", m_tests },
};
#define NPATTERNS (sizeof(patterns) / sizeof(patterns[0]))

struct found {
	uint64_t bytes, files;
	struct top top;
};

/* The patterns' bytes over R's merged tree: each file node with bytes
 * (a hard link counts where the walk met it first, as on the map). */
static int match_tree(const struct report *r, struct found *out)
{
	char path[4096];
	size_t i, k;
	int rc;

	for (i = 0; i < r->len; i++) {
		const struct rnode *x = &r->n[i];

		if (x->kind != RN_FILE || !x->m)
			continue;
		report_path(r, (uint32_t)i, path, sizeof(path));
		for (k = 0; k < NPATTERNS; k++) {
			if (!patterns[k].match(path))
				continue;
			out[k].bytes += x->m;
			out[k].files++;
			rc = top_add(&out[k].top, path, x->m);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* ---- strip ---- */

struct strip {
	struct top top;
	int rc;
};

static int strip_one(void *ctx, const struct imgfs_elf_info *e)
{
	struct strip *s = ctx;

	/* largest saving first: the first FIND_TOP are the top */
	if (s->top.n < FIND_TOP)
		s->rc = top_add(&s->top, e->path, (uint64_t)e->strip_bytes);
	return s->rc;
}

int report_findings(const struct report *r, FILE *f, void (*str)(FILE *, const char *))
{
	struct imgfs_dive_stats d;
	struct reshipped rs = { 0 };
	struct imgfs_elf_totals et;
	struct strip st = { .rc = 0 };
	struct found found[NPATTERNS];
	size_t i;
	int rc;

	memset(found, 0, sizeof(found));
	rc = imgfs_fs_dive_stats(r->fs, &d);
	if (rc) {
		snprintf(r->err->msg, sizeof(r->err->msg), "%.400s: the dive figures: %s", r->image,
			 strerror(-rc));
		goto out;
	}
	rc = reshipped_collect(r->fs, &rs);
	if (rc) {
		snprintf(r->err->msg, sizeof(r->err->msg), "%.400s: the re-shipped files: %s",
			 r->image, strerror(-rc));
		goto out;
	}
	/* min 1: every ELF file strip would shrink at all */
	rc = imgfs_fs_elf(r->fs, 1, &et, strip_one, &st, r->err);
	if (rc)
		goto out;
	rc = match_tree(r, found);
	if (rc) {
		snprintf(r->err->msg, sizeof(r->err->msg), "%.400s: the findings: %s", r->image,
			 strerror(-rc));
		goto out;
	}
	fprintf(f, "{\"dive\":{\"efficiency\":%.6f,\"wasted\":%llu,\"user_wasted\":%.6f,"
		"\"hidden\":%llu,\"size\":%llu,\"user_size\":%llu},\n\"reshipped\":{\"bytes\":%llu,"
		"\"files\":%llu,\"layers\":[", d.efficiency, (unsigned long long)d.wasted_bytes,
		d.user_wasted_percent, (unsigned long long)d.hidden_bytes,
		(unsigned long long)d.size_bytes, (unsigned long long)d.user_size_bytes,
		(unsigned long long)rs.bytes, (unsigned long long)rs.files);
	for (i = 0; i < rs.n; i++) {
		fprintf(f, "%s[%d,%llu,%llu,", i ? "," : "", rs.l[i].layer,
			(unsigned long long)rs.l[i].bytes, (unsigned long long)rs.l[i].files);
		str(f, rs.l[i].created_by);
		fputc(']', f);
	}
	fprintf(f, "]},\n\"strip\":{\"elf_files\":%lld,\"files\":%lld,\"bytes\":%lld,\"debug\":%lld,"
		"\"symtab\":%lld,\"top\":", (long long)et.elf_files, (long long)et.files,
		(long long)et.strip_bytes, (long long)et.debug_bytes, (long long)et.symtab_bytes);
	top_json(f, &st.top, str);
	fputs("},\n\"patterns\":[", f);
	for (i = 0; i < NPATTERNS; i++) {
		fprintf(f, "%s[\"%s\",\"%s\",%llu,%llu,", i ? ",\n" : "", patterns[i].id,
			patterns[i].label, (unsigned long long)found[i].bytes,
			(unsigned long long)found[i].files);
		top_json(f, &found[i].top, str);
		fputc(']', f);
	}
	fputs("]}", f);
out:
	if (rc)
		r->err->code = rc;
	for (i = 0; i < NPATTERNS; i++)
		top_free(&found[i].top);
	top_free(&st.top);
	reshipped_free(&rs);
	return rc;
}
