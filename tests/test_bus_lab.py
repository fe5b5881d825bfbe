"""The lab top's register-bus plumbing (rtl/board): a request/ack master through
CsrSplit reaches the CSR bank through CsrReqToAxiLite + the core's AXI4-Lite slave
below the split address, and the FeedPlayer above it; the player plays the beats it
was given on both XGMII outputs, feed B `delay` cycles late, and idles a dropped feed."""
import random

from amaranth.hdl import Module
from amaranth.lib import wiring

from clocked import simulate
from tickwire.rtl.board.bus import CsrReqMux, CsrReqToAxiLite, CsrSplit
from tickwire.rtl.board.player import IDLE_C, IDLE_D, FeedPlayer
from tickwire.rtl.host.bus.arbiter import CsrArbiter
from tickwire.rtl.host.bus.axil import AxiLiteToCsrReq
from tickwire.rtl.host.csr import CsrBank
from tickwire.rtl.regmap.dsl import Block, Instance, Map, Reg

BASE = 0x100
TMAP = Map("t", 1, [Instance("b", 0, Block("b", "test", tuple(
    Reg(f"r{i}", "control", "scratch", reset=0x100 + i) for i in range(4))))])


class Dut(wiring.Component):
    def __init__(self):
        super().__init__({})
        self.mux, self.split, self.player = CsrReqMux(), CsrSplit(BASE), FeedPlayer(64)

    def elaborate(self, platform):
        m = Module()
        m.submodules.mux, m.submodules.split, m.submodules.player = self.mux, self.split, self.player
        m.submodules.a2x = a2x = CsrReqToAxiLite()
        m.submodules.slave = slave = AxiLiteToCsrReq()
        m.submodules.arb = arb = CsrArbiter(1)
        m.submodules.bank = bank = CsrBank(TMAP)
        wiring.connect(m, self.mux.o, self.split.i)
        wiring.connect(m, self.split.lo, a2x.i)
        wiring.connect(m, a2x.axil, slave.axil)
        wiring.connect(m, slave.csr, arb.m0)
        wiring.connect(m, arb.bus, bank.bus)
        wiring.connect(m, self.split.hi, self.player.csr)
        return m


async def transact(ctx, mp, kind, a, data=0):
    ctx.set(mp.addr, a)
    ctx.set(mp.w_data, data)
    ctx.set(mp.w_stb if kind == "w" else mp.r_stb, 1)
    for _ in range(50):
        await ctx.tick()
        if ctx.get(mp.ack):
            v = ctx.get(mp.r_data)
            await ctx.tick()
            ctx.set(mp.w_stb, 0)
            ctx.set(mp.r_stb, 0)
            assert not ctx.get(mp.ack), "two acks for one request"
            return v
    raise AssertionError("no ack")


def test_split_bank_and_player():
    dut = Dut()
    rng = random.Random(3)
    beats = [(rng.getrandbits(64), rng.getrandbits(8)) for _ in range(20)]

    async def bench(ctx):
        a, b = dut.mux.a, dut.mux.b
        for i in range(4):
            assert await transact(ctx, a, "r", 4 * i) == 0x100 + i
        await transact(ctx, b, "w", 8, 0xDEAD_BEEF)                # the other master
        assert await transact(ctx, a, "r", 8) == 0xDEAD_BEEF
        assert await transact(ctx, a, "r", BASE + 28) == 64        # player DEPTH
        await transact(ctx, a, "w", BASE + 12, 0)
        for d, c in beats:
            await transact(ctx, a, "w", BASE + 16, d & 0xFFFF_FFFF)
            await transact(ctx, a, "w", BASE + 20, d >> 32)
            await transact(ctx, a, "w", BASE + 24, c)
        await transact(ctx, a, "w", BASE + 4, len(beats))
        for delay, ctrl in ((3, 0b1), (0, 0b1001)):               # B late; then B dropped
            await transact(ctx, a, "w", BASE + 8, delay)
            p = dut.player
            await transact(ctx, a, "w", BASE, ctrl)
            got = {"a": [], "b": []}                              # (cycle, beat) not idle
            for cyc in range(len(beats) + delay + 8):
                for f in "ab":
                    g = (ctx.get(getattr(p, f"xgmii_{f}_d")), ctx.get(getattr(p, f"xgmii_{f}_c")))
                    if g != (IDLE_D, IDLE_C):
                        got[f].append((cyc, g))
                await ctx.tick()
            assert [g for _, g in got["a"]] == beats
            if ctrl & 0b1000:
                assert got["b"] == []
            else:
                assert [g for _, g in got["b"]] == beats
                assert got["b"][0][0] - got["a"][0][0] == delay
        assert (await transact(ctx, a, "r", BASE)) >> 16 == 2      # two passes
    simulate(dut, bench)
