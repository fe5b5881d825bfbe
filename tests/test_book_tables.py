"""The order-table and level-table changes (rtl/book/tables.py) against the ITCH rules
the model follows: adds (and U's add on the replaced order's side), executions and
cancels (partial or to zero, beyond the size), deletes, and a reduction or delete
naming another symbol's order (left alone); level aggregates by delta."""
import random

from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from tickwire.rtl.book.tables import (ADD, DELETE, REDUCE, LevelOp, LevelVal, OrderOp, OrderVal,
                                      level_modify, order_modify)


def test_order_changes():
    m = Module()
    u_side, u_ok, hit, slot = Signal(), Signal(), Signal(), Signal(8)
    op, old = Signal(OrderOp), Signal(OrderVal)
    new, keep, create = order_modify(u_side, u_ok, slot)(m, op, hit, old)
    rng = random.Random(4)

    async def bench(ctx):
        for _ in range(500):
            kind = rng.choice([ADD, REDUCE, DELETE])
            o = dict(kind=kind, side=rng.getrandbits(1), shares=rng.choice([1, 50, 100, 2**32 - 1]),
                     price=rng.getrandbits(32), u2=int(kind == ADD and rng.random() < 0.3))
            ov = dict(side=rng.getrandbits(1), price=rng.getrandbits(32),
                      shares=rng.choice([1, 50, 100, 777]), slot=rng.choice([3, 3, 3, 9]))
            h, us, uo = rng.getrandbits(1), rng.getrandbits(1), rng.getrandbits(1)
            for k, v in o.items():
                ctx.set(getattr(op, k), v)
            for k, v in ov.items():
                ctx.set(getattr(old, k), v)
            ctx.set(hit, h)
            ctx.set(slot, 3)
            ctx.set(u_side, us)
            ctx.set(u_ok, uo)
            await ctx.delay(1e-9)
            got = (ctx.get(new.side), ctx.get(new.price), ctx.get(new.shares), ctx.get(keep))
            if kind != ADD and ov["slot"] != 3:      # another symbol's order: untouched
                want = (ov["side"], ov["price"], ov["shares"], 1)
                assert ctx.get(create) == 0
            elif kind == ADD:
                want = ((ov["side"], ov["price"], ov["shares"]) if h else
                        (us if o["u2"] else o["side"], o["price"], o["shares"])) + (1,)
                assert ctx.get(create) == (uo if o["u2"] else 1)
            elif kind == REDUCE:                     # E/C/X: min(n, left) leaves the order
                left = ov["shares"] - min(o["shares"], ov["shares"])
                want = (ov["side"], ov["price"], left, int(left != 0))
                assert ctx.get(create) == 0
            else:
                want = (ov["side"], ov["price"], 0, 0)
                assert ctx.get(create) == 0
            assert got == want, (o, ov, h)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()


def test_level_changes():
    m = Module()
    op, old, hit = Signal(LevelOp), Signal(LevelVal), Signal()
    new, keep, create = level_modify(m, op, hit, old)
    rng = random.Random(5)

    async def bench(ctx):
        for _ in range(300):
            orders = rng.randint(1, 5)
            qty = rng.randint(orders, 10_000)
            dord = rng.choice([-1, 0, 1])
            dq = rng.randint(1, 100) * (1 if dord == 1 else -1)
            ctx.set(old.orders, orders)
            ctx.set(old.qty, qty)
            ctx.set(op.dord, dord)
            ctx.set(op.dq, dq)
            await ctx.delay(1e-9)
            assert ctx.get(new.qty) == (qty + dq) % 2**32
            assert ctx.get(new.orders) == orders + dord
            assert ctx.get(keep) == int(orders + dord != 0)
            assert ctx.get(create) == int(dord == 1)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
