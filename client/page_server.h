/* The ADDR:PORT of a CRIU page server, as --page-server takes it. */
#ifndef CTRD_CLI_PAGE_SERVER_H
#define CTRD_CLI_PAGE_SERVER_H

#include <netinet/in.h>

#include <jansson.h>

struct cli_error;

/* A page server's numeric address, without brackets, and TCP port. */
struct page_server {
	char address[INET6_ADDRSTRLEN];
	int family;		/* AF_INET or AF_INET6 */
	unsigned int port;	/* 1 to 65535 */
};

/*
 * Parse `text` as IPV4:PORT or [IPV6]:PORT.  The address must be numeric,
 * because ctrd takes no host names, and an IPv6 address needs its brackets,
 * or its last group could not be distinguished from the port.  Fills `ret_server`
 * only on success.
 */
int page_server_parse(const char *text, struct page_server *ret_server,
    struct cli_error *err);

/* Return `server` as the API's {"address": A, "port": P}, or NULL. */
json_t *page_server_to_json(const struct page_server *server);

#endif
