#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "cli_error.h"
#include "cmd.h"
#include "image_copy.h"
#include "job_params.h"
#include "migrate.h"

/* getopt_long() values past any character, so they cannot clash. */
enum {
	CMD_MIGRATE_OPT_FLAG = 256,
	CMD_MIGRATE_OPT_LEAVE_RUNNING,
	CMD_MIGRATE_OPT_FROM,
	CMD_MIGRATE_OPT_TO,
	CMD_MIGRATE_OPT_PAGE_SERVER,
	CMD_MIGRATE_OPT_TLS,
	CMD_MIGRATE_OPT_IMAGES_FROM,
	CMD_MIGRATE_OPT_IMAGES_TO,
	CMD_MIGRATE_OPT_LOG_LEVEL,
	CMD_MIGRATE_OPT_JSON,
};

/*
 * Each CMD_MIGRATE_OPT_FLAG option sets the boolean parameter of the same
 * name, spelled with '_' for '-', to true in both requests.
 */
static const struct option cmd_migrate_options[] = {
	{ "from", required_argument, NULL, CMD_MIGRATE_OPT_FROM },
	{ "to", required_argument, NULL, CMD_MIGRATE_OPT_TO },
	{ "page-server", required_argument, NULL,
	    CMD_MIGRATE_OPT_PAGE_SERVER },
	{ "tls", no_argument, NULL, CMD_MIGRATE_OPT_TLS },
	{ "images-from", required_argument, NULL,
	    CMD_MIGRATE_OPT_IMAGES_FROM },
	{ "images-to", required_argument, NULL, CMD_MIGRATE_OPT_IMAGES_TO },
	{ "leave-running", no_argument, NULL, CMD_MIGRATE_OPT_LEAVE_RUNNING },
	{ "tcp-established", no_argument, NULL, CMD_MIGRATE_OPT_FLAG },
	{ "ext-unix-sk", no_argument, NULL, CMD_MIGRATE_OPT_FLAG },
	{ "shell-job", no_argument, NULL, CMD_MIGRATE_OPT_FLAG },
	{ "file-locks", no_argument, NULL, CMD_MIGRATE_OPT_FLAG },
	{ "log-level", required_argument, NULL, CMD_MIGRATE_OPT_LOG_LEVEL },
	{ "json", no_argument, NULL, CMD_MIGRATE_OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* The command line of migrate. */
struct cmd_migrate_args {
	const char *from;
	const char *to;
	const char *images_from;
	const char *images_to;
	json_t *common;		/* the parameters of both requests */
	bool leave_running;
	json_int_t pid;
};

/* Exit on misuse unless every required option was given. */
static void
cmd_migrate_check_required(const struct cmd *cmd,
    const struct cmd_migrate_args *args)
{
	if (args->from == NULL)
		cmd_exit_misuse(cmd, "missing --from SOCKET");
	if (args->to == NULL)
		cmd_exit_misuse(cmd, "missing --to SOCKET");
	if (json_object_get(args->common, "page_server") == NULL)
		cmd_exit_misuse(cmd, "missing --page-server ADDR:PORT");
	if (args->images_from == NULL)
		cmd_exit_misuse(cmd, "missing --images-from DIR");
	if (args->images_to == NULL)
		cmd_exit_misuse(cmd, "missing --images-to DIR");
}

/* Handle one option of migrate.  Exits on misuse. */
static void
cmd_migrate_parse_option(const struct cmd *cmd, int opt, int option_index,
    char **argv, struct cmd_migrate_args *args, struct cli_options *options)
{
	if (opt == 'h')
		cmd_exit_help(cmd);
	else if (opt == CMD_MIGRATE_OPT_FLAG)
		job_params_set_flag(args->common,
		    cmd_migrate_options[option_index].name, true);
	else if (opt == CMD_MIGRATE_OPT_LEAVE_RUNNING)
		args->leave_running = true;
	else if (opt == CMD_MIGRATE_OPT_FROM)
		args->from = optarg;
	else if (opt == CMD_MIGRATE_OPT_TO)
		args->to = optarg;
	else if (opt == CMD_MIGRATE_OPT_PAGE_SERVER)
		job_params_set_page_server(cmd, args->common, optarg);
	else if (opt == CMD_MIGRATE_OPT_TLS)
		json_object_set_new(args->common, "tls", json_true());
	else if (opt == CMD_MIGRATE_OPT_IMAGES_FROM)
		args->images_from = optarg;
	else if (opt == CMD_MIGRATE_OPT_IMAGES_TO)
		args->images_to = optarg;
	else if (opt == CMD_MIGRATE_OPT_LOG_LEVEL)
		json_object_set_new(args->common, "log_level", json_integer(
		    job_params_parse_log_level(cmd, optarg)));
	else if (opt == CMD_MIGRATE_OPT_JSON)
		options->json = true;
	else
		cmd_exit_bad_option(cmd, opt, argv);
}

/* Parse the command line into `args`.  Exits on --help and on misuse. */
static void
cmd_migrate_parse(const struct cmd *cmd, int argc, char **argv,
    struct cmd_migrate_args *args, struct cli_options *options)
{
	int opt, option_index;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", cmd_migrate_options,
	    &option_index)) != -1)
		cmd_migrate_parse_option(cmd, opt, option_index, argv, args,
		    options);
	cmd_migrate_check_required(cmd, args);
	if (argc - optind < 1)
		cmd_exit_misuse(cmd, "missing PID");
	if (argc - optind > 1)
		cmd_exit_misuse(cmd, "unexpected argument '%s'",
		    argv[optind + 1]);
	args->pid = job_params_parse_pid(cmd, argv[optind]);
}

