"""Merge the UDP payload streams of port A and port B into the one MoldUDP64 stage.

Feeds A and B arrive on two 10GbE ports, each with its own MAC and UDP parser, and
neither can be back-pressured. MoldUDP64 takes one packet at a time, so this stage
forwards whole packets:

* The packet that starts while the merge is idle flows straight through with no
  added cycle (combinational bypass): on a healthy line that is the winning copy.
* A packet arriving on the other port meanwhile is queued. Both feeds can run at
  full line rate, and one MoldUDP64 stage cannot absorb twice that, so a queued
  packet first passes a short delay line while its MoldUDP64 header is read
  (MoldPeek): if its whole sequence range is already delivered or in flight
  (seq + count <= max(expected, end of the packet being forwarded)) it is a
  duplicate and is discarded before the FIFO (counted in `ev_dup_discard_*`);
  otherwise (a gap fill, or a partial overlap that MoldUDP64 trims) it is queued
  and forwarded after the current packet.
* A FIFO that overflows drops the rest of that packet (counted in `ev_overflow`)
  and closes what it had with a last+bad beat, so MoldUDP64 sees a truncated
  packet rather than spliced data.

Limit (measured, not yet fixed): coverage counts what is delivered or in flight,
not what sits in the other port's queue. When one feed leads the other by part of a
packet while both run back to back at full line rate (e.g. noise frames on one side
only), a live copy can bypass while the leading port's copy of the same range waits
in its queue, so both are forwarded and the queue overflows (counted in
`ev_overflow`; the truncated packet ends bad and MoldUDP64 records the gap). The fix
is to count the other port's queued ranges as covered and to queue, not bypass, a
live packet while the other port holds undiscarded data.
"""
from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .layouts import UdpBeat
from .mold.peek import MoldPeek

#: Delay-line length: payload byte 19 is at most 4 beats after the first (payload may
#: start in lane 7), the verdict comes one cycle after that beat, and it may wait for
#: the header of the packet being forwarded when the two copies arrive out of step.
DELAY = 12

_Stage = data.StructLayout({"valid": 1, "drop": 1, "tag": 1, "beat": UdpBeat})


