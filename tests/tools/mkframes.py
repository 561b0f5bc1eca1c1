#!/usr/bin/env python3
"""Captures of the same packets in each link-layer framing sockwatch reads.

    mkframes.py synth DIR
        Write DIR/<framing>.pcap for every framing below: a SYN scan of
        100 ports from 198.18.0.2 to 198.18.0.1 and of 50 ports from
        2001:db8::2 to 2001:db8::1 (ports 22 and 80 answer, the scanner
        resets them), with two frames that are not IP in front.
    mkframes.py reframe FRAMING IN OUT [LOCAL...]
        Rewrite the Ethernet capture IN in FRAMING: the IP packets keep
        their bytes, times and lengths on the wire less the Ethernet
        header; other frames become the framing's own non-IP frames.
        LOCAL addresses (the capturing host's) set the direction byte of
        ppp-dir and chdlc-dir: sent when the source is one of them.

Only the standard library: the files are made the same everywhere.
"""
import ipaddress
import struct
import sys

# Link types as a savefile says them.
LINKTYPE = {
    "ether": 1, "ether-pppoe": 1, "null-le": 0, "null-be": 0, "loop": 108,
    "ppp": 9, "ppp-acfc": 9, "ppp-serial": 50, "pppoe": 51, "chdlc": 104,
    "ppp-dir": 204, "chdlc-dir": 205,
}

MACS = bytes.fromhex("020000000001" "020000000002")
PPP_ADDR_CTRL = b"\xff\x03"
PPP_IP = {4: 0x0021, 6: 0x0057}
PPP_LCP = 0xc021
ETHERTYPE = {4: 0x0800, 6: 0x86dd}


def pppoe(payload, code=0):
    return struct.pack(">BBHH", 0x11, code, 0x1234, len(payload)) + payload


def null_af(order, af6):
    def wrap(ver, body):
        return struct.pack(order + "I", 2 if ver == 4 else af6) + body
    return wrap


def ppp(ver, body, addr_ctrl=True):
    proto = PPP_IP[ver] if ver else PPP_LCP
    return (PPP_ADDR_CTRL if addr_ctrl else b"") + \
        struct.pack(">H", proto) + body


def chdlc(ver, body):
    # 0x8035: Cisco's SLARP, the keepalive that is not IP.
    return struct.pack(">BBH", 0x0f, 0, ETHERTYPE[ver] if ver else 0x8035) \
        + body


def ether(ver, body):
    return MACS + struct.pack(">H", ETHERTYPE[ver] if ver else 0x0806) + body


def ether_pppoe(ver, body):
    if not ver:
        # PPPoE discovery (PADI) has an ethertype of its own.
        return MACS + struct.pack(">H", 0x8863) + pppoe(b"", 0x09)
    return MACS + struct.pack(">H", 0x8864) + pppoe(ppp(ver, body, False))


# framing -> wrap(ver, body, out): ver is 4, 6, or 0 for a frame that is
# not IP (body is then its payload).
WRAP = {
    "ether": lambda v, b, o: ether(v, b),
    "ether-pppoe": lambda v, b, o: ether_pppoe(v, b),
    # Little-endian macOS, big-endian OpenBSD; AppleTalk (16) is not IP.
    "null-le": lambda v, b, o: null_af("<", 30)(v, b) if v else
    struct.pack("<I", 16) + b,
    "null-be": lambda v, b, o: null_af(">", 24)(v, b) if v else
    struct.pack(">I", 16) + b,
    "loop": lambda v, b, o: null_af(">", 24)(v, b) if v else
    struct.pack(">I", 16) + b,
    "ppp": lambda v, b, o: ppp(v, b),
    "ppp-acfc": lambda v, b, o: ppp(v, b, False),
    "ppp-serial": lambda v, b, o: ppp(v, b),
    "pppoe": lambda v, b, o: pppoe(ppp(v, b, False)),
    "chdlc": lambda v, b, o: chdlc(v, b),
    "ppp-dir": lambda v, b, o: bytes([o]) + ppp(v, b),
    "chdlc-dir": lambda v, b, o: bytes([o]) + chdlc(v, b),
}


# What synth puts in the frames that are not IP, by the framing's kind:
# an ARP request, an LCP echo request, a Cisco SLARP keepalive, and an
# AppleTalk packet's first bytes on a BSD loopback.
ARP = bytes.fromhex("0001080006040001" "020000000002" "c6120002"
                    "000000000000" "c6120001")
LCP_ECHO = bytes.fromhex("0901000812345678")
SLARP = bytes.fromhex("00000002" "00000001" "00000000" "ffff")
NONIP = {"ether": ARP, "ether-pppoe": b"", "null-le": bytes(16),
         "null-be": bytes(16), "loop": bytes(16), "chdlc": SLARP,
         "chdlc-dir": SLARP}


def cksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(">%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def tcp_ip(src, dst, sport, dport, flags, seq, ack=0):
    """An IPv4 or IPv6 TCP segment without payload, checksums right."""
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    tcp = struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags,
                      64240, 0, 0)
    if s.version == 4:
        pseudo = s.packed + d.packed + struct.pack(">BBH", 0, 6, len(tcp))
    else:
        pseudo = s.packed + d.packed + struct.pack(">IxxxB", len(tcp), 6)
    tcp = tcp[:16] + struct.pack(">H", cksum(pseudo + tcp)) + tcp[18:]
    if s.version == 4:
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), seq & 0xffff,
                         0x4000, 64, 6, 0, s.packed, d.packed)
        ip = ip[:10] + struct.pack(">H", cksum(ip)) + ip[12:]
        return 4, ip + tcp
    return 6, struct.pack(">IHBB", 6 << 28, len(tcp), 6, 64) + s.packed + \
        d.packed + tcp


def synth():
    """(time, ver, body, out) of the scans, 5 ms apart."""
    pkts, t = [], 1700000000.0
    # Not IP (their bodies are the framing's: NONIP).
    for _ in range(2):
        pkts.append((t, 0, None, 0))
        t += 0.005
    for scanner, victim, nports in (("198.18.0.2", "198.18.0.1", 100),
                                    ("2001:db8::2", "2001:db8::1", 50)):
        for port in range(1, nports + 1):
            seq = 1000 + port
            pkts.append((t, *tcp_ip(scanner, victim, 40000, port, 0x02, seq),
                         0))
            t += 0.005
            if port in (22, 80):
                pkts.append((t, *tcp_ip(victim, scanner, port, 40000, 0x12,
                                        7000, seq + 1), 1))
                pkts.append((t, *tcp_ip(scanner, victim, 40000, port, 0x04,
                                        seq + 1), 0))
                t += 0.005
    return pkts


def write_pcap(path, framing, records):
    """records: (time, ver, body, out, extra wire bytes)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535,
                            LINKTYPE[framing]))
        for t, ver, body, out, extra in records:
            if body is None:
                body = NONIP.get(framing, LCP_ECHO)
            frame = WRAP[framing](ver, body, out)
            sec = int(t)
            usec = int(round((t - sec) * 1e6))
            f.write(struct.pack("<IIII", sec, usec, len(frame),
                                len(frame) + extra))
            f.write(frame)


def read_pcap(path):
    """(time, frame, wire length) of an Ethernet pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    nano = magic in (0xa1b23c4d, 0x4d3cb2a1)
    if struct.unpack(order + "I", data[20:24])[0] != 1:
        sys.exit("%s: not an Ethernet capture" % path)
    off = 24
    while off + 16 <= len(data):
        sec, frac, cap, wire = struct.unpack(order + "IIII",
                                             data[off:off + 16])
        frame = data[off + 16:off + 16 + cap]
        off += 16 + cap
        yield sec + frac / (1e9 if nano else 1e6), frame, wire


def reframe(framing, src, dst, local):
    local = {ipaddress.ip_address(a).packed for a in local}
    records = []
    for t, frame, wire in read_pcap(src):
        off, etype = 14, struct.unpack(">H", frame[12:14])[0]
        while etype in (0x8100, 0x88a8, 0x9100) and off + 4 <= len(frame):
            etype = struct.unpack(">H", frame[off + 2:off + 4])[0]
            off += 4
        ver = {0x0800: 4, 0x86dd: 6}.get(etype, 0)
        body = frame[off:]
        out = 0
        if ver == 4 and len(body) >= 16:
            out = int(body[12:16] in local)
        elif ver == 6 and len(body) >= 24:
            out = int(body[8:24] in local)
        records.append((t, ver, body, out, wire - len(frame)))
    write_pcap(dst, framing, records)


def main(argv):
    if len(argv) == 3 and argv[1] == "synth":
        pkts = synth()
        for framing in LINKTYPE:
            write_pcap("%s/%s.pcap" % (argv[2], framing), framing,
                       [p + (0,) for p in pkts])
    elif len(argv) >= 5 and argv[1] == "reframe" and argv[2] in LINKTYPE:
        reframe(argv[2], argv[3], argv[4], argv[5:])
    else:
        sys.exit("usage: mkframes.py synth DIR | "
                 "reframe FRAMING IN OUT [LOCAL...]\nframings: " +
                 " ".join(LINKTYPE))


if __name__ == "__main__":
    main(sys.argv)
