/* The report command of the imgfs tool. */
#ifndef IMGFS_TOOLS_REPORT_H
#define IMGFS_TOOLS_REPORT_H

/* Runs "imgfs report" on ARGV (argv[0] is "report"); returns the exit
 * status: 0, 1 on a runtime failure, 2 on bad usage or a bad image. */
int imgfs_cmd_report(int argc, char **argv);

#endif
