"""The recovery manager's card interface over the register bus: a real or simulated
card's host injection window (rtl/rx/inject/, docs/registers.md `inject.*`), so
`serve --rerequest/--glimpse` works on every transport (sim socket, PCIe, UART).

Why it polls: the card reports gaps in registers (a counter and the latest range),
not interrupts; the manager's loop asks `events.empty()` often, and each call reads
one counter. The card waits for the host on a gap (`inject.gap_wait` = 1, written at
start), so live packets after it stay held and are applied after the fill. One
injected message waits at a time on the card: each commit is followed by a read of
`inject.state` until BUSY is clear (a fill starts at the card's expected number, so
it is normally taken at once).
Interface (the same as feedcard.FeedCard's): events, missing, inject, load_snapshot,
stale_locates, snapshot_wanted, snapshot_reason.
"""
import threading
import time

from tickwire.control.regmap import REGS
from tickwire.rtl.rx.inject import regs as inject_regs

_B = inject_regs.BLOCK
FIRST = 1 << _B.reg("commit").field("FIRST").offset
SNAPSHOT = 1 << _B.reg("commit").field("SNAPSHOT").offset
JOIN, SKIP, CLEAR_STALE = (1 << _B.reg("cmd").field(n).offset
                           for n in ("JOIN", "SKIP", "CLEAR_STALE"))
STATE = {f.name: 1 << f.offset for f in _B.reg("state").fields}
BUSY_TIMEOUT_S = 2.0
#: What raises SNAPSHOT_NEEDED (rtl/rx/inject/window.py), each with the counter that
#: counts it: the audit trail names the cause, not just "the card asked".
SNAPSHOT_CAUSES = (
    ("inject.stale_overflows", "live messages lost to a full hold buffer while stale"),
    ("mold.bad_forwarded", "frames found bad after their messages went to the books"),
    ("book.fifo_overflow", "messages the book's input queue dropped"),
)
SUB_MAP = 1          # book.sub_cmd MAP (clears the slot's book)


class _Events:
    """queue.Queue's empty/get_nowait over the card's gap reports."""

    def __init__(self, card):
        self.card, self.seen, self.pending = card, None, []

    def empty(self):
        n = self.card.h.read("inject.gaps")
        if self.seen is None:
            self.seen = n
        if n != self.seen:
            self.seen = n
            self.pending.append((self.card.h.read("inject.gap_first"),
                                 self.card.h.read("inject.gap_count")))
        return not self.pending

    def get_nowait(self):
        return self.pending.pop(0)


class RegisterCard:
    def __init__(self, handle, subscriptions):
        self.h, self.subs = handle, dict(subscriptions)
        self.lock = threading.RLock()
        self.events = _Events(self)
        self.h.write("inject.gap_wait", 1)
        self._cause_base = self._causes()

    def _causes(self):
        return {name: self.h.read(name) for name, _ in SNAPSHOT_CAUSES}

    def _state(self):
        return self.h.read("inject.state")

    @property
    def snapshot_wanted(self):
        return bool(self._state() & STATE["SNAPSHOT_NEEDED"])

    @property
    def snapshot_reason(self):
        """Why the card wants a snapshot: the causes whose counters moved since the last
        snapshot load (or the start), e.g. "messages the book's input queue dropped: 462
        (book.fifo_overflow)"."""
        now = self._causes()
        moved = [f"{text}: {now[name] - self._cause_base.get(name, 0)} ({name})"
                 for name, text in SNAPSHOT_CAUSES if now[name] > self._cause_base.get(name, 0)]
        return "; ".join(moved) or "the card asked (inject.state.SNAPSHOT_NEEDED)"

    def stale_locates(self):
        return sorted(self.subs) if self._state() & STATE["STALE"] else []

    def missing(self, first, count):
        """The part of [first, first+count) the card has not delivered, or None."""
        e = self.h.read("mold.expected_seq")
        lo, hi = max(first, e), first + count
        if hi <= lo:
            self._maybe_clear()
            return None
        return lo, hi - lo

    def _maybe_clear(self):
        st = self._state()
        if st & STATE["STALE"] and not st & (STATE["WAITING"] | STATE["SNAPSHOT_NEEDED"]):
            self.h.write("inject.cmd", CLEAR_STALE)

    def _message(self, msg, flags):
        w = self.h.write
        for k in range(0, len(msg), 4):
            w("inject.data", int.from_bytes(msg[k:k + 4], "little"))
        w("inject.commit", len(msg) | flags)
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while self._state() & STATE["BUSY"]:
            if time.monotonic() > deadline:
                raise TimeoutError("injected message not taken (sequence number ahead of "
                                   "the card's expected one)")
            time.sleep(0.0005)

    def _seq(self, seq):
        self.h.write("inject.seq_hi", seq >> 32)
        self.h.write("inject.seq_lo", seq & 0xFFFFFFFF)

    def inject(self, first, messages):
        """Retransmitted messages first.. in sequence, as 64-message packets."""
        with self.lock:
            self._seq(first)
            for i, m in enumerate(messages):
                self._message(m, FIRST if i % 64 == 0 else 0)
            self._maybe_clear()

    def load_snapshot(self, messages, next_seq):
        """Empty the subscribed books (MAP again), apply the snapshot with sequence
        number next_seq-1, resume at next_seq (held live messages below it are
        duplicates), and clear the stale state."""
        with self.lock:
            for locate, slot in sorted(self.subs.items(), key=lambda kv: kv[1]):
                self.h.subscribe(locate, slot)
            self._seq(next_seq - 1)
            for m in messages:
                self._message(m, SNAPSHOT)
            self._seq(next_seq)
            self.h.write("inject.cmd", JOIN)
            self.h.write("inject.cmd", CLEAR_STALE)
            self._cause_base = self._causes()
