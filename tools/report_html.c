/* This file contains the HTML page of "imgfs report": the template
 * (report.html, with its style and script, embedded at build time by
 * embed.py) around the image's data as one inline JSON object.  Nothing
 * in the page refers outside it. */
#include "report_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
/* generated in the build tree by embed.py (report_html_head, report_html_tail):
 * <>, as it is no file of the source tree */
#include <report_html.h>

/* Sanity limit on the nesting written (the page's script recurses): a
 * deeper directory is written without its children. */
#define HTML_DEPTH_MAX 200
/* The largest files listed beside the map */
#define HTML_LARGEST 25

/* A JSON string that cannot end the script element it sits in: every '<'
 * is written \u003c. */
static void jstr(FILE *f, const char *s)
{
	char *buf = NULL, *p;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m) {
		fputs("null", f);
		return;
	}
	json_str(m, s);
	fclose(m);
	for (p = buf; p && *p; p++) {
		if (*p == '<')
			fputs("\\u003c", f);
		else
			fputc(*p, f);
	}
	free(buf);
}

static const char *const kinds[] = { [RN_FILE] = "f", [RN_DIR] = "d", [RN_AGG] = "a",
				     [RN_HIDDEN] = "h" };

/* [name, bytes, kind, layer, pkg, count, children] */
static int node(const struct report *r, FILE *f, const struct ritem *it, int depth)
{
	struct ritem *v;
	int n, k, rc = 0;

	fputc('[', f);
	jstr(f, it->kind == RN_FILE || it->kind == RN_DIR ? r->n[it->node].name : "");
	fprintf(f, ",%llu,\"%s\",%d,%d,%llu", (unsigned long long)it->bytes, kinds[it->kind],
		it->layer, it->pkg, (unsigned long long)it->count);
	if (it->kind == RN_DIR && depth < HTML_DEPTH_MAX) {
		n = report_view(r, it->node, &v);
		if (n < 0)
			return n;
		fputs(",[", f);
		for (k = 0; k < n && !rc; k++) {
			if (k)
				fputc(',', f);
			rc = node(r, f, &v[k], depth + 1);
		}
		fputc(']', f);
		free(v);
	}
	fputc(']', f);
	return rc;
}

static int by_m(const void *a, const void *b, void *ctx)
{
	const struct report *r = ctx;
	uint64_t x = r->n[*(const uint32_t *)a].m, y = r->n[*(const uint32_t *)b].m;

	return x < y ? 1 : x > y ? -1 : 0;
}

static int largest(const struct report *r, FILE *f)
{
	uint32_t *ix = malloc(r->len * sizeof(*ix));
	size_t n = 0, i;
	char path[4096];

	if (!ix)
		return -ENOMEM;
	for (i = 0; i < r->len; i++)
		if (r->n[i].kind == RN_FILE && r->n[i].m)
			ix[n++] = (uint32_t)i;
	qsort_r(ix, n, sizeof(*ix), by_m, (void *)r);
	fputs("[", f);
	for (i = 0; i < n && i < HTML_LARGEST; i++) {
		const struct rnode *x = &r->n[ix[i]];

		report_path(r, ix[i], path, sizeof(path));
		fputs(i ? ",\n[" : "\n[", f);
		jstr(f, path);
		fprintf(f, ",%llu,%d,%d]", (unsigned long long)x->m, x->layer, x->pkg);
	}
	fputs("]", f);
	free(ix);
	return 0;
}

/* One image's data object. */
static int image(const struct report *r, FILE *f)
{
	struct ritem root = { .kind = RN_DIR, .node = 0, .bytes = report_bytes(r, 0),
			      .count = r->n[0].files, .layer = r->n[0].layer, .pkg = r->n[0].pkg };
	size_t i;
	int rc;

	fputs("{\"image\":", f);
	jstr(f, r->image);
	fprintf(f, ",\"bytes\":%llu,\"merged\":%llu,\"hidden\":%llu,\"threshold\":%llu,\"files\":%llu,"
		"\n\"layers\":[", (unsigned long long)report_bytes(r, 0),
		(unsigned long long)r->n[0].m, (unsigned long long)r->n[0].w,
		(unsigned long long)r->threshold, (unsigned long long)r->n[0].files);
	for (i = 0; i < r->nlayers; i++) {
		const struct rlayer *l = &r->layers[i];

		fprintf(f, "%s{\"num\":%d,\"digest\":", i ? ",\n" : "\n", l->num);
		jstr(f, l->digest);
		fprintf(f, ",\"stored\":%lld,\"size\":%lld,\"content\":%lld,\"hidden\":%lld,"
			"\"created_by\":", (long long)l->stored, (long long)l->size,
			(long long)l->content, (long long)l->hidden);
		jstr(f, l->created_by);
		fputc('}', f);
	}
	fputs("],\n\"packages\":[", f);
	for (i = 0; i < r->npkgs; i++) {
		fputs(i ? ",[" : "[", f);
		jstr(f, r->pkgs[i].name);
		fprintf(f, ",%llu,%lld]", (unsigned long long)r->pkgs[i].bytes,
			(long long)r->pkgs[i].retained);
	}
	fputs("],\n\"largest\":", f);
	rc = largest(r, f);
	if (rc)
		return rc;
	fputs(",\n\"findings\":", f);
	rc = report_findings(r, f, jstr);
	if (rc)
		return rc;
	fputs(",\n\"tree\":", f);
	rc = node(r, f, &root, 0);
	if (rc)
		return rc;
	fputs("}\n", f);
	return 0;
}

int report_html(const struct report *r, size_t n, FILE *f)
{
	size_t i;
	int rc;

	fputs(report_html_head, f);
	fputs("{\"images\":[", f);
	for (i = 0; i < n; i++) {
		if (i)
			fputc(',', f);
		rc = image(&r[i], f);
		if (rc)
			return rc;
	}
	fputs("]}\n", f);
	fputs(report_html_tail, f);
	return ferror(f) ? -EIO : 0;
}
