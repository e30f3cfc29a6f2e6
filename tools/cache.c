/* This file contains "imgfs cache": what the index cache directory holds
 * (each index with the image it belongs to, its content cache and spool,
 * and the files no index names), and its pruning, through
 * imgfs_cache_list and imgfs_cache_prune. */
#include "cache.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imgfs/imgfs.h"
#include "json.h"
#include "usage.h"

#define EXIT_RUNTIME 1
#define EXIT_INPUT 2

/* NUMBER with a unit s, m, h, d or w, as seconds; -1 when malformed.  The
 * unit is required: a bare "30" could be days or seconds, and a prune
 * that guesses wrong removes everything. */
static int64_t duration(const char *s)
{
	static const struct { char u; int64_t secs; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 604800 },
	};
	char *end;
	long long v;
	size_t i;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0 || !end[0] || end[1])
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (*end == units[i].u)
			return v > INT64_MAX / units[i].secs ? -1 : v * units[i].secs;
	return -1;
}

/* NUMBER[K|M|G|T][B|iB] (powers of 1024, as du), as bytes; -1 when malformed. */
static int64_t size_arg(const char *s)
{
	static const char units[] = "KMGT";
	char *end;
	long long v;
	int64_t mul = 1;
	const char *u;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0)
		return -1;
	if (*end && (u = strchr(units, *end == 'k' ? 'K' : *end))) {
		mul = (int64_t)1 << (10 * (u - units + 1));
		end++;
		if (!strcmp(end, "iB") || !strcmp(end, "B"))
			end += strlen(end);
	} else if (!strcmp(end, "B")) {
		end++;
	}
	if (*end || v > INT64_MAX / mul)
		return -1;
	return v * mul;
}

static void when(char *out, size_t len, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm) || !strftime(out, len, "%Y-%m-%d %H:%M", &tm))
		snprintf(out, len, "%lld", (long long)t);
}

struct out {
	int json, n_index, n_orphan, first;
	uint64_t bytes;
};

static int print_json(struct out *o, const struct imgfs_cache_entry *e)
{
	int orphan = strcmp(e->kind, "index") != 0;

	if (!orphan) {
		fputs(o->first ? "\n    {\"index\": " : ",\n    {\"index\": ", stdout);
		json_str(stdout, e->path);
		fputs(", \"image\": ", stdout);
		json_str(stdout, e->image);
		fputs(", \"name\": ", stdout);
		json_str(stdout, e->name);
		printf(", \"gone\": %s, \"in_use\": %s, \"index_bytes\": %llu, \"cache\": ",
		       e->gone ? "true" : "false", e->in_use ? "true" : "false",
		       (unsigned long long)e->index_bytes);
		json_str(stdout, e->cache);
		printf(", \"cache_bytes\": %llu, \"shared\": %d, \"spool\": ",
		       (unsigned long long)e->cache_bytes, e->shared);
		json_str(stdout, e->spool);
		printf(", \"spool_bytes\": %llu, \"bytes\": %llu, \"last_used\": %lld}",
		       (unsigned long long)e->spool_bytes, (unsigned long long)e->bytes,
		       (long long)e->last_used);
	} else {
		fputs(o->first ? "\n    {\"path\": " : ",\n    {\"path\": ", stdout);
		json_str(stdout, e->path);
		fputs(", \"kind\": ", stdout);
		json_str(stdout, e->kind);
		printf(", \"in_use\": %s, \"bytes\": %llu, \"last_used\": %lld}",
		       e->in_use ? "true" : "false", (unsigned long long)e->bytes,
		       (long long)e->last_used);
	}
	o->first = 0;
	return 0;
}

static int print_row(void *ctx, const struct imgfs_cache_entry *e)
{
	struct out *o = ctx;
	int orphan = strcmp(e->kind, "index") != 0;
	char t[32];

	/* the orphans come after the indexes: the JSON array changes there */
	if (orphan && !o->n_orphan) {
		if (o->json)
			fputs(o->n_index ? "\n  ],\n  \"orphans\": [" : "],\n  \"orphans\": [", stdout);
		o->first = 1;
	}
	o->bytes += e->bytes;
	if (orphan)
		o->n_orphan++;
	else
		o->n_index++;
	if (o->json)
		return print_json(o, e);
	when(t, sizeof(t), e->last_used);
	if (orphan) {
		if (o->n_orphan == 1)
			printf("orphans (no index names them):\n");
		printf("  %-13s %12llu  %s  %s%s\n", e->kind, (unsigned long long)e->bytes, t, e->path,
		       e->in_use ? "  (in use)" : "");
		return 0;
	}
	if (o->n_index == 1)
		printf("%12s %12s %12s  %-16s  %-6s %s\n", "INDEX", "CACHE", "SPOOL", "LAST USED", "USE",
		       "IMAGE");
	printf("%12llu %12llu %12llu  %-16s  %-6s %s%s%s%s", (unsigned long long)e->index_bytes,
	       (unsigned long long)e->cache_bytes, (unsigned long long)e->spool_bytes, t,
	       e->in_use ? "in use" : "-", e->gone ? "(gone) " : "",
	       e->image ? e->image : e->path, e->name ? " --image " : "", e->name ? e->name : "");
	if (e->shared)
		printf("  (cache shared with %d other%s)", e->shared, e->shared == 1 ? "" : "s");
	putchar('\n');
	return 0;
}

