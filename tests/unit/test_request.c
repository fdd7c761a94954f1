/* Unit tests for request_parse(): tables of valid and invalid request lines. */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "error.h"
#include "request.h"
#include "unit.h"

/* A line that parses, and the request it must produce. */
struct good_case {
	const char *name;
	const char *line;
	enum request_method method;
	const char *id;				/* compact JSON */
	const char *images_dir;			/* "" unless restore */
	const char *job;			/* "" unless a job method */
	const struct job_options *options;	/* NULL: defaults */
	bool follow;
	int pid;				/* 0 unless checkpoint */
};

/* A line that fails, the error it must produce and the id to echo. */
struct bad_case {
	const char *name;
	const char *line;
	const char *code;
	const char *field;			/* NULL: no member at fault */
	const char *id;				/* compact JSON */
};

/* The restore defaults in proto/API.md, every flag false and log_level 4. */
static const struct job_options default_options = {
	.log_level = 4,
};

static const struct job_options every_option = {
	.lazy_pages = true,
	.tcp_established = true,
	.ext_unix_sk = true,
	.shell_job = true,
	.file_locks = true,
	.log_level = 0,
};

static const struct job_options level_two = {
	.log_level = 2,
};

static const struct job_options remote_lazy = {
	.lazy_pages = true,
	.tls = true,
	.page_server = { "10.213.0.1", 27000 },
	.log_level = 4,
};

static const struct job_options lazy_checkpoint = {
	.lazy_pages = true,
	.leave_running = true,
	.page_server = { "fd00::1", 1 },
	.log_level = 4,
};

static const struct good_case good_cases[] = {
	{
		"restore defaults",
		"{\"id\":7,\"method\":\"restore\","
		"\"params\":{\"images_dir\":\"/var/lib/ckpt/app\"}}",
		REQUEST_RESTORE, "7", "/var/lib/ckpt/app", "", NULL, false, 0,
	},
	{
		"restore every option",
		"{\"id\":\"r-1\",\"method\":\"restore\",\"params\":{"
		"\"images_dir\":\"/ckpt\",\"lazy_pages\":true,"
		"\"tcp_established\":true,\"ext_unix_sk\":true,"
		"\"shell_job\":true,\"file_locks\":true,\"log_level\":0,"
		"\"follow\":true}}",
		REQUEST_RESTORE, "\"r-1\"", "/ckpt", "", &every_option, true, 0,
	},
	{
		"restore explicit false",
		"{\"method\":\"restore\",\"params\":{\"images_dir\":\"/ckpt\","
		"\"lazy_pages\":false,\"tcp_established\":false,"
		"\"ext_unix_sk\":false,\"shell_job\":false,"
		"\"file_locks\":false,\"log_level\":2,\"follow\":false}}",
		REQUEST_RESTORE, "null", "/ckpt", "", &level_two, false, 0,
	},
	{
		"restore spaced and reordered",
		" { \"params\" : { \"log_level\" : 2 , \"images_dir\" : "
		"\"/ckpt\" } , \"method\" : \"restore\" , \"id\" : 0 } ",
		REQUEST_RESTORE, "0", "/ckpt", "", &level_two, false, 0,
	},
	{
		"restore from a page server over TLS",
		"{\"method\":\"restore\",\"params\":{\"images_dir\":\"/ckpt\","
		"\"lazy_pages\":true,\"tls\":true,\"page_server\":"
		"{\"address\":\"10.213.0.1\",\"port\":27000}}}",
		REQUEST_RESTORE, "null", "/ckpt", "", &remote_lazy, false, 0,
	},
	{
		"checkpoint defaults",
		"{\"id\":3,\"method\":\"checkpoint\","
		"\"params\":{\"pid\":4242,\"images_dir\":\"/ckpt\"}}",
		REQUEST_CHECKPOINT, "3", "/ckpt", "", NULL, false, 4242,
	},
	{
		"checkpoint lazy on IPv6, left running",
		"{\"method\":\"checkpoint\",\"params\":{\"pid\":2,"
		"\"images_dir\":\"/ckpt\",\"lazy_pages\":true,"
		"\"leave_running\":true,\"follow\":true,\"page_server\":"
		"{\"port\":1,\"address\":\"fd00::1\"}}}",
		REQUEST_CHECKPOINT, "null", "/ckpt", "", &lazy_checkpoint, true,
		2,
	},
	{
		"status null id",
		"{\"id\":null,\"method\":\"status\","
		"\"params\":{\"job\":\"a3f09c2e51b7d604\"}}",
		REQUEST_STATUS, "null", "", "a3f09c2e51b7d604", NULL, false, 0,
	},
	{
		"cancel without id",
		"{\"method\":\"cancel\","
		"\"params\":{\"job\":\"a3f09c2e51b7d604\"}}",
		REQUEST_CANCEL, "null", "", "a3f09c2e51b7d604", NULL, false, 0,
	},
	{
		"watch object id",
		"{\"id\":{\"seq\":3,\"tag\":\"w\"},\"method\":\"watch\","
		"\"params\":{\"job\":\"0000000000000001\"}}",
		REQUEST_WATCH, "{\"seq\":3,\"tag\":\"w\"}", "",
		"0000000000000001", NULL, false, 0,
	},
	{
		"list without params",
		"{\"id\":1,\"method\":\"list\"}",
		REQUEST_LIST, "1", "", "", NULL, false, 0,
	},
	{
		"list null params",
		"{\"method\":\"list\",\"params\":null}",
		REQUEST_LIST, "null", "", "", NULL, false, 0,
	},
	{
		"info empty params",
		"{\"id\":[1,2],\"method\":\"info\",\"params\":{}}",
		REQUEST_INFO, "[1,2]", "", "", NULL, false, 0,
	},
	{
		"info id with NUL",
		"{\"id\":\"a\\u0000b\",\"method\":\"info\"}",
		REQUEST_INFO, "\"a\\u0000b\"", "", "", NULL, false, 0,
	},
};

