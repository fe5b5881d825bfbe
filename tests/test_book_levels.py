"""rtl/book/levels.py against a plain sorted-dict reference, in the Amaranth simulator.

Small K (the Python simulator cannot compile K=64's prefix chains) and a random mix of
adds, reductions and removals on both sides, including overflow past the kept depth
and operations at or beyond the side's floor (the best untracked price).
"""
import random

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data
from amaranth.sim import Simulator

from tickwire.rtl.book.layouts import Floor
from tickwire.rtl.book.levels import apply_level_op
from tickwire.rtl.layouts import Level

K = 6


def reference(levels, floor, ask, px, dq, do):
    """levels: list of (px, qty, orders) best first; floor: best untracked price or None.

    Returns (new levels, new floor, overflow, miss). Written from the levels.py contract:
    kept levels are exact and strictly better than the floor; a level falling past K
    becomes the floor; adds/reductions at or beyond the floor are not tracked.
    """
    def better(a, b):
        return a < b if ask else a > b
    tracked = floor is None or better(px, floor)
    book = {p: [q, o] for p, q, o in levels}
    over = miss = False
    if px in book:
        book[px][0] += dq
        book[px][1] += do
        if book[px][1] == 0:
            del book[px]
    elif do == 1 and tracked:
        book[px] = [dq, 1]
        if len(book) > K:
            worst = max(book) if ask else min(book)
            del book[worst]
            floor, over = worst, True
    elif do != 1:
        miss = tracked
    out = sorted(book.items(), key=lambda kv: kv[0] if ask else -kv[0])
    return [(p, q, o) for p, (q, o) in out], floor, over, miss


def test_level_ops_random():
    m = Module()
    arr = Signal(data.ArrayLayout(Level, K))
    floor = Signal(Floor)
    ask = Signal()
    px = Signal(32)
    dq = Signal(signed(33))
    do = Signal(signed(2))
    en = Signal()
    out, out_floor, overflow, miss = apply_level_op(m, "t", arr, floor, ask, px, dq, do, en)
    rng = random.Random(5)

    seen = {"overflow": 0, "miss": 0, "remove": 0, "untracked": 0}

    async def bench(ctx):
        for side in (0, 1):
            levels, fl = [], None
            for _ in range(600):
                prices = [p for p, _, _ in levels]
                r = rng.random()
                if r < 0.5 or not levels:
                    p = rng.choice([x for x in range(100, 120) if x not in prices] or [100])
                    op = (p, rng.randint(1, 50), 1) if p not in prices else (p, 5, 1)
                elif r < 0.7:
                    p, q, o = rng.choice(levels)
                    op = (p, -rng.randint(0, q - 1), 0)
                elif r < 0.9:
                    p, q, o = rng.choice(levels)
                    op = (p, -(q // o), -1)
                else:
                    op = (rng.choice([x for x in range(100, 120) if x not in prices] or [999]), -1, -1)
                ctx.set(arr, [dict(px=p, qty=q, orders=o) for p, q, o in levels])
                ctx.set(floor, {"valid": fl is not None, "px": fl or 0})
                ctx.set(ask, side)
                ctx.set(px, op[0])
                ctx.set(dq, op[1])
                ctx.set(do, op[2])
                ctx.set(en, 1)
                got = [(lv["px"], lv["qty"], lv["orders"]) for lv in ctx.get(out)]
                got = [g for g in got if g[2] != 0]
                want, w_fl, w_over, w_miss = reference(levels, fl, side, *op)
                assert got == want, (levels, fl, op)
                assert ctx.get(overflow) == w_over and ctx.get(miss) == w_miss
                g_fl = ctx.get(out_floor)
                assert (g_fl.px if g_fl.valid else None) == w_fl, (levels, fl, op)
                seen["overflow"] += w_over
                seen["miss"] += w_miss
                seen["untracked"] += fl is not None and op[0] not in [p for p, _, _ in levels] \
                    and not (op[0] < fl if side else op[0] > fl)
                seen["remove"] += len(got) < len(levels)
                levels, fl = got, w_fl
        ctx.set(en, 0)
        assert ctx.get(out.as_value()) == ctx.get(arr.as_value())

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert min(seen.values()) > 5, seen
