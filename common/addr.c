#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int
addr_parse(const char *s, struct addr *ret_addr)
{
	struct addr a;

	memset(&a, 0, sizeof(a));
	if (s == NULL || *s == '\0')
		return -EINVAL;
	if (strchr(s, ':') != NULL) {
		if (inet_pton(AF_INET6, s, &a.u.v6) != 1)
			return -EINVAL;
		a.family = AF_INET6;
	} else {
		if (inet_pton(AF_INET, s, &a.u.v4) != 1)
			return -EINVAL;
		a.family = AF_INET;
	}
	*ret_addr = a;
	return 0;
}

static unsigned int
addr_bits(const struct addr *a)
{
	return a->family == AF_INET ? 32 : 128;
}

/* Clear every bit at and after position len. */
static void
addr_mask(struct addr *a, unsigned int len)
{
	unsigned int nbytes = addr_bits(a) / 8, i;

	for (i = 0; i < nbytes; i++) {
		if (len >= (i + 1) * 8)
			continue;
		if (len <= i * 8)
			a->u.bytes[i] = 0;
		else
			a->u.bytes[i] &= (uint8_t)(0xff << (8 - (len - i * 8)));
	}
}

int
cidr_parse(const char *s, struct cidr *ret_cidr)
{
	char buf[ADDR_STRLEN];
	const char *slash, *p;
	struct cidr c;
	unsigned long len = 0;
	size_t alen;

	if (s == NULL)
		return -EINVAL;
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	memset(&c, 0, sizeof(c));
	if (addr_parse(buf, &c.addr) != 0)
		return -EINVAL;
	if (slash == NULL) {
		c.len = addr_bits(&c.addr);
	} else {
		p = slash + 1;
		if (*p == '\0' || strlen(p) > 3)
			return -EINVAL;
		for (; *p != '\0'; p++) {
			if (*p < '0' || *p > '9')
				return -EINVAL;
			len = len * 10 + (unsigned long)(*p - '0');
		}
		if (len > addr_bits(&c.addr))
			return -EINVAL;
		c.len = (unsigned int)len;
	}
	addr_mask(&c.addr, c.len);
	*ret_cidr = c;
	return 0;
}

void
addr_from_raw(struct addr *ret_addr, int family, const void *raw)
{
	memset(ret_addr, 0, sizeof(*ret_addr));
	ret_addr->family = (sa_family_t)family;
	memcpy(ret_addr->u.bytes, raw, family == AF_INET ? 4 : 16);
}

/* Decimal digits of v at p; returns the end. p needs 5 bytes. */
static char *
put_uint(char *p, unsigned int v)
{
	char tmp[8];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

/* Listing 100,000 sockets formats 200,000 addresses: IPv4 is done by hand,
 * inet_ntop is several times slower. */
char *
addr_format(const struct addr *a, char *buf, size_t len)
{
	char tmp[16], *p = tmp;
	int i;

	if (a->family == AF_INET && len >= sizeof(tmp)) {
		for (i = 0; i < 4; i++) {
			if (i > 0)
				*p++ = '.';
			p = put_uint(p, a->u.bytes[i]);
		}
		*p = '\0';
		memcpy(buf, tmp, (size_t)(p - tmp) + 1);
		return buf;
	}
	if (inet_ntop(a->family, a->u.bytes, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

char *
addr_format_port(const struct addr *a, uint16_t port, char *buf, size_t len)
{
	char tmp[ADDR_STRLEN], *p = tmp;

	if (a->family == AF_INET6)
		*p++ = '[';
	addr_format(a, p, sizeof(tmp) - 8);
	p += strlen(p);
	if (a->family == AF_INET6)
		*p++ = ']';
	*p++ = ':';
	if (port == 0)
		*p++ = '*';
	else
		p = put_uint(p, port);
	*p = '\0';
	if ((size_t)(p - tmp) < len)
		memcpy(buf, tmp, (size_t)(p - tmp) + 1);
	else if (len > 0)
		buf[0] = '\0';
	return buf;
}

char *
cidr_format(const struct cidr *c, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	snprintf(buf, len, "%s/%u", addr_format(&c->addr, host, sizeof(host)),
	    c->len);
	return buf;
}

bool
addr_is_any(const struct addr *a)
{
	uint64_t w[2];

	if (a->family == AF_INET)	/* per packet: no memcmp call */
		return a->u.v4.s_addr == 0;
	memcpy(w, a->u.bytes, 16);
	return (w[0] | w[1]) == 0;
}

bool
addr_is_loopback(const struct addr *a)
{
	if (a->family == AF_INET)
		return a->u.bytes[0] == 127;
	if (IN6_IS_ADDR_LOOPBACK(&a->u.v6))
		return true;
	return IN6_IS_ADDR_V4MAPPED(&a->u.v6) && a->u.bytes[12] == 127;
}

bool
addr_is_unicast(const struct addr *a)
{
	if (addr_is_any(a))
		return false;
	if (a->family == AF_INET)
		return (a->u.bytes[0] & 0xf0) != 0xe0 &&
		    memcmp(a->u.bytes, "\xff\xff\xff\xff", 4) != 0;
	return a->u.bytes[0] != 0xff;
}

bool
addr_equal(const struct addr *a, const struct addr *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)	/* the common case, without memcmp */
		return a->u.v4.s_addr == b->u.v4.s_addr;
	return memcmp(a->u.bytes, b->u.bytes, 16) == 0;
}

bool
cidr_contains(const struct cidr *c, const struct addr *a)
{
	struct addr m = *a;

	if (c->addr.family == AF_INET && a->family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&a->u.v6)) {
		memset(&m, 0, sizeof(m));
		m.family = AF_INET;
		memcpy(m.u.bytes, a->u.bytes + 12, 4);
	}
	if (m.family != c->addr.family)
		return false;
	addr_mask(&m, c->len);
	return addr_equal(&m, &c->addr);
}

int
cidr_compare(const struct cidr *a, const struct cidr *b)
{
	int r;

	if (a->addr.family != b->addr.family)
		return a->addr.family < b->addr.family ? -1 : 1;
	r = memcmp(a->addr.u.bytes, b->addr.u.bytes,
	    a->addr.family == AF_INET ? 4 : 16);
	if (r != 0)
		return r;
	return a->len < b->len ? -1 : a->len > b->len;
}
