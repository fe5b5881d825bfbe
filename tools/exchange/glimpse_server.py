"""GLIMPSE 5.0 server over SoupBinTCP 4.0: the snapshot of a recorded ITCH session.

Why: a late join, or a gap nobody can fill, is recovered from a snapshot; this is
the exchange side of that on loopback. A client logs in (username/password checked
against `users`; a wrong one gets Login Rejected 'A', a session other than ours
'S'), gets Login Accepted, then the snapshot as Sequenced Data packets, one ITCH
message each: stock directory, trading states, every resting order as an Add
Order, then End of Snapshot naming the next sequence number to apply. After that the
server heartbeats every second until the client logs out or goes quiet for 15 s.

`position` is how far the live session has gone (messages published): an int or a
callable read at each login, so a snapshot taken during live traffic is exact as
of that instant.

    python -m tickwire.tools.exchange.glimpse_server FULL.itch --users users.txt
"""
import argparse
import socket
import sys
import threading
import time

from tickwire.tools.feeds import itch_file

from .serving import Serving

from . import soup
from .snapshot import LiveOrders, end_of_snapshot


class GlimpseServer(Serving):
    thread_name = "glimpse"

    def __init__(self, messages, users, position=None, session="TICKWIRE01",
                 host="127.0.0.1", port=0, heartbeat_s=soup.HEARTBEAT_S):
        self.messages = messages
        self.users = dict(users)
        self.position = position if position is not None else len(messages)
        self.session = session
        self.heartbeat_s = heartbeat_s
        self.book = LiveOrders()
        self._book_lock = threading.Lock()
        self.sock = socket.create_server((host, port))
        self.address = self.sock.getsockname()
        self.logins = []             # (user, accepted) for tests
        self._init_serving()

    def _loop(self):
        self._accept()

    def snapshot_now(self):
        """(snapshot messages with End of Snapshot, next seq) at the current position."""
        at = self.position() if callable(self.position) else self.position
        with self._book_lock:
            if at < self.book.applied:
                raise ValueError("position went backwards")
            for m in self.messages[self.book.applied:at]:
                self.book.apply(m)
            return self.book.messages() + [end_of_snapshot(at + 1)], at + 1

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn):
        with conn:
            conn.settimeout(soup.TIMEOUT_S)
            r = soup.Reader(conn)
            try:
                pkt = r.read()
                if pkt is None or pkt[0] != b"L":
                    return
                user, password, session, _seq = soup.parse_login(pkt[1])
                if self.users.get(user) != password or not user:
                    self.logins.append((user, False))
                    conn.sendall(soup.packet(b"J", b"A"))
                    return
                if session and session != self.session:
                    self.logins.append((user, False))
                    conn.sendall(soup.packet(b"J", b"S"))
                    return
                self.logins.append((user, True))
                msgs, _next = self.snapshot_now()
                conn.sendall(soup.login_accepted(self.session, 1))
                conn.sendall(b"".join(soup.packet(b"S", m) for m in msgs))
                self._heartbeat(conn, r)
            except (OSError, ValueError):
                return

    def _heartbeat(self, conn, reader):
        conn.settimeout(self.heartbeat_s / 2)
        heard = sent = time.monotonic()
        while not self._stop.is_set():
            try:
                pkt = reader.read()
                if pkt is None or pkt[0] == b"O":
                    return
                heard = time.monotonic()
            except (socket.timeout, TimeoutError):
                if time.monotonic() - heard > soup.TIMEOUT_S:
                    return
            if time.monotonic() - sent >= self.heartbeat_s:
                conn.sendall(soup.packet(b"H"))
                sent = time.monotonic()


def read_users(path):
    """user:password per line (test exchange only)."""
    out = {}
    for line in open(path):
        line = line.strip()
        if line and not line.startswith("#"):
            u, _, p = line.partition(":")
            out[u] = p
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tickwire.tools.exchange.glimpse_server")
    ap.add_argument("itch")
    ap.add_argument("--users", required=True, help="file of user:password lines")
    ap.add_argument("--at", type=int, help="snapshot after this many messages (default: all)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--session", default="TICKWIRE01")
    a = ap.parse_args(argv)
    srv = GlimpseServer(list(itch_file.read(a.itch)), read_users(a.users), a.at,
                        a.session, a.host, a.port).start()
    print(f"glimpse server tcp:{srv.address[0]}:{srv.address[1]}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
