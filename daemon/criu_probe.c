#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "criu_probe.h"
#include "criu_rpc.h"
#include "error.h"
#include "spawn.h"

static CriuResp *
criu_probe_call(int fd, const CriuReq *req, int timeout_ms,
    struct error *err)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int passed_fd, ret;
	CriuResp *resp;

	if (criu_rpc_send(fd, req, err) < 0)
		return NULL;
	do {
		ret = poll(&pfd, 1, timeout_ms);
	} while (ret == -1 && errno == EINTR);
	if (ret == 0)
		return error_set(err, "criu-version",
		    "CRIU did not answer %s within %d ms",
		    criu_rpc_type_name(req->type), timeout_ms), NULL;
	resp = criu_rpc_recv(fd, &passed_fd, err);
	if (passed_fd != -1)
		close(passed_fd);
	return resp;
}

static int
criu_probe_version(int fd, int timeout_ms, struct criu_probe_result *result,
    struct error *err)
{
	CriuResp *resp;
	CriuReq req;

	criu_rpc_init_version(&req);
	resp = criu_probe_call(fd, &req, timeout_ms, err);
	if (resp == NULL)
		return -1;
	result->version_number = criu_rpc_version_number(resp);
	criu_rpc_format_version(resp, result->version, sizeof(result->version));
	criu_resp__free_unpacked(resp, NULL);
	if (result->version_number < CRIU_PROBE_MIN_VERSION)
		return error_set(err, "criu-version",
		    "CRIU %s is too old: ctrd needs CRIU 4.0 or newer; run scripts/provision-criu.sh and pass its path with --criu",
		    result->version);
	return 0;
}

static int
criu_probe_features(int fd, int timeout_ms, struct criu_probe_result *result,
    struct error *err)
{
	CriuFeatures features = CRIU_FEATURES__INIT;
	CriuResp *resp;
	CriuReq req;

	criu_req__init(&req);
	req.type = CRIU_REQ_TYPE__FEATURE_CHECK;
	features.has_lazy_pages = true;
	features.lazy_pages = true;
	req.features = &features;
	resp = criu_probe_call(fd, &req, timeout_ms, err);
	if (resp == NULL)
		return -1;
	result->lazy_pages = resp->success && resp->features != NULL &&
	    resp->features->has_lazy_pages && resp->features->lazy_pages;
	criu_resp__free_unpacked(resp, NULL);
	if (!result->lazy_pages)
		return error_set(err, "criu-version",
		    "CRIU %s reports no lazy-pages support: the kernel needs userfaultfd (CONFIG_USERFAULTFD, vm.unprivileged_userfaultfd or root); check with 'criu check --feature uffd-noncoop'",
		    result->version);
	return 0;
}

int
criu_probe(const char *criu_path, int timeout_ms,
    struct criu_probe_result *result, struct error *err)
{
	const char *argv[] = { criu_path, "--no-default-config", "swrk", "3",
		NULL };
	struct spawn_fd child_fd;
	int pair[2], ret;
	pid_t pid;

	memset(result, 0, sizeof(*result));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == -1)
		return error_set_errno(err, "internal", "create socketpair");
	child_fd.fd = pair[1];
	child_fd.child_fd = 3;
	pid = spawn_process(argv, &child_fd, 1, STDERR_FILENO, -1, err);
	close(pair[1]);
	if (pid == -1) {
		close(pair[0]);
		return error_prefix(err,
		    "start CRIU '%s' (install it with scripts/provision-criu.sh or pass --criu)",
		    criu_path);
	}
	ret = criu_probe_version(pair[0], timeout_ms, result, err);
	if (ret == 0)
		ret = criu_probe_features(pair[0], timeout_ms, result, err);
	close(pair[0]);
	if (ret < 0 && pid > 1)
		kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (ret < 0)
		return error_prefix(err, "check CRIU '%s'", criu_path);
	return 0;
}
