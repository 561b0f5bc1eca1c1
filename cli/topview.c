#define _GNU_SOURCE		/* qsort_r */
#include "topview.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/duration.h"

#define CELL_MAX	256

struct top_col {
	const char *header;
	unsigned char min, max;	/* the last column takes what is left */
	bool right;
};

static const struct top_col alert_cols[] = {
	{ "Time", 8, 8, false }, { "Sev", 4, 4, false },
	{ "Kind", 4, 10, false }, { "Peer", 7, 39, false },
	{ "Action", 5, 8, false }, { "Message", 10, 255, false },
};
static const struct top_col ban_cols[] = {
	{ "Address", 7, 43, false }, { "Source", 6, 9, false },
	{ "Left", 4, 9, true }, { "Count", 5, 5, true },
	{ "Reason", 6, 255, false },
};
static const struct top_col peer_cols[] = {
	{ "Peer", 7, 39, false }, { "Pkts-In", 7, 9, true },
	{ "Bytes-In", 8, 9, true }, { "SYNs", 4, 8, true },
	{ "Ports", 5, 7, true }, { "Probes", 6, 24, false },
	{ "Lists", 5, 17, false },
};
static const struct top_col listener_cols[] = {
	{ "Proto", 5, 5, false }, { "Local", 9, 47, false },
	{ "State", 5, 6, false }, { "Uid", 3, 6, true },
	{ "Process", 7, 255, false },
};

static const struct {
	const char *name;
	const struct top_col *cols;
	size_t ncols;
	const char *sorts[5];
} panes[TOP_NPANES] = {
	[TOP_ALERTS] = { "Alerts", alert_cols, 6,
	    { "time", "severity", "kind", "peer", NULL } },
	[TOP_BANS] = { "Bans", ban_cols, 5,
	    { "left", "created", "address", "count", NULL } },
	[TOP_PEERS] = { "Peers", peer_cols, 7,
	    { "packets", "bytes", "ports", "syn", NULL } },
	[TOP_LISTENERS] = { "Listeners", listener_cols, 5,
	    { "port", "proto", "process", "address", NULL } },
};

const char *
topview_pane_name(enum top_pane p)
{
	return panes[p].name;
}

size_t
topview_nsorts(enum top_pane p)
{
	size_t k = 0;

	while (k < 5 && panes[p].sorts[k] != NULL)
		k++;
	return k;
}

const char *
topview_sort_name(enum top_pane p, size_t k)
{
	return k < topview_nsorts(p) ? panes[p].sorts[k] : "?";
}