static const struct bad_case bad_cases[] = {
	/* Not JSON, or not a single JSON object. */
	{ "truncated JSON", "{\"method\":", "parse-error", NULL, "null" },
	{ "empty line", "", "parse-error", NULL, "null" },
	{ "trailing data", "{\"id\":1,\"method\":\"list\"} x",
	  "parse-error", NULL, "null" },
	{ "array root", "[{\"method\":\"list\"}]", "parse-error", NULL,
	  "null" },
	{ "string root", "\"list\"", "parse-error", NULL, "null" },
	{ "number root", "42", "parse-error", NULL, "null" },
	{ "duplicate method",
	  "{\"id\":1,\"method\":\"list\",\"method\":\"info\"}",
	  "parse-error", NULL, "null" },
	{ "duplicate param", "{\"id\":1,\"method\":\"restore\",\"params\":"
	  "{\"images_dir\":\"/a\",\"images_dir\":\"/b\"}}",
	  "parse-error", NULL, "null" },

	/* Well-formed JSON that is not a request. */
	{ "missing method", "{\"id\":3}", "invalid-request", "method", "3" },
	{ "method not string", "{\"id\":3,\"method\":5}",
	  "invalid-request", "method", "3" },
	{ "method null", "{\"id\":3,\"method\":null}",
	  "invalid-request", "method", "3" },
	{ "unknown member", "{\"id\":3,\"method\":\"list\",\"extra\":1}",
	  "invalid-request", "extra", "3" },
	{ "params array", "{\"id\":4,\"method\":\"list\",\"params\":[]}",
	  "invalid-request", "params", "4" },
	{ "params string", "{\"id\":4,\"method\":\"status\",\"params\":\"x\"}",
	  "invalid-request", "params", "4" },

	/* Methods. */
	{ "unknown method", "{\"id\":\"x\",\"method\":\"dump\"}",
	  "method-not-found", "method", "\"x\"" },
	{ "method wrong case", "{\"id\":\"x\",\"method\":\"RESTORE\"}",
	  "method-not-found", "method", "\"x\"" },
	{ "method empty", "{\"id\":\"x\",\"method\":\"\"}",
	  "method-not-found", "method", "\"x\"" },
	{ "method with NUL", "{\"id\":\"x\",\"method\":\"list\\u0000x\"}",
	  "method-not-found", "method", "\"x\"" },

	/* restore parameters. */
	{ "restore unknown param", "{\"id\":5,\"method\":\"restore\","
	  "\"params\":{\"images_dir\":\"/a\",\"lazy\":true}}",
	  "invalid-params", "lazy", "5" },
	{ "restore missing images_dir", "{\"id\":5,\"method\":\"restore\"}",
	  "invalid-params", "images_dir", "5" },
	{ "restore relative images_dir", "{\"id\":5,\"method\":\"restore\","
	  "\"params\":{\"images_dir\":\"ckpt\"}}",
	  "invalid-params", "images_dir", "5" },
	{ "restore empty images_dir", "{\"id\":5,\"method\":\"restore\","
	  "\"params\":{\"images_dir\":\"\"}}",
	  "invalid-params", "images_dir", "5" },
	{ "restore images_dir number", "{\"id\":5,\"method\":\"restore\","
	  "\"params\":{\"images_dir\":7}}",
	  "invalid-params", "images_dir", "5" },
	{ "restore images_dir with NUL", "{\"id\":5,\"method\":\"restore\","
	  "\"params\":{\"images_dir\":\"/ckpt\\u0000/etc\"}}",
	  "invalid-params", "images_dir", "5" },
	{ "restore lazy_pages string", "{\"id\":5,\"method\":\"restore\","
	  "\"params\":{\"images_dir\":\"/a\",\"lazy_pages\":\"yes\"}}",
	  "invalid-params", "lazy_pages", "5" },
	{ "restore lazy_pages integer", "{\"id\":5,\"method\":\"restore\","
	  "\"params\":{\"images_dir\":\"/a\",\"lazy_pages\":1}}",
	  "invalid-params", "lazy_pages", "5" },
	{ "restore follow null", "{\"id\":5,\"method\":\"restore\","
	  "\"params\":{\"images_dir\":\"/a\",\"follow\":null}}",
	  "invalid-params", "follow", "5" },
	{ "restore log_level 5", "{\"id\":5,\"method\":\"restore\","
	  "\"params\":{\"images_dir\":\"/a\",\"log_level\":5}}",
	  "invalid-params", "log_level", "5" },
	{ "restore log_level -1", "{\"id\":5,\"method\":\"restore\","
	  "\"params\":{\"images_dir\":\"/a\",\"log_level\":-1}}",
	  "invalid-params", "log_level", "5" },
	{ "restore log_level 2^32+4", "{\"id\":5,\"method\":\"restore\","
	  "\"params\":{\"images_dir\":\"/a\",\"log_level\":4294967300}}",
	  "invalid-params", "log_level", "5" },
	{ "restore log_level real", "{\"id\":5,\"method\":\"restore\","
	  "\"params\":{\"images_dir\":\"/a\",\"log_level\":2.0}}",
	  "invalid-params", "log_level", "5" },
	{ "restore log_level string", "{\"id\":5,\"method\":\"restore\","
	  "\"params\":{\"images_dir\":\"/a\",\"log_level\":\"4\"}}",
	  "invalid-params", "log_level", "5" },

	/* Parameters of the job methods and of the methods that take none. */
	{ "status missing job", "{\"id\":6,\"method\":\"status\"}",
	  "invalid-params", "job", "6" },
	{ "status empty params", "{\"id\":6,\"method\":\"status\","
	  "\"params\":{}}", "invalid-params", "job", "6" },
	{ "status job number", "{\"id\":6,\"method\":\"status\","
	  "\"params\":{\"job\":7}}", "invalid-params", "job", "6" },
	{ "cancel empty job", "{\"id\":6,\"method\":\"cancel\","
	  "\"params\":{\"job\":\"\"}}", "invalid-params", "job", "6" },
	{ "cancel job too long", "{\"id\":6,\"method\":\"cancel\","
	  "\"params\":{\"job\":\"a3f09c2e51b7d6040\"}}",
	  "invalid-params", "job", "6" },
	{ "watch job with NUL", "{\"id\":6,\"method\":\"watch\","
	  "\"params\":{\"job\":\"a3f0\\u00009c2e\"}}",
	  "invalid-params", "job", "6" },
	{ "watch restore param", "{\"id\":6,\"method\":\"watch\","
	  "\"params\":{\"job\":\"a3f09c2e51b7d604\",\"follow\":true}}",
	  "invalid-params", "follow", "6" },
	{ "list with job", "{\"id\":6,\"method\":\"list\","
	  "\"params\":{\"job\":\"a3f09c2e51b7d604\"}}",
	  "invalid-params", "job", "6" },
	{ "info with param", "{\"id\":6,\"method\":\"info\","
	  "\"params\":{\"verbose\":true}}",
	  "invalid-params", "verbose", "6" },

	/* checkpoint, and page servers on both job types. */
	{ "checkpoint without pid", "{\"id\":8,\"method\":\"checkpoint\","
	  "\"params\":{\"images_dir\":\"/a\"}}", "invalid-params", "pid",
	  "8" },
	{ "checkpoint pid 1", "{\"id\":8,\"method\":\"checkpoint\","
	  "\"params\":{\"pid\":1,\"images_dir\":\"/a\"}}",
	  "invalid-params", "pid", "8" },
	{ "checkpoint pid -1", "{\"id\":8,\"method\":\"checkpoint\","
	  "\"params\":{\"pid\":-1,\"images_dir\":\"/a\"}}",
	  "invalid-params", "pid", "8" },
	{ "checkpoint pid past pid_max", "{\"id\":8,\"method\":"
	  "\"checkpoint\",\"params\":{\"pid\":4194305,"
	  "\"images_dir\":\"/a\"}}", "invalid-params", "pid", "8" },
	{ "checkpoint relative dir", "{\"id\":8,\"method\":\"checkpoint\","
	  "\"params\":{\"pid\":9,\"images_dir\":\"a\"}}",
	  "invalid-params", "images_dir", "8" },
	{ "checkpoint lazy without page server", "{\"id\":8,\"method\":"
	  "\"checkpoint\",\"params\":{\"pid\":9,\"images_dir\":\"/a\","
	  "\"lazy_pages\":true}}", "invalid-params", "page_server", "8" },
	{ "checkpoint page server without lazy", "{\"id\":8,\"method\":"
	  "\"checkpoint\",\"params\":{\"pid\":9,\"images_dir\":\"/a\","
	  "\"page_server\":{\"address\":\"10.0.0.1\",\"port\":5}}}",
	  "invalid-params", "page_server", "8" },
	{ "restore leave_running", "{\"id\":8,\"method\":\"restore\","
	  "\"params\":{\"images_dir\":\"/a\",\"leave_running\":true}}",
	  "invalid-params", "leave_running", "8" },
	{ "restore tls without page server", "{\"id\":8,\"method\":"
	  "\"restore\",\"params\":{\"images_dir\":\"/a\","
	  "\"lazy_pages\":true,\"tls\":true}}", "invalid-params", "tls",
	  "8" },
	{ "page server host name", "{\"id\":8,\"method\":\"restore\","
	  "\"params\":{\"images_dir\":\"/a\",\"lazy_pages\":true,"
	  "\"page_server\":{\"address\":\"example.org\",\"port\":5}}}",
	  "invalid-params", "page_server", "8" },
	{ "page server address with newline", "{\"id\":8,\"method\":"
	  "\"restore\",\"params\":{\"images_dir\":\"/a\","
	  "\"lazy_pages\":true,\"page_server\":{\"address\":"
	  "\"10.0.0.1\\nlog-file /x\",\"port\":5}}}", "invalid-params",
	  "page_server", "8" },
	{ "page server address with NUL", "{\"id\":8,\"method\":"
	  "\"restore\",\"params\":{\"images_dir\":\"/a\","
	  "\"lazy_pages\":true,\"page_server\":{\"address\":"
	  "\"10.0.0.1\\u0000x\",\"port\":5}}}", "invalid-params",
	  "page_server", "8" },
	{ "page server port 0", "{\"id\":8,\"method\":\"restore\","
	  "\"params\":{\"images_dir\":\"/a\",\"lazy_pages\":true,"
	  "\"page_server\":{\"address\":\"10.0.0.1\",\"port\":0}}}",
	  "invalid-params", "page_server", "8" },
	{ "page server port 65536", "{\"id\":8,\"method\":\"restore\","
	  "\"params\":{\"images_dir\":\"/a\",\"lazy_pages\":true,"
	  "\"page_server\":{\"address\":\"10.0.0.1\",\"port\":65536}}}",
	  "invalid-params", "page_server", "8" },
	{ "page server extra member", "{\"id\":8,\"method\":\"restore\","
	  "\"params\":{\"images_dir\":\"/a\",\"lazy_pages\":true,"
	  "\"page_server\":{\"address\":\"10.0.0.1\",\"port\":5,"
	  "\"tls\":true}}}", "invalid-params", "page_server", "8" },
	{ "page server not an object", "{\"id\":8,\"method\":\"restore\","
	  "\"params\":{\"images_dir\":\"/a\",\"lazy_pages\":true,"
	  "\"page_server\":\"10.0.0.1:5\"}}", "invalid-params",
	  "page_server", "8" },
};

