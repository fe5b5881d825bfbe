"""The host injection path in gateware (rtl/rx/inject/ + the sequencer's third
source): MoldRx + FeedMerge + InjectWindow in the Amaranth simulator, the inject
registers written one strobe per cycle (tests/inject_chain.py). Gap on both feeds
waiting for the host and filled (held live messages applied after the fill), a fill
injected before the window expires, SKIP, late join with a snapshot load, hold-buffer
overflow while stale -> SNAPSHOT_NEEDED, a commit while one waits."""
import random

from inject_chain import CLEAR_STALE, JOIN, SKIP, message_writes, run
from merge_chain import msgs, packets, schedule


def _fill(m, first, n, at, per=3):
    """Writes injecting m[first-1 .. first-1+n) as packets of `per` messages."""
    w = []
    for i in range(n):
        seq = first + i
        w += message_writes(m[seq - 1], seq=seq if i == 0 else None, first=i % per == 0)
    return [(at, reg, d) for reg, d in w]


def _lost(pk, *idx):
    return [p if k not in idx else None for k, p in enumerate(pk)]


def test_gap_on_both_feeds_waits_for_the_host_and_is_filled():
    m = msgs(30, random.Random(4))
    pk = packets(m)
    a = _lost(pk, 4)                                 # seq 13..15 lost on both feeds
    r = run(schedule(a), schedule(a, start=5), writes=_fill(m, 13, 3, at=600)
            + [(900, "cmd", CLEAR_STALE)])
    assert r["reports"] == [(13, 3)] and r["gaps"] == []
    assert r["seqs"] == list(range(1, 31)) and r["msgs"] == m
    c = r["counters"]
    assert c["inject.gaps"] == 1 and c["inject.messages"] == 3 and "mold.gaps" not in c
    assert c["merge.held"] > 0 and c["mold.messages"] == 30
    waited = [t for t, s in r["state_at"].items() if s & 2]      # WAITING, then STALE
    assert waited and max(waited) < 600 + 20
    assert all(r["state_at"][t] & 4 for t in range(min(waited) + 2, 899))  # 2 registers
    assert r["state"] == {"BUSY": 0, "WAITING": 0, "STALE": 0, "SNAPSHOT_NEEDED": 0}
    assert r["gap_regs"] == (13, 3)


def test_stale_bitmap_and_skip_declare_the_gap():
    m = msgs(30, random.Random(5))
    pk = packets(m)
    a = _lost(pk, 2, 3)                              # seq 7..12
    r = run(schedule(a), schedule(a, start=5), writes=[(700, "cmd", SKIP)])
    assert r["reports"] == [(7, 6)] and r["gaps"] == [(7, 6)]
    assert r["seqs"] == [s for s in range(1, 31) if not 7 <= s <= 12]
    assert r["counters"]["mold.gaps"] == 1 and r["counters"]["mold.gap_messages"] == 6
    assert r["state"]["STALE"] == 1 and r["stale_bitmap"] == [0xFFFFFFFF] * 2


def test_fill_injected_before_the_window_expires_is_no_gap():
    m = msgs(30, random.Random(6))
    pk = packets(m)
    a = _lost(pk, 0)                                 # the session's first packet: 1..3
    w = [(0, "seq_lo", 1), (1, "cmd", JOIN)] + _fill(m, 1, 3, at=20)
    r = run(schedule(a, start=40), schedule(a, start=45), writes=w, hold_cycles=4000)
    assert r["seqs"] == list(range(1, 31)) and r["reports"] == []
    assert r["state"]["STALE"] == 0 and r["counters"]["inject.messages"] == 3


def test_without_gap_wait_the_window_declares_and_a_late_fill_is_a_duplicate():
    m = msgs(30, random.Random(7))
    pk = packets(m)
    a = _lost(pk, 4)
    r = run(schedule(a), schedule(a, start=5), writes=_fill(m, 13, 3, at=600), gap_wait=0)
    assert r["gaps"] == r["reports"] == [(13, 3)]
    c = r["counters"]
    assert 13 not in r["seqs"] and c["inject.dup_messages"] == 3
    # the feeds' counters leave injected duplicates out (model: HostArbiter): B's 27
    assert c["mold.dup_messages"] == 27 and c["merge.dup_discard_msgs"] == 27


