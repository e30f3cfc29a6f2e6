/* This file contains the index's lock file, which can be removed safely.
 *
 * A lock file is a flock on an inode reached by name.  Unlinking it while
 * another process waits would hand that process a lock on an inode no name
 * leads to, while a third process creates a new file under the name and
 * locks that: two holders.  So removal happens only under the exclusive
 * lock, and every taker checks, once it holds a lock, that the name still
 * leads to the inode it locked (fstat against stat), and starts over when
 * it does not.  Whoever removes the file therefore never breaks a lock:
 * the waiters wake, see the file gone, and contend for the new one.  This
 * lets a failed build and imgfs cache prune remove lock files instead of
 * leaving one per image ever tried. */
#include "index/lock_i.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Each retry means someone removed the lock in between: a handful cover
 * any real contention; more means something keeps removing it. */
#define LOCK_RETRIES 64

int imgfs_lock_current(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

int imgfs_lock_take(const char *path, int op, int create)
{
	int i;

	for (i = 0; i < LOCK_RETRIES; i++) {
		int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
		int e;

		if (fd < 0 && errno == EACCES && !create)
			fd = open(path, O_RDONLY | O_CLOEXEC); /* flock needs no write access */
		if (fd < 0)
			return -errno;
		if (flock(fd, op) != 0) {
			e = errno;
			close(fd);
			return -e;
		}
		if (imgfs_lock_current(fd, path))
			return fd;
		close(fd);
		if (!create && access(path, F_OK) != 0)
			return -ENOENT;
	}
	/* not -EAGAIN, which is LOCK_NB's "held by someone" */
	return -ELOOP;
}

void imgfs_lock_remove(int fd, const char *path)
{
	if (fd < 0)
		return;
	if (imgfs_lock_current(fd, path))
		unlink(path);
	close(fd);
}
