#!/usr/bin/env python3
"""Check sockwatch's output against ss and against known sockets.

Usage:
  compare_ss.py ss SS_OUT SW_JSON
      SS_OUT is `ss -tuaxnpe`, SW_JSON `sockwatch sockets -a -t -u -x -p
      --json`, taken in the same namespace. Every socket ss reports must
      be in SW_JSON and the other way round (matched by inode), with the
      same state, addresses, ports, interface, queues, uid, cookie, owning
      processes (comm and pid; one entry per process, with its lowest fd)
      and, for UNIX sockets, path, type and peer.
  compare_ss.py manifest MANIFEST SW_JSON
      Every socket in MANIFEST (from mksocks.py) is in SW_JSON with the
      fields the manifest gives, SW_JSON has no other socket, and its
      objects have every key the JSON format promises.
  compare_ss.py select LABEL MANIFEST SW_JSON [--proto P,..] [--family F,..]
                [--state S,..] [--not-state S,..] [--port N] [--peer CIDR]
                [--listeners]
      SW_JSON holds exactly the manifest's sockets that pass the given
      filter (what sockwatch should have selected), matched by inode.
      --listeners: TCP in listen and bound UDP in unconn, each with its
      owners' pid and comm.
  compare_ss.py text LABEL SW_TEXT SW_JSON
      SW_TEXT is the text output of the same query as SW_JSON: a header
      and exactly one line per socket, showing its netid, state, endpoints
      (IPv6 as [addr]:port; UNIX as ss: "path inode", "* peer-inode"),
      and, when the columns are there, inode and processes.
  compare_ss.py many SW_JSON [--listeners] [--no-processes]
                [--established=N] PORT=PID...
      The 20,000-connection check: SW_JSON (`sockets -t [-a] [-p] --json`)
      holds only TCP sockets on the PORTs: N established ones, in pairs
      (each one's other end is there too), each held by exactly the PID
      of its PORT (no processes with --no-processes), and one listener per
      PORT with --listeners (none without).

Exit status 0 when everything matches; otherwise a diff on stdout and 1.
"""
import ipaddress
import json
import re
import sys

SS_STATES = {
    "ESTAB": "established", "SYN-SENT": "syn-sent", "SYN-RECV": "syn-recv",
    "FIN-WAIT-1": "fin-wait-1", "FIN-WAIT-2": "fin-wait-2",
    "TIME-WAIT": "time-wait", "UNCONN": "unconn", "CLOSE-WAIT": "close-wait",
    "LAST-ACK": "last-ack", "LISTEN": "listen", "CLOSING": "closing",
}
UNIX_TYPES = {"u_str": "stream", "u_dgr": "dgram", "u_seq": "seqpacket"}
SPEC_KEYS = ("proto", "family", "state", "local_addr", "local_port",
             "remote_addr", "remote_port", "recv_q", "send_q", "uid",
             "inode", "cookie", "processes")
UNIX_KEYS = ("path", "type", "peer_inode")

INET_RE = re.compile(r"^(tcp|udp)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S+)"
                     r"(.*)$")
# A UNIX path may hold spaces; the peer column is "*" or a name.
UNIX_RE = re.compile(r"^(u_\w+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(.+?)\s+(\d+)"
                     r"\s+(\S+)\s+(\d+)(?=\s|$)(.*)$")
USER_RE = re.compile(r'\("((?:[^"\\]|\\.)*)",pid=(\d+),fd=(\d+)\)')

problems = []


def problem(msg):
    problems.append(msg)


def finish(what):
    if problems:
        print("MISMATCH (%s): %d problem(s)" % (what, len(problems)))
        for p in problems:
            print("  " + p)
        sys.exit(1)
    print("ok: %s" % what)


def load_json(path):
    with open(path) as f:
        try:
            v = json.load(f)
        except ValueError as e:
            sys.exit("%s: not JSON: %s" % (path, e))
    if not isinstance(v, list):
        sys.exit("%s: not a JSON array" % path)
    return v


