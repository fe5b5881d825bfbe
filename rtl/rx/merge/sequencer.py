"""Sequencer: one expected sequence number E for feeds A and B, judged on checked
messages (MoldPort), with a hold buffer per port for messages ahead of a gap.

Each cycle it looks at five candidates: each port's hold-buffer head (HoldHead), the
host injection buffer's head (recovery: retransmitted messages) and each port's live
message. Any with seq < E is a duplicate (discarded, counted); the
first with seq == E (heads before live, A before B) is delivered and E moves on; the
others with seq == E are duplicates of it. A live message ahead of E is held in its
port's buffer (`push`) when it is at most the jump window ahead, else it is an
unconfirmed jump: dropped, and remembered as a claim that the next packet on that port
(continuing it) or the other port's copy (same start) confirms; a confirmed jump
declares the gap at once. The hold window: while a buffer head waits (seq > E) and
nothing moves, after `hold_cycles` cycles or `hold_packets` packet starts the gap
[E, smallest head) is declared (`gap`), E moves there and the held messages flow.

Pipelining: decisions use one-bit flags only (SeqRel, compared a cycle ahead from
registers by MoldPort and HoldHead); E + 1 and E + window are kept in registers.
After E jumps (a gap, a confirmed jump, the session's first message) the flags are
stale for one cycle (`bubble`): live messages then go to the hold buffer (or are
discarded when already behind E) and nothing is delivered. A message next in sequence
passes with one register. The same rules in Python: tickwire/model/mold.py `Arbiter`.
"""
from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ...layouts import GapEvent, MergeStatus, MoldMsg, RawMsg
from .hold_head import HoldHead
from .hold_window import HoldWindow

EVENTS = ("overflow_a", "overflow_b", "held_a", "held_b", "jump_drop_a", "jump_drop_b",
          "timeout", "jump")


