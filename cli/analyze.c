/* sockwatch analyze FILE: the traffic detectors over a capture file, with
 * the packets' own timestamps as the clock, so a file gives the alerts the
 * daemon would have raised live. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/util.h"
#include "../exporter/peerjson.h"
#include "../monitor/capture.h"
#include "../monitor/decode.h"
#include "../policy/config.h"
#include "../policy/traffic.h"
#include "cli.h"
#include "views.h"

#define ANALYZE_BATCH		4096
#define ANALYZE_PEERS		20
#define ANALYZE_SAMPLE		20000	/* packets read to guess the host */
#define ANALYZE_LOCAL_MAX	16
#define ANALYZE_CAND		256	/* host candidates while guessing */
#define ANALYZE_CAND_INDEX	512	/* their hash index, > ANALYZE_CAND */
#define ANALYZE_SEED		0x5eed5eed5eed5eedULL

enum { OPT_JSON = 256, OPT_LOCAL };

struct analyze {
	struct traffic *t;
	json_t *alerts;
	uint64_t packets, decoded;
	uint64_t errors[-DECODE_RESULT_MIN + 1];
	int64_t last_tick_ms, last_ms;
	/* Guessing the host's addresses. */
	struct addr cand[ANALYZE_CAND];
	uint16_t cand_index[ANALYZE_CAND_INDEX];	/* slot + 1; 0: none */
	uint32_t cand_syns[ANALYZE_CAND], cand_pkts[ANALYZE_CAND];
	uint64_t cand_ports[ANALYZE_CAND][16];	/* ports it received at,
						 * hashed */
	size_t ncand;
	uint64_t guess_ip[2];		/* IPv4, IPv6 packets sampled */
	struct traffic_queue q;		/* decoded, for traffic_packet */
};

static void
analyze_alert(void *arg, struct alert *a)
{
	struct analyze *an = arg;
	json_t *j;

	a->id = json_array_size(an->alerts) + 1;
	a->time_ms = an->last_ms;
	if ((j = alert_to_json(a)) != NULL)
		json_array_append_new(an->alerts, j);
	alert_clear(a);
}

static void
analyze_process(struct analyze *an, const struct pkt *p, int64_t now_ms)
{
	an->last_ms = now_ms;
	traffic_packet(an->t, p, now_ms, NULL, NULL, analyze_alert, an);
	if (an->last_ms - an->last_tick_ms >= 1000) {
		traffic_tick(an->t, an->last_ms, analyze_alert, an);
		an->last_tick_ms = an->last_ms;
	}
}

/* Through the queue (traffic_queue_push): the detectors see the packets
 * a few behind, in order; analyze_drain takes the last ones. */
static void
analyze_packet(void *arg, const struct capture_packet *cp)
{
	struct analyze *an = arg;
	const struct pkt *p;
	int64_t ms;
	int r;

	an->packets++;
	r = decode_packet(cp->linktype, cp->data, cp->caplen, cp->wirelen,
	    (uint64_t)cp->ts_us, traffic_queue_slot(&an->q));
	if (r < 0) {
		an->errors[-r]++;
		return;
	}
	an->decoded++;
	if ((p = traffic_queue_push(an->t, &an->q, cp->ts_us / 1000,
	    &ms)) != NULL)
		analyze_process(an, p, ms);
}

static void
analyze_drain(struct analyze *an)
{
	const struct pkt *p;
	int64_t ms;

	while ((p = traffic_queue_pop(&an->q, &ms)) != NULL)
		analyze_process(an, p, ms);
}

/* Which address is the host? Captures for analysis are taken on the
 * host, so, per family, among the first packets of the file: the one most
 * SYNs (without ACK) go to; without SYNs, of the addresses on an end of
 * more than half of the packets (the host is on all of them; so is its
 * peer when there is only one), the one that received at the most
 * distinct ports: a probed host at the ports probed, a client host at
 * its ephemeral ports, where the prober or the server uses a few.
 *
 * The candidate slot of a (a host's address), added if there is room;
 * -1 if not. */
