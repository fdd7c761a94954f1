#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "cli_error.h"
#include "cmd.h"
#include "follow.h"
#include "job_submit.h"
#include "output.h"
#include "session.h"

/* Print the new job's id, unless --json printed the whole reply. */
static int
job_submit_print_job(const struct cli_options *options, json_t *job,
    struct cli_error *err)
{
	const char *id = json_string_value(json_object_get(job, "job"));

	if (!options->json)
		printf("%s\n", id != NULL ? id : "-");
	return output_flush(err);
}

static int
job_submit_follow(struct session *session, const struct cli_options *options,
    const char *method, json_t *job, enum follow_until until,
    struct cli_error *err)
{
	const char *id = json_string_value(json_object_get(job, "job"));

	if (id == NULL)
		return cli_error_set(err,
		    "ctrd replied to %s without a job id", method);
	if (follow_job(session, id, until, !options->json, err) != 0)
		return -1;
	return 0;
}

int
job_submit(const struct cli_options *options, const char *method,
    json_t *params, enum follow_until until, struct cli_error *err)
{
	struct session *session;
	json_t *job;
	bool follow;
	int rc;

	follow = json_is_true(json_object_get(params, "follow"));
	session = session_open(options->socket_path, options->json, err);
	if (session == NULL) {
		json_decref(params);
		return -1;
	}
	job = session_call(session, method, params, err);
	if (job == NULL)
		rc = -1;
	else if (follow)
		rc = job_submit_follow(session, options, method, job, until,
		    err);
	else
		rc = job_submit_print_job(options, job, err);
	json_decref(job);
	session_free(session);
	return rc;
}
