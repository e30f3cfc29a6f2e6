/* This file contains the layer table of `imgfs layers`: the rows of one
 * or several images read through the public interface, and for several
 * images which layers they share.  Two layers are the same when their
 * diff_id (the digest of the uncompressed tar) is: that is how a Docker
 * Engine or a registry stores a layer once for every image that has it. */
#include "layers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"
#include "units.h"

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int take_row(void *ctx, const struct imgfs_layer_info *l)
{
	struct layer_image *img = ctx;
	struct layer_row *r, *rows = realloc(img->rows, (img->n + 1) * sizeof(*rows));

	if (!rows) {
		img->failed = 1;
		return 1;
	}
	img->rows = rows;
	r = &rows[img->n];
	memset(r, 0, sizeof(*r));
	r->num = l->num;
	r->stored = l->stored_size;
	r->size = l->size;
	r->content = l->content_bytes;
	r->entries = l->entries;
	r->push = l->push_size;
	r->digest = dup_or_null(l->digest);
	r->diff_id = dup_or_null(l->diff_id);
	r->media_type = dup_or_null(l->media_type);
	r->compression = dup_or_null(l->compression);
	r->created_by = dup_or_null(l->created_by);
	img->n++;
	img->failed = (l->digest && !r->digest) || (l->diff_id && !r->diff_id) ||
		      (l->media_type && !r->media_type) || (l->compression && !r->compression) ||
		      (l->created_by && !r->created_by);
	return img->failed;
}

int layers_collect(struct imgfs_fs *fs, const char *image, const char *index,
		   struct layer_image *img)
{
	struct stat st;
	int rc;

	memset(img, 0, sizeof(*img));
	img->image = image;
	img->index = strdup(index);
	if (!img->index)
		return -ENOMEM;
	/* the content cache of compressed layers, if any */
	img->cache = imgfs_fs_meta(fs, "cache");
	if (img->cache && stat(img->cache, &st) == 0)
		img->cache_bytes = (long long)st.st_size;
	img->config = imgfs_fs_meta(fs, "config_fields");
	rc = imgfs_fs_layers(fs, take_row, img);
	return rc ? rc : img->failed ? -ENOMEM : 0;
}

void layers_free(struct layer_image *img)
{
	for (size_t i = 0; i < img->n; i++) {
		free(img->rows[i].digest);
		free(img->rows[i].diff_id);
		free(img->rows[i].media_type);
		free(img->rows[i].compression);
		free(img->rows[i].created_by);
	}
	free(img->rows);
	free(img->index);
	free(img->cache);
	free(img->config);
	memset(img, 0, sizeof(*img));
}

/* 1 when image J (not I) has a layer whose diff_id is D. */
static int has_layer(const struct layer_image *imgs, size_t j, const char *d)
{
	for (size_t k = 0; d && k < imgs[j].n; k++)
		if (imgs[j].rows[k].diff_id && !strcmp(imgs[j].rows[k].diff_id, d))
			return 1;
	return 0;
}

static int shared(const struct layer_image *imgs, size_t n, size_t i, const struct layer_row *r)
{
	for (size_t j = 0; j < n; j++)
		if (j != i && has_layer(imgs, j, r->diff_id))
			return 1;
	return 0;
}

struct sums {
	long long stored, size, content, entries, shared, unique;
	long long push;         /* -1 when a layer's is not known */
	size_t n_shared, n_unique;
};

static void sum_image(const struct layer_image *imgs, size_t n, size_t i, struct sums *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t k = 0; k < imgs[i].n; k++) {
		const struct layer_row *r = &imgs[i].rows[k];

		s->stored += r->stored;
		s->size += r->size;
		s->content += r->content;
		s->entries += r->entries;
		s->push = s->push < 0 || r->push < 0 ? -1 : s->push + r->push;
		if (shared(imgs, n, i, r)) {
			s->shared += r->size;
			s->n_shared++;
		} else {
			s->unique += r->size;
			s->n_unique++;
		}
	}
}

/* The layers of all images counted once by diff_id (a layer without one
 * is its own): what an Engine or a registry holding them all stores. */
