/*
 * The inter-process framing (common/ipc.h): messages round-trip over a
 * real socketpair, arrive whole however the stream splits them, and a
 * header that breaks the framing (version, type, a length past the
 * type's limit) ends the stream instead of being buffered.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "../../common/ipc.h"

/* A control line's largest size, as the exporter relays it. */
#define IPC_REQUEST_MAX_TEST	(64 * 1024)

static void
pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

/* Everything waiting on fd, read into r. */
static void
drain(struct ipc_reader *r, int fd)
{
	while (ipc_reader_fill(r, fd, 4096) > 0)
		;
}

static void
test_round_trip(void **state)
{
	struct ipc_reader r = { .accept = IPC_FROM_INSPECTOR |
	    IPC_TO_INSPECTOR };
	struct ipc_peers_req q = { 7, 2, 100 }, q2;
	uint64_t st[50], st2[50];
	struct ipc_msg m;
	struct addr a[2], *got;
	const char *json;
	char text[64];
	uint32_t seq;
	size_t n;
	int sv[2], pri;

	(void)state;
	pair(sv);
	memset(st, 0, sizeof(st));
	st[0] = 12345;
	st[49] = UINT64_MAX;
	assert_int_equal(addr_parse("198.18.0.1", &a[0]), 0);
	assert_int_equal(addr_parse("2001:db8::1", &a[1]), 0);
	assert_int_equal(ipc_send(sv[0], IPC_HELLO, NULL, 0), 0);
	assert_int_equal(ipc_send_log(sv[0], LOG_WARNING, "bad\x01\nline"), 0);
	assert_int_equal(ipc_send(sv[0], IPC_STATS, st, sizeof(st)), 0);
	assert_int_equal(ipc_send(sv[0], IPC_PEERS_REQ, &q, sizeof(q)), 0);
	assert_int_equal(ipc_send_peers_reply(sv[0], 7, "[]", 2), 0);
	assert_int_equal(ipc_send_local(sv[0], a, 2), 0);
	drain(&r, sv[1]);

	assert_int_equal(ipc_next(&r, &m), 1);
	assert_int_equal(m.type, IPC_HELLO);
	assert_int_equal(ipc_next(&r, &m), 1);
	assert_int_equal(ipc_decode_log(&m, &pri, text, sizeof(text)), 0);
	assert_int_equal(pri, LOG_WARNING);
	assert_string_equal(text, "bad??line");
	assert_int_equal(ipc_next(&r, &m), 1);
	assert_int_equal(ipc_decode_fixed(&m, IPC_STATS, st2, sizeof(st2)), 0);
	assert_memory_equal(st, st2, sizeof(st));
	/* The decoder holds it to the size the caller expects. */
	assert_int_equal(ipc_decode_fixed(&m, IPC_STATS, st2, 8), -EINVAL);
	assert_int_equal(ipc_next(&r, &m), 1);
	assert_int_equal(ipc_decode_peers_req(&m, &q2), 0);
	assert_int_equal(q2.seq, 7);
	assert_int_equal(q2.limit, 100);
	assert_int_equal(ipc_next(&r, &m), 1);
	assert_int_equal(ipc_decode_peers_reply(&m, &seq, &json, &n), 0);
	assert_int_equal(seq, 7);
	assert_int_equal(n, 2);
	assert_memory_equal(json, "[]", 2);
	assert_int_equal(ipc_next(&r, &m), 1);
	assert_int_equal(ipc_decode_local(&m, &got, &n), 0);
	assert_int_equal(n, 2);
	assert_true(addr_equal(&got[0], &a[0]));
	assert_true(addr_equal(&got[1], &a[1]));
	free(got);
	/* A decoder refuses another type's message. */
	assert_int_equal(ipc_decode_fixed(&m, IPC_STATS, st2, sizeof(st2)),
	    -EINVAL);
	assert_int_equal(ipc_next(&r, &m), 0);
	ipc_reader_free(&r);
	close(sv[0]);
	close(sv[1]);
}

