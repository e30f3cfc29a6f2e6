/* This file contains the imgfs command: mount (also as the mount helper of
 * mount -t fuse.imgfs), umount, index and layers; check, packages and
 * verify are in their own files, every usage text in usage.c. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <locale.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "check.h"
#include "imgfs/fuse_ops.h"
#include "imgfs/imgfs.h"
#include "json.h"
#include "mounted.h"
#include "packages.h"
#include "usage.h"
#include "verify.h"

#define EXIT_RUNTIME 1
#define EXIT_INPUT 2

/* The command being run, whose usage a bad command line prints (all of
 * them when NULL: no command, or an unknown one). */
static const char *current;

static int usage(int code)
{
	return imgfs_usage(current, code);
}

static int fail(const struct imgfs_err *err, int rc)
{
	fprintf(stderr, "imgfs: %s\n", err->msg[0] ? err->msg : strerror(-rc));
	return err->input ? EXIT_INPUT : EXIT_RUNTIME;
}

/* Sanity limit on the -o options: mount(8) passes a few dozen bytes. */
#define MOUNT_OPTS_MAX 4096

struct cmdline {
	struct imgfs_opts o;
	char mount_opts[MOUNT_OPTS_MAX]; /* what is left for libfuse after filter_opts */
	char raw_opts[MOUNT_OPTS_MAX];   /* every -o, joined with commas */
	int foreground, debug, json, verbose;
	int human;                       /* -h, --human-readable (layers) */
	int stack;                       /* -o stack: mount over an imgfs mount */
	int nargs;
	char **args;
};

/* -o options that mount(8) and mount.fuse3 pass, or fstab lines carry,
 * that mean nothing to a read-only FUSE mount or that imgfs always sets
 * (ro, nosuid, nodev): dropped before libfuse sees them, which would
 * refuse some (nofail, _netdev, user, defaults) and obey others (suid,
 * dev) that imgfs does not grant. */
static const char *const dropped_opts[] = {
	"ro", "dev", "nodev", "suid", "nosuid", "exec", "nofail", "_netdev", "user", "users",
	"nouser", "owner", "group", "noauto", "auto", "defaults", "async", "atime", "noatime",
	"relatime", "norelatime", "strictatime", NULL,
};

/* Set by a command whose sizes -h shows in human units (layers): there -h
 * is --human-readable, as for du and ls; elsewhere it is --help. */
static int h_is_human;

/* Splits the raw -o string of C: our own key=value forms set C->o, the
 * options in dropped_opts go, "rw" is refused, and the rest (allow_other,
 * noexec, max_read=...) is kept in C->mount_opts for libfuse.  Returns 0,
 * or -1 after a message on stderr (bad usage). */
static int filter_opts(struct cmdline *c)
{
	static const struct {
		const char *key;
		size_t off;
	} ours[] = {
		{ "image=", offsetof(struct imgfs_opts, image_name) },
		{ "platform=", offsetof(struct imgfs_opts, platform) },
		{ "index=", offsetof(struct imgfs_opts, index_path) },
		{ "cache_dir=", offsetof(struct imgfs_opts, cache_dir) },
		{ "cache-dir=", offsetof(struct imgfs_opts, cache_dir) },
	};
	char *opt, *save = NULL;
	size_t i, used = 0;

	c->mount_opts[0] = '\0';
	for (opt = strtok_r(c->raw_opts, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		int drop = 0;

		if (!strcmp(opt, "rw")) {
			fprintf(stderr, "imgfs: %s: -o rw: %s: imgfs mounts images read-only (use -o ro)\n",
				c->nargs > 1 ? c->args[1] : "mount", strerror(EROFS));
			return -1;
		}
		for (i = 0; dropped_opts[i]; i++)
			drop |= !strcmp(opt, dropped_opts[i]);
		/* x-systemd.*, x-gvfs-*, comment=: for other programs reading fstab */
		drop |= !strncmp(opt, "x-", 2) || !strncmp(opt, "comment=", 8);
		if (!strcmp(opt, "rebuild")) {
			c->o.force = 1;
			drop = 1;
		}
		if (!strcmp(opt, "stack")) {
			c->stack = 1;
			drop = 1;
		}
		for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
			size_t n = strlen(ours[i].key);

			if (!strncmp(opt, ours[i].key, n)) {
				if (!opt[n]) {
					fprintf(stderr, "imgfs: -o %s needs a value\n", opt);
					return -1;
				}
				*(const char **)((char *)&c->o + ours[i].off) = opt + n;
				drop = 1;
			}
		}
		if (drop)
			continue;
		if (used + strlen(opt) + 2 > sizeof(c->mount_opts)) {
			fprintf(stderr, "imgfs: -o: too many options\n");
			return -1;
		}
		used += (size_t)sprintf(c->mount_opts + used, "%s%s", used ? "," : "", opt);
	}
	return 0;
}

