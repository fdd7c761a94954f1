#include <stdbool.h>
#include <stdlib.h>

#include <jansson.h>

#include "api_conn.h"
#include "cli_error.h"
#include "output.h"
#include "session.h"

struct session {
	struct api_conn *conn;
	bool print_raw;
	json_int_t next_id;
};

struct session *
session_open(const char *socket_path, bool print_raw, struct cli_error *err)
{
	struct session *session;
	struct api_conn *conn;

	conn = api_conn_open(socket_path, err);
	if (conn == NULL)
		return NULL;
	session = calloc(1, sizeof(*session));
	if (session == NULL) {
		cli_error_set_errno(err, "allocate the session");
		api_conn_free(conn);
		return NULL;
	}
	session->conn = conn;
	session->print_raw = print_raw;
	session->next_id = 1;
	return session;
}

struct session *
session_free(struct session *session)
{
	if (session == NULL)
		return NULL;
	api_conn_free(session->conn);
	free(session);
	return NULL;
}

/* Receive the next line, printing it first when raw output is on. */
static int
session_recv(struct session *session, json_t **ret_json,
    struct cli_error *err)
{
	struct api_conn_message message;
	int rc;

	rc = api_conn_recv(session->conn, &message, err);
	if (rc <= 0)
		return rc;
	if (session->print_raw &&
	    output_print_raw(message.line, message.len, err) < 0) {
		json_decref(message.json);
		return -1;
	}
	*ret_json = message.json;
	return 1;
}

static int
session_send_request(struct session *session, const char *method,
    json_t *params, struct cli_error *err)
{
	json_t *request;
	int rc;

	request = json_pack("{s:I, s:s}", "id", session->next_id++, "method",
	    method);
	if (request == NULL) {
		json_decref(params);
		return cli_error_set(err, "build the '%s' request", method);
	}
	if (params != NULL)
		json_object_set_new(request, "params", params);
	rc = api_conn_send(session->conn, request, err);
	json_decref(request);
	return rc;
}

/* Set `err` from the "error" member of a reply.  Always returns -1. */
static int
session_set_reply_error(const json_t *error, struct cli_error *err)
{
	const char *message, *field;

	message = json_string_value(json_object_get(error, "message"));
	field = json_string_value(json_object_get(error, "field"));
	if (message == NULL)
		return cli_error_set(err,
		    "ctrd sent an error reply without a message");
	if (field != NULL)
		return cli_error_set(err, "%s (field: %s)", message, field);
	return cli_error_set(err, "%s", message);
}

/* Take the result out of `reply` (consumed), or set `err`. */
static json_t *
session_take_result(json_t *reply, struct cli_error *err)
{
	json_t *result, *error;

	error = json_object_get(reply, "error");
	if (error != NULL) {
		session_set_reply_error(error, err);
		json_decref(reply);
		return NULL;
	}
	result = json_incref(json_object_get(reply, "result"));
	json_decref(reply);
	return result;
}

static bool
session_is_reply(const json_t *json)
{
	return json_object_get(json, "result") != NULL ||
	    json_object_get(json, "error") != NULL;
}

json_t *
session_call(struct session *session, const char *method, json_t *params,
    struct cli_error *err)
{
	json_t *json;
	int rc;

	if (session_send_request(session, method, params, err) < 0)
		return NULL;

	/*
	 * ctrd sends a reply before the events it starts, and one command
	 * makes one request, so whatever arrives first is this reply.  An
	 * event seen here would belong to no request of ours and is skipped.
	 */
	for (;;) {
		rc = session_recv(session, &json, err);
		if (rc < 0)
			return NULL;
		if (rc == 0) {
			cli_error_set(err,
			    "ctrd closed the connection before replying to '%s'",
			    method);
			return NULL;
		}
		if (session_is_reply(json))
			return session_take_result(json, err);
		json_decref(json);
	}
}

int
session_next_event(struct session *session, json_t **ret_event,
    struct cli_error *err)
{
	json_t *json;
	int rc;

	for (;;) {
		rc = session_recv(session, &json, err);
		if (rc <= 0)
			return rc;
		if (json_is_string(json_object_get(json, "event"))) {
			*ret_event = json;
			return 1;
		}
		json_decref(json);
	}
}

int
session_fd(const struct session *session)
{
	return api_conn_fd(session->conn);
}

bool
session_has_line(const struct session *session)
{
	return api_conn_has_line(session->conn);
}
