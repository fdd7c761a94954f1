/* Encoding of job events and timestamps for the API. */
#ifndef CTRD_EVENT_JSON_H
#define CTRD_EVENT_JSON_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

/* "2026-12-04T13:00:00.140Z": RFC 3339, UTC, milliseconds, 24 chars + NUL. */
#define EVENT_JSON_TIME_LEN 25

/* Format a CLOCK_REALTIME time as RFC 3339 UTC with milliseconds. */
void event_json_format_time(const struct timespec *ts, char buf[EVENT_JSON_TIME_LEN]);

/* Return a JSON string of `ts` formatted as above, or JSON null if ts is 0. */
json_t *event_json_time(const struct timespec *ts);

/*
 * Parse a time written by event_json_time() back into `ts`: JSON null
 * gives 0.  Returns -1 on any other value.
 */
int event_json_parse_time(const json_t *value, struct timespec *ts);

/*
 * Return a new event object {"event": name, "job": job, "time": ts}.  The
 * caller adds event-specific members and owns the reference.
 */
json_t *event_json_new_at(const char *name, const char *job,
    const struct timespec *ts);

/* Like event_json_new_at(), with the current time. */
json_t *event_json_new(const char *name, const char *job);

/*
 * Encode `object` as one compact JSON line ending in "\n".  Returns a
 * malloc'ed string and its length in *ret_len, or NULL on allocation failure.
 */
char *event_json_encode_line(const json_t *object, size_t *ret_len);

#endif
