#!/usr/bin/env python3
"""Create a known set of sockets, hold them, and describe them in JSON.

Usage:
  mksocks.py server DIR --v4 A4 --v6 A6 --peer4 P4 --peer6 P6
                        --dead4 D4 --dead6 D6 --ifname IF
  mksocks.py client READYFILE HOST:PORT...

server (run it in the namespace under test) creates, in this process:
  TCP listeners on A4, [A6], 127.0.0.1, [::1], a dual-stack [::] and one
  created as uid 65534; established loopback pairs over IPv4, IPv6 and
  IPv4-mapped IPv6; a FIN-WAIT-2 / CLOSE-WAIT pair; SYN-SENT connects to
  D4 and D6 (the test gives them neighbour entries nobody answers);
  bound unconnected UDP on A4, [A6], dual-stack [::] and one bound to
  interface IF; UDP connected to P4 and P6; UNIX stream listeners on a
  path and an abstract name (one with a space) with a connected pair
  each; a bound UNIX dgram socket and a client connected to it; an
  unbound UNIX dgram socket; an abstract dgram socket as uid 65534; dgram
  and seqpacket socket pairs. One listener is shared with a forked child
  (comm swtest-child) and one UNIX socket is dup()ed, so both have two
  owners. The comm of this process is swtest-srv.

  It writes DIR/listening ("<pid> <child pid>") once its listeners are
  up, accepts one connection on A4:7001 and one on [A6]:7003 (from the
  client), then writes DIR/manifest.json: a JSON array with one object
  per socket in the namespace, in sockwatch's JSON vocabulary, plus
  "name" and "owners" ([[comm, pid, fd], ...]). Then it holds them all
  until killed.

client (run it in the peer namespace) connects to each HOST:PORT (IPv6
as [addr]:port), writes "ready <pid>" to READYFILE and holds them.
"""
import ctypes
import fcntl
import json
import os
import select
import signal
import socket
import sys
import termios
import time

PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
TCP_STATES = {
    1: "established", 2: "syn-sent", 3: "syn-recv", 4: "fin-wait-1",
    5: "fin-wait-2", 6: "time-wait", 7: "close", 8: "close-wait",
    9: "last-ack", 10: "listen", 11: "closing",
}

libc = ctypes.CDLL(None, use_errno=True)


def set_comm(name):
    libc.prctl(PR_SET_NAME, name.encode(), 0, 0, 0)


def tcp_state(s):
    return TCP_STATES[s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO,
                                   8)[0]]


def wait_tcp_state(s, want, deadline):
    while tcp_state(s) != want:
        if time.monotonic() > deadline:
            sys.exit("mksocks: socket stuck in %s, want %s"
                     % (tcp_state(s), want))
        time.sleep(0.01)


def wait_queued(s, want, deadline):
    """Wait until s has at least want bytes to read."""
    buf = bytearray(4)
    while True:
        fcntl.ioctl(s.fileno(), termios.FIONREAD, buf)
        if int.from_bytes(buf, sys.byteorder) >= want:
            return
        if time.monotonic() > deadline:
            sys.exit("mksocks: data did not arrive")
        time.sleep(0.01)


def inode(s):
    return os.fstat(s.fileno()).st_ino