/*
 * Return a copy of the common parameters with lazy pages, follow and
 * `images_dir` set, or NULL.
 */
static json_t *
cmd_migrate_new_params(const struct cmd_migrate_args *args,
    const char *images_dir)
{
	json_t *params = json_deep_copy(args->common);
	json_t *dir = json_string(images_dir);

	if (params == NULL || dir == NULL) {
		json_decref(params);
		json_decref(dir);
		return NULL;
	}
	json_object_set_new(params, "images_dir", dir);
	json_object_set_new(params, "lazy_pages", json_true());
	json_object_set_new(params, "follow", json_true());
	return params;
}

/* Build both requests into `config`, whose images are prepared. */
static int
cmd_migrate_build(const struct cmd_migrate_args *args,
    struct migrate_config *config, struct cli_error *err)
{
	json_t *checkpoint, *restore;

	checkpoint = cmd_migrate_new_params(args, config->images.from);
	restore = cmd_migrate_new_params(args, config->images.to);
	if (checkpoint == NULL || restore == NULL) {
		json_decref(checkpoint);
		json_decref(restore);
		return cli_error_set(err,
		    "build the requests; are the images dirs valid UTF-8?");
	}
	json_object_set_new(checkpoint, "pid", json_integer(args->pid));
	json_object_set_new(checkpoint, "leave_running",
	    json_boolean(args->leave_running));
	config->checkpoint_params = checkpoint;
	config->restore_params = restore;
	return 0;
}

static int
cmd_migrate_run(const struct cmd *cmd, const struct cli_options *options,
    int argc, char **argv)
{
	struct cmd_migrate_args args = { .common = json_object() };
	struct migrate_config config = { 0 };
	struct cli_options own = *options;
	struct cli_error err;
	int rc;

	if (args.common == NULL) {
		cli_error_set(&err, "build the migrate requests");
		return cli_error_report(&err);
	}
	cmd_migrate_parse(cmd, argc, argv, &args, &own);
	config.source_socket = args.from;
	config.destination_socket = args.to;
	config.json = own.json;
	rc = image_copy_prepare(&config.images, args.images_from,
	    args.images_to, &err);
	if (rc == 0)
		rc = cmd_migrate_build(&args, &config, &err);
	if (rc == 0)
		rc = migrate_run(&config, &err);
	/* A failure before the copy leaves the dir made here empty: remove it. */
	if (rc < 0 && config.images.created)
		rmdir(config.images.to);
	json_decref(args.common);
	json_decref(config.checkpoint_params);
	json_decref(config.restore_params);
	image_copy_release(&config.images);
	if (rc < 0)
		return cli_error_report(&err);
	return EXIT_SUCCESS;
}

