#!/usr/bin/env python3
"""Both ends of connections to be torn down, reporting how each one ends.

Usage: peerconns.py server READYFILE EVENTFILE SPEC...
       peerconns.py client READYFILE EVENTFILE CONN...

server SPECs:
  tcp,ADDR,PORT                a TCP listener; every connection is accepted
                               and held (ADDR :: listens dual-stack, so
                               IPv4 clients show up IPv4-mapped)
  udpc,LADDR,LPORT,RADDR,RPORT a UDP socket bound to LADDR:LPORT and
                               connected to RADDR:RPORT
client CONNs:
  tcp,SRC,DST,PORT,COUNT       COUNT TCP connections from SRC to DST:PORT

Once all are open, READYFILE gets "PID COUNT" (sockets held), written
atomically. Then every held socket is watched: when one ends (EOF, or an
error such as ECONNRESET from a reset or ECONNABORTED from SOCK_DESTROY)
a line "PROTO LOCAL REMOTE HOW" is appended to EVENTFILE, HOW being "eof"
or the errno name. Runs until a signal ends it, or 300 s at most.
"""
import errno
import os
import resource
import select
import signal
import socket
import sys
import time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def ep(addr, port):
    return "[%s]:%d" % (addr, port) if ":" in addr else "%s:%d" % (addr, port)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main():
    if len(sys.argv) < 5 or sys.argv[1] not in ("server", "client"):
        sys.exit(__doc__)
    mode, ready, events = sys.argv[1], sys.argv[2], sys.argv[3]
    raise_nofile()
    listeners = []
    held = {}  # fd -> (socket, description)
    for spec in sys.argv[4:]:
        f = spec.split(",")
        if mode == "server" and f[0] == "tcp" and len(f) == 3:
            s = socket.socket(family(f[1]), socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family(f[1]) == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.bind((f[1], int(f[2])))
            s.listen(4096)
            s.setblocking(False)
            listeners.append(s)
        elif mode == "server" and f[0] == "udpc" and len(f) == 5:
            s = socket.socket(family(f[1]), socket.SOCK_DGRAM)
            s.bind((f[1], int(f[2])))
            s.connect((f[3], int(f[4])))
            held[s.fileno()] = (s, "udp %s %s" % (ep(f[1], int(f[2])),
                                                  ep(f[3], int(f[4]))))
        elif mode == "client" and f[0] == "tcp" and len(f) == 5:
            for _ in range(int(f[4])):
                s = socket.socket(family(f[1]), socket.SOCK_STREAM)
                s.bind((f[1], 0))
                s.settimeout(10)
                s.connect((f[2], int(f[3])))
                held[s.fileno()] = (s, "tcp %s %s" % (
                    ep(f[1], s.getsockname()[1]), ep(f[2], int(f[3]))))
        else:
            sys.exit("peerconns.py: bad spec for %s: %s" % (mode, spec))
    with open(ready + ".tmp", "w") as out:
        out.write("%d %d\n" % (os.getpid(), len(held)))
    os.rename(ready + ".tmp", ready)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    log = open(events, "a", buffering=1)
    poll = select.poll()
    for fd in held:
        poll.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    for s in listeners:
        poll.register(s.fileno(), select.POLLIN)
    lfds = {s.fileno(): s for s in listeners}
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        for fd, _ in poll.poll(1000):
            if fd in lfds:
                while True:
                    try:
                        c, peer = lfds[fd].accept()
                    except (BlockingIOError, ConnectionAbortedError):
                        break
                    loc = c.getsockname()
                    held[c.fileno()] = (c, "tcp %s %s" % (
                        ep(loc[0], loc[1]), ep(peer[0], peer[1])))
                    poll.register(c.fileno(), select.POLLIN |
                                  select.POLLERR | select.POLLHUP)
                continue
            s, what = held.pop(fd)
            poll.unregister(fd)
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            how = errno.errorcode.get(err, str(err)) if err else None
            if how is None:
                try:
                    how = "eof" if s.recv(4096) == b"" else "data"
                except OSError as e:
                    how = errno.errorcode.get(e.errno, str(e.errno))
            log.write("%s %s\n" % (what, how))
            s.close()


if __name__ == "__main__":
    main()
