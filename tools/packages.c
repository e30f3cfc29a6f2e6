/* This file contains "imgfs packages": the packages the index build found
 * in the merged tree (dpkg, pip, npm, apk), what each one's files weigh,
 * and the bytes no package claims, for the whole image or layer by layer.
 * It reads the index's pkg tables with its own read-only SQLite connection:
 * the core's public interface has no call for them (yet). */
#include "packages.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "imgfs/imgfs.h"
#include "json.h"

#define EXIT_RUNTIME 1
#define EXIT_INPUT 2

static const char usage_text[] =
	"usage: imgfs packages [--image N] [--platform P] [--index PATH] [--cache-dir DIR]\n"
	"                      [--json] [--by-layer] IMAGE\n";

#define REGULAR "(i.mode & 61440) = 32768"
#define MERGED "i.ino IN (SELECT ino FROM dentry WHERE view = 0)"

/* One row per package, largest first; FIRST: the bytes of the files whose
 * first (most specific) claim is this package, so that the FIRST column
 * and the unowned bytes add up to the image's size. */
static const char packages_sql[] =
	"SELECT p.manager, p.name, p.version, p.arch, p.files, p.bytes, p.layers, p.missing,"
	" coalesce(o.b, 0) FROM pkg p LEFT JOIN (SELECT f.pkg AS pkg, sum(i.size) AS b"
	" FROM pkgfile f JOIN inode i ON i.ino = f.ino WHERE f.rank = 0 AND " REGULAR
	" GROUP BY f.pkg) o ON o.pkg = p.id ORDER BY p.bytes DESC, p.manager, p.name, p.id";

/* Size of the merged tree (hardlinks once), then its regular files that
 * no package claims. */
static const char totals_sql[] =
	"SELECT (SELECT sub_bytes FROM inode WHERE ino = 1), count(*), coalesce(sum(i.size), 0)"
	" FROM inode i WHERE " REGULAR " AND " MERGED
	" AND NOT EXISTS (SELECT 1 FROM pkgfile f WHERE f.ino = i.ino)";

static const char by_layer_sql[] =
	"SELECT i.layer, p.manager, p.name, p.version, count(*), sum(i.size) FROM pkgfile f"
	" JOIN inode i ON i.ino = f.ino JOIN pkg p ON p.id = f.pkg WHERE " REGULAR
	" GROUP BY i.layer, p.id ORDER BY i.layer, 6 DESC, p.manager, p.name, p.id";

static const char layer_totals_sql[] =
	"SELECT l.num, l.created_by, coalesce(t.b, 0), coalesce(t.uf, 0), coalesce(t.ub, 0)"
	" FROM layer l LEFT JOIN (SELECT layer, sum(size) AS b, sum(u) AS uf, sum(u * size) AS ub"
	" FROM (SELECT i.layer AS layer, i.size AS size, NOT EXISTS (SELECT 1 FROM pkgfile f"
	" WHERE f.ino = i.ino) AS u FROM inode i WHERE " REGULAR " AND " MERGED ")"
	" GROUP BY layer) t ON t.layer = l.num ORDER BY l.num";

static const char *text(sqlite3_stmt *q, int col)
{
	return (const char *)sqlite3_column_text(q, col);
}

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

