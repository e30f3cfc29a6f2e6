/* This file contains the FUSE adapter: each handler resolves the inode,
 * calls one core function and replies.  No SQL, tar or path logic here.
 *
 * Inodes: fuse_ino_t is the set's inode (read/set.c: the index's inode row
 * id for one image; 1 is the root, as FUSE_ROOT_ID wants).  The index never changes while mounted, so nothing
 * is held per inode in memory: lookup counts need no bookkeeping and forget
 * has nothing to release.  Entries and attributes are valid for a day and
 * the page cache is kept across opens. */
#define FUSE_USE_VERSION 312
#include "imgfs/fuse_ops.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The tree never changes after indexing. */
#define TIMEOUT 86400.0

/* A read buffer per FUSE thread, freed when the thread ends: a 1 MiB
 * malloc per read would be an mmap and its page faults. */
struct readbuf {
	size_t cap;
	char data[];
};

/* The adapter's state: the core filesystem and what the kernel agreed to. */
struct adapter {
	struct imgfs_set *fs;   /* one image, or several under a root of their own */
	pthread_key_t bufkey;
	int no_open;     /* open/release skipped: FUSE_CAP_NO_OPEN_SUPPORT */
	int no_opendir;  /* opendir/releasedir skipped */
};

/* Worker threads: reads of the content cache decode a frame each, so a few
 * concurrent readers keep both cores busy; past 16 threads only wake-ups
 * grow.  Half stay idle, ready, so bursts (find, du) skip thread creation. */
#define FUSE_THREADS_MAX 16
#define FUSE_THREADS_IDLE 8

static struct imgfs_set *FS(fuse_req_t req)
{
	return ((struct adapter *)fuse_req_userdata(req))->fs;
}

static struct adapter *AD(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void to_stat(const struct imgfs_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_size = (off_t)a->size;
	st->st_rdev = a->rdev;
	st->st_blksize = 4096;
	/* From the data size, so du and du -b both add up. */
	st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	st->st_mtim.tv_sec = a->mtime;
	st->st_mtim.tv_nsec = a->mtime_ns;
	st->st_atim = st->st_mtim;
	st->st_ctim = st->st_mtim;
}

static void fill_entry(const struct imgfs_attr *a, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = a->ino;
	e->generation = 1;
	e->attr_timeout = TIMEOUT;
	e->entry_timeout = TIMEOUT;
	to_stat(a, &e->attr);
}

static void op_init(void *data, struct fuse_conn_info *conn)
{
	struct adapter *ad = data;

	/* Nothing is held per open file and the tree never changes: when
	 * the kernel can skip open and release (and keeps the page cache and
	 * directory cache then), a read of a small file is one round trip
	 * instead of three.  Writes never get here: the mount is read-only. */
	if (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) {
		conn->want |= FUSE_CAP_NO_OPEN_SUPPORT;
		ad->no_open = 1;
	}
	if (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) {
		conn->want |= FUSE_CAP_NO_OPENDIR_SUPPORT;
		ad->no_opendir = 1;
	}
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	/* No splice: most image files are small, and a pipe round trip per
	 * read costs more than the copy it saves (grep -r over big). */
	conn->want &= ~(unsigned)(FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	/* Reads of up to 1 MiB (the content cache's frame size): the kernel
	 * sizes its requests by max_pages, which libfuse derives from
	 * max_write, and readahead lets sequential reads use them. */
	conn->max_write = 1u << 20;
	conn->max_readahead = 1u << 20;
}

/* Valid replies: fuse_reply_entry, fuse_reply_err */
static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct imgfs_attr a;
	struct fuse_entry_param e;
	int rc = imgfs_set_lookup(FS(req), parent, name, &a);

	if (rc == -ENOENT) {
		/* A negative entry, cached as long as the positive ones. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = TIMEOUT;
		fuse_reply_entry(req, &e);
		return;
	}
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fill_entry(&a, &e);
	fuse_reply_entry(req, &e);
}

/* Valid replies: fuse_reply_none */
static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	(void)ino;
	(void)nlookup;
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	(void)count;
	(void)forgets;
	fuse_reply_none(req);
}

/* Valid replies: fuse_reply_attr, fuse_reply_err */
static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct imgfs_attr a;
	struct stat st;
	int rc = imgfs_set_getattr(FS(req), ino, &a);

	(void)fi;
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	to_stat(&a, &st);
	fuse_reply_attr(req, &st, TIMEOUT);
}

/* Valid replies: fuse_reply_readlink, fuse_reply_err */
static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[PATH_MAX + 1];
	ssize_t n = imgfs_set_readlink(FS(req), ino, buf, sizeof(buf) - 1);

	if (n < 0) {
		fuse_reply_err(req, (int)-n);
		return;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}

/* Valid replies: fuse_reply_open, fuse_reply_err */
static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (AD(req)->no_open) {
		fuse_reply_err(req, ENOSYS); /* the kernel stops asking */
		return;
	}
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

/* Valid replies: fuse_reply_buf, fuse_reply_iov, fuse_reply_data, fuse_reply_err
 *
 * The bytes are read here rather than handed to libfuse as a descriptor
 * (fuse_reply_data): libfuse would reply short, not EIO, when the image
 * shrank under the mount.  Splice measured slower for small files anyway. */
static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct readbuf *b = pthread_getspecific(AD(req)->bufkey);
	ssize_t n;

	(void)fi;
	if (!b || b->cap < size) {
		struct readbuf *nb = realloc(b, sizeof(*nb) + size);

		if (!nb) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		nb->cap = size;
		b = nb;
		pthread_setspecific(AD(req)->bufkey, b);
	}
	n = imgfs_set_read(FS(req), ino, b->data, size, (uint64_t)off);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, b->data, (size_t)n);
}

