/*
 * sockwatch top's logic without a terminal (cli/topview): the address
 * filter, the sort keys of each pane, column widths at 80 columns and
 * narrower, the lines rows become (exactly as wide as asked, printable),
 * the header, and how the screen's rows are shared between panes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../../cli/topview.h"

static json_t *
load(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);

	if (j == NULL)
		fail_msg("bad JSON in the test: %s: %s", err.text, text);
	return j;
}

/* The addresses (or alert ids) of arr's rows that pass f, in the order
 * of sort key k, space-separated. */
static char *
order(enum top_pane p, const json_t *arr, size_t k, const char *filter)
{
	static char out[512];
	struct top_filter f;
	size_t *idx, n, i, off = 0;
	const json_t *row;

	assert_int_equal(topview_filter_set(&f, filter), 0);
	assert_int_equal(topview_select(p, arr, k, &f, &idx, &n), 0);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		row = json_array_get(arr, idx[i]);
		if (p == TOP_ALERTS)
			off += (size_t)snprintf(out + off, sizeof(out) - off,
			    "%s%lld", i ? " " : "", (long long)
			    json_integer_value(json_object_get(row, "id")));
		else
			off += (size_t)snprintf(out + off, sizeof(out) - off,
			    "%s%s", i ? " " : "", topview_row_addr(p, row));
	}
	free(idx);
	return out;
}

static const char peers_json[] = "["
    "{\"addr\": \"198.18.0.10\", \"packets_in\": 5, \"bytes_in\": 900,"
    " \"ports\": 3, \"syns\": 1},"
    "{\"addr\": \"2001:db8::1\", \"packets_in\": 50, \"bytes_in\": 100,"
    " \"ports\": 1, \"syns\": 9},"
    "{\"addr\": \"198.18.0.9\", \"packets_in\": 5, \"bytes_in\": 200,"
    " \"ports\": 40, \"syns\": 0},"
    "{\"addr\": \"198.18.1.2\", \"packets_in\": 7, \"bytes_in\": 300,"
    " \"ports\": 2, \"syns\": 2}]";

static void
test_sort_peers(void **state)
{
	json_t *arr = load(peers_json);

	(void)state;
	/* Ties go to the lower address, as numbers: .9 before .10. */
	assert_string_equal(order(TOP_PEERS, arr, 0, ""),
	    "2001:db8::1 198.18.1.2 198.18.0.9 198.18.0.10");
	assert_string_equal(order(TOP_PEERS, arr, 1, ""),
	    "198.18.0.10 198.18.1.2 198.18.0.9 2001:db8::1");
	assert_string_equal(order(TOP_PEERS, arr, 2, ""),
	    "198.18.0.9 198.18.0.10 198.18.1.2 2001:db8::1");
	assert_string_equal(order(TOP_PEERS, arr, 3, ""),
	    "2001:db8::1 198.18.1.2 198.18.0.10 198.18.0.9");
	assert_string_equal(topview_sort_name(TOP_PEERS, 3), "syn");
	assert_int_equal(topview_nsorts(TOP_PEERS), 4);
	json_decref(arr);
}

static void
test_filter(void **state)
{
	json_t *arr = load(peers_json);
	struct top_filter f;
	char big[200];

	(void)state;
	/* A prefix: the addresses inside it, IPv4 or IPv6. */
	assert_string_equal(order(TOP_PEERS, arr, 0, "198.18.0.0/24"),
	    "198.18.0.9 198.18.0.10");
	assert_string_equal(order(TOP_PEERS, arr, 0, "2001:db8::/32"),
	    "2001:db8::1");
	assert_string_equal(order(TOP_PEERS, arr, 0, "198.18.1.2"),
	    "198.18.1.2");
	/* Anything else: a part of the address's text. */
	assert_string_equal(order(TOP_PEERS, arr, 0, "18.0.1"),
	    "198.18.0.10");
	assert_string_equal(order(TOP_PEERS, arr, 0, "db8"), "2001:db8::1");
	assert_string_equal(order(TOP_PEERS, arr, 0, "nomatch"), "");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(topview_filter_set(&f, big), -EINVAL);
	json_decref(arr);
}

