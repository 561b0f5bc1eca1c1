#include "table.h"

#include "../common/util.h"

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
	util_bigfree(t->buf, t->bcap);
	util_bigfree(t->cell, t->ccap * sizeof(*t->cell));
	free(t);
}

static int
table_reserve(struct table *t, size_t len)
{
	size_t cap;
	void *p;

	if (t->ncells == t->ccap) {
		cap = t->ccap ? t->ccap * 2 : 4096;
		p = util_bigrealloc(t->cell, t->ccap * sizeof(*t->cell),
		    cap * sizeof(*t->cell));
		if (p == NULL)
			return -ENOMEM;
		t->cell = p;
		t->ccap = cap;
	}
	if (t->blen + len + 1 > t->bcap) {
		cap = t->bcap ? t->bcap : 65536;
		while (t->blen + len + 1 > cap)
			cap *= 2;
		if (cap > UINT32_MAX)
			return -ENOMEM;
		if ((p = util_bigrealloc(t->buf, t->bcap, cap)) == NULL)
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
table_add_n(struct table *t, const char *cell, size_t len)
{
	if (table_reserve(t, len) < 0)
		return -ENOMEM;
	memcpy(t->buf + t->blen, cell, len);
	t->buf[t->blen + len] = '\0';
	table_commit(t, len);
	return 0;
}

int
table_add(struct table *t, const char *cell)
{
	return table_add_n(t, cell, strlen(cell));
}

int
table_add_u64(struct table *t, uint64_t v)
{
	char buf[24];
	size_t n = sizeof(buf);

	do {
		buf[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return table_add_n(t, buf + n, sizeof(buf) - n);
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

/* Output is assembled here and handed to stdio in large writes. */
struct table_out {
	FILE *f;
	char buf[256 * 1024];
	size_t len;
};

static void
out_flush(struct table_out *o)
{
	fwrite_unlocked(o->buf, 1, o->len, o->f);
	o->len = 0;
}

static void
out_put(struct table_out *o, const char *p, size_t n)
{
	size_t k;

	while (n > 0) {
		if (o->len == sizeof(o->buf))
			out_flush(o);
		k = sizeof(o->buf) - o->len;
		if (k > n)
			k = n;
		memcpy(o->buf + o->len, p, k);
		o->len += k;
		p += k;
		n -= k;
	}
}

static void
out_spaces(struct table_out *o, size_t n)
{
	size_t k;

	while (n > 0) {
		if (o->len == sizeof(o->buf))
			out_flush(o);
		k = sizeof(o->buf) - o->len;
		if (k > n)
			k = n;
		memset(o->buf + o->len, ' ', k);
		o->len += k;
		n -= k;
	}
}

/* Padding is written only before a cell that has text, so a line never
 * ends in spaces. */
static void
table_row(const struct table *t, struct table_out *o,
    const char *const *cells, const size_t *lens)
{
	size_t i, pending = 0;

	for (i = 0; i < t->ncols; i++) {
		if (t->cols[i].align == TABLE_RIGHT)
			pending += t->width[i] - lens[i];
		if (lens[i] > 0) {
			out_spaces(o, pending);
			out_put(o, cells[i], lens[i]);
			pending = 0;
		}
		if (t->cols[i].align == TABLE_LEFT)
			pending += t->width[i] - lens[i];
		pending += 2;
	}
	out_put(o, "\n", 1);
}

int
table_print(const struct table *t, FILE *f)
{
	const char *cells[32];
	size_t lens[32], r, i, k, nrows, end;
	struct table_out *o;

	if (t->ncols > sizeof(cells) / sizeof(cells[0]))
		return -EINVAL;
	if ((o = malloc(sizeof(*o))) == NULL)
		return -ENOMEM;
	o->f = f;
	o->len = 0;
	for (i = 0; i < t->ncols; i++) {
		cells[i] = t->cols[i].header;
		lens[i] = strlen(cells[i]);
	}
	table_row(t, o, cells, lens);
	nrows = t->ncells / t->ncols;
	for (r = 0; r < nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			k = r * t->ncols + i;
			/* Cells lie back to back, each with its NUL. */
			end = k + 1 < t->ncells ? t->cell[k + 1] : t->blen;
			cells[i] = t->buf + t->cell[k];
			lens[i] = end - t->cell[k] - 1;
		}
		table_row(t, o, cells, lens);
	}
	out_flush(o);
	free(o);
	return ferror(f) ? -EIO : 0;
}