/* Byte by byte: a message is whole only once its last byte is in. */
static void
test_split(void **state)
{
	struct ipc_reader r = { .accept = IPC_FROM_INSPECTOR };
	struct ipc_msg m;
	uint8_t buf[64];
	ssize_t n;
	int sv[2];
	ssize_t i;

	(void)state;
	pair(sv);
	assert_int_equal(ipc_send(sv[0], IPC_FAIL, "setresuid: x", 12), 0);
	n = read(sv[1], buf, sizeof(buf));
	assert_int_equal(n, IPC_HDR_LEN + 12);
	for (i = 0; i < n - 1; i++) {
		assert_int_equal(ipc_reader_feed(&r, buf + i, 1), 0);
		assert_int_equal(ipc_next(&r, &m), 0);
	}
	assert_int_equal(ipc_reader_feed(&r, buf + n - 1, 1), 0);
	assert_int_equal(ipc_next(&r, &m), 1);
	assert_int_equal(m.type, IPC_FAIL);
	assert_int_equal(m.len, 12);
	ipc_reader_free(&r);
	close(sv[0]);
	close(sv[1]);
}

static void
hdr(uint8_t *h, unsigned int version, unsigned int type, uint32_t len)
{
	h[0] = (uint8_t)(version >> 8);
	h[1] = (uint8_t)version;
	h[2] = (uint8_t)(type >> 8);
	h[3] = (uint8_t)type;
	len = htonl(len);
	memcpy(h + 4, &len, 4);
}

/* Headers that break the framing, table-driven. */
static void
test_bad_headers(void **state)
{
	static const struct {
		unsigned int version, type;
		uint32_t len;
	} bad[] = {
		{ 2, IPC_HELLO, 0 },			/* version */
		{ 0, IPC_HELLO, 0 },
		{ IPC_VERSION, 0, 0 },			/* type */
		{ IPC_VERSION, IPC_TYPE_MAX + 1, 0 },
		{ IPC_VERSION, 0xffff, 0 },
		{ IPC_VERSION, IPC_HELLO, 1 },		/* length */
		{ IPC_VERSION, IPC_STATS, 0 },
		{ IPC_VERSION, IPC_STATS, IPC_FIXED_MAX + 1 },
		{ IPC_VERSION, IPC_LISTENERS, 100 },
		{ IPC_VERSION, IPC_LOG, 0 },
		{ IPC_VERSION, IPC_LOG, 1000000 },
		{ IPC_VERSION, IPC_ALERT, 0xffffffff },
		{ IPC_VERSION, IPC_PEERS_REPLY, IPC_MAX_PAYLOAD + 1 },
	};
	struct ipc_reader r;
	struct ipc_msg m;
	uint8_t h[IPC_HDR_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&r, 0, sizeof(r));
		r.accept = ~0U;
		hdr(h, bad[i].version, bad[i].type, bad[i].len);
		assert_int_equal(ipc_reader_feed(&r, h, sizeof(h)), 0);
		assert_int_equal(ipc_next(&r, &m), -EPROTO);
		ipc_reader_free(&r);
	}
}

/* A type the end does not take is a broken frame: the inspector cannot
 * send what only the exporter may (a control request), nor the other
 * way round. */
static void
test_direction(void **state)
{
	struct ipc_reader r = { .accept = IPC_FROM_INSPECTOR };
	struct ipc_request q = { 0 };
	struct ipc_msg m;
	int sv[2];

	(void)state;
	pair(sv);
	assert_int_equal(ipc_send2(sv[0], IPC_REQUEST, &q, sizeof(q), "{}",
	    2), 0);
	drain(&r, sv[1]);
	assert_int_equal(ipc_next(&r, &m), -EPROTO);
	ipc_reader_free(&r);
	r.accept = IPC_FROM_EXPORTER;
	assert_int_equal(ipc_send(sv[0], IPC_LISTENERS, NULL, 0), -EMSGSIZE);
	assert_int_equal(ipc_send_seq(sv[0], IPC_METRICS_REPLY, 1, "x", 1), 0);
	drain(&r, sv[1]);
	assert_int_equal(ipc_next(&r, &m), -EPROTO);
	ipc_reader_free(&r);
	close(sv[0]);
	close(sv[1]);
}

/* The CrowdSec client's records: a decision round-trips through a real
 * socket; anything not canonical (op, family, length, host bits, bytes
 * past an IPv4 address, padding, a time that does not fit the op) is
 * refused; the types go one way each. */
