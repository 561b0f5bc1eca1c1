/* sockwatch sockets / sockwatch listeners: straight from the kernel. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/addr.h"
#include "../monitor/bpfiter.h"
#include "../monitor/proc.h"
#include "../monitor/sockdiag.h"
#include "../exporter/sockjson.h"
#include "../policy/detect.h"
#include "cli.h"
#include "client.h"
#include "sockout.h"

/* ss's default: connected sockets only. */
#define STATES_CONNECTED (SOCKDIAG_STATES_ALL & ~((1U << TCP_LISTEN) | \
	(1U << TCP_CLOSE) | (1U << TCP_TIME_WAIT) | (1U << TCP_SYN_RECV) | \
	(1U << 12)))
#define STATES_LISTENING ((1U << TCP_LISTEN) | (1U << TCP_CLOSE))

enum {
	OPT_STATE = 256, OPT_PORT, OPT_PEER, OPT_DIRECT, OPT_JSON,
};

struct sockets_args {
	struct sockdiag_query q;
	struct sockout_opts out;
	int json;
	int processes;
	int direct;
	int verbose;
};

static const char sockets_help[] =
    "usage: sockwatch sockets [-tux46lapev] [--state NAME]... [--port N]\n"
    "                         [--peer ADDR[/LEN]] [--direct] [--json]\n"
    "  -t, --tcp         TCP sockets         -4   IPv4 only\n"
    "  -u, --udp         UDP sockets         -6   IPv6 only\n"
    "  -x, --unix        UNIX sockets        (default: TCP and UDP)\n"
    "  -l, --listening   only listening and unconnected sockets\n"
    "  -a, --all         listening and non-listening sockets\n"
    "  -p, --processes   show the processes that hold each socket\n"
    "  -e, --extended    show uid, inode, cookie and bound interface\n"
    "      --state NAME  only sockets in this state (repeatable): established,\n"
    "                    syn-sent, syn-recv, fin-wait-1, fin-wait-2,\n"
    "                    time-wait, close, close-wait, last-ack, listen,\n"
    "                    closing, unconn\n"
    "      --port N      local or remote port is N\n"
    "      --peer ADDR[/LEN]  remote address is inside this prefix\n"
    "      --direct      ask the kernel, not sockwatchd (the default when\n"
    "                    no daemon runs in this network namespace)\n"
    "      --json        one JSON array\n"
    "  -v, --verbose     say on stderr where the answer came from:\n"
    "                    sockwatchd, BPF iterators, sock_diag, /proc\n";

static const char listeners_help[] =
    "usage: sockwatch listeners [-tu46pv] [--port N] [--direct] [--json]\n"
    "  Every listening TCP socket and every bound, unconnected UDP socket,\n"
    "  always with the processes that hold it (-p is accepted and implied).\n"
    "  -t, --tcp  -u, --udp  -4  -6  --port N  --direct  --json  -v\n";

static int
parse_port(const char *cmd, const char *s, int *ret_port)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < 0 || v > 65535 ||
	    strspn(s, "0123456789") != strlen(s))
		return cli_usage_error(cmd, "invalid --port '%s': "
		    "expected 0-65535", s);
	*ret_port = (int)v;
	return 0;
}

