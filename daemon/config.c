#include <sys/un.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "error.h"
#include "log.h"

enum config_type {
	CONFIG_STRING,
	CONFIG_PATH,		/* absolute path */
	CONFIG_INT,
	CONFIG_SIZE,
	CONFIG_LONG,
	CONFIG_LOG_LEVEL,
	CONFIG_LOG_TARGET,
	CONFIG_UIDS,
	CONFIG_GIDS,
	CONFIG_PATHS,
};

/* One key of the config file, its type, range and place in the struct. */
struct config_key {
	const char *name;
	enum config_type type;
	size_t offset;
	long long min;
	long long max;
	bool live;		/* a reload applies it without a restart */
};

#define CONFIG_FIELD(field) offsetof(struct config, field)

static const struct config_key config_keys[] = {
	{ "socket", CONFIG_PATH, CONFIG_FIELD(socket_path), 0, 0, false },
	{ "state_dir", CONFIG_PATH, CONFIG_FIELD(state_dir), 0, 0, false },
	{ "criu", CONFIG_STRING, CONFIG_FIELD(criu_path), 0, 0, false },
	{ "workers", CONFIG_INT, CONFIG_FIELD(workers), 1, 64, true },
	{ "max_running", CONFIG_INT, CONFIG_FIELD(max_running), 1, 256,
	  true },
	{ "max_queue", CONFIG_INT, CONFIG_FIELD(max_queue), 1, 100000,
	  true },
	{ "max_connections", CONFIG_INT, CONFIG_FIELD(max_connections), 1,
	  65536, true },
	{ "max_connections_per_uid", CONFIG_INT,
	  CONFIG_FIELD(max_connections_per_uid), 1, 65536, true },
	{ "idle_timeout", CONFIG_INT, CONFIG_FIELD(idle_timeout), 0, 86400,
	  true },
	{ "max_history", CONFIG_INT, CONFIG_FIELD(max_history), 0, 1000000,
	  true },
	{ "max_request_bytes", CONFIG_SIZE, CONFIG_FIELD(max_request_bytes),
	  1024, 64 << 20, true },
	{ "queue_timeout", CONFIG_INT, CONFIG_FIELD(queue_timeout), 0,
	  86400 * 7, true },
	{ "lazy_pages_timeout", CONFIG_INT, CONFIG_FIELD(lazy_pages_timeout),
	  1, 3600, true },
	{ "pages_timeout", CONFIG_INT, CONFIG_FIELD(pages_timeout), 0,
	  86400 * 7, true },
	{ "restore_timeout", CONFIG_INT, CONFIG_FIELD(restore_timeout), 1,
	  86400, true },
	{ "max_log_bytes", CONFIG_LONG, CONFIG_FIELD(max_log_bytes), 1 << 20,
	  1LL << 40, true },
	{ "stop_timeout", CONFIG_INT, CONFIG_FIELD(stop_timeout), 0, 3600,
	  true },
	{ "log_level", CONFIG_LOG_LEVEL, CONFIG_FIELD(log_level), 0, 0, true },
	{ "log_target", CONFIG_LOG_TARGET, CONFIG_FIELD(log_target), 0, 0,
	  true },
	{ "allowed_uids", CONFIG_UIDS, CONFIG_FIELD(allowed_uids), 0, 0,
	  true },
	{ "allowed_gids", CONFIG_GIDS, CONFIG_FIELD(allowed_gids), 0, 0,
	  true },
	{ "allowed_image_roots", CONFIG_PATHS,
	  CONFIG_FIELD(allowed_image_roots), 0, 0, true },
	{ "tls_cacert", CONFIG_PATH, CONFIG_FIELD(tls_cacert), 0, 0, false },
	{ "tls_cert", CONFIG_PATH, CONFIG_FIELD(tls_cert), 0, 0, false },
	{ "tls_key", CONFIG_PATH, CONFIG_FIELD(tls_key), 0, 0, false },
};

#define CONFIG_KEY_COUNT (sizeof(config_keys) / sizeof(*config_keys))

/* Keep id lists small enough to scan on every request. */
#define CONFIG_MAX_LIST 256

static void
config_clear_ids(struct config_ids *ids)
{
	free(ids->ids);
	ids->ids = NULL;
	ids->count = 0;
}

static void
config_clear_paths(struct config_paths *paths)
{
	size_t i;

	for (i = 0; i < paths->count; i++)
		free(paths->paths[i]);
	free(paths->paths);
	paths->paths = NULL;
	paths->count = 0;
}