/* Encode `id` as compact JSON.  The caller frees the string. */
static char *
dump_id(const json_t *id)
{
	char *text;

	assert_non_null(id);
	text = json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY);
	assert_non_null(text);
	return text;
}

static void
assert_id(const json_t *id, const char *expected)
{
	char *text = dump_id(id);

	assert_string_equal(text, expected);
	free(text);
}

static void
assert_options(const struct job_options *actual,
    const struct job_options *expected)
{
	assert_int_equal(actual->lazy_pages, expected->lazy_pages);
	assert_int_equal(actual->tcp_established, expected->tcp_established);
	assert_int_equal(actual->ext_unix_sk, expected->ext_unix_sk);
	assert_int_equal(actual->shell_job, expected->shell_job);
	assert_int_equal(actual->file_locks, expected->file_locks);
	assert_int_equal(actual->leave_running, expected->leave_running);
	assert_int_equal(actual->tls, expected->tls);
	assert_string_equal(actual->page_server.address,
	    expected->page_server.address);
	assert_int_equal(actual->page_server.port,
	    expected->page_server.port);
	assert_int_equal(actual->log_level, expected->log_level);
}

static void
test_good_line(void **state)
{
	const struct good_case *c = *state;
	struct request req;
	struct error err;

	error_clear(&err);
	assert_int_equal(request_parse(c->line, strlen(c->line), &req, &err),
	    0);
	assert_null(err.code);
	assert_int_equal(req.method, c->method);
	assert_id(req.id, c->id);
	assert_string_equal(req.images_dir, c->images_dir);
	assert_string_equal(req.job, c->job);
	assert_options(&req.options,
	    c->options != NULL ? c->options : &default_options);
	assert_int_equal(req.follow, c->follow);
	assert_int_equal(req.pid, c->pid);
	request_clear(&req);
}

