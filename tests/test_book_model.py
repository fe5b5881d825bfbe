"""The reference book reproduces the real AAPL BBO trajectory and the ITCH semantics."""
import struct
import time
from pathlib import Path

import pytest

from tickwire.model.book import ASK, BID, BookModel, Msg, bbo_csv, decode, read_binaryfile

DATA = Path(__file__).resolve().parent.parent.parent / "shared/data/itch"
AAPL = DATA / "nasdaq_itch50_20200130_aapl_first5000.itch"


def need_data():
    if not AAPL.exists():
        pytest.skip(f"real ITCH sample not present ({DATA} absent)")
    return read_binaryfile(AAPL.read_bytes())


def test_aapl_bbo_csv_byte_exact():
    raws = need_data()
    assert len(raws) == 5000
    text, model = bbo_csv(raws)
    expected = (DATA / "nasdaq_itch50_20200130_aapl_first5000.bbo.csv").read_text()
    assert text == expected
    assert model.counts["unknown_ref"] == 0 and model.counts["dup_add"] == 0
    assert model.books[13].max_depth <= 64      # the gateware's default kept depth


def test_unsubscribed_locates_are_ignored_and_counted():
    raws = need_data()
    model = BookModel({99: 3})
    events = [model.apply(decode(r, i)) for i, r in enumerate(raws, 1)]
    assert all(e is None for e in events)
    assert model.counts["ignored"] == sum(1 for r in raws if r[0] in b"AFECXDUH")


# A tiny encoder straight from the ITCH 5.0 spec, to check the decoder round-trips.
def _hdr(t, loc):
    return struct.pack(">cHH6s", t, loc, 0, b"\0" * 6)


def test_decode_layouts():
    a = _hdr(b"A", 7) + struct.pack(">QcI8sI", 123, b"S", 500, b"AAPL    ", 3210000)
    assert len(a) == 36
    m = decode(a, 5)
    assert (m.type, m.locate, m.oref, m.side, m.shares, m.price, m.seq) == \
        (ord("A"), 7, 123, ord("S"), 500, 3210000, 5)
    u = _hdr(b"U", 7) + struct.pack(">QQII", 123, 456, 70, 3209900)
    assert len(u) == 35
    m = decode(u)
    assert (m.oref, m.new_oref, m.shares, m.price) == (123, 456, 70, 3209900)
    c = _hdr(b"C", 7) + struct.pack(">QIQcI", 123, 40, 9, b"Y", 3300000)
    assert len(c) == 36
    m = decode(c)
    assert (m.oref, m.shares, m.price) == (123, 40, 3300000)
    h = _hdr(b"H", 7) + struct.pack(">8scc4s", b"AAPL    ", b"H", b" ", b"    ")
    assert len(h) == 25 and decode(h).state == ord("H")


def _add(ref, side, sh, px, loc=1, seq=0):
    return Msg(ord("A"), loc, oref=ref, side=ord(side), shares=sh, price=px, seq=seq)


def test_directed_semantics():
    m = BookModel({1: 0}, top_n=3)
    assert m.apply(_add(1, "B", 100, 1000)).row() == "0,1,1000,100,0,0"
    assert m.apply(_add(2, "B", 50, 1000)).bid_orders == 2          # same-price stacking
    assert m.apply(_add(3, "B", 70, 990)) is None                   # behind the best
    ev = m.apply(_add(4, "S", 30, 1010))
    assert (ev.ask_px, ev.ask_qty, ev.bid_qty) == (1010, 30, 150)
    ev = m.apply(Msg(ord("E"), 1, oref=1, shares=100))               # execute to zero
    assert (ev.bid_px, ev.bid_qty, ev.bid_orders) == (1000, 50, 1)
    assert 1 not in m.orders
    ev = m.apply(Msg(ord("C"), 1, oref=2, shares=20, price=5))       # C: rests at its own price
    assert (ev.bid_px, ev.bid_qty) == (1000, 30)
    ev = m.apply(Msg(ord("X"), 1, oref=2, shares=10))
    assert ev.bid_qty == 20
    ev = m.apply(Msg(ord("D"), 1, oref=2))                           # best deleted, deeper shows
    assert (ev.bid_px, ev.bid_qty) == (990, 70)
    ev = m.apply(Msg(ord("U"), 1, oref=3, new_oref=9, shares=5, price=1020))  # crosses
    assert (ev.bid_px, ev.bid_qty, ev.ask_px) == (1020, 5, 1010)
    assert 3 not in m.orders and m.orders[9][1] == BID
    assert m.top(1, ASK, 3) == [(1010, 30, 1)]
    assert m.topn_events[-1].levels == [(1020, 5, 1)]
    m.apply(Msg(ord("H"), 1, state=ord("H")))
    assert m.books[1].halted
    m.apply(Msg(ord("H"), 1, state=ord("T")))
    assert not m.books[1].halted
    assert m.apply(Msg(ord("D"), 1, oref=77)) is None
    assert m.counts["unknown_ref"] == 1
    assert m.apply(Msg(ord("P"), 1, oref=5, side=ord("B"), shares=1, price=2000)) is None


def test_topn_events_track_every_change():
    """After every message, the last top-N event of each side equals the true top N."""
    model = BookModel({13: 0}, top_n=5)
    last = {BID: [], ASK: []}
    changes = 0
    for i, raw in enumerate(need_data(), 1):
        n_before = len(model.topn_events)
        model.apply(decode(raw, i))
        for ev in model.topn_events[n_before:]:
            assert ev.seq == i and ev.levels != last[ev.side]
            last[ev.side] = ev.levels
            changes += 1
        for side in (BID, ASK):
            assert model.top(13, side, 5) == last[side]
    assert changes > 1000


def test_inconsistent_references_touch_no_other_book():
    """What a corrupted message with valid headers does (the gateware's book does the
    same, checked RTL = model by the fuzz fixtures bitflip-a-10 and truncate-a-12)."""
    m = BookModel({1: 0, 2: 1})
    m.apply(_add(1, "B", 100, 1000))                       # locate 1
    m.apply(Msg(ord("A"), 2, oref=2, side=ord("S"), shares=40, price=1010))
    # a Delete naming locate 2 but locate 1's order: unknown there, locate 1 untouched
    assert m.apply(Msg(ord("D"), 2, oref=1)) is None
    assert m.counts["unknown_ref"] == 1 and m.top(1, BID, 1) == [(1000, 100, 1)]
    # a U onto a reference already held: the old order leaves, the new one is refused
    ev = m.apply(Msg(ord("U"), 1, oref=1, new_oref=2, shares=5, price=999))
    assert m.counts["dup_add"] == 1 and 1 not in m.orders
    assert (ev.bid_px, ev.bid_qty) == (0, 0) and m.orders[2][2] == 1010
    assert m.top(2, ASK, 1) == [(1010, 40, 1)]
