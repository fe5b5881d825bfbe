"""Replay-side recovery for the model engine: gap fills and a late join by snapshot.

Why: `tickwire replay --recover-from FULL.itch` and `--join-at N --snapshot-from
FULL.itch` state what the card must do with a host that answers its gaps and loads
its books; the model engine shows that contract on any capture. This hooks the
DeviceModel's MoldUDP64 arbiter object (the stage that owns the expected sequence
number E), in one of two ways depending on the model:

- a sequencer model (a hold buffer that declares a gap itself, `_gap`/`_deliver`):
  when it declares a gap E..S-1, the source's messages for it are delivered first,
  in sequence, and only what the source lacks stays a gap. This uses the model's
  own gap decision (its hold window: the other feed had its chance).
- a first-copy-wins arbiter (no gap decision of its own): a packet of the session
  whose first sequence number S is ahead of E would make it skip E..S-1, so the
  gap is detected here from sequence numbers and the source's messages are handed
  to it as injected packets before that packet.
Either way the fill is applied before anything past the gap, as the card's hold
buffer would, from packets of at most `max_count` messages (a request server's
answer; feed bit 0). With a source the session is taken to start at 1, so lost
first packets are a gap too.
Join: packets wholly below N never reach the arbiter; before the first packet that
reaches N the arbiter is set to the capture's session with E = N and the snapshot's
messages are delivered with sequence number N-1 (so the BBO rows the load causes
carry N-1).
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
        self.sequencer = False

    @property
    def stale(self):
        return bool(self.unfilled)

    def install(self, dev):
        """Wrap methods of the arbiter object itself (instance attributes), so every
        holder of it, e.g. a merge stage in front, goes through the hooks."""
        arb = dev.arbiter
        self.sequencer = hasattr(arb, "_gap") and hasattr(arb, "_deliver")
        if self.sequencer:
            self._hook_sequencer(arb)
        inner = arb.receive
        arb.receive = lambda payload, *a, **k: self.receive(arb, bytes(payload), inner, a, k)
        return self

    # ------------------------------------------------------------ packets
    def receive(self, arb, payload, inner, a, k):
        if len(payload) < mold.HEADER_BYTES:
            return inner(payload, *a, **k)
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
            self._start(arb, sess, self.join_at)
            out += [mold.Delivered(self.join_at - 1, INJECT_FEED, m) for m in self.snapshot]
            self.stats["snapshot_messages"] += len(self.snapshot)
        elif self.source is not None and not arb.have_session:
            self._start(arb, sess, 1)        # a session starts at 1
        if not self.sequencer and arb.have_session and sess == arb.session \
                and seq > arb.expected:
            out += self._inject(arb, inner, sess, arb.expected, seq, a, k)
        before = arb.counters["gaps"]
        out += inner(payload, *a, **k)
        if not self.sequencer and arb.counters["gaps"] > before:
            self._unfilled(arb.last_gap_first, arb.last_gap_len)
        return out

    @staticmethod
    def _start(arb, sess, first):
        arb.have_session, arb.session, arb.expected = True, sess, first
        if hasattr(arb, "have_e"):
            arb.have_e = True

    def _messages(self, first, end):
        if self.source is None:
            return []
        msgs = self.source[first - 1:end - 1]
        if msgs:
            self.stats["gaps_recovered"] += len(msgs) == end - first
            self.stats["messages_recovered"] += len(msgs)
        return msgs

    def _unfilled(self, first, n):
        self.unfilled.append((first, n))
        self.stats["gaps_unfilled"] += 1
        self.stats["messages_unfilled"] += n

    # ------------------------------------------------------------ first-copy-wins arbiter
    def _inject(self, arb, inner, sess, first, end, a, k):
        msgs, out = self._messages(first, end), []
        for i in range(0, len(msgs), self.max_count):
            out += inner(mold.packet(sess, first + i, msgs[i:i + self.max_count]),
                         INJECT_FEED, *a[1:], **k)
        return out

    # ------------------------------------------------------------ sequencer model
    def _hook_sequencer(self, arb):
        """Fill at the sequencer's own gap decision. The fill's Delivered are spliced
        into what the outermost receive/advance call returns, at the point of the
        gap (counted by _deliver calls), so they come out in sequence."""
        gap, deliver = arb._gap, arb._deliver
        st = {"n": 0, "depth": 0, "splices": []}

        def counted_deliver(*a, **k):
            st["n"] += 1
            return deliver(*a, **k)

        def filling_gap(new_e, *a, **k):
            first = arb.expected
            msgs = self._messages(first, new_e)
            if msgs:
                st["splices"].append((st["n"], [mold.Delivered(first + i, INJECT_FEED, m)
                                                for i, m in enumerate(msgs)]))
                arb.expected = first + len(msgs)
                arb.counters["messages"] += len(msgs)
            if arb.expected < new_e:
                self._unfilled(arb.expected, new_e - arb.expected)
                return gap(new_e, *a, **k)
            if hasattr(arb, "stall_t"):               # what _gap does besides counting
                arb.stall_t, arb.stall_pkts = None, 0
            return None

        def splicing(fn):
            def call(*a, **k):
                if st["depth"] == 0:
                    st["splices"], n0 = [], st["n"]
                st["depth"] += 1
                try:
                    out = fn(*a, **k)
                finally:
                    st["depth"] -= 1
                if st["depth"] or not st["splices"]:
                    return out
                res, pos = [], 0
                for idx, ds in st["splices"]:
                    res += out[pos:idx - n0] + ds
                    pos = idx - n0
                st["splices"] = []
                return res + out[pos:]
            return call

        arb._deliver, arb._gap = counted_deliver, filling_gap
        arb.receive = splicing(arb.receive)
        if hasattr(arb, "advance"):
            arb.advance = splicing(arb.advance)
