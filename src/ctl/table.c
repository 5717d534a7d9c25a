/*
 * table.c — see table.h. Rows are kept as one flat array of owned strings.
 */
#include "table.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct ctl_table {
	int ncols;
	char **head;
	bool *right;
	char **cells; /* nrows * ncols */
	size_t nrows, cap;
};

size_t ctl_text_width(const char *s)
{
	size_t n = 0;

	for (; s && *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static char *table_cell_dup(const char *s)
{
	char *d = strdup(s && s[0] ? s : "-"), *p;

	for (p = d; p && *p; p++)
		if (*p == '\n' || *p == '\t' || *p == '\r')
			*p = ' ';
	return d;
}

struct ctl_table *ctl_table_new(int ncols, const char *const *headers)
{
	struct ctl_table *t = calloc(1, sizeof(*t));
	int i;

	if (!t)
		return NULL;
	t->ncols = ncols;
	t->head = calloc((size_t)ncols, sizeof(*t->head));
	t->right = calloc((size_t)ncols, sizeof(*t->right));
	if (!t->head || !t->right) {
		ctl_table_free(t);
		return NULL;
	}
	for (i = 0; i < ncols; i++) {
		const char *h = headers[i];

		t->right[i] = h[0] == '>';
		t->head[i] = table_cell_dup(h + (t->right[i] ? 1 : 0));
	}
	return t;
}

void ctl_table_free(struct ctl_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; t->head && i < (size_t)t->ncols; i++)
		free(t->head[i]);
	for (i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->head);
	free(t->right);
	free(t);
}

int ctl_table_add(struct ctl_table *t, const char *const *cells)
{
	size_t base = t->nrows * (size_t)t->ncols;
	int i;

	if (t->nrows == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 16;
		char **n =
		    realloc(t->cells, nc * (size_t)t->ncols * sizeof(*n));

		if (!n)
			return -ENOMEM;
		t->cells = n;
		t->cap = nc;
	}
	for (i = 0; i < t->ncols; i++)
		t->cells[base + (size_t)i] = table_cell_dup(cells[i]);
	t->nrows++;
	return 0;
}

int ctl_table_addv(struct ctl_table *t, ...)
{
	const char *cells[64];
	va_list ap;
	int i;

	if (t->ncols > 64)
		return -EINVAL;
	va_start(ap, t);
	for (i = 0; i < t->ncols; i++)
		cells[i] = va_arg(ap, const char *);
	va_end(ap);
	return ctl_table_add(t, cells);
}

size_t ctl_table_rows(const struct ctl_table *t)
{
	return t->nrows;
}

static void table_put(FILE *f, const char *s, size_t width, bool right,
		      bool last)
{
	size_t w = ctl_text_width(s), pad = width > w ? width - w : 0;

	if (right)
		fprintf(f, "%*s", (int)pad, "");
	fputs(s, f);
	if (!right && !last)
		fprintf(f, "%*s", (int)pad, "");
}

static void table_line(const struct ctl_table *t, FILE *f, char *const *row,
		       const size_t *width)
{
	int i;

	for (i = 0; i < t->ncols; i++) {
		if (i)
			fputs("  ", f);
		table_put(f, row[i], width[i], t->right[i], i == t->ncols - 1);
	}
	fputc('\n', f);
}

void ctl_table_print(const struct ctl_table *t, FILE *f, const char *empty)
{
	size_t *width, r;
	int i;

	if (t->nrows == 0 && empty) {
		fprintf(f, "%s\n", empty);
		return;
	}
	width = calloc((size_t)t->ncols, sizeof(*width));
	if (!width)
		return;
	for (i = 0; i < t->ncols; i++) {
		width[i] = ctl_text_width(t->head[i]);
		for (r = 0; r < t->nrows; r++) {
			size_t w = ctl_text_width(
			    t->cells[r * (size_t)t->ncols + (size_t)i]);

			if (w > width[i])
				width[i] = w;
		}
	}
	table_line(t, f, t->head, width);
	for (r = 0; r < t->nrows; r++)
		table_line(t, f, t->cells + r * (size_t)t->ncols, width);
	free(width);
}
