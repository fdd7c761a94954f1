#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli_error.h"
#include "cmd.h"
#include "session.h"

static const struct option cmd_help_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void
cmd_print_synopsis(FILE *out, const struct cmd *cmd)
{
	if (cmd == NULL)
		fprintf(out,
		    "usage: %s [--socket PATH] [--json] COMMAND [ARGS]\n",
		    CLI_PROGRAM);
	else
		fprintf(out, "usage: %s [--socket PATH] [--json] %s%s%s\n",
		    CLI_PROGRAM, cmd->name, cmd->operands[0] != '\0' ? " " : "",
		    cmd->operands);
}

void
cmd_exit_help(const struct cmd *cmd)
{
	cmd_print_synopsis(stdout, cmd);
	printf("\n%s", cmd->help);
	exit(fflush(stdout) == 0 && !ferror(stdout) ? EXIT_SUCCESS :
	    EXIT_FAILURE);
}

void
cmd_exit_misuse(const struct cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", CLI_PROGRAM);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cmd_print_synopsis(stderr, cmd);
	exit(EXIT_FAILURE);
}

void
cmd_exit_bad_option(const struct cmd *cmd, int opt, char **argv)
{
	const char *arg = argv[optind - 1];

	/* For a long option, optopt is 0 or its value, so name it as typed. */
	if (strncmp(arg, "--", 2) == 0 && opt == ':')
		cmd_exit_misuse(cmd, "option '%s' requires an argument", arg);
	if (strncmp(arg, "--", 2) == 0)
		cmd_exit_misuse(cmd, "invalid option '%s'", arg);
	if (opt == ':')
		cmd_exit_misuse(cmd, "option '-%c' requires an argument",
		    optopt);
	cmd_exit_misuse(cmd, "invalid option '-%c'", optopt);
}

int
cmd_parse_operands(const struct cmd *cmd, int argc, char **argv, int count)
{
	int opt;

	/* Each command parses its own argv, so getopt must start afresh. */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", cmd_help_options,
	    NULL)) != -1) {
		if (opt == 'h')
			cmd_exit_help(cmd);
		cmd_exit_bad_option(cmd, opt, argv);
	}
	if (argc - optind < count)
		cmd_exit_misuse(cmd, "missing %s", cmd->operands);
	if (argc - optind > count)
		cmd_exit_misuse(cmd, "unexpected argument '%s'",
		    argv[optind + count]);
	return optind;
}

json_t *
cmd_call(const struct cli_options *options, const char *method,
    json_t *params, struct cli_error *err)
{
	struct session *session;
	json_t *result;

	session = session_open(options->socket_path, options->json, err);
	if (session == NULL) {
		json_decref(params);
		return NULL;
	}
	result = session_call(session, method, params, err);
	session_free(session);
	return result;
}
