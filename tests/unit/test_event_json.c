/* Unit tests for event timestamps, event objects and their encoding. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "event_json.h"
#include "unit.h"

#define JOB "a3f09c2e51b7d604"

/* Epoch seconds of 2026-12-04T13:00:00Z and 2028-02-29T23:59:59Z. */
#define SEC_2026_12_04 1796389200
#define SEC_2028_LEAP_DAY 1835481599

struct time_case {
	const char *name;
	struct timespec ts;
	const char *expected;
};

static const struct time_case time_cases[] = {
	{ "time epoch", { 0, 0 }, "1970-01-01T00:00:00.000Z" },
	{ "time under 1 ms", { 0, 999999 }, "1970-01-01T00:00:00.000Z" },
	{ "time rounds down", { 0, 999999999 }, "1970-01-01T00:00:00.999Z" },
	{ "time in 2026", { SEC_2026_12_04, 140000000 },
	  "2026-12-04T13:00:00.140Z" },
	{ "time drops microseconds", { SEC_2026_12_04, 140999999 },
	  "2026-12-04T13:00:00.140Z" },
	{ "time on leap day", { SEC_2028_LEAP_DAY, 1000000 },
	  "2028-02-29T23:59:59.001Z" },
};

static void
test_format_time(void **state)
{
	const struct time_case *c = *state;
	char buf[EVENT_JSON_TIME_LEN];

	memset(buf, 'x', sizeof(buf));
	event_json_format_time(&c->ts, buf);
	assert_string_equal(buf, c->expected);
	assert_int_equal(strlen(buf), EVENT_JSON_TIME_LEN - 1);
}

/* Parsing a formatted time gives it back, cut to milliseconds. */
static void
test_parse_time(void **state)
{
	const struct time_case *c = *state;
	json_t *text = json_string(c->expected);
	struct timespec ts;

	assert_int_equal(event_json_parse_time(text, &ts), 0);
	assert_int_equal(ts.tv_sec, c->ts.tv_sec);
	assert_int_equal(ts.tv_nsec, c->ts.tv_nsec / 1000000 * 1000000);
	json_decref(text);
}

static void
test_parse_time_rejects(void **state)
{
	static const char *const bad[] = {
		"2026-12-04T13:00:00Z", "2026-12-04 13:00:00.140Z",
		"2026-12-04T13:00:00.140", "2026-12-04T13:00:00.140Zjunk", "",
	};
	struct timespec ts;
	json_t *value;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		value = json_string(bad[i]);
		assert_int_equal(event_json_parse_time(value, &ts), -1);
		json_decref(value);
	}
	value = json_integer(5);
	assert_int_equal(event_json_parse_time(value, &ts), -1);
	json_decref(value);
	assert_int_equal(event_json_parse_time(json_null(), &ts), 0);
	assert_int_equal(ts.tv_sec, 0);
	assert_int_equal(ts.tv_nsec, 0);
}

static void
test_time_zero_is_null(void **state)
{
	const struct timespec zero = { 0, 0 };
	json_t *value = event_json_time(&zero);

	assert_true(json_is_null(value));
	json_decref(value);
}

/* Only an all-zero timespec is null, so 1 ns past the epoch is a time. */
static void
test_time_one_ns(void **state)
{
	const struct timespec ts = { 0, 1 };
	json_t *value = event_json_time(&ts);

	assert_true(json_is_string(value));
	assert_string_equal(json_string_value(value),
	    "1970-01-01T00:00:00.000Z");
	json_decref(value);
}

static void
test_new_at_members(void **state)
{
	const struct timespec ts = { SEC_2026_12_04, 140000000 };
	json_t *event = event_json_new_at("restored", JOB, &ts);
	void *iter;

	assert_non_null(event);
	assert_int_equal(json_object_size(event), 3);

	iter = json_object_iter(event);
	assert_non_null(iter);
	assert_string_equal(json_object_iter_key(iter), "event");
	assert_string_equal(json_string_value(json_object_iter_value(iter)),
	    "restored");

	iter = json_object_iter_next(event, iter);
	assert_non_null(iter);
	assert_string_equal(json_object_iter_key(iter), "job");
	assert_string_equal(json_string_value(json_object_iter_value(iter)),
	    JOB);

	iter = json_object_iter_next(event, iter);
	assert_non_null(iter);
	assert_string_equal(json_object_iter_key(iter), "time");
	assert_string_equal(json_string_value(json_object_iter_value(iter)),
	    "2026-12-04T13:00:00.140Z");

	assert_null(json_object_iter_next(event, iter));
	json_decref(event);
}

