#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli_error.h"
#include "cmd.h"
#include "event_line.h"
#include "follow.h"
#include "job_view.h"
#include "output.h"
#include "session.h"

/*
 * Print the job as the watch reply shows it.  Returns 1 if the job has
 * already exited or was checkpointed, 0 if it goes on, or -1 with `err` set if it failed or
 * was canceled.
 */
static int
cmd_watch_check_snapshot(const struct cli_options *options, json_t *job,
    struct cli_error *err)
{
	json_t *event;
	int rc;

	event = job_view_to_event(job);
	if (event == NULL)
		return cli_error_set(err, "allocate the job snapshot");
	if (!options->json)
		event_line_print(stdout, event);
	rc = output_flush(err);
	if (rc == 0)
		rc = follow_check_event(event, FOLLOW_UNTIL_ENDED, err);
	json_decref(event);
	return rc;
}

/* Watch the job.  Returns -1 with `err` set if it failed or was canceled. */
static int
cmd_watch_follow(const struct cli_options *options, const char *id,
    struct cli_error *err)
{
	struct session *session;
	json_t *job;
	int rc;

	session = session_open(options->socket_path, options->json, err);
	if (session == NULL)
		return -1;
	job = session_call(session, "watch", json_pack("{s:s}", "job", id),
	    err);
	rc = job != NULL ? cmd_watch_check_snapshot(options, job, err) : -1;

	/* Events carry the job id as ctrd spells it in the reply. */
	if (rc == 0 && json_is_string(json_object_get(job, "job")))
		id = json_string_value(json_object_get(job, "job"));
	if (rc == 0) {
		rc = follow_job(session, id, FOLLOW_UNTIL_ENDED,
		    !options->json, err);
		/* The outcome is unknown when ctrd goes away: not a success. */
		if (rc == 1) {
			cli_error_set(err,
			    "ctrd closed the connection before job %s ended",
			    id);
			rc = -1;
		}
	}
	json_decref(job);
	session_free(session);
	return rc < 0 ? -1 : 0;
}

static int
cmd_watch_run(const struct cmd *cmd, const struct cli_options *options,
    int argc, char **argv)
{
	struct cli_error err;
	int first;

	first = cmd_parse_operands(cmd, argc, argv, 1);
	if (cmd_watch_follow(options, argv[first], &err) < 0)
		return cli_error_report(&err);
	return EXIT_SUCCESS;
}

const struct cmd cmd_watch = {
	.name = "watch",
	.operands = "JOB",
	.summary = "print a job's events until it ends",
	.help =
	    "Print job JOB as it is now, then its events as they arrive,\n"
	    "until the job ends or ctrd closes the connection.  Exit with\n"
	    "status 1 if the job failed or was canceled or ctrd closed the\n"
	    "connection first, and 0 otherwise.\n"
	    "\n"
	    "Options:\n"
	    "  -h, --help  print this help and exit\n",
	.run = cmd_watch_run,
};
