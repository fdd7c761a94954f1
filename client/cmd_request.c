/*
 * The commands that send one request and print its reply: status, list,
 * cancel, info and metrics.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli_error.h"
#include "cmd.h"
#include "info_view.h"
#include "job_view.h"
#include "output.h"

typedef void cmd_request_print_fn(FILE *out, json_t *result);

/*
 * Send the request named like `cmd`, with the operand as "job" when
 * `takes_job`, and print the result with `print` unless --json is on, in
 * which case the reply was printed as received.
 */
static int
cmd_request_run(const struct cmd *cmd, const struct cli_options *options,
    int argc, char **argv, bool takes_job, cmd_request_print_fn *print)
{
	struct cli_error err;
	json_t *params = NULL, *result;
	int first;

	first = cmd_parse_operands(cmd, argc, argv, takes_job ? 1 : 0);
	if (takes_job)
		params = json_pack("{s:s}", "job", argv[first]);

	result = cmd_call(options, cmd->name, params, &err);
	if (result == NULL)
		return cli_error_report(&err);
	if (!options->json)
		print(stdout, result);
	json_decref(result);
	if (output_flush(&err) < 0)
		return cli_error_report(&err);
	return EXIT_SUCCESS;
}

static void
cmd_request_print_list(FILE *out, json_t *result)
{
	job_view_print_list(out, json_object_get(result, "jobs"));
}

static void
cmd_request_print_cancel(FILE *out, json_t *result)
{
	const char *job = json_string_value(json_object_get(result, "job"));
	const char *state = json_string_value(json_object_get(result, "state"));

	fprintf(out, "job %s is %s\n", job != NULL ? job : "-",
	    state != NULL ? state : "-");
}

static int
cmd_request_run_status(const struct cmd *cmd,
    const struct cli_options *options, int argc, char **argv)
{
	return cmd_request_run(cmd, options, argc, argv, true,
	    job_view_print_status);
}

static int
cmd_request_run_list(const struct cmd *cmd, const struct cli_options *options,
    int argc, char **argv)
{
	return cmd_request_run(cmd, options, argc, argv, false,
	    cmd_request_print_list);
}

static int
cmd_request_run_cancel(const struct cmd *cmd,
    const struct cli_options *options, int argc, char **argv)
{
	return cmd_request_run(cmd, options, argc, argv, true,
	    cmd_request_print_cancel);
}

static int
cmd_request_run_info(const struct cmd *cmd, const struct cli_options *options,
    int argc, char **argv)
{
	return cmd_request_run(cmd, options, argc, argv, false,
	    info_view_print);
}

/* Print the exposition text as it is, for Prometheus or a person. */
static void
cmd_request_print_metrics(FILE *out, json_t *result)
{
	const char *text = json_string_value(json_object_get(result, "text"));

	fputs(text != NULL ? text : "", out);
}

static int
cmd_request_run_metrics(const struct cmd *cmd,
    const struct cli_options *options, int argc, char **argv)
{
	return cmd_request_run(cmd, options, argc, argv, false,
	    cmd_request_print_metrics);
}

const struct cmd cmd_status = {
	.name = "status",
	.operands = "JOB",
	.summary = "show a job's state, pid, times and error",
	.help =
	    "Show job JOB as \"key: value\" lines, followed by the CRIU log\n"
	    "lines of its error, if any.\n"
	    "\n"
	    "Options:\n"
	    "  -h, --help  print this help and exit\n",
	.run = cmd_request_run_status,
};

const struct cmd cmd_list = {
	.name = "list",
	.operands = "",
	.summary = "list the jobs ctrd keeps, oldest first",
	.help =
	    "List the jobs ctrd keeps, oldest first: active jobs and the most\n"
	    "recent ended ones.\n"
	    "\n"
	    "Options:\n"
	    "  -h, --help  print this help and exit\n",
	.run = cmd_request_run_list,
};

const struct cmd cmd_cancel = {
	.name = "cancel",
	.operands = "JOB",
	.summary = "cancel a queued or running job",
	.help =
	    "Cancel job JOB.  A queued job leaves the queue.  A job still\n"
	    "restoring has its CRIU worker, lazy-pages server and restored\n"
	    "processes killed, and a restored job has its restored tree\n"
	    "killed.  Canceling a job that has ended fails.\n"
	    "\n"
	    "Options:\n"
	    "  -h, --help  print this help and exit\n",
	.run = cmd_request_run_cancel,
};

const struct cmd cmd_info = {
	.name = "info",
	.operands = "",
	.summary = "show ctrd's version, CRIU, pool and queue",
	.help =
	    "Show ctrd's version, the CRIU it runs, its worker pool, its\n"
	    "queue and its job counts as \"key: value\" lines.\n"
	    "\n"
	    "Options:\n"
	    "  -h, --help  print this help and exit\n",
	.run = cmd_request_run_info,
};

const struct cmd cmd_metrics = {
	.name = "metrics",
	.operands = "",
	.summary = "print ctrd's metrics in the Prometheus text format",
	.help =
	    "Print ctrd's metrics in the Prometheus text exposition format:\n"
	    "jobs by state, outcome and error code, the worker pool, the\n"
	    "queue depth, and histograms of the time jobs spent waiting in\n"
	    "the queue, starting the lazy-pages server, restoring and\n"
	    "receiving their lazy pages.\n"
	    "\n"
	    "Options:\n"
	    "  -h, --help  print this help and exit\n",
	.run = cmd_request_run_metrics,
};
