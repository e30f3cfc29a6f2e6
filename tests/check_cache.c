/* This file contains the unit tests of the content cache (fs/build/cache_write.c, fs/store/frame.c)
 * through its own interface: the writer (open, add, drain, close) and the
 * frame reader.  Every piece the drain hands over is checked against the
 * bytes the test added, decoded once with libzstd directly (so a fault in
 * imgfs_cache_frame cannot hide one in the writer) and once with
 * imgfs_cache_frame; how files share frames is checked against the rule
 * the header states (files up to IMGFS_SMALL share, a shared frame closes
 * once it holds IMGFS_GROUP, everything else is a frame of its own). */
#include "build/cache_write_i.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "testutil.h"

static char *dir;   /* this test's temporary directory */
static char *path;  /* DIR/cache.zst */

static void setup(void)
{
	dir = tu_tmpdir();
	if (asprintf(&path, "%s/cache.zst", dir) < 0)
		abort();
}

static void teardown(void)
{
	tu_rm_rf(dir);
	free(dir);
	free(path);
}

/* ---- what the test added: the independent model ---- */

struct added {
	int64_t ino, idx;
	const unsigned char *data;  /* borrowed from the test */
	size_t len;
	int group;                  /* shared frame number by the header's rule, or -1 */
};

struct model {
	struct added a[256];
	size_t n;
	int groups;                 /* shared frames closed or open so far */
	size_t group_fill;          /* bytes in the open shared frame */
};

/* Records an add as the header describes it: a whole small file joins the
 * open shared frame, which closes once it holds IMGFS_GROUP bytes. */
static void model_add(struct model *m, int64_t ino, int64_t idx, const void *data, size_t len)
{
	struct added *a = &m->a[m->n++];

	ck_assert_uint_le(m->n, sizeof(m->a) / sizeof(m->a[0]));
	*a = (struct added){ .ino = ino, .idx = idx, .data = data, .len = len, .group = -1 };
	if (len <= IMGFS_SMALL && idx == 0) {
		a->group = m->groups;
		m->group_fill += len;
		if (m->group_fill >= IMGFS_GROUP) {
			m->groups++;
			m->group_fill = 0;
		}
	}
}

/* Adds through the writer and into the model; the add must succeed. */
static void add(struct imgfs_cache_writer *w, struct model *m, int64_t ino, int64_t idx,
		const void *data, size_t len)
{
	int rc = imgfs_cache_add(w, ino, idx, data, len);

	ck_assert_msg(rc == 0, "add of ino %lld idx %lld (%zu bytes): %d", (long long)ino,
		      (long long)idx, len, rc);
	model_add(m, ino, idx, data, len);
}

/* ---- what the drain handed over ---- */

struct got {
	struct imgfs_piece p[256];
	size_t n;
	int stop_at;   /* return RET on this call (1-based); 0: never */
	int ret;
	int calls;
};

static int collect(void *ctx, const struct imgfs_piece *p)
{
	struct got *g = ctx;

	g->calls++;
	if (g->stop_at && g->calls == g->stop_at)
		return g->ret;
	ck_assert_uint_lt(g->n, sizeof(g->p) / sizeof(g->p[0]));
	g->p[g->n++] = *p;
	return 0;
}

/* The whole cache file, read back after the writer closed. */
static unsigned char *slurp(size_t *len)
{
	return tu_read_file(path, len);
}

/* Checks every added piece arrived exactly once and decodes, both ways, to
 * the bytes added; pieces of one shared frame by the model share one frame
 * in the file, and nothing else shares.  The writer must be closed. */
