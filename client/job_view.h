/* Job objects from ctrd printed for a person to read. */
#ifndef CTRD_CLI_JOB_VIEW_H
#define CTRD_CLI_JOB_VIEW_H

#include <stdio.h>

#include <jansson.h>

/*
 * Print `job` as aligned "key: value" lines in the order ctrd sent its
 * members, then the lines of its error log, if any, under "log:".
 */
void job_view_print_status(FILE *out, json_t *job);

/* Print the array `jobs` as a table with a header and one row per job. */
void job_view_print_list(FILE *out, json_t *jobs);

/*
 * Return a new object shaped like the event of the job's state, so that
 * event_line_print() can show the job as it is now.  Its time is the
 * latest of the job's times, and it carries the job's pid, exit status and
 * error, and for a lazy restored job whether every page has arrived.
 */
json_t *job_view_to_event(json_t *job);

#endif
