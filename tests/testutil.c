/* This file contains the helpers shared by the Check unit tests. */
#include "testutil.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *tu_tmpdir(void)
{
	const char *base = getenv("IMGFS_TEST_TMP");
	char *p;

	if (!base)
		base = "/tmp";
	mkdir(base, 0755);
	if (asprintf(&p, "%s/t.XXXXXX", base) < 0)
		abort();
	if (!mkdtemp(p))
		abort();
	return p;
}

char *tu_write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char *p;
	int fd;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
	return p;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(p);
}

void tu_rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