static void verify(const struct model *m, const struct got *g)
{
	size_t flen, i, k;
	unsigned char *file = slurp(&flen);
	unsigned char *dec = malloc(IMGFS_CHUNK), *dec2 = malloc(IMGFS_CHUNK);
	unsigned char *scratch = malloc(ZSTD_compressBound(IMGFS_CHUNK));
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	int fd = open(path, O_RDONLY);

	ck_assert(dec && dec2 && scratch && dctx && fd >= 0);
	ck_assert_uint_eq(g->n, m->n);
	for (i = 0; i < m->n; i++) {
		const struct added *a = &m->a[i];
		const struct imgfs_piece *p = NULL;
		size_t d;
		ssize_t d2;

		for (k = 0; k < g->n; k++) {
			if (g->p[k].ino != a->ino || g->p[k].idx != a->idx)
				continue;
			ck_assert_msg(!p, "ino %lld idx %lld handed over twice", (long long)a->ino,
				      (long long)a->idx);
			p = &g->p[k];
		}
		ck_assert_msg(p, "ino %lld idx %lld never handed over", (long long)a->ino,
			      (long long)a->idx);
		ck_assert_uint_eq(p->len, a->len);
		ck_assert_uint_gt(p->csize, 0);
		ck_assert_uint_le((uint64_t)p->off + p->csize, flen);
		/* libzstd alone: the frame must be a whole zstd frame at OFF */
		ck_assert_uint_eq(ZSTD_findFrameCompressedSize(file + p->off, p->csize), p->csize);
		d = ZSTD_decompress(dec, IMGFS_CHUNK, file + p->off, p->csize);
		ck_assert_msg(!ZSTD_isError(d), "frame at %llu: %s", (unsigned long long)p->off,
			      ZSTD_getErrorName(d));
		ck_assert_uint_le((uint64_t)p->foff + p->len, d);
		ck_assert_msg(a->len == 0 || memcmp(dec + p->foff, a->data, a->len) == 0,
			      "ino %lld idx %lld: bytes differ", (long long)a->ino, (long long)a->idx);
		/* a frame of its own holds exactly its bytes */
		if (a->group < 0) {
			ck_assert_uint_eq(p->foff, 0);
			ck_assert_uint_eq(d, a->len);
		}
		/* the reader the read side uses agrees */
		d2 = imgfs_cache_frame(fd, p->off, p->csize, scratch, dec2, dctx);
		ck_assert_int_eq(d2, (ssize_t)d);
		ck_assert(memcmp(dec, dec2, d) == 0);
	}
	/* Sharing: two pieces share a frame exactly when the model put them
	 * into the same shared frame, and pieces of one frame do not overlap
	 * and fill it in the order they were added. */
	for (i = 0; i < m->n; i++) {
		for (k = i + 1; k < m->n; k++) {
			const struct imgfs_piece *pi = NULL, *pk = NULL;
			size_t j;
			int same_model = m->a[i].group >= 0 && m->a[i].group == m->a[k].group;

			for (j = 0; j < g->n; j++) {
				if (g->p[j].ino == m->a[i].ino && g->p[j].idx == m->a[i].idx)
					pi = &g->p[j];
				if (g->p[j].ino == m->a[k].ino && g->p[j].idx == m->a[k].idx)
					pk = &g->p[j];
			}
			ck_assert_msg((pi->off == pk->off) == same_model,
				      "ino %lld and ino %lld: same frame %d, expected %d",
				      (long long)m->a[i].ino, (long long)m->a[k].ino,
				      pi->off == pk->off, same_model);
			if (same_model)
				ck_assert_uint_le((uint64_t)pi->foff + pi->len, pk->foff);
		}
	}
	close(fd);
	ZSTD_freeDCtx(dctx);
	free(scratch);
	free(dec2);
	free(dec);
	free(file);
}

static void open_writer(struct imgfs_cache_writer *w, struct imgfs_err *err)
{
	int rc;

	memset(err, 0, sizeof(*err));
	rc = imgfs_cache_writer_open(w, path, err);
	ck_assert_msg(rc == 0, "open: %d %s", rc, err->msg);
}

static void drain_all_close(struct imgfs_cache_writer *w, struct got *g)
{
	ck_assert_int_eq(imgfs_cache_drain(w, 1, collect, g), 0);
	ck_assert_int_eq(imgfs_cache_writer_close(w), 0);
}

/* Thirty 10 000-byte files: frames close after the fourteenth and the
 * twenty-eighth file (the first fill of at least IMGFS_GROUP), the last two
 * share the frame the final drain closes. */
