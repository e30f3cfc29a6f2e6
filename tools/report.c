/* This file contains "imgfs report": a picture of where an image's bytes
 * are.  It reads the merged tree and the layer table through the public
 * interface and writes one self-contained HTML page (data, script and
 * style inline: a squarified treemap by layer, the layer table and the
 * largest files) or, with --svg, the treemap alone as a static SVG. */
#include "report.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report_i.h"
#include "usage.h"

#define EXIT_RUNTIME 1
#define EXIT_INPUT 2

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int add_layer(void *ctx, const struct imgfs_layer_info *l)
{
	struct report *r = ctx;
	struct rlayer *t = realloc(r->layers, (r->nlayers + 1) * sizeof(*t)), *x;

	if (!t)
		return -ENOMEM;
	r->layers = t;
	x = &t[r->nlayers++];
	memset(x, 0, sizeof(*x));
	x->num = l->num;
	x->digest = dup_or_null(l->digest ? l->digest : l->diff_id);
	x->created_by = dup_or_null(l->created_by);
	x->stored = l->stored_size;
	x->size = l->size;
	x->content = l->content_bytes;
	x->hidden = -1;
	return 0;
}

/* Each layer's hidden bytes: user.imgfs.size of /.imgfs/hidden/N, the
 * files of that layer the merged tree does not show. */
static void layer_hidden(struct report *r)
{
	struct imgfs_attr view, hid, l;
	size_t i;

	if (imgfs_fs_lookup(r->fs, IMGFS_ROOT_INO, IMGFS_VIEW_NAME, &view) ||
	    imgfs_fs_lookup(r->fs, view.ino, "hidden", &hid))
		return;
	for (i = 0; i < r->nlayers; i++) {
		char name[16], buf[32];
		ssize_t n;

		snprintf(name, sizeof(name), "%d", r->layers[i].num);
		if (imgfs_fs_lookup(r->fs, hid.ino, name, &l)) {
			r->layers[i].hidden = 0; /* nothing of it is hidden */
			continue;
		}
		n = imgfs_fs_getxattr(r->fs, l.ino, "user.imgfs.size", buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = '\0';
			r->layers[i].hidden = strtoll(buf, NULL, 10);
		}
	}
}

/* Writes the report of the N images R to PATH ("-": standard output)
 * through a temporary file renamed into place, so a failure leaves no half
 * page. */
static int write_out(const struct report *r, size_t n, const char *path, int svg)
{
	char tmp[4096];
	FILE *f = stdout;
	int rc;

	if (strcmp(path, "-")) {
		if (snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
			fprintf(stderr, "imgfs: %s: path too long\n", path);
			return EXIT_INPUT;
		}
		f = fopen(tmp, "w");
		if (!f) {
			fprintf(stderr, "imgfs: %s: %s\n", path, strerror(errno));
			return EXIT_RUNTIME;
		}
	}
	rc = svg ? report_svg(r, f) : report_html(r, n, f);
	if (rc && r->err->msg[0]) { /* the findings could not be read: say which */
		fprintf(stderr, "imgfs: %s\n", r->err->msg);
		if (f != stdout) {
			fclose(f);
			unlink(tmp);
		}
		return EXIT_RUNTIME;
	}
	if (f == stdout) {
		if (fflush(f) || rc) {
			fprintf(stderr, "imgfs: writing the report: %s\n", strerror(EIO));
			return EXIT_RUNTIME;
		}
		return 0;
	}
	if (fclose(f) || rc || rename(tmp, path)) {
		fprintf(stderr, "imgfs: %s: %s\n", path, strerror(errno ? errno : EIO));
		unlink(tmp);
		return EXIT_RUNTIME;
	}
	return 0;
}

int imgfs_cmd_report(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "svg", no_argument, NULL, 's' },
		{ "image", required_argument, NULL, 'i' },
		{ "platform", required_argument, NULL, 'p' },
		{ "index", required_argument, NULL, 'x' },
		{ "cache-dir", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct imgfs_opts o = { .quiet = 1 };
	struct imgfs_build_info info;
	struct imgfs_err err = { 0 };
	struct report *r = NULL;
	const char *out = "-";
	int svg = 0, ch, rc = 0, n = 0, i;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "ho:", lopts, NULL)) != -1) {
		switch (ch) {
		case 'o': out = optarg; break;
		case 's': svg = 1; break;
		case 'i': o.image_name = optarg; break;
		case 'p': o.platform = optarg; break;
		case 'x': o.index_path = optarg; break;
		case 'c': o.cache_dir = optarg; break;
		case 'h': return imgfs_usage("report", 0);
		default: return imgfs_usage("report", EXIT_INPUT);
		}
	}
	n = argc - optind;
	/* one index per image: --index names one file */
	if (n < 1 || (n > 1 && (svg || o.index_path)))
		return imgfs_usage("report", EXIT_INPUT);
	if (!strcmp(out, "-") && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "imgfs: report: standard output is a terminal: give -o FILE%s\n",
			svg ? ".svg" : ".html");
		return EXIT_INPUT;
	}
	r = calloc((size_t)n, sizeof(*r));
	if (!r) {
		fprintf(stderr, "imgfs: report: %s\n", strerror(ENOMEM));
		return EXIT_RUNTIME;
	}
	for (i = 0; i < n && !rc; i++) {
		r[i].err = &err;
		o.image = r[i].image = argv[optind + i];
		rc = imgfs_index_prepare(&o, &info, &err);
		if (rc == 0)
			rc = imgfs_fs_open(&r[i].fs, info.index_path, &err);
		if (rc == 0)
			rc = imgfs_fs_layers(r[i].fs, add_layer, &r[i]);
		if (rc == 0) {
			layer_hidden(&r[i]);
			rc = report_walk(&r[i]);
		}
		if (rc == 0)
			rc = report_retained(&r[i]);
		if (rc && err.msg[0])
			fprintf(stderr, "imgfs: %s\n", err.msg);
		else if (rc)
			fprintf(stderr, "imgfs: %s: %s\n", r[i].image, strerror(-rc));
	}
	if (rc == 0) {
		err.msg[0] = '\0'; /* what write_out may say is its own */
		rc = write_out(r, (size_t)n, out, svg);
	}
	else
		rc = err.input ? EXIT_INPUT : EXIT_RUNTIME;
	for (i = 0; i < n; i++) {
		report_free(&r[i]);
		if (r[i].fs)
			imgfs_fs_close(r[i].fs);
	}
	free(r);
	return rc;
}
