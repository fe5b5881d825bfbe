"""The whole OrderBook in the Amaranth simulator (small tables) against the model:
directed semantics, a deep side drained best-first to empty through the next-best
search, back-to-back Add/Delete of one order (forwarding), random deep books."""
import random

import pytest

from book_sim import SMALL, add, model_rows, numbered, run_book
from tickwire.model.book import Msg
from tickwire.rtl.book.order_book import pipeline_latency
from tickwire.tools.feeds.churn import delete_order, reduce_order

L, R = 5, 100


def check(msgs, subs, **kw):
    bbo, topn, ev, taken, out_cyc = run_book(msgs, subs, **kw)
    rows, top, model = model_rows(msgs, subs, top_n=kw.get("params", SMALL)["top_n"])
    assert bbo == rows
    assert topn == top
    assert ev["level_miss"] == 0 and ev["depth_overflow"] == 0
    return ev, taken, out_cyc, model


def test_directed_semantics_and_latency():
    msgs = numbered([
        add(R + 1, "B", 100, 1000), add(R + 2, "B", 50, 1000), add(R + 3, "B", 70, 990),
        add(R + 4, "B", 10, 980), add(R + 5, "S", 30, 1010), add(R + 6, "S", 40, 1020),
        Msg(ord("E"), L, oref=R + 1, shares=100), Msg(ord("C"), L, oref=R + 2, shares=20, price=1),
        Msg(ord("X"), L, oref=R + 2, shares=10), Msg(ord("D"), L, oref=R + 2),
        Msg(ord("U"), L, oref=R + 3, new_oref=R + 7, shares=25, price=1010),   # locked
        Msg(ord("U"), L, oref=R + 7, new_oref=R + 8, shares=25, price=1015),   # crossed
        Msg(ord("H"), L, state=ord("H")), Msg(ord("X"), L, oref=R + 8, shares=5),
        Msg(ord("H"), L, state=ord("T")),
        Msg(ord("P"), L, oref=R + 9, side=ord("B"), shares=5, price=2000),
        add(R + 10, "B", 99, 1500, 9), Msg(ord("D"), 9, oref=R + 10),
        Msg(ord("E"), L, oref=R + 6, shares=1000), Msg(ord("D"), L, oref=R + 5),
        add(R + 11, "S", 7, 1030),
    ])
    ev, taken, out_cyc, _ = check(msgs, {L: 0})
    assert ev["ignored"] == 2 and ev["msgs"] == len(msgs)
    assert {c - taken[s] for s, c in out_cyc} == {pipeline_latency()}


def test_deep_side_drains_to_empty_and_refills():
    """40 levels per side (more than the cache's 10) at prices from sub-penny to the top
    of the 32-bit range, drained best-first by deletes and refilled."""
    rng = random.Random(3)
    bids = sorted(rng.sample(range(1, 100), 10) + [10_000 + 100 * i for i in range(15)]
                  + [0xFFFF_FFFF - 7 * i for i in range(15)])
    asks = sorted(rng.sample(range(1, 10_000), 20) + [2**31 + 64 * i for i in range(20)])
    msgs, ref = [], 1000
    for side, prices in (("B", bids), ("S", asks)):
        refs = {}
        for px in rng.sample(prices, len(prices)):
            refs[px] = ref
            msgs.append(add(ref, side, rng.randint(1, 99), px))
            ref += 1
        for px in sorted(prices, reverse=side == "B"):
            msgs.append(Msg(ord("D"), L, oref=refs[px]))
        for px in prices[::3]:
            msgs.append(add(ref, side, 5, px))
            ref += 1
    numbered(msgs)
    check(msgs, {L: 1}, params=dict(SMALL, orders=256, levels=256))


def test_add_then_delete_back_to_back():
    msgs = []
    for i in range(12):
        msgs.append(add(700 + i, "S", 10 + i, 5000 + i % 3))
        msgs.append(Msg(ord("E"), L, oref=700 + i, shares=3) if i % 2 else
                    Msg(ord("D"), L, oref=700 + i))
    numbered(msgs)
    _, taken, _, _ = check(msgs, {L: 0})
    t = sorted(taken.values())
    assert {b - a for a, b in zip(t, t[1:])} == {2}


