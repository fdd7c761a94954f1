/*
 * Unit tests for the CRIU RPC framing: packed messages sent through a real
 * SOCK_SEQPACKET socketpair, as between ctrd and `criu swrk`.
 */
#define _GNU_SOURCE	/* pipe2() */
#include <sys/socket.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "criu_rpc.h"
#include "error.h"
#include "unit.h"

/* Larger than any message a test sends or criu_rpc_recv() accepts. */
#define DATAGRAM_MAX (128 * 1024)

/* ctrd's end of the socketpair and the end playing CRIU. */
struct pair {
	int ctrd;
	int criu;
};

static int
pair_setup(void **state)
{
	struct pair *pair = malloc(sizeof(*pair));
	int fds[2];

	if (pair == NULL ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == -1) {
		free(pair);
		return -1;
	}
	pair->ctrd = fds[0];
	pair->criu = fds[1];
	*state = pair;
	return 0;
}

static int
pair_teardown(void **state)
{
	struct pair *pair = *state;

	if (pair->ctrd != -1)
		close(pair->ctrd);
	if (pair->criu != -1)
		close(pair->criu);
	free(pair);
	return 0;
}

static void
close_criu_end(struct pair *pair)
{
	close(pair->criu);
	pair->criu = -1;
}

/* Send one datagram, with `pass_fd` attached as SCM_RIGHTS unless -1. */
static void
send_datagram(int fd, const void *data, size_t len, int pass_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;

	if (pass_fd != -1) {
		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &pass_fd, sizeof(int));
	}
	assert_int_equal(sendmsg(fd, &msg, MSG_NOSIGNAL), len);
}

/* Pack `resp` with the generated code and send it as CRIU would. */
static void
send_resp(int fd, const CriuResp *resp, int pass_fd)
{
	size_t len = criu_resp__get_packed_size(resp);
	uint8_t *buf = malloc(len);

	assert_non_null(buf);
	assert_int_equal(criu_resp__pack(resp, buf), len);
	send_datagram(fd, buf, len, pass_fd);
	free(buf);
}

/* Receive the next raw datagram on `fd` and unpack it as a criu_req. */
static CriuReq *
recv_req(int fd)
{
	static uint8_t buf[DATAGRAM_MAX];
	CriuReq *req;
	ssize_t len;

	len = recv(fd, buf, sizeof(buf), 0);
	assert_true(len > 0);
	req = criu_req__unpack(NULL, (size_t)len, buf);
	assert_non_null(req);
	return req;
}

static int
count_open_fds(void)
{
	struct dirent *entry;
	DIR *dir = opendir("/proc/self/fd");
	int count = 0;

	assert_non_null(dir);
	while ((entry = readdir(dir)) != NULL)
		if (entry->d_name[0] != '.')
			count++;
	closedir(dir);
	return count;
}

static void
test_recv_notify(void **state)
{
	struct pair *pair = *state;
	CriuNotify notify;
	CriuResp resp, *got;
	struct error err;
	int passed_fd = 0;

	criu_notify__init(&notify);
	notify.script = "post-restore";
	notify.has_pid = true;
	notify.pid = 42;
	criu_resp__init(&resp);
	resp.type = CRIU_REQ_TYPE__NOTIFY;
	resp.success = true;
	resp.notify = &notify;
	send_resp(pair->criu, &resp, -1);

	error_clear(&err);
	got = criu_rpc_recv(pair->ctrd, &passed_fd, &err);
	assert_non_null(got);
	assert_int_equal(passed_fd, -1);
	assert_int_equal(got->type, CRIU_REQ_TYPE__NOTIFY);
	assert_true(got->success);
	assert_non_null(got->notify);
	assert_string_equal(got->notify->script, "post-restore");
	assert_true(got->notify->has_pid);
	assert_int_equal(got->notify->pid, 42);
	assert_null(got->restore);
	criu_resp__free_unpacked(got, NULL);
}

