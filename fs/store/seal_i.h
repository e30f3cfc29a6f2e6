/* The index's seal: a checksum over the whole index file, so a damaged
 * index is found before it serves a byte. */
#ifndef IMGFS_SEAL_I_H
#define IMGFS_SEAL_I_H

struct imgfs_err;

/* SQLite's header fields the seal lives in (https://sqlite.org/fileformat.html,
 * "The Database Header"): both are the application's, and SQLite never
 * interprets them.  application_id names the file an imgfs index;
 * user_version holds the low 32 bits of XXH3-64 over the whole file with
 * the user_version field itself read as zeros. */
#define IMGFS_SEAL_APP_ID_OFF 68
#define IMGFS_SEAL_SUM_OFF 60
#define IMGFS_SEAL_APP_ID 0x696d6766 /* "imgf" */

/* Seals the index at PATH (closed by SQLite, not yet renamed into place).
 * Returns 0 or a negative errno with ERR set. */
int imgfs_seal_write(const char *path, struct imgfs_err *err);

/* Checks the seal of the index open at FD: 0 when whole, -EBADMSG when
 * damaged, -ENODATA when it is no sealed imgfs index (another file, an
 * index of an older version), another negative errno when unreadable. */
int imgfs_seal_check(int fd);

#endif
