/* ctrd events printed as one readable line each. */
#ifndef CTRD_CLI_EVENT_LINE_H
#define CTRD_CLI_EVENT_LINE_H

#include <stdio.h>

#include <jansson.h>

/*
 * Print `event` as "HH:MM:SS.mmm JOB EVENT DETAILS" and a newline.  The
 * time is the UTC time of day in the event's "time".  The details are the
 * event's other members as key=value pairs, except that a notify event
 * leads with the hook name alone and a failed event ends with
 * "code=CODE: MESSAGE" followed by its log lines, each indented by four
 * spaces.
 */
void event_line_print(FILE *out, json_t *event);

#endif
