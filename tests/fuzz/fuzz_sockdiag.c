/*
 * libFuzzer target for sockdiag_parse(). The first input byte picks the
 * layout (byte % 3: 0 unix, 1 TCP, 2 UDP); the rest is a reply buffer,
 * copied to an exact-size, aligned heap buffer as recv() would leave it.
 * Seeds: the .nl captures in tests/data with the selector byte in front.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../monitor/sockdiag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t protos[] = { 0, IPPROTO_TCP, IPPROTO_UDP };
	static const struct sockdiag_query all = {
		.protos = SOCKDIAG_TCP | SOCKDIAG_UDP | SOCKDIAG_UNIX,
		.families = SOCKDIAG_INET4 | SOCKDIAG_INET6,
		.states = SOCKDIAG_STATES_ALL,
		.port = -1,
	};
	struct socklist l = { 0 };
	bool done = false, intr = false;
	const struct sock_info *s;
	uint8_t proto;
	void *buf;
	size_t i;
	int r;

	if (size < 1)
		return 0;
	proto = protos[data[0] % 3];
	if ((buf = malloc(size - 1 ? size - 1 : 1)) == NULL)
		return 0;
	memcpy(buf, data + 1, size - 1);
	r = sockdiag_parse(buf, size - 1, proto, &all, &l, &done, &intr);
	if (r > 0)
		abort();
	/* Whatever was accepted is well-formed. */
	for (i = 0; i < l.n; i++) {
		s = &l.v[i];
		if (s->path_len > SOCKDIAG_PATH_MAX)
			abort();
		if (proto == 0 && s->family != AF_UNIX)
			abort();
		if (proto != 0 && s->family != AF_INET &&
		    s->family != AF_INET6)
			abort();
		(void)sockdiag_state_name(s);
	}
	socklist_free(&l);
	free(buf);
	return 0;
}
