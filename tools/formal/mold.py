"""MoldUDP64 sequencing (rtl/rx/merge/sequencer.py, the `Sequencer` inside FeedMerge):
no sequence number is delivered twice, and the expected number E never goes back.

Proved on the Sequencer alone (jump_window=4) with free inputs: live messages on both
ports (any seq, any first or mark flag, any cycle), the three hold-buffer heads (A, B, host
injection: any messages, any valid/ready timing, not necessarily ones pushed),
push-ready, pause, restart, the session flush/same flags, join/join_seq, gap_wait/skip, the hold-window limits and
the raw snapshot stream. So it covers whatever MoldPort, the hold buffers and the
recovery path could hand it.

The live messages' one-bit relation flags (SeqRel: lt, at, lt1, at1, far) are computed
by MoldPort a cycle ahead, from the sequencer's registers (status.expected, expected1,
expected_w). Here they are assumed equal to exactly those comparisons: the live seq
against the previous cycle's E, E+1 and E+window (ghost registers). The heads' flags
are computed by the real HoldHead blocks inside the Sequencer.

A delivery is sequenced (seq == E from a head or a live port, a confirmed jump; the
session's start only sets E, to the smallest number held) or raw (a snapshot message, delivered unsequenced): raw
deliveries are left out of the properties (ghost: raw.valid & raw.ready the cycle
before), not assumed off. A session lasts from `restart` or `join` (join sets E to
join_seq: treated like restart by the ghosts) to the next one. Proved:
  - a sequenced delivery carries a number >= E (E of the cycle it was decided in), and
    afterwards E = seq + 1 (unless restart/join came in that same cycle, or a jump was
    confirmed in it: then E is beyond (the bubble follows), and the confirming message
    goes out a cycle later, decided in the bubble: >= the E of the confirming cycle);
  - E never decreases, except on restart or join;
  - within a session every delivered number is larger than the one before (ghost: the
    last delivered number), hence none is delivered twice.
Assumed: every sequence number at an input (live, heads, join_seq) is below 2^63
(E is a 64-bit counter; real sessions are far from that).

k-induction, depth DEPTH: about 20-40 s on a loaded 2-core machine (YoWASP boolector).
The old strict variant (nothing delivered outside a session: a RESET mid-packet) is
gone: nothing is delivered before the session's start is confirmed (E set), so it
holds by construction and proving it would add nothing.
"""
from amaranth.hdl import Assert, Assume, Module, Mux, ResetSignal, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from tickwire.rtl.layouts import MoldMsg, RawMsg
from tickwire.rtl.rx.merge import sequencer
from tickwire.rtl.rx.merge.hold_head import HoldHead
from tickwire.rtl.rx.merge.sequencer import Sequencer

WINDOW = 4                # jump window in the proof (the property does not depend on it)


def _elaborate_with_registers(dut):
    """(Module of `dut`, its E and have_e registers). The Sequencer creates them
    unnamed (tuple assignments), so they are picked by creation order: Signal (and
    HoldHead, for the three heads' registers) are wrapped in sequencer.py's namespace
    while it elaborates (read-only; the block is unchanged). The widths and inits are checked so a reordering fails loudly."""
    made, heads = [], []

    def recording(*args, **kwargs):
        sig = Signal(*args, **kwargs)
        made.append(sig)
        return sig

    def recording_head():
        heads.append(HoldHead())
        return heads[-1]

    sequencer.Signal, sequencer.HoldHead = recording, recording_head
    try:
        dut._MustUse__silence = True
        m = dut.elaborate(None)
    finally:
        sequencer.Signal, sequencer.HoldHead = Signal, HoldHead
    E, E1, EW, have_e = made[:4]
    assert [len(s) for s in made[:4]] == [64, 64, 64, 1] and E1.init == 1 \
        and EW.init == WINDOW, "Sequencer's first registers are no longer E, E1, EW, have_e"
    lo = [s for s in made if isinstance(s, Signal) and s.name in ("lo0", "lo1")]
    assert len(lo) == 2 and all(len(s) == 64 for s in lo), "the start's lo registers moved"
    # the state bits the decisions use, kept as registers a cycle ahead (for invariants)
    names = ("ok", "far_ok", "claim_ok", "claim_v", "bubble", "joined", "jump_late")
    state = {s.name: s for s in made if isinstance(s, Signal) and s.name in names}
    assert sorted(state) == sorted(names), "the sequencer's state registers were renamed"
    return m, E, have_e, heads, lo, state


