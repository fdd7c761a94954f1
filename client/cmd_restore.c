#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli_error.h"
#include "cmd.h"
#include "follow.h"
#include "output.h"
#include "session.h"

/* getopt_long() values past any character, so they cannot clash. */
enum {
	CMD_RESTORE_OPT_FLAG = 256,
	CMD_RESTORE_OPT_LOG_LEVEL,
	CMD_RESTORE_OPT_DETACH,
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
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* CRIU's log levels, as the API accepts them. */
#define CMD_RESTORE_LOG_LEVEL_MIN 0
#define CMD_RESTORE_LOG_LEVEL_MAX 4

static json_int_t
cmd_restore_parse_log_level(const struct cmd *cmd, const char *arg)
{
	char *end;
	long level;

	errno = 0;
	level = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' ||
	    level < CMD_RESTORE_LOG_LEVEL_MIN ||
	    level > CMD_RESTORE_LOG_LEVEL_MAX)
		cmd_exit_misuse(cmd,
		    "invalid log level '%s'; expected an integer from %d to %d",
		    arg, CMD_RESTORE_LOG_LEVEL_MIN, CMD_RESTORE_LOG_LEVEL_MAX);
	return level;
}

/* Set the request parameter of flag option `option` to `on`. */
static void
cmd_restore_set_flag(json_t *params, const char *option, bool on)
{
	char param[32];
	char *c;

	snprintf(param, sizeof(param), "%s", option);
	for (c = param; *c != '\0'; c++) {
		if (*c == '-')
			*c = '_';
	}
	json_object_set_new(params, param, json_boolean(on));
}

/* Return the request parameters with every flag false, and follow on. */
static json_t *
cmd_restore_new_params(void)
{
	json_t *params = json_pack("{s:b}", "follow", true);
	const struct option *option;

	if (params == NULL)
		return NULL;
	for (option = cmd_restore_options; option->name != NULL; option++) {
		if (option->val == CMD_RESTORE_OPT_FLAG)
			cmd_restore_set_flag(params, option->name, false);
	}
	return params;
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
			cmd_restore_set_flag(params,
			    cmd_restore_options[option_index].name, true);
		else if (opt == CMD_RESTORE_OPT_LOG_LEVEL)
			json_object_set_new(params, "log_level", json_integer(
			    cmd_restore_parse_log_level(cmd, optarg)));
		else if (opt == CMD_RESTORE_OPT_DETACH)
			json_object_set_new(params, "follow", json_false());
		else
			cmd_exit_bad_option(cmd, opt, argv);
	}
	if (argc - optind < 1)
		cmd_exit_misuse(cmd, "missing IMAGES_DIR");
	if (argc - optind > 1)
		cmd_exit_misuse(cmd, "unexpected argument '%s'",
		    argv[optind + 1]);
	return optind;
}

/* Add images_dir to `params` as an absolute path without symlinks. */
static int
cmd_restore_set_images_dir(json_t *params, const char *dir,
    struct cli_error *err)
{
	char *path;
	int rc;

	path = realpath(dir, NULL);
	if (path == NULL)
		return cli_error_set_errno(err, "resolve images dir '%s'", dir);
	rc = json_object_set_new(params, "images_dir", json_string(path));
	free(path);
	if (rc == -1)
		return cli_error_set(err, "images dir '%s' is not valid UTF-8",
		    dir);
	return 0;
}

/* Print the new job's id, unless --json printed the whole reply. */
static int
cmd_restore_print_job(const struct cli_options *options, json_t *job,
    struct cli_error *err)
{
	const char *id = json_string_value(json_object_get(job, "job"));

	if (!options->json)
		printf("%s\n", id != NULL ? id : "-");
	return output_flush(err);
}

/*
 * Follow the job until it is restored or, with lazy pages, until every
 * page has arrived.
 */
static int
cmd_restore_follow(struct session *session, const struct cli_options *options,
    json_t *job, bool lazy_pages, struct cli_error *err)
{
	const char *id = json_string_value(json_object_get(job, "job"));
	enum follow_until until;

	if (id == NULL)
		return cli_error_set(err,
		    "ctrd replied to restore without a job id");
	until = lazy_pages ? FOLLOW_UNTIL_PAGES_COMPLETE :
	    FOLLOW_UNTIL_RESTORED;
	if (follow_job(session, id, until, !options->json, err) != 0)
		return -1;
	return 0;
}

/* Send the restore request, then follow the job or print its id. */
static int
cmd_restore_send(const struct cli_options *options, json_t *params,
    struct cli_error *err)
{
	struct session *session;
	json_t *job;
	bool follow, lazy_pages;
	int rc;

	follow = json_is_true(json_object_get(params, "follow"));
	lazy_pages = json_is_true(json_object_get(params, "lazy_pages"));
	session = session_open(options->socket_path, options->json, err);
	if (session == NULL) {
		json_decref(params);
		return -1;
	}
	job = session_call(session, "restore", params, err);
	if (job == NULL)
		rc = -1;
	else if (follow)
		rc = cmd_restore_follow(session, options, job, lazy_pages, err);
	else
		rc = cmd_restore_print_job(options, job, err);
	json_decref(job);
	session_free(session);
	return rc;
}

static int
cmd_restore_run(const struct cmd *cmd, const struct cli_options *options,
    int argc, char **argv)
{
	struct cli_error err;
	json_t *params;
	int first;

	params = cmd_restore_new_params();
	if (params == NULL) {
		cli_error_set(&err, "build the restore request");
		return cli_error_report(&err);
	}
	first = cmd_restore_parse(cmd, argc, argv, params);
	if (cmd_restore_set_images_dir(params, argv[first], &err) < 0) {
		json_decref(params);
		return cli_error_report(&err);
	}
	if (cmd_restore_send(options, params, &err) < 0)
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
	    "Options:\n"
	    "      --lazy-pages       copy memory in after the tree resumes\n"
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