static int parse(int argc, char **argv, struct cmdline *c, int for_mount)
{
	enum { O_IMAGE = 256, O_PLATFORM, O_INDEX, O_CACHE, O_REBUILD, O_JSON, O_HELP, O_HUMAN };
	static const struct option lopts[] = {
		{ "image", required_argument, NULL, O_IMAGE },
		{ "platform", required_argument, NULL, O_PLATFORM },
		{ "index", required_argument, NULL, O_INDEX },
		{ "cache-dir", required_argument, NULL, O_CACHE },
		{ "rebuild", no_argument, NULL, O_REBUILD },
		{ "json", no_argument, NULL, O_JSON },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, O_HELP },
		{ "human-readable", no_argument, NULL, O_HUMAN },
		{ NULL, 0, NULL, 0 },
	};
	size_t used = 0;
	int ch;

	memset(c, 0, sizeof(*c));
	optind = 1;
	/* No '+': options may follow IMAGE (GNU permutation), as mount.fuse3
	 * puts -o after the mount point. */
	while ((ch = getopt_long(argc, argv, for_mount ? "fdo:qvh" : "qvh", lopts, NULL)) != -1) {
		switch (ch) {
		case 'f': c->foreground = 1; break;
		case 'd': c->debug = c->foreground = 1; break;
		case 'o':
			if (used + strlen(optarg) + 2 > sizeof(c->raw_opts)) {
				fprintf(stderr, "imgfs: -o: too many options\n");
				return -1;
			}
			used += (size_t)sprintf(c->raw_opts + used, "%s%s", used ? "," : "", optarg);
			break;
		case 'q': c->o.quiet = 1; c->verbose = 0; break;
		case 'v': c->verbose = 1; c->o.quiet = 0; break;
		case O_IMAGE: c->o.image_name = optarg; break;
		case O_PLATFORM: c->o.platform = optarg; break;
		case O_INDEX: c->o.index_path = optarg; break;
		case O_CACHE: c->o.cache_dir = optarg; break;
		case O_REBUILD: c->o.force = 1; break;
		case O_JSON:
			if (for_mount)
				return -1;
			c->json = 1;
			break;
		case 'h':
			if (h_is_human) {
				c->human = 1;
				break;
			}
			exit(usage(0));
		case O_HUMAN:
			if (!h_is_human)
				return -1;
			c->human = 1;
			break;
		case O_HELP: exit(usage(0));
		default: return -1;
		}
	}
	c->nargs = argc - optind;
	c->args = argv + optind;
	/* --verbose, or IMGFS_TIMING in the environment: the phase times */
	if (c->verbose || getenv("IMGFS_TIMING"))
		c->o.timing = 1;
	/* images that really hold huge zero files */
	if (getenv("IMGFS_MAX_RATIO") && atoll(getenv("IMGFS_MAX_RATIO")) > 0)
		c->o.max_ratio = (uint64_t)atoll(getenv("IMGFS_MAX_RATIO"));
	return 0;
}