static long
guess_slot(struct analyze *an, const struct addr *a)
{
	uint64_t lo, hi;
	size_t i;

	if (!addr_is_unicast(a))
		return -1;
	/* Through an index: a busy capture fills the candidates at once,
	 * and a pass over all of them twice a packet was 2% of analyze. */
	memcpy(&lo, a->u.bytes, 8);
	memcpy(&hi, a->u.bytes + 8, 8);
	i = util_mix64(util_mix64(lo ^ a->family) ^ hi) % ANALYZE_CAND_INDEX;
	for (; an->cand_index[i] != 0; i = (i + 1) % ANALYZE_CAND_INDEX)
		if (addr_equal(&an->cand[an->cand_index[i] - 1], a))
			return an->cand_index[i] - 1;
	if (an->ncand == ANALYZE_CAND)
		return -1;
	an->cand[an->ncand] = *a;
	an->cand_index[i] = (uint16_t)(an->ncand + 1);
	return (long)an->ncand++;
}

static void
guess_packet(void *arg, const struct capture_packet *cp)
{
	struct analyze *an = arg;
	struct pkt p;
	unsigned int bit;
	long s, d;

	if (decode_packet(cp->linktype, cp->data, cp->caplen, cp->wirelen,
	    (uint64_t)cp->ts_us, &p) < 0)
		return;
	an->guess_ip[p.family == AF_INET ? 0 : 1]++;
	s = guess_slot(an, &p.src);
	d = guess_slot(an, &p.dst);
	if (s >= 0)
		an->cand_pkts[s]++;
	if (d >= 0) {
		an->cand_pkts[d]++;
		if (p.flags & PKT_F_PORTS) {
			bit = (p.dport * 2654435761u >> 10) % 1024;
			an->cand_ports[d][bit / 64] |= 1ULL << (bit % 64);
		}
		if (p.proto == IPPROTO_TCP && (p.tcp_flags & (PKT_TCP_SYN |
		    PKT_TCP_ACK)) == PKT_TCP_SYN)
			an->cand_syns[d]++;
	}
}

/* Bits set in a port bitmap: distinct ports, roughly. */
static unsigned int
guess_ports(const uint64_t *bits)
{
	unsigned int i, n = 0;

	for (i = 0; i < 16; i++)
		n += (unsigned int)__builtin_popcountll(bits[i]);
	return n;
}

/* Up to one address of each family (see above). */
static size_t
guess_local(const char *path, struct analyze *an, struct addr *ret)
{
	struct capture *c;
	char err[512];
	size_t i, k, nret = 0;
	long syn, pkts;
	unsigned int ports, most;
	int n, total = 0;
	static const int fams[] = { AF_INET, AF_INET6 };

	if (capture_open_file(path, "", &c, err, sizeof(err)) < 0)
		return 0;
	while (total < ANALYZE_SAMPLE &&
	    (n = capture_dispatch(c, ANALYZE_BATCH, guess_packet, an)) > 0)
		total += n;
	capture_close(c);
	for (k = 0; k < 2; k++) {
		syn = pkts = -1;
		most = 0;
		for (i = 0; i < an->ncand; i++) {
			if (an->cand[i].family != fams[k])
				continue;
			if (an->cand_syns[i] > 0 && (syn < 0 ||
			    an->cand_syns[i] > an->cand_syns[syn]))
				syn = (long)i;
			if (2 * (uint64_t)an->cand_pkts[i] <= an->guess_ip[k])
				continue;
			ports = guess_ports(an->cand_ports[i]);
			if (pkts < 0 || ports > most) {
				pkts = (long)i;
				most = ports;
			}
		}
		if (syn >= 0)
			ret[nret++] = an->cand[syn];
		else if (pkts >= 0)
			ret[nret++] = an->cand[pkts];
	}
	return nret;
}

/* Packets whose direction nobody could tell were not analysed: when that
 * is all of them (no host) or most (a wrong --local), say so and how to
 * tell it, rather than report a quiet capture. */
