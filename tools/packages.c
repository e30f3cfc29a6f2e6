/* This file contains "imgfs packages": the packages the index build found
 * in the merged tree (dpkg, pip, npm, apk), what each one's files weigh,
 * what removing each would free (retained bytes, from the dependency
 * graph) and the bytes no package claims, for the whole image or layer by
 * layer; --why NAME, the chains of requirements that keep a package
 * installed; --removable, the roots by what they retain. */
#include "packages.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgfs/imgfs.h"
#include "json.h"
#include "usage.h"

#define EXIT_RUNTIME 1
#define EXIT_INPUT 2

static const char *or_dash(const char *s)
{
	return s && s[0] ? s : "-";
}

/* "0,2,3" as a JSON array of numbers. */
static void json_layers(const char *s)
{
	int first = 1;

	putchar('[');
	while (s && *s) {
		char *end;
		long v = strtol(s, &end, 10);

		if (end == s)
			break;
		printf("%s%ld", first ? "" : ", ", v);
		first = 0;
		s = *end == ',' ? end + 1 : end;
		if (end == s)
			break;
	}
	putchar(']');
}

static void json_head(const char *image, const char *index)
{
	fputs("{\"image\": ", stdout);
	json_str(stdout, image);
	fputs(", \"index\": ", stdout);
	json_str(stdout, index);
}

struct out {
	int json, first, first_layer;
	int64_t owned;
};

/* "a\nb" as a JSON array of strings. */
static void json_lines(const char *s)
{
	int first = 1;

	putchar('[');
	while (s && *s) {
		size_t n = strcspn(s, "\n");
		char item[1024];

		snprintf(item, sizeof(item), "%.*s", (int)n, s);
		fputs(first ? "" : ", ", stdout);
		json_str(stdout, item);
		first = 0;
		s += n + (s[n] == '\n');
	}
	putchar(']');
}

static void print_retained(int64_t r)
{
	if (r < 0)
		printf(" %13s", "-");
	else
		printf(" %13lld", (long long)r);
}

static int print_pkg(void *ctx, const struct imgfs_pkg_info *p)
{
	struct out *o = ctx;

	o->owned += p->first_bytes;
	if (!o->json) {
		printf("%-7s %-32s %-24s %8lld %13lld", p->manager, p->name, or_dash(p->version),
		       (long long)p->files, (long long)p->bytes);
		print_retained(p->retained_bytes);
		printf(" %-10s %7lld\n", or_dash(p->layers), (long long)p->missing);
		return 0;
	}
	fputs(o->first ? "\n    {\"manager\": " : ",\n    {\"manager\": ", stdout);
	json_str(stdout, p->manager);
	fputs(", \"name\": ", stdout);
	json_str(stdout, p->name);
	fputs(", \"version\": ", stdout);
	json_str(stdout, p->version);
	fputs(", \"arch\": ", stdout);
	json_str(stdout, p->arch);
	printf(", \"files\": %lld, \"bytes\": %lld, \"first_bytes\": %lld, \"missing\": %lld,"
	       " \"layers\": ", (long long)p->files, (long long)p->bytes,
	       (long long)p->first_bytes, (long long)p->missing);
	json_layers(p->layers);
	fputs(", \"location\": ", stdout);
	json_str(stdout, p->location);
	fputs(", \"requires\": ", stdout);
	json_lines(p->requires);
	fputs(", \"required_by\": ", stdout);
	json_lines(p->required_by);
	fputs(", \"missing_requires\": ", stdout);
	json_lines(p->missing_requires);
	printf(", \"root\": %s, \"retained_bytes\": ", p->root ? "true" : "false");
	if (p->retained_bytes < 0)
		fputs("null, \"retained\": null", stdout);
	else {
		printf("%lld, \"retained\": ", (long long)p->retained_bytes);
		json_lines(p->retained);
	}
	putchar('}');
	o->first = 0;
	return 0;
}

static int whole(struct imgfs_fs *fs, const char *image, const char *index, int json,
		 enum imgfs_pkg_sort sort, int roots_only, struct imgfs_err *err)
{
	struct out o = { .json = json, .first = 1 };
	struct imgfs_pkg_totals t;
	int rc;

