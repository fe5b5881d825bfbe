"""ForwardTracker: which sequence numbers are already covered, as seen on the output.

It reads the MoldUDP64 header of the packet being forwarded (`o`, observed) and keeps
its end. `base` = max(expected, end of the forwarded packet, as soon as its header
is read); `prior` the same without this cycle's header. `judge_ok`: a queued copy
may be judged now, because nothing is being forwarded, or the forwarded packet's
range is known (its header was read, or it came from a queue and was judged on
entry). MoldUDP64's `expected` only falls on a new session (or its RESET):
`new_session` then tells the judges to forget the old session's ranges, or its
copies would cover the new one's.
"""
from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ...layouts import UdpBeat
from ..mold.peek import MoldPeek


class ForwardTracker(wiring.Component):
    o: In(stream.Signature(UdpBeat, always_ready=True))
    expected: In(64)
    busy: In(1)
    from_queue: In(1)
    base: Out(64)
    prior: Out(64)
    judge_ok: Out(1)
    new_session: Out(1)

    def elaborate(self, platform):
        m = Module()
        m.submodules.peek = peek = MoldPeek()
        m.d.comb += [peek.i.valid.eq(self.o.valid), peek.i.payload.eq(self.o.payload)]
        fwd_end, fwd_end_now = Signal(64), Signal(64)
        out_hdr = Signal()           # the forwarded packet's header has been read
        m.d.comb += fwd_end_now.eq(Mux(peek.done, peek.seq + peek.span, fwd_end))
        with m.If(peek.done):
            m.d.sync += [fwd_end.eq(fwd_end_now), out_hdr.eq(1)]
        with m.If(self.o.valid & self.o.payload.first):
            m.d.sync += out_hdr.eq(0)
        exp = self.expected
        m.d.comb += [self.base.eq(Mux(fwd_end_now > exp, fwd_end_now, exp)),
                     self.prior.eq(Mux(fwd_end > exp, fwd_end, exp)),
                     self.judge_ok.eq(~self.busy | out_hdr | self.from_queue | peek.done)]
        last_expected = Signal(64)
        m.d.sync += last_expected.eq(exp)
        m.d.comb += self.new_session.eq(exp < last_expected)
        with m.If(self.new_session):
            m.d.sync += fwd_end.eq(0)
        return m