START_TEST(small_files_share)
{
	struct imgfs_cache_writer w;
	struct imgfs_err err;
	struct model m = { 0 };
	struct got g = { 0 };
	unsigned char *data = tu_random(30 * 10000, 1);
	int i;

	open_writer(&w, &err);
	for (i = 0; i < 30; i++)
		add(&w, &m, 100 + i, 0, data + i * 10000, 10000);
	drain_all_close(&w, &g);
	ck_assert_int_eq(m.groups, 2); /* the model itself: two closed, one open */
	verify(&m, &g);
	free(data);
}
END_TEST

/* The size limits: IMGFS_SMALL bytes still share, one byte more does not,
 * and a small later chunk of a large file (idx > 0) never shares. */
START_TEST(small_limit)
{
	struct imgfs_cache_writer w;
	struct imgfs_err err;
	struct model m = { 0 };
	struct got g = { 0 };
	unsigned char *data = tu_random(4 * IMGFS_SMALL + 200, 2);

	open_writer(&w, &err);
	add(&w, &m, 1, 0, data, 100);
	add(&w, &m, 2, 0, data + 100, IMGFS_SMALL);
	add(&w, &m, 3, 0, data + 200, IMGFS_SMALL + 1);
	add(&w, &m, 4, 1, data + 300, 100);
	add(&w, &m, 5, 0, data + 400, 50);
	drain_all_close(&w, &g);
	verify(&m, &g);
	free(data);
}
END_TEST

/* A 2.5 MiB file handed over as IMGFS_CHUNK chunks, with small files around
 * it: each chunk a frame of its own, the small files before and after it
 * still in one shared frame. */
START_TEST(large_file_chunks)
{
	struct imgfs_cache_writer w;
	struct imgfs_err err;
	struct model m = { 0 };
	struct got g = { 0 };
	size_t big = 2 * IMGFS_CHUNK + IMGFS_CHUNK / 2, off;
	unsigned char *data = tu_random(big, 3), *small = tu_random(3000, 4);
	int64_t idx = 0;

	open_writer(&w, &err);
	add(&w, &m, 10, 0, small, 1000);
	for (off = 0; off < big; off += IMGFS_CHUNK, idx++)
		add(&w, &m, 11, idx, data + off, big - off < IMGFS_CHUNK ? big - off : IMGFS_CHUNK);
	add(&w, &m, 12, 0, small + 1000, 2000);
	drain_all_close(&w, &g);
	ck_assert_int_eq(idx, 3);
	verify(&m, &g);
	free(small);
	free(data);
}
END_TEST

/* An empty file among small ones is a piece of length 0 in the shared
 * frame; an empty later chunk is a frame of its own that decodes to
 * nothing; a drain with nothing added calls nothing. */
START_TEST(empty_data)
{
	struct imgfs_cache_writer w;
	struct imgfs_err err;
	struct model m = { 0 };
	struct got g = { 0 };
	unsigned char *data = tu_random(200, 5);

	open_writer(&w, &err);
	ck_assert_int_eq(imgfs_cache_drain(&w, 1, collect, &g), 0);
	ck_assert_int_eq(g.calls, 0);
	add(&w, &m, 1, 0, data, 100);
	add(&w, &m, 2, 0, data, 0);
	add(&w, &m, 3, 0, data + 100, 100);
	add(&w, &m, 4, 7, data, 0);
	drain_all_close(&w, &g);
	verify(&m, &g);
	free(data);
}
END_TEST

/* A shared frame that holds only empty files when the final drain comes
 * is still submitted (the drain goes by its pieces, not its bytes), so
 * their pieces are handed over too. */
START_TEST(empty_only)
{
	struct imgfs_cache_writer w;
	struct imgfs_err err;
	struct model m = { 0 };
	struct got g = { 0 };
	char none = 0;

	open_writer(&w, &err);
	add(&w, &m, 1, 0, &none, 0);
	drain_all_close(&w, &g);
	verify(&m, &g);
}
END_TEST

/* Forty 1 MiB frames queued with only two partial drains between them:
 * the writer must never hold more than IMGFS_INFLIGHT of them, must not
 * deadlock, and the drains (partial and final) must hand every piece over
 * once. */
