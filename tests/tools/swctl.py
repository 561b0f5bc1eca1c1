#!/usr/bin/env python3
"""A raw client of sockwatchd's control socket, for the integration tests.

Usage:
  swctl.py latency SOCKET SAMPLES PORT SPREAD
      Subscribe; then SAMPLES times: wait a random 0..SPREAD seconds (so
      the samples fall at every phase of the daemon's scan), open a TCP
      listener on 0.0.0.0:PORT+i in this process, and time how long the
      "listener" alert for it takes to arrive on the subscription. The
      alert must name this process. Prints every sample, then
      "latency: median X ms, min Y, max Z over N samples". Fails if an
      alert does not arrive within 10 s.
  swctl.py garbage SOCKET
      Two clients: A sends 100 garbage lines (one at a time, then in one
      batch), each of which must get {"ok": false, "error": ...}; then a
      line over 64 KiB, after which the daemon must close A. B, connected
      all along, must get answers before, in between and after.
  swctl.py maxclients SOCKET N
      N clients connect and are answered (N is the daemon's max_clients);
      one more gets {"ok": false, "error": "too many clients"} and is
      closed; once one of the N leaves, a new client is served again.
Exits 0 when every check passed, 1 (with a message) otherwise.
"""
import json
import os
import random
import select
import socket
import statistics
import sys
import time


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def line(self, timeout=5.0):
        """The next line as bytes; None on EOF; raises on timeout."""
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from sockwatchd")
            r, _, _ = select.select([self.s], [], [], left)
            if not r:
                continue
            try:
                d = self.s.recv(65536)
            except ConnectionResetError:
                d = b""
            if not d:
                return None
            self.buf += d
        ln, self.buf = self.buf.split(b"\n", 1)
        return ln

    def call(self, obj):
        self.send(json.dumps(obj).encode() + b"\n")
        ln = self.line()
        if ln is None:
            raise RuntimeError("sockwatchd closed the connection")
        return json.loads(ln)


def die(msg):
    print("swctl: " + msg, file=sys.stderr)
    sys.exit(1)


def latency(path, samples, port, spread):
    c = Client(path)
    r = c.call({"cmd": "subscribe"})
    if r.get("ok") is not True or r.get("subscribed") is not True:
        die("subscribe: %r" % r)
    got = []
    for i in range(samples):
        time.sleep(random.uniform(0, spread))
        p = port + i
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("0.0.0.0", p))
        t0 = time.monotonic()
        ls.listen(4)
        end = t0 + 10.0
        while True:
            ln = c.line(timeout=max(0.0, end - time.monotonic()))
            if ln is None:
                die("sockwatchd closed the subscription")
            ev = json.loads(ln)
            a = ev.get("alert")
            if (ev.get("event") == "alert" and a.get("kind") == "listener"
                    and a.get("local_port") == p):
                break
        dt = time.monotonic() - t0
        proc = a.get("process") or {}
        if proc.get("pid") != os.getpid():
            die("alert for port %d names process %r, not us" % (p, proc))
        ls.close()
        got.append(dt)
        print("sample %d: port %d: alert after %.0f ms (id %s)" %
              (i + 1, p, dt * 1000, a.get("id")))
    print("latency: median %.0f ms, min %.0f, max %.0f over %d samples" %
          (statistics.median(got) * 1000, min(got) * 1000, max(got) * 1000,
           len(got)))
    if max(got) > 3.0:
        die("an alert took longer than 3 s")


GARBAGE = [
    b"hello",
    b"{",
    b"}",
    b"[1, 2, 3]",
    b'"status"',
    b"null",
    b"42",
    b'{"cmd": 5}',
    b'{"cmd": null}',
    b'{"cmd": ["status"]}',
    b'{"command": "status"}',
    b'{"cmd": "status"',
    b'{"cmd": "status"} trailing',
    b'{"cmd": "status", "cmd": "status"}',
    b'{"cmd": "no-such-command"}',
    b'{"cmd": ""}',
    b'{"cmd": "alerts", "limit": "ten"}',
    b'{"cmd": "alerts", "limit": -1}',
    b'{"cmd": "alerts", "since": 5}',
    b'{"cmd": "alerts", "since": "yesterday"}',
    b'{"cmd": "alerts", "peer": "198.18.0.300"}',
    b'{"cmd": "alerts", "kind": 7}',
    b'{"cmd": "sockets", "port": 70000}',
    b'{"cmd": "sockets", "port": "http"}',
    b"\xff\xfe\xfd",
    b'{"cmd": "st\xc3\x28tus"}',
    b"\x00\x01\x02",
    b'{"cmd": "status\\u0000x"}',
    b"[" * 200,
    b"GET / HTTP/1.0",
]


