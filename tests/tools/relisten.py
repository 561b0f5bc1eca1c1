#!/usr/bin/env python3
"""Move a TCP listener to a new port without a new socket.

Usage: relisten.py DIR

An unbound TCP socket listens on 0.0.0.0 (the kernel picks the port)
and writes "PORT" to DIR/port1. On SIGUSR1 it leaves LISTEN with
connect(AF_UNSPEC), which unhashes it and frees the port, and listens at
once again on a new kernel-picked port, then writes it to DIR/port2. No
socket is created or destroyed and no connection is made: the
namespace's counters in /proc/net/sockstat and snmp read the same before
and after, and the socket keeps its cookie. Then it sleeps until killed.
"""
import ctypes
import os
import signal
import socket
import struct
import sys
import time


def put(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    d = sys.argv[1]
    libc = ctypes.CDLL(None, use_errno=True)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # An unbound socket: listen() binds it to an ephemeral port that a
    # disconnect gives back (an explicit bind would keep it).
    s.listen()
    put(os.path.join(d, "port1"), "%d\n" % s.getsockname()[1])
    moved = []
    signal.signal(signal.SIGUSR1, lambda *_: moved.append(1))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while not moved:
        time.sleep(0.05)
    unspec = struct.pack("=H14x", socket.AF_UNSPEC)
    if libc.connect(s.fileno(), unspec, len(unspec)) != 0:
        sys.exit("connect(AF_UNSPEC): %s" % os.strerror(ctypes.get_errno()))
    s.listen()
    put(os.path.join(d, "port2"), "%d\n" % s.getsockname()[1])
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