static void distinct(const struct layer_image *imgs, size_t n, long long *bytes, long long *stored,
		     size_t *count)
{
	*bytes = *stored = 0;
	*count = 0;
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < imgs[i].n; k++) {
			const struct layer_row *r = &imgs[i].rows[k];
			int seen = 0;

			/* seen in an earlier image, or earlier in this one */
			for (size_t j = 0; j < i && !seen && r->diff_id; j++)
				seen = has_layer(imgs, j, r->diff_id);
			for (size_t q = 0; q < k && !seen && r->diff_id; q++)
				seen = imgs[i].rows[q].diff_id && !strcmp(imgs[i].rows[q].diff_id, r->diff_id);
			if (!seen) {
				*bytes += r->size;
				*stored += r->stored;
				(*count)++;
			}
		}
	}
}

/* A size column: exact bytes, or with -h "12.3 MiB"; "-" when not known. */
static const char *col(char *buf, size_t len, int human, long long v)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else if (human)
		human_bytes(buf, len, (double)v);
	else
		snprintf(buf, len, "%lld", v);
	return buf;
}

/* An amount in a sentence: "49152 bytes", or with -h "48.0 KiB". */
static const char *amount(char *buf, size_t len, int human, long long v)
{
	if (human)
		return human_bytes(buf, len, (double)v);
	snprintf(buf, len, "%lld bytes", v);
	return buf;
}

/* "2,3": the images (numbered from 1) other than I that have R. */
static void shared_list(const struct layer_image *imgs, size_t n, size_t i,
			const struct layer_row *r, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t j = 0; j < n && used + 24 < len; j++)
		if (j != i && has_layer(imgs, j, r->diff_id))
			used += (size_t)snprintf(buf + used, len - used, "%s%zu", used ? "," : "", j + 1);
	if (!used)
		snprintf(buf, len, "-");
}

static void print_text(const struct layer_image *imgs, size_t n, int human)
{
	char a[32], b[32], c[32], e[32], sh[64];

	if (n > 1) {
		fputs("images:", stdout);
		for (size_t i = 0; i < n; i++)
			printf(" %zu %s%s", i + 1, imgs[i].image, i + 1 < n ? "," : "\n");
	}
	for (size_t i = 0; i < n; i++) {
		struct sums s;

		sum_image(imgs, n, i, &s);
		if (n > 1)
			printf("\n== %zu %s\n", i + 1, imgs[i].image);
		printf("%-5s %-19s %12s %12s %12s %12s %8s  %-5s %s%s\n", "#", "DIGEST", "STORED", "PUSH",
		       "SIZE", "CONTENT", "ENTRIES", "COMP", n > 1 ? "SHARED  " : "", "CREATED BY");
		for (size_t k = 0; k < imgs[i].n; k++) {
			const struct layer_row *r = &imgs[i].rows[k];
			const char *d = r->digest ? r->digest : r->diff_id ? r->diff_id : "-";

			if (n > 1)
				shared_list(imgs, n, i, r, sh, sizeof(sh));
			printf("%-5d %-19.19s %12s %12s %12s %12s %8lld  %-5s ", r->num, d,
			       col(a, sizeof(a), human, r->stored), col(e, sizeof(e), human, r->push),
			       col(b, sizeof(b), human, r->size), col(c, sizeof(c), human, r->content),
			       (long long)r->entries, r->compression ? r->compression : "-");
			if (n > 1)
				printf("%-7s ", sh);
			printf("%s\n", r->created_by ? r->created_by : "");
		}
		printf("%-5s %-19s %12s %12s %12s %12s %8lld\n", "total", "",
		       col(a, sizeof(a), human, s.stored), col(e, sizeof(e), human, s.push),
		       col(b, sizeof(b), human, s.size), col(c, sizeof(c), human, s.content), s.entries);
		if (n > 1)
			printf("only in this image: %s in %zu layers; shared with another: %s in %zu layers\n",
			       amount(a, sizeof(a), human, s.unique), s.n_unique,
			       amount(b, sizeof(b), human, s.shared), s.n_shared);
		if (imgs[i].cache)
			printf("content cache: %lld bytes for the compressed layers (%s)\n",
			       imgs[i].cache_bytes, imgs[i].cache);
		else
			printf("content cache: none (every layer is read in place)\n");
	}
	if (n > 1) {
		long long all = 0, bytes, stored;
		size_t count, layers = 0;

		for (size_t i = 0; i < n; i++) {
			struct sums s;

			sum_image(imgs, n, i, &s);
			all += s.size;
			layers += imgs[i].n;
		}
		distinct(imgs, n, &bytes, &stored, &count);
		printf("\n== all %zu images: %s in %zu layers; %s in %zu distinct layers "
		       "(%s stored), what an Engine or a registry holding them all keeps\n",
		       n, amount(a, sizeof(a), human, all), layers, amount(b, sizeof(b), human, bytes),
		       count, amount(c, sizeof(c), human, stored));
	}
}

