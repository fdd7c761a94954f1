/*
 * Restore and checkpoint jobs: their state machines, the queue and the job
 * registry.
 */
#ifndef CTRD_JOB_H
#define CTRD_JOB_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <jansson.h>

#include "request.h"

struct event_base;
struct error;
struct job;
struct job_watch;
struct jobs;
struct metrics;
struct pool;
struct reaper;

enum job_type {
	JOB_TYPE_RESTORE,
	JOB_TYPE_CHECKPOINT,
};

/* States from JOB_EXITED on end a job. */
enum job_state {
	JOB_QUEUED,
	JOB_LAZY_PAGES,
	JOB_RESTORING,
	JOB_RESTORED,
	JOB_DUMPING,		/* checkpoint: the DUMP is with a worker */
	JOB_SERVING,		/* checkpoint: images written, pages served */
	JOB_EXITED,
	JOB_CHECKPOINTED,	/* checkpoint: dump and page transfer done */
	JOB_FAILED,
	JOB_CANCELED,
	JOB_INTERRUPTED,	/* ctrd stopped abruptly before the job ended */
	JOB_STATE_COUNT,
};

/* Called after any job is queued, changes state or ends its page transfer. */
typedef void jobs_changed_fn(void *arg);

struct jobs_config {
	const char *criu_path;
	int state_dir_fd;	/* job work dirs go in its jobs/ subdir */
	const char *state_dir;
	int max_running;	/* jobs with a CRIU worker at once */
	int max_history;	/* ended jobs kept for status and list */
	int max_queue;		/* jobs waiting for a worker */
	/* Phase deadlines in seconds, as in struct config; 0 turns one off. */
	int queue_timeout;
	int lazy_pages_timeout;
	int restore_timeout;
	int pages_timeout;
	long long max_log_bytes;
	/* TLS files for page-server links, or NULL when not configured. */
	const char *tls_cacert;
	const char *tls_cert;
	const char *tls_key;	/* CRIU log size that fails a restore */
	jobs_changed_fn *changed;	/* may be NULL */
	void *changed_arg;
};

struct jobs_counts {
	int total;
	int queued;
	int active;		/* started and not ended */
	int restoring;		/* started and not yet restored */
};

/*
 * Receives each event of a watched job.  `last` is true for the event that
 * ends the job: the watch is freed right after the call returns.
 */
typedef void job_event_fn(const json_t *event, bool last, void *arg);

struct jobs *jobs_new(struct event_base *base, struct reaper *reaper,
    struct pool *pool, const struct jobs_config *config, struct error *err);
void jobs_free(struct jobs *jobs);

/*
 * Open the job history in the state dir and reload its jobs.  A job that
 * was restored and whose process still runs (same pid and start time) is
 * adopted: status and exited keep working, but its exit status is lost.
 * Jobs a crash left unfinished end as interrupted.
 */
int jobs_open_history(struct jobs *jobs, struct error *err);

/* Replace the journal with one record per job ctrd keeps. */
int jobs_rewrite_history(struct jobs *jobs, struct error *err);

/* Rewrite the journal once it has grown well past one record per job. */
void jobs_compact_history(struct jobs *jobs);

/* Return whether another job fits in the queue and ctrd is not stopping. */
bool jobs_can_queue(const struct jobs *jobs);

/*
 * Apply the limits of `config` (max_running, max_history, max_queue,
 * the phase deadlines, max_log_bytes) to queued and future jobs.  A job
 * keeps the deadline of the phase it is in.
 */
void jobs_set_limits(struct jobs *jobs, const struct jobs_config *config);

/*
 * Begin a graceful stop: accept no more jobs and cancel the queued ones
 * with `reason`.  Running restores go on.
 */
void jobs_stop(struct jobs *jobs, const char *reason);

bool jobs_is_stopping(const struct jobs *jobs);

/* Cancel every job still restoring, with `reason`. */
void jobs_cancel_running(struct jobs *jobs, const char *reason);

/* Return whether a restore runs or a lazy-pages server still copies pages. */
bool jobs_are_busy(const struct jobs *jobs);

/*
 * Create a restore job for the images dir `images_dir`, already opened as
 * `images_fd` (taken over, also on failure), whose pstree.img names
 * `image_pid` as the root, for the client with credentials `peer`.  The job
 * is not queued until jobs_enqueue(), so a client can watch it before its
 * first event.
 */
struct job *jobs_create(struct jobs *jobs, const char *images_dir,
    int images_fd, pid_t image_pid, const struct job_options *options,
    const struct ucred *peer, struct error *err);

/*
 * Create a checkpoint job that dumps the tree of `pid`, which started at
 * `start_ticks` (proc_tree_read_stat()), into `images_dir`, opened as
 * `images_fd` (taken over, also on failure).  As jobs_create(), it is
 * queued by jobs_enqueue().
 */
struct job *jobs_create_checkpoint(struct jobs *jobs, const char *images_dir,
    int images_fd, pid_t pid, unsigned long long start_ticks,
    const struct job_options *options, const struct ucred *peer,
    struct error *err);

/*
 * Check that no checkpoint job that has not ended writes to the directory
 * open as `images_fd`, or has its page server where `options` requests one.
 * Two dumps into one directory would mix their image sets, and the second
 * page server on a port would fail only after CRIU froze and dumped the
 * tree.  Fails with invalid-params, naming the other job.
 */
int jobs_check_checkpoint_clash(const struct jobs *jobs, int images_fd,
    const struct job_options *options, struct error *err);

/*
 * Send a full restore's RESTORE to a warm worker at once if the job would
 * start first anyway, with nothing queued and a running slot and a warm
 * worker free.  Call it after jobs_create() and before the reply, so CRIU
 * works while ctrd replies.  jobs_enqueue() then starts the job in the same
 * turn of the loop.
 */
void jobs_send_early(struct jobs *jobs, struct job *job);

/* Queue the job; it starts once a worker is free. */
void jobs_enqueue(struct jobs *jobs, struct job *job);

/* Start queued jobs while warm workers and running slots are free. */
void jobs_dispatch(struct jobs *jobs);

struct job *jobs_find(struct jobs *jobs, const char *id);
json_t *jobs_list_json(struct jobs *jobs);
void jobs_get_counts(const struct jobs *jobs, struct jobs_counts *counts);

/* The counters and phase histograms of every job since ctrd started. */
const struct metrics *jobs_metrics(const struct jobs *jobs);

const char *job_id(const struct job *job);
bool job_is_ended(const struct job *job);

/*
 * Return the job object of the API (see proto/API.md), a new reference.
 * An ended job's object is shared between calls: do not modify it.
 */
json_t *job_to_json(struct job *job);

/* Cancel a job that has not ended; kills whatever it started. */
int job_cancel(struct job *job, struct error *err);

struct job_watch *job_watch_add(struct job *job, job_event_fn *fn,
    void *arg);
void job_watch_remove(struct job_watch *watch);

#endif