static void
analyze_warn_unknown(const struct analyze *an, const char *path,
    size_t nlocal)
{
	struct traffic_counters tc;

	traffic_counters(an->t, &tc);
	if (tc.unknown == 0 || (nlocal > 0 && 2 * tc.unknown <= an->decoded))
		return;
	if (nlocal == 0)
		fprintf(stderr, "sockwatch: analyze: %s: which address is the "
		    "host is unknown (%s), so %llu of %llu packets were not "
		    "analysed; give it with --local ADDR\n", path,
		    strcmp(path, "-") == 0 ? "a capture read from standard "
		    "input is not guessed" : "no address is on an end of most of the first packets",
		    (unsigned long long)tc.unknown,
		    (unsigned long long)an->decoded);
	else
		fprintf(stderr, "sockwatch: analyze: %s: %llu of %llu packets "
		    "had none of the host's addresses on either end and were "
		    "not analysed; is --local right?\n", path,
		    (unsigned long long)tc.unknown,
		    (unsigned long long)an->decoded);
}

static json_t *
analyze_summary(struct analyze *an, const char *path,
    const struct addr *local, size_t nlocal)
{
	struct traffic_counters tc;
	json_t *errs, *peers, *host;
	char buf[ADDR_STRLEN];
	size_t i;
	int k;

	traffic_counters(an->t, &tc);
	host = json_array();
	for (i = 0; host != NULL && i < nlocal; i++)
		json_array_append_new(host, json_string(addr_format(&local[i],
		    buf, sizeof(buf))));
	errs = json_object();
	for (k = 1; k <= -DECODE_RESULT_MIN; k++)
		if (an->errors[k] > 0)
			json_object_set_new(errs, decode_result_name(-k),
			    json_integer((json_int_t)an->errors[k]));
	peers = peerjson_top(traffic_peers(an->t), an->last_ms,
	    PEERS_SORT_PACKETS, ANALYZE_PEERS,
	    (unsigned int (*)(const void *, const struct peer *))
	    traffic_peer_flags, an->t);
	return json_pack("{s:s, s:I, s:I, s:o, s:o*, s:I, s:I, s:I, s:O, s:o}",
	    "file", path,
	    "packets", (json_int_t)an->packets,
	    "decoded", (json_int_t)an->decoded,
	    "skipped", errs,
	    "host", host,
	    "not_analysed", (json_int_t)tc.unknown,
	    "peers_seen", (json_int_t)tc.peers,
	    "peer_evictions", (json_int_t)tc.peer_evictions,
	    "alerts", an->alerts,
	    "peers", peers ? peers : json_array());
}

static const char analyze_help[] =
    "usage: sockwatch analyze [-c CONF] [--local ADDR]... [--json] FILE\n"
    "  Run the detectors over a .pcap or .pcapng file, using the packets'\n"
    "  own timestamps, and print the alerts and the busiest peers.\n"
    "  -c CONF        thresholds from CONF (default: as sockwatchd)\n"
    "  --local ADDR   an address of the captured host (repeatable; default:\n"
    "                 the address most SYNs in the file go to)\n"
    "  --json         one JSON object\n"
    "  Exit status: 0 no alert, 1 alerts raised, 2 bad file or option.\n";

