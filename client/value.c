#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "value.h"

void
value_print_text(FILE *out, const char *text)
{
	const unsigned char *p;

	for (p = (const unsigned char *)text; *p != '\0'; p++)
		fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, out);
}

void
value_print(FILE *out, const json_t *value)
{
	switch (json_typeof(value)) {
	case JSON_STRING:
		value_print_text(out, json_string_value(value));
		break;
	case JSON_INTEGER:
		fprintf(out, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(value));
		break;
	case JSON_REAL:
		fprintf(out, "%g", json_real_value(value));
		break;
	case JSON_TRUE:
		fputs("true", out);
		break;
	case JSON_FALSE:
		fputs("false", out);
		break;
	case JSON_NULL:
		fputs("-", out);
		break;
	case JSON_OBJECT:
	case JSON_ARRAY:
		json_dumpf(value, out, JSON_COMPACT);
		break;
	}
}

static bool
value_is_word(const char *text)
{
	const unsigned char *c;

	if (text[0] == '\0')
		return false;
	for (c = (const unsigned char *)text; *c != '\0'; c++) {
		if (*c <= ' ' || *c == '"' || *c == '\\' || *c == 0x7f)
			return false;
	}
	return true;
}

void
value_print_token(FILE *out, const json_t *value)
{
	if (json_is_string(value) && !value_is_word(json_string_value(value)))
		json_dumpf(value, out, JSON_COMPACT | JSON_ENCODE_ANY);
	else
		value_print(out, value);
}
