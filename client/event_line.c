#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "event_line.h"
#include "value.h"

/* "2026-12-04T13:00:00.140Z": the time of day starts after the 'T'. */
#define EVENT_LINE_DATE_LEN 11
#define EVENT_LINE_CLOCK_LEN 12

/* Members that every event has, printed before the details. */
static const char *const event_line_header_keys[] = {
	"event", "job", "time", NULL,
};

/* Members printed in a place of their own, per event. */
static const char *const event_line_no_keys[] = { NULL };
static const char *const event_line_notify_keys[] = { "name", NULL };
static const char *const event_line_failed_keys[] = {
	"code", "message", "log", NULL,
};

static bool
event_line_key_in(const char *key, const char *const *keys)
{
	for (; *keys != NULL; keys++) {
		if (strcmp(key, *keys) == 0)
			return true;
	}
	return false;
}

/* Print the time of day of an RFC 3339 time, or all of any other text. */
static void
event_line_print_clock(FILE *out, const char *stamp)
{
	if (stamp == NULL) {
		fputs("-", out);
		return;
	}
	if (strlen(stamp) >= EVENT_LINE_DATE_LEN + EVENT_LINE_CLOCK_LEN &&
	    stamp[EVENT_LINE_DATE_LEN - 1] == 'T') {
		fprintf(out, "%.*s", EVENT_LINE_CLOCK_LEN,
		    stamp + EVENT_LINE_DATE_LEN);
		return;
	}
	fputs(stamp, out);
}

/* Print a pages-complete count as "copied/total", or return -1. */
static int
event_line_print_pages(FILE *out, const json_t *pages)
{
	const json_t *copied = json_object_get(pages, "copied");
	const json_t *total = json_object_get(pages, "total");

	if (!json_is_integer(copied) || !json_is_integer(total))
		return -1;
	fprintf(out, "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
	    json_integer_value(copied), json_integer_value(total));
	return 0;
}

/* Print " key=value" for each member not in `skip`, leaving out nulls. */
static void
event_line_print_members(FILE *out, json_t *event, const char *const *skip)
{
	const char *key;
	json_t *value;

	json_object_foreach(event, key, value) {
		if (event_line_key_in(key, event_line_header_keys) ||
		    event_line_key_in(key, skip) || json_is_null(value))
			continue;
		fprintf(out, " %s=", key);
		if (strcmp(key, "pages") == 0 &&
		    event_line_print_pages(out, value) == 0)
			continue;
		value_print_token(out, value);
	}
}

static void
event_line_print_failure(FILE *out, json_t *event)
{
	const char *code, *message;
	json_t *log, *line;
	size_t i;

	code = json_string_value(json_object_get(event, "code"));
	message = json_string_value(json_object_get(event, "message"));
	fprintf(out, " code=%s", code != NULL ? code : "-");
	if (message != NULL) {
		fputs(": ", out);
		value_print_text(out, message);
	}
	fputc('\n', out);

	log = json_object_get(event, "log");
	json_array_foreach(log, i, line) {
		fputs("    ", out);
		value_print(out, line);
		fputc('\n', out);
	}
}

void
event_line_print(FILE *out, json_t *event)
{
	const char *name, *job, *hook;
	bool failed;

	name = json_string_value(json_object_get(event, "event"));
	job = json_string_value(json_object_get(event, "job"));
	event_line_print_clock(out,
	    json_string_value(json_object_get(event, "time")));
	fprintf(out, " %s %s", job != NULL ? job : "-",
	    name != NULL ? name : "-");

	if (name != NULL && strcmp(name, "notify") == 0) {
		hook = json_string_value(json_object_get(event, "name"));
		fprintf(out, " %s", hook != NULL ? hook : "-");
		event_line_print_members(out, event, event_line_notify_keys);
		fputc('\n', out);
		return;
	}

	failed = name != NULL && strcmp(name, "failed") == 0;
	event_line_print_members(out, event,
	    failed ? event_line_failed_keys : event_line_no_keys);
	if (failed)
		event_line_print_failure(out, event);
	else
		fputc('\n', out);
}