static void
test_crowdsec_records(void **state)
{
	static const struct {
		const char *peer;
		int op;
		uint64_t ms;
	} good[] = {
		{ "198.18.0.1", IPC_CS_ADD, 3600000 },
		{ "198.18.64.0/24", IPC_CS_ADD, 1 },
		{ "2001:db8::/32", IPC_CS_DELETE, 0 },
		{ "0.0.0.0/0", IPC_CS_DELETE, 0 },
	};
	struct ipc_reader r = { .accept = IPC_FROM_CROWDSEC };
	struct ipc_cs_decision d[4], bad;
	struct ipc_cs_stream_end end = { .decisions = 4 };
	struct cidr c, got;
	struct ipc_msg m;
	uint64_t ms;
	size_t i;
	int sv[2];

	(void)state;
	for (i = 0; i < 4; i++) {
		assert_int_equal(cidr_parse(good[i].peer, &c), 0);
		ipc_encode_cs_decision(&d[i], good[i].op, &c, good[i].ms);
	}
	pair(sv);
	assert_int_equal(ipc_send(sv[0], IPC_CS_DECISIONS, d, sizeof(d)), 0);
	assert_int_equal(ipc_send(sv[0], IPC_CS_STREAM_END, &end,
	    sizeof(end)), 0);
	drain(&r, sv[1]);
	assert_int_equal(ipc_next(&r, &m), 1);
	assert_int_equal(m.type, IPC_CS_DECISIONS);
	assert_int_equal(m.len, sizeof(d));
	for (i = 0; i < 4; i++) {
		memcpy(&bad, m.payload + i * sizeof(bad), sizeof(bad));
		assert_int_equal(ipc_decode_cs_decision(&bad, &got, &ms), 0);
		assert_int_equal(cidr_parse(good[i].peer, &c), 0);
		assert_int_equal(cidr_compare(&got, &c), 0);
		assert_int_equal(ms, good[i].ms);
	}
	assert_int_equal(ipc_next(&r, &m), 1);
	assert_int_equal(m.type, IPC_CS_STREAM_END);
	ipc_reader_free(&r);

	/* Each field out of its bounds. */
	for (i = 0; i < 9; i++) {
		bad = d[0];
		switch (i) {
		case 0: bad.op = 0; break;
		case 1: bad.op = 3; break;
		case 2: bad.family = 5; break;
		case 3: bad.len = 33; break;
		case 4: bad.len = 24; break;		/* .1 is a host bit */
		case 5: bad.addr[4] = 1; break;		/* past IPv4 */
		case 6: bad.pad[2] = 1; break;
		case 7: bad.remaining_ms = 0; break;	/* an add */
		case 8: bad.op = IPC_CS_DELETE; break;	/* with a time */
		}
		assert_int_equal(ipc_decode_cs_decision(&bad, &got, &ms),
		    -EINVAL);
	}
	bad = d[2];
	bad.len = 129;
	assert_int_equal(ipc_decode_cs_decision(&bad, &got, &ms), -EINVAL);

	/* The parent sends signals down, never decisions; the child never
	 * signals up; a piece that is not whole records is too short. */
	assert_int_equal(ipc_send(sv[0], IPC_CS_SIGNAL, "x", 1), 0);
	drain(&r, sv[1]);
	assert_int_equal(ipc_next(&r, &m), -EPROTO);
	ipc_reader_free(&r);
	r.accept = IPC_TO_CROWDSEC;
	assert_int_equal(ipc_send(sv[0], IPC_CS_DECISIONS, d, sizeof(d)), 0);
	drain(&r, sv[1]);
	assert_int_equal(ipc_next(&r, &m), -EPROTO);
	ipc_reader_free(&r);
	assert_int_equal(ipc_send(sv[0], IPC_CS_DECISIONS, d, 8), -EMSGSIZE);
	assert_string_equal(ipc_type_name(IPC_CS_STREAM_END),
	    "crowdsec-stream-end");
	close(sv[0]);
	close(sv[1]);
}

