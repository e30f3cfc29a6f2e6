/* This file contains the imgfs command: mount, umount, index and layers. */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "imgfs/fuse_ops.h"
#include "imgfs/imgfs.h"

#define EXIT_RUNTIME 1
#define EXIT_INPUT 2

static const char usage_text[] =
	"usage: imgfs mount [-f] [-o OPTS] [--image NAME[:TAG]] [--platform OS/ARCH[/VARIANT]]\n"
	"                   [--index PATH] [--cache-dir DIR] [--rebuild] IMAGE MOUNTPOINT\n"
	"       imgfs umount MOUNTPOINT\n"
	"       imgfs index [--image N] [--platform P] [--index PATH] [--cache-dir DIR] [--rebuild] IMAGE\n"
	"       imgfs layers [--image N] [--platform P] [--index PATH] [--cache-dir DIR] IMAGE\n"
	"       imgfs check [--ci-config FILE] [--json] [--image N] [--platform P] IMAGE\n"
	"       imgfs --help | --version\n"
	"\n"
	"IMAGE: a docker save / podman save tarball, an OCI archive or layout directory,\n"
	"or a plain rootfs tar; any compression.  The merged tree is mounted read-only.\n"
	"Virtual xattrs: user.imgfs.size, user.imgfs.layer, user.imgfs.files (see README).\n"
	"Exit status: 0 success, 1 runtime failure, 2 bad usage or bad input.\n";

static int usage(int code)
{
	fputs(usage_text, code ? stderr : stdout);
	return code;
}

static int fail(const struct imgfs_err *err, int rc)
{
	fprintf(stderr, "imgfs: %s\n", err->msg[0] ? err->msg : strerror(-rc));
	return err->input ? EXIT_INPUT : EXIT_RUNTIME;
}

struct cmdline {
	struct imgfs_opts o;
	const char *mount_opts;
	int foreground, debug;
	int nargs;
	char **args;
};

