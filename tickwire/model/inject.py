"""The card's host injection path and recovery state, in Python (rtl/rx/inject/ and
the sequencer's third source, rtl/rx/merge/sequencer.py; docs/recovery.md).

`HostArbiter` is the MoldUDP64 Arbiter plus what the gateware adds for the host:
- `inject(seq, msg, first)`: a message with the live feeds' rules: below E or a
  copy already delivered is a duplicate (`inject.dup_messages`), seq == E is
  delivered and releases what it unblocks, seq > E waits for E to reach it (the
  gateware keeps one waiting message; this model keeps them in order);
- `snapshot(msg, seq)`: delivered at once, unsequenced (E untouched);
- `join(n)`: E = n; live messages below n are duplicates;
- `gap_wait`: an expired hold window reports the gap (`reports`, the stale flag) and
  waits for the host instead of declaring it; `skip()` declares it;
- `clear_stale()`; `snapshot_needed`: a hold buffer overflowed while stale.
With `gap_wait` False and nothing injected it is the Arbiter exactly.
"""
from dataclasses import dataclass, field

from . import mold

INJECT_FEED = 0
INJECT_COUNTERS = ("gaps", "messages", "dup_messages", "overruns", "stale_overflows")


def _host(action):
    """A host action (inject, JOIN, SKIP) runs between cycles: what it releases goes out
    at once (mold.INSTANT), not as time passes."""
    def run(self, *args, **kwargs):
        self.host_action = True
        try:
            return action(self, *args, **kwargs)
        finally:
            self.host_action = False
    run.__name__, run.__doc__ = action.__name__, action.__doc__
    return run


#: Cycles from a gap (the cycle E jumps) until an overflow counts as one while stale:
#: the gap report is registered, then the window's stale flag (FST trace of the RTL).
STALE_LAG = 1


@dataclass
class HostArbiter(mold.Arbiter):
    gap_wait: bool = False
    stale: bool = False
    snapshot_needed: bool = False
    inject_counters: dict = field(default_factory=lambda: dict.fromkeys(INJECT_COUNTERS, 0))
    reports: list = field(default_factory=list)          # (first, count) to the host

    def __post_init__(self):
        super().__post_init__()
        self.pending = []               # injected messages ahead of E, in order
        self.reported = False
        self.skipping = False
        self.host_action = False
        self.stale_from = 0             # overflows count as stale from this cycle

    # ------------------------------------------------------------ host side
    @_host
    def inject(self, seq, msg, first=True):
        """One injected message; returns the Delivered it releases."""
        if not self.have_e or seq > self.expected:
            self.pending.append((seq, bytes(msg), first))
            self.pending.sort(key=lambda p: p[0])
            return []
        return self._offer_injected(seq, bytes(msg))

    def snapshot(self, msg, seq):
        self.inject_counters["messages"] += 1
        self.counters["messages"] += 1
        return [mold.Delivered(seq, INJECT_FEED, bytes(msg))]

    @_host
    def join(self, n):
        self.have_e, self.expected, self.claim = True, n, None
        self._clear_start()             # a start being confirmed is forgotten
        self.reported = self.skipping = False
        return self._drain()

    @_host
    def skip(self):
        """Give up the gap being waited on: declare it and move on."""
        if not self.reported:
            return []
        self.skipping = True
        return self._expire()

    def clear_stale(self):
        self.stale = self.snapshot_needed = False

    # ------------------------------------------------------------ sequencer hooks
    def _offer_injected(self, seq, msg):
        if seq < self.expected:
            self.inject_counters["dup_messages"] += 1
            return []
        self.inject_counters["messages"] += 1
        return [self._deliver(INJECT_FEED, seq, msg, held=True)] + self._drain()

    def _drain(self, limit=None):
        if limit is None and self.host_action:
            limit = mold.INSTANT
        out = super()._drain(limit)
        while self.pending and self.have_e and self.pending[0][0] <= self.expected:
            seq, msg, _first = self.pending.pop(0)
            out += self._offer_injected(seq, msg)
        return out

    def _deliver(self, feed, seq, msg, held=False):
        self.reported = False
        return super()._deliver(feed, seq, msg, held)

    def bad_frame(self, first_seq):
        """A book may hold a corrupted message: stale, and only a snapshot repairs it."""
        super().bad_frame(first_seq)
        self.stale = self.snapshot_needed = True

    def _report(self, first, count):
        self.reports.append((first, count))
        self.inject_counters["gaps"] += 1
        if not self.stale:      # the gap report's register, then the stale flag's
            self.stale_from = (self.now + STALE_LAG if self._timed and not self.host_action
                               else 0)
        self.stale = True

    def _expire(self):
        heads = [h[0].seq for h in self.hold if h and h[0].seq > self.expected]
        if self.gap_wait and not self.skipping:
            if not self.reported:
                self.reported = True
                self._report(self.expected, min(heads) - self.expected)
            self.stall_t, self.stall_pkts, self.both_pkts = None, 0, 0    # waits for the host
            return []
        self.skipping = False
        if not self.reported:
            self._report(self.expected, min(heads) - self.expected)
        self.reported = False
        return super()._expire()

    def _gap(self, new_e, timeout):
        if not timeout:                                  # a confirmed jump
            self._report(self.expected, new_e - self.expected)
        return super()._gap(new_e, timeout)

    def _hold(self, feed, seq, msg, first):
        if self.stale and self.now >= self.stale_from and self._full(feed):
            self.inject_counters["stale_overflows"] += 1
            self.snapshot_needed = True
        return super()._hold(feed, seq, msg, first)
