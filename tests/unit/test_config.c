/* Unit tests for loading ctrd's JSON config file over the defaults. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "error.h"
#include "log.h"
#include "unit.h"

/* A config file that must be rejected, and the key the error names. */
struct bad_case {
	const char *name;
	const char *text;
	const char *field;		/* NULL: no single key at fault */
};

static const struct bad_case bad_cases[] = {
	{ "unknown key", "{\"wrokers\": 2}", "wrokers" },
	{ "unknown key after good", "{\"workers\": 2, \"pool\": 4}", "pool" },
	{ "workers 0", "{\"workers\": 0}", "workers" },
	{ "workers 65", "{\"workers\": 65}", "workers" },
	{ "workers string", "{\"workers\": \"2\"}", "workers" },
	{ "workers real", "{\"workers\": 2.0}", "workers" },
	{ "workers null", "{\"workers\": null}", "workers" },
	{ "max_running 0", "{\"max_running\": 0}", "max_running" },
	{ "max_connections 65537", "{\"max_connections\": 65537}",
	  "max_connections" },
	{ "max_history -1", "{\"max_history\": -1}", "max_history" },
	{ "max_request_bytes 1023", "{\"max_request_bytes\": 1023}",
	  "max_request_bytes" },
	{ "max_request_bytes 64 MiB + 1",
	  "{\"max_request_bytes\": 67108865}", "max_request_bytes" },
	{ "state_dir relative", "{\"state_dir\": \"var/lib/ctrd\"}",
	  "state_dir" },
	{ "state_dir empty", "{\"state_dir\": \"\"}", "state_dir" },
	{ "socket relative", "{\"socket\": \"ctrd.sock\"}", "socket" },
	{ "socket number", "{\"socket\": 1}", "socket" },
	{ "criu empty", "{\"criu\": \"\"}", "criu" },
	{ "log_level loud", "{\"log_level\": \"loud\"}", "log_level" },
	{ "log_level number", "{\"log_level\": 3}", "log_level" },
	{ "stop_timeout -1", "{\"stop_timeout\": -1}", "stop_timeout" },
	{ "stop_timeout 3601", "{\"stop_timeout\": 3601}", "stop_timeout" },
	{ "stop_timeout string", "{\"stop_timeout\": \"30\"}",
	  "stop_timeout" },
	{ "log_target syslog", "{\"log_target\": \"syslog\"}",
	  "log_target" },
	{ "log_target number", "{\"log_target\": 1}", "log_target" },
	{ "allowed_uids string", "{\"allowed_uids\": \"root\"}",
	  "allowed_uids" },
	{ "allowed_uids negative", "{\"allowed_uids\": [-1]}",
	  "allowed_uids" },
	{ "allowed_uids real", "{\"allowed_uids\": [1.5]}", "allowed_uids" },
	{ "allowed_uids bool", "{\"allowed_uids\": [true]}",
	  "allowed_uids" },
	{ "allowed_uids unknown user",
	  "{\"allowed_uids\": [0, \"no-such-user-ctrd\"]}", "allowed_uids" },
	{ "allowed_gids object", "{\"allowed_gids\": {}}", "allowed_gids" },
	{ "allowed_gids unknown group",
	  "{\"allowed_gids\": [\"no-such-group-ctrd\"]}", "allowed_gids" },
	{ "allowed_image_roots string",
	  "{\"allowed_image_roots\": \"/srv\"}", "allowed_image_roots" },
	{ "allowed_image_roots relative",
	  "{\"allowed_image_roots\": [\"srv/images\"]}",
	  "allowed_image_roots" },
	{ "allowed_image_roots empty path",
	  "{\"allowed_image_roots\": [\"\"]}", "allowed_image_roots" },
	{ "allowed_image_roots number",
	  "{\"allowed_image_roots\": [1]}", "allowed_image_roots" },
	{ "allowed_image_roots no entry", "{\"allowed_image_roots\": []}",
	  "allowed_image_roots" },
	{ "allowed_image_roots dot",
	  "{\"allowed_image_roots\": [\"/srv/./images\"]}",
	  "allowed_image_roots" },
	{ "allowed_image_roots trailing dot",
	  "{\"allowed_image_roots\": [\"/srv/.\"]}", "allowed_image_roots" },
	{ "socket over 107 bytes", "{\"socket\": \"/run/"
	  "ctrd-with-a-very-long-directory-name-that-goes-on-and-on/"
	  "and-on-and-on-and-on-and-on-until-it-is-too-long.sock\"}", "socket" },
	{ "max_connections_per_uid 0",
	  "{\"max_connections_per_uid\": 0}", "max_connections_per_uid" },
	{ "idle_timeout -1", "{\"idle_timeout\": -1}", "idle_timeout" },
	{ "allowed_image_roots dot dot",
	  "{\"allowed_image_roots\": [\"/srv/../etc\"]}",
	  "allowed_image_roots" },
	{ "allowed_image_roots trailing dot dot",
	  "{\"allowed_image_roots\": [\"/srv/..\"]}",
	  "allowed_image_roots" },
	{ "array root", "[{\"workers\": 2}]", NULL },
	{ "string root", "\"workers\"", NULL },
	{ "invalid JSON", "{\"workers\": 2,}", NULL },
	{ "duplicate key", "{\"workers\": 2, \"workers\": 3}", NULL },
	{ "empty file", "", NULL },
};