static int
sockets_parse(int argc, char **argv, int listeners, struct sockets_args *a)
{
	static const struct option sockets_long[] = {
		{ "tcp", no_argument, NULL, 't' },
		{ "udp", no_argument, NULL, 'u' },
		{ "unix", no_argument, NULL, 'x' },
		{ "listening", no_argument, NULL, 'l' },
		{ "all", no_argument, NULL, 'a' },
		{ "processes", no_argument, NULL, 'p' },
		{ "extended", no_argument, NULL, 'e' },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "peer", required_argument, NULL, OPT_PEER },
		{ "direct", no_argument, NULL, OPT_DIRECT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct option listeners_long[] = {
		{ "tcp", no_argument, NULL, 't' },
		{ "udp", no_argument, NULL, 'u' },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "processes", no_argument, NULL, 'p' },
		{ "direct", no_argument, NULL, OPT_DIRECT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = argv[0];
	uint32_t states = 0, mask;
	int c, listening = 0, all = 0;

	memset(a, 0, sizeof(*a));
	a->q.port = -1;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv,
	    listeners ? ":tu46pvh" : ":tux46lapevh",
	    listeners ? listeners_long : sockets_long, NULL)) != -1) {
		switch (c) {
		case 't':
			a->q.protos |= SOCKDIAG_TCP;
			break;
		case 'u':
			a->q.protos |= SOCKDIAG_UDP;
			break;
		case 'x':
			a->q.protos |= SOCKDIAG_UNIX;
			break;
		case '4':
			a->q.families |= SOCKDIAG_INET4;
			break;
		case '6':
			a->q.families |= SOCKDIAG_INET6;
			break;
		case 'l':	/* the last of -l and -a wins, as in ss */
			listening = 1;
			all = 0;
			break;
		case 'a':
			all = 1;
			listening = 0;
			break;
		case 'p':
			a->processes = 1;
			break;
		case 'e':
			a->out.extended = 1;
			break;
		case 'v':
			a->verbose = 1;
			break;
		case OPT_STATE:
			if (sockdiag_state_parse(optarg, &mask) < 0)
				return cli_usage_error(cmd, "unknown state "
				    "'%s' (see 'sockwatch %s -h')", optarg,
				    cmd);
			states |= mask;
			break;
		case OPT_PORT:
			if (parse_port(cmd, optarg, &a->q.port) != 0)
				return EXIT_USAGE;
			break;
		case OPT_PEER:
			if (cidr_parse(optarg, &a->q.peer) < 0)
				return cli_usage_error(cmd, "invalid --peer "
				    "'%s': expected an address or CIDR",
				    optarg);
			a->q.has_peer = true;
			break;
		case OPT_DIRECT:
			a->direct = 1;
			break;
		case OPT_JSON:
			a->json = 1;
			break;
		case 'h':
			fputs(listeners ? listeners_help : sockets_help,
			    stdout);
			exit(EXIT_OK);
		default:
			return cli_bad_option(argv, c);
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'",
		    argv[optind]);
	if (a->q.protos == 0)
		a->q.protos = SOCKDIAG_TCP | SOCKDIAG_UDP;
	if (a->q.families == 0)
		a->q.families = SOCKDIAG_INET4 | SOCKDIAG_INET6;
	if (listeners) {
		a->q.states = STATES_LISTENING;
		a->processes = 1;
		a->out.view = SOCKOUT_LISTENERS;
	} else if (states != 0)
		a->q.states = states;
	else if (all)
		a->q.states = SOCKDIAG_STATES_ALL;
	else if (listening)
		a->q.states = STATES_LISTENING;
	else
		a->q.states = STATES_CONNECTED;
	return 0;
}

/* The audit view: TCP in LISTEN, UDP bound and unconnected. */
static void
keep_listeners(struct socklist *l)
{
	size_t i, n = 0;

	for (i = 0; i < l->n; i++)
		if (detect_is_listener(&l->v[i]))
			l->v[n++] = l->v[i];
	l->n = n;
}

/* Sockets as the daemon answered them, with their owners. */
struct daemon_answer {
	json_t *resp;
	struct proc_owner (*owners)[SOCKJSON_OWNERS_MAX];
	size_t *nowners;
};

static size_t
answer_owners(const void *arg, size_t idx, struct proc_owner *out,
    size_t max)
{
	const struct daemon_answer *d = arg;
	size_t n = d->nowners[idx] < max ? d->nowners[idx] : max;

	memcpy(out, d->owners[idx], n * sizeof(*out));
	return d->nowners[idx];
}

