"""rtl/risk/arith.py: registered DSP partial products summed with one carry chain give
the exact product (and sums with extra terms), for random and extreme operands."""
import random

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from clocked import simulate
from tickwire.rtl.risk.arith import partial_products, signed_sum, sum_terms
from tickwire.rtl.risk.checks import tau_parts, tau_whole
from tickwire.rtl.risk.layouts import TAU_W


class MulAdd(wiring.Component):
    """(a x b + c) mod 2^width, one cycle after a, b, c."""

    def __init__(self, wa, wb, wc, width):
        self.width = width
        super().__init__({"a": In(wa), "b": In(wb), "c": In(wc), "o": Out(width)})

    def elaborate(self, platform):
        m = Module()
        p = partial_products(m, self.a, self.b, 1, "p")
        c = Signal.like(self.c)
        m.d.sync += c.eq(self.c)
        m.d.comb += self.o.eq(sum_terms(p + [(c, 0)], self.width) if len(p) < 3 or
                              len(self.c) == 0 else sum_terms(p, self.width) + c)
        return m


def check(wa, wb, wc, width, n=200):
    dut, rng = MulAdd(wa, wb, wc, width), random.Random(wa * 100 + wb)
    cases = [((1 << wa) - 1, (1 << wb) - 1, (1 << wc) - 1), (0, 0, 0), (1, (1 << wb) - 1, 0)]
    cases += [(rng.getrandbits(wa), rng.getrandbits(wb), rng.getrandbits(wc)) for _ in range(n)]

    async def bench(ctx):
        for a, b, c in cases:
            ctx.set(dut.a, a)
            ctx.set(dut.b, b)
            ctx.set(dut.c, c)
            await ctx.tick()
            assert ctx.get(dut.o) == (a * b + c) % (1 << width), (a, b, c)
    simulate(dut, bench)


def test_32x32():            # notional: 4 products, p00 and p11 concatenated, 3:2 layer
    check(32, 32, 1, 64)


def test_32x33():            # collar bound ask x (10000 + collar)
    check(32, 33, 1, 66)


def test_16x32_plus_64():    # t - interval + burst x interval (three operands)
    check(16, 32, 64, 66)


def test_32x14():            # price x 10000
    check(32, 14, 1, 46)


class SignedSum(wiring.Component):
    """signed_sum of four operands (two signed, two unsigned), each added or negated."""

    def __init__(self, negs, width=68):
        self.negs, self.width = negs, width
        super().__init__({"a": In(signed(66)), "b": In(64), "c": In(signed(34)), "d": In(32),
                          "o": Out(signed(width))})

    def elaborate(self, platform):
        m = Module()
        ops = [(v, n) for v, n in zip((self.a, self.b, self.c, self.d), self.negs) if n is not None]
        m.d.comb += self.o.eq(signed_sum(ops, self.width))
        return m


def test_signed_sum_is_exact_for_two_to_four_operands():
    rng = random.Random(7)
    for negs in ((0, 1, None, None), (1, 0, None, None), (0, 1, 1, None), (0, 1, 1, 1),
                 (1, 1, 0, 1)):
        dut = SignedSum(negs)
        vals = [(-(1 << 65), (1 << 64) - 1, -(1 << 33), (1 << 32) - 1), (0, 0, 0, 0)]
        vals += [(rng.randrange(-(1 << 65), 1 << 65), rng.getrandbits(64),
                  rng.randrange(-(1 << 33), 1 << 33), rng.getrandbits(32)) for _ in range(200)]

        async def bench(ctx):
            for v in vals:
                for port, x in zip((dut.a, dut.b, dut.c, dut.d), v):
                    ctx.set(port, x)
                await ctx.delay(1e-9)
                want = sum(-x if n else x for x, n in zip(v, negs) if n is not None)
                assert ctx.get(dut.o) == want, (negs, v)
        sim = Simulator(dut)           # combinational: no clock
        sim.add_testbench(bench)
        sim.run()


class TauWhole(wiring.Component):
    """rtl/risk/checks.py tau_whole over tau_parts, combinational."""
    t: In(64)
    burst: In(16)
    interval: In(32)
    interval_ahead: In(32)
    tau: Out(TAU_W)
    tau_p: Out(TAU_W)

    def elaborate(self, platform):
        m = Module()
        tau, tau_p = tau_whole(*tau_parts(self.t, self.burst, self.interval),
                               self.interval_ahead)
        m.d.comb += [self.tau.eq(tau), self.tau_p.eq(tau_p)]
        return m


def test_tau_whole_is_t_tau_and_t_tau_less_the_ahead_interval():
    """tau = t + (burst-1) x interval (mod 2**TAU_W, exact: the value fits), burst 0
    (t - interval, below zero when t < interval) included; tau_p the same less the
    ahead order's interval."""
    rng, dut = random.Random(11), TauWhole()
    top = ((1 << 64) - 1, (1 << 16) - 1, (1 << 32) - 1)
    vals = [top, (0, 0, 0), (0, 0, top[2]), (top[0], 1, top[2]), (5, 0, 7), (0, top[1], top[2])]
    vals += [(rng.choice([rng.getrandbits(64), rng.getrandbits(20)]), rng.getrandbits(16),
              rng.choice([rng.getrandbits(32), rng.getrandbits(17), 1 << 17])) for _ in range(300)]
    aheads = [(1 << 32) - 1, 0] + [rng.getrandbits(32) for _ in vals[2:]]

    async def bench(ctx):
        for (t, burst, iv), ia in zip(vals, aheads):
            ctx.set(dut.t, t)
            ctx.set(dut.burst, burst)
            ctx.set(dut.interval, iv)
            ctx.set(dut.interval_ahead, ia)
            await ctx.delay(1e-9)
            tau = t + (burst - 1) * iv
            assert ctx.get(dut.tau) == tau % (1 << TAU_W), (t, burst, iv)
            assert ctx.get(dut.tau_p) == (tau - ia) % (1 << TAU_W), (t, burst, iv, ia)
    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
