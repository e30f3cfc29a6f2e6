/* This file contains the check that a mount point is not already an imgfs
 * mount: a second mount there stacked silently (exit 0, two fuse.imgfs
 * lines) and hid the first, which then could only be unmounted after the
 * second.  The kernel's own table, /proc/self/mountinfo (proc(5)), says
 * what is mounted where. */
#include "mounted.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

int imgfs_tool_mounted(const char *dir, char *source, size_t len)
{
	char real[PATH_MAX], *line = NULL;
	size_t cap = 0;
	FILE *f;
	int found = 0;

	if (!realpath(dir, real))
		return 0;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -1;
	/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER */
	while (!found && getline(&line, &cap, f) > 0) {
		char *save = NULL, *mnt = NULL, *type, *src, *tok;
		int i;

		line[strcspn(line, "\n")] = '\0';
		tok = strtok_r(line, " ", &save);
		for (i = 0; tok && i < 4; i++) {
			tok = strtok_r(NULL, " ", &save);
			if (i == 3)
				mnt = tok;
		}
		while (tok && strcmp(tok, "-"))
			tok = strtok_r(NULL, " ", &save);
		type = tok ? strtok_r(NULL, " ", &save) : NULL;
		src = type ? strtok_r(NULL, " ", &save) : NULL;
		if (!mnt || !type || strcmp(type, "fuse.imgfs"))
			continue;
		unescape(mnt);
		if (strcmp(mnt, real))
			continue;
		found = 1;
		if (src) {
			unescape(src);
			snprintf(source, len, "%s", src);
		} else {
			snprintf(source, len, "?");
		}
	}
	free(line);
	fclose(f);
	return found;
}
