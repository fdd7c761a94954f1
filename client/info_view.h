/* ctrd's info result printed for a person to read. */
#ifndef CTRD_CLI_INFO_VIEW_H
#define CTRD_CLI_INFO_VIEW_H

#include <stdio.h>

#include <jansson.h>

/*
 * Print `info` as aligned "key: value" lines, naming nested members with
 * dotted keys such as "criu.version".
 */
void info_view_print(FILE *out, json_t *info);

#endif