static int parse(int argc, char **argv, struct cmdline *c, int for_mount)
{
	enum { O_IMAGE = 256, O_PLATFORM, O_INDEX, O_CACHE, O_REBUILD };
	static const struct option lopts[] = {
		{ "image", required_argument, NULL, O_IMAGE },
		{ "platform", required_argument, NULL, O_PLATFORM },
		{ "index", required_argument, NULL, O_INDEX },
		{ "cache-dir", required_argument, NULL, O_CACHE },
		{ "rebuild", no_argument, NULL, O_REBUILD },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(c, 0, sizeof(*c));
	optind = 1;
	while ((ch = getopt_long(argc, argv, for_mount ? "fdo:qh" : "qh", lopts, NULL)) != -1) {
		switch (ch) {
		case 'f': c->foreground = 1; break;
		case 'd': c->debug = c->foreground = 1; break;
		case 'o': c->mount_opts = optarg; break;
		case 'q': c->o.quiet = 1; break;
		case O_IMAGE: c->o.image_name = optarg; break;
		case O_PLATFORM: c->o.platform = optarg; break;
		case O_INDEX: c->o.index_path = optarg; break;
		case O_CACHE: c->o.cache_dir = optarg; break;
		case O_REBUILD: c->o.force = 1; break;
		case 'h': exit(usage(0));
		default: return -1;
		}
	}
	c->nargs = argc - optind;
	c->args = argv + optind;
	return 0;
}

static int cmd_mount(int argc, char **argv)
{
	struct cmdline c;
	struct imgfs_build_info info;
	struct imgfs_err err = { 0 };
	struct imgfs_mount_opts mo = { 0 };
	struct imgfs_fs *fs = NULL;
	struct stat st;
	int rc;

	if (parse(argc, argv, &c, 1) || c.nargs != 2)
		return usage(EXIT_INPUT);
	c.o.image = c.args[0];
	if (stat(c.args[1], &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "imgfs: %s: mount point is not a directory\n", c.args[1]);
		return EXIT_INPUT;
	}
	rc = imgfs_index_prepare(&c.o, &info, &err);
	if (rc)
		return fail(&err, rc);
	rc = imgfs_fs_open(&fs, info.index_path, &err);
	if (rc)
		return fail(&err, rc);
	mo.mountpoint = c.args[1];
	mo.fsname = c.o.image;
	mo.extra = c.mount_opts;
	mo.foreground = c.foreground;
	mo.debug = c.debug;
	rc = imgfs_fuse_run(fs, &mo);
	imgfs_fs_close(fs);
	return rc ? EXIT_RUNTIME : 0;
}

static int cmd_umount(int argc, char **argv)
{
	const char *mnt;
	pid_t pid;
	int status;

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
	rc = imgfs_index_prepare(&c.o, &info, &err);
	if (rc)
		return fail(&err, rc);
	printf("index: %s\n", info.index_path);
	if (info.reused)
		printf("reused in %.3f s: %llu layers, %llu tar entries, %llu inodes\n", info.seconds,
		       (unsigned long long)info.layers, (unsigned long long)info.entries,
		       (unsigned long long)info.inodes);
	else
		printf("built in %.3f s: %llu layers, %llu tar entries, %llu inodes\n", info.seconds,
		       (unsigned long long)info.layers, (unsigned long long)info.entries,
		       (unsigned long long)info.inodes);
	return 0;
}

static int print_layer(void *ctx, const struct imgfs_layer_info *l)
{
	const char *d = l->digest ? l->digest : l->diff_id ? l->diff_id : "-";

	(void)ctx;
	printf("%-3d %-19.19s %12lld %12lld %8lld  %-5s %s\n", l->num, d, (long long)l->stored_size,
	       (long long)l->size, (long long)l->entries, l->compression ? l->compression : "-",
	       l->created_by ? l->created_by : "");
	return 0;
}

static int cmd_layers(int argc, char **argv)
{
	struct cmdline c;
	struct imgfs_build_info info;
	struct imgfs_err err = { 0 };
	struct imgfs_fs *fs = NULL;
	int rc;

	if (parse(argc, argv, &c, 0) || c.nargs != 1)
		return usage(EXIT_INPUT);
	c.o.image = c.args[0];
	rc = imgfs_index_prepare(&c.o, &info, &err);
	if (rc)
		return fail(&err, rc);
	rc = imgfs_fs_open(&fs, info.index_path, &err);
	if (rc)
		return fail(&err, rc);
	printf("%-3s %-19s %12s %12s %8s  %-5s %s\n", "#", "DIGEST", "STORED", "SIZE", "ENTRIES",
	       "COMP", "CREATED BY");
	rc = imgfs_fs_layers(fs, print_layer, NULL);
	imgfs_fs_close(fs);
	return rc ? EXIT_RUNTIME : 0;
}

int main(int argc, char **argv)
{
	/* libarchive converts names through the locale; bytes that are not
	 * UTF-8 still come through raw (a warning, not an error). */
	setlocale(LC_CTYPE, "C.UTF-8");
	if (argc < 2)
		return usage(EXIT_INPUT);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))
		return usage(0);
	if (!strcmp(argv[1], "--version")) {
		printf("imgfs %s\n", IMGFS_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "mount"))
		return cmd_mount(argc - 1, argv + 1);
	if (!strcmp(argv[1], "umount") || !strcmp(argv[1], "unmount"))
		return cmd_umount(argc - 1, argv + 1);
	if (!strcmp(argv[1], "index"))
		return cmd_index(argc - 1, argv + 1);
	if (!strcmp(argv[1], "layers"))
		return cmd_layers(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return imgfs_cmd_check(argc - 1, argv + 1);
	fprintf(stderr, "imgfs: unknown command '%s'\n", argv[1]);
	return usage(EXIT_INPUT);
}
