"""HoldHead: a hold buffer's oldest message in a register, with its relation to the
sequencer's expected number E kept current every cycle.

Why: the sequencer decides from one-bit flags (SeqRel) only. The flags for the next
cycle are compared now, from registers, for both outcomes of this cycle (E stays or
E steps by one), and `step` picks one: a single mux in the sequencer's loop. The
head is consumed (pop) when valid and `done` (a duplicate or delivered: the
sequencer's one-LUT judgement of the flags) or, with `drop_ok`, its far flag set (held
beyond the jump window); the next one loads from the FIFO in the same cycle, so a
buffer drains at one message per cycle. After E jumps (a gap) the
flags are stale for one cycle (the sequencer's `bubble`); it makes no decision then.
`rel.far` (more than the jump window ahead of E: a message held before the session's
start was confirmed, or before a JOIN) lags one cycle more, because E + window is
recomputed in the bubble; the sequencer ignores it in the cycle after a bubble.
`flush` (a restart: new session or RESET) empties the registers with the FIFO.

The FIFO's block-RAM output goes into a plain register (`pre`) first, and the head
loads from that: the RAM's slow clock-to-out and its long routes across the chip end
at a flip-flop, and the head's compares start from registers (issue 13: the RAM ->
`far` path limited the merge to 100 MHz). A message reaches the head one cycle later
than before; `pre` holds one message, so FeedMerge makes the FIFO one shorter and the
buffer's capacity is unchanged. The head still drains one message per cycle.

Only the key (seq, first, mark) is registered here: the rest of the message follows a
cycle later from the HoldBuffer's body side, which repeats `load` (rtl/rx/merge/
hold_buffer.py: pop no longer reaches ~500 bits' block RAMs and load enables).

Timing (156.25 MHz): every compare is a carry chain (compare.py); `load` is two pinned
LUTs (pin.py) from registers and `done`, and each flag is a load mux, then a step mux,
each one pinned LUT: E + 1 -> chain -> two LUTs -> flag, the delivery -> one LUT.
`waits` (valid, ahead of E, not far: what the hold window waits on) is a register of
its own, built the same way, so the sequencer's gap decision reads one bit per head
(from four, it was the merge's critical path into E: 7.18 ns, 139.37 MHz).
"""
from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ...layouts import MoldMsg, SeqRel
from .compare import below, halves
from .pin import pin


