/* This file contains the index's lock file: two locks on it, and its safe
 * removal.
 *
 * The locks are open file description locks (fcntl F_OFD_*) on two bytes
 * of the file: byte 0 is the build lock, held exclusively while the index
 * is checked or built, so that two commands on one image build it once;
 * byte 1 is the use lock, held shared by a mount for its whole life (the
 * daemon inherits the descriptor), so that imgfs cache prune, which must
 * take both exclusively, leaves a mounted index alone.  A mount takes the
 * use lock before it drops the build lock, so there is no gap.  OFD locks
 * rather than flock: flock has one lock per file, and its conversions are
 * not atomic; on NFS it is emulated with whole-file byte-range locks,
 * which would make the two locks one.  OFD rather than classic POSIX
 * locks: those belong to the process and vanish when any descriptor of
 * the file is closed.
 *
 * Removal: a lock is on an inode reached by name.  Unlinking the file
 * while another process waits would hand that process a lock on an inode
 * no name leads to, while a third creates a new file under the name and
 * locks that: two holders.  So removal happens only under the exclusive
 * build lock, and every taker checks, once it holds a lock, that the name
 * still leads to the inode it locked (fstat against stat), and starts over
 * when it does not: the waiters wake, see the file gone, and contend for
 * the new one.  This lets a failed build and imgfs cache prune remove lock
 * files instead of leaving one per image ever tried. */
#include "index/lock_i.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUILD_BYTE 0
#define USE_BYTE 1

/* Each retry means someone removed the lock in between: a handful cover
 * any real contention; more means something keeps removing it. */
#define LOCK_RETRIES 64

static int range(int fd, int cmd, short type, off_t byte)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };

	if (fcntl(fd, cmd, &fl) == 0)
		return cmd == F_OFD_GETLK ? fl.l_type != F_UNLCK : 0;
	/* POSIX says EACCES or EAGAIN for a lock held by someone else */
	return errno == EACCES || errno == EAGAIN ? -EWOULDBLOCK : -errno;
}

static int current(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

int imgfs_lock_take(const char *path, int op, int create)
{
	short type = (op & LOCK_EX) ? F_WRLCK : F_RDLCK;
	int cmd = (op & LOCK_NB) ? F_OFD_SETLK : F_OFD_SETLKW;
	int i;

	for (i = 0; i < LOCK_RETRIES; i++) {
		int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
		int rc;

		if (fd < 0 && errno == EACCES && !create && type == F_RDLCK)
			fd = open(path, O_RDONLY | O_CLOEXEC); /* a read lock needs no write access */
		if (fd < 0)
			return -errno;
		rc = range(fd, cmd, type, BUILD_BYTE);
		if (rc) {
			close(fd);
			return rc;
		}
		if (current(fd, path))
			return fd;
		close(fd);
		if (!create && access(path, F_OK) != 0)
			return -ENOENT;
	}
	/* not -EAGAIN, which is LOCK_NB's "held by someone" */
	return -ELOOP;
}

int imgfs_lock_hold(int fd)
{
	int rc = range(fd, F_OFD_SETLKW, F_RDLCK, USE_BYTE);

	return rc ? rc : range(fd, F_OFD_SETLK, F_UNLCK, BUILD_BYTE);
}

int imgfs_lock_unused(int fd)
{
	return range(fd, F_OFD_SETLK, F_WRLCK, USE_BYTE);
}

int imgfs_lock_busy(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), busy;

	if (fd < 0)
		return 0;
	busy = range(fd, F_OFD_GETLK, F_WRLCK, BUILD_BYTE) == 1 ||
	       range(fd, F_OFD_GETLK, F_WRLCK, USE_BYTE) == 1;
	close(fd);
	return busy;
}

void imgfs_lock_remove(int fd, const char *path)
{
	if (fd < 0)
		return;
	if (current(fd, path))
		unlink(path);
	close(fd);
}
