"""DuplicateJudge: one port's packets, judged on their MoldUDP64 header.

It watches the port's input (`i`) and is told whether each beat left live (`bypass`,
cut-through). A packet that did not starts down the queue path (`queue`, tagged);
when its header has been read it is judged: if its whole sequence range is already
`covered` it is a duplicate (`dup`, with its message count in `dup_msgs`) and
`discard` tells the queue to drop it; otherwise it is kept and `kept_end` moves to
its end. Heartbeats and end-of-session packets (span 0) are always kept: MoldUDP64
counts them. The covered range is the latest of `base` (delivered or being
forwarded) and the other port's `kept_end`.

`lagging` marks a port whose last packet was a duplicate (the trailing feed): its
next packet takes the queue path even when the merge is idle, so a trailing copy
never holds the output while the leading feed's next packet waits.
"""
from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ...layouts import UdpBeat
from ..mold.peek import MoldPeek
from .queue import QueuedBeat

#: Delay-line length: payload byte 19 is at most 4 beats after the first (payload may
#: start in lane 7) and the verdict comes one cycle after that beat, leaving a cycle to
#: wait for the header of a live packet being forwarded. A copy not judged in time is
#: kept (MoldUDP64 then drops it as a duplicate). Short, so the queue path stays below
#: the idle time between back-to-back frames.
DELAY = 6


class DuplicateJudge(wiring.Component):
    def __init__(self, delay=DELAY):
        self.delay = delay
        super().__init__({
            "i": In(stream.Signature(UdpBeat, always_ready=True)),
            "bypass": In(1),
            "base": In(64),          # covered: delivered, or in the packet being forwarded
            "prior": In(64),         # ...as of before the packet being forwarded started
            "other_kept": In(64),    # end of the other port's last kept queued packet
            "judge_ok": In(1),       # the forwarded packet's range is known (or none is)
            "new_session": In(1),    # forget old ranges
            "queue": Out(stream.Signature(QueuedBeat, always_ready=True)),
            "discard": Out(1), "discard_tag": Out(1),
            "dup": Out(1), "dup_msgs": Out(16),
            "kept_end": Out(64), "lagging": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        i = self.i
        m.submodules.peek = peek = MoldPeek()
        m.d.comb += [peek.i.valid.eq(i.valid), peek.i.payload.eq(i.payload)]
        is_first = i.valid & i.payload.first
        is_last = i.valid & i.payload.last
        queued = Signal()        # the current packet took the queue path
        open_ = Signal()         # ...and has not ended yet
        tag = Signal()           # toggles per queued packet
        discarding = Signal()
        with m.If(is_first):
            m.d.sync += [queued.eq(~self.bypass), open_.eq(~i.payload.last)]
            with m.If(~self.bypass):
                m.d.sync += tag.eq(~tag)
        with m.Elif(is_last):
            m.d.sync += open_.eq(0)
        # `done` comes the cycle after the header beat: it judges the packet `tag`
        # names (a new first beat in this cycle belongs to the next packet). The
        # verdict waits (at most a few cycles) for the header of the packet being
        # forwarded, so a copy arriving in step with it is judged against its range.
        covered = Signal(64)
        m.d.comb += covered.eq(Mux(self.other_kept > self.base, self.other_kept, self.base))
        dup, pending = self.dup, Signal()
        # Too late once the packet's first beat has left the delay line: keep it.
        age = Signal(range(self.delay + 2))
        with m.If(is_first):
            m.d.sync += age.eq(1)
        with m.Elif(age <= self.delay):
            m.d.sync += age.eq(age + 1)
        judge = ((peek.done | pending) & queued & self.judge_ok & ~is_first
                 & (age <= self.delay))
        m.d.comb += dup.eq(judge & (peek.span != 0) & (peek.seq + peek.span <= covered))
        with m.If(judge & ~dup):
            m.d.sync += [self.kept_end.eq(peek.seq + peek.span), self.lagging.eq(0)]
        with m.If(dup):
            m.d.sync += self.lagging.eq(1)
        # a live packet's header: was it already covered before it started?
        with m.If(peek.done & ~queued):
            m.d.sync += self.lagging.eq((peek.seq + peek.span <= self.prior)
                                        | (peek.seq + peek.span <= self.other_kept))
        with m.If(peek.done & queued & ~self.judge_ok):
            m.d.sync += pending.eq(1)
        with m.If(judge | is_first):
            m.d.sync += pending.eq(0)
        m.d.comb += [self.dup_msgs.eq(Mux(dup, peek.span, 0)),
                     self.discard.eq(dup), self.discard_tag.eq(tag)]
        with m.If(dup & ~is_first & (open_ | i.valid) & ~is_last):
            m.d.sync += discarding.eq(1)
        with m.If(discarding & is_last):
            m.d.sync += discarding.eq(0)

        # beats not sent live enter the queue, unless their packet is being discarded
        drop_in = ~is_first & (discarding | dup)
        with m.If(i.valid & ~self.bypass & ~drop_in):
            m.d.comb += [self.queue.valid.eq(1), self.queue.payload.beat.eq(i.payload),
                         self.queue.payload.tag.eq(Mux(is_first, ~tag, tag))]
        with m.If(self.new_session):
            m.d.sync += self.kept_end.eq(0)
        return m
