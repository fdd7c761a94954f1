/*
 * Internals of jobs shared by the modules that implement them: job.c (the
 * state machine and the queue), job_json.c (the API's job object and the
 * history record) and job_history.c (reloading jobs after a restart).
 */
#ifndef CTRD_JOB_INTERNAL_H
#define CTRD_JOB_INTERNAL_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <limits.h>
#include <stdbool.h>
#include <time.h>

#include <jansson.h>

#include "criu_rpc.h"
#include "criu_stats.h"
#include "job.h"
#include "request.h"

struct event;
struct history;
struct job_phase;
struct metrics;

struct job_watch {
	struct job *job;
	job_event_fn *fn;
	void *arg;
	TAILQ_ENTRY(job_watch) entry;
};

struct job {
	char id[JOB_ID_LEN + 1];
	enum job_type type;
	enum job_state state;
	struct jobs *jobs;
	char *images_dir;
	char work_dir[PATH_MAX];
	int images_fd;
	int work_fd;
	struct job_options options;
	struct ucred peer;		/* client that submitted the job */

	struct worker *worker;		/* while the RESTORE runs */
	struct lazy_pages *lazy;	/* lazy jobs, until the server exits */
	pid_t pid;			/* restored root, 0 until known */
	unsigned long long pid_start;	/* its start time, clock ticks */
	bool adopted;			/* reloaded restored job, not a child */
	bool exit_unknown;		/* exited while not ctrd's child */
	struct event *adopted_exit;	/* pidfd of an adopted root */
	pid_t image_pid;		/* root pid in pstree.img */
	pid_t target_pid;		/* checkpoint: root of the dumped tree */
	unsigned long long target_start;	/* its start time, clock ticks */
	pid_t worker_pid;		/* checkpoint: its CRIU worker, */
	unsigned long long worker_start;	/* kept for a restart */
	struct timespec started_boottime;	/* CLOCK_BOOTTIME at start */
	bool waited;			/* did not start when submitted */
	bool restore_sent;		/* RESTORE sent before it was queued */
	bool replied;			/* RESTORE reply received */
	bool pages_complete;		/* lazy server exited 0 */
	long pages_copied;		/* from its log, -1 if not logged */
	long pages_total;
	struct criu_stats criu_stats;	/* from CRIU's stats-restore */
	bool has_criu_stats;		/* criu_stats shown: restored */
	bool criu_stats_read;		/* criu_stats read, maybe not shown */
	bool root_exited;
	int root_status;
	json_t *error;			/* {code, message, log} once failed */
	json_t *json_cache;		/* job_to_json() of an ended job */
	char *cancel_reason;

	struct timespec created, started, restored, ended;
	struct timespec phase_start;	/* CLOCK_MONOTONIC, for metrics */
	struct event *watchdog;		/* log size checks */
	struct event *deadline;		/* of the current phase */
	const struct job_phase *phase;	/* the deadline's phase */
	int deadline_seconds;		/* as armed, before any reload */
	const char *fail_phase;		/* a deadline's phase, for the error */
	TAILQ_HEAD(, job_watch) watches;
	TAILQ_ENTRY(job) all_entry;
	TAILQ_ENTRY(job) ended_entry;
	TAILQ_ENTRY(job) queue_entry;
};

struct jobs {
	struct event_base *base;
	struct reaper *reaper;
	struct pool *pool;
	struct jobs_config config;
	int jobs_dir_fd;
	int running;
	int ended;
	bool stopping;			/* jobs_stop() ran: no new jobs */
	struct event *dispatch_event;
	struct history *history;	/* NULL: jobs are not recorded */
	struct metrics *metrics;
	char spare_id[JOB_ID_LEN + 1];	/* next job's id, when spare_fd != -1 */
	int spare_fd;			/* its work dir, made ahead of time */
	TAILQ_HEAD(, job) all;
	TAILQ_HEAD(, job) ended_jobs;	/* in the order they ended */
	TAILQ_HEAD(, job) queue;
};

extern const char *const job_state_names[];
extern const char *const job_type_names[];

/* CRIU's logs in the job's work dir. */
#define JOB_RESTORE_LOG "restore.log"
#define JOB_DUMP_LOG "dump.log"

/*
 * A phase of a job with a deadline.  Expiry fails the job with code
 * timeout and the phase named.
 */
struct job_phase {
	const char *name;	/* in the error's "phase" */
	const char *key;	/* config key of the deadline */
	const char *what;	/* what did not happen in time */
};

extern const struct job_phase job_phase_dumping;
extern const struct job_phase job_phase_serving;

/* Start the deadline of `phase`, replacing the previous phase's. */
void job_set_deadline(struct job *job, const struct job_phase *phase);

/*
 * Fail the job with `code`, `message` and `log_lines` (consumed, may be
 * NULL).  A restore job's worker, lazy-pages server and restored tree are
 * killed; a checkpoint job's worker is, and its tree is left to CRIU.
 */
void job_fail(struct job *job, const char *code, const char *message,
    json_t *log_lines);

/*
 * Fail the job with the cause found in the CRIU log `name` of its work dir.
 * `code` overrides the code the log suggests when not NULL.
 */
void job_fail_from_log(struct job *job, const char *name, const char *code,
    const char *what);

/* Return the name of CRIU's log for the job's request. */
const char *job_criu_log(const struct job *job);

/*
 * Checkpoint jobs (job_checkpoint.c).  job_checkpoint_start() moves a job
 * that just got its worker to dumping, with `detail` for the log line, and
 * sends its `started` event (consumed).
 */
void job_checkpoint_start(struct job *job, const char *detail,
    json_t *started);
void job_checkpoint_on_message(struct job *job, const CriuResp *resp);

/* Return whether the job uses one of the max_running restore slots. */
bool job_is_restoring(const struct job *job);
void job_set_state(struct job *job, enum job_state state, const char *detail);
/* Return a new event of `job` named `name`, stamped now. */
json_t *job_event(const struct job *job, const char *name);
/* Send `event` (consumed) to every watcher of `job`. */
void job_emit(struct job *job, json_t *event);
/* Move the job to an ending state and tell its watchers with `event`. */
void job_end(struct job *job, enum job_state state, json_t *event,
    const char *detail);
void jobs_notify_changed(struct jobs *jobs);

/* Append the job's current state to the history, if it is kept. */
void job_record(const struct job *job);

/*
 * Return the history record of `job`: the API's job object plus what a
 * restarted ctrd needs to take the job back (image_pid, pid_start) or, for
 * a running checkpoint, to release its tree (worker_pid, worker_start).
 */
json_t *job_to_record(const struct job *job);

/*
 * Build an ended or restored job of `jobs` from `record`, without
 * processes or descriptors, or return NULL with `err` naming the field.
 */
struct job *job_from_record(struct jobs *jobs, const json_t *record,
    struct error *err);

/*
 * Remove the work dir of job `id` with the CRIU logs in it, once the job
 * is dropped from the history.
 */
void jobs_remove_work_dir(struct jobs *jobs, const char *id);

/* Stop watching an adopted root; safe to call for any job. */
void job_release_adopted(struct job *job);

/* Free a job that is in no list. */
void job_free(struct job *job);

#endif
