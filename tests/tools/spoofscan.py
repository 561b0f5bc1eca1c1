#!/usr/bin/env python3
"""Send TCP SYN probes from spoofed IPv4 sources (a raw socket with
IP_HDRINCL): each SOURCE probes PORTS ports of DST, starting at FIRST.

Usage: spoofscan.py DST FIRST PORTS SOURCE...

Bounded: at most 64 sources and 1,000 ports each; one pass, no retries.
For tests in network namespaces only (198.18.0.0/15 addresses).
"""
import random
import socket
import struct
import sys


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def syn(src, dst, sport, dport):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, random.getrandbits(32),
                      0, 5 << 4, 0x02, 1024, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + \
        struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp),
                     random.getrandbits(16), 0, 64, socket.IPPROTO_TCP, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    return ip + tcp


def main():
    dst, first, nports = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sources = sys.argv[4:]
    if not sources or len(sources) > 64 or not 0 < nports <= 1000:
        sys.exit("usage: spoofscan.py DST FIRST PORTS SOURCE...")
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    for src in sources:
        sport = random.randint(20000, 60000)
        for port in range(first, first + nports):
            s.sendto(syn(src, dst, sport, port), (dst, 0))


main()
