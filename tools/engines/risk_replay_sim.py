"""cocotb module behind `risk-replay --engine rtl`: drives a RiskGate from a script.

RISK_SCRIPT (json): {"tables": {window: [words]}, "steps": [{t, book, order}]}.
Limits go in through the gate's windows plus a commit, as the control plane does;
before each order whose slot's book differs from what the gate holds, one BBO update
cycle and BOOK_SETTLE idle cycles (the gate sees a book update 3 cycles after it);
then the order with `now` and `now_ns` = its time. Verdicts -> RISK_OUT as [[clordid, reason]].
"""
import json
import os
from pathlib import Path

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge

from tickwire.rtl.layouts import BboUpdate, Order, Verdict
from tickwire.tools.engines.risk_tb import start_gate

BOOK_SETTLE = 2


@cocotb.test()
async def replay(dut):
    spec = json.loads(Path(os.environ["RISK_SCRIPT"]).read_text())
    await start_gate(dut)
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
    budget = 100 + 8 * len(steps)       # every step takes at most 4 cycles: never hang
    settle = 0
    while i < len(steps) or pending is not None or len(verdicts) < len(steps):
        budget -= 1
        assert budget > 0, "gate stopped taking orders or giving verdicts"
        await RisingEdge(dut.clk)
        dut.bbo__valid.value = 0
        dut.orders__valid.value = 0
        if settle:
            settle -= 1
        elif pending is None and i < len(steps):
            s = steps[i]
            slot, book = s["order"]["slot"], s["book"]
            if slot < spec["slots"] and shadow.get(slot, [0, 0, 0, 0, False, False]) != book:
                bid_px, bid_qty, ask_px, ask_qty, halted, unrel = book
                dut.bbo__payload.value = BboUpdate.const(dict(
                    slot=slot, bid_px=bid_px, bid_qty=bid_qty, ask_px=ask_px, ask_qty=ask_qty,
                    halted=int(halted), unreliable=int(unrel))).as_bits()
                dut.bbo__valid.value = 1
                shadow[slot] = book
                settle = BOOK_SETTLE
            else:
                pending = s
                i += 1
        if pending is not None and not settle:
            t = pending["t"]
            dut.now.value = (t // 10**9) << 32 | t % 10**9
            dut.now_ns.value = t
            dut.orders__payload.value = Order.const(pending["order"]).as_bits()
            dut.orders__valid.value = 1
        await ReadOnly()
        if int(dut.verdicts__valid.value):
            v = Verdict.from_bits(int(dut.verdicts__payload.value))
            verdicts.append([v["clordid"], v["reason"]])
        if pending is not None and int(dut.orders__ready.value):
            pending = None
    with open(os.environ["RISK_OUT"], "w") as f:
        json.dump(verdicts, f)
