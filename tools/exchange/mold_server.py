"""MoldUDP64 request server: retransmissions of a recorded ITCH session over UDP.

Why: gap recovery is tested against a server that behaves like the exchange's
(and, on purpose, like a bad one). A request is the standard 20-byte packet:
session (10) + first sequence number (8) + message count (2), big-endian. The answer
goes unicast to the requester: MoldUDP64 downstream packets from that sequence
number, at most `max_count` messages each and within a 1500-byte MTU. Requests for
another session or beyond the recorded messages are answered with what exists
(nothing past the end).

Misbehaviour for tests (Behaviour): `drop` (ignore the first N requests, or a
probability), `late_s` (answer after a delay), `partial` (answer only the first K
messages of each request), `duplicate` (send every answer packet twice),
`reorder` (send an answer's packets last first).

    python -m tickwire.tools.exchange.mold_server FULL.itch --port 0 [--max-count 64]
"""
import argparse
import random
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass

from tickwire.tools.feeds import itch_file

from .serving import Serving

REQUEST = struct.Struct(">10sQH")
MTU_PAYLOAD = 1500 - 20 - 8


@dataclass
class Behaviour:
    drop_first: int = 0          # requests ignored before answering
    drop_prob: float = 0.0
    late_s: float = 0.0
    partial: int = 0             # answer at most this many messages per request (0: all)
    duplicate: bool = False
    reorder: bool = False
    seed: int = 0


def answer_packets(messages, session, first, count, max_count):
    """MoldUDP64 packets answering (first, count) from messages (seq 1 = index 0)."""
    out, seq = [], first
    end = min(first + count, len(messages) + 1)
    while seq < end:
        body, n, size = [], 0, 20
        while seq + n < end and n < max_count:
            m = messages[seq + n - 1]
            if size + 2 + len(m) > MTU_PAYLOAD:
                break
            body.append(struct.pack(">H", len(m)) + m)
            size += 2 + len(m)
            n += 1
        out.append(session + struct.pack(">QH", seq, n) + b"".join(body))
        seq += n
    return out


class MoldRequestServer(Serving):
    thread_name = "mold-server"

    """Serves `messages` (an ITCH session) on UDP host:port; start() then .address."""

    def __init__(self, messages, session="TICKWIRE01", host="127.0.0.1", port=0,
                 max_count=64, behaviour=None):
        self.messages = messages
        self.session = session.encode("ascii").ljust(10) if isinstance(session, str) else session
        self.max_count = max_count
        self.b = behaviour or Behaviour()
        self.rng = random.Random(self.b.seed)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.address = self.sock.getsockname()
        self.requests = []           # (first, count) as received, for tests
        self.answered = 0
        self._init_serving()

    def _loop(self):
        self._serve()

    def _serve(self):
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(2048)
            except (socket.timeout, OSError):
                continue
            if len(data) != REQUEST.size:
                continue
            session, first, count = REQUEST.unpack(data)
            self.requests.append((first, count))
            if session != self.session or count == 0:
                continue
            if len(self.requests) <= self.b.drop_first or self.rng.random() < self.b.drop_prob:
                continue
            if self.b.partial:
                count = min(count, self.b.partial)
            pkts = answer_packets(self.messages, self.session, first, count, self.max_count)
            if self.b.reorder:
                pkts.reverse()
            if self.b.duplicate:
                pkts = [p for p in pkts for _ in (0, 1)]
            if self.b.late_s:
                threading.Timer(self.b.late_s, self._send, (pkts, peer)).start()
            else:
                self._send(pkts, peer)

    def _send(self, pkts, peer):
        for p in pkts:
            try:
                self.sock.sendto(p, peer)
            except OSError:
                return
        self.answered += 1


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tickwire.tools.exchange.mold_server")
    ap.add_argument("itch")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--session", default="TICKWIRE01")
    ap.add_argument("--max-count", type=int, default=64)
    a = ap.parse_args(argv)
    srv = MoldRequestServer(list(itch_file.read(a.itch)), a.session, a.host, a.port,
                            a.max_count).start()
    print(f"mold request server udp:{srv.address[0]}:{srv.address[1]}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
