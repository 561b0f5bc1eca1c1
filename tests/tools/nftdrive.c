/* Drive policy/nft.c against the kernel, one call per invocation, for
 * tests/integration/test_nft_backend.sh. Run it in a network namespace.
 *
 *   nftdrive setup ALLOW DENY CONNECT [SECONDS CIDR...]
 *   nftdrive lists ALLOW DENY CONNECT     (comma-separated CIDRs or -)
 *   nftdrive ban SECONDS CIDR...          (0: permanent)
 *   nftdrive unban CIDR...
 *   nftdrive list                         "CIDR MS_LEFT" per ban
 *   nftdrive check                        1 or 0
 *   nftdrive counters                     "ban N deny N connect N"
 *   nftdrive monitor READYFILE            own changes, then a foreign one
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/addr.h"
#include "../../policy/nft.h"

#define MAXLIST	64

struct list {
	struct cidr v[MAXLIST];
	size_t n;
};

static int
parse_list(const char *arg, struct list *l)
{
	char buf[1024], *tok, *save = NULL;

	l->n = 0;
	if (strcmp(arg, "-") == 0)
		return 0;
	if (strlen(arg) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, arg);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (l->n == MAXLIST || cidr_parse(tok, &l->v[l->n]) < 0) {
			fprintf(stderr, "nftdrive: bad prefix %s\n", tok);
			return -EINVAL;
		}
		l->n++;
	}
	return 0;
}

static int
parse_lists(char **argv, struct list l[3], struct nft_lists *nl)
{
	int i;

	for (i = 0; i < 3; i++)
		if (parse_list(argv[i], &l[i]) < 0)
			return -EINVAL;
	*nl = (struct nft_lists){ l[0].v, l[0].n, l[1].v, l[1].n, l[2].v,
	    l[2].n };
	return 0;
}

/* SECONDS CIDR... into elements. */
static int
parse_bans(int argc, char **argv, struct nft_elem *e, size_t *ne)
{
	uint64_t ms;
	int i;

	*ne = 0;
	if (argc < 1)
		return 0;
	ms = strtoull(argv[0], NULL, 10) * 1000;
	for (i = 1; i < argc && *ne < MAXLIST; i++) {
		if (cidr_parse(argv[i], &e[*ne].peer) < 0) {
			fprintf(stderr, "nftdrive: bad prefix %s\n", argv[i]);
			return -EINVAL;
		}
		e[(*ne)++].timeout_ms = ms;
	}
	return 0;
}

static int
fail(struct nft *n, const char *what, int r)
{
	fprintf(stderr, "nftdrive: %s: %s (%d)\n", what, nft_error(n), r);
	return 1;
}

static int
cmd_list(struct nft *n)
{
	char buf[ADDR_STRLEN];
	struct nft_elem *v;
	size_t nv, i;
	int r;

	if ((r = nft_ban_list(n, &v, &nv)) < 0)
		return fail(n, "ban list", r);
	for (i = 0; i < nv; i++)
		printf("%s %" PRIu64 "\n", cidr_format(&v[i].peer, buf,
		    sizeof(buf)), v[i].timeout_ms);
	free(v);
	return 0;
}

static int
mon_expect(struct nft_monitor *m, bool want, const char *what)
{
	bool changed;
	int r;

	if ((r = nft_monitor_read(m, &changed)) < 0) {
		fprintf(stderr, "nftdrive: monitor read: %s\n", strerror(-r));
		return 1;
	}
	printf("%s: changed=%d\n", what, changed);
	fflush(stdout);
	return changed != want;
}

/* Paused, our own batches are not heard, and resume says nothing
 * changed; a commit on another handle meanwhile (another process, as
 * far as the generation count goes) is a change. */
static int
paused(struct nft *n, struct nft_monitor *m, const struct nft_elem *e,
    const struct cidr *c)
{
	struct nft *other;
	bool changed;
	int r, bad = 0;

	if ((r = nft_monitor_pause(m, n)) < 0 ||
	    (r = nft_monitor_pause(m, n)) != -EALREADY ||
	    (r = nft_ban_add(n, e, 2)) < 0 ||
	    (r = nft_ban_del(n, c, 1)) < 0 ||
	    (r = nft_monitor_resume(m, n, &changed)) < 0)
		return fail(n, "paused own changes", r);
	printf("paused own: changed=%d\n", changed);
	bad |= changed || mon_expect(m, false, "paused own, read");
	if ((r = nft_open(&other)) < 0)
		return fail(n, "open another handle", r);
	if ((r = nft_monitor_pause(m, n)) < 0 ||
	    (r = nft_ban_add(n, e, 1)) < 0 ||
	    (r = nft_ban_del(other, c + 1, 1)) < 0 ||
	    (r = nft_monitor_resume(m, n, &changed)) < 0) {
		nft_close(other);
		return fail(n, "paused foreign change", r);
	}
	printf("paused foreign: changed=%d\n", changed);
	bad |= !changed;
	/* A batch of ours that changes nothing (its element is there
	 * already, same timeout) makes no generation: a foreign commit
	 * meanwhile must not be taken for it. */
	if ((r = nft_monitor_pause(m, n)) < 0 ||
	    (r = nft_ban_add(n, e, 1)) < 0 ||
	    (r = nft_ban_del(other, c, 1)) < 0 ||
	    (r = nft_monitor_resume(m, n, &changed)) < 0) {
		nft_close(other);
		return fail(n, "paused no-op and foreign change", r);
	}
	nft_close(other);
	printf("paused no-op foreign: changed=%d\n", changed);
	fflush(stdout);
	return bad | !changed;
}

