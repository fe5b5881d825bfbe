"""Shared cocotb start-up for a standalone RiskGate: clock, every input idle, reset.

Used by the risk-replay RTL engine (tools/engines/risk_replay_sim.py) and the risk benchmark
(tools/build/bench/risk.py), so both drive the gate from the same known state. It defines
no cocotb test itself, so importing it adds none to a test module.
"""
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

from tickwire.rtl.risk.regs import WINDOWS

_IDLE = ("orders__valid", "events__valid", "bbo__valid", "ctl_kill", "ctl_kill_accounts",
         "ctl_watchdog_cycles", "stb_heartbeat", "stb_watchdog_release", "stb_commit",
         "stb_order_submit", "now", "now_ns")


async def start_gate(dut, reset_cycles=3):
    """Start the 156.25 MHz clock, idle every input, always accept outputs, and reset."""
    import cocotb
    cocotb.start_soon(Clock(dut.clk, 6.4, unit="ns").start())
    for name in _IDLE:
        getattr(dut, name).value = 0
    dut.verdicts__ready.value = 1
    dut.accepted__ready.value = 1
    for w in WINDOWS:
        getattr(dut, f"w_{w}__w_stb").value = 0
        getattr(dut, f"w_{w}__r_stb").value = 0
    dut.rst.value = 1
    for _ in range(reset_cycles):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
