"""The model card's data path with the card's recovery behaviour (issue 14).

Why: the daemon's recovery loop needs a card that loses, holds, is injected into and
takes snapshots, on one machine and without the gateware (whose host injection
port does not exist yet). This composes the reference DeviceModel with what the
card is specified to do around its MoldUDP64 stage:
- a packet of the session whose first sequence number S is ahead of the expected E
  opens a gap E..S-1: every subscribed book is stale, a gap event (first, count)
  is queued for the daemon, and that packet and every later live one wait in a
  hold buffer (`hold_packets`);
- packets that cover the gap (the other feed's late copies, or host injections)
  go straight to the arbiter; once E passes the gap the held packets are released
  in sequence and the books are exact again (no gap left: not stale);
- a full hold buffer drops the packet (hold_overflow) and asks for a snapshot;
- load_snapshot(messages, N) empties the books, applies the snapshot with sequence
  number N-1, sets E = N and releases what is held (packets below N are dropped as
  duplicates). A late join holds every live packet until the first load.
Thread-safe: one lock around every entry point.
"""
import heapq
import itertools
import queue
import threading

from tickwire.model import book as book_model
from tickwire.model import mold
from tickwire.model.device import DeviceModel
from tickwire.rtl.config import BUILDS

INJECT_FEED = 0


class FeedCard:
    def __init__(self, subscriptions, hold_packets=4096, join=False, cfg=BUILDS["sim"]):
        self.subs = dict(subscriptions)
        self.dev = DeviceModel(subscriptions=self.subs, top_n=cfg.top_n,
                               risk_slots=cfg.risk_slots)
        self.arb = arb = self.dev.arbiter
        self._inner = arb.receive       # the hook is on the arbiter object itself
        arb.receive = lambda payload, feed, *a, **k: self._receive(arb, bytes(payload), feed)
        self.top_n = cfg.top_n
        self.hold_packets = hold_packets
        self.lock = threading.RLock()
        self.held = []                  # heap of (seq, arrival, payload, feed) behind a gap
        self._arrival = itertools.count()
        self.gap = None                 # (first, end) while a gap is open
        self.joining = join
        self.events = queue.Queue()     # gap events for the daemon: (first, count)
        self.snapshot_wanted = False
        #: why (the manager's audit entry): this card's only cause
        self.snapshot_reason = "hold buffer overflow"
        self.counts = dict(gaps=0, filled_by_other_feed=0, injected_messages=0,
                           hold_overflow=0, snapshot_loads=0)
        self._injected_in_gap = 0

    # ---------------------------------------------------------------- inputs
    def frame(self, port, data):
        """A live frame on port "a" or "b"."""
        with self.lock:
            self.dev.frame(port, data)
            self._drain()

    def inject(self, first, messages):
        """Host injection: messages first.. in sequence (retransmissions)."""
        with self.lock:
            self.counts["injected_messages"] += len(messages)
            self._injected_in_gap += len(messages)
            sess = self.arb.session or b"          "
            for k in range(0, len(messages), 64):
                self.dev.packet(INJECT_FEED, mold.packet(sess, first + k, messages[k:k + 64]))
            self._drain()

    def load_snapshot(self, messages, next_seq):
        with self.lock:
            self.dev.book = book_model.BookModel(self.subs, top_n=self.top_n)
            for m in messages:
                self.dev.message(m, next_seq - 1, INJECT_FEED, {"sec": 0, "ns": 0})
            if not self.arb.have_session and self.held:
                self.arb.have_session, self.arb.session = True, self.held[0][2][:10]
            self.arb.expected = next_seq
            if hasattr(self.arb, "have_e"):          # a sequencer model: E is now known
                self.arb.have_e = True
                self.arb._clear_start()              # (what it held before is judged now)
                self.dev._apply(self.arb._drain())
            self.gap, self.joining, self.snapshot_wanted = None, False, False
            self.counts["snapshot_loads"] += 1
            while not self.events.empty():        # the snapshot answers every open gap
                self.events.get_nowait()
            self._drain()

    # ---------------------------------------------------------------- subscriptions
    def subscribe(self, locate, slot):
        with self.lock:
            for loc in [k for k, v in self.subs.items() if v == slot]:
                self.unsubscribe(loc)
            self.subs[locate] = slot
            self.dev.book.subscribe(locate, slot)
            self.dev.book.books.pop(locate, None)        # MAP clears the slot's book

    def unsubscribe(self, locate):
        with self.lock:
            self.subs.pop(locate, None)
            self.dev.book.unsubscribe(locate)
            self.dev.book.books.pop(locate, None)

    def bbo(self, slot):
        """(bid_px, bid_qty, bid_orders, ask_px, ask_qty, ask_orders, flags) of a slot;
        flags bit 0 (unreliable: may be wrong) while the books are stale, bit 1 halted."""
        with self.lock:
            loc = next((k for k, v in self.subs.items() if v == slot), None)
            b = self.dev.book.books.get(loc) if loc is not None else None
            vals = b.bbo() if b is not None else (0,) * 6
            return vals + (int(self.stale) | (2 if b is not None and b.halted else 0),)

    # ---------------------------------------------------------------- state
    def missing(self, first, count):
        """(first, count) of the part of a gap still missing, or None when filled."""
        with self.lock:
            if self.gap is None:
                return None
            lo = max(first, self.arb.expected)
            hi = min(first + count, self.gap[1])
            return (lo, hi - lo) if hi > lo else None

    @property
    def stale(self):
        return self.gap is not None or self.joining or self.snapshot_wanted

    def stale_locates(self):
        return sorted(self.subs) if self.stale else []

    def books(self):
        """locate -> (bids, asks) as [(price, shares, orders)] best first."""
        with self.lock:
            return {loc: tuple(self.dev.book.top(loc, side, 1 << 30) for side in (0, 1))
                    for loc in self.subs}

    # ---------------------------------------------------------------- internals
    def _receive(self, arb, payload, feed):
        if len(payload) < mold.HEADER_BYTES:
            return self._inner(payload, feed)
        seq = int.from_bytes(payload[10:18], "big")
        if self.joining:
            return self._hold(seq, payload, feed)
        if not getattr(arb, "have_e", True):    # the session's start is not confirmed yet:
            return self._inner(payload, feed)   # no E, so no gap (the arbiter holds)
        if self.gap is not None and seq > arb.expected:
            return self._hold(seq, payload, feed)
        if arb.have_session and payload[:10] == arb.session and seq > arb.expected \
                and self.gap is None:
            self.gap = (arb.expected, seq)
            self._injected_in_gap = 0
            self.counts["gaps"] += 1
            self.events.put((arb.expected, seq - arb.expected))
            return self._hold(seq, payload, feed)
        return self._inner(payload, feed)

    def _hold(self, seq, payload, feed):
        if len(self.held) >= self.hold_packets:
            self.counts["hold_overflow"] += 1
            self.snapshot_wanted = True
            return []
        heapq.heappush(self.held, (seq, next(self._arrival), payload, feed))
        return []

    def _drain(self):
        """Close a filled gap and release held packets in sequence."""
        while True:
            if self.gap is not None and self.arb.expected >= self.gap[1]:
                if not self._injected_in_gap:
                    self.counts["filled_by_other_feed"] += 1
                self.gap = None
            if self.gap is not None or self.joining or not self.held:
                return
            _seq, _n, payload, feed = heapq.heappop(self.held)
            self.dev.packet(feed, payload)
