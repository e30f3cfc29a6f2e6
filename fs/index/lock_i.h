/* The lock file beside an index, which may be removed while others wait. */
#ifndef IMGFS_LOCK_I_H
#define IMGFS_LOCK_I_H

/* Opens the lock file PATH (creating it, mode 0644, when CREATE) and takes
 * the flock OP on it (LOCK_SH or LOCK_EX, maybe | LOCK_NB).  Retries when
 * the file it locked was unlinked or replaced meanwhile, so the lock held
 * is always that of the file PATH names.  Returns the descriptor (the
 * caller closes it to unlock) or a negative errno: -EWOULDBLOCK with
 * LOCK_NB when someone holds it, -ENOENT without CREATE when there is none, -ELOOP when it kept
 * being replaced. */
int imgfs_lock_take(const char *path, int op, int create);

/* 1 when FD (from imgfs_lock_take) is still the file PATH names; 0 when
 * the lock was converted (flock's conversions are not atomic) and someone
 * removed the file in between. */
int imgfs_lock_current(int fd, const char *path);

/* Removes PATH, the lock file FD holds exclusively, then closes FD.  A
 * process waiting on it finds, once it gets the lock, that its file is no
 * longer PATH and takes PATH's new one (imgfs_lock_take's retry). */
void imgfs_lock_remove(int fd, const char *path);

#endif
