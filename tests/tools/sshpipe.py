#!/usr/bin/env python3
"""sshpipe HOST USER N: a password guesser that sends N guesses at once.

After the key exchange it asks for the ssh-userauth service and sends N
password requests back to back without waiting for answers; sshd takes
queued requests in turn, each answered after PAM's failure delay. Prints
when each answer came (seconds after the guesses were sent). Needs
Debian's python3-paramiko (the transport only: no client logic of its).
"""
import socket
import sys
import time

import paramiko
from paramiko.common import (MSG_SERVICE_ACCEPT, MSG_USERAUTH_BANNER,
                             MSG_USERAUTH_FAILURE, cMSG_SERVICE_REQUEST,
                             cMSG_USERAUTH_REQUEST)
from paramiko.message import Message


class Answers:
    """Takes the auth messages in place of paramiko's handler, so that
    nothing is sent back (an unknown message would be answered with
    SSH_MSG_UNIMPLEMENTED: client data between the answers)."""
    times = []

    def _got(self, msg):
        Answers.times.append(time.time())

    def abort(self):
        pass

    _handler_table = {MSG_SERVICE_ACCEPT: _got, MSG_USERAUTH_FAILURE: _got,
                      MSG_USERAUTH_BANNER: _got}


def main():
    host, user, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    t = paramiko.Transport(socket.create_connection((host, 22), timeout=10))
    t.start_client(timeout=10)
    t.auth_handler = Answers()
    m = Message()
    m.add_byte(cMSG_SERVICE_REQUEST)
    m.add_string("ssh-userauth")
    t._send_message(m)
    deadline = time.time() + 5
    while not Answers.times and time.time() < deadline:
        time.sleep(0.05)
    t0 = time.time()
    for i in range(n):
        m = Message()
        m.add_byte(cMSG_USERAUTH_REQUEST)
        m.add_string(user)
        m.add_string("ssh-connection")
        m.add_string("password")
        m.add_boolean(False)
        m.add_string("wrong-%d" % i)
        t._send_message(m)
    deadline = time.time() + 30
    while (len(Answers.times) < n + 1 and time.time() < deadline and
           t.is_active()):
        time.sleep(0.05)
    print("answers after", " ".join("%.2f" % (a - t0)
                                    for a in Answers.times[1:]))
    t.close()


if __name__ == "__main__":
    main()
