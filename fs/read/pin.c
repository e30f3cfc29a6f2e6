/* This file contains the pinned index: a read-only SQLite VFS that serves
 * the main database of a connection from a descriptor opened once at mount,
 * never from a path.  FUSE workers open their connections lazily, long
 * after the mount; opened by path they would read whatever index was
 * renamed there since (a rebuild, an index of another image) against the
 * image and cache descriptors pinned at mount, and serve wrong bytes.
 *
 * Every other file SQLite opens (temporary b-trees of ORDER BY) goes to
 * the default VFS, as do time, randomness and sleep. */
#include "read/pin_i.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PIN_VFS_NAME "imgfs-pin"
#define PIN_PREFIX "imgfs-pin-fd-"

struct pin_file {
	sqlite3_file base;
	int fd;
};

static sqlite3_vfs pin_vfs;
static sqlite3_vfs *parent_vfs;
static pthread_once_t pin_once = PTHREAD_ONCE_INIT;
static int pin_rc = -EIO;

static int pin_close(sqlite3_file *f)
{
	(void)f; /* the descriptor belongs to the imgfs_fs */
	return SQLITE_OK;
}

static int pin_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
	struct pin_file *p = (struct pin_file *)f;
	size_t done = 0;

	while (done < (size_t)amt) {
		ssize_t n = pread(p->fd, (char *)buf + done, (size_t)amt - done, (off_t)off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return SQLITE_IOERR_READ;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	if (done < (size_t)amt) {
		/* SQLite's contract: zero the rest of a short read */
		memset((char *)buf + done, 0, (size_t)amt - done);
		return SQLITE_IOERR_SHORT_READ;
	}
	return SQLITE_OK;
}

static int pin_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
	return SQLITE_READONLY;
}

static int pin_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return SQLITE_READONLY;
}

static int pin_sync(sqlite3_file *f, int flags)
{
	return SQLITE_OK;
}

static int pin_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct pin_file *p = (struct pin_file *)f;
	struct stat st;

	if (fstat(p->fd, &st) != 0)
		return SQLITE_IOERR_FSTAT;
	*size = st.st_size;
	return SQLITE_OK;
}

/* The index never changes once renamed into place: no locks. */
static int pin_lock(sqlite3_file *f, int level)
{
	return SQLITE_OK;
}

static int pin_reserved(sqlite3_file *f, int *out)
{
	*out = 0;
	return SQLITE_OK;
}

static int pin_control(sqlite3_file *f, int op, void *arg)
{
	return SQLITE_NOTFOUND;
}

static int pin_sector(sqlite3_file *f)
{
	return 4096;
}

static int pin_caps(sqlite3_file *f)
{
	return SQLITE_IOCAP_IMMUTABLE;
}

static const sqlite3_io_methods pin_methods = {
	.iVersion = 1,
	.xClose = pin_close,
	.xRead = pin_read,
	.xWrite = pin_write,
	.xTruncate = pin_truncate,
	.xSync = pin_sync,
	.xFileSize = pin_size,
	.xLock = pin_lock,
	.xUnlock = pin_lock,
	.xCheckReservedLock = pin_reserved,
	.xFileControl = pin_control,
	.xSectorSize = pin_sector,
	.xDeviceCharacteristics = pin_caps,
};

/* "imgfs-pin-fd-N" opens descriptor N; anything else (temporary files
 * have no name) is the default VFS's. */
static int pin_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
	struct pin_file *p = (struct pin_file *)f;
	char *end;
	long fd;

	if (!name || !(flags & SQLITE_OPEN_MAIN_DB) || strncmp(name, PIN_PREFIX, strlen(PIN_PREFIX)))
		return parent_vfs->xOpen(parent_vfs, name, f, flags, out);
	if (flags & SQLITE_OPEN_READWRITE)
		return SQLITE_READONLY;
	errno = 0;
	fd = strtol(name + strlen(PIN_PREFIX), &end, 10);
	if (errno || *end || fd < 0 || fd > INT_MAX)
		return SQLITE_CANTOPEN;
	memset(p, 0, sizeof(*p));
	p->base.pMethods = &pin_methods;
	p->fd = (int)fd;
	if (out)
		*out = SQLITE_OPEN_READONLY;
	return SQLITE_OK;
}

static int pin_delete(sqlite3_vfs *vfs, const char *name, int sync)
{
	return parent_vfs->xDelete(parent_vfs, name, sync);
}

/* No journal or WAL beside a pinned index: it is immutable. */
static int pin_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	if (strncmp(name, PIN_PREFIX, strlen(PIN_PREFIX)) == 0) {
		*out = 0;
		return SQLITE_OK;
	}
	return parent_vfs->xAccess(parent_vfs, name, flags, out);
}

/* The name is not a path: resolving it (the default VFS follows symlinks)
 * is exactly what the pin avoids. */
static int pin_full(sqlite3_vfs *vfs, const char *name, int len, char *out)
{
	if (strncmp(name, PIN_PREFIX, strlen(PIN_PREFIX)) == 0) {
		if ((int)strlen(name) >= len)
			return SQLITE_CANTOPEN;
		strcpy(out, name);
		return SQLITE_OK;
	}
	return parent_vfs->xFullPathname(parent_vfs, name, len, out);
}

static int pin_random(sqlite3_vfs *vfs, int n, char *out)
{
	return parent_vfs->xRandomness(parent_vfs, n, out);
}

static int pin_sleep(sqlite3_vfs *vfs, int us)
{
	return parent_vfs->xSleep(parent_vfs, us);
}

static int pin_time(sqlite3_vfs *vfs, double *out)
{
	return parent_vfs->xCurrentTime(parent_vfs, out);
}

static int pin_error(sqlite3_vfs *vfs, int n, char *out)
{
	return parent_vfs->xGetLastError(parent_vfs, n, out);
}

static void pin_register(void)
{
	parent_vfs = sqlite3_vfs_find(NULL);
	if (!parent_vfs)
		return;
	pin_vfs.iVersion = 1;
	pin_vfs.szOsFile = parent_vfs->szOsFile > (int)sizeof(struct pin_file)
		? parent_vfs->szOsFile : (int)sizeof(struct pin_file);
	pin_vfs.mxPathname = parent_vfs->mxPathname;
	pin_vfs.zName = PIN_VFS_NAME;
	pin_vfs.xOpen = pin_open;
	pin_vfs.xDelete = pin_delete;
	pin_vfs.xAccess = pin_access;
	pin_vfs.xFullPathname = pin_full;
	pin_vfs.xRandomness = pin_random;
	pin_vfs.xSleep = pin_sleep;
	pin_vfs.xCurrentTime = pin_time;
	pin_vfs.xGetLastError = pin_error;
	pin_rc = sqlite3_vfs_register(&pin_vfs, 0) == SQLITE_OK ? 0 : -ENOMEM;
}

int imgfs_pin_open(int fd, sqlite3 **db)
{
	char name[sizeof(PIN_PREFIX) + 16];
	int rc;

	*db = NULL;
	pthread_once(&pin_once, pin_register);
	if (pin_rc)
		return pin_rc;
	snprintf(name, sizeof(name), PIN_PREFIX "%d", fd);
	rc = sqlite3_open_v2(name, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, PIN_VFS_NAME);
	if (rc == SQLITE_OK)
		return 0;
	rc = rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
	sqlite3_close(*db);
	*db = NULL;
	return rc;
}
