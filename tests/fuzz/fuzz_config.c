/*
 * libFuzzer target for config_load_file(): each input is the content of a
 * config file, which the target passes through a memfd.  A file that loads
 * must leave every number within its key's range.  Every key is then
 * formatted and swapped with the defaults, as a reload does, so that a
 * double free or a leak in that path shows up too.
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "error.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_config_fd = -1;
static char fuzz_config_path[64];

static void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_config: %s\n", what);
	abort();
}

/* Fail unless `path` is an absolute path without a trailing slash. */
static void
fuzz_check_path(const char *path, const char *what)
{
	size_t len = strlen(path);

	if (path[0] != '/' || (len > 1 && path[len - 1] == '/'))
		fuzz_fail(what);
}

/* Fail unless `value` lies in [min, max]. */
static void
fuzz_check_range(long long value, long long min, long long max,
    const char *key)
{
	if (value < min || value > max) {
		fprintf(stderr, "fuzz_config: '%s' is %lld, outside %lld-%lld\n",
		    key, value, min, max);
		abort();
	}
}

/*
 * Check the numbers of a loaded config against the ranges in config.c's
 * key table, and its paths against config.h.
 */
static void
fuzz_check_config(const struct config *config)
{
	size_t i;

	fuzz_check_range(config->workers, 1, 64, "workers");
	fuzz_check_range(config->max_running, 1, 256, "max_running");
	fuzz_check_range(config->max_queue, 1, 100000, "max_queue");
	fuzz_check_range(config->max_connections, 1, 65536,
	    "max_connections");
	fuzz_check_range(config->max_history, 0, 1000000, "max_history");
	fuzz_check_range((long long)config->max_request_bytes, 1024, 64 << 20,
	    "max_request_bytes");
	fuzz_check_range(config->queue_timeout, 0, 86400 * 7, "queue_timeout");
	fuzz_check_range(config->lazy_pages_timeout, 1, 3600,
	    "lazy_pages_timeout");
	fuzz_check_range(config->pages_timeout, 0, 86400 * 7, "pages_timeout");
	fuzz_check_range(config->restore_timeout, 1, 86400, "restore_timeout");
	fuzz_check_range(config->max_log_bytes, 1LL << 20, 1LL << 40,
	    "max_log_bytes");
	fuzz_check_range(config->stop_timeout, 0, 3600, "stop_timeout");
	if (config->socket_path[0] != '/' || config->state_dir[0] != '/' ||
	    config->criu_path[0] == '\0')
		fuzz_fail("loaded config has an empty or relative path");
	for (i = 0; i < config->allowed_image_roots.count; i++)
		fuzz_check_path(config->allowed_image_roots.paths[i],
		    "allowed image root is relative or ends in '/'");
}

/* Format and swap every key between `loaded` and a default config. */
static void
fuzz_swap_config(struct config *loaded)
{
	char small[8], large[512];
	struct config defaults;
	struct error err;
	size_t i;

	if (config_init(&defaults, &err) < 0)
		fuzz_fail("config_init failed");
	for (i = 0; i < config_key_count(); i++) {
		if (config_key_name(i) == NULL)
			fuzz_fail("config key has no name");
		config_format_value(loaded, i, small, sizeof(small));
		config_format_value(loaded, i, large, sizeof(large));
		if (memchr(small, '\0', sizeof(small)) == NULL ||
		    memchr(large, '\0', sizeof(large)) == NULL)
			fuzz_fail("formatted value is not terminated");
		config_swap_value(loaded, &defaults, i);
	}
	config_clear(&defaults);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	json_object_seed(1);
	fuzz_config_fd = memfd_create("fuzz_config", MFD_CLOEXEC);
	if (fuzz_config_fd == -1)
		fuzz_fail("memfd_create failed");
	snprintf(fuzz_config_path, sizeof(fuzz_config_path),
	    "/proc/self/fd/%d", fuzz_config_fd);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config config;
	struct error err;

	if (ftruncate(fuzz_config_fd, 0) == -1 ||
	    pwrite(fuzz_config_fd, data, size, 0) != (ssize_t)size)
		fuzz_fail("write the input to the memfd");
	error_clear(&err);
	if (config_init(&config, &err) < 0)
		fuzz_fail("config_init failed");
	if (config_load_file(&config, fuzz_config_path, &err) < 0) {
		if (err.code == NULL || err.message[0] == '\0')
			fuzz_fail("failed load has no error code or message");
	} else {
		fuzz_check_config(&config);
		fuzz_swap_config(&config);
	}
	config_clear(&config);
	return 0;
}
