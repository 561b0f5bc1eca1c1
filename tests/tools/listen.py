#!/usr/bin/env python3
"""Open sockets, say when they are open, and hold them until killed.

Usage: listen.py READYFILE SPEC...

SPEC is one of
  tcp:ADDR:PORT    a TCP listener
  udp:ADDR:PORT    a bound, unconnected UDP socket
  udpc:ADDR:PORT   a UDP socket connected to ADDR:PORT (not a listener)
ADDR is an IPv4 address or an IPv6 one in brackets ([::1]). The sockets
are opened in the order given. Once all are open, READYFILE gets
"PID TIME" (TIME: time.time() just after the last one opened), written
atomically, and the process sleeps until a signal ends it.
"""
import os
import signal
import socket
import sys
import time


def parse(spec):
    kind, rest = spec.split(":", 1)
    addr, port = rest.rsplit(":", 1)
    if addr.startswith("["):
        return kind, socket.AF_INET6, addr[1:-1], int(port)
    return kind, socket.AF_INET, addr, int(port)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    ready = sys.argv[1]
    held = []
    for spec in sys.argv[2:]:
        kind, fam, addr, port = parse(spec)
        if kind == "tcp":
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, port))
            s.listen(16)
        elif kind == "udp":
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.bind((addr, port))
        elif kind == "udpc":
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.connect((addr, port))
        else:
            sys.exit("listen.py: bad spec " + spec)
        held.append(s)
    t = time.time()
    with open(ready + ".tmp", "w") as f:
        f.write("%d %.6f\n" % (os.getpid(), t))
    os.rename(ready + ".tmp", ready)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
