#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "info_view.h"
#include "value.h"

/* Dotted keys longer than this, counting the NUL, are cut. */
#define INFO_VIEW_KEY_MAX 256

/* One pass over the info object: measuring the keys, or printing rows. */
struct info_view_pass {
	FILE *out;
	bool print;
	size_t width;
	char key[INFO_VIEW_KEY_MAX];
};

static void
info_view_visit(struct info_view_pass *pass, json_t *value)
{
	size_t len = strlen(pass->key);

	if (!pass->print) {
		if (len > pass->width)
			pass->width = len;
		return;
	}
	fprintf(pass->out, "%s:%*s", pass->key, (int)(pass->width - len + 1),
	    "");
	value_print(pass->out, value);
	fputc('\n', pass->out);
}

/* Visit each member that is not a non-empty object, under `pass->key`. */
static void
info_view_walk(struct info_view_pass *pass, json_t *object, size_t len)
{
	const char *name;
	json_t *value;
	size_t end;
	int n;

	json_object_foreach(object, name, value) {
		n = snprintf(pass->key + len, sizeof(pass->key) - len, "%s%s",
		    len > 0 ? "." : "", name);
		end = len + (size_t)(n > 0 ? n : 0);
		if (end >= sizeof(pass->key))
			end = sizeof(pass->key) - 1;
		if (json_is_object(value) && json_object_size(value) > 0)
			info_view_walk(pass, value, end);
		else
			info_view_visit(pass, value);
		pass->key[len] = '\0';
	}
}

void
info_view_print(FILE *out, json_t *info)
{
	struct info_view_pass pass = { .out = out };

	info_view_walk(&pass, info, 0);
	pass.print = true;
	info_view_walk(&pass, info, 0);
}
