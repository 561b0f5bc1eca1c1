#include "table.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct table {
	const struct table_col *cols;
	size_t ncols;
	size_t *width;
	char *buf;			/* cells, NUL-terminated, back to back */
	size_t blen, bcap;
	uint32_t *cell;			/* offsets into buf */
	size_t ncells, ccap;
};

struct table *
table_new(const struct table_col *cols, size_t ncols)
{
	struct table *t;
	size_t i;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->width = calloc(ncols, sizeof(*t->width))) == NULL) {
		free(t);
		return NULL;
	}
	t->cols = cols;
	t->ncols = ncols;
	for (i = 0; i < ncols; i++)
		t->width[i] = strlen(cols[i].header);
	return t;
}

void
table_free(struct table *t)
{
	if (t == NULL)
		return;
	free(t->width);
	free(t->buf);
	free(t->cell);
	free(t);
}

static int
table_reserve(struct table *t, size_t len)
{
	size_t cap;
	void *p;

	if (t->ncells == t->ccap) {
		cap = t->ccap ? t->ccap * 2 : 1024;
		if ((p = realloc(t->cell, cap * sizeof(*t->cell))) == NULL)
			return -ENOMEM;
		t->cell = p;
		t->ccap = cap;
	}
	if (t->blen + len + 1 > t->bcap) {
		cap = t->bcap ? t->bcap : 16384;
		while (t->blen + len + 1 > cap)
			cap *= 2;
		if (cap > UINT32_MAX)
			return -ENOMEM;
		if ((p = realloc(t->buf, cap)) == NULL)
			return -ENOMEM;
		t->buf = p;
		t->bcap = cap;
	}
	return 0;
}

static void
table_commit(struct table *t, size_t len)
{
	size_t col = t->ncells % t->ncols;

	t->cell[t->ncells++] = (uint32_t)t->blen;
	t->blen += len + 1;
	if (len > t->width[col])
		t->width[col] = len;
}

int
table_add(struct table *t, const char *cell)
{
	size_t len = strlen(cell);

	if (table_reserve(t, len) < 0)
		return -ENOMEM;
	memcpy(t->buf + t->blen, cell, len + 1);
	table_commit(t, len);
	return 0;
}

int
table_addf(struct table *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || table_reserve(t, (size_t)n) < 0)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(t->buf + t->blen, (size_t)n + 1, fmt, ap);
	va_end(ap);
	table_commit(t, (size_t)n);
	return 0;
}

static void
table_pad(FILE *f, size_t n)
{
	static const char spaces[] = "                                "
	    "                                ";
	size_t k;

	while (n > 0) {
		k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
		fwrite_unlocked(spaces, 1, k, f);
		n -= k;
	}
}

/* Padding is written only before a cell that has text, so a line never
 * ends in spaces. */
static void
table_row(const struct table *t, FILE *f, const char *const *cells)
{
	size_t i, len, pending = 0;

	for (i = 0; i < t->ncols; i++) {
		len = strlen(cells[i]);
		if (t->cols[i].align == TABLE_RIGHT)
			pending += t->width[i] - len;
		if (len > 0) {
			table_pad(f, pending);
			fwrite_unlocked(cells[i], 1, len, f);
			pending = 0;
		}
		if (t->cols[i].align == TABLE_LEFT)
			pending += t->width[i] - len;
		pending += 2;
	}
	fputc_unlocked('\n', f);
}

int
table_print(const struct table *t, FILE *f)
{
	const char *cells[32];
	size_t r, i, nrows;

	if (t->ncols > sizeof(cells) / sizeof(cells[0]))
		return -EINVAL;
	for (i = 0; i < t->ncols; i++)
		cells[i] = t->cols[i].header;
	table_row(t, f, cells);
	nrows = t->ncells / t->ncols;
	for (r = 0; r < nrows; r++) {
		for (i = 0; i < t->ncols; i++)
			cells[i] = t->buf + t->cell[r * t->ncols + i];
		table_row(t, f, cells);
	}
	return ferror(f) ? -EIO : 0;
}