/* RFC 3339 strings of one fixed width sort in time order. */
static void
test_new_uses_now(void **state)
{
	char before[EVENT_JSON_TIME_LEN], after[EVENT_JSON_TIME_LEN];
	struct timespec now;
	const char *time;
	json_t *event;

	clock_gettime(CLOCK_REALTIME, &now);
	event_json_format_time(&now, before);
	event = event_json_new("queued", JOB);
	clock_gettime(CLOCK_REALTIME, &now);
	event_json_format_time(&now, after);

	assert_non_null(event);
	assert_string_equal(json_string_value(json_object_get(event, "event")),
	    "queued");
	time = json_string_value(json_object_get(event, "time"));
	assert_non_null(time);
	assert_true(strcmp(before, time) <= 0);
	assert_true(strcmp(time, after) <= 0);
	json_decref(event);
}

static void
test_encode_line_exact(void **state)
{
	const struct timespec ts = { SEC_2026_12_04, 140000000 };
	json_t *event = event_json_new_at("restored", JOB, &ts);
	size_t len = 0;
	char *line;

	json_object_set_new(event, "pid", json_integer(4242));
	line = event_json_encode_line(event, &len);
	assert_non_null(line);
	assert_string_equal(line,
	    "{\"event\":\"restored\",\"job\":\"" JOB "\","
	    "\"time\":\"2026-12-04T13:00:00.140Z\",\"pid\":4242}\n");
	assert_int_equal(len, strlen(line));
	free(line);
	json_decref(event);
}

/* Encode `object`, check the framing, and check that it decodes back. */
static void
assert_one_line_round_trip(const json_t *object)
{
	json_error_t json_err;
	json_t *decoded;
	size_t len = 0;
	char *line;

	line = event_json_encode_line(object, &len);
	assert_non_null(line);
	assert_int_equal(len, strlen(line));
	assert_true(len >= 2);
	assert_int_equal(line[len - 1], '\n');
	assert_null(memchr(line, '\n', len - 1));
	assert_null(memchr(line, '\r', len));

	/* \u0000 is valid JSON, but jansson decodes it only with this flag. */
	decoded = json_loads(line, JSON_ALLOW_NUL, &json_err);
	assert_non_null(decoded);
	assert_true(json_equal(decoded, object));
	json_decref(decoded);
	free(line);
}

static void
test_encode_line_newlines(void **state)
{
	const struct timespec ts = { SEC_2026_12_04, 140000000 };
	json_t *event = event_json_new_at("failed", JOB, &ts);

	json_object_set_new(event, "code", json_string("restore-failed"));
	json_object_set_new(event, "message",
	    json_string("CRIU: Restoring FAILED.\nsee the log\n"));
	json_object_set_new(event, "log", json_pack("[s, s]",
	    "(00.012345)      1: Error (criu/cr-restore.c:2324): "
	    "Restoring FAILED.\n",
	    "line\r\nwith CRLF"));
	assert_one_line_round_trip(event);
	json_decref(event);
}

static void
test_encode_line_unicode(void **state)
{
	json_t *object = json_object();

	json_object_set_new(object, "name",
	    json_string("caf\xc3\xa9 \xe2\x9c\x93"));
	json_object_set_new(object, "nul", json_stringn("a\0b", 3));
	assert_one_line_round_trip(object);
	json_decref(object);
}

static void
test_encode_line_empty_object(void **state)
{
	json_t *object = json_object();
	size_t len = 0;
	char *line;

	line = event_json_encode_line(object, &len);
	assert_non_null(line);
	assert_string_equal(line, "{}\n");
	assert_int_equal(len, 3);
	free(line);
	json_decref(object);
}

static const struct CMUnitTest single_tests[] = {
	UNIT_TEST("time zero is null", test_time_zero_is_null, NULL),
	UNIT_TEST("parse_time rejects other forms", test_parse_time_rejects,
	    NULL),
	UNIT_TEST("time one ns is a time", test_time_one_ns, NULL),
	UNIT_TEST("new_at members in order", test_new_at_members, NULL),
	UNIT_TEST("new uses current time", test_new_uses_now, NULL),
	UNIT_TEST("encode_line exact", test_encode_line_exact, NULL),
	UNIT_TEST("encode_line escapes newlines", test_encode_line_newlines,
	    NULL),
	UNIT_TEST("encode_line unicode and NUL", test_encode_line_unicode,
	    NULL),
	UNIT_TEST("encode_line empty object", test_encode_line_empty_object,
	    NULL),
};

int
main(void)
{
	struct CMUnitTest tests[2 * ARRAY_SIZE(time_cases) +
	    ARRAY_SIZE(single_tests)];
	size_t n = 0, i;

	for (i = 0; i < ARRAY_SIZE(time_cases); i++)
		tests[n++] = (struct CMUnitTest)UNIT_TEST(time_cases[i].name,
		    test_format_time, &time_cases[i]);
	for (i = 0; i < ARRAY_SIZE(time_cases); i++)
		tests[n++] = (struct CMUnitTest)UNIT_TEST("parse_time round trip",
		    test_parse_time, &time_cases[i]);
	for (i = 0; i < ARRAY_SIZE(single_tests); i++)
		tests[n++] = single_tests[i];
	return cmocka_run_group_tests_name("event_json", tests, NULL, NULL);
}
