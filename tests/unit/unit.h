/* Helpers shared by the cmocka unit test programs. */
#ifndef CTRD_TEST_UNIT_H
#define CTRD_TEST_UNIT_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* cmocka.h needs these included before it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define ARRAY_SIZE(array) (sizeof(array) / sizeof(*(array)))

/* Size of a buffer for the path unit_make_temp_dir() makes. */
#define UNIT_TEMP_DIR_SIZE 64

/*
 * Make a new directory /tmp/ctrd-unit-XXXXXX, write its path to `path`,
 * and return a descriptor of it (O_DIRECTORY, close-on-exec).  Returns -1
 * and leaves no directory behind on failure.
 */
static inline int
unit_make_temp_dir(char path[UNIT_TEMP_DIR_SIZE])
{
	int fd;

	snprintf(path, UNIT_TEMP_DIR_SIZE, "/tmp/ctrd-unit-XXXXXX");
	if (mkdtemp(path) == NULL)
		return -1;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		rmdir(path);
	return fd;
}

/*
 * Initializer of a cmocka test entry with a readable name.  `row` becomes
 * the test's *state, such as one row of a table of cases, or NULL.
 */
#define UNIT_TEST(test_name, func, row) \
	{ .name = (test_name), .test_func = (func), \
	    .initial_state = (void *)(row) }

/* Assert that both strings are NULL, or both are set and equal. */
#define assert_string_or_null(actual, expected) \
	do { \
		const char *unit_actual_ = (actual); \
		const char *unit_expected_ = (expected); \
		if (unit_expected_ == NULL) { \
			assert_null(unit_actual_); \
		} else { \
			assert_non_null(unit_actual_); \
			assert_string_equal(unit_actual_, unit_expected_); \
		} \
	} while (0)

/*
 * Assert that jansson accepts `text` as a string value, that is, it is
 * valid UTF-8.  The test must include <jansson.h>.
 */
#define assert_json_string(text) \
	do { \
		json_t *unit_value_ = json_string(text); \
		assert_non_null(unit_value_); \
		json_decref(unit_value_); \
	} while (0)

#endif
