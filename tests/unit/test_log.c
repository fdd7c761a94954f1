/*
 * Unit tests for the log module: level and target names, choosing the
 * journal from JOURNAL_STREAM, the stderr line format and the per-call-site
 * rate limit.  Records are captured by pointing stderr at a temporary file.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "unit.h"

/* Redirect stderr to a fresh temporary file; return the saved stderr. */
static int
capture_begin(void)
{
	FILE *tmp = tmpfile();
	int saved = dup(2);

	assert_non_null(tmp);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_int_equal(dup2(fileno(tmp), 2), 2);
	fclose(tmp);
	return saved;
}

/* Restore stderr and return what was written to it, to free. */
static char *
capture_end(int saved)
{
	char *text;
	off_t size;

	fflush(stderr);
	size = lseek(2, 0, SEEK_END);
	assert_true(size >= 0);
	text = calloc(1, (size_t)size + 1);
	assert_non_null(text);
	assert_int_equal(pread(2, text, (size_t)size, 0), size);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	return text;
}

static int
count_lines(const char *text, const char *needle)
{
	const char *p = text;
	int n = 0;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

static void
test_names(void **state)
{
	assert_int_equal(log_level_parse("err"), LOG_LEVEL_ERR);
	assert_int_equal(log_level_parse("debug"), LOG_LEVEL_DEBUG);
	assert_int_equal(log_level_parse("verbose"), -1);
	assert_string_equal(log_level_name(LOG_LEVEL_WARNING), "warning");
	assert_int_equal(log_target_parse("auto"), LOG_TARGET_AUTO);
	assert_int_equal(log_target_parse("journal"), LOG_TARGET_JOURNAL);
	assert_int_equal(log_target_parse("stderr"), LOG_TARGET_STDERR);
	assert_int_equal(log_target_parse("syslog"), -1);
	assert_string_equal(log_target_name(LOG_TARGET_JOURNAL), "journal");
}

/*
 * AUTO picks the journal only when JOURNAL_STREAM names stderr's file, and
 * only if journald's socket exists: without it records would be dropped.
 */
static void
test_auto_target(void **state)
{
	char stream[64];
	struct stat st;
	int saved = capture_begin();

	assert_int_equal(fstat(2, &st), 0);
	unsetenv("JOURNAL_STREAM");
	log_set_target(LOG_TARGET_AUTO);
	assert_int_equal(log_get_target(), LOG_TARGET_STDERR);

	snprintf(stream, sizeof(stream), "%llu:%llu",
	    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", stream, 1);
	log_set_target(LOG_TARGET_AUTO);
	assert_int_equal(log_get_target(), LOG_TARGET_STDERR);

	setenv("JOURNAL_STREAM", "garbage", 1);
	log_set_target(LOG_TARGET_AUTO);
	assert_int_equal(log_get_target(), LOG_TARGET_STDERR);

	snprintf(stream, sizeof(stream), "%llu:%llu",
	    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", stream, 1);
	log_set_target(LOG_TARGET_AUTO);
	assert_int_equal(log_get_target(),
	    access("/run/systemd/journal/socket", F_OK) == 0 ?
	    LOG_TARGET_JOURNAL : LOG_TARGET_STDERR);

	unsetenv("JOURNAL_STREAM");
	log_set_target(LOG_TARGET_STDERR);
	free(capture_end(saved));
}

static void
test_stderr_format(void **state)
{
	struct log_context ctx = { .job = "0123abcd", .phase = "restoring",
	    .peer_uid = 1000 };
	int saved = capture_begin();
	char *text;

	log_set_target(LOG_TARGET_STDERR);
	log_set_level(LOG_LEVEL_INFO);
	log_write(LOG_LEVEL_NOTICE, NULL, "ready on '%s'", "/run/ctrd.sock");
	log_write_context(LOG_LEVEL_INFO, &ctx, "queued -> %s", "restoring");
	log_write(LOG_LEVEL_DEBUG, "0123abcd", "not shown at level info");
	log_write(LOG_LEVEL_INFO, NULL, "job '%s' not found",
	    "x\nctrd[err]: forged\r");
	text = capture_end(saved);
	assert_string_equal(text,
	    "ctrd[notice]: ready on '/run/ctrd.sock'\n"
	    "ctrd[info] job=0123abcd: queued -> restoring\n"
	    "ctrd[info]: job 'x?ctrd[err]: forged?' not found\n");
	free(text);
}

static void
emit_failures(int count)
{
	int i;

	for (i = 0; i < count; i++)
		log_err("feedbeef", "worker %d failed", i);
}

/*
 * One call site logs its burst and then drops; the next window starts by
 * saying how many it dropped.  Another call site has its own budget.
 */
static void
test_rate_limit(void **state)
{
	struct timespec pause = { 0, 60 * 1000 * 1000 };
	int saved = capture_begin();
	char *text;

	log_set_target(LOG_TARGET_STDERR);
	log_set_ratelimit(3, 50);
	emit_failures(10);
	log_err(NULL, "another site");
	nanosleep(&pause, NULL);
	emit_failures(1);
	log_set_ratelimit(10, 10000);
	text = capture_end(saved);

	assert_int_equal(count_lines(text, "ctrd[err] job=feedbeef: worker "), 4);
	assert_non_null(strstr(text, "worker 2 failed\n"));
	assert_null(strstr(text, "worker 3 failed\n"));
	assert_int_equal(count_lines(text, "another site"), 1);
	assert_non_null(strstr(text,
	    "ctrd[err] job=feedbeef: suppressed 7 messages like "
	    "\"worker %d failed\" in the last 50 ms\n"
	    "ctrd[err] job=feedbeef: worker 0 failed\n"));
	free(text);
}

/* Records below the level are neither written nor counted. */
static void
test_rate_limit_below_level(void **state)
{
	int saved = capture_begin();
	char *text;
	int i;

	log_set_ratelimit(2, 10000);
	log_set_level(LOG_LEVEL_ERR);
	for (i = 0; i < 5; i++)
		log_warning(NULL, "quiet %d", i);
	log_set_level(LOG_LEVEL_INFO);
	log_set_ratelimit(10, 10000);
	text = capture_end(saved);
	assert_string_equal(text, "");
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_auto_target),
		cmocka_unit_test(test_stderr_format),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_rate_limit_below_level),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
