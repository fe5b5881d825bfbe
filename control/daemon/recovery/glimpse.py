"""GLIMPSE 5.0 client over SoupBinTCP 4.0: take a snapshot and the sequence number
to resume the live feed from.

Why: a late join, or a gap the request server cannot fill, is recovered by loading
the books from a snapshot. Login uses credentials from a file only the daemon's
user can read (credentials.py refuses anything else); a client heartbeat goes out
every second of our silence while the snapshot streams; a server silent for 15 s
is given up. The snapshot is every Sequenced Data message up to End of Snapshot,
which names the next sequence number to apply. Then we log out.
"""
import socket
import time

from tickwire.tools.exchange import soup
from tickwire.tools.exchange.snapshot import parse_end_of_snapshot

from .credentials import read_credentials


class LoginRejected(Exception):
    pass


class GlimpseClient:
    def __init__(self, server, credentials_path, session="", timeout_s=soup.TIMEOUT_S,
                 heartbeat_s=soup.HEARTBEAT_S, max_messages=20_000_000):
        self.server, self.credentials_path, self.session = server, credentials_path, session
        self.max_messages = max_messages      # a runaway snapshot is an error, not OOM
        self.timeout_s, self.heartbeat_s = timeout_s, heartbeat_s
        self.heartbeats_sent = self.heartbeats_seen = 0

    def snapshot(self):
        """(messages, next_seq): the snapshot body (End of Snapshot excluded)."""
        user, password = read_credentials(self.credentials_path)   # refused before dialling
        with socket.create_connection(self.server, timeout=self.timeout_s) as s:
            s.sendall(soup.login_request(user, password, self.session, 0))
            r = soup.Reader(s)
            pkt = r.read()
            if pkt is None:
                raise ConnectionError("GLIMPSE server closed the connection at login")
            if pkt[0] == b"J":
                raise LoginRejected(f"GLIMPSE login rejected ({pkt[1].decode(errors='replace')})")
            if pkt[0] != b"A":
                raise ConnectionError(f"GLIMPSE: expected Login Accepted, got {pkt[0]!r}")
            msgs, sent, heard = [], time.monotonic(), time.monotonic()
            s.settimeout(self.heartbeat_s / 2)
            while True:
                try:
                    pkt = r.read()
                except (socket.timeout, TimeoutError):
                    pkt = False
                now = time.monotonic()
                if now - sent >= self.heartbeat_s:
                    s.sendall(soup.packet(b"R"))
                    self.heartbeats_sent += 1
                    sent = now
                if pkt is False:
                    if now - heard > self.timeout_s:
                        raise TimeoutError("GLIMPSE server silent: snapshot abandoned")
                    continue
                if pkt is None:
                    raise ConnectionError("GLIMPSE server closed before End of Snapshot")
                heard = now
                ptype, payload = pkt
                if ptype == b"H":
                    self.heartbeats_seen += 1
                elif ptype == b"Z":
                    raise ConnectionError("GLIMPSE end of session before End of Snapshot")
                elif ptype == b"S":
                    nxt = parse_end_of_snapshot(payload)
                    if nxt is not None:
                        try:
                            s.sendall(soup.packet(b"O"))
                        except OSError:
                            pass
                        return msgs, nxt
                    if len(msgs) >= self.max_messages:
                        raise ValueError(f"GLIMPSE snapshot over {self.max_messages} "
                                         f"messages without End of Snapshot: abandoned")
                    msgs.append(bytes(payload))