/* ---- the progress line ---- */

struct progress {
	const char *name;  /* the image, as given */
	double t0;
	int drawn;         /* something is on the line: clear it at the end */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Formats N bytes as "12.3 MiB" into BUF. */
static const char *human(char *buf, size_t len, double n)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	while (n >= 1024 && u < 4) {
		n /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", n, unit[u]);
	return buf;
}

/* The opts.progress callback: one line on stderr, redrawn in place. */
static void draw_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	double el = now() - p->t0, rate = el > 0 ? (double)done / el : 0;
	char a[32], b[32], r[32], left[32] = "";
	const char *base = strrchr(p->name, '/');

	base = base && base[1] ? base + 1 : p->name;
	if (rate > 0 && total >= done && el >= 0.5) {
		double s = (double)(total - done) / rate;

		snprintf(left, sizeof(left), ", %d:%02d left", (int)(s / 60), (int)s % 60);
	}
	fprintf(stderr, "\r\033[Kimgfs: indexing %.60s: %s of %s (%d%%), %s/s%s", base,
		human(a, sizeof(a), (double)done), human(b, sizeof(b), (double)total),
		total ? (int)(done * 100 / total) : 100, human(r, sizeof(r), rate), left);
	fflush(stderr);
	p->drawn = 1;
}

/* imgfs_index_prepare with the progress line when stderr is a terminal
 * and --quiet is not given, and the build summary on stderr with
 * --verbose.  Returns what imgfs_index_prepare returns. */
static int prepare(struct cmdline *c, struct imgfs_build_info *info, struct imgfs_err *err)
{
	struct progress p = { .name = c->o.image, .t0 = now() };
	int rc;

	if (!c->o.quiet && isatty(STDERR_FILENO)) {
		c->o.progress = draw_progress;
		c->o.progress_ctx = &p;
	}
	rc = imgfs_index_prepare(&c->o, info, err);
	if (p.drawn)
		fputs("\r\033[K", stderr);
	c->o.progress = NULL;
	if (info->damaged && !c->o.quiet)
		fprintf(stderr, "imgfs: %s: the index was damaged (its checksum did not match): rebuilt\n",
			info->index_path);
	if (rc == 0 && c->verbose)
		fprintf(stderr, "imgfs: index %s %s in %.3f s: %llu layers, %llu tar entries, %llu inodes\n",
			info->index_path, info->reused ? "reused" : "built", info->seconds,
			(unsigned long long)info->layers, (unsigned long long)info->entries,
			(unsigned long long)info->inodes);
	return rc;
}

/* Ctrl-C or a kill during a build: remove its files, then die of the
 * signal as if there were no handler (the shell sees why). */