/* A temporary directory for the config file of one test. */
struct config_dir {
	char path[64];
	char file[96];
};

static int
config_dir_setup(void **state)
{
	struct config_dir *dir = calloc(1, sizeof(*dir));

	if (dir == NULL)
		return -1;
	snprintf(dir->path, sizeof(dir->path), "/tmp/ctrd-unit-XXXXXX");
	if (mkdtemp(dir->path) == NULL) {
		free(dir);
		return -1;
	}
	snprintf(dir->file, sizeof(dir->file), "%s/ctrd.json", dir->path);
	*state = dir;
	return 0;
}

static int
config_dir_teardown(void **state)
{
	struct config_dir *dir = *state;

	unlink(dir->file);
	rmdir(dir->path);
	free(dir);
	return 0;
}

static void
init_config(struct config *config)
{
	struct error err;

	error_clear(&err);
	assert_int_equal(config_init(config, &err), 0);
}

static void
write_config(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), len);
	close(fd);
}

/* The row is the test's state, so the directory is made here. */
static void
test_bad_file(void **state)
{
	const struct bad_case *c = *state;
	void *dir_state = NULL;
	struct config_dir *dir;
	struct config config;
	struct error err;

	assert_int_equal(config_dir_setup(&dir_state), 0);
	dir = dir_state;
	write_config(dir->file, c->text);
	init_config(&config);
	error_clear(&err);

	assert_int_equal(config_load_file(&config, dir->file, &err), -1);
	assert_string_equal(err.code, "invalid-config");
	assert_string_or_null(err.field, c->field);
	/* Every message names the file, so a user knows which one to fix. */
	assert_non_null(strstr(err.message, dir->file));

	config_clear(&config);
	config_dir_teardown(&dir_state);
}

/* The unknown key is a JSON key freed inside config_load_file(). */
static void
test_unknown_key_outlives_load(void **state)
{
	struct config_dir *dir = *state;
	struct config config;
	struct error first_err, second_err;

	init_config(&config);
	write_config(dir->file, "{\"zzzz\": 1}");
	error_clear(&first_err);
	assert_int_equal(config_load_file(&config, dir->file, &first_err), -1);
	write_config(dir->file, "{\"yyyy\": 1}");
	error_clear(&second_err);
	assert_int_equal(config_load_file(&config, dir->file, &second_err),
	    -1);
	assert_string_or_null(first_err.field, "zzzz");
	assert_string_or_null(second_err.field, "yyyy");
	config_clear(&config);
}