def test_late_join_snapshot_rows_carry_n_minus_1():
    m = msgs(30, random.Random(8))
    pk = packets(m)
    n = 16                                           # join at the packet starting at 16
    snap = [m[k] for k in range(0, 15, 3)]           # "snapshot": five Add Orders
    w = [(0, "seq_lo", n - 1)]
    for s in snap:
        w += [(0, reg, d) for reg, d in message_writes(s, snapshot=True)]
    w += [(0, "seq_lo", n), (0, "cmd", JOIN)]
    r = run(schedule(pk, start=60), schedule(pk, start=70), writes=w)
    assert r["seqs"] == [n - 1] * len(snap) + list(range(n, 31))
    assert r["msgs"][:len(snap)] == snap and r["msgs"][len(snap):] == m[n - 1:]
    assert r["counters"]["inject.messages"] == len(snap) and r["reports"] == []


def test_hold_overflow_while_stale_asks_for_a_snapshot():
    m = msgs(90, random.Random(9))
    pk = packets(m)
    a = _lost(pk, 2)                                 # seq 7..9; 81 messages after it
    r = run(schedule(a), schedule(a, start=5), depth=16, hold_cycles=30)
    st = r["state"]
    assert st["WAITING"] == 1 and st["STALE"] == 1 and st["SNAPSHOT_NEEDED"] == 1
    assert r["counters"]["inject.stale_overflows"] > 0


def test_commit_while_the_queue_is_full_is_an_overrun():
    """FeedMerge queues 16 injected messages; ahead of E they wait there, then one
    waits in the window (BUSY) and the next commit is dropped."""
    m = msgs(12, random.Random(10))
    pk = packets(m)
    w = [(0, reg, d) for k in range(24) for reg, d in
         message_writes(m[k % 12], seq=100 if k == 0 else None)]
    r = run(schedule(pk, start=40), [], writes=w)
    assert r["counters"]["inject.overruns"] > 0 and r["state"]["BUSY"] == 1
    assert r["seqs"] == list(range(1, 13))


def test_join_during_traffic_past_the_jump_window():
    """The pipelined sequencer keeps E + 1 and E + window in registers and compares
    live messages a cycle ahead: a JOIN sets all three, and the live message judged in
    the bubble cycle after it (flags from the old E) is held, not taken for a jump or
    a duplicate. The JOIN lands at each cycle before the far packet's first message."""
    m = msgs(30, random.Random(12))
    n = 5016                                         # seq 1..15, then 5016..5030
    pk = packets(m[:15]) + packets(m[15:], first_seq=n)
    sa, sb = schedule(pk, start=40), schedule(pk, start=44)
    w = [(0, "seq_hi", 0), (0, "seq_lo", n)]
    ref = run(sa, sb, writes=w + [(0, "cmd", JOIN)], jump_window=64)
    assert ref["seqs"] == list(range(n, n + 15)) and ref["msgs"] == m[15:]
    t_out = ref["times"][0]         # the first copy of n left the sequencer (2 registers)
    for tj in range(t_out - 8, t_out - 3):   # E moves 2 cycles after the write: t_out - 4
        # puts the bubble on the cycle that first copy is judged (t_out - 2)
        r = run(sa, sb, writes=w + [(tj, "cmd", JOIN)], jump_window=64)
        assert r["seqs"] == list(range(1, 16)) + list(range(n, n + 15)), tj
        assert r["msgs"] == m and r["reports"] == [], tj
        c = r["counters"]
        assert "merge.jump_drops" not in c and "merge.jumps" not in c, tj


def test_a_bad_frame_whose_messages_went_on_asks_for_a_snapshot():
    """The FCS fails at the frame's end after its messages went to the books
    cut-through: stale, SNAPSHOT_NEEDED, mold.bad_forwarded; a bad frame that carried
    no message (a heartbeat) flags nothing (docs/bad-input.md, rule 3)."""
    m = msgs(30, random.Random(8))
    pk = packets(m)
    r = run(schedule(pk), schedule(pk, start=5), bad_a={3})
    assert r["seqs"] == list(range(1, 31))           # cut-through: delivered, not lost
    assert r["counters"]["mold.bad_forwarded"] == 1
    assert r["state"]["STALE"] == 1 and r["state"]["SNAPSHOT_NEEDED"] == 1
    clean = run(schedule(pk), schedule(pk, start=5))
    assert "mold.bad_forwarded" not in clean["counters"]
    assert clean["state"]["STALE"] == 0 and clean["state"]["SNAPSHOT_NEEDED"] == 0
