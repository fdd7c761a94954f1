/* Following one job's events until it reaches a given point or ends. */
#ifndef CTRD_CLI_FOLLOW_H
#define CTRD_CLI_FOLLOW_H

#include <stdbool.h>

#include <jansson.h>

struct cli_error;
struct session;

/* The event that completes the follow. */
enum follow_until {
	FOLLOW_UNTIL_RESTORED,		/* "restored": the tree runs */
	FOLLOW_UNTIL_PAGES_COMPLETE,	/* "pages-complete": all memory is in */
	FOLLOW_UNTIL_CHECKPOINTED,	/* "checkpointed": the dump is done */
	FOLLOW_UNTIL_ENDED,		/* "exited" or "checkpointed" */
};

/*
 * Check one event of the followed job.  Returns 1 when it is the event
 * `until` names, 0 when the job goes on, or -1 with `err` set when the job
 * ended any other way: "failed", "canceled", or "exited" before `until`.
 * FOLLOW_UNTIL_ENDED takes either end that is not a failure: a restore
 * job's root exited, or a checkpoint job finished.
 */
int follow_check_event(json_t *event, enum follow_until until,
    struct cli_error *err);

/*
 * Read the events of job `job_id`, printing each as a line unless
 * `print_events` is false, until follow_check_event() decides.  Events of
 * other jobs are skipped.  Returns 0 once `until` is reached, 1 with `err`
 * set when ctrd closes the connection first, or -1 with `err` set.
 */
int follow_job(struct session *session, const char *job_id,
    enum follow_until until, bool print_events, struct cli_error *err);

#endif
