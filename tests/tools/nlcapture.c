/*
 * nlcapture: send one sock_diag dump request, the same one
 * monitor/sockdiag.c sends, and write the raw reply bytes (every recv()
 * buffer, concatenated, up to and including NLMSG_DONE) to a file. The
 * files become replay input for tests/unit/test_sockdiag.c.
 *
 * usage: nlcapture tcp4|tcp6|udp4|udp6|unix OUTFILE
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../monitor/sockdiag.h"

#define CAPTURE_BUFSIZE	(64 * 1024)
#define CAPTURE_MAX	(16 * 1024 * 1024)

static const struct {
	const char *name;
	uint8_t family, proto;
} kinds[] = {
	{ "tcp4", AF_INET, IPPROTO_TCP },
	{ "tcp6", AF_INET6, IPPROTO_TCP },
	{ "udp4", AF_INET, IPPROTO_UDP },
	{ "udp6", AF_INET6, IPPROTO_UDP },
	{ "unix", AF_UNIX, 0 },
};

static int
capture_send(int fd, uint8_t family, uint8_t proto)
{
	struct {
		struct nlmsghdr nlh;
		union {
			struct inet_diag_req_v2 inet;
			struct unix_diag_req un;
		} r;
	} req;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	size_t plen;

	memset(&req, 0, sizeof(req));
	if (family == AF_UNIX) {
		req.r.un.sdiag_family = AF_UNIX;
		req.r.un.udiag_states = SOCKDIAG_STATES_ALL;
		req.r.un.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER |
		    UDIAG_SHOW_RQLEN | UDIAG_SHOW_UID;
		plen = sizeof(req.r.un);
	} else {
		req.r.inet.sdiag_family = family;
		req.r.inet.sdiag_protocol = proto;
		req.r.inet.idiag_states = SOCKDIAG_STATES_ALL;
		plen = sizeof(req.r.inet);
	}
	req.nlh.nlmsg_len = NLMSG_LENGTH(plen);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nlh.nlmsg_seq = 1;
	if (sendto(fd, &req, req.nlh.nlmsg_len, 0, (struct sockaddr *)&sa,
	    sizeof(sa)) < 0)
		return -errno;
	return 0;
}

/* 1 if buf holds the end of the dump (NLMSG_DONE or NLMSG_ERROR). */
static int
capture_done(const unsigned char *buf, size_t len)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int rem = (int)len;

	for (; NLMSG_OK(nlh, rem); nlh = NLMSG_NEXT(nlh, rem))
		if (nlh->nlmsg_type == NLMSG_DONE ||
		    nlh->nlmsg_type == NLMSG_ERROR)
			return 1;
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned char *buf = NULL, *all = NULL, *p;
	size_t i, total = 0;
	ssize_t n;
	int fd = -1, out = -1, rc = 1, r;

	if (argc != 3) {
		fprintf(stderr, "usage: nlcapture tcp4|tcp6|udp4|udp6|unix "
		    "OUTFILE\n");
		return 2;
	}
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(argv[1], kinds[i].name) == 0)
			break;
	if (i == sizeof(kinds) / sizeof(kinds[0])) {
		fprintf(stderr, "nlcapture: unknown kind '%s'\n", argv[1]);
		return 2;
	}
	if ((buf = malloc(CAPTURE_BUFSIZE)) == NULL)
		goto out;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0) {
		perror("nlcapture: socket");
		goto out;
	}
	if ((r = capture_send(fd, kinds[i].family, kinds[i].proto)) < 0) {
		fprintf(stderr, "nlcapture: send: %s\n", strerror(-r));
		goto out;
	}
	for (;;) {
		n = recv(fd, buf, CAPTURE_BUFSIZE, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror("nlcapture: recv");
			goto out;
		}
		if (total + (size_t)n > CAPTURE_MAX) {
			fprintf(stderr, "nlcapture: reply too large\n");
			goto out;
		}
		if ((p = realloc(all, total + (size_t)n)) == NULL)
			goto out;
		all = p;
		memcpy(all + total, buf, (size_t)n);
		total += (size_t)n;
		if (capture_done(buf, (size_t)n))
			break;
	}
	out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0 || write(out, all, total) != (ssize_t)total ||
	    close(out) < 0) {
		perror("nlcapture: write");
		goto out;
	}
	fprintf(stderr, "nlcapture: %s: %zu bytes\n", argv[1], total);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(all);
	return rc;
}
