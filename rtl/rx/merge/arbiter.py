"""MergeArbiter: picks each cycle's output beat, whole packets at a time.

While a packet is being forwarded only its port may send: its queue first, else its
live input. When idle, queued packets go first (they are older), then a live packet
may start cut-through, A before B. A live beat may pass only when nothing of its
port is queued or in the delay line; a live packet may start only when nothing the
other port queued (older, not discarded) waits, and not from a `lagging` port:
packets leave in the order they arrived, and a queued copy is judged before a live
one can overtake it. `bypass` tells each port's judge its beat left live;
`from_queue` says the packet on the output came from a queue.
"""
from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ...layouts import UdpBeat


class MergeArbiter(wiring.Component):
    live: In(stream.Signature(UdpBeat, always_ready=True)).array(2)
    queue: In(stream.Signature(UdpBeat)).array(2)
    line_busy: In(2)          # per port: beats in the delay line
    line_live: In(2)          # ...not dropped
    lagging: In(2)
    o: Out(stream.Signature(UdpBeat, always_ready=True))
    bypass: Out(2)
    busy: Out(1)              # a packet is being forwarded
    from_queue: Out(1)

    def elaborate(self, platform):
        m = Module()
        ins, qs = self.live, self.queue
        owner = Signal()          # the port forwarding
        sel_valid, sel_port, sel_fifo = Signal(), Signal(), Signal()
        live_ok = [Signal(name=f"live_ok_{p}") for p in (0, 1)]       # continue a live packet
        live_start = [Signal(name=f"live_start_{p}") for p in (0, 1)]  # start one
        for p in (0, 1):
            q = 1 - p
            m.d.comb += [live_ok[p].eq(ins[p].valid & ~self.line_busy[p] & ~qs[p].valid),
                         live_start[p].eq(live_ok[p] & ~self.line_live[q] & ~qs[q].valid
                                          & ~self.lagging[p])]
        with m.If(self.busy):
            m.d.comb += sel_port.eq(owner)
            for p in (0, 1):
                with m.If(owner == p):
                    with m.If(qs[p].valid):
                        m.d.comb += [sel_valid.eq(1), sel_fifo.eq(1)]
                    with m.Elif(live_ok[p]):
                        m.d.comb += sel_valid.eq(1)
        with m.Else():
            with m.If(qs[0].valid):
                m.d.comb += [sel_valid.eq(1), sel_port.eq(0), sel_fifo.eq(1)]
            with m.Elif(qs[1].valid):
                m.d.comb += [sel_valid.eq(1), sel_port.eq(1), sel_fifo.eq(1)]
            with m.Elif(live_start[0] & ins[0].payload.first):
                m.d.comb += [sel_valid.eq(1), sel_port.eq(0)]
            with m.Elif(live_start[1] & ins[1].payload.first):
                m.d.comb += [sel_valid.eq(1), sel_port.eq(1)]

        out_beat = self.o.payload
        for p in (0, 1):
            m.d.comb += self.bypass[p].eq(sel_valid & (sel_port == p) & ~sel_fifo)
            with m.If(sel_valid & (sel_port == p)):
                with m.If(sel_fifo):
                    m.d.comb += [out_beat.eq(qs[p].payload), qs[p].ready.eq(1)]
                with m.Else():
                    m.d.comb += out_beat.eq(ins[p].payload)
        m.d.comb += self.o.valid.eq(sel_valid)
        with m.If(sel_valid & out_beat.first):
            m.d.sync += self.from_queue.eq(sel_fifo)
        with m.If(sel_valid):
            with m.If(out_beat.last):
                m.d.sync += self.busy.eq(0)
            with m.Else():
                m.d.sync += [self.busy.eq(1), owner.eq(sel_port)]
        return m
