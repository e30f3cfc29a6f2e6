/* This file contains the usage text of every imgfs command, its synopsis
 * and its options one line each with an example, and "imgfs help".  The
 * options listed are those of the command's struct option table (in
 * imgfs.c, cache.c, check.c, packages.c, report.c, verify.c); tests/help.sh compares the two. */
#include "usage.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define EXIT_RUNTIME 1
#define EXIT_INPUT 2

struct usage {
	const char *name;
	/* one or more lines, the later ones indented to sit under the
	 * first: printed after "usage: " or its width in spaces */
	const char *synopsis;
	/* a blank line, what the command does, its options, an example */
	const char *text;
};

/* The option lines that several commands share, in the same words. */
#define OPT_IMAGE "  --image NAME[:TAG]  the image of an archive that holds several (or a digest)\n"
#define OPT_PLATFORM "  --platform P        the manifest of a multi-platform index: OS/ARCH[/VARIANT]\n"
#define OPT_INDEX "  --index PATH        read and write the index at PATH instead of the cache\n"
#define OPT_CACHE "  --cache-dir DIR     the content cache of compressed layers in DIR\n"
#define OPT_REBUILD "  --rebuild           build the index even when a fresh one exists\n" \
	"  --estimate-compressed  gzip -6 each uncompressed layer at index time for\n" \
	"                      what a registry would store (imgfs layers: PUSH)\n"
#define OPT_REGISTRY "  --tls-verify=false  docker://: a plain-HTTP or self-signed registry\n" \
	"  --creds USER:PASS   docker://: the registry's user and password\n"
#define OPT_VERBOSE "  -v, --verbose       the index build's phase times and summary on stderr\n"
#define OPT_HELP "  -h, --help          this text\n"

