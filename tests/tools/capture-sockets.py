#!/usr/bin/env python3
"""Create the known sockets that tests/data/*.nl were captured from.

Usage: capture-sockets.py UNIXDIR MANIFEST

Run inside a fresh network namespace whose loopback carries 198.18.0.1,
198.18.0.2 and 2001:db8::1 (tests/tools/capture.sh sets this up). Writes
one line per socket ("name inode") to MANIFEST once everything exists,
then holds the sockets until it is killed.
"""
import os
import signal
import socket
import sys
import time


def ino(s):
    return os.fstat(s.fileno()).st_ino


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    udir, manifest = sys.argv[1], sys.argv[2]
    keep = {}

    # TCP over IPv4: a listener and one established pair with 5 bytes
    # unread on the accepted side.
    l4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    l4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l4.bind(("198.18.0.1", 8080))
    l4.listen(16)
    c4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c4.bind(("198.18.0.2", 40001))
    c4.connect(("198.18.0.1", 8080))
    a4, _ = l4.accept()
    c4.sendall(b"hello")
    keep.update(tcp4_listen=l4, tcp4_client=c4, tcp4_accepted=a4)

    # TCP over IPv6: a listener on 2001:db8::1, and a dual-stack listener
    # that accepts an IPv4 client, which shows up v4-mapped.
    l6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    l6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    l6.bind(("2001:db8::1", 8443))
    l6.listen(16)
    d6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    d6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    d6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    d6.bind(("::", 8444))
    d6.listen(16)
    cm = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    cm.bind(("198.18.0.2", 40002))
    cm.connect(("198.18.0.1", 8444))
    am, _ = d6.accept()
    keep.update(tcp6_listen=l6, tcp6_dual_listen=d6, tcp4_mapped_client=cm,
                tcp6_mapped_accepted=am)

    # UDP: an unconnected socket and a connected one, on v4 and v6.
    u4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u4.bind(("198.18.0.1", 5353))
    uc4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    uc4.bind(("198.18.0.2", 5000))
    uc4.connect(("198.18.0.1", 5353))
    u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    u6.bind(("2001:db8::1", 5353))
    keep.update(udp4_unconn=u4, udp4_conn=uc4, udp6_unconn=u6)

    # UNIX: a stream listener with a path, one with an abstract name, a
    # connected stream pair, and a dgram socket whose abstract name holds
    # a non-printable byte.
    path = os.path.join(udir, "listen.sock")
    lp = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lp.bind(path)
    lp.listen(16)
    la = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    la.bind(b"\0sockwatch-test")
    la.listen(16)
    p1, p2 = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    ud = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ud.bind(b"\0sw\x01dgram")
    keep.update(unix_path_listen=lp, unix_abstract_listen=la, unix_pair_a=p1,
                unix_pair_b=p2, unix_dgram=ud)

    tmp = manifest + ".tmp"
    with open(tmp, "w") as f:
        for name, s in keep.items():
            f.write("%s %d\n" % (name, ino(s)))
    os.rename(tmp, manifest)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main()