static int whole(sqlite3 *db, const char *image, const char *index, int json)
{
	sqlite3_stmt *q = NULL, *t = NULL;
	long long total = 0, unowned_files = 0, unowned = 0, owned = 0;
	int r, first = 1;

	if (sqlite3_prepare_v2(db, totals_sql, -1, &t, NULL) != SQLITE_OK ||
	    sqlite3_step(t) != SQLITE_ROW ||
	    sqlite3_prepare_v2(db, packages_sql, -1, &q, NULL) != SQLITE_OK)
		goto fail;
	total = sqlite3_column_int64(t, 0);
	unowned_files = sqlite3_column_int64(t, 1);
	unowned = sqlite3_column_int64(t, 2);
	if (json) {
		json_head(image, index);
		fputs(", \"packages\": [", stdout);
	} else {
		printf("%-7s %-32s %-24s %8s %13s %-10s %7s\n", "MANAGER", "NAME", "VERSION", "FILES",
		       "BYTES", "LAYERS", "MISSING");
	}
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		owned += sqlite3_column_int64(q, 8);
		if (!json) {
			printf("%-7s %-32s %-24s %8lld %13lld %-10s %7lld\n", text(q, 0), text(q, 1),
			       or_dash(text(q, 2)), (long long)sqlite3_column_int64(q, 4),
			       (long long)sqlite3_column_int64(q, 5), or_dash(text(q, 6)),
			       (long long)sqlite3_column_int64(q, 7));
			continue;
		}
		fputs(first ? "\n    {\"manager\": " : ",\n    {\"manager\": ", stdout);
		json_str(stdout, text(q, 0));
		fputs(", \"name\": ", stdout);
		json_str(stdout, text(q, 1));
		fputs(", \"version\": ", stdout);
		json_str(stdout, text(q, 2));
		fputs(", \"arch\": ", stdout);
		json_str(stdout, text(q, 3));
		printf(", \"files\": %lld, \"bytes\": %lld, \"first_bytes\": %lld, \"missing\": %lld,"
		       " \"layers\": ", (long long)sqlite3_column_int64(q, 4),
		       (long long)sqlite3_column_int64(q, 5), (long long)sqlite3_column_int64(q, 8),
		       (long long)sqlite3_column_int64(q, 7));
		json_layers(text(q, 6));
		putchar('}');
		first = 0;
	}
	if (r != SQLITE_DONE)
		goto fail;
	if (json)
		printf("%s], \"total_bytes\": %lld, \"owned_bytes\": %lld, \"unowned_files\": %lld,"
		       " \"unowned_bytes\": %lld}\n", first ? "" : "\n  ", total, owned, unowned_files,
		       unowned);
	else
		printf("%-7s %-32s %-24s %8lld %13lld %-10s %7s\n", "-", "(unowned)", "-", unowned_files,
		       unowned, "-", "-");
	sqlite3_finalize(q);
	sqlite3_finalize(t);
	return 0;
fail:
	fprintf(stderr, "imgfs: %s: %s\n", index, sqlite3_errmsg(db));
	sqlite3_finalize(q);
	sqlite3_finalize(t);
	return -EIO;
}