int
cmd_analyze(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "local", required_argument, NULL, OPT_LOCAL },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct addr local[ANALYZE_LOCAL_MAX];
	struct config_error cerr = { "" };
	struct analyze an;
	struct config *cfg = NULL;
	struct capture *c = NULL;
	const char *conf = NULL, *path;
	json_t *out = NULL;
	size_t nlocal = 0, i;
	uint64_t seed = 0;
	char err[512];
	int ch, json = 0, n, r, ret = EXIT_USAGE;

	memset(&an, 0, sizeof(an));
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case OPT_LOCAL:
			if (nlocal == ANALYZE_LOCAL_MAX)
				return cli_usage_error(argv[0], "at most %d "
				    "--local addresses", ANALYZE_LOCAL_MAX);
			if (addr_parse(optarg, &local[nlocal]) < 0)
				return cli_usage_error(argv[0], "invalid "
				    "--local '%s': expected an address",
				    optarg);
			nlocal++;
			break;
		case OPT_JSON:
			json = 1;
			break;
		case 'h':
			fputs(analyze_help, stdout);
			return EXIT_OK;
		default:
			return cli_bad_option(argv, ch);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(argv[0], optind < argc ?
		    "one capture file only" : "which capture file?");
	path = argv[optind];

	if (conf == NULL && access(CONFIG_DEFAULT_PATH, F_OK) == 0)
		conf = CONFIG_DEFAULT_PATH;
	r = conf ? config_load(conf, &cfg, &cerr) :
	    config_load_default(&cfg, &cerr);
	if (r < 0) {
		fprintf(stderr, "sockwatch: %s\n", cerr.msg[0] ? cerr.msg :
		    strerror(-r));
		return EXIT_USAGE;
	}
	if ((r = capture_open_file(path, "", &c, err, sizeof(err))) < 0) {
		fprintf(stderr, "sockwatch: analyze: %s\n", err);
		goto out;
	}
	if (!decode_link_supported(capture_linktype(c))) {
		fprintf(stderr, "sockwatch: analyze: %s: unsupported link type "
		    "%d (Ethernet, Linux cooked, raw IP, BSD loopback, PPP, "
		    "PPPoE and Cisco HDLC are read)\n", path,
		    capture_linktype(c));
		goto out;
	}
	/* A fixed seed: the same file gives the same alerts every time. */
	seed = ANALYZE_SEED;
	ret = EXIT_FAIL;
	if ((r = traffic_new(cfg, seed, &an.t)) < 0 ||
	    (an.alerts = json_array()) == NULL) {
		fprintf(stderr, "sockwatch: analyze: %s\n", strerror(
		    r < 0 ? -r : ENOMEM));
		goto out;
	}
	/* Guessing reads the file twice: not for a pipe ("-"). */
	if (nlocal == 0 && strcmp(path, "-") != 0)
		nlocal = guess_local(path, &an, local);
	if (traffic_set_local(an.t, local, nlocal) < 0)
		goto out;
	while ((n = capture_dispatch(c, ANALYZE_BATCH, analyze_packet,
	    &an)) > 0)
		continue;
	analyze_drain(&an);
	if (n < 0) {
		fprintf(stderr, "sockwatch: analyze: %s\n", capture_error(c));
		ret = EXIT_USAGE;
		goto out;
	}
	traffic_tick(an.t, an.last_ms, analyze_alert, &an);
	analyze_warn_unknown(&an, path, nlocal);
	if ((out = analyze_summary(&an, path, local, nlocal)) == NULL)
		goto out;
	if (json) {
		r = views_json(out);
	} else {
		printf("%s: %llu packets, %llu decoded; host %s", path,
		    (unsigned long long)an.packets,
		    (unsigned long long)an.decoded, nlocal ? "" : "unknown");
		for (i = 0; i < nlocal; i++) {
			addr_format(&local[i], err, sizeof(err));
			printf("%s%s", i ? ", " : "", err);
		}
		if (json_integer_value(json_object_get(out, "not_analysed")))
			printf("; %lld not analysed (neither end is the host)",
			    (long long)json_integer_value(json_object_get(out,
			    "not_analysed")));
		printf("\n\n%zu alert%s\n", json_array_size(an.alerts),
		    json_array_size(an.alerts) == 1 ? "" : "s");
		if (json_array_size(an.alerts) > 0)
			views_alerts(an.alerts, 0);
		printf("\nbusiest peers\n");
		r = views_peers(json_object_get(out, "peers"), 0);
	}
	if (r != EXIT_OK)
		goto out;
	ret = json_array_size(an.alerts) > 0 ? 1 : EXIT_OK;
out:
	json_decref(out);
	json_decref(an.alerts);
	traffic_free(an.t);
	capture_close(c);
	config_free(cfg);
	return ret;
}
