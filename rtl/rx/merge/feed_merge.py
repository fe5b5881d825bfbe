"""Merge the UDP payload streams of port A and port B into the one MoldUDP64 stage.

Feeds A and B arrive on two 10GbE ports, each with its own MAC and UDP parser, and
neither can be back-pressured. MoldUDP64 takes one packet at a time, so this stage
forwards whole packets, in the order their first beats arrived (the order the
reference model uses), and discards trailing copies before they cost bandwidth:

* Cut-through: a packet that starts while the merge is idle, with nothing queued on
  either port, flows straight through with no added cycle. On a healthy line that
  is the leading feed's copy.
* Queue path: any other packet passes a short delay line while its MoldUDP64 header
  is read (MoldPeek), then a FIFO. If its whole sequence range is already covered -
  delivered, in flight, or queued-and-kept on the other port (`seq + count <= max(
  expected, end of the packet being forwarded, end of the other port's last kept
  packet)`) - it is a duplicate and is discarded (counted in `ev_dup_discard_*`);
  otherwise it is kept and forwarded after what is ahead of it. Heartbeats and
  end-of-session packets are always forwarded (MoldUDP64 counts them).
* A port whose last packet was a duplicate (the trailing feed) sends its next packet
  down the queue path even when idle, so a trailing copy never holds the output
  while the leading feed's next packet waits. The delay line plus FIFO (7 cycles) is
  shorter than the idle time between two back-to-back frames' payloads (~8 beats),
  so a port that queued one packet is back to cut-through by its next.
* A FIFO that overflows drops the rest of that packet (counted in `ev_overflow_a/b`)
  and closes what it had with a last+bad beat, so MoldUDP64 sees a truncated
  packet rather than spliced data. Two feeds drifting at full line rate with loss
  and noise do not overflow (tests/test_feed_merge.py).

Latency cost: a packet that arrives while the other feed's copy of something newer
is still being judged or forwarded waits for it (a gap fill, or feeds within a few
cycles of each other); the bench reports the distribution on a faulty A/B feed.
"""
from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from ...layouts import UdpBeat
from ..mold.peek import MoldPeek
from ...regmap.binding import register_members
from . import regs

#: Delay-line length: payload byte 19 is at most 4 beats after the first (payload may
#: start in lane 7) and the verdict comes one cycle after that beat, leaving a cycle to
#: wait for the header of a live packet being forwarded. A copy not judged in time is
#: kept (MoldUDP64 then drops it as a duplicate). Short, so the queue path stays below
#: the idle time between back-to-back frames.
DELAY = 6

_Stage = data.StructLayout({"valid": 1, "drop": 1, "tag": 1, "beat": UdpBeat})


