/* The commands of ctrd-cli and what they share: options, help and usage. */
#ifndef CTRD_CLI_CMD_H
#define CTRD_CLI_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

struct cli_error;
struct cmd;

/* Options given before the command, which apply to every command. */
struct cli_options {
	const char *socket_path;
	bool json;		/* print ctrd's lines as received */
};

/*
 * Run `cmd` with its own arguments, where argv[0] is the command name.
 * Returns the exit status.
 */
typedef int cmd_run_fn(const struct cmd *cmd,
    const struct cli_options *options, int argc, char **argv);

/* A command: its name, its help text and its entry point. */
struct cmd {
	const char *name;
	const char *operands;	/* the synopsis after the name */
	const char *summary;	/* one line for the list of commands */
	const char *help;	/* what --help prints after the synopsis */
	cmd_run_fn *run;
};

extern const struct cmd cmd_restore;
extern const struct cmd cmd_checkpoint;
extern const struct cmd cmd_migrate;
extern const struct cmd cmd_status;
extern const struct cmd cmd_list;
extern const struct cmd cmd_cancel;
extern const struct cmd cmd_watch;
extern const struct cmd cmd_info;
extern const struct cmd cmd_metrics;

/* Print the synopsis of `cmd`, or of ctrd-cli when `cmd` is NULL. */
void cmd_print_synopsis(FILE *out, const struct cmd *cmd);

/* Print the synopsis and help of `cmd` to stdout and exit 0. */
void cmd_exit_help(const struct cmd *cmd) __attribute__((noreturn));

/*
 * Print "ctrd-cli: MESSAGE" and the synopsis of `cmd` (of ctrd-cli when
 * NULL) to stderr and exit 1.
 */
void cmd_exit_misuse(const struct cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/*
 * Report the option on which getopt_long() returned '?' or ':' (`opt`)
 * as misuse of `cmd`.  The option string must start with ':' so that a
 * missing argument returns ':'.
 */
void cmd_exit_bad_option(const struct cmd *cmd, int opt, char **argv)
	__attribute__((noreturn));

/*
 * Parse the arguments of a command whose only option is --help and which
 * takes exactly `count` operands.  Returns the index of the first operand.
 * Exits on --help and on misuse.
 */
int cmd_parse_operands(const struct cmd *cmd, int argc, char **argv,
    int count);

/* Send one request on a new connection and return its result, or NULL. */
json_t *cmd_call(const struct cli_options *options, const char *method,
    json_t *params, struct cli_error *err);

#endif