/* Our own changes, including deletions, are not news; an element that
 * times out is not either; another process deleting the table is. */
static int
cmd_monitor(struct nft *n, const char *ready)
{
	struct cidr c[2];
	struct nft_elem e[2];
	struct nft_lists l = { 0 };
	struct nft_monitor *m;
	struct pollfd pfd;
	FILE *f;
	int r, bad = 0, i;

	if ((r = nft_monitor_open(&m)) < 0) {
		fprintf(stderr, "nftdrive: monitor: %s\n", strerror(-r));
		return 1;
	}
	cidr_parse("198.18.7.1", &e[0].peer);
	cidr_parse("198.18.8.0/24", &e[1].peer);
	e[0].timeout_ms = e[1].timeout_ms = 60000;
	c[0] = e[0].peer;
	c[1] = e[1].peer;
	l.deny = c;
	l.ndeny = 2;
	if ((r = nft_setup(n, &l, e, 2)) < 0 ||
	    (r = nft_ban_add(n, e, 2)) < 0 ||
	    (r = nft_ban_del(n, c, 2)) < 0 ||
	    (r = nft_set_lists(n, &l)) < 0 ||
	    (r = nft_setup(n, &l, NULL, 0)) < 0)
		return fail(n, "own changes", r);
	bad |= mon_expect(m, false, "own");
	bad |= paused(n, m, e, c);
	e[0].timeout_ms = 1000;
	if ((r = nft_ban_add(n, e, 1)) < 0)
		return fail(n, "short ban", r);
	sleep(3);
	bad |= mon_expect(m, false, "expiry");
	if ((f = fopen(ready, "w")) == NULL)
		return 1;
	fputs("ready\n", f);
	fclose(f);
	pfd = (struct pollfd){ .fd = nft_monitor_fd(m), .events = POLLIN };
	for (i = 0; i < 100 && poll(&pfd, 1, 100) == 0; i++)
		;
	usleep(200000);		/* the whole transaction */
	bad |= mon_expect(m, true, "foreign");
	nft_monitor_close(m);
	return bad;
}

int
main(int argc, char **argv)
{
	struct nft_elem e[MAXLIST];
	struct nft_counters c;
	struct nft_lists nl;
	struct list l[3];
	struct nft *n;
	const char *cmd;
	size_t ne;
	int r, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: nftdrive COMMAND [ARGS...]\n");
		return 2;
	}
	cmd = argv[1];
	if ((r = nft_open(&n)) < 0) {
		fprintf(stderr, "nftdrive: open: %s\n", strerror(-r));
		return 1;
	}
	if (strcmp(cmd, "setup") == 0 && argc >= 5) {
		if (parse_lists(argv + 2, l, &nl) < 0 ||
		    parse_bans(argc - 5, argv + 5, e, &ne) < 0)
			rc = 2;
		else if ((r = nft_setup(n, &nl, e, ne)) < 0)
			rc = fail(n, "setup", r);
	} else if (strcmp(cmd, "lists") == 0 && argc == 5) {
		if (parse_lists(argv + 2, l, &nl) < 0)
			rc = 2;
		else if ((r = nft_set_lists(n, &nl)) < 0)
			rc = fail(n, "lists", r);
	} else if (strcmp(cmd, "ban") == 0 && argc >= 4) {
		if (parse_bans(argc - 2, argv + 2, e, &ne) < 0)
			rc = 2;
		else if ((r = nft_ban_add(n, e, ne)) < 0)
			rc = fail(n, "ban", r);
	} else if (strcmp(cmd, "unban") == 0 && argc >= 3) {
		if (parse_list(argv[2], &l[0]) < 0)
			rc = 2;
		else if ((r = nft_ban_del(n, l[0].v, l[0].n)) < 0)
			rc = fail(n, "unban", r);
	} else if (strcmp(cmd, "list") == 0) {
		rc = cmd_list(n);
	} else if (strcmp(cmd, "check") == 0) {
		if ((r = nft_check(n)) < 0)
			rc = fail(n, "check", r);
		else
			printf("%d\n", r);
	} else if (strcmp(cmd, "counters") == 0) {
		if ((r = nft_counters(n, &c)) < 0)
			rc = fail(n, "counters", r);
		else
			printf("ban %" PRIu64 " deny %" PRIu64 " connect %"
			    PRIu64 "\n", c.ban_packets, c.deny_packets,
			    c.connect_packets);
	} else if (strcmp(cmd, "monitor") == 0 && argc == 3) {
		rc = cmd_monitor(n, argv[2]);
	} else {
		fprintf(stderr, "nftdrive: bad command or arguments\n");
		rc = 2;
	}
	nft_close(n);
	return rc;
}
