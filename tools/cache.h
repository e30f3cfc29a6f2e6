/* The cache command of the imgfs tool. */
#ifndef IMGFS_TOOLS_CACHE_H
#define IMGFS_TOOLS_CACHE_H

/* Runs "imgfs cache [list|prune|clear]" on ARGV (argv[0] is "cache");
 * returns the exit status: 0, 1 on a runtime failure, 2 on bad usage. */
int imgfs_cmd_cache(int argc, char **argv);

#endif
