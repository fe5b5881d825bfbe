"""exposure.beyond: x > (a + b) mod 2**64 from x - b and a on one two-operand chain,
against the rule as written, for random and extreme words: a bucket near 2**64 whose
next tat wraps, a release (b = -q mod 2**64) larger or smaller than what is open, x
below b, equal values."""
import random

from amaranth.hdl import Module, Signal, signed
from amaranth.sim import Simulator

from tickwire.rtl.risk.exposure import beyond

M64 = (1 << 64) - 1


def _cases(rng):
    small = [0, 1, 3, (1 << 32) - 1]
    edge_x = [0, 1, 5, (1 << 32) - 1, 1 << 32, M64 - (1 << 32), M64 - 1, M64]
    edge_a = [0, 1, 7, M64 - (1 << 32) + 1, M64 - 3, M64]
    edge_b = small + [(-q) & M64 for q in small[1:]] + [1 << 63, M64]
    for x in edge_x:
        for a in edge_a:
            for b in edge_b:
                yield x, a, b
    for _ in range(3000):
        a = rng.choice([rng.randrange(1 << 64), rng.randrange(1 << 34)])
        b = rng.choice([rng.randrange(1 << 32), (-rng.randrange(1 << 32)) & M64,
                        rng.randrange(1 << 64)])
        x = rng.choice([rng.randrange(1 << 64), (a + b + rng.randrange(-3, 4)) & M64,
                        rng.randrange(1 << 33)])
        yield x, a, b


def test_beyond_is_the_rule_mod_2_64():
    m = Module()
    x_p, a, b = Signal(signed(66)), Signal(64), Signal(64)
    out = Signal()
    m.d.comb += out.eq(beyond(m, x_p, a, b, "t"))
    cases = list(_cases(random.Random(7)))
    bad = []

    async def bench(ctx):
        for x, av, bv in cases:
            ctx.set(x_p, x - bv)
            ctx.set(a, av)
            ctx.set(b, bv)
            if ctx.get(out) != int(x > ((av + bv) & M64)):
                bad.append((x, av, bv))

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert len(cases) > 3000 and not bad, bad[:5]
