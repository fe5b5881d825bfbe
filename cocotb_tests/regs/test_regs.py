"""Register bus: ID block, scratch, wide-register latch and staging through AXI4-Lite.

Runs on the core build cocotb_tests/top uses (simrun.SMALL_CORE: one Verilator build for
both); xdist_group keeps them on one worker so neither waits on the other's build lock."""
import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiLiteBus, AxiLiteMaster

import pytest

from tickwire.control.regmap import BUILDS, REGS, MAP_MAGIC
from tickwire.tools.build.simrun import SMALL_CORE as CFG, SMALL_CORE_TOP


async def setup(dut):
    cocotb.start_soon(Clock(dut.clk, 6.4, unit="ns").start())
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    return AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil_"), dut.clk, dut.rst)


async def read32(axil, name):
    return int.from_bytes((await axil.read(REGS[name].addr, 4)).data, "little")


@cocotb.test()
async def id_block(dut):
    axil = await setup(dut)
    assert await read32(axil, "id.magic") == MAP_MAGIC
    # the map hash covers the windows' sizes: this build has the sim build's risk
    # tables, so its map; and its own non-zero build digest
    assert await read32(axil, "id.map_hash") == BUILDS["sim"].map_hash
    assert await read32(axil, "id.build") == CFG.digest != 0
    assert CFG.digest not in {b.digest for b in BUILDS.values()}   # not a named build


@cocotb.test()
async def scratch_and_wide_control(dut):
    axil = await setup(dut)
    await axil.write(REGS["id.scratch"].addr, (0xDEADBEEF).to_bytes(4, "little"))
    assert await read32(axil, "id.scratch") == 0xDEADBEEF
    # 40-bit control: LO staged, HI commits; read back LO then HI.
    per = REGS["clock.period"]
    assert per.width == 40
    await axil.write(per.addr, (0x12345678).to_bytes(4, "little"))
    await axil.write(per.addr + 4, (0x07).to_bytes(4, "little"))
    lo = await read32(axil, "clock.period")
    hi = int.from_bytes((await axil.read(per.addr + 4, 4)).data, "little")
    assert (hi << 32 | lo) == 0x0712345678


@pytest.mark.xdist_group("tw_core_small")
def test_regs():
    from pathlib import Path
    from tickwire.rtl.top import TickwireCore
    from tickwire.tools.build.simrun import run_cocotb
    run_cocotb(TickwireCore(CFG), SMALL_CORE_TOP, "test_regs",
               Path(__file__).parent)