static void
test_bad_line(void **state)
{
	const struct bad_case *c = *state;
	struct request req;
	struct error err;

	error_clear(&err);
	assert_int_equal(request_parse(c->line, strlen(c->line), &req, &err),
	    -1);
	assert_string_or_null(err.code, c->code);
	assert_string_or_null(err.field, c->field);
	assert_true(err.message[0] != '\0');
	assert_json_string(err.message);
	assert_id(req.id, c->id);
	request_clear(&req);
}

/*
 * A line whose error quotes a string that a fixed size cuts: `head`, then
 * `count` copies of the multi-byte character `unit`, then `tail`.
 */
struct utf8_case {
	const char *name;
	const char *head;
	const char *unit;
	size_t count;
	const char *tail;
	const char *code;
	const char *field;
};

static const struct utf8_case utf8_cases[] = {
	/* jansson's context ends after the first byte of U+07A2. */
	{ "parse error inside a character", "{\"metho\\", "\xde\x92", 1,
	  "bc\"}", "parse-error", NULL },
	/* "%.64s" ends after the first byte of the 32nd U+00E9. */
	{ "method cut inside a character", "{\"method\":\"x", "\xc3\xa9", 40,
	  "\"}", "method-not-found", "method" },
	/* The 63 bytes of the field end in 2 of the 4 bytes of U+1F600. */
	{ "member cut inside a character", "{\"method\":\"list\",\"x",
	  "\xf0\x9f\x98\x80", 20, "\":1}", "invalid-request",
	  "x\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
	  "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
	  "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
	  "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80??" },
	/* The 511 bytes of the message end in 2 of the 3 bytes of U+20AC. */
	{ "images_dir cut inside a character",
	  "{\"method\":\"restore\",\"params\":{\"images_dir\":\"",
	  "\xe2\x82\xac", 300, "\"}}", "invalid-params", "images_dir" },
};