static const char alerts_json[] = "["
    "{\"id\": 1, \"time\": \"2026-12-07T22:50:38.546Z\","
    " \"kind\": \"listener\", \"severity\": \"warning\", \"peer\": null,"
    " \"action\": \"alert\", \"message\": \"unexpected\"},"
    "{\"id\": 2, \"time\": \"2026-12-07T22:50:39.000Z\","
    " \"kind\": \"portscan\", \"severity\": \"warning\","
    " \"peer\": \"198.18.0.2\", \"action\": \"block\","
    " \"message\": \"SYN scan\"},"
    "{\"id\": 3, \"time\": \"2026-12-07T22:50:40.000Z\","
    " \"kind\": \"deny\", \"severity\": \"critical\","
    " \"peer\": \"198.18.0.1\", \"action\": \"block\","
    " \"message\": \"denied\\u001b[2J\"}]";

static void
test_sort_alerts(void **state)
{
	json_t *arr = load(alerts_json);

	(void)state;
	assert_string_equal(order(TOP_ALERTS, arr, 0, ""), "3 2 1");
	assert_string_equal(order(TOP_ALERTS, arr, 1, ""), "3 2 1");
	assert_string_equal(order(TOP_ALERTS, arr, 2, ""), "3 1 2");
	/* By peer: addresses first, a peerless alert last. */
	assert_string_equal(order(TOP_ALERTS, arr, 3, ""), "3 2 1");
	/* An alert without a peer never passes an address filter. */
	assert_string_equal(order(TOP_ALERTS, arr, 0, "198.18"), "3 2");
	json_decref(arr);
}

static void
test_sort_bans_listeners(void **state)
{
	json_t *bans = load("["
	    "{\"addr\": \"198.18.0.3\", \"left_s\": 10, \"count\": 1,"
	    " \"created\": \"2026-12-07T22:00:00.000Z\"},"
	    "{\"addr\": \"198.18.0.0/24\", \"left_s\": null, \"count\": 0,"
	    " \"created\": \"2026-12-07T21:00:00.000Z\"},"
	    "{\"addr\": \"198.18.0.2\", \"left_s\": 3600, \"count\": 4,"
	    " \"created\": \"2026-12-07T23:00:00.000Z\"}]");
	json_t *ls = load("["
	    "{\"proto\": \"udp\", \"local_addr\": \"::\", \"local_port\": 53,"
	    " \"processes\": [{\"pid\": 1, \"comm\": \"named\"}]},"
	    "{\"proto\": \"tcp\", \"local_addr\": \"0.0.0.0\", \"local_port\":"
	    " 80, \"processes\": [{\"pid\": 2, \"comm\": \"apache2\"}]},"
	    "{\"proto\": \"tcp\", \"local_addr\": \"127.0.0.1\", \"local_port\":"
	    " 25, \"processes\": []}]");

	(void)state;
	/* Permanent first, then the most time left. */
	assert_string_equal(order(TOP_BANS, bans, 0, ""),
	    "198.18.0.0/24 198.18.0.2 198.18.0.3");
	assert_string_equal(order(TOP_BANS, bans, 1, ""),
	    "198.18.0.2 198.18.0.3 198.18.0.0/24");
	assert_string_equal(order(TOP_BANS, bans, 2, ""),
	    "198.18.0.0/24 198.18.0.2 198.18.0.3");
	assert_string_equal(order(TOP_BANS, bans, 3, ""),
	    "198.18.0.2 198.18.0.3 198.18.0.0/24");
	json_decref(bans);
	/* The same seconds left: the latest to expire first. */
	bans = load("["
	    "{\"addr\": \"198.18.0.3\", \"left_s\": 10,"
	    " \"expires\": \"2026-12-07T22:00:09.100Z\"},"
	    "{\"addr\": \"198.18.0.2\", \"left_s\": 10,"
	    " \"expires\": \"2026-12-07T22:00:09.200Z\"},"
	    "{\"addr\": \"198.18.0.1\", \"left_s\": 10,"
	    " \"expires\": \"2026-12-07T22:00:09.100Z\"}]");
	assert_string_equal(order(TOP_BANS, bans, 0, ""),
	    "198.18.0.2 198.18.0.1 198.18.0.3");
	assert_string_equal(order(TOP_LISTENERS, ls, 0, ""),
	    "127.0.0.1 :: 0.0.0.0");
	assert_string_equal(order(TOP_LISTENERS, ls, 2, ""),
	    "127.0.0.1 0.0.0.0 ::");
	assert_string_equal(order(TOP_LISTENERS, ls, 3, ""),
	    "0.0.0.0 127.0.0.1 ::");
	json_decref(bans);
	json_decref(ls);
}

