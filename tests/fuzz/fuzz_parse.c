/*
 * libFuzzer target for the small value parsers a user or a client hands
 * text to: cidr_parse() and addr_parse() (common/addr.h), duration_parse()
 * (common/duration.h) and time_parse_rfc3339() (common/timeutil.h). The
 * first byte picks the parser (byte % 3: 0 address, 1 duration, 2 time);
 * the rest is the string, in an exact-size heap buffer so that ASan sees
 * an over-read. What parses must print and parse back to the same value.
 * Seeds: tests/fuzz/corpus_parse.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/addr.h"
#include "../../common/duration.h"
#include "../../common/timeutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_addr(const char *s)
{
	char buf[ADDR_STRLEN];
	struct cidr c, c2;
	struct addr a, a2;
	unsigned int i, bits;

	if (cidr_parse(s, &c) == 0) {
		bits = c.addr.family == AF_INET ? 32 : 128;
		if (c.len > bits)
			abort();
		for (i = c.len; i < bits; i++)	/* host bits are zero */
			if (c.addr.u.bytes[i / 8] & (0x80 >> (i % 8)))
				abort();
		cidr_format(&c, buf, sizeof(buf));
		if (cidr_parse(buf, &c2) < 0 || cidr_compare(&c, &c2) != 0 ||
		    !cidr_contains(&c, &c.addr))
			abort();
	}
	if (addr_parse(s, &a) == 0) {
		addr_format(&a, buf, sizeof(buf));
		if (addr_parse(buf, &a2) < 0 || !addr_equal(&a, &a2))
			abort();
	}
}

static void
fuzz_duration(const char *s)
{
	char buf[64];
	uint64_t ms, ms2;

	if (duration_parse(s, &ms) < 0)
		return;
	duration_format(ms, buf, sizeof(buf));
	if (duration_parse(buf, &ms2) < 0 || ms2 != ms)
		abort();
}

static void
fuzz_time(const char *s)
{
	char buf[TIME_RFC3339_LEN];
	int64_t ms, ms2;

	if (time_parse_rfc3339(s, &ms) < 0)
		return;
	time_format_rfc3339(ms, buf, sizeof(buf));
	if (time_parse_rfc3339(buf, &ms2) < 0 || ms2 != ms)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1)
		return 0;
	if ((s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0:
		fuzz_addr(s);
		break;
	case 1:
		fuzz_duration(s);
		break;
	default:
		fuzz_time(s);
		break;
	}
	free(s);
	return 0;
}