/*
 * The error text goes into a JSON reply, and jansson rejects a string that
 * is not valid UTF-8, so a cut inside a character must not reach it.
 */
static void
test_utf8_cut(void **state)
{
	const struct utf8_case *c = *state;
	size_t unit_len = strlen(c->unit), len = 0, i;
	char line[2048];
	struct request req;
	struct error err;

	assert_true(strlen(c->head) + c->count * unit_len + strlen(c->tail) <
	    sizeof(line));
	len += (size_t)sprintf(line, "%s", c->head);
	for (i = 0; i < c->count; i++)
		len += (size_t)sprintf(line + len, "%s", c->unit);
	len += (size_t)sprintf(line + len, "%s", c->tail);

	error_clear(&err);
	assert_int_equal(request_parse(line, len, &req, &err), -1);
	assert_string_equal(err.code, c->code);
	assert_string_or_null(err.field, c->field);
	assert_json_string(err.message);
	if (err.field != NULL)
		assert_json_string(err.field);
	request_clear(&req);
}

/* Build a restore line whose images_dir is "/" and then `len` - 1 'a's. */
static char *
restore_line_with_dir_len(size_t len)
{
	static const char head[] =
	    "{\"id\":8,\"method\":\"restore\",\"params\":{\"images_dir\":\"/";
	static const char tail[] = "\"}}";
	size_t size = sizeof(head) - 1 + (len - 1) + sizeof(tail);
	char *line = malloc(size);

	assert_non_null(line);
	memcpy(line, head, sizeof(head) - 1);
	memset(line + sizeof(head) - 1, 'a', len - 1);
	memcpy(line + sizeof(head) - 1 + len - 1, tail, sizeof(tail));
	return line;
}