/* This process's network namespace, as the inode of /proc/self/ns/net. */
static uint64_t
netns_inode(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static void
partial_warning(size_t denied)
{
	if (denied > 0)
		fprintf(stderr, "sockwatch: process attribution is partial: "
		    "no permission to read the file descriptors of %zu "
		    "process%s%s\n", denied, denied == 1 ? "" : "es",
		    geteuid() == 0 ? "" : " (run as root)");
}

/* Ask the daemon. Returns 1 if it answered (the output is printed), 0 if
 * it is not there or would not answer (the caller asks the kernel), or an
 * exit code > 1 on a broken answer. */
static int
sockets_via_daemon(struct sockets_args *a, int listeners, int *ret_exit)
{
	struct daemon_answer d = { 0 };
	struct socklist l = { 0 };
	struct client *c;
	json_t *req, *arr, *v;
	size_t i, n;
	int r;

	if (client_open(&c) < 0)
		return 0;
	req = sockjson_query_encode(&a->q, a->processes);
	if (req == NULL) {
		client_close(c);
		return 0;
	}
	json_object_set_new(req, "cmd", json_string(listeners ? "listeners" :
	    "sockets"));
	r = client_call(c, req, &d.resp);
	json_decref(req);
	client_close(c);
	/* The socket is a file: a daemon in another network namespace would
	 * answer for its own sockets, not ours. */
	if (r < 0 || !json_is_true(json_object_get(d.resp, "ok")) ||
	    json_integer_value(json_object_get(d.resp, "netns")) !=
	    (json_int_t)netns_inode()) {
		json_decref(d.resp);
		return 0;
	}
	arr = json_object_get(d.resp, "sockets");
	n = json_array_size(arr);
	d.owners = calloc(n ? n : 1, sizeof(*d.owners));
	d.nowners = calloc(n ? n : 1, sizeof(*d.nowners));
	*ret_exit = EXIT_FAIL;
	if (socklist_reserve(&l, n) < 0 || d.owners == NULL ||
	    d.nowners == NULL)
		goto out;
	json_array_foreach(arr, i, v) {
		if (sockjson_decode(v, &l.v[l.n], d.owners[l.n],
		    SOCKJSON_OWNERS_MAX, &d.nowners[l.n]) < 0) {
			fprintf(stderr, "sockwatch: a malformed socket in "
			    "sockwatchd's answer\n");
			goto out;
		}
		l.n++;
	}
	if (a->processes) {
		a->out.owners = answer_owners;
		a->out.owners_arg = &d;
		partial_warning((size_t)json_integer_value(json_object_get(
		    d.resp, "partial")));
	}
	r = a->json ? sockout_json(stdout, &l, &a->out) :
	    sockout_text(stdout, &l, &a->out);
	if (r == 0 && fflush(stdout) == EOF)
		r = -EIO;
	if (r < 0)
		fprintf(stderr, "sockwatch: cannot write the output: %s\n",
		    strerror(-r));
	else
		*ret_exit = EXIT_OK;
out:
	socklist_free(&l);
	free(d.owners);
	free(d.nowners);
	json_decref(d.resp);
	return 1;
}

/*
 * The owners for -p: from the BPF task_file iterator, or by a walk of
 * /proc (one readlinkat per open file on the host, several times the
 * netlink dump). Neither depends on the listing, so a second thread
 * finds them meanwhile: measured at 100,000 sockets, this takes the
 * dump's time off the total on a machine with two cores.
 */
struct procwalk {
	pthread_t thread;
	bool started;
	bool try_bpf;
	struct procmap *pm;
	bool bpf;			/* the iterator made pm */
	int r;
	char why[160];			/* why not the iterator */
};

static void *
procwalk_run(void *arg)
{
	struct procwalk *w = arg;

	if (w->try_bpf &&
	    bpfiter_procmap(&w->pm, w->why, sizeof(w->why)) == 0)
		w->bpf = true;
	else
		w->r = procmap_build("/proc", &w->pm);
	return NULL;
}

static void
procwalk_start(struct procwalk *w, bool try_bpf)
{
	memset(w, 0, sizeof(*w));
	w->try_bpf = try_bpf;
	w->started = pthread_create(&w->thread, NULL, procwalk_run, w) == 0;
}

/* The map, walking here if no thread could be started. */
static int
procwalk_finish(struct procwalk *w, struct procmap **ret_pm)
{
	if (w->started)
		pthread_join(w->thread, NULL);
	else
		procwalk_run(w);
	w->started = false;
	*ret_pm = w->pm;
	return w->r;
}

/* The listing from sock_diag; prints what failed. */
static int
sockets_sockdiag(const struct sockdiag_query *q, struct socklist *l)
{
	struct sockdiag *sd;
	int r;

	if ((r = sockdiag_open(&sd)) < 0) {
		fprintf(stderr, "sockwatch: cannot open a sock_diag netlink "
		    "socket: %s\n", strerror(-r));
		return r;
	}
	if ((r = sockdiag_dump(sd, q, l)) < 0)
		fprintf(stderr, "sockwatch: %s\n", sockdiag_error(sd));
	sockdiag_close(sd);
	return r;
}

/* Where the answer comes from, for -v. */
struct sockets_src {
	unsigned int bpf_protos;	/* listed by BPF iterators */
	bool bpf_procs;			/* attributed by task_file */
	char why[160];			/* why BPF did less than it could */
};

/*
 * The listing: from the BPF socket iterators if bpfiter_policy says so
 * (TCP and UDP), the rest, or all if they fail, from sock_diag, after:
 * its order is TCP, UDP, UNIX. Prints what failed.
 */
static int
sockets_list(const struct sockets_args *a, struct socklist *l,
    struct sockets_src *src)
{
	struct sockdiag_query q = a->q;

	q.protos &= bpfiter_policy() & (SOCKDIAG_TCP | SOCKDIAG_UDP);
	if (q.protos != 0 &&
	    bpfiter_dump(&q, l, src->why, sizeof(src->why)) == 0)
		src->bpf_protos = q.protos;
	q.protos = a->q.protos & ~src->bpf_protos;
	return q.protos != 0 ? sockets_sockdiag(&q, l) : 0;
}

static void
sockets_say_source(const struct sockets_args *a,
    const struct sockets_src *src)
{
	const char *socks = "BPF iterators and sock_diag";

	if (src->bpf_protos == 0)
		socks = "sock_diag";
	else if (src->bpf_protos == a->q.protos)
		socks = "BPF iterators";
	fprintf(stderr, "sockwatch: sockets from %s%s%s%s%s%s\n", socks,
	    a->processes ? ", processes from " : "", !a->processes ? "" :
	    src->bpf_procs ? "the BPF task_file iterator" : "/proc",
	    src->why[0] ? " (BPF: " : "", src->why, src->why[0] ? ")" : "");
}

/*
 * Straight from the kernel. The owners (-p) come from the BPF task_file
 * iterator where this process may load it, else from /proc; the listing
 * from sock_diag, or from BPF iterators if asked (see bpfiter_policy);
 * every path prints the same.
 */
static int
sockets_direct(struct sockets_args *a, int listeners)
{
	struct sockets_src src = { 0 };
	struct socklist l = { 0 };
	struct procmap *pm = NULL;
	struct procwalk walk;
	unsigned int policy = bpfiter_policy();
	int r, ret = EXIT_FAIL;

	if (policy == 0)
		snprintf(src.why, sizeof(src.why), "%s=%s", BPFITER_ENV,
		    getenv(BPFITER_ENV));
	if (a->processes)
		procwalk_start(&walk, (policy & BPFITER_FILES) != 0);
	r = sockets_list(a, &l, &src);
	if (a->processes) {
		if (procwalk_finish(&walk, &pm) < 0 && r == 0) {
			fprintf(stderr, "sockwatch: cannot read /proc: %s\n",
			    strerror(-walk.r));
			r = walk.r;
		}
		src.bpf_procs = walk.bpf;
		if (src.why[0] == '\0')
			memcpy(src.why, walk.why, sizeof(src.why));
	}
	if (a->verbose)
		sockets_say_source(a, &src);
	if (r < 0)
		goto out;
	if (listeners)
		keep_listeners(&l);
	if (a->processes) {
		partial_warning(procmap_denied(pm));
		a->out.procs = pm;
	}
	r = a->json ? sockout_json(stdout, &l, &a->out) :
	    sockout_text(stdout, &l, &a->out);
	if (r == 0 && fflush(stdout) == EOF)
		r = -EIO;
	if (r < 0) {
		fprintf(stderr, "sockwatch: cannot write the output: %s\n",
		    strerror(-r));
		goto out;
	}
	ret = EXIT_OK;
out:
	procmap_free(pm);
	socklist_free(&l);
	return ret;
}

static int
sockets_run(int argc, char **argv, int listeners)
{
	struct sockets_args a;
	int r, ret = EXIT_FAIL;

	if ((r = sockets_parse(argc, argv, listeners, &a)) != 0)
		return r;
	/* The daemon answers when it runs; the kernel is the fallback. */
	if (!a.direct && sockets_via_daemon(&a, listeners, &ret)) {
		if (a.verbose)
			fprintf(stderr, "sockwatch: sockets and processes "
			    "from sockwatchd\n");
		return ret;
	}
	return sockets_direct(&a, listeners);
}

int
cmd_sockets(int argc, char **argv)
{
	return sockets_run(argc, argv, 0);
}

int
cmd_listeners(int argc, char **argv)
{
	return sockets_run(argc, argv, 1);
}