START_TEST(many_frames)
{
	struct imgfs_cache_writer w;
	struct imgfs_err err;
	struct model m = { 0 };
	struct got g = { 0 };
	unsigned char *data = tu_random(40 * (size_t)IMGFS_CHUNK, 6);
	int i;

	open_writer(&w, &err);
	for (i = 0; i < 40; i++) {
		int now;

		add(&w, &m, 1000 + i, 1, data + (size_t)i * IMGFS_CHUNK, IMGFS_CHUNK);
		pthread_mutex_lock(&w.lock);
		now = w.inflight;
		pthread_mutex_unlock(&w.lock);
		ck_assert_int_le(now, IMGFS_INFLIGHT);
		if (i == 20 || i == 30)
			ck_assert_int_eq(imgfs_cache_drain(&w, 0, collect, &g), 0);
	}
	drain_all_close(&w, &g);
	verify(&m, &g);
	free(data);
}
END_TEST

/* Back-pressure, made deterministic: the compressing threads are parked in
 * a signal handler (they are idle in their condition wait when the signal
 * comes, so they hold no lock), a second thread adds more than
 * IMGFS_INFLIGHT frames, and it must stop after exactly IMGFS_INFLIGHT and
 * go on once the threads are let go. */
static atomic_int parked, unpark;

static void park(int sig)
{
	struct timespec ms = { 0, 1000000 };

	(void)sig;
	atomic_fetch_add(&parked, 1);
	while (!atomic_load(&unpark))
		nanosleep(&ms, NULL);
}

struct adder {
	struct imgfs_cache_writer *w;
	const unsigned char *data;
	int n;
	atomic_int added;
	int rc;
};

static void *adder_run(void *arg)
{
	struct adder *a = arg;
	int i;

	for (i = 0; i < a->n && a->rc == 0; i++) {
		a->rc = imgfs_cache_add(a->w, 2000 + i, 1, a->data + (size_t)i * 100000, 100000);
		atomic_fetch_add(&a->added, 1);
	}
	return NULL;
}

static int inflight(struct imgfs_cache_writer *w)
{
	int n;

	pthread_mutex_lock(&w->lock);
	n = w->inflight;
	pthread_mutex_unlock(&w->lock);
	return n;
}

START_TEST(back_pressure)
{
	struct imgfs_cache_writer w;
	struct imgfs_err err;
	struct model m = { 0 };
	struct got g = { 0 };
	struct sigaction sa = { .sa_handler = park }, old;
	struct timespec ms = { 0, 1000000 };
	struct adder a = { .w = &w, .n = IMGFS_INFLIGHT + 4 };
	unsigned char *data = tu_random((size_t)a.n * 100000, 10);
	pthread_t t;
	int i, k;

	a.data = data;
	atomic_store(&parked, 0);
	atomic_store(&unpark, 0);
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, &old), 0);
	open_writer(&w, &err);
	ck_assert_int_eq(w.started, IMGFS_CACHE_THREADS);
	nanosleep(&(struct timespec){ 0, 50000000 }, NULL); /* let them reach their wait */
	for (i = 0; i < w.started; i++)
		ck_assert_int_eq(pthread_kill(w.thread[i], SIGUSR1), 0);
	for (k = 0; atomic_load(&parked) < w.started && k < 5000; k++)
		nanosleep(&ms, NULL);
	ck_assert_int_eq(atomic_load(&parked), w.started);
	ck_assert_int_eq(pthread_create(&t, NULL, adder_run, &a), 0);
	for (k = 0; inflight(&w) < IMGFS_INFLIGHT && k < 5000; k++)
		nanosleep(&ms, NULL);
	ck_assert_int_eq(inflight(&w), IMGFS_INFLIGHT);
	/* the adder is now stuck in add number IMGFS_INFLIGHT + 1 */
	nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	ck_assert_int_eq(atomic_load(&a.added), IMGFS_INFLIGHT);
	ck_assert_int_eq(inflight(&w), IMGFS_INFLIGHT);
	atomic_store(&unpark, 1);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(a.rc, 0);
	ck_assert_int_eq(atomic_load(&a.added), a.n);
	for (i = 0; i < a.n; i++)
		model_add(&m, 2000 + i, 1, data + (size_t)i * 100000, 100000);
	drain_all_close(&w, &g);
	sigaction(SIGUSR1, &old, NULL);
	verify(&m, &g);
	free(data);
}
END_TEST

