/* sockwatch top: a live view of the daemon in a terminal (ncurses), or
 * one snapshot as plain text when asked (--once), when stdout is not a
 * terminal or when ncurses does not know it. What the lines say is
 * topview's; this file puts them up, reads keys, and asks the daemon to
 * block or unblock. */
#include <curses.h>
#include <errno.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/timeutil.h"
#include "cli.h"
#include "client.h"
#include "topconn.h"
#include "topview.h"

#define ONCE_COLS	80
#define ONCE_ROWS	10	/* rows of each pane in a snapshot */
#define MSG_MS		5000	/* how long a message stays on the key line */
#define ROWKEY_MAX	(TOP_LINE_MAX / 2)

enum top_mode { MODE_KEYS, MODE_FILTER, MODE_CONFIRM };

struct top {
	struct topconn tc;
	enum top_pane focus;
	size_t sort[TOP_NPANES];
	size_t sel[TOP_NPANES], first[TOP_NPANES];
	char selkey[TOP_NPANES][ROWKEY_MAX];	/* what sel points at */
	size_t *idx[TOP_NPANES], n[TOP_NPANES];
	struct top_filter filter, saved;
	enum top_mode mode;
	char confirm[ADDR_STRLEN];
	bool block;
	char msg[TOP_LINE_MAX];
	int64_t msg_until;
	bool quit;
};

static volatile sig_atomic_t top_stop;

static void
top_signal(int sig)
{
	(void)sig;
	top_stop = 1;
}

/* What identifies a row across refreshes: the alert's id, else its
 * address (and port, for a listener). */
static void
row_key(enum top_pane p, const json_t *row, char *buf, size_t len)
{
	const char *a = topview_row_addr(p, row);

	if (p == TOP_ALERTS)
		snprintf(buf, len, "%lld", (long long)json_integer_value(
		    json_object_get(row, "id")));
	else if (p == TOP_LISTENERS)
		snprintf(buf, len, "%s %s %lld", json_string_value(
		    json_object_get(row, "proto")) ?: "", a ? a : "",
		    (long long)json_integer_value(json_object_get(row,
		    "local_port")));
	else
		snprintf(buf, len, "%s", a ? a : "");
}

static const json_t *
top_row(const struct top *t, enum top_pane p, size_t i)
{
	return t->idx[p] != NULL && i < t->n[p] ?
	    json_array_get(t->tc.rows[p], t->idx[p][i]) : NULL;
}

/* Order and filter every pane again; the selection follows its row. A
 * row chosen by key that is gone leaves none selected (sel == n) rather
 * than the row that took its place, which b would then block; it is
 * selected again if it comes back. */
static void
top_select(struct top *t)
{
	char key[ROWKEY_MAX];
	size_t p, i;

	for (p = 0; p < TOP_NPANES; p++) {
		free(t->idx[p]);
		t->idx[p] = NULL;
		if (topview_select(p, t->tc.rows[p], t->sort[p], &t->filter,
		    &t->idx[p], &t->n[p]) < 0)
			t->n[p] = 0;
		if (t->selkey[p][0] == '\0') {
			if (t->sel[p] >= t->n[p])
				t->sel[p] = t->n[p] ? t->n[p] - 1 : 0;
			continue;
		}
		for (i = 0; i < t->n[p]; i++) {
			row_key(p, top_row(t, p, i), key, sizeof(key));
			if (strcmp(key, t->selkey[p]) == 0)
				break;
		}
		t->sel[p] = i;
	}
}

static void
top_move(struct top *t, long delta)
{
	enum top_pane p = t->focus;
	long s = (long)t->sel[p] + delta;

	/* None selected: from the top down, from the bottom up. */
	if (t->sel[p] >= t->n[p])
		s = delta > 0 ? delta - 1 : (long)t->n[p] + delta;
	if (s >= (long)t->n[p])
		s = (long)t->n[p] - 1;
	if (s < 0)
		s = 0;
	t->sel[p] = (size_t)s;
	if (t->n[p] > 0)
		row_key(p, top_row(t, p, t->sel[p]), t->selkey[p], ROWKEY_MAX);
}

/* A pane's rows, and for the bans (of which the daemon sends the first
 * few) how many there are: "1000 of 100000". */
