/*
 * libFuzzer target for the deny-list reader ([deny] file and [connect]
 * file, policy/cfgvalue.c) and the prefix sets its entries go into
 * (policy/prefixset.c): the input is the list file (a memfd, named by
 * "[deny] file = /proc/self/fd/N"). Every entry read must be a canonical
 * prefix; a file refused must name its line. The entries are then built
 * into a prefix set whose longest-prefix matches, at and around each
 * entry, must be those a plain scan of the entries finds (IPv4-mapped
 * IPv6 treated as the set documents). Seeds: tests/fuzz/corpus_denylist
 * (the styles of FireHOL, Spamhaus DROP and plain lists).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../policy/config.h"
#include "../../policy/prefixset.h"

#define PROBED	16			/* entries probed around */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;
static char text[128];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	if ((memfd = memfd_create("deny.list", MFD_CLOEXEC)) < 0)
		abort();
	snprintf(text, sizeof(text), "[deny]\nfile = /proc/self/fd/%d\n",
	    memfd);
	return 0;
}

static bool
bit(const uint8_t *b, unsigned int i)
{
	return b[i / 8] & (0x80 >> (i % 8));
}

/* Do the first len bits of a and b agree? */
static bool
covers(const uint8_t *a, const uint8_t *b, unsigned int len)
{
	if (memcmp(a, b, len / 8) != 0)
		return false;
	return len % 8 == 0 ||
	    ((a[len / 8] ^ b[len / 8]) & (0xff00 >> (len % 8))) == 0;
}

static bool
is_mapped(const struct addr *a)
{
	return a->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a->u.v6);
}

/* As the set keeps it: a prefix inside ::ffff:0:0/96 is IPv4. */
static struct cidr
normal(const struct cidr *c)
{
	struct cidr n = *c;

	if (is_mapped(&c->addr) && c->len >= 96) {
		memset(&n, 0, sizeof(n));
		n.addr.family = AF_INET;
		memcpy(n.addr.u.bytes, c->addr.u.bytes + 12, 4);
		n.len = c->len - 96;
	}
	return n;
}

/* The longest of v (normalised) in family fam holding the address bytes
 * a; false if none. */
static bool
scan(const struct cidr *v, size_t n, int fam, const uint8_t *a,
    struct cidr *ret)
{
	bool found = false;
	struct cidr c;
	size_t i;

	for (i = 0; i < n; i++) {
		c = normal(&v[i]);
		if (c.addr.family != fam || !covers(c.addr.u.bytes, a, c.len))
			continue;
		if (!found || c.len > ret->len)
			*ret = c;
		found = true;
	}
	return found;
}

static void
probe(const struct prefixset *s, const struct cidr *v, size_t n,
    const struct addr *a)
{
	struct cidr want, got;
	bool has, found;

	if (a->family == AF_INET || is_mapped(a)) {
		found = scan(v, n, AF_INET, a->family == AF_INET ?
		    a->u.bytes : a->u.bytes + 12, &want);
		if (!found && a->family == AF_INET6)
			found = scan(v, n, AF_INET6, a->u.bytes, &want);
	} else
		found = scan(v, n, AF_INET6, a->u.bytes, &want);
	has = prefixset_contains(s, a, &got);
	if (has != found || (found && cidr_compare(&got, &want) != 0))
		abort();
}

/* Each entry's first and last address, the ones just outside it, and
 * the IPv4-mapped form of an IPv4 entry. */
static void
check_set(const struct cidr *v, size_t n)
{
	struct prefixset *s;
	struct addr a, b;
	unsigned int bits, i;
	size_t j;
	int k;

	if (prefixset_new(&s) < 0)
		return;
	if (prefixset_add_many(s, v, n) < 0 || prefixset_build(s) < 0)
		abort();
	for (j = 0; j < n && j < PROBED; j++) {
		bits = v[j].addr.family == AF_INET ? 32 : 128;
		a = v[j].addr;
		probe(s, v, n, &a);
		for (i = v[j].len; i < bits; i++)	/* the last one */
			a.u.bytes[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		probe(s, v, n, &a);
		b = a;				/* one past the end */
		for (k = (int)bits / 8 - 1; k >= 0 && ++b.u.bytes[k] == 0; k--)
			;
		probe(s, v, n, &b);
		b = v[j].addr;			/* one before the start */
		for (k = (int)bits / 8 - 1; k >= 0 && b.u.bytes[k]-- == 0; k--)
			;
		probe(s, v, n, &b);
		if (v[j].addr.family == AF_INET) {
			memset(&b, 0, sizeof(b));
			b.family = AF_INET6;
			b.u.bytes[10] = b.u.bytes[11] = 0xff;
			memcpy(b.u.bytes + 12, v[j].addr.u.bytes, 4);
			probe(s, v, n, &b);
		}
	}
	if (prefixset_count(s) > n)
		abort();
	prefixset_free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_error err;
	struct config *cfg;
	unsigned int bits, i;
	size_t j;

	if (ftruncate(memfd, 0) < 0 ||
	    pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
	if (config_load_string(text, "fuzz.conf", &cfg, &err) < 0) {
		/* "fuzz.conf:2: [deny] file: /proc/self/fd/N:LINE: ..." */
		if (strstr(err.msg, "/proc/self/fd/") == NULL)
			abort();
		return 0;
	}
	for (j = 0; j < cfg->deny.nfile_peers; j++) {
		const struct cidr *c = &cfg->deny.file_peers[j];

		bits = c->addr.family == AF_INET ? 32 : 128;
		if ((c->addr.family != AF_INET && c->addr.family != AF_INET6) ||
		    c->len > bits)
			abort();
		for (i = c->len; i < bits; i++)
			if (bit(c->addr.u.bytes, i))
				abort();
	}
	check_set(cfg->deny.file_peers, cfg->deny.nfile_peers);
	config_free(cfg);
	return 0;
}