static void on_fatal_signal(int sig)
{
	imgfs_index_interrupted();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ---- the commands ---- */

static int cmd_mount(int argc, char **argv)
{
	static struct cmdline c; /* 8 KiB of option buffers: not on the stack */
	struct imgfs_build_info info;
	struct imgfs_err err = { 0 };
	struct imgfs_mount_opts mo = { 0 };
	struct imgfs_fs *fs = NULL;
	struct stat st;
	static char source[PATH_MAX]; /* the mount table's source; outlives the mount */
	int rc;

	if (parse(argc, argv, &c, 1) || c.nargs != 2)
		return usage(EXIT_INPUT);
	if (filter_opts(&c))
		return EXIT_INPUT;
	c.o.image = c.args[0];
	if (stat(c.args[1], &st) != 0) {
		fprintf(stderr, "imgfs: %s: mount point %s\n", c.args[1],
			errno == ENOENT ? "does not exist" : strerror(errno));
		return EXIT_INPUT;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "imgfs: %s: mount point is not a directory\n", c.args[1]);
		return EXIT_INPUT;
	}
	{
		char src[PATH_MAX];

		/* as mount(8) refuses a busy target: a second mount would hide
		 * the first */
		if (!c.stack && imgfs_tool_mounted(c.args[1], src, sizeof(src)) == 1) {
			fprintf(stderr, "imgfs: %s: already an imgfs mount (of %s): unmount it first, "
				"or -o stack to mount over it\n", c.args[1], src);
			return EXIT_INPUT;
		}
	}
	/* the shared lock on the index that imgfs cache prune respects */
	c.o.hold = 1;
	rc = prepare(&c, &info, &err);
	if (rc)
		return fail(&err, rc);
	/* From here the mount's own handlers (libfuse installs them only over
	 * the default ones) unmount cleanly on these signals. */
	{
		static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
		size_t i;

		for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
			struct sigaction cur;

			if (sigaction(sigs[i], NULL, &cur) == 0 && cur.sa_handler == on_fatal_signal)
				signal(sigs[i], SIG_DFL);
		}
	}
	rc = imgfs_fs_open(&fs, info.index_path, &err);
	if (rc)
		return fail(&err, rc);
	mo.mountpoint = c.args[1];
	/* /dev/stdin, /dev/fd/N and /proc/self/fd/N name this process's
	 * descriptors: in the mount table, where they would mean nothing (or
	 * /dev/null once the daemon has let go of its standard input), show
	 * the file they lead to. */
	mo.fsname = c.o.image;
	if ((!strncmp(c.o.image, "/dev/", 5) || !strncmp(c.o.image, "/proc/", 6)) &&
	    realpath(c.o.image, source))
		mo.fsname = source;
	mo.extra = c.mount_opts[0] ? c.mount_opts : NULL;
	mo.foreground = c.foreground;
	mo.debug = c.debug;
	rc = imgfs_fuse_run(fs, &mo);
	imgfs_fs_close(fs);
	close(info.lock_fd); /* held (across the daemon's fork) until now */
	return rc ? EXIT_RUNTIME : 0;
}

static int cmd_umount(int argc, char **argv)
{
	const char *mnt;
	pid_t pid;
	int status;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return usage(0);
	if (argc != 2 || argv[1][0] == '-')
		return usage(EXIT_INPUT);
	mnt = argv[1];
	if (geteuid() == 0) {
		if (umount2(mnt, 0) == 0)
			return 0;
		/* a daemon killed with SIGKILL leaves a dead mount: detach it */
		if (errno == EBUSY || errno == ENOTCONN) {
			if (errno == ENOTCONN && umount2(mnt, MNT_DETACH) == 0)
				return 0;
			fprintf(stderr, "imgfs: %s: %s\n", mnt, strerror(errno));
			return EXIT_RUNTIME;
		}
		if (errno == EINVAL) {
			fprintf(stderr, "imgfs: %s: not mounted\n", mnt);
			return EXIT_INPUT;
		}
	}
	/* not root: the setuid fusermount3 checks that the mount is ours */
	pid = fork();
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", "--", mnt, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "imgfs: %s: unmount failed\n", mnt);
		return EXIT_RUNTIME;
	}
	return 0;
}

static int cmd_index(int argc, char **argv)
{
	struct cmdline c;
	struct imgfs_build_info info;
	struct imgfs_err err = { 0 };
	int rc;

	if (parse(argc, argv, &c, 0) || c.nargs != 1)
		return usage(EXIT_INPUT);
	c.o.image = c.args[0];
	rc = prepare(&c, &info, &err);
	if (rc)
		return fail(&err, rc);
	if (c.json) {
		/* schema: imgfs(1), JSON OUTPUT */
		fputs("{\"index\": ", stdout);
		json_str(stdout, info.index_path);
		printf(", \"reused\": %s, \"seconds\": %.3f, \"layers\": %llu, \"inodes\": %llu,"
		       " \"entries\": %llu}\n",
		       info.reused ? "true" : "false", info.seconds, (unsigned long long)info.layers,
		       (unsigned long long)info.inodes, (unsigned long long)info.entries);
	} else if (!c.o.quiet) {
		printf("index: %s\n", info.index_path);
		printf("%s in %.3f s: %llu layers, %llu tar entries, %llu inodes\n",
		       info.reused ? "reused" : "built", info.seconds, (unsigned long long)info.layers,
		       (unsigned long long)info.entries, (unsigned long long)info.inodes);
	}
	return fflush(stdout) ? EXIT_RUNTIME : 0;
}

