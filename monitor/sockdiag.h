/* Socket enumeration with netlink sock_diag (TCP, UDP, UNIX). No logging:
 * failures come back as negative errno values, and sockdiag_error() says
 * which request failed. */
#ifndef SW_SOCKDIAG_H
#define SW_SOCKDIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

#include "../common/addr.h"

#define SOCKDIAG_PATH_MAX	sizeof(((struct sockaddr_un *)0)->sun_path)

/* One socket as the kernel reports it. Addresses and ports are valid for
 * AF_INET/AF_INET6; path, type and peer_inode for AF_UNIX. */
struct sock_info {
	uint8_t family;			/* AF_INET, AF_INET6, AF_UNIX */
	uint8_t proto;			/* IPPROTO_TCP, IPPROTO_UDP, 0 (unix) */
	uint8_t state;			/* TCP_ESTABLISHED ... TCP_CLOSING */
	uint8_t type;			/* SOCK_STREAM, SOCK_DGRAM, ... */
	uint16_t lport, rport;		/* host byte order */
	struct addr laddr, raddr;
	uint32_t rq, wq;		/* receive and send queue */
	uint32_t uid;
	uint32_t inode;
	uint32_t ifindex;		/* bound interface, 0 if none */
	uint32_t peer_inode;		/* unix: the other end, 0 if none */
	uint64_t cookie;
	uint8_t path_len;		/* unix: bytes in path, 0 if unbound */
	char path[SOCKDIAG_PATH_MAX];	/* raw; abstract names start with NUL */
};

/* A growable array of sockets. Zero-initialise before first use. */
struct socklist {
	struct sock_info *v;
	size_t n, cap;
};

/* The array is mapped memory (see util_bigrealloc): grow it only with
 * socklist_reserve, release it only with socklist_free. */
void socklist_free(struct socklist *l);
int socklist_reserve(struct socklist *l, size_t n);

#define SOCKDIAG_TCP	0x1
#define SOCKDIAG_UDP	0x2
#define SOCKDIAG_UNIX	0x4
#define SOCKDIAG_INET4	0x1
#define SOCKDIAG_INET6	0x2

/* What to ask for. The state mask and, for inet, the port and peer filters
 * go to the kernel (state mask, INET_DIAG_REQ_BYTECODE); they are applied
 * again here, so results never depend on the kernel honouring them. */
struct sockdiag_query {
	unsigned int protos;		/* SOCKDIAG_TCP | _UDP | _UNIX */
	unsigned int families;		/* SOCKDIAG_INET4 | _INET6 */
	uint32_t states;		/* bit (1 << TCP_x) per wanted state */
	int port;			/* -1, or match either end */
	bool has_peer;
	struct cidr peer;		/* remote address filter */
};

/* Every TCP_x state, 1..12 (12 is TCP_NEW_SYN_RECV, a request socket). */
#define SOCKDIAG_STATES_ALL	0x1ffe

struct sockdiag;

int sockdiag_open(struct sockdiag **ret_sd);
void sockdiag_close(struct sockdiag *sd);

/* Append every matching socket to out. A dump the kernel marks as
 * interrupted (NLM_F_DUMP_INTR) is retried. On failure out is unchanged
 * and sockdiag_error() describes what failed. */
int sockdiag_dump(struct sockdiag *sd, const struct sockdiag_query *q,
    struct socklist *out);
const char *sockdiag_error(const struct sockdiag *sd);

/* True if s passes q's family, protocol, state, port and peer filters. */
bool sockdiag_match(const struct sockdiag_query *q,
    const struct sock_info *s);

/* Parse one reply buffer of a dump (any number of netlink messages).
 * proto is the protocol asked for (IPPROTO_TCP, IPPROTO_UDP, or 0 for
 * unix). Matching sockets are appended to out. *ret_done is set when the
 * dump's NLMSG_DONE was seen, *ret_intr when a message carried
 * NLM_F_DUMP_INTR. Returns 0, -EBADMSG for a malformed message, -ENOMEM,
 * or the kernel's negative error. */
int sockdiag_parse(const void *buf, size_t len, uint8_t proto,
    const struct sockdiag_query *q, struct socklist *out, bool *ret_done,
    bool *ret_intr);

/*
 * End every TCP socket in any state but LISTEN (TIME-WAIT and request
 * sockets too) and every connected UDP socket whose remote address lies
 * in peer, with SOCK_DESTROY, as `ss -K` does: a TCP peer gets a reset,
 * the local owner ECONNABORTED. An IPv4 peer also matches IPv6 sockets
 * with an IPv4-mapped remote (and an IPv4-mapped IPv6 peer is taken as
 * that IPv4 peer). Needs CAP_NET_ADMIN in effect during the call (the
 * kernel checks the sending task) and CONFIG_INET_DIAG_DESTROY. Block
 * the peer first: what it connects after the dump survives.
 * Appends each destroyed socket to killed (may be NULL), e.g. to name the
 * processes by inode (0 for a connection no process had accepted yet).
 * Returns the number destroyed, or -errno and sockdiag_error() says what
 * failed; killed then still holds what was destroyed before the failure.
 * A socket that went away meanwhile (ENOENT) is neither counted nor an
 * error.
 */
int sockdiag_destroy_peer(struct sockdiag *sd, const struct cidr *peer,
    struct socklist *killed);

/* The SOCK_DESTROY request for s (inet TCP or UDP, as a dump reported
 * it: the kernel finds the socket by addresses, ports, interface and
 * cookie), asking for an ack with sequence number seq. Writes one netlink
 * message to buf and returns its length, or -EINVAL (s is not inet TCP or
 * UDP) or -ENOBUFS (len is too small). */
int sockdiag_destroy_msg(const struct sock_info *s, uint32_t seq,
    void *buf, size_t len);

/* Destroy notifications of TCP and UDP sockets (needs CAP_NET_ADMIN). */
struct sockdiag_events;

int sockdiag_events_open(struct sockdiag_events **ret_ev);
void sockdiag_events_close(struct sockdiag_events *ev);
int sockdiag_events_fd(const struct sockdiag_events *ev);
/* Read up to max datagrams without blocking; append the sockets that went
 * away to out. 0, or -ENOBUFS when the kernel dropped notifications (the
 * caller must resync with a full dump), or another -errno. */
int sockdiag_events_read(struct sockdiag_events *ev, struct socklist *out,
    unsigned int max);

/* "established", "listen", ...; UDP and UNIX sockets in TCP_CLOSE are
 * "unconn", as ss says. */
const char *sockdiag_state_name(const struct sock_info *s);
/* Parse a state name into a bit mask for sockdiag_query.states. "unconn"
 * is an alias of "close". 0 or -EINVAL. */
int sockdiag_state_parse(const char *name, uint32_t *ret_mask);
const char *sockdiag_proto_name(const struct sock_info *s);
const char *sockdiag_family_name(const struct sock_info *s);
const char *sockdiag_unix_type_name(const struct sock_info *s);

#endif
