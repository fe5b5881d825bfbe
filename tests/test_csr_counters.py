"""The CSR bank's counters through the arbiter: a LO read returns exactly the count
of every increment up to and including the bank's r_stb cycle, the HI read the half latched by
that LO read (shared with wide status registers), under every-cycle increments."""
import random

from amaranth.hdl import Module
from amaranth.sim import Simulator

from tickwire.rtl.host.bus.arbiter import CsrArbiter
from tickwire.rtl.host.csr import CsrBank
from tickwire.rtl.regmap.dsl import Block, Instance, Map, Reg

STEPS = (1, 2, 3, 16, 1, 64)
TMAP = Map("t", 1, [Instance("b", 0, Block("b", "test", tuple(
    [Reg(f"c{i}", "counter", "count", step=s) for i, s in enumerate(STEPS)]
    + [Reg("wide", "status", "wide status", width=64),
       Reg("scratch", "control", "scratch")])))])
MASK = (1 << 64) - 1


def _bank_behind_arbiter():
    """(module, bank, arbiter): TMAP's bank on a one-master arbiter, as the core has it."""
    m = Module()
    m.submodules.bank = bank = CsrBank(TMAP)
    m.submodules.arb = arb = CsrArbiter(1)
    m.d.comb += [bank.bus.addr.eq(arb.bus.addr), bank.bus.r_stb.eq(arb.bus.r_stb),
                 bank.bus.w_stb.eq(arb.bus.w_stb), bank.bus.w_data.eq(arb.bus.w_data),
                 arb.bus.r_data.eq(bank.bus.r_data)]
    return m, bank, arb


def _run(m, bench):
    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_counter_reads_are_exact():
    m, bank, arb = _bank_behind_arbiter()
    regs = {p.name: p for p in TMAP.registers()}
    ports = [bank.port(f"b.c{i}") for i in range(len(STEPS))]
    rng = random.Random(11)
    sums = [0] * len(STEPS)
    mp = arb.m0
    checks = []

    async def bench(ctx):
        async def cycle():
            # the bank sees this cycle's r_stb: the count it must return is sums with
            # this cycle's increments
            stb = ctx.get(bank.bus.r_stb)
            addr = ctx.get(bank.bus.addr)
            for i, s in enumerate(STEPS):
                v = rng.choice((0, (1 << s) - 1, rng.getrandbits(s)))
                ctx.set(ports[i].inc, v)
                sums[i] += v
            snap = list(sums)
            ctx.set(bank.port("b.wide").value, 0x1234_5678_9ABC_DEF0)
            await ctx.tick()
            return (addr, snap) if stb else None

        async def read(a):
            ctx.set(mp.addr, a)
            ctx.set(mp.r_stb, 1)
            seen = None
            for _ in range(20):
                seen = await cycle() or seen
                if ctx.get(mp.ack):
                    v = ctx.get(mp.r_data)
                    ctx.set(mp.r_stb, 0)
                    await cycle()
                    assert seen[0] == a
                    return v, seen[1]
            raise AssertionError("no ack")

        for _ in range(40):
            await cycle()
        for _ in range(150):
            i = rng.randrange(len(STEPS))
            base = regs[f"b.c{i}"].addr
            lo, snap = await read(base)
            if rng.random() < 0.3:              # another wide LO read takes the shadow
                assert (await read(regs["b.wide"].addr))[0] == 0x9ABC_DEF0
                hi, _ = await read(base + 4)
                assert hi == 0x1234_5678
            else:
                hi, _ = await read(base + 4)
                assert (hi << 32 | lo) == snap[i] & MASK, (i, hex(hi << 32 | lo), hex(snap[i]))
            checks.append(i)
            for _ in range(rng.randint(0, 30)):
                await cycle()

    _run(m, bench)
    assert len(set(checks)) == len(STEPS)


def test_wide_status_read_is_one_snapshot():
    """A wide status register changing every cycle: LO and the HI latched by that LO
    read (registered a stage later since the read mux was pipelined) are both the
    value of the bank's r_stb cycle."""
    m, bank, arb = _bank_behind_arbiter()
    addr = {p.name: p.addr for p in TMAP.registers()}["b.wide"]
    value = bank.port("b.wide").value
    k = (1 << 31) + 3                   # HI moves every other cycle, LO every cycle
    rng = random.Random(12)
    mp = arb.m0
    seen = []

    async def bench(ctx):
        t = 0

        async def cycle():
            nonlocal t
            ctx.set(value, (t * k) & MASK)
            stb = ctx.get(bank.bus.r_stb) and ctx.get(bank.bus.addr) == addr
            await ctx.tick()
            t += 1
            return t - 1 if stb else None

        async def read(a):
            ctx.set(mp.addr, a)
            ctx.set(mp.r_stb, 1)
            at = None
            for _ in range(20):
                got = await cycle()
                at = got if got is not None else at
                if ctx.get(mp.ack):
                    v = ctx.get(mp.r_data)
                    ctx.set(mp.r_stb, 0)
                    await cycle()
                    return v, at
            raise AssertionError("no ack")

        for _ in range(50):
            lo, at = await read(addr)
            hi, _ = await read(addr + 4)
            assert (hi << 32 | lo) == (at * k) & MASK, (at, hex(hi << 32 | lo))
            seen.append(at)
            for _ in range(rng.randint(0, 5)):
                await cycle()

    _run(m, bench)
    assert len(seen) == 50