static void
test_recv_restore(void **state)
{
	struct pair *pair = *state;
	CriuRestoreResp restore;
	CriuResp resp, *got;
	struct error err;
	int passed_fd = 0;

	criu_restore_resp__init(&restore);
	restore.pid = 4242;
	criu_resp__init(&resp);
	resp.type = CRIU_REQ_TYPE__RESTORE;
	resp.success = true;
	resp.restore = &restore;
	send_resp(pair->criu, &resp, -1);

	error_clear(&err);
	got = criu_rpc_recv(pair->ctrd, &passed_fd, &err);
	assert_non_null(got);
	assert_int_equal(passed_fd, -1);
	assert_int_equal(got->type, CRIU_REQ_TYPE__RESTORE);
	assert_true(got->success);
	assert_non_null(got->restore);
	assert_int_equal(got->restore->pid, 4242);
	assert_false(got->has_cr_errno);
	assert_null(got->cr_errmsg);
	criu_resp__free_unpacked(got, NULL);
}

static void
test_recv_failed_restore(void **state)
{
	struct pair *pair = *state;
	CriuRestoreResp restore;
	CriuResp resp, *got;
	struct error err;
	int passed_fd = 0;

	criu_restore_resp__init(&restore);
	restore.pid = -1;
	criu_resp__init(&resp);
	resp.type = CRIU_REQ_TYPE__RESTORE;
	resp.success = false;
	resp.restore = &restore;
	resp.has_cr_errno = true;
	resp.cr_errno = EEXIST;
	resp.cr_errmsg = "Can't fork for 7171: File exists";
	send_resp(pair->criu, &resp, -1);

	error_clear(&err);
	got = criu_rpc_recv(pair->ctrd, &passed_fd, &err);
	assert_non_null(got);
	assert_false(got->success);
	assert_non_null(got->restore);
	assert_int_equal(got->restore->pid, -1);
	assert_true(got->has_cr_errno);
	assert_int_equal(got->cr_errno, EEXIST);
	assert_string_equal(got->cr_errmsg, "Can't fork for 7171: File exists");
	criu_resp__free_unpacked(got, NULL);
}

/* CRIU hands over a pty master this way with "orphan-pts-master". */
static void
test_recv_passed_fd(void **state)
{
	struct pair *pair = *state;
	CriuNotify notify;
	CriuResp resp, *got;
	struct error err;
	int passed_fd = -1;
	int pipe_fds[2];
	char byte = 0;

	assert_int_equal(pipe2(pipe_fds, O_CLOEXEC), 0);
	criu_notify__init(&notify);
	notify.script = "orphan-pts-master";
	criu_resp__init(&resp);
	resp.type = CRIU_REQ_TYPE__NOTIFY;
	resp.success = true;
	resp.notify = &notify;
	send_resp(pair->criu, &resp, pipe_fds[0]);

	error_clear(&err);
	got = criu_rpc_recv(pair->ctrd, &passed_fd, &err);
	assert_non_null(got);
	assert_string_equal(got->notify->script, "orphan-pts-master");
	assert_true(passed_fd >= 0);
	assert_int_not_equal(passed_fd, pipe_fds[0]);
	assert_true(fcntl(passed_fd, F_GETFD) & FD_CLOEXEC);

	/* The received fd is the read end of the same pipe. */
	assert_int_equal(write(pipe_fds[1], "x", 1), 1);
	assert_int_equal(read(passed_fd, &byte, 1), 1);
	assert_int_equal(byte, 'x');

	criu_resp__free_unpacked(got, NULL);
	close(passed_fd);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
}

static void
test_recv_eof(void **state)
{
	struct pair *pair = *state;
	struct error err;
	int passed_fd = 0;

	close_criu_end(pair);
	error_clear(&err);
	assert_null(criu_rpc_recv(pair->ctrd, &passed_fd, &err));
	assert_int_equal(passed_fd, -1);
	assert_string_equal(err.code, "worker-died");
	assert_true(err.message[0] != '\0');
}

static void
test_recv_garbage(void **state)
{
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0xff };
	struct pair *pair = *state;
	struct error err;
	int passed_fd = 0;

	send_datagram(pair->criu, garbage, sizeof(garbage), -1);
	error_clear(&err);
	assert_null(criu_rpc_recv(pair->ctrd, &passed_fd, &err));
	assert_int_equal(passed_fd, -1);
	assert_string_equal(err.code, "internal");
	assert_true(err.message[0] != '\0');
}

