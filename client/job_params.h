/* Request parameters that restore, checkpoint and migrate share. */
#ifndef CTRD_CLI_JOB_PARAMS_H
#define CTRD_CLI_JOB_PARAMS_H

#include <stdbool.h>

#include <jansson.h>

struct cli_error;
struct cmd;

/* CRIU's log levels, as the API accepts them. */
#define JOB_PARAMS_LOG_LEVEL_MIN 0
#define JOB_PARAMS_LOG_LEVEL_MAX 4

/* Parse the argument of --log-level.  Exits on misuse of `cmd`. */
json_int_t job_params_parse_log_level(const struct cmd *cmd,
    const char *arg);

/* Parse the PID of a tree to dump, greater than 1.  Exits on misuse. */
json_int_t job_params_parse_pid(const struct cmd *cmd, const char *arg);

/*
 * Set the boolean request parameter named like the long option `option`,
 * with '_' for '-', to `on`.
 */
void job_params_set_flag(json_t *params, const char *option, bool on);

/*
 * Parse the ADDR:PORT of --page-server into the "page_server" parameter.
 * Exits on misuse of `cmd`.
 */
void job_params_set_page_server(const struct cmd *cmd, json_t *params,
    const char *arg);

/* Add `dir` to `params` as images_dir, absolute and without symlinks. */
int job_params_set_images_dir(json_t *params, const char *dir,
    struct cli_error *err);

#endif