static void
top_count(const struct top *t, enum top_pane p, char *buf, size_t len)
{
	if (p == TOP_BANS && t->tc.bans_matched > t->n[p])
		snprintf(buf, len, "%zu of %zu", t->n[p], t->tc.bans_matched);
	else
		snprintf(buf, len, "%zu", t->n[p]);
}

static void
top_message(struct top *t, const char *msg)
{
	snprintf(t->msg, sizeof(t->msg), "%s", msg);
	t->msg_until = time_mono_ms() + MSG_MS;
}

/* ---- drawing ------------------------------------------------------------ */

static void
put_line(int y, const char *s, size_t cols, int attr)
{
	attrset(attr);
	mvaddnstr(y, 0, s, (int)cols);
	clrtoeol();
	attrset(A_NORMAL);
}

static bool
utf8_locale(void)
{
	const char *cs = nl_langinfo(CODESET);

	return cs != NULL && strcmp(cs, "UTF-8") == 0;
}

static void
draw_header(const struct top *t, size_t cols)
{
	char lines[TOP_HEADER_LINES][TOP_LINE_MAX], down[TOP_LINE_MAX];
	const char *dash = utf8_locale() ? " \u2014 " : " - ";
	int e = -t->tc.error;
	size_t i;

	topview_status_lines(t->tc.status, t->tc.bans_total, cols, lines);
	if (!t->tc.up) {
		if (e == 0 || e == ENOENT || e == ECONNREFUSED || e == EPIPE ||
		    e == ECONNRESET)
			snprintf(down, sizeof(down), "daemon not running%s"
			    "reconnecting", dash);
		else
			snprintf(down, sizeof(down), "sockwatchd: %s%s"
			    "reconnecting", t->tc.refusal[0] ? t->tc.refusal :
			    strerror(e), dash);
		put_line(0, down, cols, A_BOLD | A_REVERSE);
		i = 1;
	} else
		i = 0;
	for (; i < TOP_HEADER_LINES; i++)
		put_line((int)i, lines[i], cols, i == 0 ? A_BOLD : A_NORMAL);
}

/* The pane bar: every pane with its rows, the focused one marked. */
static void
draw_bar(const struct top *t, int y, size_t cols)
{
	char buf[TOP_LINE_MAX], count[64];
	size_t p;
	int x = 0;

	move(y, 0);
	clrtoeol();
	for (p = 0; p < TOP_NPANES && x < (int)cols; p++) {
		top_count(t, p, count, sizeof(count));
		snprintf(buf, sizeof(buf), "%zu %s(%s)", p + 1,
		    topview_pane_name(p), count);
		attrset(p == t->focus ? A_REVERSE | A_BOLD : A_NORMAL);
		mvaddnstr(y, x, buf, (int)cols - x);
		x += (int)strlen(buf) + 1;
	}
	attrset(A_NORMAL);
	snprintf(buf, sizeof(buf), " sort:%s%s%s",
	    topview_sort_name(t->focus, t->sort[t->focus]),
	    t->filter.text[0] ? " filter:" : "", t->filter.text);
	if (x < (int)cols)
		mvaddnstr(y, x, buf, (int)cols - x);
}

/* One pane's table from row y: its column header and height rows. */
static int
draw_pane(struct top *t, enum top_pane p, int y, size_t height, size_t cols)
{
	size_t w[TOP_MAXCOLS], i, n = t->n[p];
	const json_t *arr = t->tc.rows[p];
	char line[TOP_LINE_MAX];

	if (t->sel[p] < n)
		t->first[p] = topview_scroll(t->first[p], t->sel[p], n,
		    height);
	else if (t->first[p] + height > n)
		t->first[p] = n > height ? n - height : 0;
	/* Sized to the rows on the screen: all of them cost 0.09 s a redraw
	 * with 100,000 bans. */
	topview_widths(p, arr, t->idx[p] + t->first[p], n - t->first[p] <
	    height ? n - t->first[p] : height, cols, w);
	topview_header_line(p, w, cols, line);
	put_line(y++, line, cols, A_UNDERLINE);
	for (i = t->first[p]; i < t->first[p] + height; i++, y++) {
		if (i >= n) {
			move(y, 0);
			clrtoeol();
			continue;
		}
		topview_row_line(p, json_array_get(arr, t->idx[p][i]), w, cols,
		    line);
		put_line(y, line, cols, p == t->focus && i == t->sel[p] ?
		    A_REVERSE : A_NORMAL);
	}
	return y;
}