class MoldProps(wiring.Component):
    live_v: In(2)
    live: In(MoldMsg).array(2)
    head_v: In(3)
    head: In(MoldMsg).array(3)
    push_ready: In(2)
    raw_v: In(1)
    raw: In(RawMsg)
    restart: In(1)
    flush: In(2)
    same: In(1)
    join: In(1)
    join_seq: In(64)
    pause: In(1)
    gap_wait: In(1)
    skip: In(1)
    hold_cycles: In(32)
    hold_packets: In(16)
    hold_both: In(4)

    def elaborate(self, platform):
        m = Module()
        dut = Sequencer(jump_window=WINDOW)
        m.submodules.seq, E_reg, have_e, heads, lo, sb = _elaborate_with_registers(dut)
        st = dut.status
        E, E1, EW = st.expected, st.expected1, st.expected_w
        m.d.comb += Assume(~ResetSignal())
        # MoldPort's registers: flags against last cycle's E, E + 1, E + window
        p_E, p_E1, p_EW = Signal(64), Signal(64, init=1), Signal(64, init=WINDOW)
        m.d.sync += [p_E.eq(E), p_E1.eq(E1), p_EW.eq(EW)]
        # ...and the claim's compares: against last cycle's target, and against the
        # values it can move to (each port's last seq + 1 for a message, + 0 a mark; the
        # other port's last seq)
        p_tgt = [Signal(64, name=f"p_tgt{p}") for p in (0, 1)]
        p_s1 = [Signal(64, name=f"p_s1_{p}") for p in (0, 1)]
        p_s = [Signal(64, name=f"p_s{p}") for p in (0, 1)]
        m.d.sync += [p_tgt[0].eq(st.claim_tgt0), p_tgt[1].eq(st.claim_tgt1)]
        for p in (0, 1):
            lv = self.live[p]
            m.d.sync += [p_s[p].eq(lv.msg.seq), p_s1[p].eq(lv.msg.seq + ~lv.mark)]
        for p in (0, 1):
            msg, s = self.live[p], self.live[p].msg.seq
            m.d.comb += [Assume(msg.rel.c_old == (s == p_tgt[p])),
                         Assume(msg.rel.c_own == (s == p_s1[p])),
                         Assume(msg.rel.c_oth == (s == p_s[1 - p])),
                         Assume(msg.rel.c_same == (s == self.live[1 - p].msg.seq))]
            m.d.comb += [dut.live[p].valid.eq(self.live_v[p]), dut.live[p].payload.eq(msg),
                         dut.push[p].ready.eq(self.push_ready[p]),
                         Assume(~s[63]),
                         Assume(msg.rel.lt == (s < p_E)), Assume(msg.rel.at == (s == p_E)),
                         Assume(msg.rel.lt1 == (s < p_E1)), Assume(msg.rel.at1 == (s == p_E1)),
                         Assume(msg.rel.far == (s > p_EW))]
        for p in range(3):
            m.d.comb += [dut.head[p].valid.eq(self.head_v[p]),
                         dut.head[p].payload.eq(self.head[p]),
                         Assume(~self.head[p].msg.seq[63])]
        m.d.comb += [dut.raw.valid.eq(self.raw_v), dut.raw.payload.eq(self.raw),
                     dut.restart.eq(self.restart), dut.join.eq(self.join),
                     dut.flush.eq(self.flush), dut.same.eq(self.same),
                     dut.join_seq.eq(self.join_seq), dut.pause.eq(self.pause),
                     dut.gap_wait.eq(self.gap_wait), dut.skip.eq(self.skip),
                     dut.hold_cycles.eq(self.hold_cycles),
                     dut.hold_packets.eq(self.hold_packets),
                     dut.hold_both.eq(self.hold_both),
                     Assume(~self.join_seq[63])]

        # ghosts, two cycles behind (o leaves two registers after the decision: the
        # decision, then the output mux): what was decided two cycles ago
        p_raw, p_new, pp_raw, pp_new = Signal(), Signal(), Signal(), Signal()
        pp_E = Signal(64)                            # E in the decision's cycle
        m.d.sync += [p_raw.eq(dut.raw.valid & dut.raw.ready), pp_raw.eq(p_raw),
                     p_new.eq(self.restart | self.join), pp_new.eq(p_new), pp_E.eq(p_E)]
        p_bubble = Signal()                          # bubble, a cycle ago
        m.d.sync += p_bubble.eq(sb["bubble"])
        # a confirming message going out a cycle late (Sequencer._jump_out, decided in
        # the jump's bubble): `jump_late` two cycles ago, and E three cycles ago
        p_late, pp_late, ppp_E = Signal(), Signal(), Signal(64)
        m.d.sync += [p_late.eq(sb["jump_late"]), pp_late.eq(p_late), ppp_E.eq(pp_E)]
        got, seq = Signal(), dut.o.payload.seq
        m.d.comb += got.eq(dut.o.valid & ~pp_raw)    # a sequenced delivery
        any_, last = Signal(), Signal(64)            # delivered in this session
        with m.If(got):
            m.d.sync += [any_.eq(1), last.eq(seq)]
        with m.If(pp_new):                           # that delivery was the old session's
            m.d.sync += any_.eq(0)

        m.d.comb += [
            Assert(~got | (seq >= Mux(pp_late, ppp_E, pp_E)), "delivered seq below E"),
            Assert(~got | pp_new | (p_E == seq + 1) | (p_bubble & (p_E > seq + 1)),
                   "E != delivered seq + 1"),
            Assert(p_new | (E >= p_E), "E decreased without restart/join"),
            Assert(~(got & any_) | (seq > last), "seq delivered twice"),
            # helper invariants (true in every reachable state) for the induction
            Assert(~any_ | p_new | pp_new | (last < E), "last delivered >= E"),
            Assert(~E[63] | (E == 2**63), "E beyond 2^63"),
            Assert(have_e | (E_reg == 0), "E set without a session"),
            *[Assert(~h.msg.msg.seq[63], "a held message beyond 2^63") for h in heads],
            *[Assert(~h.pre.msg.seq[63], "a message after a hold FIFO beyond 2^63")
              for h in heads],
            *[Assert(~x[63], "the start's smallest held number beyond 2^63") for x in lo],
            # the decisions' state registers (computed a cycle ahead) and what the
            # live far flag relies on (E + 1 and E + window in step while ok)
            Assert(sb["ok"] == (have_e & ~sb["bubble"]), "ok != have_e & ~bubble"),
            Assert(~sb["jump_late"] | sb["bubble"], "a late jump message outside the bubble"),
            Assert(sb["far_ok"] == (sb["ok"] & ~p_bubble), "far_ok != ok, settled"),
            Assert(~sb["far_ok"] | ~sb["joined"], "far_ok while joined"),
            Assert(sb["claim_ok"] == (sb["claim_v"] & sb["far_ok"] & ~sb["joined"]),
                   "claim_ok != claim_v & far_ok & ~joined"),
            Assert(~sb["ok"] | ((E1 == (E + 1)[:64]) & (EW == (E + WINDOW)[:64])),
                   "E + 1 or E + window out of step while ok"),
        ]
        return m


def component():
    return MoldProps()


DEPTH = 6
