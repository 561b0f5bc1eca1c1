/* sshd's log lines as sshd writes them (its -E file, syslog, the
 * journal's message), forged ones, and the failure count. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../policy/authlog.h"

static int
parse(const char *line, struct authlog_event *ev)
{
	return authlog_parse(line, strlen(line), ev);
}

static void
expect_event(const char *line, enum authlog_kind kind, const char *addr,
    uint16_t port)
{
	struct authlog_event ev;
	struct addr a;

	assert_int_equal(addr_parse(addr, &a), 0);
	if (parse(line, &ev) != 0)
		fail_msg("not parsed: %s", line);
	assert_int_equal(ev.kind, kind);
	assert_true(addr_equal(&ev.addr, &a));
	assert_int_equal(ev.port, port);
}

static void
test_authlog_lines(void **state)
{
	(void)state;
	/* sshd -E, as Debian's sshd 9.2 wrote them here. */
	expect_event("Failed password for swtest from 198.18.0.2 port 37840 "
	    "ssh2", AUTHLOG_FAILED, "198.18.0.2", 37840);
	expect_event("Failed password for invalid user admin from "
	    "2001:db8::2 port 50022 ssh2", AUTHLOG_FAILED, "2001:db8::2",
	    50022);
	expect_event("Invalid user admin from 198.18.0.2 port 4242",
	    AUTHLOG_INVALID_USER, "198.18.0.2", 4242);
	expect_event("Disconnected from authenticating user swtest "
	    "198.18.0.2 port 37830 [preauth]", AUTHLOG_PREAUTH_END,
	    "198.18.0.2", 37830);
	expect_event("Connection closed by invalid user oracle 198.18.0.7 "
	    "port 1 [preauth]", AUTHLOG_PREAUTH_END, "198.18.0.7", 1);
	expect_event("Accepted password for root from 198.18.1.2 port 40000 "
	    "ssh2", AUTHLOG_ACCEPTED, "198.18.1.2", 40000);
	expect_event("Accepted publickey for root from 198.18.1.2 port 40001 "
	    "ssh2: ED25519 SHA256:4Y0nZlq1k0bQfAqVbd3m", AUTHLOG_ACCEPTED,
	    "198.18.1.2", 40001);
	/* Through syslog (RFC 3339 and BSD stamps) and a journal export. */
	expect_event("2026-12-07T17:00:00.123456+00:00 host sshd[812]: Failed "
	    "password for root from 198.18.0.2 port 22 ssh2", AUTHLOG_FAILED,
	    "198.18.0.2", 22);
	expect_event("Dec  7 17:00:00 host sshd[812]: Invalid user a from "
	    "198.18.0.2 port 5", AUTHLOG_INVALID_USER, "198.18.0.2", 5);
	expect_event("Dec  7 17:00:00 host sshd-session[9]: Failed password "
	    "for root from 198.18.0.2 port 6 ssh2\r", AUTHLOG_FAILED,
	    "198.18.0.2", 6);
}

static void
test_authlog_not_events(void **state)
{
	static const char *const lines[] = {
		"Server listening on 198.18.0.1 port 22.",
		"Received disconnect from 198.18.0.2 port 37830:11: Bye Bye "
		    "[preauth]",
		"Connection closed by 198.18.0.2 port 4 [preauth]",
		"maximum authentication attempts exceeded for root from "
		    "198.18.0.2 port 37840 ssh2 [preauth]",
		"Disconnecting authenticating user root 198.18.0.2 port 37840: "
		    "Too many authentication failures [preauth]",
		"Dec  7 17:00:00 host CRON[1]: Failed password for root from "
		    "198.18.0.2 port 22 ssh2",
		"Failed password for root from 198.18.0.2 port 70000 ssh2",
		"Failed password for root from 198.18.0.2 port 22",
		"Failed password for root from 198.18.0.2 port ssh2",
		"Failed password for root from 255.255.255.255 port 22 ssh2",
		"Failed password for root from 0.0.0.0 port 22 ssh2",
		"Failed password for root from nothing port 22 ssh2",
		"Disconnected from authenticating user root 198.18.0.2 port 9",
		"",
		"Failed ",
		" port 1 ssh2",
		/* A client's disconnect reason, logged as it sent it, that
		 * carries a whole message (-E, the journal, syslog). */
		"Received disconnect from 198.18.0.2 port 5:11: x sshd[1]: "
		    "Accepted password for root from 198.18.0.5 port 40000 "
		    "ssh2: x [preauth]",
		"Received disconnect from 198.18.0.2 port 5:11: x sshd[1]: "
		    "Failed password for root from 198.18.0.5 port 40000 ssh2",
		"Dec  7 17:00:00 host sshd[812]: Received disconnect from "
		    "198.18.0.2 port 5:11: sshd[1]: Invalid user a from "
		    "198.18.0.5 port 7 [preauth]",
		/* Another program's line with sshd's words in it. */
		"Dec  7 17:00:00 host nginx[77]: GET /x sshd[1]: Invalid user "
		    "a from 198.18.0.5 port 7",
	};
	struct authlog_event ev;
	char big[AUTHLOG_LINE_MAX + 64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		if (parse(lines[i], &ev) != -ENOENT)
			fail_msg("parsed: \"%s\"", lines[i]);
	memset(big, 'a', sizeof(big));
	memcpy(big + sizeof(big) - 48, "Failed password for r from 1.2.3.4 "
	    "port 2 ssh2", 47);
	assert_int_equal(authlog_parse(big, sizeof(big) - 1, &ev), -ENOENT);
}

/* A line with a tag but no ": " after it ends right at a page that
 * cannot be read: the parser took the tag's "]" and the line's last byte
 * for "]: " and read on past the end (found by tests/fuzz/fuzz_authlog). */
static void
test_authlog_tag_at_end(void **state)
{
	static const char *const lines[] = {
		"Dec  7 17:00:00 host sshd[812] ",
		"Dec  7 17:00:00 host sshd[812]:",
		"sshd[1]x",
	};
	long pg = sysconf(_SC_PAGESIZE);
	struct authlog_event ev;
	size_t i, n;
	char *m;

	(void)state;
	m = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(mprotect(m + pg, (size_t)pg, PROT_NONE), 0);
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		n = strlen(lines[i]);
		memcpy(m + pg - n, lines[i], n);
		assert_int_equal(authlog_parse(m + pg - n, n, &ev), -ENOENT);
	}
	munmap(m, (size_t)pg * 2);
}