static void
test_images_dir_longest(void **state)
{
	char *line = restore_line_with_dir_len(PATH_MAX - 1);
	struct request req;
	struct error err;

	error_clear(&err);
	assert_int_equal(request_parse(line, strlen(line), &req, &err), 0);
	assert_int_equal(strlen(req.images_dir), PATH_MAX - 1);
	assert_int_equal(req.images_dir[0], '/');
	request_clear(&req);
	free(line);
}

/* images_dir has room for PATH_MAX bytes with the NUL, so PATH_MAX fails. */
static void
test_images_dir_too_long(void **state)
{
	const size_t *len = *state;
	char *line = restore_line_with_dir_len(*len);
	struct request req;
	struct error err;

	error_clear(&err);
	assert_int_equal(request_parse(line, strlen(line), &req, &err), -1);
	assert_string_equal(err.code, "invalid-params");
	assert_string_or_null(err.field, "images_dir");
	assert_id(req.id, "8");
	request_clear(&req);
	free(line);
}

/* Bytes after `len` belong to the next line and must not be read. */
static void
test_parse_stops_at_len(void **state)
{
	static const char buf[] = "{\"method\":\"list\"}{\"method\":\"info\"}";
	struct request req;
	struct error err;

	error_clear(&err);
	assert_int_equal(request_parse(buf, 17, &req, &err), 0);
	assert_int_equal(req.method, REQUEST_LIST);
	request_clear(&req);
}

static void
test_clear_drops_id(void **state)
{
	static const char line[] = "{\"id\":\"x\",\"method\":\"info\"}";
	struct request req;
	struct error err;

	error_clear(&err);
	assert_int_equal(request_parse(line, strlen(line), &req, &err), 0);
	request_clear(&req);
	assert_null(req.id);
}