def by_inode(socks, what):
    out = {}
    for s in socks:
        ino = s.get("inode")
        if ino in out:
            problem("%s: inode %s appears twice: %s / %s"
                    % (what, ino, brief(out[ino]), brief(s)))
        out[ino] = s
    return out


def brief(s):
    if s.get("family") == "unix":
        return "%s %s %s %s ino %s peer %s" % (
            s.get("proto"), s.get("type"), s.get("state"), s.get("path"),
            s.get("inode"), s.get("peer_inode"))
    return "%s %s %s %s:%s -> %s:%s ino %s" % (
        s.get("proto"), s.get("family"), s.get("state"), s.get("local_addr"),
        s.get("local_port"), s.get("remote_addr"), s.get("remote_port"),
        s.get("inode"))


def owners(s):
    """sockwatch's processes as [comm, pid, fd] (fd None if not given)."""
    return [[p.get("comm"), p.get("pid"), p.get("fd")]
            for p in s.get("processes") or []]


def per_process(triples):
    """[comm, pid, fd] for every fd -> one per process, its lowest fd, by
    ascending pid: what sockwatch lists."""
    best = {}
    for comm, pid, fd in triples:
        if pid not in best or fd < best[pid][2]:
            best[pid] = [comm, pid, fd]
    return [best[p] for p in sorted(best)]


def same_owners(got, want):
    """want is per_process(); got may lack fds."""
    if [o[:2] for o in got] != [o[:2] for o in want]:
        return False
    return all(g[2] is None or g[2] == w[2] for g, w in zip(got, want))


def parse_endpoint(text):
    """ss's "addr[%if]:port" -> (family, addr, port, ifname)."""
    host, _, port = text.rpartition(":")
    ifname = None
    if "%" in host:
        host, ifname = host.split("%", 1)
    if host == "*":
        family, host = "inet6", "::"
    elif host.startswith("["):
        family, host = "inet6", host[1:-1]
    else:
        family = "inet"
    return family, host, 0 if port == "*" else int(port), ifname


def parse_ss(path):
    socks = []
    with open(path) as f:
        lines = f.read().splitlines()
    if not lines or not lines[0].startswith("Netid"):
        sys.exit("%s: no ss header" % path)
    for line in lines[1:]:
        if not line.strip():
            continue
        m = INET_RE.match(line)
        if m:
            proto, st, rq, wq, loc, rem, rest = m.groups()
            fam, la, lp, lif = parse_endpoint(loc)
            _, ra, rp, _ = parse_endpoint(rem)
            ino = re.search(r"\bino:(\d+)", rest)
            uid = re.search(r"\buid:(\d+)", rest)
            sk = re.search(r"\bsk:([0-9a-f]+)", rest)
            state = SS_STATES.get(st, st.lower())
            if proto == "tcp" and state == "unconn":
                state = "close"
            socks.append({
                "proto": proto, "family": fam, "state": state,
                "recv_q": int(rq), "send_q": int(wq),
                "local_addr": la, "local_port": lp,
                "remote_addr": ra, "remote_port": rp, "interface": lif,
                "inode": int(ino.group(1)) if ino else None,
                "uid": int(uid.group(1)) if uid else 0,
                "cookie": int(sk.group(1), 16) if sk else None,
                "owners": per_process([[c, int(p), int(fd)] for c, p, fd
                                       in USER_RE.findall(rest)]),
                "line": line.rstrip(),
            })
            continue
        m = UNIX_RE.match(line)
        if m:
            netid, st, rq, wq, lpath, ino, _, pino, rest = m.groups()
            socks.append({
                "proto": "unix", "family": "unix",
                "type": UNIX_TYPES.get(netid, netid),
                "state": SS_STATES.get(st, st.lower()),
                "recv_q": int(rq), "send_q": int(wq),
                "path": None if lpath == "*" else lpath,
                "inode": int(ino),
                "peer_inode": int(pino) or None,
                "owners": per_process([[c, int(p), int(fd)] for c, p, fd
                                       in USER_RE.findall(rest)]),
                "line": line.rstrip(),
            })
            continue
        problem("cannot parse ss line: %r" % line)
    return socks


