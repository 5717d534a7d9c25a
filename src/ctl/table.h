/*
 * table.h — aligned text tables, the way seamctl shows lists to people.
 *
 * Columns are as wide as their widest cell (measured in characters, not
 * bytes, so names in UTF-8 line up), separated by two spaces; a header
 * written ">NAME" is right-aligned (numbers). The last column is never
 * padded, so lines carry no trailing blanks. Cells are copied; a newline or
 * tab inside a cell becomes a space, so one row is always one line.
 */
#ifndef SEAM_CTL_TABLE_H
#define SEAM_CTL_TABLE_H

#include <stdio.h>
#include <stddef.h>

struct ctl_table;

struct ctl_table *ctl_table_new(int ncols, const char *const *headers);
void ctl_table_free(struct ctl_table *t);
/* A row of ncols cells; NULL cells print as "-". 0 or -ENOMEM. */
int ctl_table_add(struct ctl_table *t, const char *const *cells);
/* The same with the cells as arguments (exactly ncols of them). */
int ctl_table_addv(struct ctl_table *t, ...);
size_t ctl_table_rows(const struct ctl_table *t);
/* Header and rows; `empty` (if not NULL) instead when there are no rows. */
void ctl_table_print(const struct ctl_table *t, FILE *f, const char *empty);
/* Display width of a UTF-8 string (characters). */
size_t ctl_text_width(const char *s);

#endif
