/* libpcap handles: live interfaces and capture files, one API. Live handles
 * are non-blocking with a short buffer timeout (not immediate mode: that
 * cost ten times the CPU per packet here) and their selectable fd goes
 * into the daemon's epoll loop. No logging: errors come back as text. */
#ifndef SW_CAPTURE_H
#define SW_CAPTURE_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

/* Enough of every header we decode (Ethernet, two VLAN tags, IPv6 with
 * extension headers, TCP with options, an ICMP error's inner headers). */
#define CAPTURE_SNAPLEN		256
#define CAPTURE_TIMEOUT_MS	10
/* What the detectors need; everything else stays in the kernel. Cooked
 * captures ("any") cannot match inside VLAN tags, Ethernet ones can. */
#define CAPTURE_FILTER		"tcp or udp or icmp or icmp6"
#define CAPTURE_FILTER_VLAN \
	"tcp or udp or icmp or icmp6 or (vlan and (tcp or udp or icmp or icmp6))"

struct capture;

struct capture_packet {
	int64_t ts_us;			/* the packet's own timestamp */
	const uint8_t *data;
	uint32_t caplen, wirelen;
	int linktype;			/* DLT_* */
};

struct capture_stats {
	uint64_t received;		/* by the filter (live) or read (file) */
	uint64_t dropped;		/* by the kernel: buffer full */
	uint64_t ifdropped;		/* by the interface */
};

typedef void (*capture_cb)(void *arg, const struct capture_packet *p);

/* ifname "any" captures on every interface (Linux cooked v2 headers).
 * filter NULL: the one for the link type (CAPTURE_FILTER or _VLAN); ""
 * captures everything. */
int capture_open_live(const char *ifname, const char *filter,
    struct capture **ret_cap, char *err, size_t errlen);
/* A .pcap or .pcapng file. */
int capture_open_file(const char *path, const char *filter,
    struct capture **ret_cap, char *err, size_t errlen);
/* A capture file already open (the handle takes over f and closes it,
 * unless it is stdin); name is what capture_name() says. */
int capture_open_stream(FILE *f, const char *name, const char *filter,
    struct capture **ret_cap, char *err, size_t errlen);
void capture_close(struct capture *c);

/* For epoll; -1 for files. */
int capture_fd(const struct capture *c);
const char *capture_name(const struct capture *c);
int capture_linktype(const struct capture *c);

/* Hand up to max packets to cb. Returns how many; 0 when none are
 * waiting (live) or at the end of a file; -EIO with capture_error() set
 * on a read error (a truncated file, a vanished interface). */
int capture_dispatch(struct capture *c, int max, capture_cb cb, void *arg);
const char *capture_error(const struct capture *c);

int capture_get_stats(struct capture *c, struct capture_stats *ret);

#endif
