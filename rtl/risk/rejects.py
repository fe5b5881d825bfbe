"""RejectRing: the last `depth` rejected orders, read by the host through a window.

Entry words (docs/registers.md, `risk.last_rejects`): clordid lo, clordid hi,
reason | account << 8 | slot << 16, `now` ns when the order entered. `head` is the
next entry to be written (so the newest is head - 1).

A reject is registered before it is written (one cycle later, which no reader can
tell: the host reads the window over the bus). Why: its valid is the gate's verdict
and stall (`adv & order & ~accept`), and straight into the LUT RAMs' write enables it
was the gate's critical path on seed 2 (143 endpoints up to 6.89 ns).
"""
from amaranth.hdl import Array, Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..layouts import RiskReject
from .regs import REJECT_WORDS as WORDS
from ..regmap.binding import WindowSignature


class RejectRing(wiring.Component):
    def __init__(self, depth):
        self.depth = depth
        super().__init__({
            "i": In(stream.Signature(RiskReject, always_ready=True)),
            "window": In(WindowSignature(depth * WORDS)),
            "head": Out(range(depth)),
        })

    def elaborate(self, platform):
        m = Module()
        v, r = Signal(name="rej_v"), Signal(RiskReject, name="rej")
        m.d.sync += [v.eq(self.i.valid), r.eq(self.i.payload)]
        words = [r.clordid[:32], r.clordid[32:], Cat(r.reason, Const(0, 4), r.account, r.slot),
                 r.ns]
        win = self.window
        col = Signal(2)
        m.d.sync += col.eq(win.addr[:2])
        rdata = []
        for c, word in enumerate(words):
            m.submodules[f"col_{c}"] = mem = Memory(shape=32, depth=self.depth, init=[])
            wr, hr = mem.write_port(), mem.read_port()
            m.d.comb += [wr.addr.eq(self.head), wr.data.eq(word), wr.en.eq(v),
                         hr.addr.eq(win.addr[2:])]
            rdata.append(hr.data)
        m.d.comb += win.r_data.eq(Array(rdata)[col])
        with m.If(v):
            m.d.sync += self.head.eq(self.head + 1)
        return m
