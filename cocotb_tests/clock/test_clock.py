"""HwClock under Verilator: time of day checked against simulator time.

The simulation clock is 6.4 ns, so with the default period the hardware clock must
track simulator time to within the 1 ns truncation of the fraction; after a SET
the offset between the two is the set value, STEP moves it by exactly step_ns, and
a new period changes the rate exactly.
"""
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge
from cocotb.utils import get_sim_time

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tickwire.control.regmap import (CLOCK_CMD_SET as CMD_SET, CLOCK_CMD_SNAPSHOT as CMD_SNAPSHOT,
                                     CLOCK_CMD_STEP as CMD_STEP)
from tickwire.rtl.clock.hw_clock import DEFAULT_PERIOD, HwClock
from tickwire.rtl.layouts import Timestamp

NS = 1_000_000_000
TS_OFFSET = 42


class ClockTop(wiring.Component):
    """HwClock with its ports passed through (the unit as the CSR bank would see it)."""
    ctl_period: In(40)
    ctl_set_sec: In(48)
    ctl_set_ns: In(32)
    ctl_step_ns: In(32)
    stb_cmd: In(1)
    stb_cmd_data: In(32)
    st_snap_sec: Out(48)
    st_snap_ns: Out(32)
    st_rx_ts_offset_ns: Out(32)
    now: Out(Timestamp)

    def elaborate(self, platform):
        m = Module()
        m.submodules.clk = hw = HwClock(ts_offset_ns=TS_OFFSET)
        for name in ("ctl_period", "ctl_set_sec", "ctl_set_ns", "ctl_step_ns", "stb_cmd",
                     "stb_cmd_data"):
            m.d.comb += getattr(hw, name).eq(getattr(self, name))
        for name in ("st_snap_sec", "st_snap_ns", "st_rx_ts_offset_ns", "now"):
            m.d.comb += getattr(self, name).eq(getattr(hw, name))
        return m


def now_of(dut):
    v = int(dut.now.value)
    sec, ns = v >> 32, v & 0xFFFFFFFF
    assert ns < NS
    return sec * NS + ns


async def setup(dut, period=DEFAULT_PERIOD):
    dut.ctl_period.value = period
    dut.stb_cmd.value = 0
    dut.stb_cmd_data.value = 0
    cocotb.start_soon(Clock(dut.clk, 6.4, unit="ns").start())
    dut.rst.value = 1
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    await FallingEdge(dut.clk)


async def command(dut, bits, set_=None, step=None):
    """Pulse the command strobe for one cycle; returns the sim time (ps) of the edge
    that executes it. Leaves the caller at the falling edge after that edge."""
    await RisingEdge(dut.clk)
    # as over the register bus: the operands are written in earlier cycles than CMD
    if set_ is not None:
        dut.ctl_set_sec.value, dut.ctl_set_ns.value = set_
    if step is not None:
        dut.ctl_step_ns.value = step & 0xFFFFFFFF
    await RisingEdge(dut.clk)
    dut.stb_cmd.value = 1
    dut.stb_cmd_data.value = bits
    await RisingEdge(dut.clk)
    t_exec = get_sim_time(unit="ps")
    dut.stb_cmd.value = 0
    await FallingEdge(dut.clk)
    return t_exec


async def check_tracks(dut, ref_total, t_ref_ps, cycles, rate=1.0, tol=1):
    """For `cycles` cycles (sampled mid-cycle): now == ref_total + rate * the simulator
    time of the clock edges since the edge at t_ref_ps, within the fraction's tol ns."""
    for _ in range(cycles):
        edges = (get_sim_time(unit="ps") - t_ref_ps) // 6400
        want = ref_total + rate * edges * 6.4
        got = now_of(dut)
        assert want - tol <= got <= want + 0.001, (got, want)
        await FallingEdge(dut.clk)


@cocotb.test()
async def default_period_tracks_sim_time(dut):
    await setup(dut)
    assert int(dut.st_rx_ts_offset_ns.value) == TS_OFFSET
    t0, n0 = get_sim_time(unit="ps"), now_of(dut)
    await check_tracks(dut, n0, t0, 3000)
    # 3000 cycles * 6.4 ns = 19200 ns exactly (up to the fraction's truncation)
    assert 19199 <= now_of(dut) - n0 <= 19200


@cocotb.test()
async def set_and_second_rollover(dut):
    await setup(dut)
    value = (1234, NS - 640)                   # 100 cycles before a second boundary
    t_exec = await command(dut, CMD_SET, set_=value)
    # the executing edge loads the value; half a cycle later it is still the value
    assert now_of(dut) == value[0] * NS + value[1]
    t_ref = t_exec
    await check_tracks(dut, value[0] * NS + value[1], t_ref, 300)
    assert int(dut.now.value) >> 32 == 1235


