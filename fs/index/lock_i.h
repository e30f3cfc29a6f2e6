/* The lock file beside an index: the build lock, the use lock of mounts,
 * and its safe removal. */
#ifndef IMGFS_LOCK_I_H
#define IMGFS_LOCK_I_H

/* Opens the lock file PATH (creating it, mode 0644, when CREATE) and takes
 * its build lock: exclusive with LOCK_EX, shared with LOCK_SH, without
 * waiting with | LOCK_NB.  Retries when the file it locked was unlinked or
 * replaced meanwhile, so the lock held is always that of the file PATH
 * names.  Returns the descriptor (closing it drops every lock on it) or a
 * negative errno: -EWOULDBLOCK with LOCK_NB when someone holds it, -ENOENT
 * without CREATE when there is none, -ELOOP when it kept being replaced. */
int imgfs_lock_take(const char *path, int op, int create);

/* Takes the use lock (shared: a mount, for its life) on FD, which holds
 * the build lock, then drops the build lock: other commands on the image
 * build and reuse its index meanwhile, and a prune, which needs both
 * locks, never finds a moment with neither held.  0 or a negative errno. */
int imgfs_lock_hold(int fd);

/* Takes the use lock exclusively without waiting on FD, which holds the
 * build lock exclusively: 0 when nothing uses the index, -EWOULDBLOCK when
 * a mount does. */
int imgfs_lock_unused(int fd);

/* 1 when a build or a mount holds the lock file PATH; 0 when none does or
 * there is no such file.  Takes no lock. */
int imgfs_lock_busy(const char *path);

/* Removes PATH, the lock file FD holds exclusively, then closes FD.  A
 * process waiting on it finds, once it gets the lock, that its file is no
 * longer PATH and takes PATH's new one (imgfs_lock_take's retry). */
void imgfs_lock_remove(int fd, const char *path);

#endif