/* Field 1 (type) = RESTORE, but the required field 2 (success) is absent. */
static void
test_recv_missing_success(void **state)
{
	static const uint8_t type_only[] = { 0x08, CRIU_REQ_TYPE__RESTORE };
	struct pair *pair = *state;
	struct error err;
	int passed_fd = 0;

	send_datagram(pair->criu, type_only, sizeof(type_only), -1);
	error_clear(&err);
	assert_null(criu_rpc_recv(pair->ctrd, &passed_fd, &err));
	assert_string_equal(err.code, "internal");
}

/* A failed receive must not leave a passed descriptor open. */
static void
test_recv_garbage_with_fd(void **state)
{
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff };
	struct pair *pair = *state;
	struct error err;
	int passed_fd = 0;
	int pipe_fds[2];
	int open_before;

	assert_int_equal(pipe2(pipe_fds, O_CLOEXEC), 0);
	open_before = count_open_fds();
	send_datagram(pair->criu, garbage, sizeof(garbage), pipe_fds[0]);
	error_clear(&err);
	assert_null(criu_rpc_recv(pair->ctrd, &passed_fd, &err));
	assert_int_equal(passed_fd, -1);
	assert_string_equal(err.code, "internal");
	assert_int_equal(count_open_fds(), open_before);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
}

static void
test_recv_oversized(void **state)
{
	struct pair *pair = *state;
	size_t len = 70 * 1024;
	uint8_t *big = calloc(1, len);
	struct error err;
	int passed_fd = 0;

	assert_non_null(big);
	send_datagram(pair->criu, big, len, -1);
	free(big);
	error_clear(&err);
	assert_null(criu_rpc_recv(pair->ctrd, &passed_fd, &err));
	assert_int_equal(passed_fd, -1);
	assert_string_equal(err.code, "internal");
}

static void
test_recv_would_block(void **state)
{
	struct pair *pair = *state;
	struct error err;
	int passed_fd = 0;
	int flags = fcntl(pair->ctrd, F_GETFL);

	assert_int_equal(fcntl(pair->ctrd, F_SETFL, flags | O_NONBLOCK), 0);
	error_clear(&err);
	assert_null(criu_rpc_recv(pair->ctrd, &passed_fd, &err));
	assert_int_equal(passed_fd, -1);
	assert_int_equal(err.sys_errno, EAGAIN);
}

/* The RESTORE request as ctrd's jobs build it, every field checked. */
static void
test_send_restore(void **state)
{
	struct pair *pair = *state;
	struct error err;
	CriuOpts opts;
	CriuReq req, *got;

	criu_opts__init(&opts);
	opts.images_dir_fd = 5;
	opts.has_work_dir_fd = true;
	opts.work_dir_fd = 6;
	opts.log_file = "restore.log";
	opts.has_log_level = true;
	opts.log_level = 4;
	opts.has_rst_sibling = true;
	opts.rst_sibling = true;
	opts.has_notify_scripts = true;
	opts.notify_scripts = true;
	opts.has_lazy_pages = true;
	opts.lazy_pages = true;
	opts.has_tcp_established = true;
	opts.tcp_established = false;
	opts.has_ext_unix_sk = true;
	opts.ext_unix_sk = true;
	opts.has_shell_job = true;
	opts.shell_job = false;
	opts.has_file_locks = true;
	opts.file_locks = true;
	criu_req__init(&req);
	req.type = CRIU_REQ_TYPE__RESTORE;
	req.opts = &opts;

	error_clear(&err);
	assert_int_equal(criu_rpc_send(pair->ctrd, &req, &err), 0);
	got = recv_req(pair->criu);

	assert_int_equal(got->type, CRIU_REQ_TYPE__RESTORE);
	assert_false(got->has_keep_open);
	assert_false(got->has_notify_success);
	assert_false(got->has_pid);
	assert_non_null(got->opts);
	assert_int_equal(got->opts->images_dir_fd, 5);
	assert_null(got->opts->images_dir);
	assert_true(got->opts->has_work_dir_fd);
	assert_int_equal(got->opts->work_dir_fd, 6);
	assert_string_equal(got->opts->log_file, "restore.log");
	assert_true(got->opts->has_log_level);
	assert_int_equal(got->opts->log_level, 4);
	assert_true(got->opts->has_rst_sibling);
	assert_true(got->opts->rst_sibling);
	assert_true(got->opts->has_notify_scripts);
	assert_true(got->opts->notify_scripts);
	assert_true(got->opts->has_lazy_pages);
	assert_true(got->opts->lazy_pages);
	assert_true(got->opts->has_tcp_established);
	assert_false(got->opts->tcp_established);
	assert_true(got->opts->has_ext_unix_sk);
	assert_true(got->opts->ext_unix_sk);
	assert_true(got->opts->has_shell_job);
	assert_false(got->opts->shell_job);
	assert_true(got->opts->has_file_locks);
	assert_true(got->opts->file_locks);
	assert_false(got->opts->has_leave_stopped);
	assert_int_equal(got->opts->n_inherit_fd, 0);
	criu_req__free_unpacked(got, NULL);
}