/* What the layer table adds up: its totals row and JSON object. */
struct layer_sums {
	int human, first;
	long long stored, size, content, entries;
};

/* A size column: exact bytes, or with -h "12.3 MiB". */
static const char *size_col(char *buf, size_t len, const struct layer_sums *t, long long n)
{
	if (t->human)
		return human(buf, len, (double)n);
	snprintf(buf, len, "%lld", n);
	return buf;
}

static void add_layer_sums(struct layer_sums *t, const struct imgfs_layer_info *l)
{
	t->stored += l->stored_size;
	t->size += l->size;
	t->content += l->content_bytes;
	t->entries += l->entries;
}

static int print_layer(void *ctx, const struct imgfs_layer_info *l)
{
	struct layer_sums *t = ctx;
	const char *d = l->digest ? l->digest : l->diff_id ? l->diff_id : "-";
	char a[32], b[32], c[32];

	printf("%-5d %-19.19s %12s %12s %12s %8lld  %-5s %s\n", l->num, d,
	       size_col(a, sizeof(a), t, l->stored_size), size_col(b, sizeof(b), t, l->size),
	       size_col(c, sizeof(c), t, l->content_bytes), (long long)l->entries,
	       l->compression ? l->compression : "-", l->created_by ? l->created_by : "");
	add_layer_sums(t, l);
	return 0;
}

static int json_layer(void *ctx, const struct imgfs_layer_info *l)
{
	struct layer_sums *t = ctx;

	printf("%s\n    {\"num\": %d, \"digest\": ", t->first ? "" : ",", l->num);
	json_str(stdout, l->digest);
	fputs(", \"diff_id\": ", stdout);
	json_str(stdout, l->diff_id);
	fputs(", \"media_type\": ", stdout);
	json_str(stdout, l->media_type);
	fputs(", \"compression\": ", stdout);
	json_str(stdout, l->compression);
	printf(", \"stored_size\": %lld, \"size\": %lld, \"content_bytes\": %lld, \"entries\": %lld,"
	       " \"created_by\": ", (long long)l->stored_size, (long long)l->size,
	       (long long)l->content_bytes, (long long)l->entries);
	json_str(stdout, l->created_by);
	putchar('}');
	t->first = 0;
	add_layer_sums(t, l);
	return 0;
}

