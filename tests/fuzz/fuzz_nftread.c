/*
 * libFuzzer target for the nftables read-back (policy/nftread.c): what
 * the kernel answers a set element dump or a rule dump with, and the
 * monitor's change events, as a hostile or confused netlink peer could
 * shape them. The first byte picks the parser (byte % 3: 0 elements,
 * 1 rules, 2 events; for elements, byte / 3 % S_MAX is the set); the rest
 * is what recv() returned, in an exact-size heap buffer. Elements read
 * back must be prefixes of the set's family with no host bits set, and
 * hosts only in a set without intervals.
 *
 * Seeds (tests/fuzz/corpus_nftread): the kernel's own answers (Linux
 * 6.18) to build/tools/nftdrive list, counters and monitor and to
 * `nft list set`, in a network namespace after `nftdrive setup` and
 * `nftdrive ban`, read from `strace -e read=all`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../policy/nft_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_elems(int set, const struct nft_elem *v, size_t n)
{
	const struct nft_setdef *d = &nft_sets[set];
	unsigned int bits = d->family == AF_INET ? 32 : 128, i;
	size_t j;

	for (j = 0; j < n; j++) {
		const struct cidr *c = &v[j].peer;

		if (c->addr.family != d->family || c->len > bits ||
		    (!(d->flags & NFT_SET_INTERVAL) && c->len != bits))
			abort();
		for (i = c->len; i < bits; i++)
			if (c->addr.u.bytes[i / 8] & (0x80 >> (i % 8)))
				abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nft_ruleinfo ri;
	struct nft_elem *v = NULL;
	bool pending = false, changed = false;
	uint8_t *buf;
	size_t n = 0;
	int set;

	if (size < 1 || (buf = malloc(size - 1 ? size - 1 : 1)) == NULL)
		return 0;
	memcpy(buf, data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		set = data[0] / 3 % S_MAX;
		if (nft_elems_parse(set, buf, size - 1, &v, &n) == 0) {
			check_elems(set, v, n);
			free(v);
		}
		break;
	case 1:
		(void)nft_rules_parse(buf, size - 1, &ri);
		break;
	default:
		nft_events_parse(buf, size - 1, &pending, &changed);
		break;
	}
	free(buf);
	return 0;
}
