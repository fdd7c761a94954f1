#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli_error.h"
#include "page_server.h"

#define PAGE_SERVER_PORT_MAX 65535

/* Parse a decimal TCP port from 1 to 65535, with no sign or spaces. */
static int
page_server_parse_port(const char *text, const char *port,
    unsigned int *ret_port, struct cli_error *err)
{
	unsigned long value;
	char *end;

	if (port[0] == '\0')
		return cli_error_set(err,
		    "invalid page server '%s': missing the port after ':'",
		    text);
	if (!isdigit((unsigned char)port[0]))
		return cli_error_set(err,
		    "invalid page server '%s': port '%s' is not a number",
		    text, port);
	value = strtoul(port, &end, 10);
	if (*end != '\0')
		return cli_error_set(err,
		    "invalid page server '%s': port '%s' is not a number",
		    text, port);
	if (value < 1 || value > PAGE_SERVER_PORT_MAX)
		return cli_error_set(err,
		    "invalid page server '%s': port %s is not from 1 to %d",
		    text, port, PAGE_SERVER_PORT_MAX);
	*ret_port = (unsigned int)value;
	return 0;
}

/* Check that the `len` bytes at `address` are a numeric address. */
static int
page_server_check_address(const char *text, const char *address,
    size_t len, int family, struct cli_error *err)
{
	char buf[INET6_ADDRSTRLEN];
	struct in6_addr binary;
	const char *kind = family == AF_INET6 ? "IPv6" : "IPv4";

	if (len == 0)
		return cli_error_set(err,
		    "invalid page server '%s': missing the address before the port",
		    text);
	if (len < sizeof(buf)) {
		memcpy(buf, address, len);
		buf[len] = '\0';
		if (inet_pton(family, buf, &binary) == 1)
			return 0;
	}
	return cli_error_set(err,
	    "invalid page server '%s': '%.*s' is not a numeric %s address",
	    text, (int)len, address, kind);
}

/* Split "[ADDR]:PORT".  Sets the address span and returns the port text. */
static const char *
page_server_split_bracketed(const char *text, size_t *ret_len,
    struct cli_error *err)
{
	const char *close = strchr(text, ']');

	if (close == NULL) {
		cli_error_set(err,
		    "invalid page server '%s': missing ']' after the IPv6 address",
		    text);
		return NULL;
	}
	if (close[1] != ':') {
		cli_error_set(err,
		    "invalid page server '%s': expected ':PORT' after ']'",
		    text);
		return NULL;
	}
	*ret_len = (size_t)(close - text - 1);
	return close + 2;
}

/* Split "ADDR:PORT" at its only ':'.  Returns the port text. */
static const char *
page_server_split_plain(const char *text, size_t *ret_len,
    struct cli_error *err)
{
	const char *colon = strrchr(text, ':');

	if (colon == NULL) {
		cli_error_set(err,
		    "invalid page server '%s': expected ADDR:PORT", text);
		return NULL;
	}
	if (memchr(text, ':', (size_t)(colon - text)) != NULL) {
		cli_error_set(err,
		    "invalid page server '%s': write an IPv6 address in brackets, as [ADDR]:PORT",
		    text);
		return NULL;
	}
	*ret_len = (size_t)(colon - text);
	return colon + 1;
}

int
page_server_parse(const char *text, struct page_server *ret_server,
    struct cli_error *err)
{
	bool bracketed = text[0] == '[';
	int family = bracketed ? AF_INET6 : AF_INET;
	const char *address = bracketed ? text + 1 : text;
	const char *port;
	unsigned int number = 0;
	size_t len;

	if (bracketed)
		port = page_server_split_bracketed(text, &len, err);
	else
		port = page_server_split_plain(text, &len, err);
	if (port == NULL)
		return -1;
	if (page_server_check_address(text, address, len, family, err) < 0)
		return -1;
	if (page_server_parse_port(text, port, &number, err) < 0)
		return -1;

	memcpy(ret_server->address, address, len);
	ret_server->address[len] = '\0';
	ret_server->family = family;
	ret_server->port = number;
	return 0;
}

json_t *
page_server_to_json(const struct page_server *server)
{
	return json_pack("{s:s, s:I}", "address", server->address, "port",
	    (json_int_t)server->port);
}
