#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "error.h"
#include "request.h"

static const char *const request_method_names[] = {
	[REQUEST_RESTORE] = "restore",
	[REQUEST_STATUS] = "status",
	[REQUEST_LIST] = "list",
	[REQUEST_CANCEL] = "cancel",
	[REQUEST_WATCH] = "watch",
	[REQUEST_INFO] = "info",
	[REQUEST_METRICS] = "metrics",
	[REQUEST_CHECKPOINT] = "checkpoint",
};

#define REQUEST_METHOD_COUNT \
	(sizeof(request_method_names) / sizeof(*request_method_names))

/*
 * One accepted member of `params`, with where its value goes.  An integer
 * must lie in [min, max]; an object is a page server (struct page_server).
 */
struct request_param {
	const char *name;
	json_type type;			/* JSON_TRUE stands for any boolean */
	size_t offset;			/* into struct request */
	bool required;
	long long min, max;		/* JSON_INTEGER only */
};

#define PARAM_BOOL(name, member) \
	{ name, JSON_TRUE, offsetof(struct request, member), false, 0, 0 }
#define PARAM_LOG_LEVEL \
	{ "log_level", JSON_INTEGER, \
	  offsetof(struct request, options.log_level), false, 0, 4 }
#define PARAM_PAGE_SERVER \
	{ "page_server", JSON_OBJECT, \
	  offsetof(struct request, options.page_server), false, 0, 0 }
#define PARAM_IMAGES_DIR \
	{ "images_dir", JSON_STRING, offsetof(struct request, images_dir), \
	  true, 0, 0 }

/*
 * Highest pid Linux hands out: PID_MAX_LIMIT, 4194304 on 64-bit kernels
 * (include/linux/threads.h).
 */
#define REQUEST_PID_MAX 4194304

static const struct request_param request_restore_params[] = {
	PARAM_IMAGES_DIR,
	PARAM_BOOL("lazy_pages", options.lazy_pages),
	PARAM_BOOL("tcp_established", options.tcp_established),
	PARAM_BOOL("ext_unix_sk", options.ext_unix_sk),
	PARAM_BOOL("shell_job", options.shell_job),
	PARAM_BOOL("file_locks", options.file_locks),
	PARAM_LOG_LEVEL,
	PARAM_PAGE_SERVER,
	PARAM_BOOL("tls", options.tls),
	PARAM_BOOL("follow", follow),
	{ NULL, 0, 0, false, 0, 0 },
};

static const struct request_param request_checkpoint_params[] = {
	{ "pid", JSON_INTEGER, offsetof(struct request, pid), true, 2,
	  REQUEST_PID_MAX },
	PARAM_IMAGES_DIR,
	PARAM_BOOL("leave_running", options.leave_running),
	PARAM_BOOL("lazy_pages", options.lazy_pages),
	PARAM_BOOL("tcp_established", options.tcp_established),
	PARAM_BOOL("ext_unix_sk", options.ext_unix_sk),
	PARAM_BOOL("shell_job", options.shell_job),
	PARAM_BOOL("file_locks", options.file_locks),
	PARAM_LOG_LEVEL,
	PARAM_PAGE_SERVER,
	PARAM_BOOL("tls", options.tls),
	PARAM_BOOL("follow", follow),
	{ NULL, 0, 0, false, 0, 0 },
};

static const struct request_param request_job_params[] = {
	{ "job", JSON_STRING, offsetof(struct request, job), true, 0, 0 },
	{ NULL, 0, 0, false, 0, 0 },
};

static const struct request_param request_no_params[] = {
	{ NULL, 0, 0, false, 0, 0 },
};

static const struct request_param *const request_method_params[] = {
	[REQUEST_RESTORE] = request_restore_params,
	[REQUEST_STATUS] = request_job_params,
	[REQUEST_LIST] = request_no_params,
	[REQUEST_CANCEL] = request_job_params,
	[REQUEST_WATCH] = request_job_params,
	[REQUEST_INFO] = request_no_params,
	[REQUEST_METRICS] = request_no_params,
	[REQUEST_CHECKPOINT] = request_checkpoint_params,
};

const char *
request_method_name(enum request_method method)
{
	return request_method_names[method];
}

static const char *
request_type_name(json_type type)
{
	switch (type) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "a value";
}

static bool
request_type_matches(json_type expected, const json_t *value)
{
	if (expected == JSON_TRUE)
		return json_is_boolean(value);
	return json_typeof(value) == expected;
}