/* Writes one shared frame and one own frame, closes, and returns their
 * pieces in G (shared first). */
static void two_frames(struct got *g, unsigned char **data)
{
	struct imgfs_cache_writer w;
	struct imgfs_err err;

	*data = tu_random(200000, 7);
	open_writer(&w, &err);
	ck_assert_int_eq(imgfs_cache_add(&w, 1, 0, *data, 5000), 0);
	ck_assert_int_eq(imgfs_cache_add(&w, 2, 1, *data + 5000, 150000), 0);
	drain_all_close(&w, g);
	ck_assert_uint_eq(g->n, 2);
	if (g->p[0].ino != 1) {
		struct imgfs_piece t = g->p[0];

		g->p[0] = g->p[1];
		g->p[1] = t;
	}
	ck_assert_int_eq(g->p[0].ino, 1);
}

static ssize_t frame_at(const struct imgfs_piece *p, unsigned char *dst)
{
	unsigned char *scratch = malloc(ZSTD_compressBound(IMGFS_CHUNK));
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	int fd = open(path, O_RDONLY);
	ssize_t n;

	ck_assert(scratch && dctx && fd >= 0);
	n = imgfs_cache_frame(fd, p->off, p->csize, scratch, dst, dctx);
	close(fd);
	ZSTD_freeDCtx(dctx);
	free(scratch);
	return n;
}

/* One flipped bit in the middle of the second frame: that frame is -EIO
 * (the frames carry a checksum), the first still decodes. */
START_TEST(corrupt_frame)
{
	struct got g = { 0 };
	unsigned char *data, *dst = malloc(IMGFS_CHUNK), byte;
	uint64_t at;
	int fd;

	two_frames(&g, &data);
	ck_assert_int_eq(frame_at(&g.p[1], dst), 150000);
	ck_assert(memcmp(dst, data + 5000, 150000) == 0);
	at = g.p[1].off + g.p[1].csize / 2;
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &byte, 1, (off_t)at), 1);
	byte ^= 0x10;
	ck_assert_int_eq(pwrite(fd, &byte, 1, (off_t)at), 1);
	close(fd);
	ck_assert_int_eq(frame_at(&g.p[1], dst), -EIO);
	ck_assert_int_eq(frame_at(&g.p[0], dst), 5000);
	ck_assert(memcmp(dst, data, 5000) == 0);
	free(dst);
	free(data);
}
END_TEST

/* The cache file cut one byte short of the frame that ends last: -EIO,
 * not a short decode. */
START_TEST(truncated_file)
{
	struct got g = { 0 };
	unsigned char *data, *dst = malloc(IMGFS_CHUNK);
	const struct imgfs_piece *last;

	two_frames(&g, &data);
	last = g.p[0].off > g.p[1].off ? &g.p[0] : &g.p[1];
	ck_assert_int_eq(frame_at(last, dst), (ssize_t)last->len);
	ck_assert_int_eq(truncate(path, (off_t)(last->off + last->csize - 1)), 0);
	ck_assert_int_eq(frame_at(last, dst), -EIO);
	/* and a frame beyond the end altogether */
	ck_assert_int_eq(truncate(path, (off_t)last->off), 0);
	ck_assert_int_eq(frame_at(last, dst), -EIO);
	free(dst);
	free(data);
}
END_TEST

/* A cache path in a directory that does not exist: -ENOENT from open, with
 * the error set and naming the path. */
