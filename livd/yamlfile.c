/* A YAML file loaded with libyaml, with errors that name FILE:LINE. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "yamlfile.h"

#define YAMLFILE_MAX (4 * 1024 * 1024)

static void
error_at(struct yamlerr *err, const char *path, size_t line, const char *fmt,
    va_list ap)
{
	int n;

	n = snprintf(err->text, err->size, "%s:%zu: ", path, line);
	if (n >= 0 && (size_t)n < err->size)
		vsnprintf(err->text + n, err->size - (size_t)n, fmt, ap);
}

static int
error_line(struct yamlerr *err, const char *path, size_t line,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_at(err, path, line, fmt, ap);
	va_end(ap);
	return -1;
}

/* Parse text as one YAML document; path is used in messages only. */
int
yamlfile_load(struct yamlfile *yf, const char *path, const char *text,
    size_t len, struct yamlerr *err)
{
	yaml_parser_t parser;
	int rc = 0;

	memset(yf, 0, sizeof *yf);
	yf->path = path;
	if (!yaml_parser_initialize(&parser))
		return error_line(err, path, 1, "cannot start the YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &yf->doc)) {
		size_t line = parser.problem_mark.line + 1;

		if (parser.context != NULL)
			rc = error_line(err, path, line, "%s %s", parser.context,
			    parser.problem ? parser.problem : "");
		else
			rc = error_line(err, path, line, "%s",
			    parser.problem ? parser.problem : "invalid YAML");
	} else
		yf->loaded = true;
	yaml_parser_delete(&parser);
	return rc;
}

/* Read a whole file (up to a limit) into b. */
int
yamlfile_slurp(const char *path, struct buf *b, struct yamlerr *err)
{
	FILE *f;
	char chunk[8192];
	size_t n;

	buf_init(b);
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err->text, err->size, "%s:0: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		buf_add(b, chunk, n);
		if (b->len > YAMLFILE_MAX) {
			fclose(f);
			buf_free(b);
			return error_line(err, path, 0, "file too large");
		}
	}
	if (ferror(f)) {
		snprintf(err->text, err->size, "%s:0: %s", path, strerror(errno));
		fclose(f);
		buf_free(b);
		return -1;
	}
	fclose(f);
	buf_add(b, "", 0);
	return 0;
}

/* Read a file and parse it. */
int
yamlfile_read(struct yamlfile *yf, const char *path, struct yamlerr *err)
{
	struct buf b;
	int rc;

	memset(yf, 0, sizeof *yf);
	if (yamlfile_slurp(path, &b, err) != 0)
		return -1;
	rc = yamlfile_load(yf, path, b.data, b.len, err);
	buf_free(&b);
	return rc;
}

void
yamlfile_free(struct yamlfile *yf)
{
	if (yf->loaded)
		yaml_document_delete(&yf->doc);
	yf->loaded = false;
}

/* The top node, or NULL for an empty file. */
yaml_node_t *
yamlfile_root(struct yamlfile *yf)
{
	return yf->loaded ? yaml_document_get_root_node(&yf->doc) : NULL;
}

yaml_node_t *
yamlfile_node(struct yamlfile *yf, int index)
{
	return yaml_document_get_node(&yf->doc, index);
}

int
yamlfile_line(const yaml_node_t *node)
{
	return (int)node->start_mark.line + 1;
}

/* A scalar's text, or NULL when the node is not a scalar. */
const char *
yamlfile_scalar(const yaml_node_t *node)
{
	if (node == NULL || node->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)node->data.scalar.value;
}

int
yamlfile_error(struct yamlfile *yf, const yaml_node_t *node,
    struct yamlerr *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_at(err, yf->path, node ? (size_t)yamlfile_line(node) : 1, fmt, ap);
	va_end(ap);
	return -1;
}

/* YAML 1.1's spellings of true and false. */
int
yamlfile_bool(struct yamlfile *yf, yaml_node_t *node, bool *out,
    struct yamlerr *err)
{
	static const char *yes[] = { "true", "True", "TRUE", "yes", "Yes",
	    "YES", "on", "On", "ON" };
	static const char *no[] = { "false", "False", "FALSE", "no", "No",
	    "NO", "off", "Off", "OFF" };
	const char *s = yamlfile_scalar(node);

	if (s != NULL) {
		for (size_t i = 0; i < countof(yes); i++) {
			if (strcmp(s, yes[i]) == 0) {
				*out = true;
				return 0;
			}
			if (strcmp(s, no[i]) == 0) {
				*out = false;
				return 0;
			}
		}
	}
	return yamlfile_error(yf, node, err, "expected true or false");
}