static void
test_good_file(void **state)
{
	static const char text[] =
	    "{\n"
	    "  \"socket\": \"/run/ctrd-test/ctrd.sock\",\n"
	    "  \"state_dir\": \"/srv/ctrd\",\n"
	    "  \"criu\": \"/opt/ctrd/criu/bin/criu\",\n"
	    "  \"workers\": 64,\n"
	    "  \"max_running\": 1,\n"
	    "  \"max_connections\": 65536,\n"
	    "  \"max_history\": 0,\n"
	    "  \"max_request_bytes\": 67108864,\n"
	    "  \"log_level\": \"debug\"\n"
	    "}\n";
	struct config_dir *dir = *state;
	struct config config;
	struct error err;

	write_config(dir->file, text);
	init_config(&config);
	error_clear(&err);
	assert_int_equal(config_load_file(&config, dir->file, &err), 0);
	assert_null(err.code);
	assert_string_equal(config.socket_path, "/run/ctrd-test/ctrd.sock");
	assert_string_equal(config.state_dir, "/srv/ctrd");
	assert_string_equal(config.criu_path, "/opt/ctrd/criu/bin/criu");
	assert_int_equal(config.workers, 64);
	assert_int_equal(config.max_running, 1);
	assert_int_equal(config.max_connections, 65536);
	assert_int_equal(config.max_history, 0);
	assert_int_equal(config.max_request_bytes, 64 << 20);
	assert_int_equal(config.log_level, LOG_LEVEL_DEBUG);
	config_clear(&config);
}

static void
test_empty_object(void **state)
{
	struct config_dir *dir = *state;
	struct config config;
	struct error err;

	write_config(dir->file, "{}");
	init_config(&config);
	error_clear(&err);
	assert_int_equal(config_load_file(&config, dir->file, &err), 0);
	assert_string_equal(config.socket_path, CONFIG_DEFAULT_SOCKET);
	assert_string_equal(config.state_dir, CONFIG_DEFAULT_STATE_DIR);
	assert_string_equal(config.criu_path, CONFIG_DEFAULT_CRIU);
	assert_int_equal(config.workers, 2);
	assert_int_equal(config.max_running, 4);
	assert_int_equal(config.max_connections, 256);
	assert_int_equal(config.max_history, 1000);
	assert_int_equal(config.max_request_bytes, 1 << 20);
	assert_int_equal(config.log_level, LOG_LEVEL_INFO);
	assert_int_equal(config.stop_timeout, 30);
	assert_int_equal(config.log_target, LOG_TARGET_AUTO);
	assert_int_equal(config.allowed_uids.count, 0);
	assert_int_equal(config.allowed_gids.count, 0);
	assert_int_equal(config.allowed_image_roots.count, 1);
	assert_string_equal(config.allowed_image_roots.paths[0], "/");
	config_clear(&config);
}

static void
test_access_lists(void **state)
{
	static const char text[] =
	    "{\n"
	    "  \"allowed_uids\": [0, \"root\", 1000],\n"
	    "  \"allowed_gids\": [\"root\", 5],\n"
	    "  \"allowed_image_roots\": [\"/srv/images//\", \"/\"],\n"
	    "  \"stop_timeout\": 0,\n"
	    "  \"log_target\": \"journal\"\n"
	    "}\n";
	struct config_dir *dir = *state;
	struct config config;
	struct error err;

	write_config(dir->file, text);
	init_config(&config);
	error_clear(&err);
	assert_int_equal(config_load_file(&config, dir->file, &err), 0);
	assert_int_equal(config.allowed_uids.count, 3);
	assert_int_equal(config.allowed_uids.ids[0], 0);
	assert_int_equal(config.allowed_uids.ids[1], 0);
	assert_int_equal(config.allowed_uids.ids[2], 1000);
	assert_int_equal(config.allowed_gids.count, 2);
	assert_int_equal(config.allowed_gids.ids[0], 0);
	assert_int_equal(config.allowed_gids.ids[1], 5);
	assert_int_equal(config.allowed_image_roots.count, 2);
	assert_string_equal(config.allowed_image_roots.paths[0],
	    "/srv/images");
	assert_string_equal(config.allowed_image_roots.paths[1], "/");
	assert_int_equal(config.stop_timeout, 0);
	assert_int_equal(config.log_target, LOG_TARGET_JOURNAL);
	config_clear(&config);
}