static void
draw_keys(struct top *t, int y, size_t cols)
{
	char buf[TOP_LINE_MAX];

	if (t->mode == MODE_FILTER)
		snprintf(buf, sizeof(buf), "filter by address (Enter keeps, "
		    "Esc drops): %s", t->filter.text);
	else if (t->mode == MODE_CONFIRM)
		snprintf(buf, sizeof(buf), "%s %s? [y/n]", t->block ? "block" :
		    "unblock", t->confirm);
	else if (t->msg[0] != '\0' && time_mono_ms() < t->msg_until)
		snprintf(buf, sizeof(buf), "%s", t->msg);
	else
		snprintf(buf, sizeof(buf), "q quit  Tab/1-4 pane  arrows "
		    "select  s/</> sort  / filter  b block  u unblock");
	/* Not the last column: some terminals scroll on it. */
	put_line(y, buf, cols - 1, t->mode == MODE_KEYS ? A_NORMAL : A_BOLD);
}

static void
top_draw(struct top *t)
{
	size_t rows = (size_t)LINES, cols = (size_t)COLS, h[TOP_NPANES], p;
	char title[TOP_LINE_MAX], count[64];
	int y = TOP_HEADER_LINES + 1;
	bool stacked;

	if (cols >= TOP_LINE_MAX)
		cols = TOP_LINE_MAX - 1;
	if (rows < TOP_CHROME + 2 || cols < 20) {
		erase();
		mvaddstr(0, 0, "sockwatch top: too small");
		refresh();
		return;
	}
	topview_layout(rows, t->focus, h);
	stacked = h[(t->focus + 1) % TOP_NPANES] > 0;
	draw_header(t, cols);
	draw_bar(t, TOP_HEADER_LINES, cols);
	for (p = 0; p < TOP_NPANES; p++) {
		if (h[p] == 0)
			continue;
		if (stacked) {
			top_count(t, p, count, sizeof(count));
			snprintf(title, sizeof(title), "%zu %s (%s)", p + 1,
			    topview_pane_name(p), count);
			put_line(y++, title, cols, p == t->focus ?
			    A_BOLD | A_REVERSE : A_BOLD);
		}
		y = draw_pane(t, p, y, h[p], cols);
	}
	while (y < (int)rows - 1) {
		move(y++, 0);
		clrtoeol();
	}
	draw_keys(t, (int)rows - 1, cols);
	refresh();
}

/* ---- keys --------------------------------------------------------------- */

static void
key_filter(struct top *t, int ch)
{
	char text[TOP_FILTER_MAX];
	size_t len = strlen(t->filter.text);

	snprintf(text, sizeof(text), "%s", t->filter.text);
	if (ch == 27) {			/* Esc: as before */
		t->filter = t->saved;
		t->mode = MODE_KEYS;
	} else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER)
		t->mode = MODE_KEYS;
	else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		if (len > 0)
			text[len - 1] = '\0';
	} else if (ch >= 0x20 && ch < 0x7f && len + 1 < sizeof(text)) {
		text[len] = (char)ch;
		text[len + 1] = '\0';
	}
	if (t->mode == MODE_FILTER)
		topview_filter_set(&t->filter, text);
	/* The daemon picks the bans that pass it. */
	t->tc.poll_ms = 0;
}

static void
key_confirm(struct top *t, int ch)
{
	char msg[TOP_LINE_MAX];

	t->mode = MODE_KEYS;
	if (ch != 'y' && ch != 'Y') {
		top_message(t, "cancelled");
		return;
	}
	topconn_block(&t->tc, t->confirm, t->block, msg, sizeof(msg));
	top_message(t, msg);
	topconn_poll(&t->tc);
}

/* b or u on the selected row: ask first. */
static void
key_block(struct top *t, bool block)
{
	const json_t *row = top_row(t, t->focus, t->sel[t->focus]);
	const char *a = row ? topview_row_addr(t->focus, row) : NULL;

	if (t->focus == TOP_LISTENERS || a == NULL) {
		top_message(t, row ? "no peer on this row" : "no row selected");
		return;
	}
	/* Cut, it would name another peer. */
	if (strlen(a) >= sizeof(t->confirm)) {
		top_message(t, "the address is too long to block");
		return;
	}
	if (geteuid() != 0) {
		top_message(t, "only root may block or unblock");
		return;
	}
	snprintf(t->confirm, sizeof(t->confirm), "%s", a);
	t->block = block;
	t->mode = MODE_CONFIRM;
}