def test_random_deep_books():
    rng = random.Random(11)
    live, nxt, msgs = {}, 1 << 33, []
    for _ in range(700):
        loc = rng.choice([5, 6])
        mine = [o for o, v in live.items() if v[0] == loc]
        r = rng.random()
        if (r < 0.55 or not mine) and len(live) < 40:
            side = rng.choice("BS")
            off = rng.randint(1, 60)
            px = 50_000 - off if side == "B" else 50_000 + off
            msgs.append(add(nxt, side, rng.randint(1, 50), px, loc))
            live[nxt] = [loc, side, msgs[-1].shares]
            nxt += 1
        elif mine:
            o = rng.choice(mine)
            if r < 0.75:
                reduce_order(msgs, live, loc, o, "E", rng.randint(1, 40))
            elif r < 0.9:
                delete_order(msgs, live, loc, o)
            else:
                side = live.pop(o)[1]
                msgs.append(Msg(ord("U"), loc, oref=o, new_oref=nxt, shares=9,
                                price=50_000 + rng.randint(-60, 60)))
                live[nxt] = [loc, side, 9]
                nxt += 1
    numbered(msgs)
    _, _, _, model = check(msgs, {5: 0, 6: 1})
    assert max(b.max_depth for b in model.books.values()) > 12


def churn(seed, n, locs=(5, 6), levels=40, spread=60):
    """Deep books (up to `levels` per side) churned at the top, back to back: deletes
    and executions of the best levels, adds just behind and ahead of them, replaces
    across the spread, so background refills run among operations on the same side
    (new levels inside the range being searched, the searched level changing)."""
    rng = random.Random(seed)
    live, nxt, msgs = {}, 1 << 40, []
    for _ in range(n):
        loc = rng.choice(locs)
        mine = [o for o, v in live.items() if v[0] == loc]
        r = rng.random()
        if (r < 0.5 or len(mine) < 8) and len(mine) < 2 * levels:
            side = rng.choice("BS")
            off = int(rng.triangular(1, spread, 1))
            px = 70_000 - off if side == "B" else 70_000 + off
            msgs.append(add(nxt, side, rng.randint(1, 50), px, loc))
            live[nxt] = [loc, side, msgs[-1].shares, px]
            nxt += 1
            continue
        # prefer the orders at or near the best of a side
        side = rng.choice("BS")
        ones = [o for o in mine if live[o][1] == side] or mine
        ones.sort(key=lambda o: -live[o][3] if live[o][1] == "B" else live[o][3])
        o = ones[min(len(ones) - 1, int(rng.expovariate(0.4)))]
        if r < 0.7:
            delete_order(msgs, live, loc, o)
        elif r < 0.85:
            reduce_order(msgs, live, loc, o, "E", rng.randint(1, 40))
        else:
            _, s, _, _ = live.pop(o)
            px = 70_000 + rng.randint(-spread, spread)
            msgs.append(Msg(ord("U"), loc, oref=o, new_oref=nxt, shares=9, price=px))
            live[nxt] = [loc, s, 9, px]
            nxt += 1
    return numbered(msgs)


@pytest.mark.parametrize("seed", [21, 120])
def test_background_refills_under_churn(seed):
    """RTL = model with refills running among back-to-back operations on the same
    sides (~140 appends each; seed 120: a full cache pushes its last level out for a
    better one while a search runs from it, which the cache's append guard refuses)."""
    msgs = churn(seed, 1500)
    _, _, _, model = check(msgs, {5: 0, 6: 1}, params=dict(SMALL, orders=512, levels=512))
    assert max(b.max_depth for b in model.books.values()) > 30


def test_another_symbols_reference_touches_only_its_own_message():
    """A corrupted message naming another symbol's order (tickwire/model/book.py: an
    unknown reference there, that book untouched) and a U onto a reference already
    held (the old order leaves, the new one is refused): RTL = model, the message's
    own book flagged."""
    msgs = numbered([
        add(1, "B", 100, 1000, 5), add(2, "S", 40, 1010, 6),
        Msg(ord("D"), 6, oref=1), Msg(ord("E"), 6, oref=1, shares=10),
        Msg(ord("U"), 6, oref=1, new_oref=9, shares=5, price=1005),
        add(3, "B", 7, 990, 5),
        Msg(ord("U"), 5, oref=1, new_oref=2, shares=5, price=999),
        add(4, "B", 8, 995, 5),
    ])
    subs = {5: 0, 6: 1}
    bbo, _, ev, _, _ = run_book(msgs, subs)
    rows, _, model = model_rows(msgs, subs)
    assert [r[:-1] for r in bbo] == [r[:-1] for r in rows]
    assert ev["unknown_ref"] == model.counts["unknown_ref"] == 3
    # slot 1 flagged by its unknown references (the flag is the slot's state when the
    # update leaves, so its own row already shows it), slot 0 by the refused U
    assert [r[-1] for r in bbo] == [0, 1, 1, 1]


