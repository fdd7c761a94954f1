/* CRIU's swrk RPC: framing of protobuf messages on a SOCK_SEQPACKET socket. */
#ifndef CTRD_CRIU_RPC_H
#define CTRD_CRIU_RPC_H

#include <stdbool.h>
#include <stddef.h>

#include "criu-rpc.pb-c.h"

struct error;

/* CRIU versions compare as MAJOR * 10000 + MINOR * 100 + SUBLEVEL. */
#define CRIU_RPC_VERSION(major, minor, sublevel) \
	((major) * 10000 + (minor) * 100 + (sublevel))

/* Pack `req` and send it as one datagram on `fd`. */
int criu_rpc_send(int fd, const CriuReq *req, struct error *err);

/*
 * Receive one datagram from `fd` and unpack it.  A descriptor CRIU attached
 * with SCM_RIGHTS (the orphan-pts-master notification) is returned in
 * *ret_fd, else -1 is stored there; the caller owns it.  Returns NULL with
 * `err` set on EOF, a socket error or an unpack failure; EAGAIN leaves
 * err->sys_errno == EAGAIN.  On failure *ret_fd is -1 and a descriptor that
 * came with the message is closed.  Free the result with
 * criu_resp__free_unpacked().
 */
CriuResp *criu_rpc_recv(int fd, int *ret_fd, struct error *err);

/* Fill `req` as a VERSION request that keeps the worker's session open. */
void criu_rpc_init_version(CriuReq *req);

/* Fill `req` as the acknowledgement of a NOTIFY message. */
void criu_rpc_init_notify_ack(CriuReq *req, bool success);

/* Return the version in `resp` as a comparable number, or -1 if absent. */
int criu_rpc_version_number(const CriuResp *resp);

/* Format the version as "4.2.1" (plus "-gitid" when CRIU sent one). */
void criu_rpc_format_version(const CriuResp *resp, char *buf, size_t size);

/* Return the request type's name ("RESTORE", "NOTIFY", ...). */
const char *criu_rpc_type_name(CriuReqType type);

#endif