def cmd_ss(ss_path, sw_path):
    ss = parse_ss(ss_path)
    sw = load_json(sw_path)
    ss_i = by_inode(ss, "ss")
    sw_i = by_inode(sw, "sockwatch")
    if not ss:
        problem("ss reported no sockets: the test set-up is broken")
    for ino in sorted(set(ss_i) - set(sw_i), key=str):
        problem("only in ss: %s" % ss_i[ino]["line"])
    for ino in sorted(set(sw_i) - set(ss_i), key=str):
        problem("only in sockwatch: %s" % brief(sw_i[ino]))
    fields = ["proto", "family", "state", "recv_q", "send_q"]
    inet = ["local_addr", "local_port", "remote_addr", "remote_port",
            "interface", "uid", "cookie"]
    unix = ["path", "type", "peer_inode"]
    for ino in sorted(set(ss_i) & set(sw_i), key=str):
        a, b = ss_i[ino], sw_i[ino]
        for k in fields + (unix if a["family"] == "unix" else inet):
            if a.get(k) != b.get(k):
                problem("inode %s: %s: ss %r, sockwatch %r  [ss: %s]"
                        % (ino, k, a.get(k), b.get(k), a["line"]))
        got = owners(b)
        if not same_owners(got, a["owners"]):
            problem("inode %s: processes: ss %r, sockwatch %r  [ss: %s]"
                    % (ino, a["owners"], got, a["line"]))
    finish("sockwatch matches ss on %d sockets" % len(ss))


def check_keys(s):
    for k in SPEC_KEYS + (UNIX_KEYS if s.get("family") == "unix" else ()):
        if k not in s:
            problem("inode %s: no key %r: %s" % (s.get("inode"), k,
                                                 brief(s)))
    for k in ("local_port", "remote_port", "recv_q", "send_q", "uid",
              "inode", "cookie"):
        if k in s and s[k] is not None and not isinstance(s[k], int):
            problem("inode %s: %s is not an integer: %r"
                    % (s.get("inode"), k, s[k]))
    for p in s.get("processes") or []:
        if not isinstance(p.get("pid"), int) or not isinstance(
                p.get("comm"), str):
            problem("inode %s: bad process entry %r" % (s.get("inode"), p))


def cmd_manifest(man_path, sw_path):
    man = load_json(man_path)
    sw = load_json(sw_path)
    sw_i = by_inode(sw, "sockwatch")
    for s in sw:
        check_keys(s)
    known = {m["inode"] for m in man}
    for ino in sorted(set(sw_i) - known, key=str):
        problem("not created by the test: %s" % brief(sw_i[ino]))
    for m in man:
        s = sw_i.get(m["inode"])
        if s is None:
            problem("missing: %s (%s)" % (m["name"], brief(m)))
            continue
        for k, v in m.items():
            if k in ("name", "owners"):
                continue
            if s.get(k) != v:
                problem("%s: %s: want %r, sockwatch %r"
                        % (m["name"], k, v, s.get(k)))
        if m.get("family") != "unix" and "interface" not in m and \
                s.get("interface") is not None:
            problem("%s: interface: want null, sockwatch %r"
                    % (m["name"], s.get("interface")))
        got = owners(s)
        if not same_owners(got, per_process(m["owners"])):
            problem("%s: processes: want %r, sockwatch %r"
                    % (m["name"], per_process(m["owners"]), got))
    finish("all %d known sockets reported as created" % len(man))


def in_cidr(addr, net):
    a = ipaddress.ip_address(addr)
    if net.version == 4 and a.version == 6 and a.ipv4_mapped is not None:
        a = a.ipv4_mapped
    return a.version == net.version and a in net