#: The lab build's book knobs (rtl/config.py BUILDS["lab"]): top 1, one background
#: level (an 8-level cache), 2 x 2-way order sets, 2 x 2-way level sets and tree leaves.
LAB_KNOBS = dict(top_n=1, background=1, ways=4, level_ways=4)


def test_lab_knobs_drain_and_churn():
    """The smallest cache and tables the builds use: a deep side drained best-first to
    empty (every level a refill, the input held below the low-water mark at once) and
    refills among back-to-back operations stay RTL = model."""
    msgs = churn(7, 900, levels=30)
    _, _, _, model = check(msgs, {5: 0, 6: 1},
                           params=dict(SMALL, orders=512, levels=512, **LAB_KNOBS))
    assert max(b.max_depth for b in model.books.values()) > 20
    drain = []
    for i in range(30):
        drain.append(add(9000 + i, "B", 10 + i, 40_000 + 3 * i))
    for i in reversed(range(30)):
        drain.append(Msg(ord("D"), L, oref=9000 + i))
    ev, _, _, _ = check(numbered(drain), {L: 0},
                        params=dict(SMALL, orders=256, levels=256, **LAB_KNOBS))
    assert ev["msgs"] == len(drain)


def test_commands_racing_a_deep_drain():
    """Subscription commands strobed between messages while deep sides drain best first
    (next-best searches and refills in flight): each waits until the book is idle (the
    idle test is registered, rtl/book/order_book.py), is never dropped, and takes effect
    exactly between the messages around it. Slot 1 (locate 6) is remapped to locate 8
    halfway through its drain: a refill landing after the MAP's clear would put locate
    6's levels into locate 8's fresh book. UNMAPs of an unused locate run the same idle
    path while slot 0 (locate 5) drains; its book stays exact throughout."""
    from tickwire.control.regmap import BOOK_SUB_CMD_MAP, BOOK_SUB_CMD_UNMAP
    from tickwire.model.book import BookModel
    rng = random.Random(7)
    msgs, ref, refs = [], 5000, {5: {}, 6: {}}
    prices = {5: rng.sample(range(40_000, 41_000), 40), 6: rng.sample(range(20_000, 21_000), 40)}
    for px5, px6 in zip(prices[5], prices[6]):
        for loc, px in ((5, px5), (6, px6)):
            refs[loc][px] = ref
            msgs.append(add(ref, "B", rng.randint(1, 90), px, loc))
            ref += 1
    cmds = {}
    drain = list(zip(sorted(prices[5], reverse=True), sorted(prices[6], reverse=True)))
    for k, (px5, px6) in enumerate(drain):
        if k in (3, 17, 29):
            cmds[len(msgs)] = (7, 1, BOOK_SUB_CMD_UNMAP)
        if k == 12:                     # slot 1 to locate 8, mid-drain of locate 6
            cmds[len(msgs)] = (8, 1, BOOK_SUB_CMD_MAP)
        msgs.append(Msg(ord("D"), 5, oref=refs[5][px5]))
        if k < 12:
            msgs.append(Msg(ord("D"), 6, oref=refs[6][px6]))
        else:                           # locate 8's own book in slot 1
            msgs.append(add(ref, "BS"[k % 2], 5 + k, 30_000 + (k % 2) * 500 + k, 8))
            ref += 1
    numbered(msgs)
    bbo, _, ev, _, _ = run_book(msgs, {5: 0, 6: 1}, params=dict(SMALL, orders=256, levels=256),
                                cmds=cmds)
    model, rows = BookModel({5: 0, 6: 1}, top_n=SMALL["top_n"]), []
    for i, m in enumerate(msgs):
        if i in cmds and cmds[i][2] == BOOK_SUB_CMD_MAP:
            model.subscribe(cmds[i][0], cmds[i][1])
        e = model.apply(m)
        if e is not None:
            rows.append((e.seq, e.locate, e.slot, e.bid_px, e.bid_qty, e.bid_orders, e.ask_px,
                         e.ask_qty, e.ask_orders, int(e.halted), 0))
    assert bbo == rows
    assert len([r for r in bbo if r[1] == 8]) > 10, "locate 8 never reached slot 1"
    assert ev["cmd_dropped"] == 0 and ev["level_miss"] == 0
