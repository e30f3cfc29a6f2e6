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
#include "duplicates.h"
#include "imgfs/fuse_ops.h"
#include "imgfs/imgfs.h"
#include "json.h"
#include "layers.h"
#include "mounted.h"
#include "packages.h"
#include "units.h"
#include "elf.h"
#include "report.h"
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

/* What parse() accepts besides the common options. */
enum parse_flags {
	PARSE_MOUNT = 1 << 0,   /* mount's -f, -d, -o; --json refused */
	/* a command whose sizes -h shows in human units (layers): there -h is
	 * --human-readable, as for du and ls; elsewhere it is --help */
	PARSE_H_HUMAN = 1 << 1,
};

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

/* Reads the command line of a command into C, with what FLAGS (enum
 * parse_flags) allows.  Returns 0, or -1 on bad usage (a message on
 * stderr for the options that take values); --help exits. */
static int parse(int argc, char **argv, struct cmdline *c, unsigned flags)
{
	enum { O_IMAGE = 256, O_PLATFORM, O_INDEX, O_CACHE, O_REBUILD, O_JSON, O_HELP, O_HUMAN,
	       O_ESTIMATE, O_TLS, O_CREDS };
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
		{ "estimate-compressed", no_argument, NULL, O_ESTIMATE },
		{ "tls-verify", required_argument, NULL, O_TLS },
		{ "creds", required_argument, NULL, O_CREDS },
		{ NULL, 0, NULL, 0 },
	};
	size_t used = 0;
	int ch;

	memset(c, 0, sizeof(*c));
	optind = 1;
	/* No '+': options may follow IMAGE (GNU permutation), as mount.fuse3
	 * puts -o after the mount point. */
	while ((ch = getopt_long(argc, argv, flags & PARSE_MOUNT ? "fdo:qvh" : "qvh", lopts, NULL)) != -1) {
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
		case O_ESTIMATE: c->o.estimate_compressed = 1; break;
		case O_TLS:
			if (strcmp(optarg, "true") && strcmp(optarg, "false")) {
				fprintf(stderr, "imgfs: --tls-verify takes true or false\n");
				return -1;
			}
			c->o.tls_verify = strcmp(optarg, "false") ? 1 : -1;
			break;
		case O_CREDS:
			if (!strchr(optarg, ':')) {
				fprintf(stderr, "imgfs: --creds takes USER:PASSWORD\n");
				return -1;
			}
			c->o.creds = optarg;
			break;
		case O_JSON:
			if (flags & PARSE_MOUNT)
				return -1;
			c->json = 1;
			break;
		case 'h':
			if (flags & PARSE_H_HUMAN) {
				c->human = 1;
				break;
			}
			exit(usage(0));
		case O_HUMAN:
			if (!(flags & PARSE_H_HUMAN))
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

/* The rate is taken over the last few seconds, not since the start: a
 * layer of small files reads slower than one big blob, and an average over
 * the whole build said "0:00 left" at 64 %. */
#define RATE_SAMPLES 32 /* at most ten draws a second: about 3 s */

/* What the finish (tree totals, hidden views, packages) costs per tar
 * entry: 0.37 s for pyapp's 26,265 entries (imgfs index -v) on the 2-core
 * machines of this project.  An estimate, shown as one ("about"). */
#define FINISH_S_PER_ENTRY 14e-6

struct progress {
	const char *name;  /* the image, as given */
	double t0;
	int drawn;         /* something is on the line: clear it at the end */
	double t[RATE_SAMPLES];
	uint64_t d[RATE_SAMPLES];
	unsigned n;        /* samples taken */
	double finish_t0, finish_s;  /* when the finish began, its estimate */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* M:SS of S seconds into BUF. */
static const char *mmss(char *buf, size_t len, double s)
{
	snprintf(buf, len, "%d:%02d", (int)(s / 60), (int)s % 60);
	return buf;
}

/* The opts.progress callback: one line on stderr, redrawn in place.  The
 * time left is the bytes left at the recent rate plus the finish the
 * entries seen so far (projected to the whole image) will cost; the
 * percentage is of that time, so it reaches 100 only when the build
 * ends.  Each step of the finish is shown by name. */
static void draw_progress(void *ctx, const struct imgfs_progress *pr)
{
	struct progress *p = ctx;
	double t = now(), el = t - p->t0, rate = 0, left = -1;
	char a[32], b[32], r[32], l[32], what[96] = "";
	const char *base = strrchr(p->name, '/');
	unsigned k = p->n % RATE_SAMPLES, old;

	base = base && base[1] ? base + 1 : p->name;
	if (pr->phase) {
		if (p->finish_t0 == 0) {
			p->finish_t0 = t;
			p->finish_s = (double)pr->entries * FINISH_S_PER_ENTRY;
		}
		left = p->finish_s - (t - p->finish_t0);
		fprintf(stderr, "\r\033[Kimgfs: indexing %.60s: finishing: %s (%llu entries)%s%s", base,
			pr->phase, (unsigned long long)pr->entries, left > 0 ? ", about " : "",
			left > 0 ? mmss(l, sizeof(l), left + 1) : "");
		if (left > 0)
			fputs(" left", stderr);
		fflush(stderr);
		p->drawn = 1;
		return;
	}
	p->t[k] = t;
	p->d[k] = pr->done;
	p->n++;
	/* since the oldest sample in the ring, or since the start */
	if (p->n > RATE_SAMPLES) {
		old = p->n % RATE_SAMPLES;
		if (t > p->t[old])
			rate = (double)(pr->done - p->d[old]) / (t - p->t[old]);
	} else if (el > 0) {
		rate = (double)pr->done / el;
	}
	if (rate > 0 && pr->total >= pr->done) {
		double bytes_left = (double)(pr->total - pr->done) / rate;
		double entries = pr->done ? (double)pr->entries * (double)pr->total / (double)pr->done : 0;

		left = bytes_left + entries * FINISH_S_PER_ENTRY;
		/* the first half second's rate says little: no time yet */
		snprintf(what, sizeof(what), " (%d%%), %s/s%s%s%s", (int)(el * 100 / (el + left)),
			 human_bytes(r, sizeof(r), rate), el >= 0.5 ? ", " : "",
			 el >= 0.5 ? mmss(l, sizeof(l), left + 1) : "", el >= 0.5 ? " left" : "");
	}
	fprintf(stderr, "\r\033[Kimgfs: indexing %.60s: %s of %s%s", base,
		human_bytes(a, sizeof(a), (double)pr->done), human_bytes(b, sizeof(b), (double)pr->total), what);
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
	if (rc == 0 && info->offline && !c->o.quiet)
		fprintf(stderr, "imgfs: warning: %s: using the last index of this reference\n",
			info->offline_why);
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

/* Images one mount serves side by side: a command line, not a fleet. */
#define MOUNT_IMAGES_MAX 256

/* The directory name of IMAGE in a mount of several: its file name without
 * the archive's extensions (.tar and a compression's), the bytes a name
 * may not hold or that would confuse a shell made '_', and "-2", "-3"...
 * after a name an earlier image of NAMES[0..N) took. */
static void image_dir_name(const char *image, char **names, size_t n, char *out, size_t len)
{
	static const char *const ext[] = { ".gz", ".tgz", ".zst", ".xz", ".bz2", ".lz4", ".tar", NULL };
	const char *base = strrchr(image, '/');
	char stem[NAME_MAX + 1];
	size_t l, k;
	int again = 1, dup = 1;

	/* a directory given with a trailing slash: its own name */
	l = strlen(image);
	while (l > 1 && image[l - 1] == '/')
		l--;
	for (base = image + l; base > image && base[-1] != '/'; base--)
		;
	snprintf(stem, sizeof(stem), "%.*s", (int)(image + l - base), base);
	while (again) {
		again = 0;
		for (k = 0; ext[k]; k++) {
			size_t sl = strlen(stem), el = strlen(ext[k]);

			if (sl > el && !strcmp(stem + sl - el, ext[k])) {
				stem[sl - el] = '\0';
				again = !strcmp(ext[k], ".tgz") ? 0 : 1;
				break;
			}
		}
	}
	for (k = 0; stem[k]; k++)
		if (!((stem[k] >= 'a' && stem[k] <= 'z') || (stem[k] >= 'A' && stem[k] <= 'Z') ||
		      (stem[k] >= '0' && stem[k] <= '9') || stem[k] == '.' || stem[k] == '-' ||
		      stem[k] == '_' || stem[k] == '+' || stem[k] == '@'))
			stem[k] = '_';
	if (!stem[0] || !strcmp(stem, ".") || !strcmp(stem, ".."))
		snprintf(stem, sizeof(stem), "image");
	snprintf(out, len, "%s", stem);
	for (;;) {
		for (k = 0; k < n && strcmp(names[k], out); k++)
			;
		if (k == n)
			return;
		snprintf(out, len, "%.200s-%d", stem, ++dup);
	}
}

static int cmd_mount(int argc, char **argv)
{
	static struct cmdline c; /* 8 KiB of option buffers: not on the stack */
	struct imgfs_err err = { 0 };
	struct imgfs_mount_opts mo = { 0 };
	struct imgfs_fs **fss = NULL;
	struct imgfs_set *set = NULL;
	char **names = NULL;
	int *locks = NULL;
	struct stat st;
	static char source[PATH_MAX]; /* the mount table's source; outlives the mount */
	const char *mnt;
	int rc = 0, i, n, opened = 0;

	if (parse(argc, argv, &c, PARSE_MOUNT) || c.nargs < 2)
		return usage(EXIT_INPUT);
	if (filter_opts(&c))
		return EXIT_INPUT;
	n = c.nargs - 1;
	mnt = c.args[n];
	if (n > MOUNT_IMAGES_MAX) {
		fprintf(stderr, "imgfs: %s: more than %d images in one mount\n", mnt, MOUNT_IMAGES_MAX);
		return EXIT_INPUT;
	}
	if (n > 1 && c.o.index_path) {
		fprintf(stderr, "imgfs: --index names one index: mount one image with it\n");
		return EXIT_INPUT;
	}
	if (stat(mnt, &st) != 0) {
		fprintf(stderr, "imgfs: %s: mount point %s\n", mnt,
			errno == ENOENT ? "does not exist" : strerror(errno));
		return EXIT_INPUT;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "imgfs: %s: mount point is not a directory\n", mnt);
		return EXIT_INPUT;
	}
	{
		char src[PATH_MAX];

		/* as mount(8) refuses a busy target: a second mount would hide
		 * the first */
		if (!c.stack && imgfs_tool_mounted(mnt, src, sizeof(src)) == 1) {
			fprintf(stderr, "imgfs: %s: already an imgfs mount (of %s): unmount it first, "
				"or -o stack to mount over it\n", mnt, src);
			return EXIT_INPUT;
		}
	}
	fss = calloc((size_t)n, sizeof(*fss));
	names = calloc((size_t)n, sizeof(*names));
	locks = malloc((size_t)n * sizeof(*locks));
	if (!fss || !names || !locks) {
		rc = EXIT_RUNTIME;
		goto out;
	}
	for (i = 0; i < n; i++)
		locks[i] = -1;
	/* the shared lock on each index that imgfs cache prune respects */
	c.o.hold = 1;
	for (i = 0; i < n; i++) {
		struct imgfs_build_info info;
		char name[NAME_MAX + 1];

		c.o.image = c.args[i];
		rc = prepare(&c, &info, &err);
		if (rc == 0)
			locks[i] = info.lock_fd;
		if (rc == 0) {
			rc = imgfs_fs_open(&fss[i], info.index_path, &err);
			/* a stream's index is the mount's alone: it holds its files open */
			imgfs_index_discard(&c.o, &info);
		}
		if (rc) {
			rc = fail(&err, rc);
			goto out;
		}
		opened++;
		image_dir_name(c.args[i], names, (size_t)i, name, sizeof(name));
		if (!(names[i] = strdup(name))) {
			rc = EXIT_RUNTIME;
			goto out;
		}
	}
	/* From here the mount's own handlers (libfuse installs them only over
	 * the default ones) unmount cleanly on these signals. */
	{
		static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
		size_t k;

		for (k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++) {
			struct sigaction cur;

			if (sigaction(sigs[k], NULL, &cur) == 0 && cur.sa_handler == on_fatal_signal)
				signal(sigs[k], SIG_DFL);
		}
	}
	if (imgfs_set_new(&set, fss, n > 1 ? (const char *const *)names : NULL, (size_t)n) != 0) {
		rc = EXIT_RUNTIME;
		goto out;
	}
	opened = 0; /* the set's now */
	mo.mountpoint = mnt;
	/* /dev/stdin, /dev/fd/N and /proc/self/fd/N name this process's
	 * descriptors: in the mount table, where they would mean nothing (or
	 * /dev/null once the daemon has let go of its standard input), show
	 * the file they lead to. */
	mo.fsname = c.args[0];
	if ((!strncmp(c.args[0], "/dev/", 5) || !strncmp(c.args[0], "/proc/", 6)) &&
	    realpath(c.args[0], source))
		mo.fsname = source;
	if (n > 1) {
		/* the first image and how many more: the table has no room for all */
		snprintf(source, sizeof(source), "%.3000s+%d", c.args[0], n - 1);
		mo.fsname = source;
	}
	mo.extra = c.mount_opts[0] ? c.mount_opts : NULL;
	mo.foreground = c.foreground;
	mo.debug = c.debug;
	rc = imgfs_fuse_run(set, &mo) ? EXIT_RUNTIME : 0;
out:
	imgfs_set_free(set);
	for (i = 0; i < opened; i++)
		imgfs_fs_close(fss[i]);
	for (i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
	free(fss);
	/* held (across the daemon's fork) until now */
	for (i = 0; locks && i < n; i++)
		if (locks[i] >= 0)
			close(locks[i]);
	free(locks);
	return rc;
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
		/* a stream's index without --index is not kept: null */
		if (info.temporary)
			fputs("null", stdout);
		else
			json_str(stdout, info.index_path);
		printf(", \"reused\": %s, \"seconds\": %.3f, \"layers\": %llu, \"inodes\": %llu,"
		       " \"entries\": %llu}\n",
		       info.reused ? "true" : "false", info.seconds, (unsigned long long)info.layers,
		       (unsigned long long)info.inodes, (unsigned long long)info.entries);
	} else if (!c.o.quiet) {
		if (info.temporary)
			printf("index: not kept (a stream is indexed each time; --index PATH keeps it)\n");
		else
			printf("index: %s\n", info.index_path);
		printf("%s in %.3f s: %llu layers, %llu tar entries, %llu inodes\n",
		       info.reused ? "reused" : "built", info.seconds, (unsigned long long)info.layers,
		       (unsigned long long)info.entries, (unsigned long long)info.inodes);
	}
	imgfs_index_discard(&c.o, &info); /* nothing to keep it for without --index */
	return fflush(stdout) ? EXIT_RUNTIME : 0;
}

/* imgfs layers IMAGE...: each image indexed (or its index reused), then
 * the table of all, shared layers marked when there are several. */
static int cmd_layers(int argc, char **argv)
{
	struct cmdline c;
	struct layer_image *imgs = NULL;
	int rc = 0, i, n = 0;

	/* -h is --human-readable here, as for du and ls */
	if (parse(argc, argv, &c, PARSE_H_HUMAN) || c.nargs < 1)
		return usage(EXIT_INPUT);
	if (c.o.index_path && c.nargs > 1) {
		fprintf(stderr, "imgfs: layers: --index names one index: give one image with it\n");
		return EXIT_INPUT;
	}
	imgs = calloc((size_t)c.nargs, sizeof(*imgs));
	if (!imgs)
		return EXIT_RUNTIME;
	for (i = 0; i < c.nargs; i++) {
		struct imgfs_build_info info;
		struct imgfs_err err = { 0 };
		struct imgfs_fs *fs = NULL;

		c.o.image = c.args[i];
		rc = prepare(&c, &info, &err);
		if (rc == 0)
			rc = imgfs_fs_open(&fs, info.index_path, &err);
		if (rc) {
			if (info.index_path[0])
				imgfs_index_discard(&c.o, &info);
			rc = fail(&err, rc);
			goto out;
		}
		/* a stream's index is not kept: its path is null */
		rc = layers_collect(fs, c.args[i], info.temporary ? NULL : info.index_path, &imgs[n++]);
		imgfs_fs_close(fs);
		imgfs_index_discard(&c.o, &info);
		if (rc) {
			fprintf(stderr, "imgfs: %s: layers: %s\n", c.args[i], strerror(-rc));
			rc = EXIT_RUNTIME;
			goto out;
		}
	}
	rc = layers_print(imgs, (size_t)n, c.json, c.human) ? EXIT_RUNTIME : 0;
out:
	for (i = 0; i < n; i++)
		layers_free(&imgs[i]);
	free(imgs);
	return rc;
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
	if (!strcmp(argv[1], "duplicates"))
		return imgfs_cmd_duplicates(argc - 1, argv + 1);
	if (!strcmp(argv[1], "report"))
		return imgfs_cmd_report(argc - 1, argv + 1);
	if (!strcmp(argv[1], "verify"))
		return imgfs_cmd_verify(argc - 1, argv + 1);
	if (!strcmp(argv[1], "elf"))
		return imgfs_cmd_elf(argc - 1, argv + 1);
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
