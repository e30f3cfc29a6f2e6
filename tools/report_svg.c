/* This file contains "imgfs report --svg": the treemap alone as a static
 * SVG for places that run no script (a README, a CI artifact).  The
 * layout is computed here (report_layout.c) down to the drawn leaves, with
 * no padding, so the leaves' areas add up to the whole picture exactly and
 * each is proportional to its bytes; directories are groups with a title. */
#include "report_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SVG_W 1200
#define SVG_H 800
/* A directory drawn smaller than this (in pixels, either side) is one
 * rectangle: its insides could not be seen, and the limit bounds the file
 * whatever the tree's depth. */
#define SVG_MIN_SIDE 1.0
/* Names are written on rectangles at least this wide and high. */
/* Sanity limit on nesting (a hostile image can chain directories of one
 * child each, which never shrink): deeper, a directory is one rectangle. */
#define SVG_DEPTH_MAX 128
#define SVG_LABEL_W 60
#define SVG_LABEL_H 14

/* S as XML character data: markup escaped, and every byte that is not
 * valid UTF-8 (or a control character XML forbids) as U+FFFD, so the file
 * parses whatever names the image holds. */
static void xml_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p;
		size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
					: (c & 0xF8) == 0xF0 ? 4 : 0, k;

		for (k = 1; k < n; k++)
			if ((p[k] & 0xC0) != 0x80)
				n = 0;
		if (n == 2 && c < 0xC2)
			n = 0; /* overlong */
		if (n == 0 || (n == 1 && c < 0x20 && c != '\t' && c != '\n')) {
			fputs("\xEF\xBF\xBD", f);
			p++;
			continue;
		}
		if (c == '&')
			fputs("&amp;", f);
		else if (c == '<')
			fputs("&lt;", f);
		else if (c == '>')
			fputs("&gt;", f);
		else if (c == '"')
			fputs("&quot;", f);
		else
			fwrite(p, 1, n, f);
		p += n;
	}
}

/* The fill of a layer: hues a golden angle apart, so neighbours differ
 * whatever the count (the page's script uses the same rule). */
static void fill(FILE *f, const struct ritem *it)
{
	if (it->kind == RN_HIDDEN)
		fputs("url(#hidden)", f);
	else if (it->layer < 0)
		fputs("#9e9e9e", f);
	else
		fprintf(f, "hsl(%d,55%%,%d%%)", (int)((it->layer * 137.508)) % 360,
			it->kind == RN_AGG ? 70 : 55);
}

static void title(const struct report *r, FILE *f, const struct ritem *it)
{
	char path[4096];

	report_path(r, it->node, path, sizeof(path));
	fputs("<title>", f);
	if (it->kind == RN_AGG)
		fprintf(f, "%llu files under ", (unsigned long long)it->count);
	else if (it->kind == RN_HIDDEN)
		fputs("hidden by upper layers under ", f);
	xml_str(f, path);
	fprintf(f, ": %llu bytes", (unsigned long long)it->bytes);
	if (it->layer >= 0)
		fprintf(f, ", layer %d", it->layer);
	if (it->pkg >= 0) {
		fputs(", ", f);
		xml_str(f, r->pkgs[it->pkg].name);
	}
	fputs("</title>", f);
}

static int draw(const struct report *r, FILE *f, uint32_t dir, double x, double y, double w,
		double h, int depth)
{
	struct ritem *v = NULL;
	double *val = NULL, (*box)[4] = NULL;
	int n = report_view(r, dir, &v), k, rc = -ENOMEM;

	if (n < 0)
		return n;
	val = malloc(((size_t)n + 1) * sizeof(*val));
	box = malloc(((size_t)n + 1) * sizeof(*box));
	if (!val || !box)
		goto out;
	for (k = 0; k < n; k++)
		val[k] = (double)v[k].bytes;
	report_squarify(val, (size_t)n, x, y, w, h, box);
	for (k = 0; k < n; k++) {
		double *b = box[k];

		if (v[k].kind == RN_DIR && depth < SVG_DEPTH_MAX && (b[2] >= SVG_MIN_SIDE || b[3] >= SVG_MIN_SIDE)) {
			char path[4096];

			report_path(r, v[k].node, path, sizeof(path));
			fprintf(f, "<g class=\"dir\" data-depth=\"%d\" data-path=\"", depth);
			xml_str(f, path);
			fputs("\">", f);
			title(r, f, &v[k]);
			rc = draw(r, f, v[k].node, b[0], b[1], b[2], b[3], depth + 1);
			if (rc)
				goto out;
			fprintf(f, "<rect class=\"frame\" x=\"%.3f\" y=\"%.3f\" width=\"%.3f\" "
				"height=\"%.3f\" fill=\"none\" stroke=\"#333\" stroke-width=\"%.1f\"/>",
				b[0], b[1], b[2], b[3], depth ? 0.5 : 1.5);
			if (b[2] >= SVG_LABEL_W && b[3] >= SVG_LABEL_H) {
				fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", b[0] + 3, b[1] + 11);
				xml_str(f, r->n[v[k].node].name);
				fputs("</text>", f);
			}
			fputs("</g>\n", f);
			continue;
		}
		fprintf(f, "<rect class=\"leaf\" x=\"%.3f\" y=\"%.3f\" width=\"%.3f\" height=\"%.3f\" "
			"fill=\"", b[0], b[1], b[2], b[3]);
		fill(f, &v[k]);
		fputs("\">", f);
		title(r, f, &v[k]);
		fputs("</rect>\n", f);
	}
	rc = 0;
out:
	free(v);
	free(val);
	free(box);
	return rc;
}

int report_svg(const struct report *r, FILE *f)
{
	int rc;

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" data-bytes=\"%llu\">\n", SVG_W, SVG_H, SVG_W, SVG_H,
		(unsigned long long)report_bytes(r, 0));
	fputs("<defs><pattern id=\"hidden\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\" "
	      "patternTransform=\"rotate(45)\"><rect width=\"8\" height=\"8\" fill=\"#eee\"/>"
	      "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"8\" stroke=\"#c0392b\" stroke-width=\"4\"/>"
	      "</pattern></defs>\n"
	      "<style>rect.leaf{stroke:#fff;stroke-width:0.3}text{font:11px sans-serif;"
	      "fill:#111;pointer-events:none}</style>\n<title>", f);
	xml_str(f, r->image);
	fputs("</title>\n", f);
	rc = draw(r, f, 0, 0, 0, SVG_W, SVG_H, 0);
	fputs("</svg>\n", f);
	return rc ? rc : ferror(f) ? -EIO : 0;
}
