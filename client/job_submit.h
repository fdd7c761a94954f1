/* Submitting a job to ctrd, then following it or printing its id. */
#ifndef CTRD_CLI_JOB_SUBMIT_H
#define CTRD_CLI_JOB_SUBMIT_H

#include <jansson.h>

#include "follow.h"

struct cli_error;
struct cli_options;

/*
 * Send a `method` request ("restore" or "checkpoint") with `params`, which
 * is consumed, on a new connection.  When `params` has "follow" true, print
 * the job's events until `until`; otherwise print the job's id.  Returns 0,
 * or -1 with `err` set when the request or the job failed.
 */
int job_submit(const struct cli_options *options, const char *method,
    json_t *params, enum follow_until until, struct cli_error *err);

#endif