def cmd_select(label, man_path, sw_path, opts):
    man = load_json(man_path)
    sw = load_json(sw_path)
    protos = families = states = not_states = None
    port = peer = None
    listeners = False
    i = 0
    while i < len(opts):
        o = opts[i]
        if o == "--listeners":
            listeners = True
            i += 1
            continue
        v = opts[i + 1]
        i += 2
        if o == "--proto":
            protos = v.split(",")
        elif o == "--family":
            families = v.split(",")
        elif o == "--state":
            states = v.split(",")
        elif o == "--not-state":
            not_states = v.split(",")
        elif o == "--port":
            port = int(v)
        elif o == "--peer":
            peer = ipaddress.ip_network(v, strict=False)
        else:
            sys.exit("select: unknown option " + o)

    def wanted(m):
        if protos and m["proto"] not in protos:
            return False
        if families and m["family"] not in families:
            return False
        if states and m["state"] not in states:
            return False
        if not_states and m["state"] in not_states:
            return False
        if port is not None and (m["family"] == "unix" or port not in
                                 (m["local_port"], m["remote_port"])):
            return False
        if peer is not None and (m["family"] == "unix" or
                                 not in_cidr(m["remote_addr"], peer)):
            return False
        if listeners and not (
                (m["proto"] == "tcp" and m["state"] == "listen") or
                (m["proto"] == "udp" and m["state"] == "unconn" and
                 m["local_port"] != 0)):
            return False
        return True

    want = {m["inode"]: m for m in man if wanted(m)}
    got = by_inode(sw, "sockwatch")
    if not want:
        problem("the filter selects no known socket: the test is wrong")
    for ino in sorted(set(want) - set(got)):
        problem("missing: %s (%s)" % (want[ino]["name"], brief(want[ino])))
    for ino in sorted(set(got) - set(want), key=str):
        known = [m["name"] for m in man if m["inode"] == ino]
        problem("unexpected: %s%s" % (brief(got[ino]), " (%s)" % known[0]
                                      if known else ""))
    if listeners:
        for ino in sorted(set(want) & set(got)):
            w = sorted([o[1], o[0]] for o in want[ino]["owners"])
            g = sorted([p.get("pid"), p.get("comm")]
                       for p in got[ino].get("processes") or [])
            if w != g:
                problem("%s: processes (pid, comm): want %r, got %r"
                        % (want[ino]["name"], w, g))
    finish("%s: %d sockets as expected" % (label, len(want)))


def fmt_end(addr, port, family):
    p = str(port) if port else "*"
    return "[%s]:%s" % (addr, p) if family == "inet6" else "%s:%s" % (addr, p)


def cmd_text(label, text_path, sw_path):
    """Rebuild each JSON socket's row and compare them as multisets."""
    from collections import Counter
    sw = load_json(sw_path)
    with open(text_path) as f:
        lines = f.read().splitlines()
    if not lines:
        problem("no output at all")
        finish(label)
    head = lines[0]
    listeners = head.startswith("Proto")
    need = ["Local Address:Port", "Recv-Q", "Send-Q"]
    need += [] if listeners else ["Netid", "State", "Peer Address:Port"]
    for col in need:
        if col not in head:
            problem("header has no %r: %r" % (col, head))
    if problems:
        finish(label)
    if len(lines) != len(sw) + 1:
        problem("%d lines after the header, %d sockets in the JSON"
                % (len(lines) - 1, len(sw)))
    col = {n: head.index(n) for n in ("Local Address:Port",
                                      "Peer Address:Port", "Inode",
                                      "Process") if n in head}

    def row_of(ln):
        toks = ln.split()
        key = [toks[0]]
        if listeners:
            key.append(ln[col["Local Address:Port"]:].split()[0])
        else:
            key.append(toks[1])
            key.append(ln[col["Local Address:Port"]:
                          col["Peer Address:Port"]].strip())
            # UNIX: "* PEER-INODE", as ss; inet: one token.
            n = 2 if toks[0] == "unix" else 1
            key.append(" ".join(ln[col["Peer Address:Port"]:].split()[:n]))
        if "Inode" in col:
            key.append(ln[:col["Inode"] + 5].split()[-1])
        if "Process" in col:
            key.append(ln[col["Process"]:].strip())
        return tuple(key)

    def row_want(s):
        if s["family"] == "unix":
            # As ss: "PATH INODE" and "* PEER-INODE".
            local = "%s %d" % (s["path"] if s.get("path") is not None
                               else "*", s["inode"])
            peer = "* %d" % (s.get("peer_inode") or 0)
        else:
            local = fmt_end(s["local_addr"], s["local_port"], s["family"])
            peer = fmt_end(s["remote_addr"], s["remote_port"], s["family"])
        key = [s["proto"]]
        key += [local] if listeners else [s["state"], local, peer]
        if "Inode" in col:
            key.append(str(s["inode"]))
        if "Process" in col:
            key.append(",".join("%s(%d)" % (p["comm"], p["pid"])
                                for p in s.get("processes") or []))
        return tuple(key)

    got = Counter()
    for ln in lines[1:]:
        try:
            got[row_of(ln)] += 1
        except (IndexError, ValueError):
            problem("cannot read line: %r" % ln)
    want = Counter(row_want(s) for s in sw)
    for k in sorted(want - got):
        problem("no line for: %s" % "  ".join(k))
    for k in sorted(got - want):
        problem("line matches no socket: %s" % "  ".join(k))
    finish("%s: header and %d lines" % (label, len(sw)))


