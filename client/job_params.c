#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli_error.h"
#include "cmd.h"
#include "job_params.h"
#include "page_server.h"

json_int_t
job_params_parse_log_level(const struct cmd *cmd, const char *arg)
{
	char *end;
	long level;

	errno = 0;
	level = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' ||
	    level < JOB_PARAMS_LOG_LEVEL_MIN ||
	    level > JOB_PARAMS_LOG_LEVEL_MAX)
		cmd_exit_misuse(cmd,
		    "invalid log level '%s'; expected an integer from %d to %d",
		    arg, JOB_PARAMS_LOG_LEVEL_MIN, JOB_PARAMS_LOG_LEVEL_MAX);
	return level;
}

json_int_t
job_params_parse_pid(const struct cmd *cmd, const char *arg)
{
	char *end;
	long pid;

	errno = 0;
	pid = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || pid <= 1 ||
	    pid > INT_MAX)
		cmd_exit_misuse(cmd,
		    "invalid pid '%s'; expected an integer greater than 1",
		    arg);
	return pid;
}

void
job_params_set_flag(json_t *params, const char *option, bool on)
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

void
job_params_set_page_server(const struct cmd *cmd, json_t *params,
    const char *arg)
{
	struct page_server server;
	struct cli_error err;

	if (page_server_parse(arg, &server, &err) < 0)
		cmd_exit_misuse(cmd, "%s", err.message);
	json_object_set_new(params, "page_server",
	    page_server_to_json(&server));
}

int
job_params_set_images_dir(json_t *params, const char *dir,
    struct cli_error *err)
{
	char *path;
	int rc;

	path = realpath(dir, NULL);
	if (path == NULL && errno == ENOENT)
		return cli_error_set(err,
		    "images dir '%s' does not exist; create it first (a checkpoint writes into an existing empty directory)",
		    dir);
	if (path == NULL)
		return cli_error_set_errno(err, "resolve images dir '%s'", dir);
	rc = json_object_set_new(params, "images_dir", json_string(path));
	free(path);
	if (rc == -1)
		return cli_error_set(err, "images dir '%s' is not valid UTF-8",
		    dir);
	return 0;
}