static void
test_send_version(void **state)
{
	struct pair *pair = *state;
	struct error err;
	CriuReq req, *got;

	criu_rpc_init_version(&req);
	error_clear(&err);
	assert_int_equal(criu_rpc_send(pair->ctrd, &req, &err), 0);
	got = recv_req(pair->criu);
	assert_int_equal(got->type, CRIU_REQ_TYPE__VERSION);
	assert_true(got->has_keep_open);
	assert_true(got->keep_open);
	assert_null(got->opts);
	criu_req__free_unpacked(got, NULL);
}

static void
test_send_notify_ack(void **state)
{
	struct pair *pair = *state;
	struct error err;
	CriuReq req, *got;

	criu_rpc_init_notify_ack(&req, true);
	error_clear(&err);
	assert_int_equal(criu_rpc_send(pair->ctrd, &req, &err), 0);
	got = recv_req(pair->criu);
	assert_int_equal(got->type, CRIU_REQ_TYPE__NOTIFY);
	assert_true(got->has_notify_success);
	assert_true(got->notify_success);
	criu_req__free_unpacked(got, NULL);

	criu_rpc_init_notify_ack(&req, false);
	assert_int_equal(criu_rpc_send(pair->ctrd, &req, &err), 0);
	got = recv_req(pair->criu);
	assert_int_equal(got->type, CRIU_REQ_TYPE__NOTIFY);
	assert_true(got->has_notify_success);
	assert_false(got->notify_success);
	criu_req__free_unpacked(got, NULL);
}

/* MSG_NOSIGNAL turns the SIGPIPE into EPIPE. */
static void
test_send_closed_peer(void **state)
{
	struct pair *pair = *state;
	struct error err;
	CriuReq req;

	close_criu_end(pair);
	criu_rpc_init_version(&req);
	error_clear(&err);
	assert_int_equal(criu_rpc_send(pair->ctrd, &req, &err), -1);
	assert_string_equal(err.code, "worker-died");
	assert_int_equal(err.sys_errno, EPIPE);
}

struct version_case {
	const char *name;
	int major;
	int minor;
	bool has_sublevel;
	int sublevel;
	const char *gitid;
	int number;
	const char *text;
};

static const struct version_case version_cases[] = {
	{ "version 4.2.1", 4, 2, true, 1, NULL, 40201, "4.2.1" },
	{ "version without sublevel", 4, 2, false, 0, NULL, 40200, "4.2.0" },
	{ "version with gitid", 4, 2, true, 1, "v4.2.1-3-g1a2b3c4", 40201,
	  "4.2.1-v4.2.1-3-g1a2b3c4" },
	{ "version gitid no sublevel", 4, 2, false, 0, "v4.2-7-gdeadbee",
	  40200, "4.2.0-v4.2-7-gdeadbee" },
	{ "version 3.19", 3, 19, false, 0, NULL, 31900, "3.19.0" },
};