static int by_layer(sqlite3 *db, const char *image, const char *index, int json)
{
	sqlite3_stmt *l = NULL, *q = NULL;
	int r, rq, first_layer = 1;

	if (sqlite3_prepare_v2(db, layer_totals_sql, -1, &l, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, by_layer_sql, -1, &q, NULL) != SQLITE_OK)
		goto fail;
	if (json) {
		json_head(image, index);
		fputs(", \"layers\": [", stdout);
	}
	rq = sqlite3_step(q);
	while ((r = sqlite3_step(l)) == SQLITE_ROW) {
		int num = sqlite3_column_int(l, 0), first = 1;

		if (json) {
			printf("%s\n    {\"layer\": %d, \"created_by\": ", first_layer ? "" : ",", num);
			json_str(stdout, text(l, 1));
			printf(", \"bytes\": %lld, \"unowned_files\": %lld, \"unowned_bytes\": %lld,"
			       " \"packages\": [", (long long)sqlite3_column_int64(l, 2),
			       (long long)sqlite3_column_int64(l, 3), (long long)sqlite3_column_int64(l, 4));
		} else {
			printf("%sLAYER %d  %lld bytes  %.100s\n", first_layer ? "" : "\n", num,
			       (long long)sqlite3_column_int64(l, 2), or_dash(text(l, 1)));
			printf("  %-7s %-32s %-24s %8s %13s\n", "MANAGER", "NAME", "VERSION", "FILES", "BYTES");
		}
		first_layer = 0;
		/* the package rows are ordered by layer: take this layer's */
		for (; rq == SQLITE_ROW && sqlite3_column_int(q, 0) <= num; rq = sqlite3_step(q)) {
			if (sqlite3_column_int(q, 0) < num)
				continue;
			if (!json) {
				printf("  %-7s %-32s %-24s %8lld %13lld\n", text(q, 1), text(q, 2),
				       or_dash(text(q, 3)), (long long)sqlite3_column_int64(q, 4),
				       (long long)sqlite3_column_int64(q, 5));
				continue;
			}
			fputs(first ? "\n      {\"manager\": " : ",\n      {\"manager\": ", stdout);
			json_str(stdout, text(q, 1));
			fputs(", \"name\": ", stdout);
			json_str(stdout, text(q, 2));
			fputs(", \"version\": ", stdout);
			json_str(stdout, text(q, 3));
			printf(", \"files\": %lld, \"bytes\": %lld}", (long long)sqlite3_column_int64(q, 4),
			       (long long)sqlite3_column_int64(q, 5));
			first = 0;
		}
		if (json)
			fputs(first ? "]}" : "\n    ]}", stdout);
		else
			printf("  %-7s %-32s %-24s %8lld %13lld\n", "-", "(unowned)", "-",
			       (long long)sqlite3_column_int64(l, 3), (long long)sqlite3_column_int64(l, 4));
	}
	if (r != SQLITE_DONE || (rq != SQLITE_DONE && rq != SQLITE_ROW))
		goto fail;
	if (json)
		fputs(first_layer ? "]}\n" : "\n  ]}\n", stdout);
	sqlite3_finalize(l);
	sqlite3_finalize(q);
	return 0;
fail:
	fprintf(stderr, "imgfs: %s: %s\n", index, sqlite3_errmsg(db));
	sqlite3_finalize(l);
	sqlite3_finalize(q);
	return -EIO;
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct imgfs_opts o = { .quiet = 1 };
	struct imgfs_build_info info;
	struct imgfs_err err = { 0 };
	struct imgfs_fs *fs = NULL;
	sqlite3 *db = NULL;
	char *uri = NULL;
	int json = 0, layers = 0, ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (ch) {
		case 'i': o.image_name = optarg; break;
		case 'p': o.platform = optarg; break;
		case 'x': o.index_path = optarg; break;
		case 'c': o.cache_dir = optarg; break;
		case 'j': json = 1; break;
		case 'l': layers = 1; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: fputs(usage_text, stderr); return EXIT_INPUT;
		}
	}
	if (argc - optind != 1) {
		fputs(usage_text, stderr);
		return EXIT_INPUT;
	}
	o.image = argv[optind];
	rc = imgfs_index_prepare(&o, &info, &err);
	/* opened through the core first: it checks the schema version */
	if (rc == 0)
		rc = imgfs_fs_open(&fs, info.index_path, &err);
	if (rc) {
		fprintf(stderr, "imgfs: %s\n", err.msg[0] ? err.msg : strerror(-rc));
		return err.input ? EXIT_INPUT : EXIT_RUNTIME;
	}
	if (asprintf(&uri, "file:%s?immutable=1", imgfs_fs_path(fs)) < 0) {
		uri = NULL;
		rc = -ENOMEM;
	} else if (sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK) {
		fprintf(stderr, "imgfs: %s: %s\n", info.index_path, db ? sqlite3_errmsg(db) : "cannot open");
		rc = -EIO;
	} else {
		rc = layers ? by_layer(db, o.image, info.index_path, json)
			    : whole(db, o.image, info.index_path, json);
	}
	sqlite3_close(db);
	free(uri);
	imgfs_fs_close(fs);
	if (fflush(stdout) && !rc)
		rc = -EIO;
	return rc ? EXIT_RUNTIME : 0;
}