static const struct usage usages[] = {
	{ "mount",
	  "imgfs mount [-f|-d] [-q|-v] [-o OPTS] [--image NAME[:TAG]] [--platform P]\n"
	  "            [--index PATH] [--cache-dir DIR] [--rebuild]\n"
	  "            [--estimate-compressed] [--tls-verify=false]\n"
	  "            [--creds USER:PASS] IMAGE... MOUNTPOINT\n"
	  "imgfs IMAGE MOUNTPOINT [-o OPTS]    (mount helper: mount -t fuse.imgfs)\n",
	  "\n"
	  "Builds or reuses the index of IMAGE and mounts its merged tree read-only on\n"
	  "MOUNTPOINT; a background process serves it until imgfs umount MOUNTPOINT.\n"
	  "Several images: MOUNTPOINT/NAME for each, NAME its file name without .tar\n"
	  "and compression extensions (-2, -3... after a name taken).\n"
	  "\n"
	  "  -f                  stay in the foreground until unmounted\n"
	  "  -d                  stay in the foreground, with libfuse's debug output\n"
	  "  -o OPTS             mount options, comma-separated (several -o add up)\n"
	  OPT_IMAGE OPT_PLATFORM OPT_INDEX OPT_CACHE OPT_REBUILD OPT_REGISTRY
	  "  -q, --quiet         no progress line while the index is built\n"
	  OPT_VERBOSE OPT_HELP
	  "\n"
	  "-o takes image=N, platform=P, index=PATH, cache_dir=DIR and rebuild (as the\n"
	  "options above, for fstab lines), stack (mount over an imgfs mount), libfuse's\n"
	  "options (allow_other, noexec, ...); ro, nofail, ... are dropped, rw refused.\n"
	  "\n"
	  "example: imgfs mount app.tar /mnt/img && du -sh /mnt/img/*\n" },
	{ "umount",
	  "imgfs umount MOUNTPOINT\n",
	  "\n"
	  "Unmounts the imgfs mount on MOUNTPOINT, whose background process exits: as\n"
	  "root directly, otherwise through fusermount3 -u (for the user who mounted).\n"
	  "A mount whose process was killed is detached.  imgfs unmount is the same.\n"
	  "\n"
	  OPT_HELP
	  "\n"
	  "example: imgfs umount /mnt/img\n" },
	{ "index",
	  "imgfs index [-q|-v] [--json] [--rebuild] [--image NAME[:TAG]]\n"
	  "            [--platform P] [--index PATH] [--cache-dir DIR]\n"
	  "            [--estimate-compressed] [--tls-verify=false]\n"
	  "            [--creds USER:PASS] IMAGE\n",
	  "\n"
	  "Builds the index of IMAGE, or finds a fresh one, and prints its path, whether\n"
	  "it was built or reused, the time taken, and its layers, tar entries, inodes.\n"
	  "\n"
	  "  -q, --quiet         no progress line, and nothing printed on success\n"
	  OPT_VERBOSE
	  "  --json              one JSON object instead of text (imgfs(1), JSON OUTPUT)\n"
	  OPT_REBUILD OPT_IMAGE OPT_PLATFORM OPT_INDEX OPT_CACHE OPT_REGISTRY OPT_HELP
	  "\n"
	  "example: imgfs index --json app.tar\n" },
	{ "layers",
	  "imgfs layers [-q|-v] [-h|--human-readable] [--json] [--rebuild]\n"
	  "             [--image NAME[:TAG]] [--platform P] [--index PATH]\n"
	  "             [--cache-dir DIR] [--estimate-compressed]\n"
	  "             [--tls-verify=false] [--creds USER:PASS] IMAGE...\n",
	  "\n"
	  "Prints one row per layer, base first, numbered from 0: digest, stored size,\n"
	  "uncompressed size, content (its regular files' bytes), tar entries,\n"
	  "compression and the history step that made it; a total row; then the\n"
	  "content cache of the compressed layers.  Indexes IMAGE first.  With several\n"
	  "images: which other images have each layer (SHARED: the same diff_id), each\n"
	  "image's bytes only it has and those it shares, and all images' distinct\n"
	  "layers (what an Engine or a registry holding them all stores once).\n"
	  "\n"
	  "  -q, --quiet         no progress line while the index is built\n"
	  OPT_VERBOSE
	  "  -h, --human-readable  sizes as 1.5 KiB, 12.3 MiB (here -h is not --help)\n"
	  "  --json              one JSON object instead of text (imgfs(1), JSON OUTPUT)\n"
	  OPT_REBUILD OPT_IMAGE OPT_PLATFORM OPT_INDEX OPT_CACHE OPT_REGISTRY OPT_HELP
	  "\n"
	  "example: imgfs layers --json app.tar | jq '.layers[].size'\n" },
	{ "check",
	  "imgfs check [--ci-config FILE] [--json] [--image NAME[:TAG]]\n"
	  "            [--platform P] [--index PATH] IMAGE...\n",
	  "\n"
	  "A CI gate on dive's rules (lowestEfficiency, highestWastedBytes,\n"
	  "highestUserWastedPercent) and imgfs's highestHiddenBytes: computes the\n"
	  "figures as dive does, prints each rule's verdict, exits 1 when one fails.\n"
	  "Several images: one result each, all checked; exit 1 if any fails, 2 if\n"
	  "one could not be read.\n"
	  "\n"
	  "  --ci-config FILE    the rules of a .dive-ci file, over dive's defaults\n"
	  "  --json              one JSON object: the figures and each rule's verdict\n"
	  OPT_IMAGE OPT_PLATFORM OPT_INDEX OPT_HELP
	  "\n"
	  "example: imgfs check --ci-config .dive-ci app.tar\n" },
	{ "packages",
	  "imgfs packages [--json] [--by-layer | --why NAME | --removable]\n"
	  "               [--sort KEY] [--image NAME[:TAG]] [--platform P]\n"
	  "               [--index PATH] [--cache-dir DIR] IMAGE\n",
	  "\n"
	  "The packages the index found in the merged tree (dpkg, pip, npm, apk), most\n"
	  "bytes first: manager, name, version, files, bytes, retained bytes (what\n"
	  "removing it and what only it needs would free), the layers holding its\n"
	  "files and the files it lists that the tree lacks; then the unowned files.\n"
	  "\n"
	  "  --json              one JSON object instead of the table\n"
	  "  --by-layer          layer by layer, base first: its packages and unowned bytes\n"
	  "  --sort KEY          bytes (the default) or retained\n"
	  "  --why NAME          every shortest chain from a root to package NAME, with\n"
	  "                      each package's layer and history step\n"
	  "  --removable         the roots only, most retained bytes first\n"
	  OPT_IMAGE OPT_PLATFORM OPT_INDEX OPT_CACHE OPT_HELP
	  "\n"
	  "example: imgfs packages --why gcc-12 app.tar\n" },
	{ "duplicates",
	  "imgfs duplicates [--json] [--min-size BYTES] [--image NAME[:TAG]]\n"
	  "                 [--platform P] [--index PATH] [--cache-dir DIR] IMAGE\n",
	  "\n"
	  "Groups of regular files with the same content and different inodes, in the\n"
	  "merged tree and among the copies lower layers ship and the merged tree\n"
	  "hides: size, copies, every path with its layer, and the bytes keeping one\n"
	  "copy would save; biggest files first.  Only files whose size another file\n"
	  "has are read (sha256); the sums are kept beside the index for the next run.\n"
	  "\n"
	  "  --json              one JSON object instead of text\n"
	  "  --min-size BYTES    only files of at least BYTES (1M, 500KiB, 4096)\n"
	  OPT_IMAGE OPT_PLATFORM OPT_INDEX OPT_CACHE OPT_HELP
	  "\n"
	  "example: imgfs duplicates --min-size 100K app.tar\n" },
	{ "elf",
	  "imgfs elf [--json] [--min-bytes N] [--image NAME[:TAG]] [--platform P]\n"
	  "          [--index PATH] [--cache-dir DIR] IMAGE\n",
	  "\n"
	  "The ELF files of the merged tree that strip --strip-unneeded would shrink,\n"
	  "largest saving first: the bytes saved, of which debug sections and symbol\n"
	  "tables, the file's size, its layer and path; then the totals.\n"
	  "\n"
	  "  --json              one JSON object instead of the table\n"
	  "  --min-bytes N       only files whose saving is at least N bytes (default 1;\n"
	  "                      0 lists every ELF file)\n"
	  OPT_IMAGE OPT_PLATFORM OPT_INDEX OPT_CACHE OPT_HELP
	  "\n"
	  "example: imgfs elf --min-bytes 1000000 app.tar\n" },
	{ "report",
	  "imgfs report [-o FILE] [--svg] [--image NAME[:TAG]] [--platform P]\n"
	  "             [--index PATH] [--cache-dir DIR] IMAGE...\n",
	  "\n"
	  "Writes one self-contained HTML page (no network, everything inline): a\n"
	  "treemap of the merged tree by bytes coloured by layer (or package, or the\n"
	  "retained bytes of the file's package), the hidden bytes of lower layers\n"
	  "hatched, click to zoom; beside it the audit findings, the layer table and\n"
	  "the largest files.  Findings: dive figures, re-shipped\n"
	  "bytes, strip savings, Python bytecode, package caches, docs and tests.\n"
	  "Entries under 1/20000 of the image are merged.\n"
	  "Several images: one tab each and a size summary (--index, --svg: one only).\n"
	  "\n"
	  "  -o, --output FILE   write to FILE instead of standard output\n"
	  "  --svg               the treemap alone as a static SVG (no script)\n"
	  OPT_IMAGE OPT_PLATFORM OPT_INDEX OPT_CACHE OPT_HELP
	  "\n"
	  "example: imgfs report app.tar -o report.html\n" },
	{ "verify",
	  "imgfs verify [-q] [--image NAME[:TAG]] [--platform P] [--cache-dir DIR]\n"
	  "             IMAGE\n",
	  "\n"
	  "Hashes every blob IMAGE references and compares it with the digest that\n"
	  "names it: the OCI manifest, the config, each layer blob (its manifest\n"
	  "digest) and each layer's uncompressed tar (the config's rootfs.diff_ids).\n"
	  "One line per check: ok, MISMATCH or skipped.\n"
	  "\n"
	  "  -q, --quiet         print the mismatches only\n"
	  OPT_IMAGE OPT_PLATFORM
	  "  --cache-dir DIR     decompress a compressed outer archive in DIR, not TMPDIR\n"
	  OPT_HELP
	  "\n"
	  "Exit status: 0 every digest matched, 1 runtime failure, 2 bad usage, bad\n"
	  "image or a mismatch (the last line names the first one).\n"
	  "\n"
	  "example: imgfs verify -q app.tar\n" },
	{ "cache",
	  "imgfs cache [list] [--json] [--cache-dir DIR]\n"
	  "imgfs cache prune [--older-than DURATION] [--max-size SIZE]\n"
	  "                  [--cache-dir DIR]\n"
	  "imgfs cache clear [--cache-dir DIR]\n",
	  "\n"
	  "The index cache ($XDG_CACHE_HOME/imgfs): list shows each index with the image\n"
	  "it belongs to ((gone) when that no longer exists), its index, content cache\n"
	  "and spool bytes, its last use and whether a mount holds it, then the files no\n"
	  "index names (orphans) and the total.  prune removes the orphans and the\n"
	  "indexes of gone images, then those last used longer ago than DURATION, then\n"
	  "the least recently used until the total is at most SIZE; clear removes all.\n"
	  "Neither touches what a mount or a build is using.\n"
	  "\n"
	  "  --json              list: one JSON object instead of the table\n"
	  "  --older-than D      prune: last used more than D ago (30d; s, m, h, d, w)\n"
	  "  --max-size SIZE     prune: down to SIZE bytes in all (500M; K, M, G, T)\n"
	  "  --cache-dir DIR     content caches in DIR (mount --cache-dir) are listed too\n"
	  OPT_HELP
	  "\n"
	  "example: imgfs cache prune --older-than 30d --max-size 2G\n" },
	{ "help",
	  "imgfs help [COMMAND]\n",
	  "\n"
	  "Prints the usage of COMMAND (mount, umount, index, layers, check, packages,\n"
	  "duplicates, elf, report, verify, cache, help), or without one that of every\n"
	  "command.  imgfs COMMAND --help prints the same.\n"
	  "\n"
	  OPT_HELP
	  "\n"
	  "example: imgfs help layers\n" },
};

