#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../../monitor/capstate.h"

/* The changes reported, as "name:up", "name:down", "name:back/GAPms". */
struct record {
	char line[16][64];
	int n;
};

static void
record(void *arg, const struct capstate_if *i, enum capstate_change c)
{
	struct record *r = arg;

	if (r->n == 16)
		fail_msg("too many changes");
	if (c == CAPSTATE_BACK)
		snprintf(r->line[r->n++], sizeof(r->line[0]), "%s:back/%lld",
		    i->name, (long long)i->last_gap_ms);
	else
		snprintf(r->line[r->n++], sizeof(r->line[0]), "%s:%s",
		    i->name, c == CAPSTATE_UP ? "up" : "down");
}

static void
init(struct capstate *cs, struct record *r, char *const *names, size_t n)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(capstate_init(cs, names, n, 1000, record, r), 0);
}

/* The inspector's report: one index per name. */
static void
captured(struct capstate *cs, int a, int b, int64_t now)
{
	int v[2] = { a, b };

	capstate_captured(cs, v, 2, now);
}

/* A veth deleted and created again: a new index, so the handle on the
 * old one counts for nothing; the gap is measured from the deletion. */
static void
test_capstate_recreated(void **state)
{
	char *names[] = { "veth0", "veth1" };
	struct capstate cs;
	struct record r;

	(void)state;
	init(&cs, &r, names, 2);
	assert_false(capstate_restart_due(&cs, 1000));
	capstate_link(&cs, "veth0", 7, true, 1000);
	capstate_link(&cs, "veth1", 8, true, 1000);
	capstate_link(&cs, "eth9", 9, true, 1000);	/* not ours */
	/* Links up, no handle yet: the first inspector opens them. */
	assert_true(capstate_restart_due(&cs, 1000));
	captured(&cs, 7, 8, 1100);
	assert_int_equal(capstate_up(&cs), 2);
	assert_false(capstate_restart_due(&cs, 1200));
	capstate_link(&cs, "veth0", 0, false, 5000);	/* deleted */
	assert_false(capstate_restart_due(&cs, 5000));
	assert_false(cs.v[0].up);
	capstate_link(&cs, "veth0", 12, false, 6000);	/* created, down */
	assert_false(capstate_restart_due(&cs, 6000));
	capstate_link(&cs, "veth0", 12, true, 7500);	/* up */
	assert_true(capstate_restart_due(&cs, 7500));
	capstate_restarted(&cs, 7500);
	/* The new inspector holds both. */
	captured(&cs, 12, 8, 7600);
	assert_int_equal(capstate_up(&cs), 2);
	assert_int_equal(cs.v[0].gaps, 1);
	assert_int_equal(cs.v[0].last_gap_ms, 2600);
	assert_int_equal(cs.v[1].gaps, 0);
	assert_int_equal(r.n, 4);
	assert_string_equal(r.line[0], "veth0:up");
	assert_string_equal(r.line[1], "veth1:up");
	assert_string_equal(r.line[2], "veth0:down");
	assert_string_equal(r.line[3], "veth0:back/2600");
}

/* Missing at start: down since the start, no gap when it first comes. */
static void
test_capstate_missing(void **state)
{
	char *names[] = { "late0" };
	struct capstate cs;
	struct record r;

	(void)state;
	init(&cs, &r, names, 1);
	captured(&cs, 0, 0, 1000);	/* the inspector: nothing */
	assert_int_equal(capstate_up(&cs), 0);
	assert_false(capstate_restart_due(&cs, 1100));
	assert_int_equal(r.n, 0);
	capstate_link(&cs, "late0", 4, true, 9000);
	assert_true(capstate_restart_due(&cs, 9000));
	capstate_restarted(&cs, 9000);
	captured(&cs, 4, 0, 9050);
	assert_int_equal(capstate_up(&cs), 1);
	assert_int_equal(cs.v[0].gaps, 0);
	assert_int_equal(cs.v[0].since_ms, 9050);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.line[0], "late0:up");
}

/* Down and up again with the same index: the kernel binds the old handle
 * again, so no new inspector is needed unless the handle died. */
static void
test_capstate_same_index(void **state)
{
	char *names[] = { "br0" };
	struct capstate cs;
	struct record r;

	(void)state;
	init(&cs, &r, names, 1);
	capstate_link(&cs, "br0", 3, true, 1000);
	captured(&cs, 3, 0, 1000);
	capstate_link(&cs, "br0", 3, false, 2000);
	assert_false(cs.v[0].up);
	capstate_link(&cs, "br0", 3, true, 2500);
	assert_true(cs.v[0].up);
	assert_false(capstate_restart_due(&cs, 2500));
	assert_int_equal(cs.v[0].gaps, 1);
	assert_int_equal(cs.v[0].last_gap_ms, 500);
	/* The handle died (ENETDOWN): a new inspector is due. */
	captured(&cs, 0, 0, 3000);
	assert_true(capstate_restart_due(&cs, 3000));
}