def cmd_many(sw_path, args):
    sw = load_json(sw_path)
    pid_of, want_listen, procs_too, want_est = {}, False, True, None
    for a in args:
        if a == "--listeners":
            want_listen = True
        elif a == "--no-processes":
            procs_too = False
        elif a.startswith("--established="):
            want_est = int(a.split("=", 1)[1])
        else:
            port, pid = a.split("=")
            pid_of[int(port)] = int(pid)
    by_inode(sw, "sockwatch")
    listen = {p: 0 for p in pid_of}
    est = {}
    wrong = 0
    for s in sw:
        if s["proto"] != "tcp":
            problem("not TCP: %s" % brief(s))
            continue
        port = s["local_port"] if s["local_port"] in pid_of else \
            s["remote_port"]
        if port not in pid_of:
            problem("on no known port: %s" % brief(s))
            continue
        procs = [p.get("pid") for p in s.get("processes") or []]
        if procs != ([pid_of[port]] if procs_too else []):
            wrong += 1
            if wrong <= 20:
                problem("held by %r, want [%d]: %s"
                        % (procs, pid_of[port], brief(s)))
        if s["state"] == "listen":
            listen[port] += 1
        elif s["state"] == "established":
            key = (s["local_addr"], s["local_port"], s["remote_addr"],
                   s["remote_port"])
            if key in est:
                problem("twice: %s" % brief(s))
            est[key] = s
        else:
            problem("unexpected state: %s" % brief(s))
    if wrong > 20:
        problem("... %d sockets with the wrong processes in all" % wrong)
    for p, n in sorted(listen.items()):
        if n != (1 if want_listen else 0):
            problem("port %d: %d listeners, want %d"
                    % (p, n, 1 if want_listen else 0))
    if want_est is not None and len(est) != want_est:
        problem("%d established sockets, want %d" % (len(est), want_est))
    unpaired = [k for k in est if (k[2], k[3], k[0], k[1]) not in est]
    if unpaired:
        problem("%d established sockets without their other end, e.g. %r"
                % (len(unpaired), unpaired[:3]))
    finish("%d established sockets in pairs%s" % (
        len(est), ", each held by its process" if procs_too else ""))


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "ss":
        cmd_ss(a[1], a[2])
    elif len(a) == 3 and a[0] == "manifest":
        cmd_manifest(a[1], a[2])
    elif len(a) >= 4 and a[0] == "select":
        cmd_select(a[1], a[2], a[3], a[4:])
    elif len(a) == 4 and a[0] == "text":
        cmd_text(a[1], a[2], a[3])
    elif len(a) >= 3 and a[0] == "many":
        cmd_many(a[1], a[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