class Sequencer(wiring.Component):
    def __init__(self, jump_window=2048):
        self.jump_window = jump_window
        super().__init__({
            "live": In(stream.Signature(MoldMsg, always_ready=True)).array(2),
            "head": In(stream.Signature(MoldMsg)).array(3),      # hold buffers A, B, injection
            "push": Out(stream.Signature(MoldMsg)).array(2),     # hold buffer inputs
            "o": Out(stream.Signature(RawMsg, always_ready=True)),
            "gap": Out(stream.Signature(GapEvent, always_ready=True)),
            "status": Out(MergeStatus),
            "dup": Out(2).array(2),                              # per port, registered
            "ev": Out(len(EVENTS)),                              # registered pulses
            "restart": In(1),
            "hold_cycles": In(32), "hold_packets": In(16),
        })

    def elaborate(self, platform):
        m = Module()
        live = self.live
        E, E1, EW = Signal(64), Signal(64, init=1), Signal(64, init=self.jump_window)
        have_e, bubble, stepped = Signal(), Signal(), Signal()
        heads = [HoldHead(), HoldHead(), HoldHead()]
        m.submodules.head_a, m.submodules.head_b, m.submodules.head_i = heads
        step = Signal()
        for p, h in enumerate(heads):
            wiring.connect(m, wiring.flipped(self.head[p]), h.fifo)
            m.d.comb += [h.step.eq(step), h.e.eq(E), h.e1.eq(E1)]
        ok = have_e & ~bubble
        # candidates: heads A, B, injection, live A, B; live flags against this cycle's E
        msgs = [h.msg for h in heads] + [live[0].payload, live[1].payload]
        valid = [h.valid for h in heads] + [live[0].valid, live[1].valid]
        N, L = 5, 3                 # candidates, index of the first live one
        lt = [Signal(name=f"lt{k}") for k in range(N)]
        eq = [Signal(name=f"eq{k}") for k in range(N)]
        for k in range(N):
            r = msgs[k].rel
            if k < L:
                m.d.comb += [lt[k].eq(valid[k] & ok & r.lt), eq[k].eq(valid[k] & ok & r.at)]
            else:           # stale-safe: behind an older E is behind the current one
                m.d.comb += [lt[k].eq(valid[k] & have_e & Mux(stepped & ~bubble, r.lt1, r.lt)),
                             eq[k].eq(valid[k] & ok & Mux(stepped, r.at1, r.at))]
        pick = [Signal(name=f"pick{k}") for k in range(N)]
        taken = 0
        for k in range(N):
            m.d.comb += pick[k].eq(eq[k] & ~taken)
            taken = taken | eq[k]
        deliver = Signal()
        m.d.comb += deliver.eq(taken)
        dupk = [(lt[k] | eq[k]) & ~pick[k] for k in range(N)]
        for p in range(L):
            m.d.comb += heads[p].pop.eq(lt[p] | eq[p])

        # live messages ahead of E: held, or an unconfirmed jump (never before E exists)
        ahead = [live[p].valid & ~lt[L + p] & ~eq[L + p] for p in (0, 1)]
        far = [ahead[p] & have_e & live[p].payload.rel.far for p in (0, 1)]
        # the session's first message sets E and is delivered (A first)
        init = [~have_e & live[0].valid, ~have_e & ~live[0].valid & live[1].valid]
        hold = [ahead[p] & ~far[p] & ~init[p] for p in (0, 1)]
        for p in (0, 1):
            m.d.comb += [self.push[p].valid.eq(hold[p]), self.push[p].payload.eq(live[p].payload)]
        claim_v, claim_port, claim_start, claim_end = Signal(), Signal(), Signal(64), Signal(64)
        fp, fmsg = Signal(), Signal(MoldMsg)
        m.d.comb += [fp.eq(~far[0]), fmsg.eq(Mux(far[0], live[0].payload, live[1].payload))]
        fseq, ffirst = fmsg.msg.seq, fmsg.first
        fseq1 = Mux(far[0], live[0].payload.msg.seq + 1, live[1].payload.msg.seq + 1)
        match_end, match_start, confirm = Signal(), Signal(), Signal()
        m.d.comb += [match_end.eq(fseq == claim_end), match_start.eq(fseq == claim_start)]
        m.d.comb += confirm.eq((far[0] | far[1]) & ok & ffirst & claim_v & ~deliver & Mux(
            claim_port == fp, match_end, match_start))
        with m.If((far[0] | far[1]) & ok & ~confirm):
            with m.If(ffirst):
                m.d.sync += [claim_v.eq(1), claim_port.eq(fp), claim_start.eq(fseq),
                             claim_end.eq(fseq1)]
            with m.Elif(claim_v & (claim_port == fp) & match_end):
                m.d.sync += claim_end.eq(fseq1)
        with m.If(confirm):
            m.d.sync += claim_v.eq(0)

        # the hold window
        wait = [heads[p].valid & ok & ~lt[p] & ~eq[p] for p in (0, 1)]
        waiting = Signal()
        m.d.comb += waiting.eq(wait[0] | wait[1])
        h0, h1 = heads[0].msg.msg.seq, heads[1].msg.msg.seq
        new_e = Mux(wait[0] & wait[1], Mux(h0 < h1, h0, h1), Mux(wait[0], h0, h1))
        m.submodules.window = win = HoldWindow()
        go_gap = Signal()
        m.d.comb += [go_gap.eq(win.expire & waiting & ~deliver & ~confirm),
                     win.clear.eq(deliver | confirm | go_gap | self.restart | bubble),
                     win.running.eq(waiting | hold[0] | hold[1]),
                     win.firsts.eq((live[0].valid & live[0].payload.first)
                                   + (live[1].valid & live[1].payload.first)),
                     win.hold_cycles.eq(self.hold_cycles), win.hold_packets.eq(self.hold_packets)]

        # outputs and E
        out = self.o.payload
        m.d.sync += self.o.valid.eq(deliver | confirm | init[0] | init[1])
        sel = Mux(init[0] | init[1], Mux(init[0], live[0].payload.msg, live[1].payload.msg),
                  fmsg.msg)
        for k in reversed(range(N)):
            sel = Mux(pick[k], msgs[k].msg, sel)
        m.d.sync += out.eq(sel)
        # a gap is reported a cycle later: its length (a 64-bit subtract) from registers
        gap_v, gap_from, gap_to = Signal(), Signal(64), Signal(64)
        m.d.sync += [gap_v.eq(go_gap | confirm), gap_from.eq(E),
                     gap_to.eq(Mux(confirm, fseq, new_e)), self.gap.valid.eq(gap_v), self.gap.payload.first.eq(gap_from),
                     self.gap.payload.count.eq(gap_to - gap_from)]
        first_live = Mux(live[0].valid, live[0].payload.msg.seq, live[1].payload.msg.seq)
        jump = Signal()
        m.d.comb += [step.eq(deliver), jump.eq(confirm | go_gap | init[0] | init[1])]
        m.d.sync += [stepped.eq(step), bubble.eq(jump)]
        with m.If(deliver):
            m.d.sync += [E.eq(E1), E1.eq(E1 + 1), EW.eq(EW + 1)]
        with m.Elif(jump):
            m.d.sync += [E.eq(Mux(confirm, fseq1, Mux(go_gap, new_e, first_live + 1))),
                         have_e.eq(1)]
        with m.Else():
            m.d.sync += [E1.eq(E + 1), EW.eq(E + self.jump_window)]
        with m.If(self.restart):
            m.d.sync += [have_e.eq(0), claim_v.eq(0), E.eq(0), bubble.eq(0)]

        st = self.status
        m.d.comb += [st.expected.eq(E), st.expected1.eq(E1), st.expected_w.eq(EW)]
        m.d.sync += [st.delivered.eq(deliver | confirm | init[0] | init[1]),
                     st.dup_n.eq(sum(dupk)),
                     st.dup_first.eq(sum(dupk[k] & msgs[k].first for k in range(N))),
                     st.gap.eq(gap_v), st.gap_first.eq(gap_from),
                     st.gap_len.eq(Mux(gap_v, gap_to - gap_from, 0))]
        for p in (0, 1):
            m.d.sync += self.dup[p].eq(dupk[p] + dupk[L + p])
        m.d.sync += self.ev.eq(Cat(
            hold[0] & ~self.push[0].ready, hold[1] & ~self.push[1].ready,
            hold[0] & self.push[0].ready, hold[1] & self.push[1].ready,
            far[0] & ~(confirm & ~fp), far[1] & ~(confirm & fp), go_gap, confirm))
        return m
