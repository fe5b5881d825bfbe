"""PortQueue: one port's queue path, a fixed delay line and then a FIFO.

Beats enter the line (`i`, with the toggling tag of their packet) while the judge
reads the packet's MoldUDP64 header; `discard` (with `discard_tag`) drops that
packet's beats still in the line and at its exit. Surviving beats go into the FIFO,
read on `o`. A FIFO that overflows drops the rest of that packet (`overflow` per
lost beat) and closes what it had written with a last+bad beat, so MoldUDP64 sees a
truncated packet rather than spliced data. `busy`: beats in the line; `live`: beats
in the line not dropped.

The FIFO is unbuffered: a queued beat is readable the cycle after it is written, so
the whole path (delay line + FIFO) is shorter than the idle time between two
back-to-back frames' payloads (~8 beats of headers, FCS, gap) and a port that had to
queue one packet is back to cut-through by the next.
"""
from amaranth.hdl import Module, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from ...layouts import UdpBeat

#: One delay-line stage. `tag` names the packet (toggles per queued packet).
QueuedBeat = data.StructLayout({"tag": 1, "beat": UdpBeat})
_Stage = data.StructLayout({"valid": 1, "drop": 1, "tag": 1, "beat": UdpBeat})


class PortQueue(wiring.Component):
    def __init__(self, delay, depth):
        self.delay, self.depth = delay, depth
        super().__init__({
            "i": In(stream.Signature(QueuedBeat, always_ready=True)),
            "discard": In(1), "discard_tag": In(1),
            "o": Out(stream.Signature(UdpBeat)),
            "busy": Out(1), "live": Out(1), "overflow": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = f = fifo.SyncFIFO(width=UdpBeat.size, depth=self.depth)
        m.d.comb += [self.o.valid.eq(f.r_rdy), self.o.payload.eq(f.r_data), f.r_en.eq(self.o.ready)]

        # ---- delay line (shifts every cycle)
        line = [Signal(_Stage, name=f"line_{k}") for k in range(self.delay)]
        m.d.comb += [self.busy.eq(sum(st.valid for st in line) != 0),
                     self.live.eq(sum(st.valid & ~st.drop for st in line) != 0)]
        enter = Signal(_Stage)
        m.d.comb += [enter.valid.eq(self.i.valid), enter.tag.eq(self.i.payload.tag),
                     enter.beat.eq(self.i.payload.beat)]
        prev = enter
        for k, st in enumerate(line):
            nxt = Signal(_Stage, name=f"next_{k}")
            m.d.comb += nxt.eq(prev)
            if k:                                   # stage 0 input is already filtered
                with m.If(self.discard & prev.valid & (prev.tag == self.discard_tag)):
                    m.d.comb += nxt.drop.eq(1)
            m.d.sync += st.eq(nxt)
            prev = st

        # ---- line exit into the FIFO; overflow truncates and closes the packet
        exl = Signal(_Stage)
        m.d.comb += exl.eq(line[-1])
        with m.If(self.discard & line[-1].valid & (line[-1].tag == self.discard_tag)):
            m.d.comb += exl.drop.eq(1)
        lost = Signal()          # the exiting packet lost beats
        wrote = Signal()         # ...after writing some
        term = Signal(UdpBeat)
        m.d.comb += [term.last.eq(1), term.bad.eq(1), term.feed.eq(exl.beat.feed)]
        lost_now = lost & ~exl.beat.first
        wrote_now = wrote & ~exl.beat.first
        with m.If(exl.valid & ~exl.drop):
            with m.If(~lost_now):
                with m.If(f.w_rdy):
                    m.d.comb += [f.w_en.eq(1), f.w_data.eq(exl.beat)]
                    m.d.sync += [wrote.eq(~exl.beat.last), lost.eq(0)]
                with m.Else():
                    m.d.comb += self.overflow.eq(1)
                    m.d.sync += [lost.eq(~exl.beat.last), wrote.eq(wrote_now)]
            with m.Else():
                m.d.comb += self.overflow.eq(1)
                with m.If(exl.beat.last):
                    with m.If(wrote_now & f.w_rdy):   # close what reached the FIFO
                        m.d.comb += [f.w_en.eq(1), f.w_data.eq(term)]
                    m.d.sync += [lost.eq(0), wrote.eq(0)]
        return m
