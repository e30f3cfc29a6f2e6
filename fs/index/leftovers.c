/* This file contains the clean-up of what builds leave behind.  Three
 * interrupts of `imgfs index` left 378-661 MB of partial content caches
 * and *.db.tmp.PID files that nothing removed.  Now a build's files are
 * removed by imgfs_index_interrupted (the command calls it from its
 * SIGINT/SIGTERM/SIGHUP handler), and whatever a SIGKILL or a power cut
 * left is swept at the next build or reuse of the same index. */
#include "index/leftovers_i.h"

#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "imgfs/imgfs.h"

/* Copies, so the handler never reads memory a build is freeing. */
#define LEFTOVER_PATH_MAX (PATH_MAX + 64)
/* the temporary index, its rollback journal (SQLite's "-journal" beside
 * it while a transaction is open), the content cache, the spool */
#define ARMED_N 4
static char armed_path[ARMED_N][LEFTOVER_PATH_MAX];
static volatile sig_atomic_t armed;

static void set(int i, const char *p)
{
	if (!p || strlen(p) >= LEFTOVER_PATH_MAX)
		p = "";
	strcpy(armed_path[i], p);
}

void imgfs_leftovers_arm(const char *tmp, const char *cache, const char *spool)
{
	armed = 0;
	set(0, tmp);
	set(1, cache);
	set(2, spool);
	if (tmp && strlen(tmp) + sizeof("-journal") <= LEFTOVER_PATH_MAX)
		snprintf(armed_path[3], LEFTOVER_PATH_MAX, "%s-journal", tmp);
	else
		armed_path[3][0] = '\0';
	armed = 1;
}

void imgfs_leftovers_disarm(void)
{
	armed = 0;
}

/* Async-signal-safe: unlink only. */
void imgfs_index_interrupted(void)
{
	int i;

	if (!armed)
		return;
	for (i = 0; i < ARMED_N; i++)
		if (armed_path[i][0])
			unlink(armed_path[i]);
}

static void sweep(const char *pat, const char *keep)
{
	glob_t g;
	size_t i;

	if (glob(pat, GLOB_NOSORT, NULL, &g) != 0)
		return;
	for (i = 0; i < g.gl_pathc; i++)
		if (!keep || strcmp(g.gl_pathv[i], keep))
			unlink(g.gl_pathv[i]);
	globfree(&g);
}

/* INDEX with glob's special characters escaped, then SUFFIX. */
static int pattern(char *out, size_t len, const char *index, const char *suffix)
{
	size_t n = 0;

	for (; *index; index++) {
		if (strchr("*?[\\", *index)) {
			if (n + 1 >= len)
				return -1;
			out[n++] = '\\';
		}
		if (n + 1 >= len)
			return -1;
		out[n++] = *index;
	}
	if (n + strlen(suffix) >= len)
		return -1;
	strcpy(out + n, suffix);
	return 0;
}

void imgfs_leftovers_sweep(const char *index, const char *keep_cache, const char *keep_spool)
{
	char pat[2 * PATH_MAX + 16];

	if (pattern(pat, sizeof(pat), index, ".tmp.*") == 0)
		sweep(pat, NULL);
	if (pattern(pat, sizeof(pat), index, ".*.zst") == 0)
		sweep(pat, keep_cache);
	if (pattern(pat, sizeof(pat), index, ".*.tar") == 0)
		sweep(pat, keep_spool);
}