int
config_init(struct config *config, struct error *err)
{
	memset(config, 0, sizeof(*config));
	config->socket_path = strdup(CONFIG_DEFAULT_SOCKET);
	config->state_dir = strdup(CONFIG_DEFAULT_STATE_DIR);
	config->criu_path = strdup(CONFIG_DEFAULT_CRIU);
	config->workers = 2;
	config->max_running = 4;
	config->max_connections = 256;
	config->max_connections_per_uid = 64;
	config->idle_timeout = 300;
	config->max_history = 1000;
	config->max_queue = 256;
	config->queue_timeout = 3600;
	config->lazy_pages_timeout = 60;
	config->restore_timeout = 300;
	config->pages_timeout = 3600;
	config->stop_timeout = 30;
	config->max_log_bytes = 256LL << 20;
	config->max_request_bytes = 1 << 20;
	config->log_level = LOG_LEVEL_INFO;
	config->log_target = LOG_TARGET_AUTO;
	config->allowed_image_roots.paths = calloc(1, sizeof(char *));
	if (config->allowed_image_roots.paths != NULL) {
		config->allowed_image_roots.paths[0] = strdup("/");
		config->allowed_image_roots.count = 1;
	}
	if (config->socket_path == NULL || config->state_dir == NULL ||
	    config->criu_path == NULL ||
	    config->allowed_image_roots.paths == NULL ||
	    config->allowed_image_roots.paths[0] == NULL) {
		config_clear(config);
		return error_set_errno(err, "internal",
		    "allocate the default config");
	}
	return 0;
}

