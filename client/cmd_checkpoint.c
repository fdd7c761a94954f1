#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli_error.h"
#include "cmd.h"
#include "follow.h"
#include "job_params.h"
#include "job_submit.h"

/* getopt_long() values past any character, so they cannot clash. */
enum {
	CMD_CHECKPOINT_OPT_FLAG = 256,
	CMD_CHECKPOINT_OPT_LOG_LEVEL,
	CMD_CHECKPOINT_OPT_DETACH,
	CMD_CHECKPOINT_OPT_PAGE_SERVER,
	CMD_CHECKPOINT_OPT_TLS,
	CMD_CHECKPOINT_OPT_JSON,
};

/*
 * Each CMD_CHECKPOINT_OPT_FLAG option sets the boolean request parameter of
 * the same name, spelled with '_' for '-', to true.
 */
static const struct option cmd_checkpoint_options[] = {
	{ "leave-running", no_argument, NULL, CMD_CHECKPOINT_OPT_FLAG },
	{ "lazy-pages", no_argument, NULL, CMD_CHECKPOINT_OPT_FLAG },
	{ "tcp-established", no_argument, NULL, CMD_CHECKPOINT_OPT_FLAG },
	{ "ext-unix-sk", no_argument, NULL, CMD_CHECKPOINT_OPT_FLAG },
	{ "shell-job", no_argument, NULL, CMD_CHECKPOINT_OPT_FLAG },
	{ "file-locks", no_argument, NULL, CMD_CHECKPOINT_OPT_FLAG },
	{ "page-server", required_argument, NULL,
	    CMD_CHECKPOINT_OPT_PAGE_SERVER },
	{ "tls", no_argument, NULL, CMD_CHECKPOINT_OPT_TLS },
	{ "log-level", required_argument, NULL, CMD_CHECKPOINT_OPT_LOG_LEVEL },
	{ "detach", no_argument, NULL, CMD_CHECKPOINT_OPT_DETACH },
	{ "json", no_argument, NULL, CMD_CHECKPOINT_OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Return the request parameters with every flag false, and follow on. */
static json_t *
cmd_checkpoint_new_params(void)
{
	json_t *params = json_pack("{s:b}", "follow", true);
	const struct option *option;

	if (params == NULL)
		return NULL;
	for (option = cmd_checkpoint_options; option->name != NULL; option++) {
		if (option->val == CMD_CHECKPOINT_OPT_FLAG)
			job_params_set_flag(params, option->name, false);
	}
	return params;
}

/*
 * Check that --lazy-pages, --page-server and --tls come together as the
 * API requires: a lazy dump serves its memory from a page server, and only
 * a lazy dump runs one.  Exits on misuse.
 */
static void
cmd_checkpoint_check_lazy(const struct cmd *cmd, json_t *params)
{
	bool lazy = json_is_true(json_object_get(params, "lazy_pages"));
	bool page_server = json_object_get(params, "page_server") != NULL;

	if (lazy && !page_server)
		cmd_exit_misuse(cmd,
		    "--lazy-pages needs --page-server ADDR:PORT, where the page server listens");
	if (page_server && !lazy)
		cmd_exit_misuse(cmd, "--page-server needs --lazy-pages");
	if (json_is_true(json_object_get(params, "tls")) && !page_server)
		cmd_exit_misuse(cmd, "--tls needs --page-server");
}

/*
 * Parse the options of checkpoint into request parameters, and PID too.
 * Returns the index of the DIR operand.  Exits on --help and on
 * misuse.
 */
static int
cmd_checkpoint_parse(const struct cmd *cmd, int argc, char **argv,
    json_t *params, struct cli_options *options)
{
	int opt, option_index;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", cmd_checkpoint_options,
	    &option_index)) != -1) {
		if (opt == 'h')
			cmd_exit_help(cmd);
		else if (opt == CMD_CHECKPOINT_OPT_FLAG)
			job_params_set_flag(params,
			    cmd_checkpoint_options[option_index].name, true);
		else if (opt == CMD_CHECKPOINT_OPT_PAGE_SERVER)
			job_params_set_page_server(cmd, params, optarg);
		else if (opt == CMD_CHECKPOINT_OPT_TLS)
			json_object_set_new(params, "tls", json_true());
		else if (opt == CMD_CHECKPOINT_OPT_LOG_LEVEL)
			json_object_set_new(params, "log_level", json_integer(
			    job_params_parse_log_level(cmd, optarg)));
		else if (opt == CMD_CHECKPOINT_OPT_DETACH)
			json_object_set_new(params, "follow", json_false());
		else if (opt == CMD_CHECKPOINT_OPT_JSON)
			options->json = true;
		else
			cmd_exit_bad_option(cmd, opt, argv);
	}
	cmd_checkpoint_check_lazy(cmd, params);
	if (argc - optind < 2)
		cmd_exit_misuse(cmd, "missing %s",
		    argc - optind == 0 ? "PID and DIR" : "DIR");
	if (argc - optind > 2)
		cmd_exit_misuse(cmd, "unexpected argument '%s'",
		    argv[optind + 2]);
	json_object_set_new(params, "pid",
	    json_integer(job_params_parse_pid(cmd, argv[optind])));
	return optind + 1;
}

