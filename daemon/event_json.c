#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "event_json.h"

void
event_json_format_time(const struct timespec *ts, char buf[EVENT_JSON_TIME_LEN])
{
	struct tm tm;
	char date[20];

	gmtime_r(&ts->tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, EVENT_JSON_TIME_LEN, "%s.%03ldZ", date,
	    ts->tv_nsec / 1000000);
}

json_t *
event_json_time(const struct timespec *ts)
{
	char buf[EVENT_JSON_TIME_LEN];

	if (ts->tv_sec == 0 && ts->tv_nsec == 0)
		return json_null();
	event_json_format_time(ts, buf);
	return json_string(buf);
}

int
event_json_parse_time(const json_t *value, struct timespec *ts)
{
	const char *text = json_string_value(value);
	int millis, used = 0;
	struct tm tm;
	time_t sec;

	memset(ts, 0, sizeof(*ts));
	if (json_is_null(value))
		return 0;
	memset(&tm, 0, sizeof(tm));
	if (text == NULL || sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n",
	    &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
	    &tm.tm_sec, &millis, &used) != 7 || used != 24 ||
	    text[used] != '\0' || millis < 0)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	sec = timegm(&tm);
	if (sec == (time_t)-1)
		return -1;
	ts->tv_sec = sec;
	ts->tv_nsec = (long)millis * 1000000;
	return 0;
}

json_t *
event_json_new_at(const char *name, const char *job, const struct timespec *ts)
{
	return json_pack("{s:s, s:s, s:o}", "event", name, "job", job,
	    "time", event_json_time(ts));
}

json_t *
event_json_new(const char *name, const char *job)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return event_json_new_at(name, job, &now);
}

char *
event_json_encode_line(const json_t *object, size_t *ret_len)
{
	size_t len;
	char *line, *grown;

	/* JSON_COMPACT never emits a raw newline: strings escape it. */
	line = json_dumps(object, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (line == NULL)
		return NULL;
	len = strlen(line);
	grown = realloc(line, len + 2);
	if (grown == NULL) {
		free(line);
		return NULL;
	}
	line = grown;
	line[len] = '\n';
	line[len + 1] = '\0';
	*ret_len = len + 1;
	return line;
}
