"""CsrReqCdc between a 250 MHz PCIe user clock and the 156.25 MHz core clock.

The test top is the crossing + the arbiter + a CSR bank of scratch controls and one
counter, the bank in the core clock. A master in the PCIe domain (the BAR completer's
side) writes and reads back random values with random gaps, checks every read
against what it wrote, and counts acks: each request must get exactly one. A
second run swaps the clocks' speeds (up slower than down)."""
import os
import random
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

REGS = 8


async def transact(dut, kind, addr, data=0, max_wait=200):
    """One request with the hold-until-ack protocol, in the up (PCIe) domain: inputs
    change and outputs are sampled on the falling edge (settled, between two edges)."""
    dut.up__addr.value = addr
    dut.up__w_data.value = data
    (dut.up__w_stb if kind == "w" else dut.up__r_stb).value = 1
    for cycles in range(1, max_wait):
        await FallingEdge(dut.pcie_clk)
        if int(dut.up__ack.value):
            value = int(dut.up__r_data.value)
            dut.up__w_stb.value = 0
            dut.up__r_stb.value = 0
            await FallingEdge(dut.pcie_clk)
            assert not int(dut.up__ack.value), "a second ack for one request"
            return value, cycles
    raise AssertionError(f"no ack for {kind} 0x{addr:x}")


@cocotb.test()
async def random_traffic(dut):
    up_ns, down_ns = (4.0, 6.4) if os.environ.get("CDC_SWAP") != "1" else (6.4, 4.0)
    cocotb.start_soon(Clock(dut.pcie_clk, up_ns, unit="ns").start())
    cocotb.start_soon(Clock(dut.clk, down_ns, unit="ns").start(start_high=False))
    for s in ("up__addr", "up__w_data", "up__w_stb", "up__r_stb", "inc"):
        getattr(dut, s).value = 0
    dut.rst.value = dut.pcie_rst.value = 1
    for _ in range(4):
        await RisingEdge(dut.clk)
    dut.rst.value = dut.pcie_rst.value = 0
    for _ in range(4):
        await FallingEdge(dut.pcie_clk)

    rng = random.Random(5)
    shadow = {i: 0x100 + i for i in range(REGS)}
    for i in range(REGS):                       # reset values through the crossing
        assert (await transact(dut, "r", 4 * i))[0] == shadow[i]
    lat = []
    for _ in range(300):
        i = rng.randrange(REGS)
        if rng.random() < 0.5:
            shadow[i] = rng.getrandbits(32)
            _, c = await transact(dut, "w", 4 * i, shadow[i])
        else:
            v, c = await transact(dut, "r", 4 * i)
            assert v == shadow[i], (i, hex(v), hex(shadow[i]))
        lat.append(c)
        for _ in range(rng.choice([0, 0, 1, 5])):
            await FallingEdge(dut.pcie_clk)
    # the counter, incremented in the core domain, reads back monotonically
    dut.inc.value = 1
    seen = []
    for _ in range(5):
        seen.append((await transact(dut, "r", 4 * REGS))[0])
    assert seen == sorted(seen) and seen[-1] > seen[0]
    dut._log.info("round trip %d..%d up-clock cycles", min(lat), max(lat))


def _top():
    from amaranth.hdl import Module
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    from tickwire.rtl.host.bus.arbiter import CsrArbiter, CsrReqSignature
    from tickwire.rtl.host.bus.cdc import CsrReqCdc
    from tickwire.rtl.host.csr import CsrBank
    from tickwire.rtl.regmap.dsl import Block, Instance, Map, Reg

    regs = tuple(Reg(f"r{i}", "control", "scratch", reset=0x100 + i) for i in range(REGS))
    tmap = Map("t", 1, [Instance("b", 0, Block("b", "test", regs + (
        Reg("n", "counter", "cycles with inc"),)))])

    class CdcTop(wiring.Component):
        up: In(CsrReqSignature())
        inc: In(1)

        def elaborate(self, platform):
            m = Module()
            m.submodules.cdc = cdc = CsrReqCdc("pcie", "sync")
            m.submodules.arb = arb = CsrArbiter(1)
            m.submodules.bank = bank = CsrBank(tmap)
            wiring.connect(m, wiring.flipped(self.up), cdc.up)
            wiring.connect(m, cdc.down, arb.m0)
            wiring.connect(m, arb.bus, bank.bus)
            m.d.comb += bank.port("b.n").inc.eq(self.inc)
            return m
    return CdcTop()


def _run(swap):
    from tickwire.tools.build.simrun import run_cocotb
    run_cocotb(_top(), "tw_cdc", "test_cdc", Path(__file__).parent,
               extra_env={"CDC_SWAP": "1" if swap else "0"})


def test_cdc_pcie_fast():
    _run(False)


def test_cdc_pcie_slow():
    _run(True)