#define N_USAGES (sizeof(usages) / sizeof(usages[0]))

/* After every synopsis in the global usage. */
static const char global_text[] =
	"       imgfs --help | --version\n"
	"\n"
	"IMAGE: a docker save / podman save tarball, an OCI archive or layout directory,\n"
	"or a plain rootfs tar; any compression; - (standard input), a pipe or FIFO;\n"
	"docker-daemon:NAME[:TAG] ($DOCKER_HOST) or podman:NAME[:TAG] (the Engine API).\n"
	"The merged tree is mounted read-only.\n"
	"Virtual xattrs: user.imgfs.size, .files, .layer, .layers, .created_by, .wasted;\n"
	"hidden view: MOUNTPOINT/.imgfs/layers/N and .imgfs/hidden/N.  See imgfs(1).\n"
	"imgfs help COMMAND: what COMMAND does, its options one line each, an example.\n"
	"Exit status: 0 success, 1 runtime failure, 2 bad usage or bad input.\n";

static const struct usage *find(const char *name)
{
	size_t i;

	if (!name)
		return NULL;
	if (!strcmp(name, "unmount"))
		name = "umount";
	for (i = 0; i < N_USAGES; i++)
		if (!strcmp(usages[i].name, name))
			return &usages[i];
	return NULL;
}