/* Addresses, parsed once before the sort, in numeric order, IPv4 first;
 * text that is no address after them, as text. */
static void
test_sort_addresses(void **state)
{
	json_t *bans = load("["
	    "{\"addr\": \"2001:db8::10\"}, {\"addr\": \"zz\"},"
	    "{\"addr\": \"198.18.0.10\"}, {\"addr\": \"2001:db8::2\"},"
	    "{\"addr\": \"junk\"}, {\"addr\": \"198.18.0.9\"},"
	    "{\"addr\": \"198.18.0.0/31\"}]");

	(void)state;
	assert_string_equal(order(TOP_BANS, bans, 2, ""),
	    "198.18.0.0/31 198.18.0.9 198.18.0.10 2001:db8::2 2001:db8::10 "
	    "junk zz");
	/* Equal on the key (no count): the address decides. */
	assert_string_equal(order(TOP_BANS, bans, 3, "2001:db8::/32"),
	    "2001:db8::2 2001:db8::10");
	/* A prefix inside the filter's passes it, one around it not. */
	assert_string_equal(order(TOP_BANS, bans, 2, "198.18.0.0/16"),
	    "198.18.0.0/31 198.18.0.9 198.18.0.10");
	assert_string_equal(order(TOP_BANS, bans, 2, "198.18.0.0/32"), "");
	json_decref(bans);
}

static void
test_printable(void **state)
{
	char s[] = "a\033[2Jb\t\xc3\xa9~";

	(void)state;
	assert_int_equal(topview_printable(s), 10);
	assert_string_equal(s, "a?[2Jb???~");
}

/* Every line is exactly cols wide, printable ASCII. */
static void
assert_line(const char *line, size_t cols)
{
	size_t i;

	assert_int_equal(strlen(line), cols);
	for (i = 0; i < cols; i++)
		if (line[i] < 0x20 || line[i] >= 0x7f)
			fail_msg("byte 0x%02x at %zu in '%s'",
			    (unsigned char)line[i], i, line);
}

static void
lines_at(enum top_pane p, const json_t *arr, size_t cols, size_t *w,
    char *hdr, char *row0)
{
	size_t idx[8], i, sum = 0, nc;

	for (i = 0; i < json_array_size(arr); i++)
		idx[i] = i;
	nc = topview_widths(p, arr, idx, json_array_size(arr), cols, w);
	for (i = 0; i < nc; i++)
		sum += w[i] ? w[i] + (i + 1 < nc) : 0;
	assert_true(sum <= cols);
	topview_header_line(p, w, cols, hdr);
	assert_line(hdr, cols);
	topview_row_line(p, json_array_get(arr, 0), w, cols, row0);
	assert_line(row0, cols);
}

static void
test_widths(void **state)
{
	json_t *alerts = load(alerts_json), *peers = load(peers_json);
	char hdr[TOP_LINE_MAX], row[TOP_LINE_MAX];
	size_t w[TOP_MAXCOLS];

	(void)state;
	/* 80 columns: every column, the message takes the rest. */
	lines_at(TOP_ALERTS, alerts, 80, w, hdr, row);
	assert_memory_equal(hdr, "Time     Sev  Kind     Peer       Action "
	    "Message  ", 50);
	assert_int_equal(w[3], strlen("198.18.0.2"));
	assert_int_equal(w[5], 80 - (8 + 4 + 8 + 10 + 6 + 5));
	assert_memory_equal(row, "22:50:38 warn listener -          alert  "
	    "unexpected ", 52);
	/* The escape in a message is shown, not sent to the terminal. */
	topview_row_line(TOP_ALERTS, json_array_get(alerts, 2), w, 80, row);
	assert_non_null(strstr(row, "denied?[2J"));
	/* Narrow: columns shrink to their least, then go from the right. */
	lines_at(TOP_ALERTS, alerts, 40, w, hdr, row);
	assert_int_equal(w[0], 8);
	assert_int_equal(w[4], 0);
	assert_true(w[5] >= 10);
	lines_at(TOP_ALERTS, alerts, 200, w, hdr, row);
	assert_int_equal(w[5], 200 - (8 + 4 + 8 + 10 + 6 + 5));
	/* Numbers to the right; big ones short. */
	lines_at(TOP_PEERS, peers, 80, w, hdr, row);
	assert_memory_equal(hdr, "Peer        Pkts-In Bytes-In", 28);
	assert_memory_equal(row, "198.18.0.10       5      900", 28);
	json_object_set_new(json_array_get(peers, 0), "bytes_in",
	    json_integer(1234567));
	topview_row_line(TOP_PEERS, json_array_get(peers, 0), w, 80, row);
	assert_memory_equal(row, "198.18.0.10       5     1.2M", 28);
	json_decref(alerts);
	json_decref(peers);
}

