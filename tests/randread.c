/* randread: concurrent random-offset reads of a mount checked against a
 * reference tree (used by scripts/bench-compressed; not a test).
 *
 *   randread [-t THREADS] [-k READS] [-m MAXLEN] [-s SEED] LIST MNT REF
 *
 * LIST holds one path a line, relative to both MNT and REF. Every file of
 * the list is visited once, in a random order shared out among THREADS
 * threads (default 8); on each file a thread makes READS preads (default
 * 4) at random offsets with random lengths up to MAXLEN (default 256 KiB),
 * one of them always ending at EOF, from MNT and from REF, and compares the
 * bytes. Prints the files, reads and bytes verified; exit 1 on any
 * mismatch or read error, 2 on bad usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char **paths;
static size_t npaths;
static size_t *order;
static atomic_size_t next_file;
static atomic_ullong bytes_ok, reads_ok, files_ok, failures;
static const char *mnt_root, *ref_root;
static int reads_per_file = 4;
static size_t maxlen = 256 * 1024;
static unsigned long long seed = 1;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t rnd(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void fail(const char *path, const char *what, off_t off, size_t len)
{
	if (atomic_fetch_add(&failures, 1) < 20) {
		pthread_mutex_lock(&out_lock);
		fprintf(stderr, "randread: %s: %s at offset %lld length %zu\n", path, what,
			(long long)off, len);
		pthread_mutex_unlock(&out_lock);
	}
}

static ssize_t pread_full(int fd, char *buf, size_t len, off_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, off + (off_t)done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static void *worker(void *arg)
{
	uint64_t s = seed * 1000003u + (uintptr_t)arg;
	char *a = malloc(maxlen), *b = malloc(maxlen);
	char mp[8192], rp[8192];

	if (!a || !b) {
		fail("-", "out of memory", 0, maxlen);
		return NULL;
	}
	for (;;) {
		size_t i = atomic_fetch_add(&next_file, 1);
		if (i >= npaths)
			break;
		const char *p = paths[order[i]];
		snprintf(mp, sizeof mp, "%s/%s", mnt_root, p);
		snprintf(rp, sizeof rp, "%s/%s", ref_root, p);
		int rf = open(rp, O_RDONLY | O_CLOEXEC);
		if (rf < 0)
			continue; /* not in the reference: not ours to judge */
		int mf = open(mp, O_RDONLY | O_CLOEXEC);
		if (mf < 0) {
			fail(p, strerror(errno), 0, 0);
			close(rf);
			continue;
		}
		struct stat st;
		fstat(rf, &st);
		off_t size = st.st_size;
		int bad = 0;
		for (int k = 0; k < reads_per_file && !bad; k++) {
			size_t len = (size_t)(rnd(&s) % maxlen) + 1;
			off_t off;
			if (k == 0) /* one read ending at EOF */
				off = size > (off_t)len ? size - (off_t)len : 0;
			else
				off = size ? (off_t)(rnd(&s) % (uint64_t)size) : 0;
			ssize_t na = pread_full(mf, a, len, off);
			ssize_t nb = pread_full(rf, b, len, off);
			if (na < 0) {
				fail(p, strerror(errno), off, len);
				bad = 1;
			} else if (na != nb) {
				fail(p, "short or long read", off, len);
				bad = 1;
			} else if (memcmp(a, b, (size_t)na)) {
				fail(p, "bytes differ", off, len);
				bad = 1;
			} else {
				atomic_fetch_add(&bytes_ok, (unsigned long long)na);
				atomic_fetch_add(&reads_ok, 1);
			}
		}
		if (!bad)
			atomic_fetch_add(&files_ok, 1);
		close(mf);
		close(rf);
	}
	free(a);
	free(b);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = 8, c;
	while ((c = getopt(argc, argv, "t:k:m:s:")) != -1) {
		switch (c) {
		case 't': threads = atoi(optarg); break;
		case 'k': reads_per_file = atoi(optarg); break;
		case 'm': maxlen = strtoull(optarg, NULL, 10); break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		default: goto usage;
		}
	}
	if (argc - optind != 3 || threads < 1 || threads > 1024 || reads_per_file < 1 || maxlen < 1)
		goto usage;
	mnt_root = argv[optind + 1];
	ref_root = argv[optind + 2];

	FILE *f = fopen(argv[optind], "r");
	if (!f) {
		perror(argv[optind]);
		return 2;
	}
	size_t cap = 0;
	char *line = NULL;
	size_t n = 0;
	ssize_t len;
	while ((len = getline(&line, &n, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = 0;
		if (!len)
			continue;
		if (npaths == cap) {
			cap = cap ? cap * 2 : 1024;
			paths = realloc(paths, cap * sizeof *paths);
			if (!paths)
				return 1;
		}
		paths[npaths++] = strdup(line);
	}
	free(line);
	fclose(f);

	order = malloc((npaths + 1) * sizeof *order);
	if (!order)
		return 1;
	uint64_t s = seed;
	for (size_t i = 0; i < npaths; i++)
		order[i] = i;
	for (size_t i = npaths; i > 1; i--) {
		size_t j = (size_t)(rnd(&s) % i);
		size_t t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}

	pthread_t *tid = calloc((size_t)threads, sizeof *tid);
	for (int i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, worker, (void *)(uintptr_t)i);
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);

	printf("randread: %d threads, %llu files, %llu reads, %llu bytes verified, %llu failures\n",
	       threads, (unsigned long long)files_ok, (unsigned long long)reads_ok,
	       (unsigned long long)bytes_ok, (unsigned long long)failures);
	return failures ? 1 : 0;
usage:
	fprintf(stderr, "usage: randread [-t THREADS] [-k READS] [-m MAXLEN] [-s SEED] LIST MNT REF\n");
	return 2;
}
