/*
 * The durable job history: an append-only journal of job records, one JSON
 * object per line, in STATE_DIR/jobs.journal.
 *
 * Each record is a whole snapshot of one job, so the last record of a job
 * is its state.  A record is written with one write(2) on an O_APPEND file
 * before ctrd goes on, so a crash or SIGKILL of ctrd loses no record.
 * fdatasync(2) runs on a thread of its own as soon as records were written.
 * So an append does not wait for the disk, and a power loss can lose the
 * records of the last few milliseconds.
 * A line cut short by a crash mid-write is skipped when the journal loads.
 */
#ifndef CTRD_HISTORY_H
#define CTRD_HISTORY_H

#include <stddef.h>

#include <jansson.h>

struct error;
struct history;

#define HISTORY_FILE "jobs.journal"

/* Open (creating it if needed) the journal in the directory `dir_fd`. */
struct history *history_open(int dir_fd, const char *dir,
    struct error *err);
void history_free(struct history *history);

/*
 * Read the journal and return an array of the last record of each job, in
 * the order the jobs first appear, or NULL with `err` set when the file
 * cannot be read.  Lines that are not JSON objects with a "job" string are
 * skipped with a warning.
 */
json_t *history_load(struct history *history, struct error *err);

/*
 * Append `record` as one line.  A failed write is logged and counted: the
 * job goes on, and the next rewrite replaces the journal whole.
 */
void history_append(struct history *history, const json_t *record);

/*
 * Replace the journal with `records` (an array), through a temporary file
 * that is synced and renamed over it, so a crash leaves either journal.
 */
int history_rewrite(struct history *history, const json_t *records,
    struct error *err);

/* Number of records appended since the journal was last rewritten. */
size_t history_appended(const struct history *history);

#endif