/* Valid replies: fuse_reply_open, fuse_reply_err */
static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	if (AD(req)->no_opendir) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	fi->keep_cache = 1;
	fi->cache_readdir = 1;
	fuse_reply_open(req, fi);
}

struct dirbuf {
	fuse_req_t req;
	char *buf;
	size_t size, used;
	int plus;
};

static int add_dirent(void *ctx, const char *name, const struct imgfs_attr *a, uint64_t next)
{
	struct dirbuf *d = ctx;
	size_t n;

	if (d->plus) {
		struct fuse_entry_param e;

		fill_entry(a, &e);
		n = fuse_add_direntry_plus(d->req, d->buf + d->used, d->size - d->used, name, &e,
					   (off_t)next);
	} else {
		struct stat st;

		to_stat(a, &st);
		n = fuse_add_direntry(d->req, d->buf + d->used, d->size - d->used, name, &st,
				      (off_t)next);
	}
	if (n > d->size - d->used)
		return 1; /* full: this entry comes again from NEXT's predecessor */
	d->used += n;
	return 0;
}

static void readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, int plus)
{
	struct dirbuf d = { .req = req, .size = size, .plus = plus };
	int rc;

	d.buf = malloc(size ? size : 1);
	if (!d.buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	rc = imgfs_set_readdir(FS(req), ino, (uint64_t)off, add_dirent, &d);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, d.buf, d.used);
	free(d.buf);
}

/* Valid replies: fuse_reply_buf, fuse_reply_data, fuse_reply_err */
static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)fi;
	readdir_common(req, ino, size, off, 0);
}

/* Valid replies: fuse_reply_buf, fuse_reply_data, fuse_reply_err */
static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	(void)fi;
	readdir_common(req, ino, size, off, 1);
}

/* Valid replies: fuse_reply_buf, fuse_reply_data, fuse_reply_xattr, fuse_reply_err */
static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	char *buf = size ? malloc(size) : NULL;
	ssize_t n;

	if (size && !buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = imgfs_set_getxattr(FS(req), ino, name, buf, size);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

/* Valid replies: fuse_reply_buf, fuse_reply_data, fuse_reply_xattr, fuse_reply_err */
static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char *buf = size ? malloc(size) : NULL;
	ssize_t n;

	if (size && !buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = imgfs_set_listxattr(FS(req), ino, buf, size);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

/* Valid replies: fuse_reply_statfs, fuse_reply_err */
static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct imgfs_fs_stat s;
	struct statvfs sv;
	int rc = imgfs_set_statfs(FS(req), &s);

	(void)ino;
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_blocks = (s.bytes + 4095) / 4096;
	sv.f_files = s.inodes;
	sv.f_namemax = 255;
	sv.f_flag = ST_RDONLY | ST_NOSUID | ST_NODEV;
	fuse_reply_statfs(req, &sv);
}

static const struct fuse_lowlevel_ops ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.open = op_open,
	.read = op_read,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.statfs = op_statfs,
};

int imgfs_fuse_run(struct imgfs_set *fs, const struct imgfs_mount_opts *o)
{
	struct adapter ad = { 0 };
	int have_key = 0;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;
	struct fuse_loop_config *cfg = NULL;
	char opts[8192], fsname[4096];
	size_t i;
	int rc = 0;

	/* Commas separate mount options: keep them out of the name. */
	snprintf(fsname, sizeof(fsname), "%s", o->fsname ? o->fsname : "imgfs");
	for (i = 0; fsname[i]; i++)
		if (fsname[i] == ',' || fsname[i] == '\\')
			fsname[i] = '_';
	snprintf(opts, sizeof(opts), "ro,nosuid,nodev,default_permissions,fsname=%s,subtype=imgfs%s%s",
		 fsname, o->extra ? "," : "", o->extra ? o->extra : "");
	if (fuse_opt_add_arg(&args, "imgfs") || fuse_opt_add_arg(&args, "-o") ||
	    fuse_opt_add_arg(&args, opts) || (o->debug && fuse_opt_add_arg(&args, "-d"))) {
		rc = -ENOMEM;
		goto out;
	}
	ad.fs = fs;
	if (pthread_key_create(&ad.bufkey, free) != 0) {
		rc = -ENOMEM;
		goto out;
	}
	have_key = 1;
	se = fuse_session_new(&args, &ops, sizeof(ops), &ad);
	if (!se) {
		fprintf(stderr, "imgfs: cannot start FUSE session (bad -o option?)\n");
		rc = -EINVAL;
		goto out;
	}
	if (fuse_set_signal_handlers(se) != 0) {
		rc = -EIO;
		goto out_se;
	}
	if (fuse_session_mount(se, o->mountpoint) != 0) {
		fprintf(stderr, "imgfs: %s: cannot mount\n", o->mountpoint);
		rc = -EIO;
		goto out_sig;
	}
	fuse_daemonize(o->foreground);
	cfg = fuse_loop_cfg_create();
	if (!cfg) {
		rc = -ENOMEM;
		goto out_mount;
	}
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_max_threads(cfg, FUSE_THREADS_MAX);
	fuse_loop_cfg_set_idle_threads(cfg, FUSE_THREADS_IDLE);
	/* The loop returns the signal number when SIGINT or SIGTERM ended
	 * it: a clean stop, not an error. */
	if (fuse_session_loop_mt(se, cfg) < 0)
		rc = -EIO;
	fuse_loop_cfg_destroy(cfg);
out_mount:
	fuse_session_unmount(se);
out_sig:
	fuse_remove_signal_handlers(se);
out_se:
	fuse_session_destroy(se);
out:
	if (have_key) {
		free(pthread_getspecific(ad.bufkey));
		pthread_key_delete(ad.bufkey);
	}
	fuse_opt_free_args(&args);
	return rc;
}