/* A withdrawal goes down only, one address, every byte checked. */
static void
test_crowdsec_withdraw(void **state)
{
	static const char *const good[] = { "198.18.0.2", "2001:db8::2" };
	struct ipc_reader r = { .accept = IPC_TO_CROWDSEC };
	struct ipc_cs_withdraw w, bad;
	struct ipc_msg m;
	struct addr a, got;
	size_t i;
	int sv[2];

	(void)state;
	pair(sv);
	for (i = 0; i < 2; i++) {
		assert_int_equal(addr_parse(good[i], &a), 0);
		ipc_encode_cs_withdraw(&w, &a);
		assert_int_equal(ipc_send(sv[0], IPC_CS_WITHDRAW, &w,
		    sizeof(w)), 0);
		drain(&r, sv[1]);
		assert_int_equal(ipc_next(&r, &m), 1);
		assert_int_equal(ipc_decode_cs_withdraw(&m, &got), 0);
		assert_true(addr_equal(&got, &a));
	}
	ipc_reader_free(&r);
	assert_int_equal(addr_parse(good[0], &a), 0);
	ipc_encode_cs_withdraw(&w, &a);
	m.type = IPC_CS_WITHDRAW;
	m.payload = (const uint8_t *)&bad;
	for (i = 0; i < 4; i++) {
		bad = w;
		m.len = sizeof(bad);
		switch (i) {
		case 0: bad.family = 0; break;
		case 1: bad.pad[6] = 1; break;
		case 2: bad.addr[4] = 1; break;		/* past IPv4 */
		case 3: m.len = sizeof(bad) - 1; break;
		}
		assert_int_equal(ipc_decode_cs_withdraw(&m, &got), -EINVAL);
	}
	/* The child never sends one up; the size is fixed on the wire. */
	r.accept = IPC_FROM_CROWDSEC;
	assert_int_equal(ipc_send(sv[0], IPC_CS_WITHDRAW, &w, sizeof(w)), 0);
	drain(&r, sv[1]);
	assert_int_equal(ipc_next(&r, &m), -EPROTO);
	ipc_reader_free(&r);
	assert_int_equal(ipc_send(sv[0], IPC_CS_WITHDRAW, &w, 8), -EMSGSIZE);
	close(sv[0]);
	close(sv[1]);
}

/* A descriptor passed along arrives with its message, and only one
 * message takes it. */