class Manifest:
    def __init__(self):
        self.socks = []     # (socket, dict)
        self.comm = "swtest-srv"
        self.extra_owners = {}  # id(sock) -> [[comm, pid, fd]]

    def add(self, name, s, **kw):
        d = {"name": name, "inode": inode(s), "uid": 0}
        d.update(kw)
        self.socks.append((s, d))
        return s

    def add_inet(self, name, s, state, proto, remote=None, **kw):
        fam = "inet" if s.family == socket.AF_INET else "inet6"
        la = s.getsockname()
        if remote is None:
            try:
                remote = s.getpeername()[:2]
            except OSError:
                remote = ("0.0.0.0" if fam == "inet" else "::", 0)
        return self.add(name, s, proto=proto, family=fam, state=state,
                        local_addr=la[0], local_port=la[1],
                        remote_addr=remote[0], remote_port=remote[1], **kw)

    def add_unix(self, name, s, state, path=None, peer=None, **kw):
        types = {socket.SOCK_STREAM: "stream", socket.SOCK_DGRAM: "dgram",
                 socket.SOCK_SEQPACKET: "seqpacket"}
        return self.add(name, s, proto="unix", family="unix", state=state,
                        path=path, type=types[s.type],
                        peer_inode=inode(peer) if peer else None, **kw)

    def share(self, s, comm, pid, fd):
        self.extra_owners.setdefault(id(s), []).append([comm, pid, fd])

    def dump(self, path):
        pid = os.getpid()
        out = []
        for s, d in self.socks:
            d["owners"] = sorted([[self.comm, pid, s.fileno()]] +
                                 self.extra_owners.get(id(s), []),
                                 key=lambda o: (o[1], o[2]))
            out.append(d)
        with open(path + ".tmp", "w") as f:
            json.dump(out, f, indent=1)
        os.rename(path + ".tmp", path)


def as_uid(uid, fn):
    """Create a socket with the given effective (and so fs) uid."""
    os.seteuid(uid)
    try:
        return fn()
    finally:
        os.seteuid(0)


def listener(fam, addr, port, v6only=None):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    s.bind((addr, port))
    s.listen(16)
    return s


def tcp_pair(m, name, lsock, fam, addr, port):
    c = socket.socket(fam, socket.SOCK_STREAM)
    c.connect((addr, port))
    a, _ = lsock.accept()
    m.add_inet(name + " client", c, "established", "tcp")
    m.add_inet(name + " server", a, "established", "tcp")


