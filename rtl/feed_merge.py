"""Merge the UDP payload streams of port A and port B into the one MoldUDP64 stage.

Feeds A and B arrive on two 10GbE ports, each with its own MAC and UDP parser, and
neither can be back-pressured. The MoldUDP64 arbiter takes one packet at a time, so
this stage forwards whole packets: the packet that starts first flows straight
through with no added cycle (combinational bypass), and a packet arriving on the
other port meanwhile is queued in that port's FIFO and forwarded next. On a healthy
line the queued copy is the duplicate, so the winning copy never waits; when one
side loses a packet, the other side's copy is at most one packet behind.

A FIFO that overflows drops the rest of that packet (counted in `ev_overflow`) and
marks it bad, so MoldUDP64 sees a truncated packet rather than spliced data.
"""
from amaranth.hdl import Module, Signal
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .layouts import UdpBeat


class FeedMerge(wiring.Component):
    def __init__(self, depth=512):
        self.depth = depth
        super().__init__({
            "a": In(stream.Signature(UdpBeat, always_ready=True)),
            "b": In(stream.Signature(UdpBeat, always_ready=True)),
            "o": Out(stream.Signature(UdpBeat, always_ready=True)),
            "ev_overflow": Out(2),
        })
        self.ev_overflow_a = self.ev_overflow[0]     # register names (wire_block)
        self.ev_overflow_b = self.ev_overflow[1]

    def elaborate(self, platform):
        m = Module()
        ins = [self.a, self.b]
        fifos = [fifo.SyncFIFO(width=UdpBeat.size, depth=self.depth) for _ in ins]
        m.submodules.fifo_a, m.submodules.fifo_b = fifos

        busy = Signal()              # a packet is being forwarded
        owner = Signal()             # ...from this port
        dropping = Signal(2)         # port p discards the rest of an overflowed packet
        need_term = Signal(2)        # port p owes its FIFO a last+bad terminator beat

        sel_valid = Signal()
        sel_port = Signal()
        sel_fifo = Signal()          # take from the FIFO (else bypass the live input)
        with m.If(busy):
            m.d.comb += sel_port.eq(owner)
            for p in (0, 1):
                with m.If(owner == p):
                    with m.If(fifos[p].r_rdy):
                        m.d.comb += [sel_valid.eq(1), sel_fifo.eq(1)]
                    with m.Elif(ins[p].valid & ~dropping[p] & ~need_term[p]):
                        m.d.comb += sel_valid.eq(1)
        with m.Else():
            # Queued packets first (they are older), then live ones; A before B.
            with m.If(fifos[0].r_rdy):
                m.d.comb += [sel_valid.eq(1), sel_port.eq(0), sel_fifo.eq(1)]
            with m.Elif(fifos[1].r_rdy):
                m.d.comb += [sel_valid.eq(1), sel_port.eq(1), sel_fifo.eq(1)]
            with m.Elif(ins[0].valid & ~dropping[0] & ~need_term[0]):
                m.d.comb += [sel_valid.eq(1), sel_port.eq(0)]
            with m.Elif(ins[1].valid & ~dropping[1] & ~need_term[1]):
                m.d.comb += [sel_valid.eq(1), sel_port.eq(1)]

        out_beat = Signal(UdpBeat)
        for p, (i, f) in enumerate(zip(ins, fifos)):
            bypass = sel_valid & (sel_port == p) & ~sel_fifo
            with m.If(sel_valid & (sel_port == p)):
                with m.If(sel_fifo):
                    m.d.comb += [out_beat.eq(f.r_data), f.r_en.eq(1)]
                with m.Else():
                    m.d.comb += out_beat.eq(i.payload)
            term = Signal(UdpBeat, name=f"term_{p}")
            m.d.comb += [term.last.eq(1), term.bad.eq(1), term.feed.eq(i.payload.feed)]
            with m.If(need_term[p]):
                # Close the partial packet in the FIFO before anything else enters it.
                with m.If(f.w_rdy):
                    m.d.comb += [f.w_en.eq(1), f.w_data.eq(term)]
                    m.d.sync += need_term[p].eq(0)
                with m.If(i.valid):
                    m.d.comb += self.ev_overflow[p].eq(1)
                    m.d.sync += dropping[p].eq(~i.payload.last)
            with m.Elif(dropping[p]):
                with m.If(i.valid & i.payload.last):
                    m.d.sync += dropping[p].eq(0)
            with m.Elif(i.valid & ~bypass):
                with m.If(f.w_rdy):
                    m.d.comb += [f.w_en.eq(1), f.w_data.eq(i.payload)]
                with m.Else():
                    m.d.comb += self.ev_overflow[p].eq(1)
                    m.d.sync += [need_term[p].eq(~i.payload.first),
                                 dropping[p].eq(~i.payload.last)]

        m.d.comb += [self.o.valid.eq(sel_valid), self.o.payload.eq(out_beat)]
        with m.If(sel_valid):
            with m.If(out_beat.last):
                m.d.sync += busy.eq(0)
            with m.Else():
                m.d.sync += [busy.eq(1), owner.eq(sel_port)]
        return m
