"""Subscriptions: stock locate -> book slot, in block RAM.

Why a table: the book follows a chosen set of symbols; the locate is a dense 14-bit
code, so a direct-indexed memory answers in one registered read with no search.
A lookup entering at c0 answers at c2 (read registered, then the result registered)
so it lines up with the order table's decision cycle. Writes (SUB_CMD, sweeps) come
only while no lookup is in flight.
"""
from amaranth.hdl import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out


def sub_entry(slot_bits):
    return data.StructLayout({"valid": 1, "slot": slot_bits})


class Subscriptions(wiring.Component):
    def __init__(self, locate_bits, slot_bits):
        self.locate_bits, self.slot_bits = locate_bits, slot_bits
        entry = sub_entry(slot_bits)
        super().__init__({
            "i": In(stream.Signature(16, always_ready=True)),          # locate
            "o": Out(stream.Signature(entry, always_ready=True)),      # valid: followed
            "w": In(stream.Signature(data.StructLayout({"locate": locate_bits, "entry": entry}),
                                     always_ready=True)),
        })

    def elaborate(self, platform):
        m = Module()
        lb = self.locate_bits
        m.submodules.mem = mem = Memory(shape=sub_entry(self.slot_bits), depth=1 << lb, init=[])
        rd, wr = mem.read_port(), mem.write_port()
        in_range = Signal()
        v1, r1 = Signal(), Signal()
        m.d.comb += [rd.addr.eq(self.i.payload[:lb]), in_range.eq(self.i.payload >> lb == 0),
                     wr.addr.eq(self.w.payload.locate), wr.data.eq(self.w.payload.entry),
                     wr.en.eq(self.w.valid)]
        m.d.sync += [v1.eq(self.i.valid), r1.eq(in_range), self.o.valid.eq(v1),
                     self.o.payload.slot.eq(rd.data.slot),
                     self.o.payload.valid.eq(rd.data.valid & r1)]
        return m
