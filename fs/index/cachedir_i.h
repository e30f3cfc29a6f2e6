/* The names of the files in the index cache directory. */
#ifndef IMGFS_CACHEDIR_I_H
#define IMGFS_CACHEDIR_I_H

#include <stddef.h>

/* STEM (the index), STEM.lock, STEM.tmp.PID[-journal|-link], STEM.<16 hex>.zst
 * (content cache), STEM.<16 hex>.tar (spool); STEM ends in ".db". */
enum imgfs_cache_kind { IMGFS_CK_INDEX, IMGFS_CK_LOCK, IMGFS_CK_TMP, IMGFS_CK_CACHE, IMGFS_CK_SPOOL };

/* What the file NAME (no directory) is, and in *STEM the length of its
 * stem; -1 for a file that is none of ours. */
int imgfs_cache_classify(const char *name, size_t *stem);

#endif
