"""HoldWindow: how long a gap may stay open before the sequencer gives up on it.

The window runs while something waits (a hold-buffer head ahead of E; before E exists,
a message held) and nothing progresses; any progress restarts it. It expires after
`hold_cycles` cycles or `hold_packets` packet starts (first messages arriving).
`expire` is registered (the counters and their 32/16-bit compares stay off the
sequencer's one-cycle loop) and cleared by the progress it causes.

`both` (each port's oldest held message is ahead of E: both feeds are past the gap)
expires the window after `hold_both` packet starts counted while it holds (0: off).
Why: each feed delivers in order, so once both have gone past E neither will still
send it; only a reordered packet could, and `hold_both` packets cover that. Without
it a gap on both feeds held everything behind it for `hold_packets` (64) packets or
`hold_cycles`: ~7,600 cycles on the bench's 1 M-message A/B run with both lines in
step, where `hold_packets` must stay large for a feed that lags the other. Its count
is 4 bits (hold_both <= 15; it stops at 14 + the last cycle's starts): a few flip-flops
on the window's reset, which is one LUT after the delivery.

`clear` (Sequencer) is progress: a delivery, or the bubble after any jump of E (a
confirmed jump, a gap; their own cycle need not clear it: nothing reads the window in
the bubble, no head waits and E exists). `running` is never a hold after E exists: a
message held into an empty buffer waits only once its head shows (HoldHead, 4 cycles
later), which is when the model starts the window (tickwire/model/mold.py `stall_t`).
With holds in `running`, the one-cycle hole between a hold and its head showing reset
the counts unless the next holds happened to cover it; then a packet start in the
hold's cycle counted and the window expired a packet (two cycles) early: with
510-message hold buffers (fuzz qinq-both, seed 4) a slot was free where the model's
buffer was full, the RTL held one message more and lost one later.
"""
from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class HoldWindow(wiring.Component):
    clear: In(1)            # progress, restart or a bubble: start over
    running: In(1)          # something waits
    firsts: In(2)           # packet starts arriving this cycle
    both: In(1)             # both ports' heads wait (ahead of E)
    hold_cycles: In(32)
    hold_packets: In(16)
    hold_both: In(4)
    expire: Out(1)

    def elaborate(self, platform):
        m = Module()
        cycles, packets, both = Signal(32), Signal(16), Signal(4)
        with m.If(self.clear):
            m.d.sync += [cycles.eq(0), packets.eq(0), both.eq(0), self.expire.eq(0)]
        with m.Elif(self.running):
            m.d.sync += [cycles.eq(cycles + (cycles != 0xFFFFFFFF)),
                         packets.eq(packets + Mux(packets == 0xFFFF, 0, self.firsts)),
                         both.eq(Mux(self.both, both + Mux(both >= 14, 0, self.firsts), 0)),
                         self.expire.eq((cycles >= self.hold_cycles)
                                        | (packets >= self.hold_packets)
                                        | ((self.hold_both != 0) & (both >= self.hold_both)))]
        with m.Else():
            m.d.sync += [cycles.eq(0), packets.eq(0), both.eq(0), self.expire.eq(0)]
        return m
