"""Helpers of the packet/book/risk benchmarks (the simulations themselves run in `make bench`)."""
import random
import struct

import pytest

from tickwire.tools.build.bench import book, packet, risk
from tickwire.tools.engines import EngineResult
from tickwire.tools.feeds import moldfeed


def test_drop_counters_are_the_packet_path_losses():
    names = set(packet.drop_counter_names())
    for n in ("mac_a.fcs_errors", "mac_b.runts", "net_a.drop_filter", "net_b.drop_ip_checksum",
              "merge.overflow_a", "book.fifo_overflow", "mold.gaps", "mold.overruns",
              "itch.unknown_type", "itch.length_errors"):
        assert n in names
    for n in ("mac_a.frames_ok", "mac_a.bytes_ok", "net_a.udp_accepted", "mold.messages",
              "mold.heartbeats", "itch.msgs[15]", "book.msgs", "risk.orders"):
        assert n not in names
    assert packet.drops({"mold.gaps": 2, "mold.messages": 9, "net_a.drop_vlan": 0}) == {"mold.gaps": 2}


def test_add_delete_feed_deletes_every_added_order_in_full_frames():
    adds, deletes = packet.add_delete_messages(3, symbols=8)
    assert len(deletes) == 3 * 69 == len(adds)          # 1452-byte budget / (2 + 19)
    assert all(len(d) == 19 and d[:1] == b"D" for d in deletes)
    add_refs = {struct.unpack_from(">Q", a, 11)[0]: struct.unpack_from(">H", a, 1)[0] for a in adds}
    del_refs = {struct.unpack_from(">Q", d, 11)[0]: struct.unpack_from(">H", d, 1)[0]
                for d in deletes}
    assert add_refs == del_refs                          # same order, same locate
    assert set(add_refs.values()) == set(range(1, 9))
    frames = moldfeed.build_feed(deletes)
    assert len(frames) == 3 and all(len(f.data) == 14 + 20 + 8 + 20 + 69 * 21 for f in frames)


def test_wire_use_of_back_to_back_mtu_frames_is_line_rate():
    _, deletes = packet.add_delete_messages(20)
    frames = moldfeed.build_feed(deletes)
    util, ideal, span = packet.wire_use(frames)
    wire = 8 + 14 + 20 + 8 + 20 + 69 * 21 + 4                # /S/ preamble SFD, frame, FCS
    assert ideal == pytest.approx(wire / (wire + 12))
    assert abs(util - ideal) < 4 / span * 1.01 + 1e-9   # DIC: at most 3 idles off over the run
    # a 100-character gap before every frame shows up as lost utilisation
    from tickwire.model import xgmii
    e = xgmii.encode([f.data for f in frames], start_lane="any", gaps=[100] * len(frames))
    busy = sum(8 + len(s) for s in e.frames)
    assert busy / (e.starts[-1] + len(e.frames[-1]) + 12 - e.starts[0] + 8) < util - 0.05


def test_faulty_ab_frames_loss_dup_noise():
    msgs = [bytes([0x44]) + bytes(18)] * 2000
    clean = book.faulty_ab_frames(msgs, loss=0, dup=0, noise=0)
    base = moldfeed.build_feed(msgs, ab=True, end_of_session=True)
    assert [f.data for f in clean] == [f.data for f in base]
    faulty = book.faulty_ab_frames(msgs, loss=0.2, dup=0.2, noise=0.2)
    assert faulty is not clean
    assert any(f.kind != "mold" for f in faulty)
    assert any("dup" in f.fault for f in faulty)
    seqs_a = {f.seq for f in faulty if f.feed == "A" and f.kind == "mold"}
    assert seqs_a < {f.seq for f in base if f.feed == "A"}
    assert [f.data for f in book.faulty_ab_frames(msgs, loss=0.2, dup=0.2, noise=0.2)] == \
        [f.data for f in faulty]                          # deterministic


def _res(rows, counters):
    return EngineResult(list(rows), dict(counters), {})


def test_compare_reports_first_difference_and_skips_unmodelled():
    rows = [(1, 2, 100, 5, 200, 5), (2, 2, 100, 5, 210, 5)]
    c = {"mold.messages": 10, "book.msgs": 10}
    ok, first, n, k = book.compare(_res(rows, c), _res(rows, c), ())
    assert ok and first is None and n == 2 and k == 2
    other = [rows[0], (2, 2, 100, 5, 220, 5)]
    ok, first, *_ = book.compare(_res(other, c), _res(rows, c), ())
    assert not ok and first.startswith("BBO row 1:")
    ok, first, *_ = book.compare(_res(rows, {**c, "book.fifo_overflow": 3}), _res(rows, c),
                                 ("book.fifo_overflow",))
    assert ok
    ok, first, *_ = book.compare(_res(rows, {**c, "mold.gaps": 1}), _res(rows, c), ())
    assert not ok and "mold.gaps: rtl 1 model 0" in first
    ok, first, *_ = book.compare(_res(rows[:1], c), _res(rows, c), ())
    assert not ok and "rtl 1 model 2" in first
    # a difference after the RTL's order table dropped an add says so (still no agreement)
    ok, first, *_ = book.compare(_res(other, {**c, "book.collisions": 2}), _res(rows, c),
                                 ("book.collisions",))
    assert not ok and first.startswith("BBO row 1:") and "book.collisions 2" in first


def test_directory_from_stock_directory_messages():
    from tickwire.tools.feeds import itch_encode as enc
    msgs = [enc.stock_directory(7, 0, 1, "AAPL"), enc.order_delete(7, 0, 2, 5),
            enc.stock_directory(9, 0, 3, "MSFT")]
    assert book.directory(msgs) == {7: "AAPL", 9: "MSFT"}


