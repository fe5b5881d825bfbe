"""HashStore (rtl/book/store.py): the read-modify-write every book table is built on,
against a dict, with operations back to back (one every 2 cycles) on few keys so that
nearly every operation depends on the write just before it (forwarding), in one and
two banks, with the compare and modify in one stage or split over two."""
import random

import pytest
from amaranth.hdl import Const, Signal, signed
from amaranth.lib import data
from amaranth.sim import Simulator

from tickwire.rtl.book.store import HashStore

Op = data.StructLayout({"d": signed(8)})


def counter_modify(m, op, hit, old):
    """value += d; the entry leaves at 0; only a positive d creates it."""
    new = Signal(16, name="cnt_new")
    m.d.comb += new.eq(old + op.d)
    return new, new != 0, op.d > 0


def run(ops, spacing, **kw):
    dut = HashStore(key_bits=12, value_shape=16, op_shape=Op, ctx_shape=8, modify=counter_modify,
                    **kw)
    got = []

    async def bench(ctx):
        pending = list(ops)
        i = 0
        for cyc in range(len(ops) * spacing + 10):
            if cyc % spacing == 0 and pending:
                key, d, en = pending.pop(0)
                ctx.set(dut.i.valid, 1)
                ctx.set(dut.i.payload.key, key)
                ctx.set(dut.i.payload.op.d, d)
                ctx.set(dut.i.payload.en, en)
                ctx.set(dut.i.payload.ctx, i & 0xFF)
                i += 1
            else:
                ctx.set(dut.i.valid, 0)
            if ctx.get(dut.o.valid):
                p = ctx.get(dut.o.payload)
                got.append((p.key, p.hit, p.created, p.removed, p.full, p.old, p.new))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(6.4e-9)
    sim.add_testbench(bench)
    sim.run()
    return got


def reference(ops, capacity_of):
    """The dict model; capacity_of(table, key) says whether a new key finds room."""
    table, out = {}, []
    for key, d, en in ops:
        old = table.get(key, 0)
        hit = key in table
        new = old + d
        created = removed = full = 0
        if en and hit:
            if new & 0xFFFF == 0:
                del table[key]
                removed = 1
            else:
                table[key] = new & 0xFFFF
        elif en and d > 0:
            if capacity_of(table, key):
                table[key] = new & 0xFFFF
                created = 1
            else:
                full = 1
        wrote = en and (hit or created)
        out.append((key, int(hit), created, removed, full, old, (new & 0xFFFF) if wrote else old))
    return out


@pytest.mark.parametrize("banks,split", [(1, False), (2, False), (1, True), (2, True)])
@pytest.mark.parametrize("spacing", [2, 3])
def test_back_to_back_against_a_dict(banks, split, spacing):
    rng = random.Random(banks * 10 + split + spacing)
    keys = [rng.randrange(4096) for _ in range(6)]          # few keys: every op depends
    ops = [(rng.choice(keys), rng.choice([1, 1, 2, -1, -1, 3]), int(rng.random() < 0.9))
           for _ in range(300)]
    got = run(ops, spacing, sets=64, ways=2, banks=banks, split=split)
    assert got == reference(ops, lambda t, k: True)


def test_a_full_set_is_reported_and_nothing_written():
    """Direct index, one way, 4 sets: keys 1 and 5 share set 1."""
    ops = [(1, 1, 1), (5, 1, 1), (1, 1, 1), (5, -1, 1), (1, -2, 1), (5, 1, 1), (5, 1, 1)]
    got = run(ops, 2, sets=4, ways=1, index="direct")
    want = reference(ops, lambda t, k: not any(x % 4 == k % 4 for x in t))
    assert got == want
    assert [g[4] for g in got] == [0, 1, 0, 0, 0, 0, 0]


def test_probe_writes_nothing():
    ops = [(7, 3, 1), (7, 5, 0), (7, -3, 1), (7, 1, 0)]
    got = run(ops, 2, sets=16, ways=2)
    assert got == reference(ops, lambda t, k: True)
    assert got[1][5:] == (3, 3) and got[2][3] == 1 and got[3][1] == 0