@cocotb.test()
async def step_positive_and_negative_across_seconds(dut):
    await setup(dut)
    base = (500, NS - 2000)
    t_exec = await command(dut, CMD_SET, set_=base)
    ref = base[0] * NS + base[1]
    await check_tracks(dut, ref, t_exec, 10)
    # +5000 ns crosses into second 501
    t_step = await command(dut, CMD_STEP, step=5000)
    ref_at_step = ref + (t_step - t_exec) / 1000
    assert int(dut.now.value) >> 32 == 501
    await check_tracks(dut, ref_at_step + 5000, t_step, 50)
    # -10000 ns borrows back into second 500
    t_step2 = await command(dut, CMD_STEP, step=-10000)
    ref_at_step2 = ref_at_step + 5000 + (t_step2 - t_step) / 1000
    assert int(dut.now.value) >> 32 == 500
    await check_tracks(dut, ref_at_step2 - 10000, t_step2, 50)
    # a large negative step (-0.9 s) from just after a boundary
    t_set = await command(dut, CMD_SET, set_=(9, 100))
    t_step3 = await command(dut, CMD_STEP, step=-900_000_000)
    want = 9 * NS + 100 + (t_step3 - t_set) / 1000 - 900_000_000
    got = now_of(dut)
    assert int(dut.now.value) >> 32 == 8
    assert want - 1 <= got <= want


@cocotb.test()
async def set_wins_over_step(dut):
    await setup(dut)
    await command(dut, CMD_SET | CMD_STEP, set_=(77, 1000), step=123456)
    assert now_of(dut) == 77 * NS + 1000


@cocotb.test()
async def frequency_adjust(dut):
    await setup(dut)
    t_set = await command(dut, CMD_SET, set_=(1, 0))
    # 6.5 ns per cycle: the clock runs 6.5/6.4 times as fast as simulator time
    # (a new period is in effect from the second edge after it is written)
    dut.ctl_period.value = (6 << 32) | 0x80000000
    await ClockCycles(dut.clk, 2)
    await FallingEdge(dut.clk)
    n_new = now_of(dut)
    edges = (get_sim_time(unit="ps") - t_set) // 6400
    assert edges == 2 and n_new - NS in (12, 13)    # 6.4 + 6.4 .. 6.4 + 6.5
    await ClockCycles(dut.clk, 1000)
    await FallingEdge(dut.clk)
    assert now_of(dut) - n_new == 6500          # exact: 6.5 has no fraction error
    await RisingEdge(dut.clk)
    t_edge = get_sim_time(unit="ps")
    await FallingEdge(dut.clk)
    await check_tracks(dut, now_of(dut), t_edge, 200, rate=6.5 / 6.4)
    # +10 ppm trim of 6.4 ns (frequency adjust): 6.4 ns more per 100000 cycles
    trim = round(6.4e-5 * 2**32)
    dut.ctl_period.value = DEFAULT_PERIOD + trim
    await ClockCycles(dut.clk, 2)
    await FallingEdge(dut.clk)
    n0 = now_of(dut)
    await ClockCycles(dut.clk, 100_000)
    await FallingEdge(dut.clk)
    delta = now_of(dut) - n0
    exact = 100_000 * (DEFAULT_PERIOD + trim) / 2**32
    assert abs(delta - exact) <= 1 and delta >= 640_005, (delta, exact)


@cocotb.test()
async def snapshot_latches_time(dut):
    await setup(dut)
    await command(dut, CMD_SET, set_=(42, 5000))
    for _ in range(3):
        await ClockCycles(dut.clk, 37)
        await RisingEdge(dut.clk)
        dut.stb_cmd.value, dut.stb_cmd_data.value = 1, CMD_SNAPSHOT
        await FallingEdge(dut.clk)
        seen = int(dut.now.value)                # the time in the strobe cycle
        await RisingEdge(dut.clk)
        dut.stb_cmd.value = 0
        await FallingEdge(dut.clk)
        snap = int(dut.st_snap_sec.value) << 32 | int(dut.st_snap_ns.value)
        assert snap == seen
        assert now_of(dut) > (seen >> 32) * NS + (seen & 0xFFFFFFFF)   # now moved on
    # the snapshot holds while time advances
    await ClockCycles(dut.clk, 10)
    await FallingEdge(dut.clk)
    assert int(dut.st_snap_sec.value) << 32 | int(dut.st_snap_ns.value) == snap


def test_clock():
    from tickwire.tools.build.simrun import run_cocotb
    run_cocotb(ClockTop(), "tw_clock", "test_clock", Path(__file__).parent)
