#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli_error.h"
#include "event_line.h"
#include "follow.h"
#include "output.h"
#include "session.h"

static const char *const follow_until_events[] = {
	[FOLLOW_UNTIL_RESTORED] = "restored",
	[FOLLOW_UNTIL_PAGES_COMPLETE] = "pages-complete",
	[FOLLOW_UNTIL_CHECKPOINTED] = "checkpointed",
	[FOLLOW_UNTIL_ENDED] = "exited",
};

static const char *
follow_get_string(json_t *event, const char *key)
{
	const char *text = json_string_value(json_object_get(event, key));

	return text != NULL ? text : "-";
}

static int
follow_set_failed(json_t *event, struct cli_error *err)
{
	return cli_error_set(err, "job %s failed: %s: %s",
	    follow_get_string(event, "job"), follow_get_string(event, "code"),
	    follow_get_string(event, "message"));
}

static int
follow_set_canceled(json_t *event, struct cli_error *err)
{
	const char *reason;

	reason = json_string_value(json_object_get(event, "reason"));
	if (reason == NULL)
		return cli_error_set(err, "job %s canceled",
		    follow_get_string(event, "job"));
	return cli_error_set(err, "job %s canceled: %s",
	    follow_get_string(event, "job"), reason);
}

static int
follow_set_exited(json_t *event, enum follow_until until,
    struct cli_error *err)
{
	json_t *code = json_object_get(event, "code");
	json_t *term_signal = json_object_get(event, "signal");
	const char *job = follow_get_string(event, "job");
	const char *expected = follow_until_events[until];

	if (json_is_integer(term_signal))
		return cli_error_set(err,
		    "job %s ended before '%s': its restored root was killed by signal %lld",
		    job, expected, (long long)json_integer_value(term_signal));
	if (json_is_integer(code))
		return cli_error_set(err,
		    "job %s ended before '%s': its restored root exited with code %lld",
		    job, expected, (long long)json_integer_value(code));
	return cli_error_set(err,
	    "job %s ended before '%s': its restored root exited", job,
	    expected);
}

int
follow_check_event(json_t *event, enum follow_until until,
    struct cli_error *err)
{
	const char *name = json_string_value(json_object_get(event, "event"));

	if (name == NULL)
		return 0;
	if (strcmp(name, follow_until_events[until]) == 0)
		return 1;
	if (until == FOLLOW_UNTIL_ENDED && strcmp(name, "checkpointed") == 0)
		return 1;
	if (strcmp(name, "failed") == 0)
		return follow_set_failed(event, err);
	if (strcmp(name, "canceled") == 0)
		return follow_set_canceled(event, err);
	if (strcmp(name, "exited") == 0)
		return follow_set_exited(event, until, err);
	return 0;
}

static bool
follow_is_job_event(json_t *event, const char *job_id)
{
	const char *job = json_string_value(json_object_get(event, "job"));

	return job != NULL && strcmp(job, job_id) == 0;
}

int
follow_job(struct session *session, const char *job_id,
    enum follow_until until, bool print_events, struct cli_error *err)
{
	json_t *event;
	int rc;

	for (;;) {
		rc = session_next_event(session, &event, err);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			cli_error_set(err,
			    "ctrd closed the connection before job %s reached '%s'",
			    job_id, follow_until_events[until]);
			return 1;
		}
		if (!follow_is_job_event(event, job_id)) {
			json_decref(event);
			continue;
		}

		if (print_events)
			event_line_print(stdout, event);
		rc = output_flush(err);
		if (rc == 0)
			rc = follow_check_event(event, until, err);
		json_decref(event);
		if (rc != 0)
			return rc > 0 ? 0 : -1;
	}
}