class FeedMerge(wiring.Component):
    def __init__(self, depth=512):
        self.depth = depth
        super().__init__({
            "a": In(stream.Signature(UdpBeat, always_ready=True)),
            "b": In(stream.Signature(UdpBeat, always_ready=True)),
            "o": Out(stream.Signature(UdpBeat, always_ready=True)),
            "expected": In(64),            # MoldUDP64's next expected sequence number
            "ev_overflow": Out(2),
            "ev_dup_discard": Out(2),      # queued packets discarded as duplicates
            "ev_dup_discard_msgs": Out(17),
        })
        # register names (wire_block)
        self.ev_overflow_a, self.ev_overflow_b = self.ev_overflow[0], self.ev_overflow[1]
        self.ev_dup_discard_a = self.ev_dup_discard[0]
        self.ev_dup_discard_b = self.ev_dup_discard[1]

    def elaborate(self, platform):
        m = Module()
        ins = [self.a, self.b]
        fifos = [fifo.SyncFIFOBuffered(width=UdpBeat.size, depth=self.depth) for _ in ins]
        m.submodules.fifo_a, m.submodules.fifo_b = fifos

        # End of the packet being forwarded (its header read on the output).
        m.submodules.peek_out = peek_out = MoldPeek()
        m.d.comb += [peek_out.i.valid.eq(self.o.valid), peek_out.i.payload.eq(self.o.payload)]
        fwd_end, fwd_end_now = Signal(64), Signal(64)
        out_hdr = Signal()           # the forwarded packet's header has been read
        m.d.comb += fwd_end_now.eq(Mux(peek_out.done, peek_out.seq + peek_out.count, fwd_end))
        with m.If(peek_out.done):
            m.d.sync += [fwd_end.eq(fwd_end_now), out_hdr.eq(1)]
        with m.If(self.o.valid & self.o.payload.first):
            m.d.sync += out_hdr.eq(0)
        covered = Signal(64)
        m.d.comb += covered.eq(Mux(fwd_end_now > self.expected, fwd_end_now, self.expected))

        busy = Signal()              # a packet is being forwarded
        owner = Signal()             # ...from this port
        lines = [[Signal(_Stage, name=f"line_{p}_{k}") for k in range(DELAY)] for p in (0, 1)]
        line_busy = [Signal(name=f"line_busy_{p}") for p in (0, 1)]
        for p in (0, 1):
            m.d.comb += line_busy[p].eq(sum(st.valid for st in lines[p]) != 0)

        # ---- choose this cycle's output: the owner's queue, else its live input
        sel_valid, sel_port, sel_fifo = Signal(), Signal(), Signal()
        live_ok = [Signal(name=f"live_ok_{p}") for p in (0, 1)]
        for p in (0, 1):       # live beats may pass only when nothing of theirs is queued
            m.d.comb += live_ok[p].eq(ins[p].valid & ~line_busy[p] & ~fifos[p].r_rdy)
        with m.If(busy):
            m.d.comb += sel_port.eq(owner)
            for p in (0, 1):
                with m.If(owner == p):
                    with m.If(fifos[p].r_rdy):
                        m.d.comb += [sel_valid.eq(1), sel_fifo.eq(1)]
                    with m.Elif(live_ok[p]):
                        m.d.comb += sel_valid.eq(1)
        with m.Else():
            # Queued packets first (they are older), then live ones; A before B.
            with m.If(fifos[0].r_rdy):
                m.d.comb += [sel_valid.eq(1), sel_port.eq(0), sel_fifo.eq(1)]
            with m.Elif(fifos[1].r_rdy):
                m.d.comb += [sel_valid.eq(1), sel_port.eq(1), sel_fifo.eq(1)]
            with m.Elif(live_ok[0] & ins[0].payload.first):
                m.d.comb += [sel_valid.eq(1), sel_port.eq(0)]
            with m.Elif(live_ok[1] & ins[1].payload.first):
                m.d.comb += [sel_valid.eq(1), sel_port.eq(1)]

        out_beat = Signal(UdpBeat)
        discarded = []
        for p, (i, f, line) in enumerate(zip(ins, fifos, lines)):
            bypass = Signal(name=f"bypass_{p}")
            m.d.comb += bypass.eq(sel_valid & (sel_port == p) & ~sel_fifo)
            with m.If(sel_valid & (sel_port == p)):
                with m.If(sel_fifo):
                    m.d.comb += [out_beat.eq(f.r_data), f.r_en.eq(1)]
                with m.Else():
                    m.d.comb += out_beat.eq(i.payload)

            # ---- the header of this port's current packet decides queued duplicates
            m.submodules[f"peek_{p}"] = peek = MoldPeek()
            m.d.comb += [peek.i.valid.eq(i.valid), peek.i.payload.eq(i.payload)]
            is_first = i.valid & i.payload.first
            is_last = i.valid & i.payload.last
            queued = Signal(name=f"queued_{p}")      # the current packet took the queue path
            open_ = Signal(name=f"open_{p}")         # ...and has not ended yet
            tag = Signal(name=f"tag_{p}")            # toggles per queued packet
            discarding = Signal(name=f"discarding_{p}")
            with m.If(is_first):
                m.d.sync += [queued.eq(~bypass), open_.eq(~i.payload.last)]
                with m.If(~bypass):
                    m.d.sync += tag.eq(~tag)
            with m.Elif(is_last):
                m.d.sync += open_.eq(0)
            # `done` comes the cycle after the header beat: it judges the packet `tag`
            # names (a new first beat in this cycle belongs to the next packet).
            # The verdict waits (at most a few cycles) for the header of the packet being
            # forwarded, so a copy arriving in step with it is judged against its range.
            dup = Signal(name=f"dup_{p}")
            pending = Signal(name=f"pending_{p}")
            ready_to_judge = ~busy | out_hdr | peek_out.done
            # Too late once the packet's first beat has left the delay line: keep it.
            age = Signal(range(DELAY + 2), name=f"age_{p}")
            with m.If(is_first):
                m.d.sync += age.eq(1)
            with m.Elif(age <= DELAY):
                m.d.sync += age.eq(age + 1)
            judge = (peek.done | pending) & queued & ready_to_judge & ~is_first & (age <= DELAY)
            m.d.comb += dup.eq(judge & (peek.seq + peek.count <= covered))
            with m.If(peek.done & queued & ~ready_to_judge):
                m.d.sync += pending.eq(1)
            with m.If(judge | is_first):
                m.d.sync += pending.eq(0)
            m.d.comb += self.ev_dup_discard[p].eq(dup)
            discarded.append(Mux(dup, peek.count, 0))
            with m.If(dup & ~is_first & (open_ | i.valid) & ~is_last):
                m.d.sync += discarding.eq(1)
            with m.If(discarding & is_last):
                m.d.sync += discarding.eq(0)

            # ---- delay line (shifts every cycle)
            enter = Signal(_Stage, name=f"enter_{p}")
            drop_in = ~is_first & (discarding | dup)
            with m.If(i.valid & ~bypass & ~drop_in):
                m.d.comb += [enter.valid.eq(1), enter.beat.eq(i.payload),
                             enter.tag.eq(Mux(is_first, ~tag, tag))]
            prev = enter
            for k, st in enumerate(line):
                nxt = Signal(_Stage, name=f"next_{p}_{k}")
                m.d.comb += nxt.eq(prev)
                if k:                                   # stage 0 input is already filtered
                    with m.If(dup & prev.valid & (prev.tag == tag)):
                        m.d.comb += nxt.drop.eq(1)
                m.d.sync += st.eq(nxt)
                prev = st

            # ---- line exit into the FIFO; overflow truncates and closes the packet
            ex = line[-1]
            exl = Signal(_Stage, name=f"exit_{p}")
            m.d.comb += exl.eq(ex)
            with m.If(dup & ex.valid & (ex.tag == tag)):
                m.d.comb += exl.drop.eq(1)
            lost = Signal(name=f"lost_{p}")          # the exiting packet lost beats
            wrote = Signal(name=f"wrote_{p}")        # ...after writing some
            term = Signal(UdpBeat, name=f"term_{p}")
            m.d.comb += [term.last.eq(1), term.bad.eq(1), term.feed.eq(exl.beat.feed)]
            lost_now = lost & ~exl.beat.first
            wrote_now = wrote & ~exl.beat.first
            with m.If(exl.valid & ~exl.drop):
                with m.If(~lost_now):
                    with m.If(f.w_rdy):
                        m.d.comb += [f.w_en.eq(1), f.w_data.eq(exl.beat)]
                        m.d.sync += [wrote.eq(~exl.beat.last), lost.eq(0)]
                    with m.Else():
                        m.d.comb += self.ev_overflow[p].eq(1)
                        m.d.sync += [lost.eq(~exl.beat.last), wrote.eq(wrote_now)]
                with m.Else():
                    m.d.comb += self.ev_overflow[p].eq(1)
                    with m.If(exl.beat.last):
                        with m.If(wrote_now & f.w_rdy):   # close what reached the FIFO
                            m.d.comb += [f.w_en.eq(1), f.w_data.eq(term)]
                        m.d.sync += [lost.eq(0), wrote.eq(0)]

        m.d.comb += self.ev_dup_discard_msgs.eq(discarded[0] + discarded[1])
        m.d.comb += [self.o.valid.eq(sel_valid), self.o.payload.eq(out_beat)]
        with m.If(sel_valid):
            with m.If(out_beat.last):
                m.d.sync += busy.eq(0)
            with m.Else():
                m.d.sync += [busy.eq(1), owner.eq(sel_port)]
        return m
