"""The price tree's key map and digits (rtl/book/price_tree.py): ordering is exact for
every Price(4) value, digits and prefixes rebuild the key, lowest_set in hardware, and
the Subscriptions table (rtl/book/subscriptions.py)."""
import random

from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from tickwire.rtl.book.price_tree import BITS, DEPTHS, digit, lowest_set, prefix, tree_key
from tickwire.rtl.book.subscriptions import Subscriptions

EDGES = [0, 1, 99, 100, 9_999, 10_000, 10_001, 2**31 - 1, 2**31, 2**32 - 2, 2**32 - 1]


def test_better_is_smaller_key_on_both_sides():
    rng = random.Random(1)
    prices = EDGES + [rng.randrange(2**32) for _ in range(2000)]
    for a, b in zip(prices, prices[1:] + prices[:1]):
        if a == b:
            continue
        assert (tree_key(a, 1) < tree_key(b, 1)) == (a < b)       # asks: lower is better
        assert (tree_key(a, 0) < tree_key(b, 0)) == (a > b)       # bids: higher is better
        assert tree_key(tree_key(a, 0), 0) == a                   # the bid map inverts itself


def test_digits_rebuild_the_key():
    rng = random.Random(2)
    for k in EDGES + [rng.randrange(2**32) for _ in range(500)]:
        acc = 0
        for d in range(DEPTHS):
            assert prefix(k, d) == acc
            acc = acc << BITS[d] | digit(k, d)
        assert acc == k


def test_lowest_set_in_hardware():
    m = Module()
    x = Signal(64)
    found, idx = lowest_set(m, x, "t")
    rng = random.Random(3)
    cases = [0, 1, 1 << 63, 2**64 - 1] + [rng.getrandbits(64) & ~((1 << rng.randrange(64)) - 1)
                                          for _ in range(200)]

    async def bench(ctx):
        for v in cases:
            ctx.set(x, v)
            await ctx.delay(1e-9)
            assert ctx.get(found) == (v != 0)
            if v:
                assert ctx.get(idx) == (v & -v).bit_length() - 1

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()


def test_subscriptions_answer_two_cycles_later():
    dut = Subscriptions(locate_bits=4, slot_bits=3)
    got = []

    async def bench(ctx):
        ctx.set(dut.w.valid, 1)
        for loc, slot in ((3, 5), (9, 2)):
            ctx.set(dut.w.payload.locate, loc)
            ctx.set(dut.w.payload.entry.valid, 1)
            ctx.set(dut.w.payload.entry.slot, slot)
            await ctx.tick()
        ctx.set(dut.w.valid, 0)
        for cyc, loc in enumerate([3, 9, 4, 3 + 16, 9, 0, 0]):
            ctx.set(dut.i.valid, cyc < 5)
            ctx.set(dut.i.payload, loc)
            if ctx.get(dut.o.valid):
                got.append((ctx.get(dut.o.payload.valid), ctx.get(dut.o.payload.slot)))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(6.4e-9)
    sim.add_testbench(bench)
    sim.run()
    assert [g if g[0] else (0,) for g in got] == [(1, 5), (1, 2), (0,), (0,), (1, 2)]
