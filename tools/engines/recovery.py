"""Replay-side recovery for the model engine: gap fills and a late join by snapshot.

Why: `tickwire replay --recover-from FULL.itch` and `--join-at N --snapshot-from
FULL.itch` state what the card must do with a host that answers its gaps and loads
its books; the model engine shows that contract on any capture. This wraps the
DeviceModel's MoldUDP64 arbiter (the stage that owns the expected sequence number):

- gap: a packet of the session whose first sequence number S is ahead of the
  expected E would make the arbiter skip E..S-1. The hook first asks the source for
  those messages (as a MoldUDP64 request server would answer them) and hands them
  to the arbiter as injected packets (feed bit 0, `max_count` messages each), so
  they are applied in sequence before the packet that revealed the gap, as the
  card's hold buffer would. Messages the source lacks stay a gap. With a source,
  the session is taken to start at 1, so lost first packets are a gap too.
  The gap is detected here from sequence numbers against the arbiter's expected
  number (the model's MoldUDP64 stage has no gap-event output yet).
- join: packets wholly below N never reach the arbiter; before the first packet
  that reaches N the arbiter is set to the capture's session with E = N and the
  snapshot's messages are delivered with sequence number N-1 (so the BBO rows the
  load causes carry N-1).
A book is stale when any gap stayed unfilled: the card cannot tell which books the
lost messages touched, so every subscribed book is.
"""
from tickwire.model import mold

INJECT_FEED = 0
MAX_COUNT = 64          # messages per injected packet (a request server's answer size)


class Recovery:
    """source: list of the complete session's messages (seq 1 = index 0) or None.
    join_at: N or None; snapshot: the snapshot messages (End of Snapshot excluded)."""

    def __init__(self, source=None, join_at=None, snapshot=None, max_count=MAX_COUNT):
        self.source, self.join_at, self.snapshot = source, join_at, snapshot or []
        self.max_count = max_count
        self.joined = join_at is None
        self.stats = {"gaps_recovered": 0, "messages_recovered": 0, "gaps_unfilled": 0,
                      "messages_unfilled": 0, "join_ignored_packets": 0,
                      "snapshot_messages": 0}
        self.unfilled = []       # (first, count) of gaps left open

    def install(self, dev):
        """Wrap the arbiter object's receive (an instance attribute, so every holder of
        the arbiter, e.g. a merge stage in front of it, goes through the hook)."""
        arb = dev.arbiter
        inner = arb.receive
        arb.receive = lambda payload, feed: self.receive(arb, bytes(payload), feed, inner)
        return self

    @property
    def stale(self):
        return bool(self.unfilled)

    def receive(self, arb, payload, feed, inner):
        if len(payload) < mold.HEADER_BYTES:
            return inner(payload, feed)
        sess = payload[:10]
        seq = int.from_bytes(payload[10:18], "big")
        count = int.from_bytes(payload[18:20], "big")
        out = []
        if not self.joined:
            n = 0 if count in (mold.HEARTBEAT, mold.END_OF_SESSION) else count
            if seq + n <= self.join_at and not (n == 0 and seq >= self.join_at):
                self.stats["join_ignored_packets"] += 1
                return []
            self.joined = True
            arb.have_session, arb.session, arb.expected = True, sess, self.join_at
            out += [mold.Delivered(self.join_at - 1, INJECT_FEED, m) for m in self.snapshot]
            self.stats["snapshot_messages"] += len(self.snapshot)
        elif self.source is not None and not arb.have_session:
            # a session starts at 1: a capture whose first packets were lost on both
            # feeds starts with a gap, not with a later session
            arb.have_session, arb.session, arb.expected = True, sess, 1
        if arb.have_session and sess == arb.session and seq > arb.expected:
            out += self._fill(arb, inner, sess, arb.expected, seq)
        before = arb.counters["gaps"]
        out += inner(payload, feed)
        if arb.counters["gaps"] > before:
            first, n = arb.last_gap_first, arb.last_gap_len
            self.unfilled.append((first, n))
            self.stats["gaps_unfilled"] += 1
            self.stats["messages_unfilled"] += n
        return out

    def _fill(self, arb, inner, sess, first, end):
        if self.source is None:
            return []
        msgs = self.source[first - 1:end - 1]
        out = []
        for k in range(0, len(msgs), self.max_count):
            out += inner(mold.packet(sess, first + k, msgs[k:k + self.max_count]), INJECT_FEED)
        if msgs:
            self.stats["gaps_recovered"] += len(msgs) == end - first
            self.stats["messages_recovered"] += len(msgs)
        return out
