#!/usr/bin/env python3
"""Hold TCP connections open and say when they end.

Usage: holdconn.py server ADDR PORT READYFILE
       holdconn.py client ADDR PORT READYFILE OUTFILE [TIMEOUT]

server: listen on ADDR:PORT (IPv6 ADDR "::" takes IPv4 too), accept every
connection and keep it until the peer closes it. READYFILE gets the pid
once listening.
client: connect to ADDR:PORT (within TIMEOUT seconds, default 5), write
the pid to READYFILE, then wait. When the connection ends, OUTFILE gets
"reset", "eof" or the error's name, and the process exits 0. A connect
that fails writes "connect-failed ERROR" to READYFILE and exits 1.
Files are written atomically (a temporary name, then rename).
"""
import errno
import os
import select
import socket
import sys


def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.rename(tmp, path)


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def server(addr, port, ready):
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family(addr) == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind((addr, port))
    s.listen(128)
    write(ready, str(os.getpid()))
    conns = []
    while True:
        r, _, _ = select.select([s] + conns, [], [])
        for c in r:
            if c is s:
                conns.append(s.accept()[0])
                continue
            try:
                data = c.recv(4096)
            except OSError:
                data = b""
            if not data:
                conns.remove(c)
                c.close()


def client(addr, port, ready, out, timeout):
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((addr, port))
    except OSError as e:
        write(ready, "connect-failed " + (errno.errorcode.get(e.errno, "")
                                          or type(e).__name__))
        return 1
    s.settimeout(None)
    write(ready, str(os.getpid()))
    try:
        data = s.recv(1)
        what = "eof" if not data else "data"
    except ConnectionResetError:
        what = "reset"
    except OSError as e:
        what = errno.errorcode.get(e.errno, str(e.errno))
    write(out, what)
    return 0


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "server":
        return server(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    if len(sys.argv) >= 6 and sys.argv[1] == "client":
        timeout = float(sys.argv[6]) if len(sys.argv) > 6 else 5.0
        return client(sys.argv[2], int(sys.argv[3]), sys.argv[4],
                      sys.argv[5], timeout)
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