static size_t
find_key(const char *name)
{
	size_t i;

	for (i = 0; i < config_key_count(); i++)
		if (strcmp(config_key_name(i), name) == 0)
			return i;
	fail_msg("no config key '%s'", name);
	return 0;
}

/* A reload logs values in this form and swaps back keys that need a restart. */
static void
test_format_and_swap(void **state)
{
	struct config a, b;
	char buf[256];
	size_t socket = find_key("socket");
	size_t roots = find_key("allowed_image_roots");
	size_t workers = find_key("workers");

	init_config(&a);
	init_config(&b);
	config_format_value(&a, roots, buf, sizeof(buf));
	assert_string_equal(buf, "[\"/\"]");
	config_format_value(&a, find_key("allowed_uids"), buf, sizeof(buf));
	assert_string_equal(buf, "[]");
	config_format_value(&a, find_key("log_level"), buf, sizeof(buf));
	assert_string_equal(buf, "\"info\"");
	assert_false(config_key_is_live(socket));
	assert_true(config_key_is_live(workers));

	b.workers = 7;
	config_swap_value(&a, &b, workers);
	assert_int_equal(a.workers, 7);
	assert_int_equal(b.workers, 2);
	free(b.socket_path);
	b.socket_path = strdup("/run/other.sock");
	config_swap_value(&a, &b, socket);
	assert_string_equal(a.socket_path, "/run/other.sock");
	assert_string_equal(b.socket_path, CONFIG_DEFAULT_SOCKET);
	config_clear(&a);
	config_clear(&b);
}

/* criu may be a bare program name, looked up in PATH. */
static void
test_criu_name(void **state)
{
	struct config_dir *dir = *state;
	struct config config;
	struct error err;

	write_config(dir->file, "{\"criu\": \"criu-4.2\"}");
	init_config(&config);
	error_clear(&err);
	assert_int_equal(config_load_file(&config, dir->file, &err), 0);
	assert_string_equal(config.criu_path, "criu-4.2");
	config_clear(&config);
}

static void
test_missing_file(void **state)
{
	struct config_dir *dir = *state;
	struct config config;
	struct error err;

	init_config(&config);
	error_clear(&err);
	assert_int_equal(config_load_file(&config, dir->file, &err), -1);
	assert_string_equal(err.code, "invalid-config");
	assert_null(err.field);
	assert_non_null(strstr(err.message, dir->file));
	config_clear(&config);
}

#define DIR_TEST(test_name, func) \
	{ .name = (test_name), .test_func = (func), \
	    .setup_func = config_dir_setup, \
	    .teardown_func = config_dir_teardown }

static const struct CMUnitTest single_tests[] = {
	DIR_TEST("good file sets every key", test_good_file),
	DIR_TEST("empty object keeps defaults", test_empty_object),
	DIR_TEST("criu program name", test_criu_name),
	DIR_TEST("access lists and names", test_access_lists),
	DIR_TEST("format and swap values", test_format_and_swap),
	DIR_TEST("missing file", test_missing_file),
	DIR_TEST("unknown key outlives load", test_unknown_key_outlives_load),
};

int
main(void)
{
	struct CMUnitTest tests[ARRAY_SIZE(bad_cases) +
	    ARRAY_SIZE(single_tests)];
	size_t n = 0, i;

	for (i = 0; i < ARRAY_SIZE(bad_cases); i++)
		tests[n++] = (struct CMUnitTest)UNIT_TEST(bad_cases[i].name,
		    test_bad_file, &bad_cases[i]);
	for (i = 0; i < ARRAY_SIZE(single_tests); i++)
		tests[n++] = single_tests[i];
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