class FeedMerge(wiring.Component):
    registers = regs.BLOCK

    def __init__(self, depth=512):
        self.depth = depth
        super().__init__({
            "a": In(stream.Signature(UdpBeat, always_ready=True)),
            "b": In(stream.Signature(UdpBeat, always_ready=True)),
            "o": Out(stream.Signature(UdpBeat, always_ready=True)),
            "expected": In(64),            # MoldUDP64's next expected sequence number
            **register_members(self.registers),
        })

    def elaborate(self, platform):
        m = Module()
        ins = [self.a, self.b]
        # Unbuffered FIFOs: a queued beat is readable the cycle after it is written, so
        # the whole queue path (delay line + FIFO) is shorter than the idle time
        # between two back-to-back frames' payloads (~8 beats of headers, FCS, gap)
        # and a port that had to queue one packet is back to cut-through by the next.
        fifos = [fifo.SyncFIFO(width=UdpBeat.size, depth=self.depth) for _ in ins]
        m.submodules.fifo_a, m.submodules.fifo_b = fifos

        # End of the packet being forwarded (its header read on the output).
        m.submodules.peek_out = peek_out = MoldPeek()
        m.d.comb += [peek_out.i.valid.eq(self.o.valid), peek_out.i.payload.eq(self.o.payload)]
        fwd_end, fwd_end_now = Signal(64), Signal(64)
        out_hdr = Signal()           # the forwarded packet's header has been read
        m.d.comb += fwd_end_now.eq(Mux(peek_out.done, peek_out.seq + peek_out.span, fwd_end))
        with m.If(peek_out.done):
            m.d.sync += [fwd_end.eq(fwd_end_now), out_hdr.eq(1)]
        with m.If(self.o.valid & self.o.payload.first):
            m.d.sync += out_hdr.eq(0)
        # A packet forwarded from a FIFO was judged on entry: its range is already in
        # that port's kept_end, so judging need not wait for its header on the output.
        out_queued = Signal()
        out_known = out_hdr | out_queued
        base_cov = Signal(64)
        m.d.comb += base_cov.eq(Mux(fwd_end_now > self.expected, fwd_end_now, self.expected))
        # End of the latest queued packet each port kept (it will be forwarded): a copy
        # on the other port judged later is covered by it too.
        kept_end = [Signal(64, name=f"kept_end_{p}") for p in (0, 1)]
        covered = [Signal(64, name=f"covered_{p}") for p in (0, 1)]
        for p in (0, 1):
            other = kept_end[1 - p]
            m.d.comb += covered[p].eq(Mux(other > base_cov, other, base_cov))
        # MoldUDP64's expected number only falls on a new session (or its RESET): forget
        # the old session's ranges then, or its copies would cover the new one's.
        last_expected = Signal(64)
        m.d.sync += last_expected.eq(self.expected)
        new_session = Signal()
        m.d.comb += new_session.eq(self.expected < last_expected)

        busy = Signal()              # a packet is being forwarded
        owner = Signal()             # ...from this port
        lines = [[Signal(_Stage, name=f"line_{p}_{k}") for k in range(DELAY)] for p in (0, 1)]
        line_busy = [Signal(name=f"line_busy_{p}") for p in (0, 1)]
        line_live = [Signal(name=f"line_live_{p}") for p in (0, 1)]   # beats not dropped
        for p in (0, 1):
            m.d.comb += [line_busy[p].eq(sum(st.valid for st in lines[p]) != 0),
                         line_live[p].eq(sum(st.valid & ~st.drop for st in lines[p]) != 0)]

        # ---- choose this cycle's output: the owner's queue, else its live input
        sel_valid, sel_port, sel_fifo = Signal(), Signal(), Signal()
        live_ok = [Signal(name=f"live_ok_{p}") for p in (0, 1)]       # continue a live packet
        live_start = [Signal(name=f"live_start_{p}") for p in (0, 1)]  # start one
        # Live beats may pass only when nothing of theirs is queued; a live packet may
        # start only when nothing the other port queued (older, not discarded) waits:
        # packets leave in the order they arrived, and a queued copy is judged before
        # a live one can overtake it.
        # A port whose last packet was a duplicate (it trails the other feed) sends its
        # next packet through the judge path even when the merge is idle: forwarded
        # live, a trailing copy would hold the output while the leading feed's next
        # packet queues behind it.
        lagging = [Signal(name=f"lagging_{p}") for p in (0, 1)]
        for p in (0, 1):
            q = 1 - p
            m.d.comb += [live_ok[p].eq(ins[p].valid & ~line_busy[p] & ~fifos[p].r_rdy),
                         live_start[p].eq(live_ok[p] & ~line_live[q] & ~fifos[q].r_rdy
                                          & ~lagging[p])]
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
            with m.Elif(live_start[0] & ins[0].payload.first):
                m.d.comb += [sel_valid.eq(1), sel_port.eq(0)]
            with m.Elif(live_start[1] & ins[1].payload.first):
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
            # heartbeats and end-of-session (span 0) always reach MoldUDP64, which
            # counts them; only copies carrying messages are discarded here
            pending = Signal(name=f"pending_{p}")
            ready_to_judge = ~busy | out_known | peek_out.done
            # Too late once the packet's first beat has left the delay line: keep it.
            age = Signal(range(DELAY + 2), name=f"age_{p}")
            with m.If(is_first):
                m.d.sync += age.eq(1)
            with m.Elif(age <= DELAY):
                m.d.sync += age.eq(age + 1)
            judge = (peek.done | pending) & queued & ready_to_judge & ~is_first & (age <= DELAY)
            m.d.comb += dup.eq(judge & (peek.span != 0) & (peek.seq + peek.span <= covered[p]))
            with m.If(judge & ~dup):
                m.d.sync += [kept_end[p].eq(peek.seq + peek.span), lagging[p].eq(0)]
            with m.If(dup):
                m.d.sync += lagging[p].eq(1)
            # a live packet's header: was it already covered before it started?
            prior = Signal(64, name=f"prior_{p}")
            m.d.comb += prior.eq(Mux(fwd_end > self.expected, fwd_end, self.expected))
            with m.If(peek.done & ~queued):
                m.d.sync += lagging[p].eq((peek.seq + peek.span <= prior)
                                          | (peek.seq + peek.span <= kept_end[1 - p]))
            with m.If(peek.done & queued & ~ready_to_judge):
                m.d.sync += pending.eq(1)
            with m.If(judge | is_first):
                m.d.sync += pending.eq(0)
            m.d.comb += (self.ev_dup_discard_a, self.ev_dup_discard_b)[p].eq(dup)
            discarded.append(Mux(dup, peek.span, 0))
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
                        m.d.comb += (self.ev_overflow_a, self.ev_overflow_b)[p].eq(1)
                        m.d.sync += [lost.eq(~exl.beat.last), wrote.eq(wrote_now)]
                with m.Else():
                    m.d.comb += (self.ev_overflow_a, self.ev_overflow_b)[p].eq(1)
                    with m.If(exl.beat.last):
                        with m.If(wrote_now & f.w_rdy):   # close what reached the FIFO
                            m.d.comb += [f.w_en.eq(1), f.w_data.eq(term)]
                        m.d.sync += [lost.eq(0), wrote.eq(0)]

        m.d.comb += self.ev_dup_discard_msgs.eq(discarded[0] + discarded[1])
        m.d.comb += [self.o.valid.eq(sel_valid), self.o.payload.eq(out_beat)]
        with m.If(sel_valid & out_beat.first):
            m.d.sync += out_queued.eq(sel_fifo)
        with m.If(sel_valid):
            with m.If(out_beat.last):
                m.d.sync += busy.eq(0)
            with m.Else():
                m.d.sync += [busy.eq(1), owner.eq(sel_port)]
        with m.If(new_session):
            m.d.sync += [fwd_end.eq(0), kept_end[0].eq(0), kept_end[1].eq(0)]
        return m
