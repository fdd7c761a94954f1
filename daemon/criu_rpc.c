#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "criu_rpc.h"
#include "error.h"

/*
 * CRIU sends one packed criu_resp per datagram.  Replies are small; the
 * largest seen carry a version or an error message, far below this bound.
 * A larger datagram is reported as an error instead of being cut short.
 */
#define CRIU_RPC_MAX_MESSAGE (64 * 1024)

int
criu_rpc_send(int fd, const CriuReq *req, struct error *err)
{
	size_t len = criu_req__get_packed_size(req);
	uint8_t *buf;
	ssize_t sent;

	buf = malloc(len);
	if (buf == NULL)
		return error_set_errno(err, "internal", "pack CRIU request");
	criu_req__pack(req, buf);
	do {
		sent = send(fd, buf, len, MSG_NOSIGNAL);
	} while (sent == -1 && errno == EINTR);
	free(buf);
	if (sent == -1)
		return error_set_errno(err, "worker-died",
		    "send %s request to CRIU", criu_rpc_type_name(req->type));
	return 0;
}

/* Return the first descriptor passed in `msg`, closing any others. */
static int
criu_rpc_take_fd(struct msghdr *msg)
{
	struct cmsghdr *cmsg;
	int fd = -1;

	for (cmsg = CMSG_FIRSTHDR(msg); cmsg; cmsg = CMSG_NXTHDR(msg, cmsg)) {
		size_t count, i;
		int *fds;

		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		fds = (int *)CMSG_DATA(cmsg);
		count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < count; i++) {
			if (fd == -1)
				fd = fds[i];
			else
				close(fds[i]);
		}
	}
	return fd;
}

CriuResp *
criu_rpc_recv(int fd, int *ret_fd, struct error *err)
{
	static uint8_t buf[CRIU_RPC_MAX_MESSAGE];
	char control[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control, .msg_controllen = sizeof(control),
	};
	CriuResp *resp;
	ssize_t len;
	int passed_fd;

	*ret_fd = -1;
	do {
		len = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	} while (len == -1 && errno == EINTR);
	if (len == -1)
		return error_set_errno(err, "worker-died",
		    "receive from CRIU"), NULL;
	if (len == 0)
		return error_set(err, "worker-died",
		    "CRIU closed its RPC socket"), NULL;
	passed_fd = criu_rpc_take_fd(&msg);
	if (msg.msg_flags & MSG_TRUNC) {
		error_set(err, "internal",
		    "CRIU message is larger than %d bytes",
		    CRIU_RPC_MAX_MESSAGE);
		goto fail;
	}
	resp = criu_resp__unpack(NULL, (size_t)len, buf);
	if (resp == NULL) {
		error_set(err, "internal",
		    "unpack a %zd-byte CRIU message: not a criu_resp", len);
		goto fail;
	}
	*ret_fd = passed_fd;
	return resp;

fail:
	/* A NULL return hands over no fd, so close the one that came. */
	if (passed_fd != -1)
		close(passed_fd);
	return NULL;
}

void
criu_rpc_init_version(CriuReq *req)
{
	criu_req__init(req);
	req->type = CRIU_REQ_TYPE__VERSION;
	req->has_keep_open = true;
	req->keep_open = true;
}

void
criu_rpc_init_notify_ack(CriuReq *req, bool success)
{
	criu_req__init(req);
	req->type = CRIU_REQ_TYPE__NOTIFY;
	req->has_notify_success = true;
	req->notify_success = success;
}

int
criu_rpc_version_number(const CriuResp *resp)
{
	const CriuVersion *version = resp->version;

	if (version == NULL)
		return -1;
	return CRIU_RPC_VERSION(version->major_number,
	    version->minor_number,
	    version->has_sublevel ? version->sublevel : 0);
}

void
criu_rpc_format_version(const CriuResp *resp, char *buf, size_t size)
{
	const CriuVersion *version = resp->version;

	if (version == NULL) {
		snprintf(buf, size, "unknown");
		return;
	}
	snprintf(buf, size, "%d.%d.%d%s%s", version->major_number,
	    version->minor_number,
	    version->has_sublevel ? version->sublevel : 0,
	    version->gitid != NULL ? "-" : "",
	    version->gitid != NULL ? version->gitid : "");
}

const char *
criu_rpc_type_name(CriuReqType type)
{
	switch (type) {
	case CRIU_REQ_TYPE__EMPTY: return "EMPTY";
	case CRIU_REQ_TYPE__DUMP: return "DUMP";
	case CRIU_REQ_TYPE__RESTORE: return "RESTORE";
	case CRIU_REQ_TYPE__CHECK: return "CHECK";
	case CRIU_REQ_TYPE__PRE_DUMP: return "PRE_DUMP";
	case CRIU_REQ_TYPE__PAGE_SERVER: return "PAGE_SERVER";
	case CRIU_REQ_TYPE__NOTIFY: return "NOTIFY";
	case CRIU_REQ_TYPE__CPUINFO_DUMP: return "CPUINFO_DUMP";
	case CRIU_REQ_TYPE__CPUINFO_CHECK: return "CPUINFO_CHECK";
	case CRIU_REQ_TYPE__FEATURE_CHECK: return "FEATURE_CHECK";
	case CRIU_REQ_TYPE__VERSION: return "VERSION";
	case CRIU_REQ_TYPE__WAIT_PID: return "WAIT_PID";
	case CRIU_REQ_TYPE__PAGE_SERVER_CHLD: return "PAGE_SERVER_CHLD";
	case CRIU_REQ_TYPE__SINGLE_PRE_DUMP: return "SINGLE_PRE_DUMP";
	default: return "UNKNOWN";
	}
}