START_TEST(open_error)
{
	struct imgfs_cache_writer w;
	struct imgfs_err err;
	char *bad;
	int rc;

	if (asprintf(&bad, "%s/no/such/dir/cache.zst", dir) < 0)
		abort();
	memset(&err, 0, sizeof(err));
	rc = imgfs_cache_writer_open(&w, bad, &err);
	ck_assert_int_eq(rc, -ENOENT);
	ck_assert_int_eq(err.code, -ENOENT);
	ck_assert_msg(strstr(err.msg, bad), "message \"%s\" lacks the path", err.msg);
	ck_assert_int_eq(access(bad, F_OK), -1);
	/* the writer's own resources were made before the open failed */
	pthread_mutex_destroy(&w.lock);
	pthread_cond_destroy(&w.wake);
	free(bad);
}
END_TEST

/* Every write fails (/dev/full: ENOSPC): the drain reports -ENOSPC with
 * the error set, hands over no piece with a frame that was never written,
 * and later adds fail too. */
START_TEST(write_error)
{
	struct imgfs_cache_writer w;
	struct imgfs_err err;
	struct got g = { 0 };
	unsigned char *data = tu_random(200000, 8);
	int rc, i;

	if (access("/dev/full", W_OK) != 0)
		return; /* nothing to fail writes with here */
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(imgfs_cache_writer_open(&w, "/dev/full", &err), 0);
	ck_assert_int_eq(imgfs_cache_add(&w, 1, 1, data, 150000), 0);
	rc = imgfs_cache_drain(&w, 1, collect, &g);
	ck_assert_int_eq(rc, -ENOSPC);
	ck_assert_int_eq(err.code, -ENOSPC);
	ck_assert_msg(strstr(err.msg, "/dev/full"), "message \"%s\" lacks the path", err.msg);
	ck_assert_int_eq(g.calls, 0);
	/* the writer stays failed: the next frame is refused */
	memset(&err, 0, sizeof(err));
	for (i = 0, rc = 0; i < 2 * IMGFS_INFLIGHT && rc == 0; i++)
		rc = imgfs_cache_add(&w, 2 + i, 1, data, 150000);
	ck_assert_int_eq(rc, -ENOSPC);
	ck_assert_int_eq(err.code, -ENOSPC);
	imgfs_cache_writer_close(&w);
	free(data);
}
END_TEST

/* A drain callback that returns non-zero stops the drain: no further call,
 * and its value returned as is (positive or negative). */
START_TEST(callback_stops)
{
	static const int rets[] = { 7, -ECANCELED };
	size_t r;

	for (r = 0; r < sizeof(rets) / sizeof(rets[0]); r++) {
		struct imgfs_cache_writer w;
		struct imgfs_err err;
		struct got g = { .stop_at = 2, .ret = rets[r] };
		unsigned char *data = tu_random(4 * 100000, 9);
		int i;

		open_writer(&w, &err);
		for (i = 0; i < 4; i++)
			ck_assert_int_eq(imgfs_cache_add(&w, i + 1, 1, data + i * 100000, 100000), 0);
		ck_assert_int_eq(imgfs_cache_drain(&w, 1, collect, &g), rets[r]);
		ck_assert_int_eq(g.calls, 2);
		ck_assert_uint_eq(g.n, 1);
		ck_assert_int_eq(imgfs_cache_writer_close(&w), 0);
		free(data);
	}
}
END_TEST

static Suite *cache_suite(void)
{
	Suite *s = suite_create("cache");
	TCase *wr = tcase_create("writer"), *rd = tcase_create("reader");

	tcase_add_checked_fixture(wr, setup, teardown);
	tcase_add_checked_fixture(rd, setup, teardown);
	tcase_set_timeout(wr, 60);
	tcase_set_timeout(rd, 60);
	tcase_add_test(wr, small_files_share);
	tcase_add_test(wr, small_limit);
	tcase_add_test(wr, large_file_chunks);
	tcase_add_test(wr, empty_data);
	tcase_add_test(wr, empty_only);
	tcase_add_test(wr, many_frames);
	tcase_add_test(wr, back_pressure);
	tcase_add_test(wr, open_error);
	tcase_add_test(wr, write_error);
	tcase_add_test(wr, callback_stops);
	tcase_add_test(rd, corrupt_frame);
	tcase_add_test(rd, truncated_file);
	suite_add_tcase(s, wr);
	suite_add_tcase(s, rd);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cache_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