/* What a guesser chooses (the user name) cannot name someone else. */
static void
test_authlog_forged(void **state)
{
	(void)state;
	expect_event("Failed password for invalid user x from 198.18.9.9 port "
	    "22 from 198.18.0.2 port 5555 ssh2", AUTHLOG_FAILED, "198.18.0.2",
	    5555);
	expect_event("Invalid user x from 198.18.9.9 port 22 from 198.18.0.2 "
	    "port 7", AUTHLOG_INVALID_USER, "198.18.0.2", 7);
	expect_event("Connection closed by invalid user x 198.18.9.9 port 22 "
	    "[preauth] 198.18.0.2 port 8 [preauth]", AUTHLOG_PREAUTH_END,
	    "198.18.0.2", 8);
	/* A user name that looks like a syslog tag comes after the real
	 * one. */
	expect_event("Dec  7 17:00:00 host sshd[1]: Failed password for "
	    "invalid user sshd[2]: x from 198.18.0.2 port 9 ssh2",
	    AUTHLOG_FAILED, "198.18.0.2", 9);
}

static void
test_authlog_count(void **state)
{
	struct authlog_count *c;
	struct authlog_event f, ok, other;
	bool forgiven;
	int64_t t = 1000;
	int i;

	(void)state;
	assert_int_equal(authlog_count_new(2, &c), 0);
	assert_int_equal(parse("Failed password for a from 198.18.0.2 port 1 "
	    "ssh2", &f), 0);
	assert_int_equal(parse("Accepted password for a from 198.18.0.2 port "
	    "2 ssh2", &ok), 0);
	assert_int_equal(parse("Failed password for a from 198.18.0.3 port 1 "
	    "ssh2", &other), 0);

	assert_int_equal(authlog_count_add(c, &f, t, 60000, NULL), 1);
	assert_int_equal(authlog_count_add(c, &f, t + 1, 60000, NULL), 2);
	assert_int_equal(authlog_count_add(c, &other, t, 60000, NULL), 1);
	/* The window passes. */
	assert_int_equal(authlog_count_add(c, &f, t + 60001, 60000, NULL), 1);

	/* An administrator mistypes twice and logs in, three times: each
	 * login forgives; a fourth within the window does not. */
	t += 100000;
	for (i = 0; i < 3; i++) {
		assert_int_equal(authlog_count_add(c, &f, t, 60000, NULL), i ?
		    1 : 2);
		assert_int_equal(authlog_count_add(c, &f, t, 60000, NULL), i ?
		    2 : 3);
		assert_int_equal(authlog_count_add(c, &ok, t, 60000,
		    &forgiven), 0);
		assert_true(forgiven);
		t += 1000;
	}
	assert_int_equal(authlog_count_add(c, &f, t, 60000, NULL), 1);
	assert_int_equal(authlog_count_add(c, &ok, t, 60000, &forgiven), 0);
	assert_false(forgiven);
	assert_int_equal(authlog_count_add(c, &f, t, 60000, NULL), 2);
	/* Once the first login is a window old, one forgives again. */
	assert_int_equal(authlog_count_add(c, &ok, t - 2000 + 60000, 60000,
	    &forgiven), 0);
	assert_true(forgiven);

	/* A connection that named a user and left counts twice, once
	 * after a failure of its own. */
	{
		struct authlog_event probe, end;

		assert_int_equal(parse("Disconnected from authenticating "
		    "user a 198.18.0.9 port 5 [preauth]", &probe), 0);
		assert_int_equal(authlog_count_add(c, &probe, t, 60000,
		    NULL), 2);
		assert_int_equal(parse("Failed password for a from "
		    "198.18.0.9 port 6 ssh2", &end), 0);
		assert_int_equal(authlog_count_add(c, &end, t, 60000, NULL),
		    3);
		assert_int_equal(parse("Connection closed by authenticating "
		    "user a 198.18.0.9 port 6 [preauth]", &end), 0);
		assert_int_equal(authlog_count_add(c, &end, t, 60000, NULL),
		    4);
	}

	/* The ring holds AUTHLOG_KEEP. */
	for (i = 0; i < AUTHLOG_KEEP + 5; i++)
		authlog_count_add(c, &other, t, 60000, NULL);
	assert_int_equal(authlog_count_add(c, &other, t, 60000, NULL),
	    AUTHLOG_KEEP);
	authlog_count_forget(c, &other.addr);
	assert_int_equal(authlog_count_add(c, &other, t, 60000, NULL), 1);
	authlog_count_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_authlog_lines),
		cmocka_unit_test(test_authlog_not_events),
		cmocka_unit_test(test_authlog_tag_at_end),
		cmocka_unit_test(test_authlog_forged),
		cmocka_unit_test(test_authlog_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