def garbage_line(i):
    return GARBAGE[i % len(GARBAGE)]


def expect_error(r, what):
    if r is None:
        die("%s: the connection was closed" % what)
    try:
        o = json.loads(r)
    except ValueError:
        die("%s: the response is not JSON: %r" % (what, r[:200]))
    if o.get("ok") is not False or not isinstance(o.get("error"), str):
        die("%s: want {\"ok\": false, \"error\": ...}, got %r" % (what, o))
    return o["error"]


def expect_status(b, when):
    r = b.call({"cmd": "status"})
    if r.get("ok") is not True or "pid" not in r:
        die("%s: status answered %r" % (when, r))


def garbage(path):
    a = Client(path)
    b = Client(path)
    expect_status(b, "second client, before")
    errors = {}
    # 50 one at a time, answered in turn.
    for i in range(50):
        line = garbage_line(i)
        a.send(line + b"\n")
        e = expect_error(a.line(), "garbage line %d %r" % (i + 1, line[:40]))
        errors[e] = errors.get(e, 0) + 1
        if i % 10 == 9:
            expect_status(b, "second client, after %d garbage lines" %
                          (i + 1))
    # 50 in one write: 50 answers, in order.
    a.send(b"".join(garbage_line(i) + b"\n" for i in range(50, 100)))
    for i in range(50, 100):
        e = expect_error(a.line(), "batched garbage line %d" % (i + 1))
        errors[e] = errors.get(e, 0) + 1
    print("100 garbage lines, 100 errors: " +
          ", ".join("%s x%d" % kv for kv in sorted(errors.items())))
    # Still usable after all that.
    r = a.call({"cmd": "status"})
    if r.get("ok") is not True:
        die("first client after the garbage: status answered %r" % r)
    expect_status(b, "second client, after the garbage")

    # Exactly 64 KiB (without the newline) is still a request.
    head, tail = b'{"cmd": "status", "pad": "', b'"}'
    edge = head + b"x" * (65536 - len(head) - len(tail)) + tail
    a.send(edge + b"\n")
    ln = a.line()
    if ln is None or json.loads(ln).get("ok") is not True:
        die("a request of exactly 64 KiB: %r" % (ln and ln[:200]))
    print("a request of exactly 65536 bytes is answered")

    # Over 64 KiB on one line: the daemon must hang up on A.
    big = head + b"x" * (70 * 1024) + tail + b"\n"
    try:
        a.send(big)
    except (BrokenPipeError, ConnectionResetError):
        pass
    answers = []
    end = time.monotonic() + 5.0
    while True:
        if time.monotonic() > end:
            die("oversize line: the connection is still open after 5 s")
        ln = a.line(timeout=max(0.0, end - time.monotonic()))
        if ln is None:
            break
        answers.append(ln)
    for ln in answers:
        expect_error(ln, "oversize line")
    print("oversize line (%d bytes): connection closed after %d error "
          "line(s): %s" % (len(big), len(answers),
                           b" ".join(answers).decode(errors="replace")))
    expect_status(b, "second client, after the oversize line")
    # A new client is served too.
    expect_status(Client(path), "new client")
    print("the second client got every answer")


def maxclients(path, n):
    held = []
    for i in range(n):
        c = Client(path)
        expect_status(c, "client %d of %d" % (i + 1, n))
        held.append(c)
    extra = Client(path)
    ln = extra.line()
    e = expect_error(ln, "client %d of %d" % (n + 1, n))
    if "too many" not in e:
        die("client %d of %d: error %r, want 'too many clients'" % (n + 1, n, e))
    if extra.line() is not None:
        die("client %d of %d: the connection stays open" % (n + 1, n))
    print("client %d of %d refused: %s" % (n + 1, n, e))
    held.pop().s.close()
    # The daemon may not have seen the hang-up yet: retry for a while.
    end = time.monotonic() + 5
    while True:
        try:
            r = Client(path).call({"cmd": "status"})
        except (RuntimeError, OSError) as e:
            r = {"exception": str(e)}
        if r.get("ok") is True:
            break
        if time.monotonic() > end:
            die("a client after one left: status answered %r" % r)
        time.sleep(0.05)
    print("after one left, a new client is served")


def main():
    if len(sys.argv) >= 6 and sys.argv[1] == "latency":
        latency(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
                float(sys.argv[5]))
    elif len(sys.argv) == 3 and sys.argv[1] == "garbage":
        garbage(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "maxclients":
        maxclients(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