const struct cmd cmd_migrate = {
	.name = "migrate",
	.operands = "OPTIONS PID",
	.summary = "move a process tree to another ctrd",
	.help =
	    "Required options: --from SOCKET --to SOCKET --page-server\n"
	    "ADDR:PORT --images-from DIR --images-to DIR.\n"
	    "\n"
	    "Move the process tree whose root is PID from the ctrd at --from\n"
	    "to the ctrd at --to, with post-copy memory:\n"
	    "\n"
	    "  1. checkpoint --lazy-pages of PID into --images-from on the\n"
	    "     source, whose page server listens at --page-server;\n"
	    "  2. on 'page-server-ready', ctrd-cli copies every regular file of\n"
	    "     --images-from into --images-to;\n"
	    "  3. restore --page-server of --images-to on the destination,\n"
	    "     whose tree resumes at once and pulls its memory from the\n"
	    "     source's page server.\n"
	    "\n"
	    "The images travel through ctrd-cli: it reads --images-from and\n"
	    "writes --images-to, and sends each ctrd the same paths it uses\n"
	    "itself.  Across hosts both paths must therefore name the same\n"
	    "storage on the client and on the ctrd that uses it, for example\n"
	    "a shared file system mounted at the same path everywhere.  When\n"
	    "both options name one directory, nothing is copied.\n"
	    "--images-from must be an existing empty directory.  --images-to\n"
	    "is created with mode 0700 if it is missing, and must not contain\n"
	    "an inventory.img yet.  --page-server must be an address\n"
	    "of the source's host that the destination reaches.\n"
	    "\n"
	    "A Unix socket does not reach across hosts, even on a shared file\n"
	    "system, so forward the other host's socket, for example with\n"
	    "'ssh -N -L LOCAL.sock:/run/ctrd/ctrd.sock HOST'; that ctrd then\n"
	    "sees the ssh user as its client.\n"
	    "\n"
	    "Both jobs' events are printed as they arrive, after a column that\n"
	    "names the side, or with --json as JSON lines with a \"side\"\n"
	    "member.  A last 'summary' line gives the destination's pid and,\n"
	    "in seconds measured by ctrd-cli as the events arrive:\n"
	    "resumed_seconds from the checkpoint request to 'restored' on the\n"
	    "destination, frozen_seconds from the source's 'started' to that\n"
	    "'restored', pages_complete_seconds from the request to the\n"
	    "destination's 'pages-complete', and copy_seconds for step 2.\n"
	    "\n"
	    "Exit with status 0 once the destination reached 'pages-complete'\n"
	    "and the source 'checkpointed', and with status 1 otherwise.  If\n"
	    "the copy or the destination's job fails before the memory has\n"
	    "left the source, the source's job is canceled and the tree runs\n"
	    "on there.  If the source's job fails before the destination's\n"
	    "'restored', the destination's job is canceled; after it, the\n"
	    "destination's ctrd fails that job by itself.  SIGINT and SIGTERM\n"
	    "cancel both jobs while the memory is still at the source.\n"
	    "\n"
	    "Options:\n"
	    "      --from SOCKET      socket of the source's ctrd\n"
	    "      --to SOCKET        socket of the destination's ctrd\n"
	    "      --page-server ADDR:PORT\n"
	    "                         numeric IPv4 ADDR or [IPv6 ADDR] of the\n"
	    "                         source's host, and TCP PORT, where the\n"
	    "                         source's page server listens\n"
	    "      --tls              serve and fetch the pages over TLS, with\n"
	    "                         the certificates of each ctrd's config\n"
	    "      --images-from DIR  the source's images dir, with no image\n"
	    "                         set in it yet\n"
	    "      --images-to DIR    the destination's images dir\n"
	    "      --leave-running    keep the tree running on the source too\n"
	    "                         once its memory has been served: a copy,\n"
	    "                         not a move\n"
	    "      --tcp-established  dump and restore established TCP\n"
	    "                         connections\n"
	    "      --ext-unix-sk      allow external Unix sockets\n"
	    "      --shell-job        the tree is a shell job\n"
	    "      --file-locks       dump and restore file locks\n"
	    "      --log-level N      CRIU log level of both jobs' logs, 0 to\n"
	    "                         4 (debug); default 4\n"
	    "      --json             print events and the summary as JSON\n"
	    "                         lines, as the global --json does\n"
	    "  -h, --help             print this help and exit\n"
	    "\n"
	    "The global --socket is not used.\n",
	.run = cmd_migrate_run,
};
