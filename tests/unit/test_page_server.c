/* Unit tests for ctrd-cli's parsing of --page-server ADDR:PORT. */
#include <sys/socket.h>

#include <string.h>

#include <jansson.h>

#include "cli_error.h"
#include "page_server.h"
#include "unit.h"

/* Text that parses, and what it must parse to. */
struct valid_case {
	const char *name;
	const char *text;
	const char *address;
	int family;
	unsigned int port;
};

static const struct valid_case valid_cases[] = {
	{ "ipv4", "10.213.0.1:27000", "10.213.0.1", AF_INET, 27000 },
	{ "ipv4 lowest port", "127.0.0.1:1", "127.0.0.1", AF_INET, 1 },
	{ "ipv4 highest port", "0.0.0.0:65535", "0.0.0.0", AF_INET, 65535 },
	{ "port with leading zero", "10.0.0.1:080", "10.0.0.1", AF_INET, 80 },
	{ "ipv6 loopback", "[::1]:27000", "::1", AF_INET6, 27000 },
	{ "ipv6 full", "[fd00:0:0:0:0:0:0:2]:9", "fd00:0:0:0:0:0:0:2",
	    AF_INET6, 9 },
	{ "ipv6 any", "[::]:443", "::", AF_INET6, 443 },
	{ "ipv6 mapped ipv4", "[::ffff:10.0.0.1]:22", "::ffff:10.0.0.1",
	    AF_INET6, 22 },
};

/* Text that must be rejected, and a part of the message it must give. */
struct invalid_case {
	const char *name;
	const char *text;
	const char *message;
};

static const struct invalid_case invalid_cases[] = {
	{ "empty", "", "expected ADDR:PORT" },
	{ "no port", "10.0.0.1", "expected ADDR:PORT" },
	{ "empty port", "10.0.0.1:", "missing the port" },
	{ "empty address", ":27000", "missing the address" },
	{ "port zero", "10.0.0.1:0", "not from 1 to 65535" },
	{ "port too high", "10.0.0.1:65536", "not from 1 to 65535" },
	{ "port far too high", "10.0.0.1:99999999999999999999",
	    "not from 1 to 65535" },
	{ "negative port", "10.0.0.1:-1", "is not a number" },
	{ "signed port", "10.0.0.1:+80", "is not a number" },
	{ "port with space", "10.0.0.1: 80", "is not a number" },
	{ "port with suffix", "10.0.0.1:80x", "is not a number" },
	{ "host name", "localhost:80", "not a numeric IPv4 address" },
	{ "short ipv4", "10.0.1:80", "not a numeric IPv4 address" },
	{ "ipv4 octet too big", "10.0.0.256:80", "not a numeric IPv4 address" },
	{ "ipv6 without brackets", "::1:80", "in brackets" },
	{ "ipv6 without port", "[::1]", "expected ':PORT' after ']'" },
	{ "ipv6 no closing bracket", "[::1:80", "missing ']'" },
	{ "ipv6 empty brackets", "[]:80", "missing the address" },
	{ "ipv4 in brackets", "[10.0.0.1]:80", "not a numeric IPv6 address" },
	{ "ipv6 scope id", "[fe80::1%eth0]:80", "not a numeric IPv6 address" },
	{ "ipv6 too long",
	    "[0000:0000:0000:0000:0000:0000:0000:0000:0000:0000]:80",
	    "not a numeric IPv6 address" },
	{ "ipv6 text after port", "[::1]:80]", "is not a number" },
};

static void
test_valid(void **state)
{
	const struct valid_case *c = *state;
	struct page_server server;
	struct cli_error err;

	assert_int_equal(page_server_parse(c->text, &server, &err), 0);
	assert_string_equal(server.address, c->address);
	assert_int_equal(server.family, c->family);
	assert_int_equal(server.port, c->port);
}

static void
test_invalid(void **state)
{
	const struct invalid_case *c = *state;
	struct page_server server;
	struct cli_error err;

	memset(&server, 0x5a, sizeof(server));
	assert_int_equal(page_server_parse(c->text, &server, &err), -1);
	if (strstr(err.message, c->message) == NULL)
		fail_msg("message '%s' lacks '%s'", err.message, c->message);
	/* The message quotes the text as given. */
	if (c->text[0] != '\0' && strstr(err.message, c->text) == NULL)
		fail_msg("message '%s' does not quote '%s'", err.message,
		    c->text);
	/* A rejected text leaves the output untouched. */
	assert_int_equal((unsigned char)server.address[0], 0x5a);
}

/* The API takes {"address": A, "port": P}, without brackets. */
static void
test_to_json(void **state)
{
	struct page_server server;
	struct cli_error err;
	json_t *json;

	assert_int_equal(page_server_parse("[fd00::2]:27001", &server, &err),
	    0);
	json = page_server_to_json(&server);
	assert_non_null(json);
	assert_int_equal(json_object_size(json), 2);
	assert_string_equal(json_string_value(json_object_get(json,
	    "address")), "fd00::2");
	assert_int_equal(json_integer_value(json_object_get(json, "port")),
	    27001);
	json_decref(json);
}

int
main(void)
{
	struct CMUnitTest tests[ARRAY_SIZE(valid_cases) +
	    ARRAY_SIZE(invalid_cases) + 1];
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(valid_cases); i++)
		tests[n++] = (struct CMUnitTest)UNIT_TEST(valid_cases[i].name,
		    test_valid, &valid_cases[i]);
	for (i = 0; i < ARRAY_SIZE(invalid_cases); i++)
		tests[n++] = (struct CMUnitTest)UNIT_TEST(
		    invalid_cases[i].name, test_invalid, &invalid_cases[i]);
	tests[n++] = (struct CMUnitTest)UNIT_TEST("json without brackets",
	    test_to_json, NULL);
	return cmocka_run_group_tests_name("page_server", tests, NULL, NULL);
}
