"""cocotb module behind `risk-replay --engine rtl`: drives a RiskGate from a script.

RISK_SCRIPT (json): {"tables": {window: [words]}, "steps": [{t, book, order}]}.
Limits go in through the gate's windows plus a commit, as the control plane does;
before each order whose slot's book differs from what the gate holds, one BBO update
cycle; then the order with `now` = its time. Verdicts -> RISK_OUT as [[clordid, reason]].
"""
import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge

from tickwire.rtl.layouts import BboUpdate, Order, Verdict
from tickwire.rtl.regmap.blocks.risk import SLOTS
from tickwire.tools.payload import pack, unpack


@cocotb.test()
async def replay(dut):
    spec = json.loads(open(os.environ["RISK_SCRIPT"]).read())
    cocotb.start_soon(Clock(dut.clk, 6.4, unit="ns").start())
    for name in ("orders__valid", "events__valid", "bbo__valid", "ctl_kill", "ctl_kill_accounts",
                 "ctl_watchdog_cycles", "stb_heartbeat", "stb_watchdog_release", "stb_commit",
                 "stb_order_submit", "now"):
        getattr(dut, name).value = 0
    dut.verdicts__ready.value = 1
    dut.accepted__ready.value = 1
    for w in ("order", "last_rejects", "acct_limits", "sym_limits", "pos_limits"):
        getattr(dut, f"w_{w}__w_stb").value = 0
        getattr(dut, f"w_{w}__r_stb").value = 0
    dut.rst.value = 1
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    verdicts = []

    # limits through the windows, then commit
    for name, words in spec["tables"].items():
        for addr, word in enumerate(words):
            await RisingEdge(dut.clk)
            getattr(dut, f"w_{name}__addr").value = addr
            getattr(dut, f"w_{name}__w_data").value = word
            getattr(dut, f"w_{name}__w_stb").value = 1
        await RisingEdge(dut.clk)
        getattr(dut, f"w_{name}__w_stb").value = 0
    dut.stb_commit.value = 1
    await RisingEdge(dut.clk)
    dut.stb_commit.value = 0

    shadow = {}
    i, steps = 0, spec["steps"]
    pending = None
    budget = 100 + 4 * len(steps)       # every step takes at most 2 cycles: never hang
    while i < len(steps) or pending is not None or len(verdicts) < len(steps):
        budget -= 1
        assert budget > 0, "gate stopped taking orders or giving verdicts"
        await RisingEdge(dut.clk)
        dut.bbo__valid.value = 0
        dut.orders__valid.value = 0
        if pending is None and i < len(steps):
            s = steps[i]
            slot, book = s["order"]["slot"], s["book"]
            if slot < SLOTS and shadow.get(slot, [0, 0, 0, 0, False, False]) != book:
                bid_px, bid_qty, ask_px, ask_qty, halted, unrel = book
                dut.bbo__payload.value = pack(BboUpdate, dict(
                    slot=slot, bid_px=bid_px, bid_qty=bid_qty, ask_px=ask_px, ask_qty=ask_qty,
                    halted=int(halted), unreliable=int(unrel)))
                dut.bbo__valid.value = 1
                shadow[slot] = book
            else:
                pending = s
                i += 1
        if pending is not None:
            t = pending["t"]
            dut.now.value = (t // 10**9) << 32 | t % 10**9
            dut.orders__payload.value = pack(Order, pending["order"])
            dut.orders__valid.value = 1
        await ReadOnly()
        if int(dut.verdicts__valid.value):
            v = unpack(Verdict, int(dut.verdicts__payload.value))
            verdicts.append([v["clordid"], v["reason"]])
        if pending is not None and int(dut.orders__ready.value):
            pending = None
    with open(os.environ["RISK_OUT"], "w") as f:
        json.dump(verdicts, f)