static void
test_status_lines(void **state)
{
	json_t *st = load("{\"version\": \"0.1.0\", \"pid\": 42, "
	    "\"uptime_s\": 75, \"alerts\": 3, \"clients\": 2, \"listeners\": 4,"
	    " \"sockets\": {\"total\": 9, \"tcp\": 3, \"udp\": 1, \"unix\": 5},"
	    " \"capture\": {\"received\": 100, \"dropped\": 1, "
	    "\"if_dropped\": 2, \"peers\": 7, \"max_peers\": 100000},"
	    " \"database\": {\"open\": true, \"pending\": 0},"
	    " \"last_reload\": {\"ok\": true, \"time\": null}}");
	char lines[TOP_HEADER_LINES][TOP_LINE_MAX];

	(void)state;
	topview_status_lines(st, 1, 80, lines);
	assert_string_equal(lines[0], "sockwatchd 0.1.0 pid 42 up 1m15s  "
	    "alerts 3  bans 1  clients 2");
	assert_string_equal(lines[1], "sockets 9 (tcp 3 udp 1 unix 5)  "
	    "listeners 4  peers 7/100000");
	assert_string_equal(lines[2], "capture 100 pkts 3 dropped  db ok  "
	    "reload none");
	topview_status_lines(st, 1, 20, lines);
	assert_string_equal(lines[0], "sockwatchd 0.1.0 pid");
	topview_status_lines(NULL, 0, 80, lines);
	assert_string_equal(lines[0], "");
	json_decref(st);
}

static void
test_layout(void **state)
{
	size_t h[TOP_NPANES], sum, i;

	(void)state;
	/* 80x24: the focused pane alone, under its column header. */
	topview_layout(24, TOP_BANS, h);
	assert_int_equal(h[TOP_BANS], 24 - TOP_CHROME - 1);
	assert_int_equal(h[TOP_ALERTS] + h[TOP_PEERS] + h[TOP_LISTENERS], 0);
	/* Tall: all four, the focused one the largest, every row used. */
	topview_layout(50, TOP_PEERS, h);
	for (sum = 0, i = 0; i < TOP_NPANES; i++) {
		assert_true(h[i] >= 3);
		assert_true(h[i] <= h[TOP_PEERS]);
		sum += h[i] + 2;
	}
	assert_int_equal(sum, 50 - TOP_CHROME);
	/* Too small for anything. */
	topview_layout(5, TOP_ALERTS, h);
	assert_int_equal(h[TOP_ALERTS], 0);
}

static void
test_scroll(void **state)
{
	(void)state;
	assert_int_equal(topview_scroll(0, 5, 10, 20), 0);
	assert_int_equal(topview_scroll(0, 25, 40, 10), 16);
	assert_int_equal(topview_scroll(16, 20, 40, 10), 16);
	assert_int_equal(topview_scroll(16, 3, 40, 10), 3);
	/* Rows went away: no empty space at the bottom. */
	assert_int_equal(topview_scroll(30, 12, 15, 10), 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sort_peers),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_sort_alerts),
		cmocka_unit_test(test_sort_bans_listeners),
		cmocka_unit_test(test_sort_addresses),
		cmocka_unit_test(test_printable),
		cmocka_unit_test(test_widths),
		cmocka_unit_test(test_status_lines),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_scroll),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
