"""BookShadow: the gate's own copy of each slot's top of book, from the BBO stream.

The book's update stream is always ready, so the gate keeps best bid/ask, halted and
unreliable per slot and an order's lookup costs no cycle: `entry` is registered when
`en` (the pipeline advance), for the slot presented in the same cycle. A slot never
written since reset reads as unreliable (no book); an update for a slot past the
table is counted in `bad_slot` and ignored.
"""
from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..layouts import BboUpdate, RiskBook


class BookShadow(wiring.Component):
    def __init__(self, slots):
        self.slots = slots
        super().__init__({
            "bbo": In(stream.Signature(BboUpdate, always_ready=True)),
            "slot": In(8), "en": In(1),
            "entry": Out(RiskBook),
            "bad_slot": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        S = self.slots
        sbits = max((S - 1).bit_length(), 1)
        m.submodules.mem = mem = Memory(shape=RiskBook, depth=S, init=[])
        wr, rd = mem.write_port(), mem.read_port(domain="comb")
        u = self.bbo.payload
        m.d.comb += [wr.addr.eq(u.slot[:sbits]), wr.data.bid_px.eq(u.bid_px),
                     wr.data.bid_qty.eq(u.bid_qty), wr.data.ask_px.eq(u.ask_px),
                     wr.data.ask_qty.eq(u.ask_qty), wr.data.halted.eq(u.halted),
                     wr.data.unreliable.eq(u.unreliable)]
        written = Signal(S)             # slot written since reset (else: no book)
        with m.If(self.bbo.valid):
            with m.If(u.slot < S):
                m.d.comb += wr.en.eq(1)
                m.d.sync += written.bit_select(u.slot[:sbits], 1).eq(1)
            with m.Else():
                m.d.comb += self.bad_slot.eq(1)

        si = self.slot[:sbits]
        m.d.comb += rd.addr.eq(si)
        with m.If(self.en):
            m.d.sync += [self.entry.eq(rd.data),
                         self.entry.unreliable.eq(rd.data.unreliable | ~written.bit_select(si, 1))]
        return m