/* An interface that is up but cannot be captured: tries back off (1 s,
 * 2 s, 4 s, ... up to 60 s), 8 of them, then none until the link
 * changes; a change starts again at once. New inspectors are never
 * started less than a second apart. */
static void
test_capstate_backoff(void **state)
{
	char *names[] = { "bad0" };
	struct capstate cs;
	struct record r;
	int64_t now = 1000, want[] = { 1000, 2000, 4000, 8000, 16000, 32000,
	    60000, 60000 };
	size_t k;

	(void)state;
	init(&cs, &r, names, 1);
	capstate_link(&cs, "bad0", 5, true, now);
	for (k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		assert_true(capstate_restart_due(&cs, now));
		capstate_restarted(&cs, now);
		captured(&cs, 0, 0, now + 10);
		assert_false(capstate_restart_due(&cs, now + want[k] - 1));
		now += want[k];
	}
	assert_int_equal(cs.v[0].tries, CAPSTATE_TRIES_MAX);
	assert_true(capstate_gave_up(&cs.v[0]));
	assert_false(capstate_restart_due(&cs, now + 3600000));
	/* A flapping link: each change lets a try through at once, but
	 * the restarts stay a second apart. */
	capstate_restarted(&cs, now);
	capstate_link(&cs, "bad0", 5, false, now + 100);
	capstate_link(&cs, "bad0", 5, true, now + 200);
	assert_false(capstate_restart_due(&cs, now + 200));
	assert_true(capstate_restart_due(&cs, now + CAPSTATE_RESTART_MIN_MS));
}

/* Renamed away: the index now has another name, so ours is gone; a
 * link renamed to our name is ours. */
static void
test_capstate_renamed(void **state)
{
	char *names[] = { "wan0" };
	struct capstate cs;
	struct record r;

	(void)state;
	init(&cs, &r, names, 1);
	capstate_link(&cs, "wan0", 4, true, 1000);
	captured(&cs, 4, 0, 1000);
	capstate_link(&cs, "old0", 4, true, 2000);
	assert_false(cs.v[0].up);
	assert_int_equal(cs.v[0].link, 0);
	capstate_link(&cs, "eth3", 6, true, 2500);	/* another: no change */
	assert_int_equal(cs.v[0].link, 0);
	capstate_link(&cs, "wan0", 6, true, 3000);
	assert_true(capstate_restart_due(&cs, 3000));
	captured(&cs, 6, 0, 3100);
	assert_int_equal(cs.v[0].gaps, 1);
	assert_int_equal(cs.v[0].last_gap_ms, 1100);
}

/* "any" has no link of its own: it is up while the inspector holds it,
 * and link events never touch it. */
static void
test_capstate_any(void **state)
{
	char *names[] = { "any" };
	struct capstate cs;
	struct record r;

	(void)state;
	init(&cs, &r, names, 1);
	assert_true(capstate_restart_due(&cs, 1000));
	captured(&cs, CAPSTATE_ANY, 0, 1000);
	assert_true(cs.v[0].up);
	capstate_link(&cs, "any", 0, false, 2000);
	assert_true(cs.v[0].up);
	/* The inspector died: down; its successor: back. */
	capstate_captured(&cs, NULL, 0, 3000);
	assert_false(cs.v[0].up);
	captured(&cs, CAPSTATE_ANY, 0, 3500);
	assert_int_equal(cs.v[0].gaps, 1);
	assert_int_equal(cs.v[0].last_gap_ms, 500);
}

static void
test_capstate_limit(void **state)
{
	char *names[CAPSTATE_MAX + 1];
	struct capstate cs;
	size_t k;

	(void)state;
	for (k = 0; k <= CAPSTATE_MAX; k++)
		names[k] = "eth0";
	assert_int_equal(capstate_init(&cs, names, CAPSTATE_MAX + 1, 0, NULL,
	    NULL), -E2BIG);
	assert_int_equal(capstate_init(&cs, names, CAPSTATE_MAX, 0, NULL,
	    NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capstate_recreated),
		cmocka_unit_test(test_capstate_missing),
		cmocka_unit_test(test_capstate_same_index),
		cmocka_unit_test(test_capstate_backoff),
		cmocka_unit_test(test_capstate_renamed),
		cmocka_unit_test(test_capstate_any),
		cmocka_unit_test(test_capstate_limit),
	};

	return cmocka_run_group_tests_name("capstate", tests, NULL, NULL);
}