static int print_removed(void *ctx, const struct imgfs_cache_entry *e)
{
	uint64_t *freed = ctx;

	*freed += e->bytes;
	printf("removed %s %s (%llu bytes)%s%s\n", e->kind, e->path, (unsigned long long)e->bytes,
	       e->image ? " of " : "", e->image ? e->image : "");
	return 0;
}

int imgfs_cmd_cache(int argc, char **argv)
{
	enum { O_JSON = 256, O_CACHE, O_OLDER, O_MAX };
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, O_JSON },
		{ "cache-dir", required_argument, NULL, O_CACHE },
		{ "older-than", required_argument, NULL, O_OLDER },
		{ "max-size", required_argument, NULL, O_MAX },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct imgfs_cache_opts co = { .older_than = -1, .max_size = -1 };
	struct imgfs_err err = { 0 };
	const char *sub = "list";
	struct out o = { .first = 1 };
	uint64_t freed = 0, left = 0;
	int ch, rc, json = 0;

	/* the subcommand first, as git stash list: options follow it */
	if (argc > 1 && argv[1][0] != '-') {
		sub = argv[1];
		argc--;
		argv++;
	}
	if (strcmp(sub, "list") && strcmp(sub, "prune") && strcmp(sub, "clear")) {
		fprintf(stderr, "imgfs: cache: '%s' is not list, prune or clear\n", sub);
		return imgfs_usage("cache", EXIT_INPUT);
	}
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (ch) {
		case O_JSON: json = 1; break;
		case O_CACHE: co.cache_dir = optarg; break;
		case O_OLDER:
			co.older_than = duration(optarg);
			if (co.older_than < 0) {
				fprintf(stderr, "imgfs: cache: --older-than %s: not a NUMBER with a unit "
					"s, m, h, d or w (30d)\n", optarg);
				return EXIT_INPUT;
			}
			break;
		case O_MAX:
			co.max_size = size_arg(optarg);
			if (co.max_size < 0) {
				fprintf(stderr, "imgfs: cache: --max-size %s: not a size (500M, 2G, 1048576)\n",
					optarg);
				return EXIT_INPUT;
			}
			break;
		case 'h': return imgfs_usage("cache", 0);
		default: return imgfs_usage("cache", EXIT_INPUT);
		}
	}
	if (optind != argc)
		return imgfs_usage("cache", EXIT_INPUT);
	if ((strcmp(sub, "prune") && (co.older_than >= 0 || co.max_size >= 0)) ||
	    (strcmp(sub, "list") && json)) {
		fprintf(stderr, "imgfs: cache %s: %s is for %s\n", sub,
			json ? "--json" : "--older-than/--max-size", json ? "cache list" : "cache prune");
		return EXIT_INPUT;
	}
	if (!strcmp(sub, "list")) {
		o.json = json;
		if (json)
			fputs("{\"indexes\": [", stdout);
		rc = imgfs_cache_list(&co, print_row, &o, &err);
		if (rc == 0 && json) {
			if (!o.n_orphan)
				fputs(o.n_index ? "\n  ],\n  \"orphans\": [" : "],\n  \"orphans\": [", stdout);
			printf("%s],\n  \"total\": {\"indexes\": %d, \"orphans\": %d, \"bytes\": %llu}}\n",
			       o.n_orphan ? "\n  " : "", o.n_index, o.n_orphan,
			       (unsigned long long)o.bytes);
		} else if (rc == 0) {
			printf("total: %d index%s, %d orphan%s, %llu bytes\n", o.n_index,
			       o.n_index == 1 ? "" : "es", o.n_orphan, o.n_orphan == 1 ? "" : "s",
			       (unsigned long long)o.bytes);
		}
	} else {
		co.all = !strcmp(sub, "clear");
		rc = imgfs_cache_prune(&co, print_removed, &freed, &left, &err);
		if (rc == 0)
			printf("freed %llu bytes, %llu bytes left\n", (unsigned long long)freed,
			       (unsigned long long)left);
	}
	if (fflush(stdout) && !rc)
		return EXIT_RUNTIME;
	if (rc) {
		fprintf(stderr, "imgfs: cache: %s\n", err.msg[0] ? err.msg : strerror(-rc));
		return err.input ? EXIT_INPUT : EXIT_RUNTIME;
	}
	return 0;
}