/* A JSON number, or null for -1 (not known). */
static void print_known(long long v)
{
	if (v < 0)
		fputs("null", stdout);
	else
		printf("%lld", v);
}

static void print_json_image(const struct layer_image *imgs, size_t n, size_t i, const char *indent)
{
	const struct layer_image *img = &imgs[i];
	struct sums s;

	sum_image(imgs, n, i, &s);
	fputs("{\"image\": ", stdout);
	json_str(stdout, img->image);
	fputs(", \"index\": ", stdout);
	json_str(stdout, img->index);
	fputs(", \"cache\": ", stdout);
	json_str(stdout, img->cache);
	printf(", \"cache_bytes\": %lld", img->cache_bytes);
	/* the build wrote it with SQLite's JSON functions: valid JSON */
	printf(", \"config\": %s", img->config ? img->config : "null");
	fputs(", \"layers\": [", stdout);
	for (size_t k = 0; k < img->n; k++) {
		const struct layer_row *r = &img->rows[k];

		printf("%s\n%s  {\"num\": %d, \"digest\": ", k ? "," : "", indent, r->num);
		json_str(stdout, r->digest);
		fputs(", \"diff_id\": ", stdout);
		json_str(stdout, r->diff_id);
		fputs(", \"media_type\": ", stdout);
		json_str(stdout, r->media_type);
		fputs(", \"compression\": ", stdout);
		json_str(stdout, r->compression);
		printf(", \"stored_size\": %lld, \"push_size\": ", (long long)r->stored);
		print_known(r->push);
		printf(", \"size\": %lld, \"content_bytes\": %lld, \"entries\": %lld, \"created_by\": ",
		       (long long)r->size, (long long)r->content, (long long)r->entries);
		json_str(stdout, r->created_by);
		if (n > 1) {
			int first = 1;

			fputs(", \"shared_with\": [", stdout);
			for (size_t j = 0; j < n; j++)
				if (j != i && has_layer(imgs, j, r->diff_id)) {
					printf("%s%zu", first ? "" : ", ", j);
					first = 0;
				}
			putchar(']');
		}
		putchar('}');
	}
	fputs(img->n ? "\n" : "", stdout);
	printf("%s]", img->n ? indent : "");
	printf(", \"totals\": {\"layers\": %zu, \"stored_size\": %lld, \"push_size\": ", img->n,
	       s.stored);
	print_known(s.push);
	printf(", \"size\": %lld, \"content_bytes\": %lld, \"entries\": %lld", s.size, s.content,
	       s.entries);
	if (n > 1)
		printf(", \"unique_size\": %lld, \"unique_layers\": %zu, \"shared_size\": %lld,"
		       " \"shared_layers\": %zu", s.unique, s.n_unique, s.shared, s.n_shared);
	fputs("}}", stdout);
}

static void print_json(const struct layer_image *imgs, size_t n)
{
	long long all = 0, bytes, stored;
	size_t count, layers = 0;

	if (n == 1) {
		print_json_image(imgs, 1, 0, "  ");
		putchar('\n');
		return;
	}
	fputs("{\"images\": [", stdout);
	for (size_t i = 0; i < n; i++) {
		struct sums s;

		printf("%s\n  ", i ? "," : "");
		print_json_image(imgs, n, i, "    ");
		sum_image(imgs, n, i, &s);
		all += s.size;
		layers += imgs[i].n;
	}
	distinct(imgs, n, &bytes, &stored, &count);
	printf("\n], \"totals\": {\"images\": %zu, \"layers\": %zu, \"size\": %lld,"
	       " \"distinct_layers\": %zu, \"distinct_size\": %lld, \"distinct_stored_size\": %lld}}\n",
	       n, layers, all, count, bytes, stored);
}

int layers_print(const struct layer_image *imgs, size_t n, int json, int human)
{
	if (json)
		print_json(imgs, n);
	else
		print_text(imgs, n, human);
	return fflush(stdout) ? -EIO : 0;
}
