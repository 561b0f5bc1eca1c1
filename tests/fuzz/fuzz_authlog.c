/*
 * libFuzzer target for authlog_parse(), sshd's log lines ([bruteforce]
 * log): what a client chose (its user name) is in them. The input is one
 * line, copied to an exact-size heap buffer so ASan sees over-reads. An
 * accepted line must name a unicast address, a port and a known kind, and
 * the address must be written in the line. Seeds: tests/fuzz/corpus_authlog.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../policy/authlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct authlog_event ev;
	char buf[ADDR_STRLEN];
	char *line;

	if ((line = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(line, data, size);
	if (authlog_parse(line, size, &ev) == 0) {
		if (ev.kind == 0 || ev.kind > AUTHLOG_KIND_MAX ||
		    ev.port == 0 || !addr_is_unicast(&ev.addr))
			abort();
		addr_format(&ev.addr, buf, sizeof(buf));
		if (memmem(line, size, buf, strlen(buf)) == NULL &&
		    ev.addr.family == AF_INET)
			abort();
	}
	free(line);
	return 0;
}
