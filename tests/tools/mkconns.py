#!/usr/bin/env python3
"""Hold N established TCP connections over loopback in this one process.

Usage: mkconns.py [-6] [--addr ADDR] PORT N READYFILE

Listens on ADDR:PORT (default 127.0.0.1, or ::1 with -6), opens N client
connections to it, accepts all N, writes "ready <pid>" to READYFILE, and
then holds all 2*N+1 sockets until it is killed. Each process holds at
most 2*N+1 descriptors: spread large counts over several processes (the
limit here is 20,000 open files per process).
"""
import os
import resource
import select
import signal
import socket
import sys
import time


def main():
    args = sys.argv[1:]
    family = socket.AF_INET
    addr = None
    if args and args[0] == "-6":
        family = socket.AF_INET6
        args = args[1:]
    if len(args) >= 2 and args[0] == "--addr":
        addr = args[1]
        args = args[2:]
    if len(args) != 3:
        sys.exit(__doc__)
    port, n, ready = int(args[0]), int(args[1]), args[2]
    if addr is None:
        addr = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * n + 64
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))

    lsock = socket.socket(family, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((addr, port))
    lsock.listen(4096)
    lsock.setblocking(False)

    clients, accepted = [], []
    deadline = time.monotonic() + 120
    pending = 0
    while len(accepted) < n:
        if time.monotonic() > deadline:
            sys.exit("mkconns: timed out with %d of %d accepted"
                     % (len(accepted), n))
        # Keep the accept queue short: at most 512 connects in flight.
        while len(clients) < n and pending < 512:
            c = socket.socket(family, socket.SOCK_STREAM)
            c.setblocking(False)
            err = c.connect_ex((addr, port))
            if err not in (0, 115):  # EINPROGRESS
                sys.exit("mkconns: connect: %s" % os.strerror(err))
            clients.append(c)
            pending += 1
        select.select([lsock], [], [], 0.5)
        while True:
            try:
                s, _ = lsock.accept()
            except BlockingIOError:
                break
            accepted.append(s)
            pending -= 1
    with open(ready + ".tmp", "w") as f:
        f.write("ready %d\n" % os.getpid())
    os.rename(ready + ".tmp", ready)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
