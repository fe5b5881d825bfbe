"""MoldUDP64 reference model: packing and the A/B arbiter the gateware implements.

Packet = session (10 ASCII bytes) + sequence number of the first message (8, BE) +
message count (2, BE; 0 = heartbeat, 0xFFFF = end of session), then message blocks
(2-byte BE length + message). Written from the MoldUDP64 1.0 spec plus the tickwire
arbitration rules (docs in rtl/rx/mold/mold_rx.py), not from the gateware.
"""
from dataclasses import dataclass, field

HEADER_BYTES = 20
HEARTBEAT = 0
END_OF_SESSION = 0xFFFF
MIN_MSG = 12        # shortest ITCH 5.0 message (S, W): shorter blocks are malformed
MAX_KEPT = 50       # bytes of a message the gateware keeps (RawMsg.data)


def session_bytes(session):
    s = session.encode("ascii") if isinstance(session, str) else bytes(session)
    if len(s) > 10:
        raise ValueError("session is at most 10 bytes")
    return s.ljust(10, b" ")


def header(session, seq, count):
    return session_bytes(session) + seq.to_bytes(8, "big") + count.to_bytes(2, "big")


def packet(session, seq, messages):
    """One MoldUDP64 packet carrying `messages` (a list of bytes)."""
    body = b"".join(len(m).to_bytes(2, "big") + bytes(m) for m in messages)
    return header(session, seq, len(messages)) + body


def heartbeat(session, next_seq):
    return header(session, next_seq, HEARTBEAT)


def end_of_session(session, next_seq):
    return header(session, next_seq, END_OF_SESSION)


def pack(messages, session, first_seq, mtu=1500, msgs_per_packet=None):
    """Split messages into packets -> list of (first seq, payload bytes).

    `mtu` bounds the IPv4 datagram (20 IP + 8 UDP + payload); `msgs_per_packet`
    (if given) also caps the number of messages per packet."""
    limit = mtu - 28
    out, cur, size, seq = [], [], HEADER_BYTES, first_seq
    for m in messages:
        blk = 2 + len(m)
        if cur and (size + blk > limit or (msgs_per_packet and len(cur) >= msgs_per_packet)):
            out.append((seq, packet(session, seq, cur)))
            seq += len(cur)
            cur, size = [], HEADER_BYTES
        cur.append(bytes(m))
        size += blk
    if cur:
        out.append((seq, packet(session, seq, cur)))
    return out


COUNTERS = ("packets", "packets_a", "packets_b", "messages", "heartbeats", "end_of_session",
            "dup_packets", "dup_messages", "gaps", "gap_messages", "short_packets",
            "overruns", "bad_lengths", "session_mismatch")


@dataclass
class Delivered:
    seq: int
    feed: int
    msg: bytes          # the whole block (the gateware keeps the first MAX_KEPT bytes)


@dataclass
class Arbiter:
    """One expected sequence number E shared by feeds A (0) and B (1).

    - The first packet with a complete header establishes the session and sets E to
      its sequence number; packets of another session are dropped (session_mismatch).
    - Any packet (heartbeat and end-of-session included) whose sequence S > E reveals
      a gap: gaps += 1, gap_messages += S - E, last_gap_* recorded, E = S.
    - Messages are taken in order; a complete message with seq == E is delivered and
      E increments; seq < E is a duplicate. A packet with S + count <= E is a dup_packet.
    - A block length < 12 drops the rest of the packet (bad_lengths); a block running
      past the end of the packet is dropped (overruns). Messages before it stand.
    """
    have_session: bool = False
    session: bytes = b""
    expected: int = 0
    last_gap_first: int = 0
    last_gap_len: int = 0
    counters: dict = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))

    def reset(self):
        """The RESET command: forget the session and expected sequence number."""
        self.have_session, self.session, self.expected = False, b"", 0

    def receive(self, payload, feed):
        """Process one UDP payload from `feed`; returns the list of Delivered."""
        c, payload = self.counters, bytes(payload)
        c["packets"] += 1
        c["packets_b" if feed else "packets_a"] += 1
        if len(payload) < HEADER_BYTES:
            c["short_packets"] += 1
            return []
        sess = payload[:10]
        seq = int.from_bytes(payload[10:18], "big")
        count = int.from_bytes(payload[18:20], "big")
        if not self.have_session:
            self.have_session, self.session, self.expected = True, sess, seq
        elif sess != self.session:
            c["session_mismatch"] += 1
            return []
        elif seq > self.expected:
            c["gaps"] += 1
            c["gap_messages"] += seq - self.expected
            self.last_gap_first, self.last_gap_len = self.expected, seq - self.expected
            self.expected = seq
        if count == HEARTBEAT:
            c["heartbeats"] += 1
            return []
        if count == END_OF_SESSION:
            c["end_of_session"] += 1
            return []
        if seq + count <= self.expected:
            c["dup_packets"] += 1
        out, pos = [], HEADER_BYTES
        while pos < len(payload):
            if pos + 2 > len(payload):
                c["overruns"] += 1
                break
            n = int.from_bytes(payload[pos:pos + 2], "big")
            if n < MIN_MSG:
                c["bad_lengths"] += 1
                break
            if pos + 2 + n > len(payload):
                c["overruns"] += 1
                break
            msg = payload[pos + 2:pos + 2 + n]
            assert seq <= self.expected
            if seq == self.expected:
                out.append(Delivered(seq, feed, msg))
                self.expected += 1
                c["messages"] += 1
            else:
                c["dup_messages"] += 1
            seq += 1
            pos += 2 + n
        return out

    def status(self):
        """The mold status registers as the gateware should show them."""
        s = int.from_bytes(self.session, "big") if self.have_session else 0
        return {"expected_seq": self.expected, "session_lo": s & (2**64 - 1),
                "session_hi": (s >> 64) | (int(self.have_session) << 16),
                "last_gap_first": self.last_gap_first, "last_gap_len": self.last_gap_len}
