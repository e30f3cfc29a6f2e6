/* This file contains the index's seal.  Of 200 single-bit flips in an index
 * 10 served wrong bytes with no error: SQLite checks its b-tree structure,
 * not the values in it.  The seal is checked when an index is considered
 * fresh and again on the descriptor a mount pins, so a flip anywhere means
 * a rebuild or a refusal, never a wrong byte.  XXH3 (libxxhash) because
 * this is damage detection, not authentication: whoever can write the
 * index can write its seal; it hashes at memory speed (an index is about
 * 230 bytes per inode). */
#include "store/seal_i.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "util/err_i.h"

#define SEAL_BLOCK (1 << 20)

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* XXH3-64 of the file open at FD with the checksum field read as zeros;
 * *STORED gets the field's value.  0 or a negative errno. */
static int file_sum(int fd, uint32_t *sum, uint32_t *stored)
{
	XXH3_state_t *st = XXH3_createState();
	unsigned char *buf = malloc(SEAL_BLOCK);
	off_t off = 0;
	int rc = -ENOMEM, have_header = 0;

	if (!st || !buf)
		goto out;
	XXH3_64bits_reset(st);
	for (;;) {
		ssize_t n = pread(fd, buf, SEAL_BLOCK, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		if (off == 0 && n >= IMGFS_SEAL_SUM_OFF + 4) {
			*stored = get_be32(buf + IMGFS_SEAL_SUM_OFF);
			memset(buf + IMGFS_SEAL_SUM_OFF, 0, 4);
			have_header = 1;
		}
		XXH3_64bits_update(st, buf, (size_t)n);
		off += n;
	}
	/* a file shorter than SQLite's header is no index */
	rc = have_header ? 0 : -EBADMSG;
	*sum = (uint32_t)XXH3_64bits_digest(st);
out:
	XXH3_freeState(st);
	free(buf);
	return rc;
}

int imgfs_seal_write(const char *path, struct imgfs_err *err)
{
	unsigned char be[4];
	uint32_t sum = 0, stored;
	int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC), rc;

	if (fd < 0)
		return imgfs_errf(err, -errno, 0, "%s: %s", path, strerror(errno));
	put_be32(be, IMGFS_SEAL_APP_ID);
	if (pwrite(fd, be, 4, IMGFS_SEAL_APP_ID_OFF) != 4) {
		rc = imgfs_errf(err, -EIO, 0, "%s: cannot write the seal", path);
		goto out;
	}
	rc = file_sum(fd, &sum, &stored);
	if (rc) {
		rc = imgfs_errf(err, rc, 0, "%s: cannot seal: %s", path, strerror(-rc));
		goto out;
	}
	put_be32(be, sum);
	if (pwrite(fd, be, 4, IMGFS_SEAL_SUM_OFF) != 4 || fsync(fd) != 0)
		rc = imgfs_errf(err, -EIO, 0, "%s: cannot write the seal", path);
out:
	close(fd);
	return rc;
}

int imgfs_seal_check(int fd)
{
	unsigned char id[4];
	uint32_t sum = 0, stored = 0;
	int rc;

	if (pread(fd, id, 4, IMGFS_SEAL_APP_ID_OFF) != 4 || get_be32(id) != IMGFS_SEAL_APP_ID)
		return -ENODATA;
	rc = file_sum(fd, &sum, &stored);
	if (rc)
		return rc;
	return sum == stored ? 0 : -EBADMSG;
}