/* The version travels through the socket so has_sublevel is packed too. */
static void
test_version(void **state)
{
	const struct version_case *c = *state;
	void *pair_state = NULL;
	struct pair *pair;
	CriuVersion version;
	CriuResp resp, *got;
	struct error err;
	int passed_fd = 0;
	char text[64];

	assert_int_equal(pair_setup(&pair_state), 0);
	pair = pair_state;
	criu_version__init(&version);
	version.major_number = c->major;
	version.minor_number = c->minor;
	version.has_sublevel = c->has_sublevel;
	version.sublevel = c->sublevel;
	version.gitid = (char *)c->gitid;
	criu_resp__init(&resp);
	resp.type = CRIU_REQ_TYPE__VERSION;
	resp.success = true;
	resp.version = &version;
	send_resp(pair->criu, &resp, -1);

	error_clear(&err);
	got = criu_rpc_recv(pair->ctrd, &passed_fd, &err);
	assert_non_null(got);
	assert_int_equal(criu_rpc_version_number(got), c->number);
	criu_rpc_format_version(got, text, sizeof(text));
	assert_string_equal(text, c->text);
	criu_resp__free_unpacked(got, NULL);
	pair_teardown(&pair_state);
}

static void
test_version_absent(void **state)
{
	CriuResp resp;
	char text[64];

	criu_resp__init(&resp);
	resp.type = CRIU_REQ_TYPE__VERSION;
	assert_int_equal(criu_rpc_version_number(&resp), -1);
	criu_rpc_format_version(&resp, text, sizeof(text));
	assert_string_equal(text, "unknown");
}

static void
test_version_short_buffer(void **state)
{
	CriuVersion version;
	CriuResp resp;
	char text[4];

	criu_version__init(&version);
	version.major_number = 4;
	version.minor_number = 2;
	version.has_sublevel = true;
	version.sublevel = 1;
	criu_resp__init(&resp);
	resp.version = &version;
	criu_rpc_format_version(&resp, text, sizeof(text));
	assert_string_equal(text, "4.2");
}

/* Every value of the generated enum must have its proto name. */
static void
test_type_names(void **state)
{
	const ProtobufCEnumDescriptor *types = &criu_req_type__descriptor;
	unsigned i;

	assert_int_equal(types->n_values, 14);
	for (i = 0; i < types->n_values; i++)
		assert_string_equal(criu_rpc_type_name(types->values[i].value),
		    types->values[i].name);
}

static void
test_type_name_unknown(void **state)
{
	assert_string_equal(criu_rpc_type_name((CriuReqType)99), "UNKNOWN");
}

#define PAIR_TEST(test_name, func) \
	{ .name = (test_name), .test_func = (func), \
	    .setup_func = pair_setup, .teardown_func = pair_teardown }

static const struct CMUnitTest single_tests[] = {
	PAIR_TEST("recv notify", test_recv_notify),
	PAIR_TEST("recv restore reply", test_recv_restore),
	PAIR_TEST("recv failed restore", test_recv_failed_restore),
	PAIR_TEST("recv passed fd", test_recv_passed_fd),
	PAIR_TEST("recv eof", test_recv_eof),
	PAIR_TEST("recv garbage", test_recv_garbage),
	PAIR_TEST("recv missing success", test_recv_missing_success),
	PAIR_TEST("recv garbage with fd", test_recv_garbage_with_fd),
	PAIR_TEST("recv oversized", test_recv_oversized),
	PAIR_TEST("recv would block", test_recv_would_block),
	PAIR_TEST("send restore", test_send_restore),
	PAIR_TEST("send version", test_send_version),
	PAIR_TEST("send notify ack", test_send_notify_ack),
	PAIR_TEST("send closed peer", test_send_closed_peer),
	UNIT_TEST("version absent", test_version_absent, NULL),
	UNIT_TEST("version short buffer", test_version_short_buffer, NULL),
	UNIT_TEST("type names", test_type_names, NULL),
	UNIT_TEST("type name unknown", test_type_name_unknown, NULL),
};

int
main(void)
{
	struct CMUnitTest tests[ARRAY_SIZE(version_cases) +
	    ARRAY_SIZE(single_tests)];
	size_t n = 0, i;

	for (i = 0; i < ARRAY_SIZE(single_tests); i++)
		tests[n++] = single_tests[i];
	for (i = 0; i < ARRAY_SIZE(version_cases); i++)
		tests[n++] = (struct CMUnitTest)UNIT_TEST(
		    version_cases[i].name, test_version, &version_cases[i]);
	return cmocka_run_group_tests_name("criu_rpc", tests, NULL, NULL);
}
