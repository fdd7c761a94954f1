/* ctrd-cli: the command-line client of ctrd's JSON API. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_error.h"
#include "cmd.h"

#define MAIN_DEFAULT_SOCKET "/run/ctrd/ctrd.sock"

static const struct cmd *const main_cmds[] = {
	&cmd_restore,
	&cmd_checkpoint,
	&cmd_migrate,
	&cmd_status,
	&cmd_list,
	&cmd_cancel,
	&cmd_watch,
	&cmd_info,
	&cmd_metrics,
};

#define MAIN_CMDS (sizeof(main_cmds) / sizeof(main_cmds[0]))

static const struct option main_options[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void
main_print_commands(void)
{
	const struct cmd *cmd;
	int width = 0, len;
	size_t i;

	for (i = 0; i < MAIN_CMDS; i++) {
		len = (int)(strlen(main_cmds[i]->name) +
		    strlen(main_cmds[i]->operands) + 1);
		if (len > width)
			width = len;
	}
	printf("Commands:\n");
	for (i = 0; i < MAIN_CMDS; i++) {
		cmd = main_cmds[i];
		len = (int)strlen(cmd->name);
		printf("  %s %-*s  %s\n", cmd->name, width - len - 1,
		    cmd->operands, cmd->summary);
	}
}

static void __attribute__((noreturn))
main_exit_help(void)
{
	cmd_print_synopsis(stdout, NULL);
	printf("\n"
	    "Send requests to ctrd, the CRIU restore daemon, over its Unix\n"
	    "socket, and print the replies and the events of its jobs.\n"
	    "\n");
	main_print_commands();
	printf("\n"
	    "Options:\n"
	    "  -s, --socket PATH  ctrd's socket; default $CTRD_SOCKET, else\n"
	    "                     " MAIN_DEFAULT_SOCKET "\n"
	    "  -j, --json         print each line ctrd sends, as it was sent\n"
	    "  -h, --help         print this help and exit\n"
	    "  -V, --version      print the version and exit\n"
	    "\n"
	    "Run '" CLI_PROGRAM " COMMAND --help' for a command's options.\n");
	exit(fflush(stdout) == 0 && !ferror(stdout) ? EXIT_SUCCESS :
	    EXIT_FAILURE);
}

static void __attribute__((noreturn))
main_exit_version(void)
{
	printf("%s %s\n", CLI_PROGRAM, CTRD_VERSION);
	exit(fflush(stdout) == 0 && !ferror(stdout) ? EXIT_SUCCESS :
	    EXIT_FAILURE);
}

static const struct cmd *
main_find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < MAIN_CMDS; i++) {
		if (strcmp(main_cmds[i]->name, name) == 0)
			return main_cmds[i];
	}
	return NULL;
}

/* Parse the options before the command.  Returns the command's index. */
static int
main_parse(int argc, char **argv, struct cli_options *options)
{
	int opt;

	/* '+' stops at the command, whose own options come after it. */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:s:jhV", main_options,
	    NULL)) != -1) {
		switch (opt) {
		case 's':
			options->socket_path = optarg;
			break;
		case 'j':
			options->json = true;
			break;
		case 'h':
			main_exit_help();
		case 'V':
			main_exit_version();
		default:
			cmd_exit_bad_option(NULL, opt, argv);
		}
	}
	if (optind == argc)
		cmd_exit_misuse(NULL, "missing COMMAND");
	return optind;
}

int
main(int argc, char **argv)
{
	struct cli_options options = { .socket_path = MAIN_DEFAULT_SOCKET };
	const struct cmd *cmd;
	const char *env;
	int first;

	/* A closed socket or stdout must fail a write, not kill the client. */
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	env = getenv("CTRD_SOCKET");
	if (env != NULL && env[0] != '\0')
		options.socket_path = env;
	first = main_parse(argc, argv, &options);

	cmd = main_find_cmd(argv[first]);
	if (cmd == NULL)
		cmd_exit_misuse(NULL,
		    "unknown command '%s'; run '%s --help' for the commands",
		    argv[first], CLI_PROGRAM);
	return cmd->run(cmd, &options, argc - first, argv + first);
}