static const char *
jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static json_int_t
jint(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

const char *
topview_row_addr(enum top_pane p, const json_t *row)
{
	switch (p) {
	case TOP_ALERTS:
		return jstr(row, "peer");
	case TOP_BANS:
	case TOP_PEERS:
		return jstr(row, "addr");
	case TOP_LISTENERS:
		return jstr(row, "local_addr");
	default:
		return NULL;
	}
}

int
topview_filter_set(struct top_filter *f, const char *text)
{
	if (strlen(text) >= sizeof(f->text))
		return -EINVAL;
	memset(f, 0, sizeof(*f));
	snprintf(f->text, sizeof(f->text), "%s", text);
	f->is_cidr = cidr_parse(text, &f->cidr) == 0;
	return 0;
}

bool
topview_match(const struct top_filter *f, enum top_pane p, const json_t *row)
{
	const char *s;
	struct cidr c;
	struct addr a;

	if (f == NULL || f->text[0] == '\0')
		return true;
	if ((s = topview_row_addr(p, row)) == NULL)
		return false;
	if (!f->is_cidr)
		return strstr(s, f->text) != NULL;
	if (addr_parse(s, &a) == 0)
		return cidr_contains(&f->cidr, &a);
	/* A prefix ban: inside the filter's, as the daemon picks them. */
	return cidr_parse(s, &c) == 0 && c.addr.family ==
	    f->cidr.addr.family && c.len >= f->cidr.len &&
	    cidr_contains(&f->cidr, &c.addr);
}

/* ---- sorting ------------------------------------------------------------ */

struct sort_ctx {
	enum top_pane pane;
	size_t key;
};

/* A row to sort and its address, parsed once before sorting: parsing in
 * the comparison cost 0.21 s a redraw with 100,000 bans. */
struct sort_row {
	size_t i;
	const json_t *row;
	const char *text;	/* topview_row_addr */
	bool parsed;
	struct cidr addr;
};

/* Addresses in numeric order (IPv4 first); text that is none, after. */
static int
addr_cmp(const struct sort_row *x, const struct sort_row *y)
{
	if (x->parsed && y->parsed)
		return cidr_compare(&x->addr, &y->addr);
	if (x->parsed != y->parsed)
		return x->parsed ? -1 : 1;
	return strcmp(x->text ? x->text : "", y->text ? y->text : "");
}

static int
int_desc(json_int_t x, json_int_t y)
{
	return x > y ? -1 : x < y;
}

static int
str_cmp(const char *x, const char *y)
{
	return strcmp(x ? x : "", y ? y : "");
}

static int
severity_rank(const char *s)
{
	if (s == NULL)
		return 0;
	if (strcmp(s, "critical") == 0)
		return 3;
	if (strcmp(s, "warning") == 0)
		return 2;
	return 1;
}

static const char *
first_comm(const json_t *row)
{
	return jstr(json_array_get(json_object_get(row, "processes"), 0),
	    "comm");
}

static int
alert_cmp(size_t key, const struct sort_row *rx, const struct sort_row *ry)
{
	const json_t *x = rx->row, *y = ry->row;
	int c = 0;

	if (key == 1)
		c = severity_rank(jstr(y, "severity")) -
		    severity_rank(jstr(x, "severity"));
	else if (key == 2)
		c = str_cmp(jstr(x, "kind"), jstr(y, "kind"));
	else if (key == 3)
		c = addr_cmp(rx, ry);
	/* Then, and by "time", the newest first. */
	return c != 0 ? c : int_desc(jint(x, "id"), jint(y, "id"));
}

static int
ban_cmp(size_t key, const struct sort_row *rx, const struct sort_row *ry)
{
	const json_t *x = rx->row, *y = ry->row;
	const json_t *lx = json_object_get(x, "left_s"),
	    *ly = json_object_get(y, "left_s");
	int c = 0;

	if (key == 0) {
		/* Permanent bans (no time left) first. */
		if (json_is_integer(lx) != json_is_integer(ly))
			return json_is_integer(lx) ? 1 : -1;
		c = int_desc(json_integer_value(lx), json_integer_value(ly));
		/* In the second: the latest to expire, as the daemon picks
		 * its first bans. */
		if (c == 0)
			c = -str_cmp(jstr(x, "expires"), jstr(y, "expires"));
	} else if (key == 1)
		c = -str_cmp(jstr(x, "created"), jstr(y, "created"));
	else if (key == 3)
		c = int_desc(jint(x, "count"), jint(y, "count"));
	return c != 0 ? c : addr_cmp(rx, ry);
}

static int
peer_cmp(size_t key, const struct sort_row *rx, const struct sort_row *ry)
{
	static const char *const keys[] = { "packets_in", "bytes_in",
	    "ports", "syns" };
	int c;

	c = int_desc(jint(rx->row, keys[key]), jint(ry->row, keys[key]));
	return c != 0 ? c : addr_cmp(rx, ry);
}

static int
listener_cmp(size_t key, const struct sort_row *rx,
    const struct sort_row *ry)
{
	const json_t *x = rx->row, *y = ry->row;
	int c = 0;

	if (key == 1)
		c = str_cmp(jstr(x, "proto"), jstr(y, "proto"));
	else if (key == 2)
		c = str_cmp(first_comm(x), first_comm(y));
	else if (key == 3)
		c = addr_cmp(rx, ry);
	if (c == 0)
		c = -int_desc(jint(x, "local_port"), jint(y, "local_port"));
	return c != 0 ? c : str_cmp(jstr(x, "proto"), jstr(y, "proto"));
}

static int
row_cmp(const void *a, const void *b, void *arg)
{
	const struct sort_ctx *s = arg;
	const struct sort_row *x = a, *y = b;
	int c;

	switch (s->pane) {
	case TOP_ALERTS:
		c = alert_cmp(s->key, x, y);
		break;
	case TOP_BANS:
		c = ban_cmp(s->key, x, y);
		break;
	case TOP_PEERS:
		c = peer_cmp(s->key, x, y);
		break;
	default:
		c = listener_cmp(s->key, x, y);
	}
	/* Equal rows keep the daemon's order. */
	return c != 0 ? c : (x->i > y->i) - (x->i < y->i);
}

int
topview_select(enum top_pane p, const json_t *arr, size_t k,
    const struct top_filter *f, size_t **ret_idx, size_t *ret_n)
{
	struct sort_ctx s = { p, k < topview_nsorts(p) ? k : 0 };
	size_t i, n = 0, *idx, len = json_array_size(arr);
	struct sort_row *rows;
	const json_t *row;

	*ret_idx = NULL;
	*ret_n = 0;
	idx = calloc(len + 1, sizeof(*idx));
	rows = calloc(len + 1, sizeof(*rows));
	if (idx == NULL || rows == NULL) {
		free(idx);
		free(rows);
		return -ENOMEM;
	}
	json_array_foreach(arr, i, row) {
		if (!topview_match(f, p, row))
			continue;
		rows[n].i = i;
		rows[n].row = row;
		rows[n].text = topview_row_addr(p, row);
		rows[n].parsed = rows[n].text != NULL &&
		    cidr_parse(rows[n].text, &rows[n].addr) == 0;
		n++;
	}
	qsort_r(rows, n, sizeof(*rows), row_cmp, &s);
	for (i = 0; i < n; i++)
		idx[i] = rows[i].i;
	free(rows);
	*ret_idx = idx;
	*ret_n = n;
	return 0;
}

/* ---- cells and lines ---------------------------------------------------- */

/* Counts that must fit a narrow column: 1234567 as 1.2M. */
static void
fmt_count(char *buf, size_t len, json_int_t v)
{
	static const char units[] = "KMGTP";
	double d = (double)v;
	size_t u = 0;

	if (v < 100000) {
		snprintf(buf, len, "%lld", (long long)v);
		return;
	}
	d /= 1000;
	while (d >= 1000 && u + 1 < sizeof(units) - 1) {
		d /= 1000;
		u++;
	}
	snprintf(buf, len, d < 100 ? "%.1f%c" : "%.0f%c", d, units[u]);
}

static void
alert_cell(size_t col, const json_t *a, char *buf, size_t len)
{
	const char *s;

	switch (col) {
	case 0:
		/* The time of day of "YYYY-MM-DDTHH:MM:SS.mmmZ", UTC. */
		s = jstr(a, "time");
		snprintf(buf, len, "%.8s", s && strlen(s) >= 19 ? s + 11 : "?");
		break;
	case 1:
		snprintf(buf, len, "%.4s", jstr(a, "severity") ?: "?");
		break;
	case 2:
		snprintf(buf, len, "%s", jstr(a, "kind") ?: "?");
		break;
	case 3:
		snprintf(buf, len, "%s", jstr(a, "peer") ?: "-");
		break;
	case 4:
		snprintf(buf, len, "%s", jstr(a, "action") ?: "");
		break;
	default:
		snprintf(buf, len, "%s", jstr(a, "message") ?: "");
	}
}

static void
ban_cell(size_t col, const json_t *b, char *buf, size_t len)
{
	const json_t *left = json_object_get(b, "left_s");

	switch (col) {
	case 0:
		snprintf(buf, len, "%s", jstr(b, "addr") ?: "?");
		break;
	case 1:
		snprintf(buf, len, "%s", jstr(b, "source") ?: "?");
		break;
	case 2:
		if (json_is_integer(left))
			duration_format((uint64_t)json_integer_value(left) *
			    1000, buf, len);
		else
			snprintf(buf, len, "perm");
		break;
	case 3:
		fmt_count(buf, len, jint(b, "count"));
		break;
	default:
		snprintf(buf, len, "%s", jstr(b, "reason") ?: "");
	}
}

static void
peer_cell(size_t col, const json_t *p, char *buf, size_t len)
{
	const json_t *k;
	size_t i, off = 0;
	int n;

	buf[0] = '\0';
	switch (col) {
	case 0:
		snprintf(buf, len, "%s", jstr(p, "addr") ?: "?");
		break;
	case 1:
		fmt_count(buf, len, jint(p, "packets_in"));
		break;
	case 2:
		fmt_count(buf, len, jint(p, "bytes_in"));
		break;
	case 3:
		fmt_count(buf, len, jint(p, "syns"));
		break;
	case 4:
		snprintf(buf, len, "%s%lld", json_is_true(json_object_get(p,
		    "ports_exact")) ? "" : "~", (long long)jint(p, "ports"));
		break;
	case 5:
		json_array_foreach(json_object_get(p, "kinds"), i, k) {
			n = snprintf(buf + off, len - off, "%s%s",
			    off ? "," : "", json_string_value(k) ?: "?");
			if (n < 0 || (size_t)n >= len - off)
				break;
			off += (size_t)n;
		}
		if (off == 0)
			snprintf(buf, len, "-");
		break;
	default:
		snprintf(buf, len, "%s%s%s",
		    json_is_true(json_object_get(p, "denied")) ? "deny " : "",
		    json_is_true(json_object_get(p, "allowed")) ? "allow " : "",
		    json_is_true(json_object_get(p, "local")) ? "local" : "");
		if (buf[0] == '\0')
			snprintf(buf, len, "-");
	}
}

static void
listener_cell(size_t col, const json_t *l, char *buf, size_t len)
{
	const json_t *procs = json_object_get(l, "processes");
	const char *a;

	switch (col) {
	case 0:
		snprintf(buf, len, "%s", jstr(l, "proto") ?: "?");
		break;
	case 1:
		a = jstr(l, "local_addr") ?: "?";
		snprintf(buf, len, strchr(a, ':') ? "[%s]:%lld" : "%s:%lld",
		    a, (long long)jint(l, "local_port"));
		break;
	case 2:
		snprintf(buf, len, "%s", jstr(l, "state") ?: "?");
		break;
	case 3:
		snprintf(buf, len, "%lld", (long long)jint(l, "uid"));
		break;
	default:
		if (json_array_size(procs) == 0)
			snprintf(buf, len, "-");
		else
			snprintf(buf, len, "%s(%lld)%s", first_comm(l) ?: "?",
			    (long long)jint(json_array_get(procs, 0), "pid"),
			    json_array_size(procs) > 1 ? ",..." : "");
	}
}

size_t
topview_printable(char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			s[i] = '?';
	return i;
}

/* The text of one cell, made printable: names and messages come from
 * processes and peers, and a terminal must not run what they hold. */
static size_t
cell(enum top_pane p, size_t col, const json_t *row, char *buf, size_t len)
{
	switch (p) {
	case TOP_ALERTS:
		alert_cell(col, row, buf, len);
		break;
	case TOP_BANS:
		ban_cell(col, row, buf, len);
		break;
	case TOP_PEERS:
		peer_cell(col, row, buf, len);
		break;
	default:
		listener_cell(col, row, buf, len);
	}
	return topview_printable(buf);
}

size_t
topview_widths(enum top_pane p, const json_t *arr, const size_t *idx,
    size_t n, size_t cols, size_t *ret_widths)
{
	const struct top_col *c = panes[p].cols;
	size_t nc = panes[p].ncols, last = nc - 1, i, j, used, w, best;
	char buf[CELL_MAX];

	for (i = 0; i < nc; i++) {
		w = strlen(c[i].header);
		for (j = 0; j < n; j++) {
			size_t l = cell(p, i, json_array_get(arr, idx[j]), buf,
			    sizeof(buf));
			if (l > w)
				w = l;
		}
		ret_widths[i] = w < c[i].min ? c[i].min : w > c[i].max ?
		    c[i].max : w;
	}
	/* Narrow the widest columns to their least until the last fits. */
	for (;;) {
		for (used = c[last].min, i = 0; i < last; i++)
			used += ret_widths[i] ? ret_widths[i] + 1 : 0;
		if (used <= cols)
			break;
		for (best = last, i = 0; i < last; i++)
			if (ret_widths[i] > c[i].min && (best == last ||
			    ret_widths[i] - c[i].min >
			    ret_widths[best] - c[best].min))
				best = i;
		if (best != last) {
			ret_widths[best]--;
			continue;
		}
		/* All at their least: drop the rightmost but the first. */
		for (i = last - 1; i > 0 && ret_widths[i] == 0; i--)
			;
		if (i == 0)
			break;
		ret_widths[i] = 0;
	}
	ret_widths[last] = used - c[last].min <= cols ?
	    cols - (used - c[last].min) : 0;
	return nc;
}

/* Lay out cells (text of each column) into buf, exactly cols wide. */
static void
put_cells(enum top_pane p, char cells[][CELL_MAX], const size_t *widths,
    size_t cols, char *buf)
{
	const struct top_col *c = panes[p].cols;
	size_t i, off = 0, l, w;

	memset(buf, ' ', cols);
	for (i = 0; i < panes[p].ncols && off < cols; i++) {
		if ((w = widths[i]) == 0)
			continue;
		if (w > cols - off)
			w = cols - off;
		l = strlen(cells[i]);
		if (l > w)
			l = w;
		memcpy(buf + off + (c[i].right ? w - l : 0), cells[i], l);
		off += w + 1;
	}
	buf[cols] = '\0';
}

void
topview_header_line(enum top_pane p, const size_t *widths, size_t cols,
    char *buf)
{
	char cells[TOP_MAXCOLS][CELL_MAX];
	size_t i;

	for (i = 0; i < panes[p].ncols; i++)
		snprintf(cells[i], CELL_MAX, "%s", panes[p].cols[i].header);
	put_cells(p, cells, widths, cols, buf);
}

void
topview_row_line(enum top_pane p, const json_t *row, const size_t *widths,
    size_t cols, char *buf)
{
	char cells[TOP_MAXCOLS][CELL_MAX];
	size_t i;

	for (i = 0; i < panes[p].ncols; i++)
		cell(p, i, row, cells[i], CELL_MAX);
	put_cells(p, cells, widths, cols, buf);
}

/* ---- the header --------------------------------------------------------- */

static void
cut(char *line, size_t cols)
{
	if (topview_printable(line) > cols)
		line[cols] = '\0';
}

void
topview_status_lines(const json_t *st, size_t nbans, size_t cols,
    char lines[TOP_HEADER_LINES][TOP_LINE_MAX])
{
	const json_t *sk = json_object_get(st, "sockets"),
	    *cap = json_object_get(st, "capture"),
	    *db = json_object_get(st, "database"),
	    *rl = json_object_get(st, "last_reload");
	char up[32];
	size_t i;

	if (st == NULL) {
		for (i = 0; i < TOP_HEADER_LINES; i++)
			lines[i][0] = '\0';
		return;
	}
	snprintf(lines[0], TOP_LINE_MAX, "sockwatchd %s pid %lld up %s  "
	    "alerts %lld  bans %zu  clients %lld",
	    jstr(st, "version") ?: "?", (long long)jint(st, "pid"),
	    duration_format((uint64_t)jint(st, "uptime_s") * 1000, up,
	    sizeof(up)), (long long)jint(st, "alerts"), nbans,
	    (long long)jint(st, "clients"));
	snprintf(lines[1], TOP_LINE_MAX, "sockets %lld (tcp %lld udp %lld "
	    "unix %lld)  listeners %lld  peers %lld/%lld",
	    (long long)jint(sk, "total"), (long long)jint(sk, "tcp"),
	    (long long)jint(sk, "udp"), (long long)jint(sk, "unix"),
	    (long long)jint(st, "listeners"), (long long)jint(cap, "peers"),
	    (long long)jint(cap, "max_peers"));
	snprintf(lines[2], TOP_LINE_MAX, "capture %lld pkts %lld dropped  "
	    "db %s  reload %s",
	    (long long)jint(cap, "received"),
	    (long long)(jint(cap, "dropped") + jint(cap, "if_dropped")),
	    !json_is_true(json_object_get(db, "open")) ? "NONE" :
	    jint(db, "pending") > 0 ? "behind" : "ok",
	    json_is_null(json_object_get(rl, "time")) ? "none" :
	    json_is_true(json_object_get(rl, "ok")) ? "ok" : "FAILED");
	for (i = 0; i < TOP_HEADER_LINES; i++)
		cut(lines[i], cols);
}

/* ---- the screen's rows -------------------------------------------------- */

#define STACK_MIN_ROWS	3	/* a pane's rows below which none stack */

void
topview_layout(size_t rows, enum top_pane focus, size_t ret_rows[TOP_NPANES])
{
	size_t avail, i, each;

	memset(ret_rows, 0, TOP_NPANES * sizeof(ret_rows[0]));
	/* The chrome, then a title and a column header for each pane. */
	avail = rows > TOP_CHROME ? rows - TOP_CHROME : 0;
	if (avail >= TOP_NPANES * (2 + STACK_MIN_ROWS) + 2) {
		avail -= TOP_NPANES * 2;
		each = avail / (TOP_NPANES + 1);
		for (i = 0; i < TOP_NPANES; i++)
			ret_rows[i] = each;
		/* The focused pane gets twice as many, and what is over. */
		ret_rows[focus] = avail - each * (TOP_NPANES - 1);
		return;
	}
	/* One pane at a time: the pane bar is its title. */
	ret_rows[focus] = avail > 1 ? avail - 1 : 0;
}

size_t
topview_scroll(size_t top, size_t sel, size_t n, size_t height)
{
	if (height == 0 || n <= height)
		return 0;
	if (sel < top)
		top = sel;
	else if (sel >= top + height)
		top = sel - height + 1;
	if (top > n - height)
		top = n - height;
	return top;
}