/*
 * An unknown name comes from a JSON key that request_parse() frees, so the
 * error must keep its own copy.  Parsing again reuses the freed memory.
 */
static void
test_field_outlives_parse(void **state)
{
	static const char first[] = "{\"method\":\"list\",\"zzzz\":1}";
	static const char second[] = "{\"method\":\"list\",\"yyyy\":1}";
	struct error first_err, second_err;
	struct request req;

	error_clear(&first_err);
	assert_int_equal(request_parse(first, strlen(first), &req,
	    &first_err), -1);
	request_clear(&req);
	error_clear(&second_err);
	assert_int_equal(request_parse(second, strlen(second), &req,
	    &second_err), -1);
	request_clear(&req);
	assert_string_or_null(first_err.field, "zzzz");
	assert_string_or_null(second_err.field, "yyyy");
}

/* The field keeps the first ERROR_FIELD_MAX - 1 bytes of a long name. */
static void
test_field_long_name(void **state)
{
	char name[ERROR_FIELD_MAX + 16];
	char line[256];
	struct request req;
	struct error err;

	memset(name, 'k', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(line, sizeof(line), "{\"method\":\"info\",\"%s\":1}", name);
	error_clear(&err);
	assert_int_equal(request_parse(line, strlen(line), &req, &err), -1);
	assert_string_equal(err.code, "invalid-request");
	assert_non_null(err.field);
	assert_int_equal(strlen(err.field), ERROR_FIELD_MAX - 1);
	assert_memory_equal(err.field, name, ERROR_FIELD_MAX - 1);
	request_clear(&req);
}

static void
test_method_names(void **state)
{
	assert_string_equal(request_method_name(REQUEST_RESTORE), "restore");
	assert_string_equal(request_method_name(REQUEST_STATUS), "status");
	assert_string_equal(request_method_name(REQUEST_LIST), "list");
	assert_string_equal(request_method_name(REQUEST_CANCEL), "cancel");
	assert_string_equal(request_method_name(REQUEST_WATCH), "watch");
	assert_string_equal(request_method_name(REQUEST_INFO), "info");
}

static const size_t path_max = PATH_MAX;
static const size_t path_max_plus_one = PATH_MAX + 1;

static const struct CMUnitTest single_tests[] = {
	UNIT_TEST("images_dir at PATH_MAX - 1", test_images_dir_longest, NULL),
	UNIT_TEST("images_dir at PATH_MAX", test_images_dir_too_long,
	    &path_max),
	UNIT_TEST("images_dir at PATH_MAX + 1", test_images_dir_too_long,
	    &path_max_plus_one),
	UNIT_TEST("parse stops at len", test_parse_stops_at_len, NULL),
	UNIT_TEST("clear drops id", test_clear_drops_id, NULL),
	UNIT_TEST("field outlives parse", test_field_outlives_parse, NULL),
	UNIT_TEST("field of a long name", test_field_long_name, NULL),
	UNIT_TEST("method names", test_method_names, NULL),
};

int
main(void)
{
	struct CMUnitTest tests[ARRAY_SIZE(good_cases) +
	    ARRAY_SIZE(bad_cases) + ARRAY_SIZE(utf8_cases) +
	    ARRAY_SIZE(single_tests)];
	size_t n = 0, i;

	for (i = 0; i < ARRAY_SIZE(good_cases); i++)
		tests[n++] = (struct CMUnitTest)UNIT_TEST(good_cases[i].name,
		    test_good_line, &good_cases[i]);
	for (i = 0; i < ARRAY_SIZE(bad_cases); i++)
		tests[n++] = (struct CMUnitTest)UNIT_TEST(bad_cases[i].name,
		    test_bad_line, &bad_cases[i]);
	for (i = 0; i < ARRAY_SIZE(utf8_cases); i++)
		tests[n++] = (struct CMUnitTest)UNIT_TEST(utf8_cases[i].name,
		    test_utf8_cut, &utf8_cases[i]);
	for (i = 0; i < ARRAY_SIZE(single_tests); i++)
		tests[n++] = single_tests[i];
	return cmocka_run_group_tests_name("request", tests, NULL, NULL);
}
