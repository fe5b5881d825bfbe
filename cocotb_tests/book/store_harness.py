"""Shared by the book's table tests (test_order_table, test_level_store): a HashStore
wrapped with the side inputs the book lines up for it, and a driver that issues
operations at the book's rate with idle gaps and collects every result.

Why a wrapper: `modify` of the order table reads the message's book slot in the store's
modify cycle and the book's veto reaches the store in its compare cycle (c2); the
wrapper delays both from the cycle the operation goes in, as the book's pipeline does.
"""
import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In

#: Input -> the modify cycle of a split store (c0 in, c1 read, c2 compare, c3 modify).
TO_MODIFY = 3
#: Input -> the veto register (the book's subscription verdict arrives at c2).
TO_VETO = 2


class StoreTop(wiring.Component):
    """`store` with `slot` (delayed to its modify cycle into `slot_sink`, when the
    store's modify reads one), `veto` (delayed to c2) and the sweep's clear."""

    def __init__(self, store, slot_sink=None):
        self.store, self.slot_sink = store, slot_sink
        sig = store.signature.members
        super().__init__({"i": sig["i"], "o": sig["o"], "slot": In(8), "veto": In(1),
                          "clr": sig["clr"], "clr_addr": sig["clr_addr"]})

    def elaborate(self, platform):
        m = Module()
        m.submodules.store = st = self.store
        wiring.connect(m, wiring.flipped(self.i), st.i)
        wiring.connect(m, st.o, wiring.flipped(self.o))
        slot, veto = self.slot, self.veto
        for k in range(TO_MODIFY):
            nxt = Signal(8, name=f"slot_d{k + 1}")
            m.d.sync += nxt.eq(slot)
            slot = nxt
        for k in range(TO_VETO):
            nxt = Signal(name=f"veto_d{k + 1}")
            m.d.sync += nxt.eq(veto)
            veto = nxt
        m.d.comb += [st.veto.eq(veto), st.clr.eq(self.clr), st.clr_addr.eq(self.clr_addr)]
        if self.slot_sink is not None:
            m.d.comb += self.slot_sink.eq(slot)
        return m


async def clock_and_reset(dut, inputs):
    """Start the 156.25 MHz clock and hold reset 3 cycles with `inputs` ({port: value})
    driven; shared by the book's per-table tests (this folder)."""
    cocotb.start_soon(Clock(dut.clk, 6.4, unit="ns").start())
    dut.rst.value = 1
    for name, value in inputs.items():
        getattr(dut, name).value = value
    for _ in range(3):
        await FallingEdge(dut.clk)
    dut.rst.value = 0


async def start(dut):
    """Clock, reset, then the sweep the book runs after a reset (block RAM keeps its
    contents, so each test would start on the previous test's entries): every set
    cleared, one a cycle."""
    await clock_and_reset(dut, {"i__valid": 0, "veto": 0, "slot": 0, "clr": 0})
    for a in range(1 << len(dut.clr_addr)):
        dut.clr.value = 1
        dut.clr_addr.value = a
        await FallingEdge(dut.clk)
    dut.clr.value = 0
    for _ in range(4):
        await FallingEdge(dut.clk)


async def run_ops(dut, layouts, ops, rng, idle):
    """Drive `ops` ((payload dict, slot, veto) each) one every >= 2 cycles (the book's
    issue rate), one idle cycle more with probability `idle`; the slot and veto go in
    with the operation. Returns every result payload (a data.Const), in order."""
    IN, OUT = layouts
    got, pending, wait = [], list(ops), 0
    for _ in range(4 * len(ops) + 16):
        await FallingEdge(dut.clk)
        if int(dut.o__valid.value):
            got.append(OUT.from_bits(int(dut.o__payload.value)))
        if pending and wait == 0:
            payload, slot, veto = pending.pop(0)
            dut.i__payload.value = IN.const(payload).as_bits()
            dut.i__valid.value = 1
            dut.slot.value = slot
            dut.veto.value = veto
            wait = 2 + (1 if rng.random() < idle else 0)
        else:
            dut.i__valid.value = 0
            dut.veto.value = 0
        wait = max(0, wait - 1)
    return got


def check(got, want):
    assert len(got) == len(want), (len(got), len(want))
    for i, (g, w) in enumerate(zip(got, want)):
        assert tuple(g) == tuple(w), f"operation {i}: rtl {g} != model {w}"
