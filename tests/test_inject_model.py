"""The model of the card's host injection path (tickwire/model/inject.py HostArbiter,
DeviceModel.inject/snapshot/join) on the cases the gateware test runs
(tests/test_inject_window.py): the same delivered sequence, reports and state."""
import random

from merge_chain import msgs, packets, schedule
from tickwire.model.inject import HostArbiter


def _feed(arb, sched_a, sched_b, until):
    out = []
    ev = sorted([(t, 0, p) for t, p in sched_a] + [(t, 1, p) for t, p in sched_b])
    for t, feed, p in ev:
        out += arb.receive(p, feed, t=t, lane=3 * feed)
    return out + arb.advance(until)


def _lost(pk, *idx):
    return [p if k not in idx else None for k, p in enumerate(pk)]


def test_wait_report_fill_then_held_messages_flow():
    m = msgs(30, random.Random(4))
    a = _lost(packets(m), 4)
    arb = HostArbiter(gap_wait=True, hold_cycles=60)
    out = _feed(arb, schedule(a), schedule(a, start=5), 2000)
    assert [d.seq for d in out] == list(range(1, 13))
    assert arb.reports == [(13, 3)] and arb.stale and arb.counters["gaps"] == 0
    for i in range(3):
        out += arb.inject(13 + i, m[12 + i])
    assert [d.seq for d in out] == list(range(1, 31)) and [d.msg for d in out] == m
    assert arb.inject_counters["messages"] == 3
    arb.clear_stale()
    assert not arb.stale


def test_skip_declares_and_a_late_fill_is_a_duplicate():
    m = msgs(30, random.Random(5))
    a = _lost(packets(m), 2, 3)
    arb = HostArbiter(gap_wait=True, hold_cycles=60)
    out = _feed(arb, schedule(a), schedule(a, start=5), 2000)
    out += arb.skip()
    assert [d.seq for d in out] == [s for s in range(1, 31) if not 7 <= s <= 12]
    assert arb.gap_events == [(7, 6)] and arb.reports == [(7, 6)]
    arb.inject(7, m[6])
    assert arb.inject_counters["dup_messages"] == 1


def test_without_gap_wait_it_is_the_arbiter():
    m = msgs(30, random.Random(7))
    a = _lost(packets(m), 4)
    arb = HostArbiter(hold_cycles=60)
    out = _feed(arb, schedule(a), schedule(a, start=5), 2000)
    assert arb.gap_events == arb.reports == [(13, 3)] and 13 not in [d.seq for d in out]


def test_join_and_snapshot():
    m = msgs(30, random.Random(8))
    pk = packets(m)
    arb = HostArbiter(gap_wait=True)
    snap = [m[k] for k in range(0, 15, 3)]
    out = [d for s in snap for d in arb.snapshot(s, 15)] + arb.join(16)
    out += _feed(arb, schedule(pk, start=60), schedule(pk, start=70), 3000)
    assert [d.seq for d in out] == [15] * 5 + list(range(16, 31))


def test_early_fill_waits_for_e():
    m = msgs(30, random.Random(6))
    a = _lost(packets(m), 0)
    arb = HostArbiter(gap_wait=True, hold_cycles=4000)
    out = arb.join(1)
    for i in range(3):
        out += arb.inject(1 + i, m[i])
    out += _feed(arb, schedule(a, start=40), schedule(a, start=45), 5000)
    assert [d.seq for d in out] == list(range(1, 31)) and arb.reports == []