static int
cmd_checkpoint_run(const struct cmd *cmd, const struct cli_options *options,
    int argc, char **argv)
{
	struct cli_options own = *options;
	struct cli_error err;
	json_t *params;
	int first;

	params = cmd_checkpoint_new_params();
	if (params == NULL) {
		cli_error_set(&err, "build the checkpoint request");
		return cli_error_report(&err);
	}
	first = cmd_checkpoint_parse(cmd, argc, argv, params, &own);
	if (job_params_set_images_dir(params, argv[first], &err) < 0) {
		json_decref(params);
		return cli_error_report(&err);
	}
	if (job_submit(&own, "checkpoint", params, FOLLOW_UNTIL_CHECKPOINTED,
	    &err) < 0)
		return cli_error_report(&err);
	return EXIT_SUCCESS;
}

const struct cmd cmd_checkpoint = {
	.name = "checkpoint",
	.operands = "[OPTIONS] PID DIR",
	.summary = "dump a process tree and follow the job",
	.help =
	    "Dump the process tree whose root is PID into DIR, an existing\n"
	    "directory with no image set in it yet, and print the job's\n"
	    "events as they arrive.  Exit with status 0 once the job is\n"
	    "checkpointed, and with status 1 if it fails or is canceled.  The\n"
	    "tree is killed after the dump unless --leave-running is given.\n"
	    "\n"
	    "With --lazy-pages the memory stays out of DIR: the tree stays\n"
	    "frozen and a page server serves its memory.  Once the job\n"
	    "prints 'page-server-ready', copy DIR to the destination and run\n"
	    "'restore --page-server' with the same ADDR:PORT there: the\n"
	    "restored tree pulls its memory from this job's page server, and\n"
	    "the job is checkpointed once every page has been served.\n"
	    "'migrate' does all of these steps.\n"
	    "\n"
	    "Options:\n"
	    "      --leave-running    keep the tree running after the dump\n"
	    "      --lazy-pages       serve the memory from a page server\n"
	    "                         instead of writing it; needs\n"
	    "                         --page-server\n"
	    "      --page-server ADDR:PORT\n"
	    "                         where the page server listens: a numeric\n"
	    "                         IPv4 ADDR or [IPv6 ADDR] of ctrd's host,\n"
	    "                         and a TCP PORT\n"
	    "      --tls              serve the pages over TLS only, with the\n"
	    "                         certificates of ctrd's config\n"
	    "      --tcp-established  dump established TCP connections\n"
	    "      --ext-unix-sk      allow external Unix sockets\n"
	    "      --shell-job        dump a tree that is a shell job\n"
	    "      --file-locks       dump file locks\n"
	    "      --log-level N      CRIU log level for the job's dump.log,\n"
	    "                         0 to 4 (debug); default 4\n"
	    "      --detach           print the job id and exit without\n"
	    "                         following the job\n"
	    "      --json             print each line ctrd sends, as the\n"
	    "                         global --json does\n"
	    "  -h, --help             print this help and exit\n",
	.run = cmd_checkpoint_run,
};