static int
request_store_string(const struct request_param *param, const json_t *value,
    struct request *req, struct error *err)
{
	char *dest = (char *)req + param->offset;
	size_t size = param->offset == offsetof(struct request, job) ?
	    sizeof(req->job) : sizeof(req->images_dir);
	size_t len = json_string_length(value);
	const char *text = json_string_value(value);

	if (memchr(text, '\0', len) != NULL)
		return error_set_field(err, "invalid-params", param->name,
		    "'%s' contains a NUL character", param->name);
	if (len == 0)
		return error_set_field(err, "invalid-params", param->name,
		    "'%s' is empty", param->name);
	if (len >= size)
		return error_set_field(err, "invalid-params", param->name,
		    "'%s' is longer than %zu bytes", param->name, size - 1);
	memcpy(dest, text, len + 1);
	return 0;
}

/* Check a numeric IPv4 or IPv6 address; host names are not resolved. */
static bool
request_is_numeric_address(const char *text)
{
	unsigned char addr[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, text, addr) == 1 ||
	    inet_pton(AF_INET6, text, addr) == 1;
}

/* Decode {"address": A, "port": P} with nothing else in it. */
static int
request_store_page_server(const json_t *value, struct page_server *server,
    struct error *err)
{
	const json_t *address = json_object_get(value, "address");
	const json_t *port = json_object_get(value, "port");
	const char *text;

	if (json_object_size(value) != 2 || !json_is_string(address) ||
	    !json_is_integer(port))
		return error_set_field(err, "invalid-params", "page_server",
		    "'page_server' must be {\"address\": \"numeric IP address\", \"port\": integer} with nothing else");
	text = json_string_value(address);
	if (json_string_length(address) >= sizeof(server->address) ||
	    strlen(text) != json_string_length(address) ||
	    !request_is_numeric_address(text))
		return error_set_field(err, "invalid-params", "page_server",
		    "'page_server.address' must be a numeric IPv4 or IPv6 address, got '%.64s'",
		    text);
	if (json_integer_value(port) < 1 || json_integer_value(port) > 65535)
		return error_set_field(err, "invalid-params", "page_server",
		    "'page_server.port' must be between 1 and 65535, got %lld",
		    (long long)json_integer_value(port));
	snprintf(server->address, sizeof(server->address), "%s", text);
	server->port = (int)json_integer_value(port);
	return 0;
}

static int
request_store(const struct request_param *param, const json_t *value,
    struct request *req, struct error *err)
{
	char *base = (char *)req;

	if (!request_type_matches(param->type, value))
		return error_set_field(err, "invalid-params", param->name,
		    "'%s' must be %s, got %s", param->name,
		    request_type_name(param->type),
		    request_type_name(json_typeof(value)));
	switch (param->type) {
	case JSON_TRUE:
		*(bool *)(base + param->offset) = json_is_true(value);
		return 0;
	case JSON_INTEGER:
		if (json_integer_value(value) < param->min ||
		    json_integer_value(value) > param->max)
			return error_set_field(err, "invalid-params",
			    param->name, "'%s' must be between %lld and %lld, got %lld",
			    param->name, param->min, param->max,
			    (long long)json_integer_value(value));
		*(int *)(base + param->offset) = (int)json_integer_value(value);
		return 0;
	case JSON_OBJECT:
		return request_store_page_server(value,
		    (struct page_server *)(base + param->offset), err);
	default:
		return request_store_string(param, value, req, err);
	}
}

static const struct request_param *
request_find_param(const struct request_param *params, const char *name)
{
	for (; params->name != NULL; params++)
		if (strcmp(params->name, name) == 0)
			return params;
	return NULL;
}

static int
request_parse_params(const json_t *params, struct request *req,
    struct error *err)
{
	const struct request_param *table = request_method_params[req->method];
	const struct request_param *param;
	const char *name;
	json_t *value;

	json_object_foreach((json_t *)params, name, value) {
		param = request_find_param(table, name);
		if (param == NULL)
			return error_set_field(err, "invalid-params", name,
			    "unknown parameter '%s' for method '%s'", name,
			    request_method_name(req->method));
		if (request_store(param, value, req, err) < 0)
			return -1;
	}
	for (param = table; param->name != NULL; param++)
		if (param->required && json_object_get(params, param->name) ==
		    NULL)
			return error_set_field(err, "invalid-params",
			    param->name, "missing required parameter '%s'",
			    param->name);
	return 0;
}

