/* Aligned text tables for a terminal: collect cells, size columns to the
 * data, print through one buffered stream. */
#ifndef SW_TABLE_H
#define SW_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum table_align { TABLE_LEFT, TABLE_RIGHT };

struct table_col {
	const char *header;
	enum table_align align;
};

struct table;

struct table *table_new(const struct table_col *cols, size_t ncols);
void table_free(struct table *t);
/* Append the next cell; rows wrap every ncols cells. 0 or -ENOMEM. */
int table_add(struct table *t, const char *cell);
int table_addf(struct table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The fast paths: a cell of known length, and an unsigned number. */
int table_add_n(struct table *t, const char *cell, size_t len);
int table_add_u64(struct table *t, uint64_t v);
/* Print the header and every row; 0 or -EIO. */
int table_print(const struct table *t, FILE *f);

#endif
