/*
 * sdkill: destroy every TCP and connected UDP socket of one peer with
 * sockdiag_destroy_peer(), in the current network namespace, and say
 * what went and how long it took.
 *
 * usage: sdkill [-q] PEER
 *   PEER  an address or CIDR prefix (IPv4 or IPv6)
 *   -q    no line per socket
 * Prints one line per destroyed socket ("tcp LOCAL REMOTE inode N"),
 * then "destroyed N in T ms". Exit 0, or 1 with the error on stderr.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../common/addr.h"
#include "../../monitor/sockdiag.h"

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int
main(int argc, char **argv)
{
	char la[ADDR_STRLEN], ra[ADDR_STRLEN];
	struct socklist killed = { 0 };
	struct sockdiag *sd = NULL;
	const struct sock_info *s;
	struct cidr peer;
	bool quiet = false;
	double t0, t1;
	size_t i;
	int c, n, rc = 1;

	while ((c = getopt(argc, argv, "q")) != -1) {
		if (c != 'q')
			goto usage;
		quiet = true;
	}
	if (optind + 1 != argc)
		goto usage;
	if (cidr_parse(argv[optind], &peer) < 0) {
		fprintf(stderr, "sdkill: %s: not an address or prefix\n",
		    argv[optind]);
		return 1;
	}
	if ((n = sockdiag_open(&sd)) < 0) {
		fprintf(stderr, "sdkill: sockdiag_open: %s\n", strerror(-n));
		return 1;
	}
	t0 = now_ms();
	n = sockdiag_destroy_peer(sd, &peer, &killed);
	t1 = now_ms();
	for (i = 0; !quiet && i < killed.n; i++) {
		s = &killed.v[i];
		printf("%s %s %s inode %u\n", sockdiag_proto_name(s),
		    addr_format_port(&s->laddr, s->lport, la, sizeof(la)),
		    addr_format_port(&s->raddr, s->rport, ra, sizeof(ra)),
		    s->inode);
	}
	if (n < 0) {
		fprintf(stderr, "sdkill: %s (%zu destroyed before)\n",
		    sockdiag_error(sd), killed.n);
		goto out;
	}
	if ((size_t)n != killed.n) {
		fprintf(stderr, "sdkill: returned %d, listed %zu\n", n,
		    killed.n);
		goto out;
	}
	printf("destroyed %d in %.3f ms\n", n, t1 - t0);
	rc = 0;
out:
	socklist_free(&killed);
	sockdiag_close(sd);
	return rc;
usage:
	fprintf(stderr, "usage: sdkill [-q] PEER\n");
	return 1;
}
