#!/usr/bin/env python3
"""Run a program in a pseudo-terminal and keep what a terminal shows.

Usage: ptyterm.py DIR COLS ROWS -- COMMAND [ARG...]

COMMAND runs on a pty of COLS x ROWS; what it writes goes through a
terminal emulator (pyte), so escape sequences move the cursor, clear and
redraw as on a real terminal. DIR/screen holds the screen as text, one
line per row (trailing blanks cut), replaced atomically after each
update; DIR/reverse the row numbers (from 0) that have reverse video at
their first column; DIR/raw what COMMAND wrote, as it wrote it. Bytes
written to the FIFO DIR/keys are typed into the terminal. When COMMAND
exits, DIR/exit gets its exit status (128+N for signal N). TERM is set
to xterm.
"""
import os
import select
import struct
import sys
import termios
import fcntl
import pty

import pyte
from pyte.screens import Margins


class Screen(pyte.Screen):
    """pyte with xterm's SU and SD (CSI n S, CSI n T): ncurses scrolls a
    region with them when a window's rows move, and pyte 0.8 lacks them."""

    def scroll_up(self, count=1, *args, **kwargs):
        top, bottom = self.margins or Margins(0, self.lines - 1)
        for _ in range(max(count, 1)):
            for y in range(top, bottom):
                self.buffer[y] = self.buffer[y + 1]
            self.buffer.pop(bottom, None)
        self.dirty.update(range(self.lines))

    def scroll_down(self, count=1, *args, **kwargs):
        top, bottom = self.margins or Margins(0, self.lines - 1)
        for _ in range(max(count, 1)):
            for y in range(bottom, top, -1):
                self.buffer[y] = self.buffer[y - 1]
            self.buffer.pop(top, None)
        self.dirty.update(range(self.lines))


class Stream(pyte.ByteStream):
    csi = dict(pyte.ByteStream.csi, S="scroll_up", T="scroll_down")


def save(d, screen):
    rows = [screen.display[i].rstrip() for i in range(screen.lines)]
    rev = [str(i) for i in range(screen.lines)
           if screen.buffer[i][0].reverse]
    for name, text in (("screen", "\n".join(rows) + "\n"),
                       ("reverse", "\n".join(rev) + "\n")):
        tmp = os.path.join(d, name + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, os.path.join(d, name))


def main():
    if len(sys.argv) < 6 or sys.argv[4] != "--":
        sys.exit(__doc__)
    d, cols, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    cmd = sys.argv[5:]
    keys = os.path.join(d, "keys")
    os.mkfifo(keys)
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ,
                    struct.pack("HHHH", rows, cols, 0, 0))
        os.environ["TERM"] = "xterm"
        os.execvp(cmd[0], cmd)
    # Read and write: the FIFO never reads as closed between writers.
    kfd = os.open(keys, os.O_RDWR | os.O_NONBLOCK)
    screen = Screen(cols, rows)
    stream = Stream(screen)
    save(d, screen)
    raw = open(os.path.join(d, "raw"), "wb")
    while True:
        ready, _, _ = select.select([fd, kfd], [], [])
        if kfd in ready:
            os.write(fd, os.read(kfd, 1024))
        if fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                break
            raw.write(data)
            raw.flush()
            stream.feed(data)
            save(d, screen)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    with open(os.path.join(d, "exit"), "w") as f:
        f.write("%d\n" % (code if code >= 0 else 128 - code))


if __name__ == "__main__":
    main()
