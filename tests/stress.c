/* This file contains the load test of a mount: THREADS threads read random
 * files of MNT at random offsets and lengths for SECONDS, and compare every
 * byte with the same range of the reference copy under REF.
 *
 * usage: stress MNT REF SECONDS [THREADS]
 * Prints the reads and bytes verified; exits 1 at the first difference or
 * failed read (naming file, offset and length), 0 otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_READ (256 * 1024)

struct file {
	char *rel;
	off_t size;
};

static struct file *files;
static size_t n_files;
static const char *mnt, *ref;
static size_t ref_len;
static double deadline;
static atomic_ullong bytes_ok, reads_ok;
static atomic_int failed;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int add(const char *path, const struct stat *st, int type, struct FTW *f)
{
	struct file *v;

	(void)f;
	if (type != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	v = realloc(files, (n_files + 1) * sizeof(*files));
	if (!v)
		return -1;
	files = v;
	files[n_files].rel = strdup(path + ref_len + 1);
	files[n_files].size = st->st_size;
	n_files++;
	return 0;
}

/* xorshift64*: one state per thread, no shared RNG. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static ssize_t read_all(int fd, char *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, off + (off_t)done);

		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static void *worker(void *arg)
{
	uint64_t seed = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1;
	char *a = malloc(MAX_READ), *b = malloc(MAX_READ);
	char path[8192];

	if (!a || !b)
		abort();
	while (!atomic_load(&failed) && now() < deadline) {
		struct file *f = &files[rnd(&seed) % n_files];
		size_t len = (size_t)(rnd(&seed) % MAX_READ) + 1;
		off_t off = f->size ? (off_t)(rnd(&seed) % (uint64_t)(f->size + 1)) : 0;
		ssize_t na, nb;
		int fa, fb;

		/* a third of the reads go right up to the end of the file */
		if (rnd(&seed) % 3 == 0 && f->size > (off_t)len)
			off = f->size - (off_t)len + (off_t)(rnd(&seed) % 2);
		snprintf(path, sizeof(path), "%s/%s", mnt, f->rel);
		fa = open(path, O_RDONLY);
		snprintf(path, sizeof(path), "%s/%s", ref, f->rel);
		fb = open(path, O_RDONLY);
		if (fa < 0 || fb < 0) {
			fprintf(stderr, "stress: open %s: %s\n", f->rel, strerror(errno));
			atomic_store(&failed, 1);
			break;
		}
		na = read_all(fa, a, len, off);
		nb = read_all(fb, b, len, off);
		close(fa);
		close(fb);
		if (na < 0 || na != nb || memcmp(a, b, (size_t)na) != 0) {
			fprintf(stderr, "stress: %s at %lld, %zu bytes: got %zd, want %zd%s\n", f->rel,
				(long long)off, len, na, nb,
				na == nb ? " (different bytes)" : "");
			atomic_store(&failed, 1);
			break;
		}
		atomic_fetch_add(&bytes_ok, (unsigned long long)na);
		atomic_fetch_add(&reads_ok, 1);
	}
	free(a);
	free(b);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t *t;
	int threads, i;
	double secs, t0;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: stress MNT REF SECONDS [THREADS]\n");
		return 2;
	}
	mnt = argv[1];
	ref = argv[2];
	ref_len = strlen(ref);
	secs = atof(argv[3]);
	threads = argc == 5 ? atoi(argv[4]) : 16;
	if (threads < 1 || secs <= 0) {
		fprintf(stderr, "stress: bad SECONDS or THREADS\n");
		return 2;
	}
	if (nftw(ref, add, 32, FTW_PHYS) != 0 || n_files == 0) {
		fprintf(stderr, "stress: no regular files under %s\n", ref);
		return 2;
	}
	t = calloc((size_t)threads, sizeof(*t));
	if (!t)
		return 1;
	t0 = now();
	deadline = t0 + secs;
	for (i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1)) != 0) {
			fprintf(stderr, "stress: pthread_create failed\n");
			return 1;
		}
	for (i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	printf("stress: %d threads, %.1f s, %zu files: %llu reads, %llu bytes verified%s\n", threads,
	       now() - t0, n_files, (unsigned long long)reads_ok, (unsigned long long)bytes_ok,
	       atomic_load(&failed) ? ", FAILED" : "");
	for (size_t k = 0; k < n_files; k++)
		free(files[k].rel);
	free(files);
	free(t);
	return atomic_load(&failed) ? 1 : 0;
}
