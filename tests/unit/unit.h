/* Helpers shared by the cmocka unit test programs. */
#ifndef CTRD_TEST_UNIT_H
#define CTRD_TEST_UNIT_H

/* cmocka.h needs these included before it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define ARRAY_SIZE(array) (sizeof(array) / sizeof(*(array)))

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

#endif
