/*
 * libFuzzer target for policy/crowdsec.c: what CrowdSec's Local API
 * answers (/v1/decisions/stream, and /v1/alerts?ip= for our decisions to
 * withdraw) and the Go durations inside. The input is a whole answer,
 * copied to an exact-size heap buffer so ASan sees over-reads; its first
 * line, when short, is also read as a duration. A taken stream holds at
 * most CROWDSEC_DECISIONS_MAX decisions, each a canonical prefix, each
 * new one with time left; a listing gives at most the ids asked for,
 * each positive, and so does a push's answer; a duration taken is within
 * bounds. Seeds:
 * tests/fuzz/corpus_crowdsec (answers recorded from crowdsec 1.4.6, and
 * broken ones).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../policy/crowdsec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_cidr(const struct cidr *c)
{
	struct cidr again;
	char buf[ADDR_STRLEN];

	if (cidr_parse(cidr_format(c, buf, sizeof(buf)), &again) < 0 ||
	    cidr_compare(c, &again) != 0)
		abort();
}

static void
fuzz_duration(const uint8_t *data, size_t size)
{
	char s[CROWDSEC_DURATION_LEN + 2];
	const uint8_t *nl = memchr(data, '\n', size);
	size_t len = nl != NULL ? (size_t)(nl - data) : size;
	int64_t ms;

	if (len >= sizeof(s))
		return;
	memcpy(s, data, len);
	s[len] = '\0';
	if (crowdsec_duration_parse(s, &ms) == 0 &&
	    (ms > CROWDSEC_DURATION_MAX || ms < -CROWDSEC_DURATION_MAX))
		abort();
}

static void
fuzz_own(const char *buf, size_t size)
{
	int64_t ids[4], first;
	struct addr peer;
	char err[256];
	size_t i, n;

	if (addr_parse("198.18.9.20", &peer) < 0)
		abort();
	err[0] = '\0';
	if (crowdsec_own_decisions(buf, size, "agentA", &peer, 1000, ids,
	    4, &n, err, sizeof(err)) >= 0) {
		if (n > 4)
			abort();
		for (i = 0; i < n; i++)
			if (ids[i] <= 0)
				abort();
	} else if (err[0] == '\0')
		abort();
	if (crowdsec_alert_ids(buf, size, 2, &first) == 0 && first <= 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct crowdsec_stream st;
	char err[256], *buf;
	size_t i;

	fuzz_duration(data, size);
	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	if (crowdsec_stream_parse(buf, size, &st, err, sizeof(err)) == 0) {
		if (st.nadd + st.ndel > CROWDSEC_DECISIONS_MAX)
			abort();
		for (i = 0; i < st.nadd; i++) {
			check_cidr(&st.add[i].peer);
			if (st.add[i].remaining_ms <= 0 ||
			    st.add[i].remaining_ms > CROWDSEC_DURATION_MAX)
				abort();
		}
		for (i = 0; i < st.ndel; i++)
			check_cidr(&st.del[i]);
		crowdsec_stream_free(&st);
	} else if (err[0] == '\0')
		abort();
	fuzz_own(buf, size);
	free(buf);
	return 0;
}
