/* IPv4/IPv6 addresses and CIDR prefixes: parsing, printing, matching. */
#ifndef SW_ADDR_H
#define SW_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Enough for "[ipv6%scope]:65535" and any CIDR. */
#define ADDR_STRLEN 64

struct addr {
	sa_family_t family;		/* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t bytes[16];
	} u;
};

struct cidr {
	struct addr addr;		/* host bits are always zero */
	unsigned int len;		/* 0..32 or 0..128 */
};

/* Parse a literal address (no brackets, no scope). 0 or -EINVAL. */
int addr_parse(const char *s, struct addr *ret_addr);

/* Parse "ADDR" or "ADDR/LEN". A bare address is a host prefix. Host bits
 * set below LEN are cleared. 0 or -EINVAL. */
int cidr_parse(const char *s, struct cidr *ret_cidr);

/* Build from raw bytes as the kernel gives them (4 or 16 bytes). */
void addr_from_raw(struct addr *ret_addr, int family, const void *raw);

/* Print into buf (at least ADDR_STRLEN). Returns buf. */
char *addr_format(const struct addr *a, char *buf, size_t len);
/* "198.18.0.1:80" or "[2001:db8::1]:80"; port 0 prints as "*". */
char *addr_format_port(const struct addr *a, uint16_t port, char *buf,
    size_t len);
char *cidr_format(const struct cidr *c, char *buf, size_t len);

bool addr_is_any(const struct addr *a);
bool addr_is_loopback(const struct addr *a);
/* Can it be one host's address: not unspecified, not multicast, not
 * IPv4's limited broadcast? */
bool addr_is_unicast(const struct addr *a);
bool addr_equal(const struct addr *a, const struct addr *b);

/* True if a lies inside c. An IPv4-mapped IPv6 address (::ffff:a.b.c.d)
 * matches an IPv4 prefix, as the kernel treats it as that IPv4 peer. */
bool cidr_contains(const struct cidr *c, const struct addr *a);

/* A total order of prefixes, for sorting and bsearch: by family, then
 * address, then length. Both must be canonical (host bits zero, IPv4 as
 * AF_INET). */
int cidr_compare(const struct cidr *a, const struct cidr *b);

#endif
