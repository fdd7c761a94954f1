/*
 * Unit tests for the job history journal: the last record of each job wins,
 * lines a crash cut short or that are not job records are skipped, and a
 * rewrite replaces the journal whole.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "error.h"
#include "history.h"
#include "unit.h"

struct fixture {
	char dir[64];
	int dir_fd;
	struct event_base *base;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/ctrd-test-history.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->dir_fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->dir_fd >= 0);
	f->base = event_base_new();
	assert_non_null(f->base);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	unlinkat(f->dir_fd, HISTORY_FILE, 0);
	close(f->dir_fd);
	rmdir(f->dir);
	event_base_free(f->base);
	free(f);
	return 0;
}

static struct history *
open_history(struct fixture *f)
{
	struct history *history;
	struct error err;

	history = history_open(f->dir_fd, f->dir, &err);
	assert_non_null(history);
	return history;
}

static void
append(struct history *history, const char *job, const char *state)
{
	json_t *record = json_pack("{s:s, s:s}", "job", job, "state", state);

	history_append(history, record);
	json_decref(record);
}

/* Append raw bytes, as a crash or another writer would leave them. */
static void
append_raw(struct fixture *f, const char *text)
{
	int fd = openat(f->dir_fd, HISTORY_FILE, O_WRONLY | O_APPEND);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static json_t *
load(struct history *history)
{
	struct error err;
	json_t *records = history_load(history, &err);

	assert_non_null(records);
	return records;
}

static const char *
record_field(const json_t *records, size_t index, const char *key)
{
	return json_string_value(json_object_get(json_array_get(records,
	    index), key));
}

static void
test_last_record_wins(void **state)
{
	struct history *history = open_history(*state);
	json_t *records;

	append(history, "aaaaaaaaaaaaaaaa", "queued");
	append(history, "bbbbbbbbbbbbbbbb", "queued");
	append(history, "aaaaaaaaaaaaaaaa", "restored");
	assert_int_equal(history_appended(history), 3);
	records = load(history);
	assert_int_equal(json_array_size(records), 2);
	assert_string_equal(record_field(records, 0, "job"), "aaaaaaaaaaaaaaaa");
	assert_string_equal(record_field(records, 0, "state"), "restored");
	assert_string_equal(record_field(records, 1, "state"), "queued");
	json_decref(records);
	history_free(history);
}

static void
test_bad_lines_skipped(void **state)
{
	struct fixture *f = *state;
	struct history *history = open_history(f);
	json_t *records;

	append(history, "aaaaaaaaaaaaaaaa", "queued");
	append_raw(f, "not json\n[1, 2]\n{\"state\": \"queued\"}\n\n");
	append(history, "bbbbbbbbbbbbbbbb", "exited");
	append_raw(f, "{\"job\": \"cccccccccccccccc\", \"sta");
	records = load(history);
	assert_int_equal(json_array_size(records), 2);
	assert_string_equal(record_field(records, 1, "job"), "bbbbbbbbbbbbbbbb");
	json_decref(records);
	history_free(history);
}

static void
test_rewrite_replaces(void **state)
{
	struct history *history = open_history(*state);
	json_t *records, *replacement;

	append(history, "aaaaaaaaaaaaaaaa", "queued");
	append(history, "bbbbbbbbbbbbbbbb", "queued");
	replacement = json_pack("[{s:s, s:s}]", "job", "bbbbbbbbbbbbbbbb", "state",
	    "canceled");
	assert_int_equal(history_rewrite(history, replacement, &(struct error){0}), 0);
	assert_int_equal(history_appended(history), 0);
	append(history, "cccccccccccccccc", "queued");
	records = load(history);
	assert_int_equal(json_array_size(records), 2);
	assert_string_equal(record_field(records, 0, "state"), "canceled");
	assert_string_equal(record_field(records, 1, "job"), "cccccccccccccccc");
	assert_int_equal(faccessat(((struct fixture *)*state)->dir_fd,
	    HISTORY_FILE ".tmp", F_OK, 0), -1);
	json_decref(replacement);
	json_decref(records);
	history_free(history);
}

/* A journal survives closing and opening again. */
static void
test_reopen_keeps_records(void **state)
{
	struct history *history = open_history(*state);
	json_t *records;

	append(history, "aaaaaaaaaaaaaaaa", "exited");
	history_free(history);
	history = open_history(*state);
	records = load(history);
	assert_int_equal(json_array_size(records), 1);
	assert_string_equal(record_field(records, 0, "state"), "exited");
	json_decref(records);
	history_free(history);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_last_record_wins, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_lines_skipped, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rewrite_replaces, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_records,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