class HoldHead(wiring.Component):
    fifo: In(stream.Signature(MoldMsg))     # the FIFO's output (ready = read)
    valid: Out(1)
    msg: Out(MoldMsg)                       # msg.rel: against the current E
    done: In(1)                             # the head is judged this cycle, if valid
    drop_ok: In(1)                          # ...or dropped when its far flag is set
    step: In(1)                             # E + 1 at the end of this cycle
    e: In(64)
    e1: In(64)
    ew: In(64)                              # E + jump window
    ew1: In(64)                             # E + jump window + 1
    flush: In(1)
    waits: Out(1)           # valid, ahead of E and not far: what the hold window waits on

    def __init__(self):
        super().__init__()
        self.pre_valid, self.pre = Signal(), Signal(MoldMsg)    # the FIFO's output, registered
        self.load = Signal()        # the head takes `pre` at the end of this cycle

    def elaborate(self, platform):
        m = Module()
        pre_v, pre = self.pre_valid, self.pre
        load = self.load
        # pop: the sequencer takes the head (judged, or a far one dropped); `load` as two
        # pinned LUTs from registers and `done` (itself one LUT from registers)
        pop = Signal()
        far_drop = self.drop_ok & self.msg.rel.far
        m.d.comb += pop.eq(self.valid & (self.done | far_drop))
        idle = pin(m, pre_v & (~self.valid | far_drop), "idle")
        m.d.comb += load.eq(pin(m, idle | (pre_v & self.done), "load"))
        take = self.fifo.valid & (~pre_v | load)
        m.d.comb += self.fifo.ready.eq(take)
        f = self.fifo.payload
        with m.If(take):        # the key only (HoldBuffer: the body follows a cycle later)
            m.d.sync += [pre_v.eq(1), pre.msg.seq.eq(f.msg.seq), pre.first.eq(f.first),
                         pre.mark.eq(f.mark)]
        with m.Elif(load):
            m.d.sync += pre_v.eq(0)
        with m.If(load):
            m.d.sync += [self.valid.eq(1), self.msg.msg.seq.eq(pre.msg.seq),
                         self.msg.first.eq(pre.first), self.msg.mark.eq(pre.mark)]
        with m.Elif(pop):
            m.d.sync += self.valid.eq(0)
        with m.If(self.flush):
            m.d.sync += [self.valid.eq(0), pre_v.eq(0), self.waits.eq(0)]

        def rel(seq):
            """(lt, at) if E stays, then (lt, at) if E steps, each one pinned LUT after
            carry chains of half the width (32-bit halves of seq against E and E + 1,
            compare.py `halves`), and (gt, gt1) for `waits`: `at` is the four
            halves' "neither below nor above", `lt` the high half's below or, when it is
            not above, the low half's. Why: a 64-bit chain is ~2 ns; E -> chain ->
            `at` -> load mux -> step mux was the merge's critical path at seed 3 (7.03
            ns, 4.4 of it routing), and the halves' chains are ~1 ns shorter with no LUT
            level more. seq < E + 1 is seq <= E, so the lt if E steps is ~gt. E + 1 is
            stale in the bubble after a jump, when E cannot step, so only the step side
            reads it; at E = 2**64 - 1 (E + 1 wraps to 0) no seq is at E + 1 (`e1_nz`,
            applied in the step mux), as gt & ~gt1 had it."""
            lh, gh, ll, gl = halves(m, seq, self.e)
            l1h, g1h, l1l, g1l = halves(m, seq, self.e1)
            return ([pin(m, lh | (~gh & ll), "lt"), pin(m, ~lh & ~gh & ~ll & ~gl, "at"),
                     pin(m, ~gh & (lh | ~gl), "le"), pin(m, ~l1h & ~g1h & ~l1l & ~g1l, "at1")],
                    (gh | (~lh & gl), g1h | (~l1h & g1l)))

        # each flag: the load mux (one LUT after the chains and `load`), then the step
        # mux (one LUT after the delivery)
        (new, new_gt), (cur, cur_gt) = rel(pre.msg.seq), rel(self.msg.msg.seq)
        src = [pin(m, Mux(load, a, b), "by_load") for a, b in zip(new, cur)]
        far_new = [below(m, w, pre.msg.seq) for w in (self.ew, self.ew1)]
        far_cur = [below(m, w, self.msg.msg.seq) for w in (self.ew, self.ew1)]
        far = [pin(m, Mux(load, a, b), "far_by_load") for a, b in zip(far_new, far_cur)]
        nxt = Signal(SeqRel)
        # E + 1 is not 0 (E is not 2**64 - 1): from E + 1's register, three LUT levels
        # in parallel with the chains, into the step mux
        e1_nz = pin(m, self.e1.any(), "e1_nz")
        m.d.comb += [nxt.lt.eq(Mux(self.step, src[2], src[0])),
                     nxt.at.eq(Mux(self.step, src[3] & e1_nz, src[1])),
                     nxt.far.eq(Mux(self.step, far[1], far[0]))]
        m.d.sync += [self.msg.rel.lt.eq(nxt.lt), self.msg.rel.at.eq(nxt.at),
                     self.msg.rel.far.eq(nxt.far)]
        # waits = valid & ~lt & ~at & ~far of the next cycle, as its own register (the
        # hold window's gap decision reads it: one input, not four, on the way to E).
        # ~lt & ~at is gt (E < seq) if E stays, gt & gt1 if it steps. A head that pops
        # this cycle was behind E, at it (delivered: E steps past it) or dropped far,
        # so only the far drop needs `keep` (registers only); a loaded head is valid.
        keep = pin(m, self.valid & ~(self.drop_ok & self.msg.rel.far), "keep")
        # ahead: gt & ~far (E stays), gt & gt1 & ~far (E steps), one LUT after the half
        # chains each: with E + 1 = E's successor, E + 1 < seq implies E < seq, so the
        # step side is gt1 & ~far and its wrap (E + 1 = 0: gt was 0) is `e1_nz` in the
        # step mux; `keep` goes into the load mux (a_cur's LUT has no input left)
        a_new = [pin(m, new_gt[k] & ~far_new[k], "ahead") for k in (0, 1)]
        a_cur = [pin(m, cur_gt[k] & ~far_cur[k], "ahead") for k in (0, 1)]
        ahead = [pin(m, Mux(load, a_new[k], keep & a_cur[k]), "ahead_by_load")
                 for k in (0, 1)]
        with m.If(~self.flush):
            m.d.sync += self.waits.eq(Mux(self.step, ahead[1] & e1_nz, ahead[0]))
        return m