static void
key_sort(struct top *t, int step)
{
	enum top_pane p = t->focus;
	size_t n = topview_nsorts(p);

	t->sort[p] = (t->sort[p] + (step > 0 ? 1 : n - 1)) % n;
	/* The daemon sends its first peers and bans by this key. */
	if (p == TOP_PEERS)
		t->tc.peers_sort = topview_sort_name(p, t->sort[p]);
	else if (p == TOP_BANS)
		t->tc.bans_sort = topview_sort_name(p, t->sort[p]);
	if (p == TOP_PEERS || p == TOP_BANS)
		t->tc.poll_ms = 0;
}

static void
top_key(struct top *t, int ch)
{
	int page = LINES > TOP_CHROME + 2 ? LINES - TOP_CHROME - 2 : 1;

	if (t->mode == MODE_FILTER) {
		key_filter(t, ch);
		return;
	}
	if (t->mode == MODE_CONFIRM) {
		key_confirm(t, ch);
		return;
	}
	switch (ch) {
	case 'q': case 'Q':
		t->quit = true;
		break;
	case '\t':
		t->focus = (t->focus + 1) % TOP_NPANES;
		break;
	case KEY_BTAB:
		t->focus = (t->focus + TOP_NPANES - 1) % TOP_NPANES;
		break;
	case '1': case '2': case '3': case '4':
		t->focus = (enum top_pane)(ch - '1');
		break;
	case KEY_UP: case 'k':
		top_move(t, -1);
		break;
	case KEY_DOWN: case 'j':
		top_move(t, 1);
		break;
	case KEY_PPAGE:
		top_move(t, -page);
		break;
	case KEY_NPAGE:
		top_move(t, page);
		break;
	case KEY_HOME:
		top_move(t, -(long)t->n[t->focus]);
		break;
	case KEY_END:
		top_move(t, (long)t->n[t->focus]);
		break;
	case 's': case '>':
		key_sort(t, 1);
		break;
	case '<':
		key_sort(t, -1);
		break;
	case '/':
		t->saved = t->filter;
		t->mode = MODE_FILTER;
		break;
	case 'b':
		key_block(t, true);
		break;
	case 'u':
		key_block(t, false);
		break;
	case 12:	/* ^L */
		clearok(curscr, TRUE);
		break;
	default:
		break;
	}
}

/* ---- the loop ----------------------------------------------------------- */

static int
top_live(struct top *t)
{
	struct pollfd pfd[2];
	SCREEN *scr;
	int64_t now;
	int ch, timeout;

	/* Not initscr: it exits on a terminal type it does not know. */
	if ((scr = newterm(NULL, stdout, stdin)) == NULL)
		return -ENOTTY;
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(50);
	curs_set(0);
	topconn_tick(&t->tc, time_mono_ms());
	while (!t->quit && !top_stop) {
		top_select(t);
		top_draw(t);
		now = time_mono_ms();
		timeout = topconn_timeout(&t->tc, now);
		if (timeout > 1000)
			timeout = 1000;
		pfd[0] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = topconn_fd(&t->tc),
		    .events = POLLIN };
		if (poll(pfd, 2, timeout) < 0 && errno != EINTR)
			break;
		/* The terminal went away. */
		if (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL))
			break;
		while (!t->quit && (ch = getch()) != ERR)
			if (ch != KEY_RESIZE)
				top_key(t, ch);
		if (pfd[1].fd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP)))
			topconn_drain(&t->tc);
		topconn_tick(&t->tc, time_mono_ms());
	}
	endwin();
	delscreen(scr);
	return EXIT_OK;
}

/* Print a line without the padding topview put at its end. */
static void
print_trimmed(const char *s)
{
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == ' ')
		n--;
	printf("%.*s\n", (int)n, s);
}

