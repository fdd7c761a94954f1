#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "error.h"
#include "log.h"

enum config_type {
	CONFIG_STRING, CONFIG_INT, CONFIG_SIZE, CONFIG_LONG, CONFIG_LOG_LEVEL
};

/* One key of the config file, its type, range and place in the struct. */
struct config_key {
	const char *name;
	enum config_type type;
	size_t offset;
	long long min;
	long long max;
};

static const struct config_key config_keys[] = {
	{ "socket", CONFIG_STRING, offsetof(struct config, socket_path), 0, 0 },
	{ "state_dir", CONFIG_STRING, offsetof(struct config, state_dir), 0, 0 },
	{ "criu", CONFIG_STRING, offsetof(struct config, criu_path), 0, 0 },
	{ "workers", CONFIG_INT, offsetof(struct config, workers), 1, 64 },
	{ "max_running", CONFIG_INT, offsetof(struct config, max_running), 1,
	  256 },
	{ "max_connections", CONFIG_INT,
	  offsetof(struct config, max_connections), 1, 65536 },
	{ "max_queue", CONFIG_INT, offsetof(struct config, max_queue), 1,
	  100000 },
	{ "restore_timeout", CONFIG_INT,
	  offsetof(struct config, restore_timeout), 1, 86400 },
	{ "max_log_bytes", CONFIG_LONG, offsetof(struct config, max_log_bytes),
	  1 << 20, 1LL << 40 },
	{ "max_history", CONFIG_INT, offsetof(struct config, max_history), 0,
	  1000000 },
	{ "max_request_bytes", CONFIG_SIZE,
	  offsetof(struct config, max_request_bytes), 1024, 64 << 20 },
	{ "log_level", CONFIG_LOG_LEVEL, offsetof(struct config, log_level),
	  0, 0 },
};

#define CONFIG_KEY_COUNT (sizeof(config_keys) / sizeof(*config_keys))

void
config_init(struct config *config)
{
	memset(config, 0, sizeof(*config));
	config->socket_path = strdup(CONFIG_DEFAULT_SOCKET);
	config->state_dir = strdup(CONFIG_DEFAULT_STATE_DIR);
	config->criu_path = strdup(CONFIG_DEFAULT_CRIU);
	config->workers = 2;
	config->max_running = 4;
	config->max_connections = 256;
	config->max_history = 1000;
	config->max_queue = 256;
	config->restore_timeout = 300;
	config->max_log_bytes = 256LL << 20;
	config->max_request_bytes = 1 << 20;
	config->log_level = LOG_LEVEL_INFO;
}

void
config_clear(struct config *config)
{
	free(config->socket_path);
	free(config->state_dir);
	free(config->criu_path);
	memset(config, 0, sizeof(*config));
}

static const struct config_key *
config_find_key(const char *name)
{
	size_t i;

	for (i = 0; i < CONFIG_KEY_COUNT; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

static int
config_store_string(struct config *config, const struct config_key *key,
    const char *value, struct error *err)
{
	char **dest = (char **)((char *)config + key->offset);
	char *copy;

	if (value[0] == '\0')
		return error_set_field(err, "invalid-config", key->name,
		    "'%s' must not be empty", key->name);
	if (key->offset != offsetof(struct config, criu_path) &&
	    value[0] != '/')
		return error_set_field(err, "invalid-config", key->name,
		    "'%s' must be an absolute path, got '%s'", key->name,
		    value);
	copy = strdup(value);
	if (copy == NULL)
		return error_set_errno(err, "internal", "store '%s'",
		    key->name);
	free(*dest);
	*dest = copy;
	return 0;
}

static int
config_store_number(struct config *config, const struct config_key *key,
    long long value, struct error *err)
{
	char *dest = (char *)config + key->offset;

	if (value < key->min || value > key->max)
		return error_set_field(err, "invalid-config", key->name,
		    "'%s' must be between %lld and %lld, got %lld", key->name,
		    key->min, key->max, value);
	if (key->type == CONFIG_SIZE)
		*(size_t *)dest = (size_t)value;
	else if (key->type == CONFIG_LONG)
		*(long long *)dest = value;
	else
		*(int *)dest = (int)value;
	return 0;
}

static int
config_store_log_level(struct config *config, const struct config_key *key,
    const char *value, struct error *err)
{
	int level = log_level_parse(value);

	if (level < 0)
		return error_set_field(err, "invalid-config", key->name,
		    "'%s' must be err, warning, notice, info or debug, got '%s'",
		    key->name, value);
	config->log_level = level;
	return 0;
}

static int
config_store_json(struct config *config, const struct config_key *key,
    const json_t *value, struct error *err)
{
	bool is_number = key->type == CONFIG_INT ||
	    key->type == CONFIG_SIZE || key->type == CONFIG_LONG;

	if (is_number && !json_is_integer(value))
		return error_set_field(err, "invalid-config", key->name,
		    "'%s' must be an integer", key->name);
	if (is_number)
		return config_store_number(config, key,
		    json_integer_value(value), err);
	if (!json_is_string(value))
		return error_set_field(err, "invalid-config", key->name,
		    "'%s' must be a string", key->name);
	if (key->type == CONFIG_LOG_LEVEL)
		return config_store_log_level(config, key,
		    json_string_value(value), err);
	return config_store_string(config, key, json_string_value(value),
	    err);
}

int
config_load_file(struct config *config, const char *path, struct error *err)
{
	const struct config_key *key;
	json_error_t json_err;
	const char *name;
	json_t *root, *value;
	int ret = 0;

	root = json_load_file(path, JSON_REJECT_DUPLICATES, &json_err);
	if (root == NULL && json_err.line < 1)
		return error_set(err, "invalid-config", "read config '%s': %s",
		    path, json_err.text);
	if (root == NULL)
		return error_set(err, "invalid-config",
		    "read config '%s': line %d: %s", path, json_err.line,
		    json_err.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return error_set(err, "invalid-config",
		    "config '%s' must hold a JSON object", path);
	}
	json_object_foreach(root, name, value) {
		key = config_find_key(name);
		if (key == NULL)
			ret = error_set_field(err, "invalid-config", name,
			    "unknown key '%s'", name);
		else
			ret = config_store_json(config, key, value, err);
		if (ret < 0)
			break;
	}
	json_decref(root);
	if (ret < 0)
		return error_prefix(err, "config '%s'", path);
	return 0;
}

int
config_set_string(struct config *config, const char *name, const char *value,
    struct error *err)
{
	const struct config_key *key = config_find_key(name);
	char *end;
	long long number;

	if (key == NULL)
		return error_set(err, "internal", "unknown key '%s'", name);
	if (key->type == CONFIG_STRING)
		return config_store_string(config, key, value, err);
	if (key->type == CONFIG_LOG_LEVEL)
		return config_store_log_level(config, key, value, err);
	errno = 0;
	number = strtoll(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0')
		return error_set_field(err, "invalid-config", key->name,
		    "'%s' must be an integer, got '%s'", key->name, value);
	return config_store_number(config, key, number, err);
}
