"""RejectRing: the last `depth` rejected orders, read by the host through a window.

Entry words (docs/registers.md, `risk.last_rejects`): clordid lo, clordid hi,
reason | account << 8 | slot << 16, `now` ns when the order entered. `head` is the
next entry to be written (so the newest is head - 1).
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
        r = self.i.payload
        words = [r.clordid[:32], r.clordid[32:], Cat(r.reason, Const(0, 4), r.account, r.slot),
                 r.ns]
        win = self.window
        col = Signal(2)
        m.d.sync += col.eq(win.addr[:2])
        rdata = []
        for c, word in enumerate(words):
            m.submodules[f"col_{c}"] = mem = Memory(shape=32, depth=self.depth, init=[])
            wr, hr = mem.write_port(), mem.read_port()
            m.d.comb += [wr.addr.eq(self.head), wr.data.eq(word), wr.en.eq(self.i.valid),
                         hr.addr.eq(win.addr[2:])]
            rdata.append(hr.data)
        m.d.comb += win.r_data.eq(Array(rdata)[col])
        with m.If(self.i.valid):
            m.d.sync += self.head.eq(self.head + 1)
        return m
