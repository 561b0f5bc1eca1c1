#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

#include "../../monitor/linkmon.h"

/* Messages built with libnl, one after another in buf, as one read of
 * the socket would hand them over; the events they make. */
struct events {
	struct linkmon_event v[8];
	int n;
};

static void
collect(void *arg, const struct linkmon_event *ev)
{
	struct events *e = arg;

	if (e->n == 8)
		fail_msg("too many events");
	e->v[e->n++] = *ev;
}

static size_t
put_link(uint8_t *buf, size_t off, int type, int index, unsigned int flags,
    const char *name)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC,
	    .ifi_index = index, .ifi_flags = flags };
	struct nl_msg *m;
	struct nlmsghdr *h;

	assert_non_null(m = nlmsg_alloc_simple(type, 0));
	assert_int_equal(nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO), 0);
	if (name != NULL)
		assert_int_equal(nla_put_string(m, IFLA_IFNAME, name), 0);
	h = nlmsg_hdr(m);
	memcpy(buf + off, h, h->nlmsg_len);
	off += NLMSG_ALIGN(h->nlmsg_len);
	nlmsg_free(m);
	return off;
}

static void
test_linkmon_parse(void **state)
{
	uint8_t buf[4096] = { 0 };
	struct events e = { .n = 0 };
	size_t n = 0;

	(void)state;
	n = put_link(buf, n, RTM_NEWLINK, 7, IFF_UP | IFF_RUNNING, "veth0");
	n = put_link(buf, n, RTM_NEWLINK, 8, 0, "veth1");
	n = put_link(buf, n, RTM_DELLINK, 7, 0, "veth0");
	n = put_link(buf, n, RTM_NEWADDR, 7, IFF_UP, "veth0");	/* skipped */
	n = put_link(buf, n, RTM_NEWLINK, 9, IFF_UP, NULL);	/* no name */
	/* Longer than a name can be: not taken (cut, it would be
	 * another interface's). */
	n = put_link(buf, n, RTM_NEWLINK, 10, IFF_UP, "abcdefghijklmnopq");
	linkmon_parse_buf(buf, n, collect, &e);
	assert_int_equal(e.n, 3);
	assert_string_equal(e.v[0].name, "veth0");
	assert_int_equal(e.v[0].ifindex, 7);
	assert_true(e.v[0].up);
	assert_string_equal(e.v[1].name, "veth1");
	assert_int_equal(e.v[1].ifindex, 8);
	assert_false(e.v[1].up);
	/* A deletion: no index, not up, whatever the message says. */
	assert_string_equal(e.v[2].name, "veth0");
	assert_int_equal(e.v[2].ifindex, 0);
	assert_false(e.v[2].up);
}

/* A message cut short (its length past the read) is not read. */
static void
test_linkmon_truncated(void **state)
{
	uint8_t buf[4096] = { 0 };
	struct events e = { .n = 0 };
	size_t n, cut;

	(void)state;
	n = put_link(buf, 0, RTM_NEWLINK, 7, IFF_UP, "veth0");
	for (cut = 0; cut < n; cut++) {
		e.n = 0;
		linkmon_parse_buf(buf, cut, collect, &e);
		assert_int_equal(e.n, 0);
	}
	linkmon_parse_buf(buf, n, collect, &e);
	assert_int_equal(e.n, 1);
}

/* The poll's look: loopback is there, a made-up name is not (and that
 * is no error). */
static void
test_linkmon_query(void **state)
{
	struct linkmon_event ev;

	(void)state;
	assert_int_equal(linkmon_query("lo", &ev), 0);
	assert_string_equal(ev.name, "lo");
	assert_int_equal(ev.ifindex, (int)if_nametoindex("lo"));
	assert_true(ev.ifindex > 0);
	assert_int_equal(linkmon_query("swnosuch0", &ev), 0);
	assert_int_equal(ev.ifindex, 0);
	assert_false(ev.up);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linkmon_parse),
		cmocka_unit_test(test_linkmon_truncated),
		cmocka_unit_test(test_linkmon_query),
	};

	return cmocka_run_group_tests_name("linkmon", tests, NULL, NULL);
}
