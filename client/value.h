/* JSON values printed for a person to read. */
#ifndef CTRD_CLI_VALUE_H
#define CTRD_CLI_VALUE_H

#include <stdio.h>

#include <jansson.h>

/*
 * Print `value` as plain text: a string through value_print_text(), null
 * as "-", a number or
 * boolean as JSON writes it, an array or object as compact JSON.
 */
void value_print(FILE *out, const json_t *value);

/*
 * Print `text` with every control character written as '?', so a string
 * from ctrd, such as an images_dir a client chose, cannot forge output
 * lines or send escape sequences to the terminal.
 */
void value_print_text(FILE *out, const char *text);

/*
 * Print `value` as the right-hand side of a key=value pair.  Like
 * value_print(), except that a string that is empty or contains spaces,
 * quotes, backslashes or control characters is printed as a JSON string, so
 * the pair stays one word.
 */
void value_print_token(FILE *out, const json_t *value);

#endif
