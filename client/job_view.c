#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "job_view.h"
#include "value.h"

/* A column of the job table.  The last column is not padded. */
struct job_view_column {
	const char *header;
	const char *key;
};

static const struct job_view_column job_view_columns[] = {
	{ "JOB", "job" },
	{ "TYPE", "type" },
	{ "STATE", "state" },
	{ "PID", "pid" },
	{ "CREATED", "created" },
	{ "IMAGES_DIR", "images_dir" },
};

#define JOB_VIEW_COLUMNS \
	(sizeof(job_view_columns) / sizeof(job_view_columns[0]))

/* The job's times, latest first. */
static const char *const job_view_time_keys[] = {
	"ended", "restored", "started", "created",
};

/* Print the options that are on by name, and any others as key=value. */
static void
job_view_print_options(FILE *out, json_t *options)
{
	const char *key;
	json_t *value;
	bool first = true;

	json_object_foreach(options, key, value) {
		if (json_is_false(value) || json_is_null(value))
			continue;
		fputs(first ? "" : ", ", out);
		first = false;
		fputs(key, out);
		if (json_is_true(value))
			continue;
		fputc('=', out);
		value_print_token(out, value);
	}
	if (first)
		fputs("-", out);
}

/* Print an object's members as space-separated key=value pairs. */
static void
job_view_print_pairs(FILE *out, json_t *object)
{
	const char *key;
	json_t *value;
	bool first = true;

	json_object_foreach(object, key, value) {
		if (json_is_null(value))
			continue;
		fprintf(out, "%s%s=", first ? "" : " ", key);
		first = false;
		value_print_token(out, value);
	}
	if (first)
		fputs("-", out);
}

static void
job_view_print_error(FILE *out, json_t *error)
{
	const char *code, *message;

	code = json_string_value(json_object_get(error, "code"));
	message = json_string_value(json_object_get(error, "message"));
	fprintf(out, "%s: %s", code != NULL ? code : "-",
	    message != NULL ? message : "-");
}

static void
job_view_print_member(FILE *out, const char *key, json_t *value)
{
	if (strcmp(key, "options") == 0 && json_is_object(value))
		job_view_print_options(out, value);
	else if (strcmp(key, "error") == 0 && json_is_object(value))
		job_view_print_error(out, value);
	else if (json_is_object(value))
		job_view_print_pairs(out, value);
	else
		value_print(out, value);
}

static void
job_view_print_log(FILE *out, json_t *job)
{
	json_t *log, *line;
	size_t i;

	log = json_object_get(json_object_get(job, "error"), "log");
	if (json_array_size(log) == 0)
		return;
	fputs("log:\n", out);
	json_array_foreach(log, i, line) {
		fputs("    ", out);
		value_print(out, line);
		fputc('\n', out);
	}
}

/* Members of the job object that only a restore job fills in. */
static const char *const job_view_restore_keys[] = {
	"restored", "exit", "adopted",
};

/* Return whether `key` does not apply to the type of `job`, so is left out. */
static bool
job_view_skips(json_t *job, const char *key)
{
	size_t i;

	if (!json_is_string(json_object_get(job, "type")) ||
	    strcmp(json_string_value(json_object_get(job, "type")),
	    "checkpoint") != 0)
		return false;
	for (i = 0; i < sizeof(job_view_restore_keys) /
	    sizeof(job_view_restore_keys[0]); i++)
		if (strcmp(key, job_view_restore_keys[i]) == 0)
			return true;
	return false;
}

void
job_view_print_status(FILE *out, json_t *job)
{
	const char *key;
	json_t *value;
	size_t width = 0;

	json_object_foreach(job, key, value) {
		if (strlen(key) > width)
			width = strlen(key);
	}
	json_object_foreach(job, key, value) {
		if (job_view_skips(job, key))
			continue;
		fprintf(out, "%s:%*s", key, (int)(width - strlen(key) + 1), "");
		job_view_print_member(out, key, value);
		fputc('\n', out);
	}
	job_view_print_log(out, job);
}

/* Return the text of one table cell, formatted into `buf` if needed. */
static const char *
job_view_format_cell(json_t *job, const char *key, char *buf, size_t size)
{
	json_t *value = json_object_get(job, key);

	if (json_is_string(value))
		return json_string_value(value);
	if (json_is_integer(value)) {
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(value));
		return buf;
	}
	return "-";
}

static void
job_view_measure_columns(json_t *jobs, int widths[JOB_VIEW_COLUMNS])
{
	char buf[32];
	json_t *job;
	size_t i, col, len;

	for (col = 0; col < JOB_VIEW_COLUMNS; col++)
		widths[col] = (int)strlen(job_view_columns[col].header);
	json_array_foreach(jobs, i, job) {
		for (col = 0; col < JOB_VIEW_COLUMNS; col++) {
			len = strlen(job_view_format_cell(job,
			    job_view_columns[col].key, buf, sizeof(buf)));
			if (len > (size_t)widths[col])
				widths[col] = (int)len;
		}
	}
}

/* Print the row of `job`, or the header when `job` is NULL. */
static void
job_view_print_row(FILE *out, json_t *job, const int widths[JOB_VIEW_COLUMNS])
{
	const char *text;
	char buf[32];
	size_t col;

	for (col = 0; col < JOB_VIEW_COLUMNS; col++) {
		text = job == NULL ? job_view_columns[col].header :
		    job_view_format_cell(job, job_view_columns[col].key, buf,
		    sizeof(buf));
		value_print_text(out, text);
		if (col + 1 < JOB_VIEW_COLUMNS)
			fprintf(out, "%*s  ", widths[col] - (int)strlen(text), "");
		else
			fputc('\n', out);
	}
}

void
job_view_print_list(FILE *out, json_t *jobs)
{
	int widths[JOB_VIEW_COLUMNS];
	json_t *job;
	size_t i;

	job_view_measure_columns(jobs, widths);
	job_view_print_row(out, NULL, widths);
	json_array_foreach(jobs, i, job)
		job_view_print_row(out, job, widths);
}

static json_t *
job_view_latest_time(json_t *job)
{
	json_t *stamp;
	size_t i;

	for (i = 0; i < sizeof(job_view_time_keys) /
	    sizeof(job_view_time_keys[0]); i++) {
		stamp = json_object_get(job, job_view_time_keys[i]);
		if (json_is_string(stamp))
			return stamp;
	}
	return json_null();
}

static bool
job_view_is_lazy_restored(json_t *job)
{
	const char *state = json_string_value(json_object_get(job, "state"));
	json_t *options = json_object_get(job, "options");

	return state != NULL && strcmp(state, "restored") == 0 &&
	    json_is_true(json_object_get(options, "lazy_pages"));
}

json_t *
job_view_to_event(json_t *job)
{
	json_t *event, *pid, *exit_status, *error;

	event = json_object();
	if (event == NULL)
		return NULL;
	json_object_set(event, "event", json_object_get(job, "state"));
	json_object_set(event, "job", json_object_get(job, "job"));
	json_object_set(event, "time", job_view_latest_time(job));

	pid = json_object_get(job, "pid");
	if (json_is_integer(pid))
		json_object_set(event, "pid", pid);
	if (job_view_is_lazy_restored(job))
		json_object_set(event, "pages_complete",
		    json_object_get(job, "pages_complete"));

	/* An exit status is {"code": N} or {"signal": N}, as in the event. */
	exit_status = json_object_get(job, "exit");
	if (json_is_object(exit_status))
		json_object_update(event, exit_status);
	error = json_object_get(job, "error");
	if (json_is_object(error))
		json_object_update(event, error);
	return event;
}