	if (json) {
		json_head(image, index);
		fputs(", \"packages\": [", stdout);
	} else {
		printf("%-7s %-32s %-24s %8s %13s %13s %-10s %7s\n", "MANAGER", "NAME", "VERSION",
		       "FILES", "BYTES", "RETAINED", "LAYERS", "MISSING");
	}
	rc = imgfs_fs_packages_graph(fs, sort, (roots_only ? IMGFS_PKG_ROOTS_ONLY : 0) |
				     (json ? IMGFS_PKG_LISTS : 0), &t, print_pkg, &o, err);
	if (rc)
		return rc;
	if (json)
		printf("%s], \"total_bytes\": %lld, \"owned_bytes\": %lld, \"unowned_files\": %lld,"
		       " \"unowned_bytes\": %lld}\n", o.first ? "" : "\n  ", (long long)t.total_bytes,
		       (long long)o.owned, (long long)t.unowned_files, (long long)t.unowned_bytes);
	else
		printf("%-7s %-32s %-24s %8lld %13lld %13s %-10s %7s\n", "-", "(unowned)", "-",
		       (long long)t.unowned_files, (long long)t.unowned_bytes, "-", "-", "-");
	return 0;
}

/* by layer: the layer's head (L), its end (NULL: the unowned row) */
static struct imgfs_pkg_layer cur_layer;

static int print_layer(void *ctx, const struct imgfs_pkg_layer *l)
{
	struct out *o = ctx;

	if (!l) {
		if (o->json)
			fputs(o->first ? "]}" : "\n    ]}", stdout);
		else
			printf("  %-7s %-32s %-24s %8lld %13lld\n", "-", "(unowned)", "-",
			       (long long)cur_layer.unowned_files, (long long)cur_layer.unowned_bytes);
		return 0;
	}
	cur_layer = *l;
	cur_layer.created_by = NULL;
	if (o->json) {
		printf("%s\n    {\"layer\": %d, \"created_by\": ", o->first_layer ? "" : ",", l->layer);
		json_str(stdout, l->created_by);
		printf(", \"bytes\": %lld, \"unowned_files\": %lld, \"unowned_bytes\": %lld,"
		       " \"packages\": [", (long long)l->bytes, (long long)l->unowned_files,
		       (long long)l->unowned_bytes);
	} else {
		printf("%sLAYER %d  %lld bytes  %.100s\n", o->first_layer ? "" : "\n", l->layer,
		       (long long)l->bytes, or_dash(l->created_by));
		printf("  %-7s %-32s %-24s %8s %13s\n", "MANAGER", "NAME", "VERSION", "FILES", "BYTES");
	}
	o->first_layer = 0;
	o->first = 1;
	return 0;
}

static int print_layer_pkg(void *ctx, const struct imgfs_pkg_info *p)
{
	struct out *o = ctx;

	if (!o->json) {
		printf("  %-7s %-32s %-24s %8lld %13lld\n", p->manager, p->name, or_dash(p->version),
		       (long long)p->files, (long long)p->bytes);
		return 0;
	}
	fputs(o->first ? "\n      {\"manager\": " : ",\n      {\"manager\": ", stdout);
	json_str(stdout, p->manager);
	fputs(", \"name\": ", stdout);
	json_str(stdout, p->name);
	fputs(", \"version\": ", stdout);
	json_str(stdout, p->version);
	printf(", \"files\": %lld, \"bytes\": %lld}", (long long)p->files, (long long)p->bytes);
	o->first = 0;
	return 0;
}

static int by_layer(struct imgfs_fs *fs, const char *image, const char *index, int json,
		    struct imgfs_err *err)
{
	struct out o = { .json = json, .first = 1, .first_layer = 1 };
	int rc;

	if (json) {
		json_head(image, index);
		fputs(", \"layers\": [", stdout);
	}
	rc = imgfs_fs_packages_by_layer(fs, print_layer, print_layer_pkg, &o, err);
	if (rc)
		return rc;
	if (json)
		fputs(o.first_layer ? "]}\n" : "\n  ]}\n", stdout);
	return 0;
}

struct why_out {
	int json, first;
};

static int print_chain(void *ctx, const struct imgfs_pkg_link *c, size_t n)
{
	struct why_out *o = ctx;
	size_t i;

	if (o->json) {
		fputs(o->first ? "\n    [" : ",\n    [", stdout);
		for (i = 0; i < n; i++) {
			fputs(i ? ", {\"manager\": " : "{\"manager\": ", stdout);
			json_str(stdout, c[i].manager);
			fputs(", \"name\": ", stdout);
			json_str(stdout, c[i].name);
			fputs(", \"version\": ", stdout);
			json_str(stdout, c[i].version);
			if (c[i].layer < 0)
				fputs(", \"layer\": null", stdout);
			else
				printf(", \"layer\": %d", c[i].layer);
			fputs(", \"created_by\": ", stdout);
			json_str(stdout, c[i].created_by);
			putchar('}');
		}
		putchar(']');
	} else {
		fputs(o->first ? "" : "\n", stdout);
		for (i = 0; i < n; i++)
			printf("%s%s:%s", i ? " -> " : "", c[i].manager, c[i].name);
		putchar('\n');
		for (i = 0; i < n; i++) {
			printf("  %s:%s=%s  layer ", c[i].manager, c[i].name, or_dash(c[i].version));
			if (c[i].layer < 0)
				fputs("-", stdout);
			else
				printf("%d", c[i].layer);
			printf("  %.100s\n", or_dash(c[i].created_by));
		}
	}
	o->first = 0;
	return 0;
}

