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
        arb = mold.Arbiter()
        got += [d.msg for d in arb.receive(p, 0)]
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
    d1 = arb.receive(p[:cut], 0)
    assert [d.seq for d in d1] == [10, 11, 12] and arb.counters["overruns"] == 1
    d2 = arb.receive(p, 1)
    assert [d.seq for d in d2] == list(range(13, 18)) and [d.feed for d in d2] == [1] * 5
    assert arb.counters["dup_messages"] == 3 and arb.counters["dup_packets"] == 0


def test_gap_heartbeat_session_and_bad_length():
    arb = mold.Arbiter()
    m = _msgs(3)
    assert arb.receive(mold.packet("S1", 5, m[:1]), 0)[0].seq == 5
    arb.receive(mold.heartbeat("S1", 9), 1)                  # heartbeat reveals 6..8 missing
    assert arb.counters["gaps"] == 1 and arb.counters["gap_messages"] == 3
    assert arb.status()["last_gap_first"] == 6 and arb.status()["last_gap_len"] == 3
    assert arb.receive(mold.packet("S2", 9, m[:1]), 0) == []
    assert arb.counters["session_mismatch"] == 1
    bad = mold.packet("S1", 9, m[:1]) + b"\x00\x05" + b"x" * 5 + mold.packet("S1", 10, m)[20:]
    out = arb.receive(bad, 0)
    assert [d.seq for d in out] == [9] and arb.counters["bad_lengths"] == 1
    arb.receive(mold.end_of_session("S1", 10), 0)
    assert arb.counters["end_of_session"] == 1 and arb.counters["heartbeats"] == 1
    assert arb.receive(b"S1" + b"\0" * 10, 0) == [] and arb.counters["short_packets"] == 1
    arb.reset()
    assert arb.receive(mold.packet("S2", 100, m[:2]), 1)[1].seq == 101
    assert arb.status()["session_hi"] >> 16 == 1 and arb.counters["gaps"] == 1
