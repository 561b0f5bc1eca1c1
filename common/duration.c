#include "duration.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	uint64_t ms;
} units[] = {
	/* Longest names first where one is a prefix of another. */
	{ "ms", 1 },
	{ "w", 7ULL * 24 * 3600 * 1000 },
	{ "d", 24ULL * 3600 * 1000 },
	{ "h", 3600ULL * 1000 },
	{ "m", 60ULL * 1000 },
	{ "s", 1000 },
};

int
duration_parse(const char *s, uint64_t *ret_ms)
{
	uint64_t total = 0, n, mul;
	const char *p = s;
	size_t i, ulen;
	int digits;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	while (*p != '\0') {
		n = 0;
		digits = 0;
		while (*p >= '0' && *p <= '9') {
			if (n > (UINT64_MAX - 9) / 10)
				return -ERANGE;
			n = n * 10 + (uint64_t)(*p - '0');
			p++;
			digits++;
		}
		if (digits == 0)
			return -EINVAL;
		if (*p == '\0' && p - s == digits) {
			mul = 1000;	/* a bare number is seconds */
		} else {
			mul = 0;
			for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
				ulen = strlen(units[i].name);
				if (strncmp(p, units[i].name, ulen) == 0) {
					mul = units[i].ms;
					p += ulen;
					break;
				}
			}
			if (mul == 0)
				return -EINVAL;
		}
		if (n > UINT64_MAX / mul || total > UINT64_MAX - n * mul)
			return -ERANGE;
		total += n * mul;
	}
	*ret_ms = total;
	return 0;
}

char *
duration_format(uint64_t ms, char *buf, size_t len)
{
	static const struct {
		char name;
		uint64_t ms;
	} parts[] = {
		{ 'd', 24ULL * 3600 * 1000 },
		{ 'h', 3600ULL * 1000 },
		{ 'm', 60ULL * 1000 },
		{ 's', 1000 },
	};
	size_t i, off = 0;
	int n;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (ms == 0) {
		snprintf(buf, len, "0s");
		return buf;
	}
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (ms < parts[i].ms)
			continue;
		n = snprintf(buf + off, len - off, "%llu%c",
		    (unsigned long long)(ms / parts[i].ms), parts[i].name);
		if (n < 0 || (size_t)n >= len - off)
			return buf;
		off += (size_t)n;
		ms %= parts[i].ms;
	}
	if (ms > 0)
		snprintf(buf + off, len - off, "%llums", (unsigned long long)ms);
	return buf;
}