static void
test_fd_passing(void **state)
{
	struct ipc_reader r = { .accept = IPC_FROM_EXPORTER |
	    IPC_TO_EXPORTER };
	struct ipc_request q = { .client = 42, .uid = 0, .fd = 1 };
	struct ipc_request got;
	struct ipc_msg m;
	struct stat a, b;
	const char *json;
	uint64_t client;
	size_t n;
	int sv[2], fd;

	(void)state;
	pair(sv);
	assert_int_equal(ipc_send_fd(sv[0], IPC_REQUEST, &q, sizeof(q),
	    "{\"cmd\":\"block\"}", 15, STDIN_FILENO), 0);
	drain(&r, sv[1]);
	assert_int_equal(ipc_next(&r, &m), 1);
	assert_int_equal(ipc_decode_request(&m, &got, &json, &n), 0);
	assert_int_equal(got.client, 42);
	assert_int_equal(got.fd, 1);
	assert_int_equal(n, 15);
	fd = ipc_reader_take_fd(&r);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(fstat(STDIN_FILENO, &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	close(fd);
	assert_int_equal(ipc_reader_take_fd(&r), -1);

	client = 42;
	assert_int_equal(ipc_send2(sv[0], IPC_RESPONSE, &client, 8, "{}", 2),
	    0);
	assert_int_equal(ipc_send(sv[0], IPC_EVENT, "{\"a\":1}", 7), 0);
	assert_int_equal(ipc_send(sv[0], IPC_HELLO, "x", 1), -EMSGSIZE);
	drain(&r, sv[1]);
	assert_int_equal(ipc_next(&r, &m), 1);
	assert_int_equal(ipc_decode_response(&m, &client, &json, &n), 0);
	assert_int_equal(client, 42);
	assert_int_equal(ipc_next(&r, &m), 1);
	assert_int_equal(m.type, IPC_EVENT);
	assert_int_equal(ipc_next(&r, &m), 0);
	ipc_reader_free(&r);
	close(sv[0]);
	close(sv[1]);
}

/* Payloads that pass the framing but not their decoder. */
static void
test_bad_payloads(void **state)
{
	uint8_t local[17] = { 5 };
	uint8_t log1[2] = { 9, 'x' };
	struct ipc_msg m;
	struct addr *a;
	char text[8];
	size_t n;
	int pri;

	(void)state;
	m.type = IPC_LOCAL;
	m.payload = local;
	m.len = sizeof(local);
	assert_int_equal(ipc_decode_local(&m, &a, &n), -EINVAL);
	m.len = 16;
	assert_int_equal(ipc_decode_local(&m, &a, &n), -EINVAL);
	m.type = IPC_LOG;
	m.payload = log1;
	m.len = sizeof(log1);
	assert_int_equal(ipc_decode_log(&m, &pri, text, sizeof(text)), -EINVAL);
	/* Sending what the framing would refuse fails before writing. */
	assert_int_equal(ipc_send(-1, IPC_STATS, NULL, 0), -EMSGSIZE);
	assert_int_equal(ipc_send(-1, (enum ipc_type)99, NULL, 0), -EMSGSIZE);
}

/* The reader never buffers more than one largest message. */
static void
test_bounded(void **state)
{
	struct ipc_reader r = { .accept = IPC_FROM_INSPECTOR };
	static uint8_t chunk[1 << 20];
	size_t total = 0;
	int e = 0;

	(void)state;
	while (total < 64U << 20 && (e = ipc_reader_feed(&r, chunk,
	    sizeof(chunk))) == 0)
		total += sizeof(chunk);
	assert_int_equal(e, -EPROTO);
	assert_true(total <= IPC_MAX_PAYLOAD + 2 * IPC_HDR_LEN + 65536);
	ipc_reader_free(&r);
}

/* A long stream of messages of many sizes, read the way the parent reads
 * (a read's worth at a time, every whole message consumed): the buffer
 * never refuses what is within the limits, however the reads fall. */
static void
test_stream(void **state)
{
	struct ipc_reader r = { .accept = IPC_FROM_EXPORTER };
	static char body[IPC_REQUEST_MAX_TEST];
	struct ipc_request q = { 0 };
	uint8_t hdr[IPC_HDR_LEN];
	struct ipc_msg m;
	size_t i, len, sent = 0, got = 0, off, piece;
	uint32_t x = 12345;
	uint8_t *wire;
	size_t wlen = 0, wcap = 64U << 20;

	(void)state;
	memset(body, 'a', sizeof(body));
	wire = malloc(wcap);
	assert_non_null(wire);
	for (i = 0; i < 400; i++) {
		x = x * 1103515245 + 12345;
		len = 2 + x % (sizeof(body) - 2);
		hdr[0] = 0;
		hdr[1] = IPC_VERSION;
		hdr[2] = 0;
		hdr[3] = IPC_REQUEST;
		hdr[4] = (uint8_t)((sizeof(q) + len) >> 24);
		hdr[5] = (uint8_t)((sizeof(q) + len) >> 16);
		hdr[6] = (uint8_t)((sizeof(q) + len) >> 8);
		hdr[7] = (uint8_t)(sizeof(q) + len);
		assert_true(wlen + sizeof(hdr) + sizeof(q) + len <= wcap);
		memcpy(wire + wlen, hdr, sizeof(hdr));
		memcpy(wire + wlen + sizeof(hdr), &q, sizeof(q));
		memcpy(wire + wlen + sizeof(hdr) + sizeof(q), body, len);
		wlen += sizeof(hdr) + sizeof(q) + len;
		sent++;
	}
	for (off = 0; off < wlen; off += piece) {
		x = x * 1103515245 + 12345;
		piece = 1 + x % (256 * 1024);
		if (piece > wlen - off)
			piece = wlen - off;
		assert_int_equal(ipc_reader_feed(&r, wire + off, piece), 0);
		while (ipc_next(&r, &m) == 1)
			got++;
	}
	assert_int_equal(got, sent);
	free(wire);
	ipc_reader_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_bad_payloads),
		cmocka_unit_test(test_direction),
		cmocka_unit_test(test_crowdsec_records),
		cmocka_unit_test(test_crowdsec_withdraw),
		cmocka_unit_test(test_fd_passing),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