def server(argv):
    import argparse
    p = argparse.ArgumentParser(prog="mksocks.py server")
    p.add_argument("dir")
    for o in ("v4", "v6", "peer4", "peer6", "dead4", "dead6", "ifname"):
        p.add_argument("--" + o, required=True)
    a = p.parse_args(argv)
    deadline = time.monotonic() + 30
    m = Manifest()
    set_comm(m.comm)

    # TCP listeners.
    l4 = m.add_inet("tcp4 listener (shared)", listener(socket.AF_INET,
                    a.v4, 7001), "listen", "tcp")
    l6 = m.add_inet("tcp6 listener", listener(socket.AF_INET6, a.v6, 7003),
                    "listen", "tcp")
    lo4 = m.add_inet("tcp4 loopback listener",
                     listener(socket.AF_INET, "127.0.0.1", 7002),
                     "listen", "tcp")
    lo6 = m.add_inet("tcp6 loopback listener",
                     listener(socket.AF_INET6, "::1", 7004), "listen", "tcp")
    dual = m.add_inet("tcp dual-stack listener",
                      listener(socket.AF_INET6, "::", 7005, v6only=0),
                      "listen", "tcp")
    m.add_inet("tcp4 listener as nobody",
               as_uid(65534, lambda: listener(socket.AF_INET, "127.0.0.1",
                                              7010)),
               "listen", "tcp", uid=65534)

    # Established pairs: IPv4, IPv6, IPv4-mapped IPv6.
    tcp_pair(m, "tcp4 pair", lo4, socket.AF_INET, "127.0.0.1", 7002)
    tcp_pair(m, "tcp6 pair", lo6, socket.AF_INET6, "::1", 7004)
    tcp_pair(m, "tcp mapped pair", dual, socket.AF_INET,
                     "127.0.0.1", 7005)

    # A half-closed pair: FIN-WAIT-2 on the side that shut down writing,
    # CLOSE-WAIT on the other; both stay while the descriptors are open.
    hc = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    hc.connect(("127.0.0.1", 7002))
    ha, _ = lo4.accept()
    hc.shutdown(socket.SHUT_WR)
    wait_tcp_state(hc, "fin-wait-2", deadline)
    wait_tcp_state(ha, "close-wait", deadline)
    m.add_inet("tcp4 half-closed client", hc, "fin-wait-2", "tcp")
    m.add_inet("tcp4 half-closed server", ha, "close-wait", "tcp")

    # SYN-SENT: connects that nobody answers.
    for fam, dst, port in ((socket.AF_INET, a.dead4, 7301),
                           (socket.AF_INET6, a.dead6, 7302)):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex((dst, port))
        if err != 115:  # EINPROGRESS
            sys.exit("mksocks: connect to %s: %s" % (dst, os.strerror(err)))
        if tcp_state(s) != "syn-sent":
            sys.exit("mksocks: connect to %s is %s" % (dst, tcp_state(s)))
        m.add_inet("tcp syn-sent to " + dst, s, "syn-sent", "tcp",
                   remote=(dst, port))

    # UDP: bound and unconnected; connected.
    for name, fam, addr, port in (("udp4 bound", socket.AF_INET, a.v4, 7101),
                                  ("udp6 bound", socket.AF_INET6, a.v6, 7102),
                                  ("udp dual-stack bound", socket.AF_INET6,
                                   "::", 7105)):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        if addr == "::":
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind((addr, port))
        m.add_inet(name, s, "unconn", "udp")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, a.ifname.encode())
    s.bind(("0.0.0.0", 7104))
    m.add_inet("udp4 bound to device", s, "unconn", "udp",
               interface=a.ifname)
    for name, fam, dst, port in (("udp4 connected", socket.AF_INET, a.peer4,
                                  7201),
                                 ("udp6 connected", socket.AF_INET6, a.peer6,
                                  7202)):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.connect((dst, port))
        m.add_inet(name, s, "established", "udp")

    # UNIX stream: listener on a path and on abstract names, with pairs.
    upath = os.path.join(a.dir, "stream.sock")
    abs1 = "\0sockwatch-test-%d" % os.getpid()
    abs2 = "\0sw test %d" % os.getpid()
    for name, addr in (("unix stream path", upath),
                       ("unix stream abstract", abs1),
                       ("unix stream abstract with space", abs2)):
        shown = "@" + addr[1:] if addr[0] == "\0" else addr
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(addr)
        ls.listen(16)
        m.add_unix(name + " listener", ls, "listen", path=shown)
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(addr)
        acc, _ = ls.accept()
        m.add_unix(name + " client", c, "established", peer=acc)
        # An accepted socket shows its listener's name.
        m.add_unix(name + " accepted", acc, "established", path=shown,
                   peer=c)
    # One socket held through two descriptors.
    dupfd = os.dup(c.fileno())
    m.share(c, m.comm, os.getpid(), dupfd)

    # UNIX dgram: bound server, a client connected to it, an unbound one.
    dpath = os.path.join(a.dir, "dgram.sock")
    ds = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ds.bind(dpath)
    dc = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dc.connect(dpath)
    # Since Linux 5.15 a dgram connect() marks both ends established
    # (83301b5367a9), though the bound end has no peer.
    rel = tuple(int(x) for x in os.uname().release.split(".")[:2])
    m.add_unix("unix dgram bound", ds,
               "established" if rel >= (5, 15) else "unconn", path=dpath)
    m.add_unix("unix dgram connected", dc, "established", peer=ds)
    m.add_unix("unix dgram unbound",
               socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM), "unconn")
    nob = as_uid(65534, lambda: socket.socket(socket.AF_UNIX,
                                              socket.SOCK_DGRAM))
    nob.bind("\0sockwatch-nobody-%d" % os.getpid())
    m.add_unix("unix dgram abstract as nobody", nob, "unconn",
               path="@sockwatch-nobody-%d" % os.getpid(), uid=65534)
    for name, t in (("unix dgram pair", socket.SOCK_DGRAM),
                    ("unix seqpacket pair", socket.SOCK_SEQPACKET)):
        x, y = socket.socketpair(socket.AF_UNIX, t)
        m.add_unix(name + " a", x, "established", peer=y)
        m.add_unix(name + " b", y, "established", peer=x)

    # Queued data, so that the queue figures meet ss's on every path:
    # unread bytes on a TCP socket, datagrams waiting on a UDP socket,
    # bytes and messages waiting on UNIX pairs.
    qc = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    qc.connect(("127.0.0.1", 7002))
    qa, _ = lo4.accept()
    qc.sendall(b"q" * 100)
    wait_queued(qa, 100, deadline)
    m.add_inet("tcp4 pair with unread data client", qc, "established", "tcp")
    m.add_inet("tcp4 pair with unread data server", qa, "established", "tcp",
               recv_q=100)
    ur = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ur.bind(("127.0.0.1", 7106))
    us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    us.bind(("127.0.0.1", 7107))
    for _ in range(2):
        us.sendto(b"u" * 50, ("127.0.0.1", 7106))
    wait_queued(ur, 50, deadline)
    m.add_inet("udp4 with queued datagrams", ur, "unconn", "udp")
    m.add_inet("udp4 sender", us, "unconn", "udp")
    for name, t, msgs, want in (
            ("unix stream pair with queued bytes", socket.SOCK_STREAM,
             [b"s" * 300], 300),
            ("unix seqpacket pair with queued messages",
             socket.SOCK_SEQPACKET, [b"p" * 10, b"p" * 20], 30),
            ("unix dgram pair with queued messages", socket.SOCK_DGRAM,
             [b"d" * 7, b"d" * 9], 7)):
        x, y = socket.socketpair(socket.AF_UNIX, t)
        for msg in msgs:
            x.send(msg)
        m.add_unix(name + " sender", x, "established", peer=y)
        m.add_unix(name + " receiver", y, "established", peer=x,
                   recv_q=want)

    # A child that shares the IPv4 listener (same descriptor number).
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        set_comm("swtest-child")
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        keepfd = l4.fileno()
        os.write(w, b"x")
        os.closerange(3, keepfd)
        os.closerange(keepfd + 1, 1 << 16)
        signal.signal(signal.SIGTERM, lambda *x: os._exit(0))
        while True:
            signal.pause()
    os.close(w)
    os.read(r, 1)  # the child is running as swtest-child
    os.close(r)
    m.share(l4, "swtest-child", child, l4.fileno())

    with open(os.path.join(a.dir, "listening.tmp"), "w") as f:
        f.write("%d %d\n" % (os.getpid(), child))
    os.rename(os.path.join(a.dir, "listening.tmp"),
              os.path.join(a.dir, "listening"))

    # Accept the client's connections over the veth.
    for ls, name in ((l4, "tcp4 from peer"), (l6, "tcp6 from peer")):
        rd, _, _ = select.select([ls], [], [], max(0, deadline -
                                                   time.monotonic()))
        if not rd:
            sys.exit("mksocks: no connection for " + name)
        acc, _ = ls.accept()
        m.add_inet(name, acc, "established", "tcp")

    m.dump(os.path.join(a.dir, "manifest.json"))
    signal.signal(signal.SIGTERM, lambda *x: sys.exit(0))
    while True:
        signal.pause()


def client(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    set_comm("swtest-cli")
    ready, held = argv[0], []
    for hp in argv[1:]:
        host, port = hp.rsplit(":", 1)
        fam = socket.AF_INET
        if host.startswith("["):
            host, fam = host[1:-1], socket.AF_INET6
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect((host, int(port)))
        held.append(s)
    with open(ready + ".tmp", "w") as f:
        f.write("ready %d\n" % os.getpid())
    os.rename(ready + ".tmp", ready)
    signal.signal(signal.SIGTERM, lambda *x: sys.exit(0))
    while True:
        signal.pause()


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("server", "client"):
        sys.exit(__doc__)
    (server if sys.argv[1] == "server" else client)(sys.argv[2:])


if __name__ == "__main__":
    main()