/* Checks that span parameters, for restore and checkpoint. */
static int
request_check_job(const struct request *req, struct error *err)
{
	const struct job_options *o = &req->options;
	bool has_server = o->page_server.port != 0;

	if (req->images_dir[0] != '/')
		return error_set_field(err, "invalid-params", "images_dir",
		    "'images_dir' must be an absolute path, got '%s'",
		    req->images_dir);
	if (has_server && !o->lazy_pages)
		return error_set_field(err, "invalid-params", "page_server",
		    "'page_server' needs 'lazy_pages': true");
	if (o->tls && !has_server)
		return error_set_field(err, "invalid-params", "tls",
		    "'tls' secures the page-server link and needs 'page_server'");
	if (req->method == REQUEST_CHECKPOINT && o->lazy_pages && !has_server)
		return error_set_field(err, "invalid-params", "page_server",
		    "a checkpoint with 'lazy_pages' serves its memory from a page server and needs 'page_server': {\"address\": ..., \"port\": ...}");
	return 0;
}

static int
request_parse_method(const json_t *method, struct request *req,
    struct error *err)
{
	size_t i;

	if (method == NULL)
		return error_set_field(err, "invalid-request", "method",
		    "missing 'method'");
	if (!json_is_string(method))
		return error_set_field(err, "invalid-request", "method",
		    "'method' must be a string");
	for (i = 0; i < REQUEST_METHOD_COUNT; i++) {
		/* The length check keeps "list\u0000x" from matching "list". */
		if (json_string_length(method) ==
		    strlen(request_method_names[i]) &&
		    strcmp(json_string_value(method),
		    request_method_names[i]) == 0) {
			req->method = (enum request_method)i;
			return 0;
		}
	}
	return error_set_field(err, "method-not-found", "method",
	    "unknown method '%.64s'; expected restore, checkpoint, status, list, cancel, watch, info or metrics",
	    json_string_value(method));
}

static int
request_check_members(const json_t *root, struct error *err)
{
	const char *name;
	json_t *value;

	json_object_foreach((json_t *)root, name, value) {
		if (strcmp(name, "id") != 0 && strcmp(name, "method") != 0 &&
		    strcmp(name, "params") != 0)
			return error_set_field(err, "invalid-request", name,
			    "unknown request member '%.64s'; expected id, method and params",
			    name);
	}
	return 0;
}

static int
request_parse_root(const json_t *root, struct request *req, struct error *err)
{
	const json_t *params;

	if (request_check_members(root, err) < 0)
		return -1;
	if (request_parse_method(json_object_get(root, "method"), req,
	    err) < 0)
		return -1;
	params = json_object_get(root, "params");
	if (params == NULL || json_is_null(params))
		params = json_object();
	else
		json_incref((json_t *)params);
	if (!json_is_object(params)) {
		json_decref((json_t *)params);
		return error_set_field(err, "invalid-request", "params",
		    "'params' must be an object");
	}
	if (request_parse_params(params, req, err) < 0) {
		json_decref((json_t *)params);
		return -1;
	}
	json_decref((json_t *)params);
	if (req->method == REQUEST_RESTORE ||
	    req->method == REQUEST_CHECKPOINT)
		return request_check_job(req, err);
	return 0;
}

int
request_parse(const char *line, size_t len, struct request *req,
    struct error *err)
{
	json_error_t json_err;
	json_t *root;
	int ret;

	memset(req, 0, sizeof(*req));
	req->id = json_null();
	req->options.log_level = JOB_LOG_LEVEL_DEFAULT;

	/*
	 * Accept \u0000 while decoding so a NUL inside a parameter is reported
	 * as invalid-params on that parameter, not as a parse error.
	 */
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
	    &json_err);
	if (root == NULL)
		return error_set(err, "parse-error",
		    "invalid JSON at column %d: %s", json_err.column,
		    json_err.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return error_set(err, "parse-error",
		    "a request must be a JSON object");
	}
	if (json_object_get(root, "id") != NULL) {
		json_decref(req->id);
		req->id = json_incref(json_object_get(root, "id"));
	}
	ret = request_parse_root(root, req, err);
	json_decref(root);
	return ret;
}

void
request_clear(struct request *req)
{
	json_decref(req->id);
	req->id = NULL;
}
