#include "capture.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"

#define CAPTURE_BUFFER	(4 * 1024 * 1024)	/* kernel ring per handle */
/* stdio buffer for a file: libpcap reads a file with fread, and stdio's
 * default 4 KiB meant a read(2) per 4 KiB, a third of the time of a bare
 * pcap_loop over a file on this machine's mitigated syscalls. */
#define CAPTURE_FILE_BUF	(1024 * 1024)

struct capture {
	pcap_t *p;
	char name[256];
	int linktype;
	int live;
	uint64_t read;			/* files: packets handed up */
	capture_cb cb;
	void *arg;
	char err[PCAP_ERRBUF_SIZE + 64];
	char *fbuf;			/* files: the stdio buffer */
};

static int
capture_filter(struct capture *c, const char *filter, char *err,
    size_t errlen)
{
	struct bpf_program prog;

	if (filter == NULL)
		filter = c->linktype == DLT_EN10MB ? CAPTURE_FILTER_VLAN :
		    CAPTURE_FILTER;
	if (*filter == '\0')
		return 0;
	if (pcap_compile(c->p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		util_errf(err, errlen, "%s: bad capture filter \"%s\": %s",
		    c->name, filter, pcap_geterr(c->p));
		return -EINVAL;
	}
	if (pcap_setfilter(c->p, &prog) < 0) {
		util_errf(err, errlen, "%s: cannot set the capture filter: %s",
		    c->name, pcap_geterr(c->p));
		pcap_freecode(&prog);
		return -EINVAL;
	}
	pcap_freecode(&prog);
	return 0;
}

int
capture_open_live(const char *ifname, const char *filter,
    struct capture **ret_cap, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct capture *c;
	int r;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	snprintf(c->name, sizeof(c->name), "%s", ifname);
	c->live = 1;
	if ((c->p = pcap_create(ifname, ebuf)) == NULL) {
		util_errf(err, errlen, "%s: %s", ifname, ebuf);
		r = -ENODEV;
		goto fail;
	}
	pcap_set_snaplen(c->p, CAPTURE_SNAPLEN);
	pcap_set_promisc(c->p, 0);
	pcap_set_timeout(c->p, CAPTURE_TIMEOUT_MS);
	pcap_set_immediate_mode(c->p, 0);
	pcap_set_buffer_size(c->p, CAPTURE_BUFFER);
	if ((r = pcap_activate(c->p)) < 0) {
		util_errf(err, errlen, "%s: cannot capture: %s", ifname,
		    pcap_geterr(c->p));
		r = r == PCAP_ERROR_PERM_DENIED ? -EPERM : -ENODEV;
		goto fail;
	}
	/* Cooked v2 carries the interface index; v1 is the fallback. */
	if (pcap_datalink(c->p) == DLT_LINUX_SLL)
		(void)pcap_set_datalink(c->p, DLT_LINUX_SLL2);
	c->linktype = pcap_datalink(c->p);
	if (pcap_setnonblock(c->p, 1, ebuf) < 0) {
		util_errf(err, errlen, "%s: %s", ifname, ebuf);
		r = -EIO;
		goto fail;
	}
	if ((r = capture_filter(c, filter, err, errlen)) < 0)
		goto fail;
	*ret_cap = c;
	return 0;
fail:
	capture_close(c);
	return r;
}

int
capture_open_file(const char *path, const char *filter,
    struct capture **ret_cap, char *err, size_t errlen)
{
	FILE *f;

	/* stdin ("-") outlives the handle: libpcap must not close it. */
	if (strcmp(path, "-") == 0)
		return capture_open_stream(stdin, "-", filter, ret_cap, err,
		    errlen);
	if ((f = fopen(path, "rb")) == NULL) {
		util_errf(err, errlen, "%s: %s", path, strerror(errno));
		return -EINVAL;
	}
	return capture_open_stream(f, path, filter, ret_cap, err, errlen);
}

int
capture_open_stream(FILE *f, const char *name, const char *filter,
    struct capture **ret_cap, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct capture *c;
	int r;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		if (f != stdin)
			fclose(f);
		return -ENOMEM;
	}
	snprintf(c->name, sizeof(c->name), "%s", name);
	/* A large buffer before libpcap reads from the stream (as
	 * pcap_open_offline would not); stdin keeps its own. */
	if (f != stdin && (c->fbuf = malloc(CAPTURE_FILE_BUF)) != NULL)
		(void)setvbuf(f, c->fbuf, _IOFBF, CAPTURE_FILE_BUF);
	/* libpcap reads with two freads a packet, each taking the stream's
	 * lock: 11-14 ms of a million packets (docs/benchmarks.md section
	 * 3). Only this thread reads the stream. */
	if (f != stdin)
		(void)__fsetlocking(f, FSETLOCKING_BYCALLER);
	c->p = pcap_fopen_offline_with_tstamp_precision(f,
	    PCAP_TSTAMP_PRECISION_MICRO, ebuf);
	if (c->p == NULL) {
		/* libpcap closes the stream only once it has a handle. */
		if (f != stdin)
			fclose(f);
		/* libpcap's message names the file only sometimes. */
		if (strstr(ebuf, name) != NULL)
			util_errf(err, errlen, "%s", ebuf);
		else
			util_errf(err, errlen, "%s: %s", name, ebuf);
		r = -EINVAL;
		goto fail;
	}
	c->linktype = pcap_datalink(c->p);
	if ((r = capture_filter(c, filter, err, errlen)) < 0)
		goto fail;
	*ret_cap = c;
	return 0;
fail:
	capture_close(c);
	return r;
}

void
capture_close(struct capture *c)
{
	if (c == NULL)
		return;
	if (c->p != NULL)
		pcap_close(c->p);	/* closes a file's stream */
	free(c->fbuf);
	free(c);
}

int
capture_fd(const struct capture *c)
{
	return c->live ? pcap_get_selectable_fd(c->p) : -1;
}

const char *
capture_name(const struct capture *c)
{
	return c->name;
}

int
capture_linktype(const struct capture *c)
{
	return c->linktype;
}

const char *
capture_error(const struct capture *c)
{
	return c->err;
}

static void
capture_handler(u_char *user, const struct pcap_pkthdr *h,
    const u_char *bytes)
{
	struct capture *c = (struct capture *)user;
	struct capture_packet p = {
		.ts_us = (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec,
		.data = bytes,
		.caplen = h->caplen,
		.wirelen = h->len,
		.linktype = c->linktype,
	};

	c->read++;
	c->cb(c->arg, &p);
}

int
capture_dispatch(struct capture *c, int max, capture_cb cb, void *arg)
{
	int n;

	c->cb = cb;
	c->arg = arg;
	n = pcap_dispatch(c->p, max, capture_handler, (u_char *)c);
	if (n == PCAP_ERROR) {
		snprintf(c->err, sizeof(c->err), "%s: %s", c->name,
		    pcap_geterr(c->p));
		return -EIO;
	}
	return n < 0 ? 0 : n;
}

int
capture_get_stats(struct capture *c, struct capture_stats *ret)
{
	struct pcap_stat st;

	memset(ret, 0, sizeof(*ret));
	if (!c->live) {
		ret->received = c->read;
		return 0;
	}
	if (pcap_stats(c->p, &st) < 0)
		return -EIO;
	ret->received = st.ps_recv;
	ret->dropped = st.ps_drop;
	ret->ifdropped = st.ps_ifdrop;
	return 0;
}
