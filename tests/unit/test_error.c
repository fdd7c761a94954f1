/* Unit tests for the error setters: messages and fields stay valid UTF-8. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "error.h"
#include "unit.h"

/* Text formatted into a message, and the message it must give. */
struct utf8_case {
	const char *name;
	const char *text;
	const char *expected;
};

/* Valid and invalid UTF-8, as jansson's utf8_check_full() classifies them. */
static const struct utf8_case utf8_cases[] = {
	{ "ascii unchanged", "images_dir 'a/b'", "images_dir 'a/b'" },
	{ "two bytes unchanged", "\xc3\xa9", "\xc3\xa9" },
	{ "three bytes unchanged", "\xe2\x82\xac", "\xe2\x82\xac" },
	{ "four bytes unchanged", "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },
	{ "U+D7FF unchanged", "\xed\x9f\xbf", "\xed\x9f\xbf" },
	{ "U+E000 unchanged", "\xee\x80\x80", "\xee\x80\x80" },
	{ "U+10FFFF unchanged", "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf" },
	{ "lone continuation", "a\x80z", "a?z" },
	{ "cut three bytes", "a\xe2\x82", "a??" },
	{ "cut four bytes", "\xf0\x9f\x98", "???" },
	{ "lead then ascii", "\xc3z", "?z" },
	{ "overlong two bytes", "\xc0\xaf", "??" },
	{ "overlong three bytes", "\xe0\x80\xaf", "???" },
	{ "overlong four bytes", "\xf0\x80\x80\xaf", "????" },
	{ "surrogate", "\xed\xa0\x80", "???" },
	{ "above U+10FFFF", "\xf4\x90\x80\x80", "????" },
	{ "byte F5", "\xf5\x80", "??" },
	{ "byte FF", "\xff", "?" },
	{ "valid after invalid", "\xff\xc3\xa9", "?\xc3\xa9" },
};

/* Fill `buf` with `count` copies of `unit`. */
static void
repeat_string(char *buf, const char *unit, size_t count)
{
	size_t len = strlen(unit), i;

	for (i = 0; i < count; i++)
		memcpy(buf + i * len, unit, len);
	buf[count * len] = '\0';
}

static void
test_utf8_message(void **state)
{
	const struct utf8_case *c = *state;
	struct error err;

	error_clear(&err);
	assert_int_equal(error_set(&err, "internal", "%s", c->text), -1);
	assert_string_equal(err.message, c->expected);
	assert_json_string(err.message);
}

static void
test_utf8_field(void **state)
{
	const struct utf8_case *c = *state;
	struct error err;

	error_clear(&err);
	assert_int_equal(error_set_field(&err, "invalid-params", c->text,
	    "bad field"), -1);
	assert_non_null(err.field);
	assert_string_equal(err.field, c->expected);
	assert_json_string(err.field);
}

/* A field name is cut to 63 bytes, here inside the 32nd U+00E9. */
static void
test_field_cut(void **state)
{
	char name[2 * 40 + 1];
	struct error err;

	repeat_string(name, "\xc3\xa9", 40);
	error_clear(&err);
	error_set_field(&err, "invalid-request", name, "unknown member");
	assert_int_equal(strlen(err.field), ERROR_FIELD_MAX - 1);
	assert_int_equal(err.field[ERROR_FIELD_MAX - 2], '?');
	assert_json_string(err.field);
}

/* The message buffer cuts a long message, here inside a U+20AC. */
static void
test_message_cut(void **state)
{
	char text[3 * 200 + 1];
	struct error err;

	repeat_string(text, "\xe2\x82\xac", 200);
	error_clear(&err);
	/* 511 bytes are "ab" and 509 of the text, 2 bytes into a character. */
	error_set(&err, "internal", "ab%s", text);
	assert_int_equal(strlen(err.message), ERROR_MESSAGE_MAX - 1);
	assert_string_equal(err.message + ERROR_MESSAGE_MAX - 3, "??");
	assert_json_string(err.message);
}

/* A prefix pushes the end of the message out of the buffer. */
static void
test_prefix_cut(void **state)
{
	char text[3 * 170 + 1];
	struct error err;

	repeat_string(text, "\xe2\x82\xac", 170);
	error_clear(&err);
	error_set(&err, "internal", "%s", text);
	assert_json_string(err.message);
	error_prefix(&err, "config '%s'", "/etc/ctrd/ctrd.json");
	assert_int_equal(strlen(err.message), ERROR_MESSAGE_MAX - 1);
	assert_json_string(err.message);
}

/* The errno text is appended after the message, which is repaired too. */
static void
test_errno_message(void **state)
{
	struct error err;

	error_clear(&err);
	errno = ENOENT;
	assert_int_equal(error_set_errno(&err, "internal", "open '%s'",
	    "\xff"), -1);
	assert_int_equal(err.sys_errno, ENOENT);
	assert_string_equal(err.message, "open '?': No such file or directory");
	assert_int_equal(errno, ENOENT);
}

static const struct CMUnitTest single_tests[] = {
	UNIT_TEST("field cut inside a character", test_field_cut, NULL),
	UNIT_TEST("message cut inside a character", test_message_cut, NULL),
	UNIT_TEST("prefix cuts inside a character", test_prefix_cut, NULL),
	UNIT_TEST("errno message repaired", test_errno_message, NULL),
};

int
main(void)
{
	struct CMUnitTest tests[2 * ARRAY_SIZE(utf8_cases) +
	    ARRAY_SIZE(single_tests)];
	char names[ARRAY_SIZE(utf8_cases)][64];
	size_t n = 0, i;

	for (i = 0; i < ARRAY_SIZE(utf8_cases); i++)
		tests[n++] = (struct CMUnitTest)UNIT_TEST(utf8_cases[i].name,
		    test_utf8_message, &utf8_cases[i]);
	for (i = 0; i < ARRAY_SIZE(utf8_cases); i++) {
		snprintf(names[i], sizeof(names[i]), "field: %s",
		    utf8_cases[i].name);
		tests[n++] = (struct CMUnitTest)UNIT_TEST(names[i],
		    test_utf8_field, &utf8_cases[i]);
	}
	for (i = 0; i < ARRAY_SIZE(single_tests); i++)
		tests[n++] = single_tests[i];
	return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