static int cmd_layers(int argc, char **argv)
{
	struct cmdline c;
	struct imgfs_build_info info;
	struct imgfs_err err = { 0 };
	struct imgfs_fs *fs = NULL;
	struct layer_sums t = { .first = 1 };
	struct stat cst;
	long long cache_bytes = 0;
	char *cache, *config;
	int rc;

	h_is_human = 1; /* -h is --human-readable here, as for du and ls */
	if (parse(argc, argv, &c, 0) || c.nargs != 1)
		return usage(EXIT_INPUT);
	t.human = c.human;
	c.o.image = c.args[0];
	rc = prepare(&c, &info, &err);
	if (rc)
		return fail(&err, rc);
	rc = imgfs_fs_open(&fs, info.index_path, &err);
	if (rc)
		return fail(&err, rc);
	/* the content cache of compressed layers, if any */
	cache = imgfs_fs_meta(fs, "cache");
	if (cache && stat(cache, &cst) == 0)
		cache_bytes = (long long)cst.st_size;
	config = imgfs_fs_meta(fs, "config_fields");
	if (c.json) {
		/* schema: imgfs(1), JSON OUTPUT */
		fputs("{\"image\": ", stdout);
		json_str(stdout, c.o.image);
		fputs(", \"index\": ", stdout);
		json_str(stdout, info.index_path);
		fputs(", \"cache\": ", stdout);
		if (cache)
			json_str(stdout, cache);
		else
			fputs("null", stdout);
		printf(", \"cache_bytes\": %lld", cache_bytes);
		/* the build wrote it with SQLite's JSON functions: valid JSON */
		printf(", \"config\": %s", config ? config : "null");
		fputs(", \"layers\": [", stdout);
		rc = imgfs_fs_layers(fs, json_layer, &t);
		fputs(t.first ? "]" : "\n  ]", stdout);
		printf(", \"totals\": {\"layers\": %d, \"stored_size\": %lld, \"size\": %lld,"
		       " \"content_bytes\": %lld, \"entries\": %lld}}\n", (int)info.layers, t.stored,
		       t.size, t.content, t.entries);
	} else {
		char a[32], b[32], d[32];

		printf("%-5s %-19s %12s %12s %12s %8s  %-5s %s\n", "#", "DIGEST", "STORED", "SIZE",
		       "CONTENT", "ENTRIES", "COMP", "CREATED BY");
		rc = imgfs_fs_layers(fs, print_layer, &t);
		printf("%-5s %-19s %12s %12s %12s %8lld\n", "total", "",
		       size_col(a, sizeof(a), &t, t.stored), size_col(b, sizeof(b), &t, t.size),
		       size_col(d, sizeof(d), &t, t.content), t.entries);
		if (cache)
			printf("content cache: %lld bytes for the compressed layers (%s)\n",
			       cache_bytes, cache);
		else
			printf("content cache: none (every layer is read in place)\n");
	}
	free(config);
	free(cache);
	imgfs_fs_close(fs);
	if (fflush(stdout))
		rc = -EIO;
	return rc ? EXIT_RUNTIME : 0;
}

int main(int argc, char **argv)
{
	static const int fatal[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa = { .sa_handler = on_fatal_signal };
	struct stat st;
	size_t i;

	/* a signal the caller ignores (nohup, a script's background job)
	 * stays ignored */
	for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		struct sigaction old;

		if (sigaction(fatal[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(fatal[i], &sa, NULL);
	}

	/* libarchive converts names through the locale; bytes that are not
	 * UTF-8 still come through raw (a warning, not an error). */
	setlocale(LC_CTYPE, "C.UTF-8");
	if (argc < 2)
		return usage(EXIT_INPUT);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return usage(0);
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("imgfs %s\n", IMGFS_VERSION);
		return 0;
	}
	current = argv[1];
	if (!strcmp(argv[1], "help"))
		return imgfs_cmd_help(argc - 1, argv + 1);
	if (!strcmp(argv[1], "mount"))
		return cmd_mount(argc - 1, argv + 1);
	if (!strcmp(argv[1], "umount") || !strcmp(argv[1], "unmount"))
		return cmd_umount(argc - 1, argv + 1);
	if (!strcmp(argv[1], "index"))
		return cmd_index(argc - 1, argv + 1);
	if (!strcmp(argv[1], "layers"))
		return cmd_layers(argc - 1, argv + 1);
	if (!strcmp(argv[1], "cache"))
		return imgfs_cmd_cache(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return imgfs_cmd_check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "packages"))
		return imgfs_cmd_packages(argc - 1, argv + 1);
	if (!strcmp(argv[1], "verify"))
		return imgfs_cmd_verify(argc - 1, argv + 1);
	current = NULL;
	/* mount.fuse3 runs "imgfs SOURCE MOUNTPOINT -o OPTS": a first
	 * argument that is no command but an existing file means mount. */
	if (argv[1][0] != '-' && stat(argv[1], &st) == 0) {
		current = "mount";
		return cmd_mount(argc, argv);
	}
	fprintf(stderr, "imgfs: '%s' is neither a command nor an image file\n", argv[1]);
	return usage(EXIT_INPUT);
}
