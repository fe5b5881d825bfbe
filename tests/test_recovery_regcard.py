"""The daemon's card-side injector over registers (control/daemon/recovery/regcard.py)
against a register file backed by the model of the injection window (DeviceModel
with HostArbiter): gap report -> event, fill through inject.data/commit, stale
cleared when the card is past the gap, snapshot load with JOIN."""
import random

from merge_chain import msgs, packets, schedule
from tickwire.control.daemon.recovery import regcard
from tickwire.model.device import DeviceModel


class ModelRegs:
    """CardHandle.read/write/subscribe for the inject.* and mold.expected_seq
    registers, applied to a DeviceModel the way the gateware applies them."""

    def __init__(self):
        self.dev = DeviceModel(risk_slots=8)
        self.dev.arbiter.hold_cycles = 60
        self.words, self.hi, self.next, self.subs = [], 0, 0, []
        #: counters the model has no cause for (book.fifo_overflow: a test sets them)
        self.counters = {name: 0 for name, _ in regcard.SNAPSHOT_CAUSES}

    def read(self, name):
        a, st = self.dev.arbiter, self.dev.recovery_state()
        if name in self.counters:
            return self.counters[name]
        return {"inject.gaps": a.inject_counters["gaps"], "inject.gap_first": st["gap_first"],
                "inject.gap_count": st["gap_count"], "mold.expected_seq": a.expected,
                "inject.state": st["WAITING"] << 1 | st["STALE"] << 2
                | st["SNAPSHOT_NEEDED"] << 3}[name]

    def write(self, name, v):
        a = self.dev.arbiter
        if name == "inject.gap_wait":
            a.gap_wait = bool(v)
        elif name == "inject.seq_hi":
            self.hi = v
        elif name == "inject.seq_lo":
            self.next = self.hi << 32 | v
        elif name == "inject.data":
            self.words.append(v)
        elif name == "inject.commit":
            msg = b"".join(w.to_bytes(4, "little") for w in self.words)[:v & 0xFFFF]
            self.words = []
            if v & regcard.SNAPSHOT:
                self.dev.snapshot(msg, self.next)
            else:
                self.dev.inject(self.next, msg, bool(v & regcard.FIRST))
                self.next += 1
        elif name == "inject.cmd":
            if v & regcard.JOIN:
                self.dev.join(self.next)
            if v & regcard.CLEAR_STALE:
                a.clear_stale()

    def subscribe(self, locate, slot):
        self.subs.append((locate, slot))

    def live(self, sched):
        for t, p in sched:
            self.dev.packet(0, p, t=t)
        self.dev.finish(5000)


def test_gap_event_fill_and_stale_cleared():
    m = msgs(30, random.Random(1))
    pk = packets(m)
    h = ModelRegs()
    card = regcard.RegisterCard(h, {1: 0})
    assert card.events.empty()
    h.live(schedule([p if k != 4 else None for k, p in enumerate(pk)]))
    assert not card.events.empty()
    first, count = card.events.get_nowait()
    assert (first, count) == (13, 3) and card.stale_locates() == [1]
    assert card.missing(first, count) == (13, 3)
    card.inject(13, m[12:15])
    assert card.missing(first, count) is None and card.stale_locates() == []
    assert [d["seq"] for d in h.dev.decoded] == list(range(1, 31))


def test_snapshot_load_joins():
    m = msgs(30, random.Random(2))
    pk = packets(m)
    h = ModelRegs()
    card = regcard.RegisterCard(h, {1: 0})
    card.load_snapshot([m[0], m[3]], 16)
    h.live(schedule(pk))
    assert [d["seq"] for d in h.dev.decoded] == [15, 15] + list(range(16, 31))
    assert h.subs == [(1, 0)] and not card.snapshot_wanted


def test_snapshot_reason_names_the_counters_that_moved():
    """The audit entry of a card-requested snapshot says why: the causes whose counters
    moved since the last snapshot load (a dropped book message is not a hold-buffer
    overflow), and nothing once the snapshot is loaded."""
    h = ModelRegs()
    h.counters["book.fifo_overflow"] = 5           # before the daemon started: not news
    card = regcard.RegisterCard(h, {1: 0})
    h.counters["book.fifo_overflow"] = 467
    assert card.snapshot_reason == ("messages the book's input queue dropped: 462 "
                                    "(book.fifo_overflow)")
    h.counters["mold.bad_forwarded"] = 1
    assert card.snapshot_reason.count("(") == 2 and "mold.bad_forwarded" in card.snapshot_reason
    card.load_snapshot([], 1)
    assert card.snapshot_reason == "the card asked (inject.state.SNAPSHOT_NEEDED)"
