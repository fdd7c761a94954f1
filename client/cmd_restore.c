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
	CMD_RESTORE_OPT_FLAG = 256,
	CMD_RESTORE_OPT_LOG_LEVEL,
	CMD_RESTORE_OPT_DETACH,
	CMD_RESTORE_OPT_PAGE_SERVER,
	CMD_RESTORE_OPT_TLS,
};

/*
 * Each CMD_RESTORE_OPT_FLAG option sets the boolean request parameter of
 * the same name, spelled with '_' for '-', to true.
 */
static const struct option cmd_restore_options[] = {
	{ "lazy-pages", no_argument, NULL, CMD_RESTORE_OPT_FLAG },
	{ "tcp-established", no_argument, NULL, CMD_RESTORE_OPT_FLAG },
	{ "ext-unix-sk", no_argument, NULL, CMD_RESTORE_OPT_FLAG },
	{ "shell-job", no_argument, NULL, CMD_RESTORE_OPT_FLAG },
	{ "file-locks", no_argument, NULL, CMD_RESTORE_OPT_FLAG },
	{ "log-level", required_argument, NULL, CMD_RESTORE_OPT_LOG_LEVEL },
	{ "detach", no_argument, NULL, CMD_RESTORE_OPT_DETACH },
	{ "page-server", required_argument, NULL, CMD_RESTORE_OPT_PAGE_SERVER },
	{ "tls", no_argument, NULL, CMD_RESTORE_OPT_TLS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/*
 * Return the request parameters with every flag false, and follow on.  tls
 * is sent only when set, so that a ctrd without page servers still accepts
 * every other restore.
 */
static json_t *
cmd_restore_new_params(void)
{
	json_t *params = json_pack("{s:b}", "follow", true);
	const struct option *option;

	if (params == NULL)
		return NULL;
	for (option = cmd_restore_options; option->name != NULL; option++) {
		if (option->val == CMD_RESTORE_OPT_FLAG)
			job_params_set_flag(params, option->name, false);
	}
	return params;
}

/*
 * Check the options that go with --page-server, which implies --lazy-pages:
 * the pages that a page server sends are the lazy ones.  Exits on misuse.
 */
static void
cmd_restore_check_page_server(const struct cmd *cmd, json_t *params)
{
	bool page_server = json_object_get(params, "page_server") != NULL;

	if (json_is_true(json_object_get(params, "tls")) && !page_server)
		cmd_exit_misuse(cmd, "--tls needs --page-server");
	if (page_server)
		json_object_set_new(params, "lazy_pages", json_true());
}

/*
 * Parse the options of restore into request parameters, without
 * images_dir.  Returns the index of the IMAGES_DIR operand.  Exits on
 * --help and on misuse.
 */
static int
cmd_restore_parse(const struct cmd *cmd, int argc, char **argv,
    json_t *params)
{
	int opt, option_index;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", cmd_restore_options,
	    &option_index)) != -1) {
		if (opt == 'h')
			cmd_exit_help(cmd);
		else if (opt == CMD_RESTORE_OPT_FLAG)
			job_params_set_flag(params,
			    cmd_restore_options[option_index].name, true);
		else if (opt == CMD_RESTORE_OPT_LOG_LEVEL)
			json_object_set_new(params, "log_level", json_integer(
			    job_params_parse_log_level(cmd, optarg)));
		else if (opt == CMD_RESTORE_OPT_DETACH)
			json_object_set_new(params, "follow", json_false());
		else if (opt == CMD_RESTORE_OPT_PAGE_SERVER)
			job_params_set_page_server(cmd, params, optarg);
		else if (opt == CMD_RESTORE_OPT_TLS)
			json_object_set_new(params, "tls", json_true());
		else
			cmd_exit_bad_option(cmd, opt, argv);
	}
	cmd_restore_check_page_server(cmd, params);
	if (argc - optind < 1)
		cmd_exit_misuse(cmd, "missing IMAGES_DIR");
	if (argc - optind > 1)
		cmd_exit_misuse(cmd, "unexpected argument '%s'",
		    argv[optind + 1]);
	return optind;
}

static int
cmd_restore_run(const struct cmd *cmd, const struct cli_options *options,
    int argc, char **argv)
{
	enum follow_until until;
	struct cli_error err;
	json_t *params;
	int first;

	params = cmd_restore_new_params();
	if (params == NULL) {
		cli_error_set(&err, "build the restore request");
		return cli_error_report(&err);
	}
	first = cmd_restore_parse(cmd, argc, argv, params);
	if (job_params_set_images_dir(params, argv[first], &err) < 0) {
		json_decref(params);
		return cli_error_report(&err);
	}
	until = json_is_true(json_object_get(params, "lazy_pages")) ?
	    FOLLOW_UNTIL_PAGES_COMPLETE : FOLLOW_UNTIL_RESTORED;
	if (job_submit(options, "restore", params, until, &err) < 0)
		return cli_error_report(&err);
	return EXIT_SUCCESS;
}

const struct cmd cmd_restore = {
	.name = "restore",
	.operands = "[OPTIONS] IMAGES_DIR",
	.summary = "restore a CRIU image set and follow the job",
	.help =
	    "Restore the CRIU image set in IMAGES_DIR, the directory given to\n"
	    "'criu dump -D', and print the job's events as they arrive.  Exit\n"
	    "with status 0 once the restored tree runs or, with --lazy-pages,\n"
	    "once every page has arrived, and with status 1 if the job fails,\n"
	    "is canceled or exits first.\n"
	    "\n"
	    "With --page-server, IMAGES_DIR holds a copy of the images dir of\n"
	    "a 'checkpoint --lazy-pages' job, made after that job printed\n"
	    "'page-server-ready'.  'migrate' does both steps.\n"
	    "\n"
	    "Options:\n"
	    "      --lazy-pages       copy memory in after the tree resumes\n"
	    "      --page-server ADDR:PORT\n"
	    "                         take the lazy pages from the page server\n"
	    "                         of a 'checkpoint --lazy-pages' job at\n"
	    "                         numeric IPv4 ADDR or [IPv6 ADDR] and TCP\n"
	    "                         PORT, not from IMAGES_DIR; implies\n"
	    "                         --lazy-pages\n"
	    "      --tls              talk TLS to the page server, with the\n"
	    "                         certificates of ctrd's config\n"
	    "      --tcp-established  restore established TCP connections\n"
	    "      --ext-unix-sk      allow external Unix sockets\n"
	    "      --shell-job        restore a tree dumped as a shell job\n"
	    "      --file-locks       restore file locks\n"
	    "      --log-level N      CRIU log level for the job's log file,\n"
	    "                         0 to 4 (debug); default 4\n"
	    "      --detach           print the job id and exit without\n"
	    "                         following the job\n"
	    "  -h, --help             print this help and exit\n",
	.run = cmd_restore_run,
};
