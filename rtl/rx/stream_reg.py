"""StreamReg: one register stage on an always-ready stream (a pipeline register slice).

Why: the core's rule is that no combinational path crosses a block boundary, so the
timing of each block closes on its own. The core (rtl/top.py) puts a StreamReg after
any block whose output is combinational from its input; it costs one cycle.
"""
from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out


class StreamReg(wiring.Component):
    def __init__(self, layout):
        super().__init__({"i": In(stream.Signature(layout, always_ready=True)),
                          "o": Out(stream.Signature(layout, always_ready=True))})

    def elaborate(self, platform):
        m = Module()
        m.d.sync += [self.o.valid.eq(self.i.valid), self.o.payload.eq(self.i.payload)]
        return m