static int why(struct imgfs_fs *fs, const char *image, const char *index, int json,
	       const char *name, struct imgfs_err *err)
{
	struct why_out o = { .json = json, .first = 1 };
	size_t found = 0;
	int rc;

	if (json) {
		json_head(image, index);
		fputs(", \"why\": ", stdout);
		json_str(stdout, name);
		fputs(", \"chains\": [", stdout);
	}
	rc = imgfs_fs_packages_why(fs, name, print_chain, &o, &found, err);
	if (rc)
		return rc;
	if (json)
		fputs(o.first ? "]}\n" : "\n  ]}\n", stdout);
	if (!found) {
		fflush(stdout);
		fprintf(stderr, "imgfs: %s: no package named %s\n", image, name);
		return 1;
	}
	return 0;
}

int imgfs_cmd_packages(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "image", required_argument, NULL, 'i' },
		{ "platform", required_argument, NULL, 'p' },
		{ "index", required_argument, NULL, 'x' },
		{ "cache-dir", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "by-layer", no_argument, NULL, 'l' },
		{ "sort", required_argument, NULL, 's' },
		{ "why", required_argument, NULL, 'w' },
		{ "removable", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct imgfs_opts o = { .quiet = 1 };
	struct imgfs_build_info info;
	struct imgfs_err err = { 0 };
	struct imgfs_fs *fs = NULL;
	enum imgfs_pkg_sort sort = IMGFS_PKG_BY_BYTES;
	const char *why_name = NULL;
	int json = 0, layers = 0, removable = 0, ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (ch) {
		case 'i': o.image_name = optarg; break;
		case 'p': o.platform = optarg; break;
		case 'x': o.index_path = optarg; break;
		case 'c': o.cache_dir = optarg; break;
		case 'j': json = 1; break;
		case 'l': layers = 1; break;
		case 's':
			if (!strcmp(optarg, "bytes"))
				sort = IMGFS_PKG_BY_BYTES;
			else if (!strcmp(optarg, "retained"))
				sort = IMGFS_PKG_BY_RETAINED;
			else {
				fprintf(stderr, "imgfs: packages: --sort %s: not bytes or retained\n", optarg);
				return EXIT_INPUT;
			}
			break;
		case 'w': why_name = optarg; break;
		case 'r': removable = 1; break;
		case 'h': return imgfs_usage("packages", 0);
		default: return imgfs_usage("packages", EXIT_INPUT);
		}
	}
	if (argc - optind != 1 || (layers && (why_name || removable)) || (why_name && removable))
		return imgfs_usage("packages", EXIT_INPUT);
	/* the candidates for removal, largest saving first */
	if (removable)
		sort = IMGFS_PKG_BY_RETAINED;
	o.image = argv[optind];
	rc = imgfs_index_prepare(&o, &info, &err);
	/* opened through the core first: it checks the schema version */
	if (rc == 0)
		rc = imgfs_fs_open(&fs, info.index_path, &err);
	if (rc) {
		fprintf(stderr, "imgfs: %s\n", err.msg[0] ? err.msg : strerror(-rc));
		imgfs_index_discard(&o, &info);
		return err.input ? EXIT_INPUT : EXIT_RUNTIME;
	}
	if (why_name)
		rc = why(fs, o.image, info.index_path, json, why_name, &err);
	else if (layers)
		rc = by_layer(fs, o.image, info.index_path, json, &err);
	else
		rc = whole(fs, o.image, info.index_path, json, sort, removable, &err);
	if (rc == 1) {
		imgfs_fs_close(fs);
		return EXIT_INPUT;
	}
	if (rc < 0)
		fprintf(stderr, "imgfs: %s\n", err.msg[0] ? err.msg : strerror(-rc));
	imgfs_fs_close(fs);
	imgfs_index_discard(&o, &info);
	if (fflush(stdout) && !rc)
		rc = -EIO;
	return rc ? EXIT_RUNTIME : 0;
}
