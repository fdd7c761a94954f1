/*
 * libFuzzer target for request_parse(): each input is one request line, as
 * api_handle_line() gets it from a client.  Besides the sanitizers' checks,
 * it aborts when the result breaks what the API layer relies on.  A decoded
 * request must have its values in range.  A failure must leave one of the
 * decoder's error codes and a message and field that jansson accepts as
 * strings, because api.c builds the error reply from them with json_pack().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "error.h"
#include "request.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The codes proto/API.md gives for a request that fails to decode. */
static const char *const fuzz_parse_codes[] = {
	"parse-error", "invalid-request", "method-not-found", "invalid-params",
};

/* Abort, so that libFuzzer saves the input as a crash. */
static void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_request: %s\n", what);
	abort();
}

/* Fail unless json_string() accepts `text`, that is, it is valid UTF-8. */
static void
fuzz_check_string(const char *text, const char *what)
{
	json_t *value = json_string(text);

	if (value == NULL)
		fuzz_fail(what);
	json_decref(value);
}

/* Fail unless `text` is a NUL-terminated, non-empty string in `size`. */
static void
fuzz_check_buffer(const char *text, size_t size, const char *what)
{
	if (memchr(text, '\0', size) == NULL || text[0] == '\0')
		fuzz_fail(what);
	fuzz_check_string(text, what);
}

/*
 * Check what restore and checkpoint share: the images dir, the log level
 * and the page server, which must be set with lazy_pages or not at all.
 */
static void
fuzz_check_job(const struct request *req)
{
	const struct page_server *server = &req->options.page_server;

	fuzz_check_buffer(req->images_dir, sizeof(req->images_dir),
	    "decoded images_dir is empty, unterminated or not UTF-8");
	if (req->images_dir[0] != '/')
		fuzz_fail("decoded images_dir is not absolute");
	if (req->options.log_level < 0 || req->options.log_level > 4)
		fuzz_fail("decoded log_level is outside 0-4");
	if (server->port < 0 || server->port > 65535)
		fuzz_fail("decoded page server port is outside 0-65535");
	if (server->port != 0 && !req->options.lazy_pages)
		fuzz_fail("decoded page server without lazy_pages");
	if (server->port != 0)
		fuzz_check_buffer(server->address, sizeof(server->address),
		    "decoded page server address is empty, unterminated or not UTF-8");
	if (req->options.tls && server->port == 0)
		fuzz_fail("decoded tls without a page server");
}

static void
fuzz_check_request(const struct request *req)
{
	if ((unsigned int)req->method > REQUEST_CHECKPOINT ||
	    request_method_name(req->method) == NULL)
		fuzz_fail("decoded method is out of range");
	switch (req->method) {
	case REQUEST_RESTORE:
		fuzz_check_job(req);
		if (req->options.leave_running)
			fuzz_fail("decoded leave_running on a restore");
		break;
	case REQUEST_CHECKPOINT:
		fuzz_check_job(req);
		if (req->pid < 2 || req->pid > 4194304)
			fuzz_fail("decoded pid is outside 2-4194304");
		if (req->options.lazy_pages && req->options.page_server.port == 0)
			fuzz_fail("decoded lazy checkpoint without a page server");
		break;
	case REQUEST_STATUS:
	case REQUEST_CANCEL:
	case REQUEST_WATCH:
		fuzz_check_buffer(req->job, sizeof(req->job),
		    "decoded job id is empty, unterminated or not UTF-8");
		break;
	case REQUEST_LIST:
	case REQUEST_INFO:
	case REQUEST_METRICS:
		break;
	}
}

static void
fuzz_check_error(const struct error *err)
{
	size_t i;

	if (err->code == NULL)
		fuzz_fail("failed request has no error code");
	for (i = 0; i < sizeof(fuzz_parse_codes) / sizeof(*fuzz_parse_codes);
	    i++)
		if (strcmp(err->code, fuzz_parse_codes[i]) == 0)
			break;
	if (i == sizeof(fuzz_parse_codes) / sizeof(*fuzz_parse_codes))
		fuzz_fail("failed request has a code the decoder must not use");
	if (err->message[0] == '\0')
		fuzz_fail("failed request has an empty error message");
	fuzz_check_string(err->message, "error message is not valid UTF-8");
	if (err->field != NULL)
		fuzz_check_string(err->field, "error field is not valid UTF-8");
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* A fixed hash seed lets a run be repeated from its inputs. */
	json_object_seed(1);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request req;
	struct error err;
	char *id;

	error_clear(&err);
	if (request_parse((const char *)data, size, &req, &err) < 0)
		fuzz_check_error(&err);
	else
		fuzz_check_request(&req);

	/* Every reply echoes the id, as the client sent it or as null. */
	if (req.id == NULL)
		fuzz_fail("request has no id to echo");
	id = json_dumps(req.id, JSON_COMPACT | JSON_ENCODE_ANY);
	if (id == NULL)
		fuzz_fail("request id cannot be encoded");
	free(id);
	request_clear(&req);
	return 0;
}
