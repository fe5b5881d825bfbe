"""MoldUDP64 model: packing and the A/B arbitration rules."""
import random

from tickwire.model import itch, mold


def _msgs(n, rng=random.Random(3)):
    return [itch.encode("A", locate=1, oref=i, side="B", shares=rng.randrange(1, 999),
                        stock="TEST", price=rng.randrange(1, 10**6)) for i in range(n)]


def test_pack_respects_mtu_and_sequences():
    msgs = _msgs(200)
    pk = mold.pack(msgs, "SESSION01", 7, mtu=600)
    seq = 7
    got = []
    for s, p in pk:
        assert s == seq and len(p) + 28 <= 600
        assert p[:10] == b"SESSION01 " and int.from_bytes(p[10:18], "big") == s
        arb = mold.Arbiter()            # a lone packet: its start is taken after the window
        assert arb.receive(p, 0) == []
        got += [d.msg for d in arb.advance(arb.hold_cycles)]
        seq += int.from_bytes(p[18:20], "big")
    assert got == msgs and seq == 207
    assert [len(mold.pack(msgs, "S", 1, msgs_per_packet=3))] == [67]


def test_ab_arbitration_fills_loss_on_either_side():
    msgs = _msgs(60)
    pk = mold.pack(msgs, "S1", 1, msgs_per_packet=4)
    arb = mold.Arbiter()
    out = []
    for k, (_, p) in enumerate(pk):
        if k % 3 != 1:
            out += arb.receive(p, 0)       # A loses every third packet
        if k % 3 != 2:
            out += arb.receive(p, 1)       # B loses others
    assert [d.msg for d in out] == msgs
    assert [d.seq for d in out] == list(range(1, 61))
    c = arb.counters
    assert c["gaps"] == 0 and c["messages"] == 60
    both = sum(1 for k in range(len(pk)) if k % 3 == 0)
    assert c["dup_packets"] == both and c["dup_messages"] == 4 * both
    assert arb.status()["expected_seq"] == 61


def test_truncated_packet_gap_filled_by_other_feed():
    msgs = _msgs(8)
    (_, p), = mold.pack(msgs, "S1", 10)
    arb = mold.Arbiter()
    cut = 20 + 3 * 38 + 5                        # three whole blocks and a partial one
    d1 = arb.receive(p[:cut], 0)                 # held: the session's start is unconfirmed
    assert d1 == [] and arb.counters["overruns"] == 1
    d2 = arb.receive(p, 1)                       # B's copy confirms it and fills the rest
    assert [d.seq for d in d2] == list(range(10, 18))
    assert [d.feed for d in d2] == [0] * 3 + [1] * 5
    assert arb.counters["dup_messages"] == 3 and arb.counters["dup_packets"] == 1


def test_session_heartbeat_and_bad_length():
    arb = mold.Arbiter()
    m = _msgs(12)
    assert arb.receive(mold.packet("S1", 5, m[:1]), 0) == []     # unconfirmed start
    assert arb.receive(mold.packet("S1", 5, m[:1]), 1)[0].seq == 5   # B's copy confirms
    arb.receive(mold.heartbeat("S1", 9), 1)          # heartbeats never move E
    assert arb.counters["gaps"] == 0 and arb.status()["expected_seq"] == 6
    assert arb.receive(mold.packet("S2", 6, m[1:2]), 0) == []
    assert arb.counters["session_mismatch"] == 1 and arb.counters["dup_messages"] == 1
    bad = mold.packet("S1", 6, m[1:2]) + b"\x00\x05" + b"x" * 5 + mold.packet("S1", 7, m[2:4])[20:]
    bad = bad[:18] + (3).to_bytes(2, "big") + bad[20:]
    out = arb.receive(bad, 0)
    assert [d.seq for d in out] == [6] and arb.counters["bad_lengths"] == 1
    arb.receive(mold.end_of_session("S1", 10), 0)
    assert arb.counters["end_of_session"] == 1 and arb.counters["heartbeats"] == 1
    assert arb.receive(b"S1" + b"\0" * 10, 0) == [] and arb.counters["short_packets"] == 1
    arb.reset()
    assert arb.receive(mold.packet("S2", 100, m[:2]), 1) == []
    assert [d.seq for d in arb.advance(arb.hold_cycles)] == [100, 101]
    assert arb.status()["session_hi"] >> 16 == 1


def test_a_foreign_first_packet_does_not_lock_the_session_out():
    """Issue 15: the first header sets the session only until the start is confirmed;
    a header of another session then replaces it and what was held goes."""
    m = _msgs(8)
    arb = mold.Arbiter()
    assert arb.receive(mold.packet("EVIL", 1, m[:4]), 0) == []
    assert arb.receive(mold.packet("S1", 5, m[4:8]), 0) == []    # replaces EVIL
    assert arb.counters["session_mismatch"] == 1
    out = arb.receive(mold.packet("S1", 1, m[:4]), 1) + arb.receive(mold.packet("S1", 5, m[4:8]), 1)
    assert [d.seq for d in out] == list(range(1, 9)) and [d.msg for d in out] == m
    assert arb.session == b"S1" + b" " * 8
    # once started, another session is dropped
    assert arb.receive(mold.packet("EVIL", 9, m[:1]), 0) == []
    assert arb.counters["session_mismatch"] == 2 and arb.session.startswith(b"S1")