def test_risk_latency_stats():
    entries = {10: 5, 11: 6, 12: 7}
    assert risk.latency_stats(entries, [(10, 8), (11, 9), (12, 11)]) == [3, 3, 4]
    with pytest.raises(RuntimeError):
        risk.latency_stats(entries, [(11, 9), (10, 8), (12, 11)])
    with pytest.raises(RuntimeError):
        risk.latency_stats(entries, [(10, 8), (11, 9)])


def test_risk_model_disagreements_finds_a_wrong_verdict():
    from tickwire.model.risk import BookState, RiskModel
    from tickwire.rtl.config import BUILDS
    ACCOUNTS, SLOTS = BUILDS["sim"].risk_accounts, BUILDS["sim"].risk_slots
    rng = random.Random(4)
    limits = risk.make_limits(rng)
    spec = {"books": risk.make_books(rng, SLOTS), "orders": risk.make_orders(rng, 300, ACCOUNTS, SLOTS)}
    m = RiskModel(ACCOUNTS, SLOTS, limits=limits)
    books = {b["slot"]: BookState(b["bid_px"], b["bid_qty"], b["ask_px"], b["ask_qty"],
                                  bool(b["halted"]), False) for b in spec["books"]}
    t0 = 34_200_000_000_000
    verdicts = []
    for k, o in enumerate(spec["orders"]):
        r = m.order(o["clordid"], o["account"], o["slot"], o["side"], o["qty"], o["price"],
                    t0 + 7 * k, books[o["slot"]])
        verdicts.append((o["clordid"], 10 + k, r, t0 + 7 * k))
    assert len({v[2] for v in verdicts}) >= 4            # the limits exercise several checks
    assert risk.model_disagreements(limits, spec, verdicts) == []
    wrong = list(verdicts)
    c, cyc, r, t = wrong[17]
    wrong[17] = (c, cyc, (r + 1) % 13, t)
    assert risk.model_disagreements(limits, spec, wrong) == [(c, (r + 1) % 13, r)]


def test_only_the_sections_are_discovered_as_benchmarks():
    from tickwire.tools.build.bench import discover
    found = discover()
    for name in ("packet", "book", "risk", "harness"):
        assert found[name].__module__ == f"tickwire.tools.build.bench.{name}"
    mine = {n for n, fn in found.items()
            if fn.__module__.rsplit(".", 1)[1] in ("packet", "book", "risk", "harness")}
    # book.py holds two sections: the book runs and the deep-book stress feed
    assert mine == {"packet", "book", "deep_book", "risk", "harness"}


def test_paced_frames_keep_their_idle_in_both_engines():
    """Frame.idle spaces a port's frames on the wire (encoder) and in the model's
    arrival order alike, so a paced A/B feed is compared like for like."""
    from tickwire.tools.engines import _arrival_order, encode_port
    from tickwire.tools.feeds import itch_encode as enc
    from tickwire.tools.feeds import moldfeed
    from tickwire.tools.build.bench.packet import feed_of
    msgs = [enc.order_delete(1, 0, i, i) for i in range(400)]
    frames = book.pace(moldfeed.build_feed(msgs, ab=True, per_packet=20), 0.5)
    assert all(f.idle > 0 for f in frames)
    feed = feed_of(frames)
    fast = feed_of(moldfeed.build_feed(msgs, ab=True, per_packet=20))
    assert len(encode_port(feed.frames["a"]).beats) > 1.8 * len(encode_port(fast.frames["a"]).beats)
    # B's copy of each packet still follows A's (ties A first), frame by frame
    order = [(p, f.seq) for p, f in _arrival_order(feed)]
    assert order == [(p, s) for s in sorted({s for _, s in order}) for p in "ab"]


def test_lined_ab_keeps_both_feeds_in_step():
    """skew.ab_lines: a lost packet leaves its slot empty, so the copies of every packet
    both lines carry start together (moldfeed.drop on a paced list lets the ports drift
    apart by their losses); extra frames use idle time and are all there."""
    from tickwire.tools.feeds import skew
    msgs = [bytes([0x44]) + bytes(18)] * 3000
    base = moldfeed.build_feed(msgs, ab=True, end_of_session=True)
    lost = skew.ab_lines(base, 0.8, loss=0.2, rng=3)
    assert book.drift_cycles(lost) == 0
    assert book.drift_cycles(book.pace(book.faulty_ab_frames(msgs, loss=0.2, dup=0, noise=0),
                                       0.8)) > 100
    seqs = {f.seq for f in base if f.feed == "A"}
    for feed in "AB":
        got = [f.seq for f in lost if f.feed == feed]
        assert len(got) == len(set(got)) and 0.7 * len(seqs) < len(got) < 0.9 * len(seqs)
    # slot k starts at sum of the earlier packets' wire / util, on both lines
    t, slot = 0.0, {}
    for f in (f for f in base if f.feed == "A"):
        slot[f.seq] = int(t)
        t += skew.wire(f) / 0.8
    for feed in "AB":
        pos = 0
        for f in (f for f in lost if (f.feed == "B") == (feed == "B")):
            pos += f.idle
            assert pos == slot[f.seq]
            pos += skew.wire(f)
    full = skew.ab_lines(base, 0.8, loss=0.05, dup=0.1, noise=0.1, rng=3)
    assert sum("dup" in f.fault for f in full) > 4 and sum(f.kind != "mold" for f in full) > 4
    assert all(f.idle >= 0 for f in full)
    # an extra frame delays its line briefly: a few frames at most, not a walk
    assert book.drift_cycles(full) <= 4 * max(skew.wire(f) for f in full) // 8
    assert [f.data for f in skew.ab_lines(base, 0.8, loss=0.05, dup=0.1, noise=0.1, rng=3)] \
        == [f.data for f in full]                  # deterministic