/* Writes the lines of SYN, the very first after "usage: " and every other
 * after as many spaces, so that all synopses line up under each other. */
static void put_synopsis(FILE *f, const char *syn, int *first)
{
	while (*syn) {
		size_t n = strcspn(syn, "\n");

		fprintf(f, "%s%.*s\n", *first ? "usage: " : "       ", (int)n, syn);
		*first = 0;
		syn += n + (syn[n] == '\n');
	}
}

int imgfs_usage(const char *name, int code)
{
	FILE *f = code ? stderr : stdout;
	const struct usage *u = find(name);
	int first = 1;
	size_t i;

	if (u) {
		put_synopsis(f, u->synopsis, &first);
		fputs(u->text, f);
	} else {
		for (i = 0; i < N_USAGES; i++)
			put_synopsis(f, usages[i].synopsis, &first);
		fputs(global_text, f);
	}
	/* "imgfs --help > file" on a full disk must not look like it worked */
	errno = 0;
	if (!code && (fflush(stdout) != 0 || ferror(stdout))) {
		fprintf(stderr, "imgfs: standard output: %s\n", strerror(errno ? errno : EIO));
		return EXIT_RUNTIME;
	}
	return code;
}

int imgfs_cmd_help(int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return imgfs_usage(NULL, 0);
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return imgfs_usage("help", 0);
	if (argc > 2 || argv[1][0] == '-')
		return imgfs_usage("help", EXIT_INPUT);
	if (find(argv[1]))
		return imgfs_usage(argv[1], 0);
	/* one line: a script's typo shows in its log without the whole usage */
	fprintf(stderr, "imgfs: help: '%s' is not a command (commands:", argv[1]);
	for (i = 0; i < N_USAGES; i++)
		fprintf(stderr, " %s", usages[i].name);
	fputs(")\n", stderr);
	return EXIT_INPUT;
}