void
config_clear(struct config *config)
{
	free(config->socket_path);
	free(config->state_dir);
	free(config->criu_path);
	free(config->tls_cacert);
	free(config->tls_cert);
	free(config->tls_key);
	config_clear_ids(&config->allowed_uids);
	config_clear_ids(&config->allowed_gids);
	config_clear_paths(&config->allowed_image_roots);
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

static void *
config_field(const struct config *config, const struct config_key *key)
{
	return (char *)config + key->offset;
}

static int
config_store_string(struct config *config, const struct config_key *key,
    const char *value, struct error *err)
{
	char **dest = config_field(config, key);
	char *copy;

	if (value[0] == '\0')
		return error_set_field(err, "invalid-config", key->name,
		    "'%s' must not be empty", key->name);
	if (key->type == CONFIG_PATH && value[0] != '/')
		return error_set_field(err, "invalid-config", key->name,
		    "'%s' must be an absolute path, got '%s'", key->name,
		    value);
	/* A Unix socket address has room for 107 bytes and a NUL. */
	if (key->offset == CONFIG_FIELD(socket_path) &&
	    strlen(value) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
		return error_set_field(err, "invalid-config", key->name,
		    "'%s' is %zu bytes long, over the %zu bytes a Unix socket path may have; choose a shorter path",
		    key->name, strlen(value),
		    sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1);
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
	void *dest = config_field(config, key);

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
config_store_name(struct config *config, const struct config_key *key,
    const char *value, struct error *err)
{
	int parsed;

	if (key->type == CONFIG_LOG_LEVEL) {
		parsed = log_level_parse(value);
		if (parsed < 0)
			return error_set_field(err, "invalid-config",
			    key->name,
			    "'%s' must be err, warning, notice, info or debug, got '%s'",
			    key->name, value);
		config->log_level = parsed;
		return 0;
	}
	parsed = log_target_parse(value);
	if (parsed < 0)
		return error_set_field(err, "invalid-config", key->name,
		    "'%s' must be auto, journal or stderr, got '%s'",
		    key->name, value);
	config->log_target = parsed;
	return 0;
}

/* Resolve one uid or gid given as a number or a user or group name. */
static int
config_parse_id(const struct config_key *key, const json_t *value,
    unsigned int *ret_id, struct error *err)
{
	const struct passwd *pw;
	const struct group *gr;
	json_int_t number;
	const char *name;

	if (json_is_integer(value)) {
		number = json_integer_value(value);
		if (number < 0 || number >= (json_int_t)UINT_MAX)
			return error_set_field(err, "invalid-config",
			    key->name, "'%s' holds %lld, which is not a valid id",
			    key->name, (long long)number);
		*ret_id = (unsigned int)number;
		return 0;
	}
	if (!json_is_string(value))
		return error_set_field(err, "invalid-config", key->name,
		    "'%s' must hold ids or names", key->name);
	name = json_string_value(value);
	if (key->type == CONFIG_UIDS) {
		pw = getpwnam(name);
		if (pw == NULL)
			return error_set_field(err, "invalid-config",
			    key->name, "'%s': no user '%s' on this host; give a numeric uid or create the user",
			    key->name, name);
		*ret_id = pw->pw_uid;
		return 0;
	}
	gr = getgrnam(name);
	if (gr == NULL)
		return error_set_field(err, "invalid-config", key->name,
		    "'%s': no group '%s' on this host; give a numeric gid or create the group",
		    key->name, name);
	*ret_id = gr->gr_gid;
	return 0;
}

static int
config_check_list(const struct config_key *key, const json_t *value,
    struct error *err)
{
	if (!json_is_array(value))
		return error_set_field(err, "invalid-config", key->name,
		    "'%s' must be an array", key->name);
	if (json_array_size(value) > CONFIG_MAX_LIST)
		return error_set_field(err, "invalid-config", key->name,
		    "'%s' holds %zu entries, more than the maximum of %d",
		    key->name, json_array_size(value), CONFIG_MAX_LIST);
	return 0;
}

static int
config_store_ids(struct config *config, const struct config_key *key,
    const json_t *value, struct error *err)
{
	struct config_ids *dest = config_field(config, key);
	struct config_ids ids = { 0 };
	size_t i;

	if (config_check_list(key, value, err) < 0)
		return -1;
	ids.ids = calloc(json_array_size(value) + 1, sizeof(*ids.ids));
	if (ids.ids == NULL)
		return error_set_errno(err, "internal", "store '%s'",
		    key->name);
	for (i = 0; i < json_array_size(value); i++) {
		if (config_parse_id(key, json_array_get(value, i),
		    &ids.ids[ids.count], err) < 0) {
			config_clear_ids(&ids);
			return -1;
		}
		ids.count++;
	}
	config_clear_ids(dest);
	*dest = ids;
	return 0;
}

/* Return whether `path` has the component `name` ("." or ".."). */
static bool
config_has_component(const char *path, const char *name)
{
	size_t len = strlen(name);
	const char *p;

	for (p = strchr(path, '/'); p != NULL; p = strchr(p + 1, '/'))
		if (strncmp(p + 1, name, len) == 0 &&
		    (p[1 + len] == '/' || p[1 + len] == '\0'))
			return true;
	return false;
}

/*
 * Copy an absolute path without trailing slashes, or set `err`.  A root
 * that exists is stored with its symbolic links resolved, because clients
 * such as ctrd-cli send resolved images paths, which would never match a
 * root spelled through a link.
 */
static char *
config_copy_root(const struct config_key *key, const json_t *value,
    struct error *err)
{
	const char *path = json_string_value(value);
	char resolved[PATH_MAX];
	size_t len;
	char *copy;

	if (path == NULL || path[0] != '/')
		return error_set_field(err, "invalid-config", key->name,
		    "'%s' must hold absolute paths", key->name), NULL;
	if (config_has_component(path, "..") || config_has_component(path, "."))
		return error_set_field(err, "invalid-config", key->name,
		    "'%s': '%s' contains '.' or '..'; write the path without it",
		    key->name, path), NULL;
	copy = strdup(realpath(path, resolved) != NULL ? resolved : path);
	if (copy == NULL)
		return error_set_errno(err, "internal", "store '%s'",
		    key->name), NULL;
	len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	return copy;
}

static int
config_store_paths(struct config *config, const struct config_key *key,
    const json_t *value, struct error *err)
{
	struct config_paths *dest = config_field(config, key);
	struct config_paths paths = { 0 };
	size_t i;

	if (config_check_list(key, value, err) < 0)
		return -1;
	if (json_array_size(value) == 0)
		return error_set_field(err, "invalid-config", key->name,
		    "'%s' must name at least one directory; [\"/\"] allows every path",
		    key->name);
	paths.paths = calloc(json_array_size(value) + 1, sizeof(char *));
	if (paths.paths == NULL)
		return error_set_errno(err, "internal", "store '%s'",
		    key->name);
	for (i = 0; i < json_array_size(value); i++) {
		paths.paths[i] = config_copy_root(key,
		    json_array_get(value, i), err);
		if (paths.paths[i] == NULL) {
			config_clear_paths(&paths);
			return -1;
		}
		paths.count++;
	}
	config_clear_paths(dest);
	*dest = paths;
	return 0;
}

static int
config_store_json(struct config *config, const struct config_key *key,
    const json_t *value, struct error *err)
{
	switch (key->type) {
	case CONFIG_INT:
	case CONFIG_SIZE:
	case CONFIG_LONG:
		if (!json_is_integer(value))
			return error_set_field(err, "invalid-config",
			    key->name, "'%s' must be an integer", key->name);
		return config_store_number(config, key,
		    json_integer_value(value), err);
	case CONFIG_UIDS:
	case CONFIG_GIDS:
		return config_store_ids(config, key, value, err);
	case CONFIG_PATHS:
		return config_store_paths(config, key, value, err);
	default:
		break;
	}
	if (!json_is_string(value))
		return error_set_field(err, "invalid-config", key->name,
		    "'%s' must be a string", key->name);
	if (key->type == CONFIG_LOG_LEVEL || key->type == CONFIG_LOG_TARGET)
		return config_store_name(config, key,
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
	switch (key->type) {
	case CONFIG_STRING:
	case CONFIG_PATH:
		return config_store_string(config, key, value, err);
	case CONFIG_LOG_LEVEL:
	case CONFIG_LOG_TARGET:
		return config_store_name(config, key, value, err);
	case CONFIG_INT:
	case CONFIG_SIZE:
	case CONFIG_LONG:
		break;
	default:
		return error_set(err, "internal",
		    "'%s' cannot be set from a string", name);
	}
	errno = 0;
	number = strtoll(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0')
		return error_set_field(err, "invalid-config", key->name,
		    "'%s' must be an integer, got '%s'", key->name, value);
	return config_store_number(config, key, number, err);
}

size_t
config_key_count(void)
{
	return CONFIG_KEY_COUNT;
}

const char *
config_key_name(size_t index)
{
	return config_keys[index].name;
}

bool
config_key_is_live(size_t index)
{
	return config_keys[index].live;
}

static void
config_format_list(const struct config_key *key, const void *field,
    char *buf, size_t size)
{
	const struct config_ids *ids = field;
	const struct config_paths *paths = field;
	size_t count, i, len = 0;

	count = key->type == CONFIG_PATHS ? paths->count : ids->count;
	len += (size_t)snprintf(buf, size, "[");
	for (i = 0; i < count && len < size; i++) {
		if (key->type == CONFIG_PATHS)
			len += (size_t)snprintf(buf + len, size - len,
			    "%s\"%s\"", i > 0 ? ", " : "", paths->paths[i]);
		else
			len += (size_t)snprintf(buf + len, size - len, "%s%u",
			    i > 0 ? ", " : "", ids->ids[i]);
	}
	if (len < size)
		snprintf(buf + len, size - len, "]");
}

void
config_format_value(const struct config *config, size_t index, char *buf,
    size_t size)
{
	const struct config_key *key = &config_keys[index];
	const void *field = config_field(config, key);

	switch (key->type) {
	case CONFIG_STRING:
	case CONFIG_PATH:
		/* The TLS paths have no default. */
		if (*(char *const *)field == NULL)
			snprintf(buf, size, "null");
		else
			snprintf(buf, size, "\"%s\"", *(char *const *)field);
		break;
	case CONFIG_INT:
		snprintf(buf, size, "%d", *(const int *)field);
		break;
	case CONFIG_SIZE:
		snprintf(buf, size, "%zu", *(const size_t *)field);
		break;
	case CONFIG_LONG:
		snprintf(buf, size, "%lld", *(const long long *)field);
		break;
	case CONFIG_LOG_LEVEL:
		snprintf(buf, size, "\"%s\"", log_level_name(config->log_level));
		break;
	case CONFIG_LOG_TARGET:
		snprintf(buf, size, "\"%s\"",
		    log_target_name(config->log_target));
		break;
	default:
		config_format_list(key, field, buf, size);
		break;
	}
}

void
config_swap_value(struct config *a, struct config *b, size_t index)
{
	const struct config_key *key = &config_keys[index];
	char *field_a = config_field(a, key);
	char *field_b = config_field(b, key);
	char tmp[sizeof(struct config_paths)];
	size_t size;

	switch (key->type) {
	case CONFIG_STRING:
	case CONFIG_PATH:
		size = sizeof(char *);
		break;
	case CONFIG_SIZE:
		size = sizeof(size_t);
		break;
	case CONFIG_LONG:
		size = sizeof(long long);
		break;
	case CONFIG_UIDS:
	case CONFIG_GIDS:
		size = sizeof(struct config_ids);
		break;
	case CONFIG_PATHS:
		size = sizeof(struct config_paths);
		break;
	default:
		size = sizeof(int);
		break;
	}
	memcpy(tmp, field_a, size);
	memcpy(field_a, field_b, size);
	memcpy(field_b, tmp, size);
}