static int
top_once(struct top *t, size_t cols, size_t nrows)
{
	char lines[TOP_HEADER_LINES][TOP_LINE_MAX];
	char line[TOP_LINE_MAX], count[64];
	size_t w[TOP_MAXCOLS], p, i;
	struct client *c;
	int r;

	/* Its error messages if the daemon is not there. */
	if ((r = client_connect(&c)) != EXIT_OK)
		return r;
	client_close(c);
	t->tc.bans_limit = nrows;
	if ((r = topconn_open(&t->tc)) < 0) {
		fprintf(stderr, "sockwatch: top: %s\n", t->tc.refusal[0] ?
		    t->tc.refusal : strerror(-r));
		return EXIT_FAIL;
	}
	top_select(t);
	topview_status_lines(t->tc.status, t->tc.bans_total, cols, lines);
	for (i = 0; i < TOP_HEADER_LINES; i++)
		print_trimmed(lines[i]);
	for (p = 0; p < TOP_NPANES; p++) {
		top_count(t, p, count, sizeof(count));
		printf("\n%s (%s, by %s)\n", topview_pane_name(p), count,
		    topview_sort_name(p, t->sort[p]));
		topview_widths(p, t->tc.rows[p], t->idx[p], t->n[p] < nrows ?
		    t->n[p] : nrows, cols, w);
		topview_header_line(p, w, cols, line);
		print_trimmed(line);
		for (i = 0; i < t->n[p] && i < nrows; i++) {
			topview_row_line(p, top_row(t, p, i), w, cols, line);
			print_trimmed(line);
		}
	}
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

static const char top_help[] =
    "usage: sockwatch top [--once [-n N]] [--filter ADDR]\n"
    "  A live view of sockwatchd: alerts, bans, peers, listeners.\n"
    "  --once         one snapshot as plain text (also when stdout is\n"
    "                 not a terminal)\n"
    "  -n N           rows of each pane in a snapshot (default 10)\n"
    "  --filter ADDR  only rows whose address holds ADDR, or is in it\n"
    "                 (a CIDR)\n"
    "keys: Tab/1-4 pane, arrows select, s/</> sort, / filter,\n"
    "      b/u block/unblock the selected peer (root), q quit\n";

enum { OPT_ONCE = 256, OPT_FILTER };

int
cmd_top(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "filter", required_argument, NULL, OPT_FILTER },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = top_signal };
	size_t cols = ONCE_COLS, i;
	long n = ONCE_ROWS, v;
	int c, once = 0, r;
	const char *env;
	struct top *t;
	char *end;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return EXIT_FAIL;
	topconn_init(&t->tc);
	t->tc.bans_filter = t->filter.text;
	opterr = 0;
	optind = 1;
	r = -1;
	while (r < 0 && (c = getopt_long(argc, argv, ":n:h", longopts,
	    NULL)) != -1) {
		switch (c) {
		case OPT_ONCE:
			once = 1;
			break;
		case 'n':
			n = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || n < 1 ||
			    n > 100000)
				r = cli_usage_error(argv[0], "invalid -n '%s': "
				    "expected 1-100000", optarg);
			break;
		case OPT_FILTER:
			if (topview_filter_set(&t->filter, optarg) < 0)
				r = cli_usage_error(argv[0], "--filter: at most "
				    "%d characters", TOP_FILTER_MAX - 1);
			break;
		case 'h':
			fputs(top_help, stdout);
			r = EXIT_OK;
			break;
		default:
			r = cli_bad_option(argv, c);
		}
	}
	if (r < 0 && optind < argc)
		r = cli_usage_error(argv[0], "unexpected argument '%s'",
		    argv[optind]);
	if (r < 0) {
		setlocale(LC_ALL, "");
		if (!once && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO)) {
			/* Not SA_RESTART: poll must return to see it. */
			sigaction(SIGINT, &sa, NULL);
			sigaction(SIGTERM, &sa, NULL);
			if ((r = top_live(t)) == -ENOTTY)
				fprintf(stderr, "sockwatch: top: cannot draw "
				    "on terminal type '%s': one snapshot\n",
				    getenv("TERM") ?: "");
		}
		if (r < 0) {
			if ((env = getenv("COLUMNS")) != NULL &&
			    (v = strtol(env, &end, 10)) >= 40 &&
			    v < TOP_LINE_MAX && *end == '\0')
				cols = (size_t)v;
			r = top_once(t, cols, (size_t)n);
		}
	}
	for (i = 0; i < TOP_NPANES; i++)
		free(t->idx[i]);
	topconn_free(&t->tc);
	free(t);
	return r;
}
