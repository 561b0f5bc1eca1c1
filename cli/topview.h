/* sockwatch top's view of the daemon's answers, without a terminal: the
 * panes, their columns and sort keys, the address filter, column widths,
 * the lines of text each row and the header become, and how the screen's
 * rows are shared. The ncurses side (top.c) only puts these lines up. */
#ifndef SW_TOPVIEW_H
#define SW_TOPVIEW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "../common/addr.h"

enum top_pane { TOP_ALERTS, TOP_BANS, TOP_PEERS, TOP_LISTENERS, TOP_NPANES };

#define TOP_MAXCOLS	8
#define TOP_LINE_MAX	1024	/* widest line drawn, NUL included */
#define TOP_HEADER_LINES 3	/* the daemon's state and counters */
#define TOP_CHROME	5	/* header, the pane bar, the key line */
#define TOP_FILTER_MAX	64

struct top_filter {
	char text[TOP_FILTER_MAX];	/* empty: everything passes */
	bool is_cidr;
	struct cidr cidr;
};

const char *topview_pane_name(enum top_pane p);
/* The pane's sort keys: their count, and the name of key k. */
size_t topview_nsorts(enum top_pane p);
const char *topview_sort_name(enum top_pane p, size_t k);

/* The address a row is about (alert peer, ban, peer, listener's local
 * address), or NULL. The one b/u block and / filters on. */
const char *topview_row_addr(enum top_pane p, const json_t *row);

/* An address or CIDR matches the addresses inside it; anything else is a
 * substring of the address's text. 0, or -EINVAL if text is too long. */
int topview_filter_set(struct top_filter *f, const char *text);
bool topview_match(const struct top_filter *f, enum top_pane p,
    const json_t *row);

/* The rows of arr that pass f, ordered by sort key k, as indexes into
 * arr; *ret_n of them. 0 or -ENOMEM (*ret_idx is then NULL). */
int topview_select(enum top_pane p, const json_t *arr, size_t k,
    const struct top_filter *f, size_t **ret_idx, size_t *ret_n);

/* Column widths for rows (indexes into arr) in cols columns: sized to
 * the data between each column's least and most, the last one taking
 * what is left; columns that do not fit at their least are dropped
 * (width 0). Returns how many columns the pane has. */
size_t topview_widths(enum top_pane p, const json_t *arr, const size_t *idx,
    size_t n, size_t cols, size_t *ret_widths);
/* The column header and one row, cut or padded to exactly cols
 * characters (cols < TOP_LINE_MAX), printable ASCII only. */
void topview_header_line(enum top_pane p, const size_t *widths, size_t cols,
    char *buf);
void topview_row_line(enum top_pane p, const json_t *row,
    const size_t *widths, size_t cols, char *buf);

/* Make s printable ASCII in place ('?' for the rest): the daemon's and
 * peers' words must not drive the terminal. Returns strlen(s). */
size_t topview_printable(char *s);

/* The header's lines from a status answer, each cut to cols; NULL status:
 * none yet. */
void topview_status_lines(const json_t *status, size_t nbans,
    size_t cols, char lines[TOP_HEADER_LINES][TOP_LINE_MAX]);

/* How many rows of a screen of height rows each pane's table gets (its
 * title and column header not counted; 0: not shown): every pane
 * stacked when each can show a few rows, else only the focused one. */
void topview_layout(size_t rows, enum top_pane focus,
    size_t ret_rows[TOP_NPANES]);

/* The first row to show so that sel is visible in height rows, moving
 * as little as possible from top. */
size_t topview_scroll(size_t top, size_t sel, size_t n, size_t height);

#endif