def test_a_forged_jump_in_the_first_packet_does_not_set_e():
    """Issue 15: E is the smallest number held when the start is confirmed; the forged
    far packet held among them is dropped as beyond the jump window."""
    msgs, pk = _feed(6)
    arb = mold.Arbiter(jump_window=16)
    far = pk[0][:10] + (10**12).to_bytes(8, "big") + pk[0][18:]
    out = arb.receive(far, 0) + arb.receive(pk[1], 0) + arb.receive(pk[0], 1)
    for p in pk[2:]:
        out += arb.receive(p, 0)
    assert [d.msg for d in out] == msgs
    assert arb.merge["jump_drops"] == 4 and arb.counters["gaps"] == 0


def test_wrong_type_length_and_count_cost_only_their_packet():
    m = _msgs(6)
    arb = mold.Arbiter()
    good = mold.packet("S1", 1, m[:3])
    # message 2's length field says 37 (an Add is 36): the block is refused, E stays
    lie = good[:20 + 38] + (37).to_bytes(2, "big") + good[20 + 38 + 2:] + b"\0"
    assert arb.receive(lie, 0) == [] and arb.counters["bad_lengths"] == 1   # 1 held
    out = arb.receive(good, 1)                  # B's copy confirms the start and fills it
    assert [(d.seq, d.feed) for d in out] == [(1, 0), (2, 1), (3, 1)]
    # count says 2 but 3 blocks follow: two stand, the third is refused
    few = mold.packet("S1", 4, m[3:6])
    few = few[:18] + (2).to_bytes(2, "big") + few[20:]
    assert [d.seq for d in arb.receive(few, 0)] == [4, 5]
    many = mold.packet("S1", 6, m[5:6])
    many = many[:18] + (4).to_bytes(2, "big") + many[20:]
    assert [d.seq for d in arb.receive(many, 0)] == [6]
    assert arb.counters["count_mismatch"] == 2


def _feed(n_pkts, per=4):
    msgs = _msgs(n_pkts * per)
    return msgs, [p for _, p in mold.pack(msgs, "S1", 1, msgs_per_packet=per)]


def test_far_ahead_sequence_needs_confirmation():
    msgs, pk = _feed(10)
    arb = mold.Arbiter(jump_window=16)
    out = arb.receive(pk[0], 0) + arb.receive(pk[0], 1)          # the start, confirmed
    far = pk[1][:10] + (10**12).to_bytes(8, "big") + pk[1][18:]
    assert arb.receive(far, 0) == [] and arb.merge["jump_drops"] == 4
    for p in pk[1:]:
        out += arb.receive(p, 1)
    assert [d.msg for d in out] == msgs and arb.counters["gaps"] == 0
    # a real jump: confirmed by the next packet continuing it on the same port
    arb2 = mold.Arbiter(jump_window=16)
    got = arb2.receive(pk[0], 0) + arb2.receive(pk[0], 1)
    got += arb2.receive(pk[6], 0) + arb2.receive(pk[7], 0)
    assert [d.seq for d in got] == [1, 2, 3, 4, 29, 30, 31, 32]
    assert arb2.counters["gaps"] == 1 and arb2.counters["gap_messages"] == 24
    assert arb2.merge["jumps"] == 1 and arb2.merge["jump_drops"] == 4
    # ...but before the start is confirmed, a packet beyond the window from the first
    # one is held, then dropped from the buffer (E is the first); the jump is
    # confirmed again by the packets that follow it
    arb3 = mold.Arbiter(jump_window=16)
    got = arb3.receive(pk[0], 0) + arb3.receive(pk[6], 0) + arb3.receive(pk[7], 0)
    got += arb3.receive(pk[8], 0) + arb3.receive(pk[9], 0)
    assert [d.seq for d in got] == [1, 2, 3, 4, 37, 38, 39, 40]
    assert arb3.merge["jump_drops"] == 8 + 4 and arb3.counters["gap_messages"] == 32


def test_hold_window_waits_for_the_other_feed_then_declares_the_gap():
    msgs, pk = _feed(30)
    arb = mold.Arbiter(hold_cycles=1000, hold_packets=100)
    out, t = [], 0
    lost = {5}                                   # A loses packet 5, B is 20 packets late
    for k in range(30 + 20):
        if k < 30 and k not in lost:
            out += arb.receive(pk[k], 0, t=t)
        if k >= 20:
            out += arb.receive(pk[k - 20], 1, t=t + 1)
        t += 30
    out += arb.advance(t + 100)
    assert [d.msg for d in out] == msgs and arb.counters["gaps"] == 0
    assert arb.merge["held"] > 0 and arb.merge["hold_timeouts"] == 0
    # both lose packet 5: the gap is declared once the window expires
    arb = mold.Arbiter(hold_cycles=100, hold_packets=100)
    out = []
    for k in range(30):
        if k != 5:
            out += arb.receive(pk[k], 0, t=30 * k) + arb.receive(pk[k], 1, t=30 * k + 2)
    out += arb.advance(2000)
    assert [d.seq for d in out] == [s for s in range(1, 121) if not 21 <= s <= 24]
    assert arb.counters["gaps"] == 1 and arb.gap_events == [(21, 4)]
    assert arb.merge["hold_timeouts"] == 1


def test_hold_packets_window_and_overflow():
    msgs, pk = _feed(12)
    arb = mold.Arbiter(hold_packets=3, depth=100)
    out = arb.receive(pk[0], 0)
    for k in range(2, 12):                       # packet 1 never comes
        out += arb.receive(pk[k], 0)
    assert arb.counters["gaps"] == 1 and arb.last_gap_first == 5
    assert [d.seq for d in out] == [s for s in range(1, 49) if not 5 <= s <= 8]
    arb = mold.Arbiter(hold_packets=100, depth=6)
    arb.receive(pk[0], 0)
    for k in range(2, 5):
        arb.receive(pk[k], 0)
    assert arb.merge["overflow_a"] == 6
