"""Sequencer: one expected sequence number E for feeds A and B, judged on checked
messages (MoldPort), with a hold buffer per port for messages ahead of a gap, and the
host's injected messages (recovery, issue 14) as a third source.

Each cycle it looks at five candidates: each port's hold-buffer head (HoldHead), the
host injection buffer's head (recovery: retransmitted messages) and each port's live
message. Any with seq < E is a duplicate (discarded, counted); the
first with seq == E (heads A, B, injection, then live A, B) is delivered, E moves on; the
others with seq == E are duplicates of it. A live message ahead of E is held in its
port's buffer (`push`) when it is at most the jump window ahead, else it is an
unconfirmed jump: dropped, and remembered as a claim that the next packet on that port
(continuing it) or the other port's copy (same start) confirms; a confirmed jump
declares the gap at once (beside a message at E delivered in the same cycle: that one
first, the gap from E + 1, the confirming message a cycle later, `_jump_out`). The
hold window: while a buffer head waits (seq > E) and nothing moves, after `hold_cycles` cycles or `hold_packets` packet starts the gap
[E, smallest head) is declared (`gap`), E moves there and the held messages flow.
Marks (`MoldMsg.mark`: a heartbeat's or End of Session's next sequence number S,
from MoldPort) take the same paths but are never delivered nor counted as
duplicates: at or below E they go, ahead of E one waits in the hold buffer (so the
window declares [E, S) if no copy arrives), beyond the window it is a claim whose end
is S; a confirmed mark claim sets E = S and delivers nothing. Before E exists marks
are dropped.

The session's start (issue 15: a forged or foreign first packet must not set E): before
E exists every message is held and the packets' first messages are candidates; a second
packet that agrees (the same port continuing, the other port's copy) confirms the
start, or the hold window expires (a single packet on one feed). E is then the
smallest number held, so the first packet's messages are not lost, and a forged
jump held among them is dropped from the buffer as beyond the jump window (`_start`).

Pipelining (156.25 MHz): decisions use one-bit flags only (SeqRel, compared a cycle
ahead from registers by MoldPort and HoldHead); E + 1 and E + window are kept in
registers. After E jumps (a gap, a confirmed jump, the session's start, a
JOIN) the flags are stale for one cycle (`bubble`): live messages then go to the hold
buffer (or are discarded when already behind E) and nothing is delivered. A message
next in sequence passes with two registers: the decision, then the output mux from
registered copies (`_output`). The same rules in Python:
tickwire/model/mold.py `Arbiter`, tickwire/model/inject.py `HostArbiter`.
The loop is laid out for few LUT levels (routing is ~80 % of every path): the state
bits the decisions AND together are registers computed a cycle ahead (`ok` = E
exists and no bubble, `far_ok` = also not the cycle after one, `claim_ok` = also a
claim and not joined); every 64-bit compare is a carry chain (compare.py), the jump
claim's as what each port must match (`tgt`), compared by MoldPort a cycle ahead
against each value the target can have (SeqRel c_*); and the selects on the loop are
pinned single LUTs (pin.py): the delivery three levels from registers, then E, E + 1,
E + window and the heads' flags one LUT after it; the claim's match (a select of the
registered compares), then confirm, then E's jump side, one LUT each. (A live far flag
needs no lt/at terms: whenever `far_ok` and not joined, its flags came from an E with
E + 1 and E + window in step, so far excludes them.)

Back-pressure (`pause`): held messages drain at one per cycle, but the book takes one
every 2 cycles, so a released hold buffer would overflow the book's queue. While
`pause` is high (the book's queue is nearly full: BookInput.almost_full) the heads wait
(duplicates still go), no gap is declared (the hold window keeps counting, so an
expiry is declared the cycle the pause ends unless a head then delivers), and live
messages are judged as usual (the wire cannot wait). The order delivered is the
model's; the timing matters too, since each release restarts the hold window and frees
a hold-buffer slot: the model releases held messages at the same pace (one a cycle,
none while the book's queue is almost full) and starts the window after the last.

Recovery (issue 14, rtl/rx/inject/), tied off at 0:
`head[2]`: the injection FIFO (FeedMerge.inject), judged like a held message; its
duplicates count on `inj_ev` only, not in status.dup_n (as in the model).
`gap_wait`: an expired hold window reports the gap (`report`) and waits for the host
(`waiting`; held messages stay held) until the fill arrives or `skip` declares it.
`join`: E jumps to `join_seq` (late join: live messages below it are duplicates). It
may move E either way and sets E + 1 and E + window with it; in the bubble after it
every live message is held (its flags came from the old E) and judged from the buffer.
`raw`: a snapshot message, delivered unsequenced when nothing else goes out.
`inj_ev`: injected messages delivered / discarded (registered).
"""
from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ...layouts import GapEvent, MergeStatus, MoldMsg, RawMsg
from .pin import pin
from .hold_head import HoldHead
from .hold_window import HoldWindow

#: The hold window's control inputs (merge.* registers through FeedMerge).
HOLD_CONTROLS = ("hold_cycles", "hold_packets", "hold_both")
EVENTS = ("overflow_a", "overflow_b", "held_a", "held_b", "jump_drop_a", "jump_drop_b",
          "timeout", "jump", "far_held_a", "far_held_b")


def _unless_confirm(m, x, confirm_r, name):
    """x & ~confirm as one pinned LUT after confirm_r (the claim's compare, the latest
    input)."""
    return pin(m, x & ~confirm_r, name)


class Sequencer(wiring.Component):
    def __init__(self, jump_window=2048):
        self.jump_window = jump_window
        super().__init__({
            "live": In(stream.Signature(MoldMsg, always_ready=True)).array(2),
            "head": In(stream.Signature(MoldMsg)).array(3),      # hold buffers A, B, injection
            # HoldBuffer's body side: each head's `load`, and its message's body a cycle
            # later (all but seq: the output mux runs a cycle after the decision)
            "loads": Out(3), "body": In(RawMsg).array(3),
            "push": Out(stream.Signature(MoldMsg)).array(2),     # hold buffer inputs
            "o": Out(stream.Signature(RawMsg, always_ready=True)),
            "gap": Out(stream.Signature(GapEvent, always_ready=True)),
            "status": Out(MergeStatus),
            "dup": Out(2).array(2),                              # per port, registered
            "ev": Out(len(EVENTS)),                              # registered pulses
            "restart": In(1),
            "hold_cycles": In(32), "hold_packets": In(16), "hold_both": In(4),
            "raw": In(stream.Signature(RawMsg)),
            "gap_wait": In(1), "skip": In(1), "join": In(1), "join_seq": In(64),
            "report": Out(stream.Signature(GapEvent, always_ready=True)),
            "waiting": Out(1),              # registered: a reported gap waits for the host
            "inj_ev": Out(2),               # registered: injected delivered, duplicate
            "pause": In(1),         # downstream nearly full: hold-buffer heads wait
            "flush": In(2),         # per port, before E: its session changed (MoldRx)
            "same": In(1),          # both ports' sessions agree (MoldRx, registered)
            "clear": Out(2),        # per port: empty its hold buffer (restart, flush, start)
        })

    def elaborate(self, platform):
        m = Module()
        live = self.live
        E, E1, EW = Signal(64), Signal(64, init=1), Signal(64, init=self.jump_window)
        have_e, bubble = Signal(name="have_e"), Signal(name="bubble")
        stepped, joined = Signal(name="stepped"), Signal(name="joined")
        EW1 = Signal(64, init=self.jump_window + 1)
        N, L, I = 5, 3, 2           # candidates, the first live one, the injection head
        heads = [HoldHead(), HoldHead(), HoldHead()]
        m.submodules.head_a, m.submodules.head_b, m.submodules.head_i = heads
        step = Signal()
        for p, h in enumerate(heads):
            wiring.connect(m, wiring.flipped(self.head[p]), h.fifo)
            m.d.comb += [h.step.eq(step), h.e.eq(E), h.e1.eq(E1), h.ew.eq(EW),
                         h.ew1.eq(EW1), h.flush.eq(self.restart if p == I else self.clear[p]),
                         self.loads[p].eq(h.load)]
        # ok = have_e & ~bubble, as a register (its next value: E exists and no jump, no
        # restart, no JOIN): one input fewer in every decision term
        ok = Signal(name="ok")
        okp = ok & ~self.pause          # okp: heads may go
        # far_ok: ok, and not the cycle after a bubble (the far flags are valid; the
        # heads' lags one cycle more): a register too
        far_ok = Signal(name="far_ok")
        msgs = [h.msg for h in heads] + [live[0].payload, live[1].payload]
        valid = [h.valid for h in heads] + [live[0].valid, live[1].valid]
        lt = [Signal(name=f"lt{k}") for k in range(N)]
        eq = [Signal(name=f"eq{k}") for k in range(N)]
        for k in range(N):
            r = msgs[k].rel
            if k < L:
                m.d.comb += [lt[k].eq(valid[k] & ok & r.lt), eq[k].eq(valid[k] & okp & r.at)]
            else:           # stale-safe: behind an older E is behind the current one
                m.d.comb += [lt[k].eq(valid[k] & have_e & ~joined
                                      & Mux(stepped & ~bubble, r.lt1, r.lt)),
                             eq[k].eq(valid[k] & ok & Mux(stepped, r.at1, r.at))]
        mk = [msgs[k].mark for k in range(N)]
        eqd = [Signal(name=f"eqd{k}") for k in range(N)]        # deliverable: not a mark
        m.d.comb += [eqd[k].eq(eq[k] & ~mk[k]) for k in range(N)]
        pick = [Signal(name=f"pick{k}") for k in range(N)]
        taken = 0
        for k in range(N):
            m.d.comb += pick[k].eq(eqd[k] & ~taken)
            taken = taken | eqd[k]
        # the delivery, pinned as three LUT levels from registers (pin.py): it drives
        # E, E + 1, E + window and the heads' flags, each one LUT after it
        hd = [pin(m, valid[k] & msgs[k].rel.at & ~mk[k], f"head_go{k}") for k in range(L)]
        lm = [pin(m, valid[k] & Mux(stepped, msgs[k].rel.at1, msgs[k].rel.at), f"live_at{k}")
              for k in (L, L + 1)]
        deliver = pin(m, ok & (pin(m, ~self.pause & (hd[0] | hd[1] | hd[2]), "heads_go")
                               | pin(m, (lm[0] & ~mk[L]) | (lm[1] & ~mk[L + 1]), "live_go")),
                      "deliver")
        dupk = [(lt[k] | eq[k]) & ~pick[k] & ~mk[k] for k in range(N)]
        # a held message beyond the jump window (held before the start was confirmed, or
        # before a JOIN) is an unconfirmed jump: dropped
        farh = [heads[p].valid & far_ok & msgs[p].rel.far for p in (0, 1)]
        for p in range(L):      # pop = lt | eq | farh, in HoldHead's pieces
            r = msgs[p].rel
            m.d.comb += [heads[p].done.eq(pin(m, ok & (r.lt | (~self.pause & r.at)),
                                              f"head_done{p}")),
                         heads[p].drop_ok.eq(far_ok if p < 2 else 0)]

        # live messages ahead of E: held, or an unconfirmed jump (never before E exists)
        ahead = [live[p].valid & ~lt[L + p] & ~eq[L + p] for p in (0, 1)]
        # (`far` is stale in the bubble and the cycle after: held, judged from the buffer).
        # Whenever far_ok & ~joined, the flags came from an E with E + 1 and E + window
        # in step (no jump, restart or JOIN the cycle before), so `far` excludes lt, at,
        # lt1 and at1: `ahead` need not be in it (one level less)
        far = [live[p].valid & far_ok & ~joined & live[p].payload.rel.far for p in (0, 1)]
        # before E: every message is held while the session's start is confirmed
        m.submodules.window = win = HoldWindow()
        start, lo_min, held_pre = self._start(m, have_e, win.expire)
        rj = self.rj = pin(m, self.restart | self.join, "rj")
        # E jumps: a confirmed jump (confirm, late: a claim's compare), or `jump_e` (a
        # gap declared, the start: ready a LUT after the delivery). Every state register
        # below is one LUT after confirm_r: its early part (pinned), then confirm_r
        jump_e = Signal(name="jump_early", attrs={"keep": 1})
        f0 = pin(m, have_e & ~jump_e & ~rj & ~bubble, "far_ok_early")
        confirm, confirm_r, cp0, fmsg, seq1 = self._claim(m, far, ok, f0, far_ok)
        hold = [(ahead[p] & ~far[p] & (have_e | ~live[p].payload.mark)) | (self.keep1 if p else 0)
                for p in (0, 1)]        # (keep1: B's message A's confirm leaves behind)
        for p in (0, 1):
            m.d.comb += [self.push[p].valid.eq(hold[p]), self.push[p].payload.eq(live[p].payload)]
        # a confirmed jump's message: now, or beside a delivery a cycle later (`late`)
        fdel, late, late_a = self._jump_out(m, confirm, deliver, cp0, fmsg)
        # the hold window
        waiting, new_e, gap_from, gap_n = self._window(m, heads, msgs, lt, ok, E, fmsg,
                                                        confirm_r, deliver)
        gap_v = Signal()
        go_gap, gap_r, gap_d = self._gap_wait(m, win, waiting, deliver, confirm, confirm_r,
                                               gap_from, gap_n)
        # progress (a delivery, the bubble after E jumps) clears the window; it runs on a
        # waiting head, or before E exists (hold_window.py: why not on a hold)
        m.d.comb += [win.clear.eq(deliver | self.restart | bubble),
                     win.running.eq(waiting | held_pre | (~have_e & (hold[0] | hold[1]))),
                     win.firsts.eq((live[0].valid & live[0].payload.first)
                                   + (live[1].valid & live[1].payload.first)),
                     win.both.eq(ok & heads[0].waits & heads[1].waits),
                     *[getattr(win, n).eq(getattr(self, n)) for n in HOLD_CONTROLS]]

        # outputs and E
        raw_go = self._raw(m, deliver, confirm | late, pick[I], dupk[I])
        # the delivered candidate (pick), else the confirmed jump's live message (cp0:
        # port A's; `late`: last cycle's), else the snapshot message
        sent = deliver | fdel | raw_go | late
        self._output(m, sent, heads, [*pick[:L], pick[L] | (fdel & cp0) | (late & late_a),
                                      pick[L + 1] | (fdel & ~cp0) | (late & ~late_a), raw_go],
                     [msgs[k].msg for k in range(L, N)] + [self.raw.payload], late)
        # a gap goes out a cycle later: its length (a 64-bit subtract) from registers
        m.d.sync += [gap_v.eq(pin(m, Mux(deliver, confirm_r, gap_r | confirm_r), "gap_v_next")),
                     self.gap.valid.eq(gap_v),
                     self.gap.payload.first.eq(gap_from), self.gap.payload.count.eq(gap_n)]
        m.d.comb += [step.eq(deliver), jump_e.eq((gap_r & ~deliver) | start)]
        m.d.sync += stepped.eq(step)
        self._state(m, (have_e, bubble, joined, ok, far_ok), jump_e, f0, confirm_r)
        self._expect(m, (E, E1, EW, EW1), deliver, confirm_r,
                     self.fseq1, gap_r, new_e, start, lo_min)
        self._status(m, (E, E1, EW, have_e), sent, dupk, msgs,
                     (gap_v, gap_from, gap_n))
        self._events(m, hold, far, farh, confirm, cp0, go_gap)
        return m

    def _state(self, m, regs, jump_e, far_ok_e, confirm_r):
        """have_e, bubble, joined, ok, far_ok. E jumps on jump = confirm | go_gap |
        start (go_gap | confirm is gap_r & ~deliver | confirm): `jump_e` is its early
        part, so each register is an early pinned part with confirm_r and the delivery,
        one LUT after confirm_r (one LUT after `jump`, two after confirm: 7.39 ns).
        Each next value is pinned as written (`_unless_confirm`): a confirm jumps E
        whether or not something is delivered in its cycle (`_jump_out`)."""
        have_e, bubble, joined, ok, far_ok = regs
        rs, jn = self.restart, self.join
        he = pin(m, ~rs & (jn | jump_e | have_e), "have_e_early")
        be = pin(m, ~rs & (jn | jump_e), "bubble_early")
        # have_e needs no delivery term (a delivery happens only while E exists, and
        # then he = ~rs): as Mux(deliver, he, he | ...) ABC rebuilt it from the kept
        # bubble_next (he = be | ~rs & have_e), a LUT behind it: confirm_r -> confirm ->
        # bubble_next -> have_e_next, 6.49 / 7.08 ns at seeds 1 / 2
        m.d.sync += [joined.eq(jn & ~rs),
                     have_e.eq(pin(m, he | (~rs & confirm_r), "have_e_next")),
                     bubble.eq(pin(m, be | (~rs & confirm_r), "bubble_next")),
                     ok.eq(_unless_confirm(m, pin(m, have_e & ~jump_e & ~rs & ~jn, "ok_early"),
                                           confirm_r, "ok_next")),
                     far_ok.eq(_unless_confirm(m, far_ok_e, confirm_r, "far_ok_next"))]

    def _window(self, m, heads, msgs, lt, ok, E, fmsg, confirm_r, deliver):
        """What the hold window waits on (a head ahead of E) and the gap it would
        declare: [E, the smaller waiting head), or up to a confirmed jump (from E + 1
        when a message at E went out in its cycle)."""
        w = [heads[p].waits for p in (0, 1)]
        waiting = Signal()
        m.d.comb += waiting.eq(ok & (w[0] | w[1]))
        h0, h1 = heads[0].msg.msg.seq, heads[1].msg.msg.seq
        sel0 = pin(m, w[0] & (~w[1] | self._head_lt(m, heads)), "gap_to_a")
        new_e = Signal(64)
        m.d.comb += new_e.eq(Mux(sel0, h0, h1))
        gap_from, gap_n = Signal(64), Signal(64)
        # the gap's end: both candidates registered, picked a cycle later (it matters
        # only after a gap or a confirmed jump: no delivery then)
        gap_tc, gap_tg, gap_c = Signal(64), Signal(64), Signal()
        gap_e, gap_dl = Signal(64), Signal()
        m.d.sync += [gap_e.eq(E), gap_dl.eq(deliver), gap_tc.eq(fmsg.msg.seq),
                     gap_tg.eq(new_e), gap_c.eq(confirm_r)]
        m.d.comb += gap_from.eq(gap_e + gap_dl)
        m.d.comb += gap_n.eq(Mux(gap_c, gap_tc, gap_tg) - gap_from)
        return waiting, new_e, gap_from, gap_n

    def _status(self, m, state, delivered, dupk, msgs, gap):
        """The status port and the per-port duplicate counts (registered). The duplicate
        flags are registered before they are summed (the counts a cycle later): a
        duplicate is the pick's priority chain deep, and pick -> sum -> the count was
        the merge's critical path at seed 1 (7.12 ns); they only feed counters."""
        (E, E1, EW, have_e), (gap_v, gap_from, gap_n) = state, gap
        N, L, I = 5, 3, 2
        st = self.status
        dk, df = Signal(N, name="dup_k"), Signal(N, name="dup_f")
        m.d.sync += [dk.eq(Cat(*dupk)), df.eq(Cat(*[dupk[k] & msgs[k].first for k in range(N)]))]
        m.d.comb += [st.expected.eq(E), st.expected1.eq(E1), st.expected_w.eq(EW),
                     st.started.eq(have_e)]
        m.d.sync += [st.delivered.eq(delivered),
                     # the feeds' counters: injected duplicates count on inj_ev only
                     st.dup_n.eq(sum(dk[k] for k in range(N) if k != I)),
                     st.dup_first.eq(sum(df[k] for k in range(N) if k != I)),
                     st.gap.eq(gap_v), st.gap_first.eq(gap_from),
                     st.gap_len.eq(Mux(gap_v, gap_n, 0))]
        for p in (0, 1):
            m.d.sync += self.dup[p].eq(dk[p] + dk[L + p])

    def _output(self, m, valid, heads, onehot, srcs, keep):
        """The output stage: the decision (one-hot over the candidates: the heads, then
        `srcs`) and a copy of every candidate in `srcs` are registered, and the data mux
        runs the next cycle from registers only. Why: the decision is several LUT levels
        deep and its select would otherwise fan out to all ~550 payload bits in the same
        cycle (the merge's critical path at 98 MHz); this costs every message one cycle.
        The heads need no copy: their bodies come a cycle late anyway (`body`, from
        HoldBuffer), and only their seq is registered here. `keep`: the copies stay one
        cycle more (a confirming message going out a cycle late, `_jump_out`)."""
        sel, vr = Signal(len(onehot)), Signal()
        cand = [Signal(RawMsg, name=f"cand{k}") for k in range(len(srcs))]
        m.d.sync += [sel.eq(Cat(*onehot)), vr.eq(valid)]
        with m.If(~keep):
            m.d.sync += [c.eq(x) for c, x in zip(cand, srcs)]
        late = [Signal(RawMsg, name=f"late{p}") for p in range(len(heads))]
        for p, h in enumerate(heads):
            seq_r = Signal(64, name=f"late_seq{p}")
            m.d.sync += seq_r.eq(h.msg.msg.seq)
            m.d.comb += [late[p].eq(self.body[p]), late[p].seq.eq(seq_r)]
        word = 0
        for k, c in enumerate(late + cand):
            word = word | (c.as_value() & sel[k].replicate(RawMsg.size))
        m.d.sync += [self.o.valid.eq(vr), self.o.payload.eq(word)]

    def _head_lt(self, m, heads):
        """head A's seq < head B's, as a register: the four compares of what each head
        holds now or loads next (`pre`) run a cycle ahead, and the heads' `load` picks
        one. Why: a gap's new E is the smaller head, and a 64-bit compare in front of
        E's mux was the merge's critical path (8.7 ns, issue 13)."""
        a, b = heads[0], heads[1]
        sa, pa, sb, pb = a.msg.msg.seq, a.pre.msg.seq, b.msg.msg.seq, b.pre.msg.seq
        lt = Signal(name="head_lt")
        m.d.sync += lt.eq(Mux(a.load, Mux(b.load, pa < pb, pa < sb),
                              Mux(b.load, sa < pb, sa < sb)))
        return lt

    def _expect(self, m, regs, deliver, confirm_r, fseq1, gap_r, gap_to, start, lo_min):
        """E, and E + 1 and E + window kept in registers for the one-bit flags.
        E: restart (0), JOIN, a delivery (E + 1), a jump: to fseq1 when confirmed
        (confirm_r, not in a restart or JOIN cycle), else to a gap's end (`gap_to`, when
        `gap_r`) or the start's smallest held number (`lo_min`, when `start`). E is set
        (have_e) by a jump (confirm, a gap, the start). Each register is one LUT after
        the delivery (the widest fan-out) and after confirm_r (a claim's compare, the
        latest input, picks last: a confirm jumps E beside a delivery too). The gap's
        select (gap_r) is two LUTs from registers (HoldHead.waits: with four flags per head it was the merge's critical path, 7.18 ns, 139.37 MHz)
        and the last on its side: a restart or JOIN wins in the gap's target instead
        (`gap_to_rj`).
        E + 1 and E + window follow the old E after a
        restart or a jump too (stale in the cycle after, as before: nothing reads them
        then), so their enables carry neither the jump nor the restart."""
        E, E1, EW, EW1 = regs
        W = self.jump_window
        rest = pin(m, Mux(self.restart, 0, Mux(self.join, self.join_seq,
                                                Mux(start, lo_min, E))), "e_rest")
        early = pin(m, Mux(gap_r, pin(m, Mux(self.rj, rest, gap_to), "gap_to_rj"), rest),
                    "e_early")
        # (restart/JOIN folded into each side's data, never into a select: the mapper
        # shares a select across the 64 bits, one LUT level more behind confirm_r)
        # confirm_r (a claim's compare: the latest input) picks last, one LUT before E
        e_del = pin(m, Mux(self.rj, early, E1), "e_deliver")
        e_to = pin(m, Mux(self.rj, early, fseq1), "e_to")
        m.d.sync += E.eq(Mux(confirm_r, e_to, pin(m, Mux(deliver, e_del, early), "e_if_not")))
        js = self.join_seq
        step = deliver & ~self.join
        m.d.sync += [E1.eq(Mux(step, E1 + 1, pin(m, Mux(self.join, js + 1, E + 1), "e1_base"))),
                     EW.eq(Mux(step, EW + 1, pin(m, Mux(self.join, js + W, E + W), "ew_base"))),
                     EW1.eq(Mux(step, EW1 + 1,
                                pin(m, Mux(self.join, js + (W + 1), E + (W + 1)),
                                    "ew1_base")))]      # one adder each, not two chained

    def _events(self, m, hold, far, farh, confirm, cp0, go_gap):
        """The registered event pulses, in EVENTS order."""
        live = self.live
        m.d.sync += self.ev.eq(Cat(
            hold[0] & ~self.push[0].ready, hold[1] & ~self.push[1].ready,
            hold[0] & self.push[0].ready & ~live[0].payload.mark,
            hold[1] & self.push[1].ready & ~live[1].payload.mark,
            far[0] & ~(confirm & cp0), far[1] & ~(confirm & ~cp0) & ~self.keep1, go_gap, confirm,
            farh[0], farh[1]))

    def _start(self, m, have_e, expire):
        """Before E exists: (start, lo_min, held_pre). Every message is held, and each
        port's latest packet is a candidate for the session's start (start, end). A
        first message that continues its own port's candidate (seq == its end), or
        (when both ports' sessions agree: `same`, from MoldRx) is the other port's copy
        of it (== its start), continues it (== its end) or is the other port's first
        message in the same cycle with the same seq, confirms the start; so does an
        expired hold window (one feed, a single packet). Two cycles later (`start`) E
        becomes the smallest sequence number held up to the confirming cycle (`lo`,
        per port), so one forged packet neither sets E (a far jump: dropped from the
        buffer once E is known) nor costs the messages held before it. When the ports'
        sessions differ, only the confirming port's messages count (A first in a tie)
        and the other port's buffer is cleared at the start (`clear`). A port whose
        session changed before the start (`flush`: a foreign packet was its candidate)
        loses what it held. Candidates are judged against this cycle's registers (both
        ports at once; the model does the same). (Its equalities stay LUT trees: as
        carry chains the mapper left five LUT levels behind them, 7.77 ns at 128.67 MHz,
        seed 1.)
        Why two cycles (`starting`, then `starting2`), once per session: the confirming
        cycle registers only `starting` and the ports' choice (`win_a`, `same`); the
        next registers which ports count (`keep`) and the smallest number (`lo_min`,
        one select of two registers); the third loads E from that register. Decided in
        one cycle, the start's equality trees -> `go` -> keep's clock enables (seed 2)
        and the smallest number's select -> E (seed 3) were the merge's critical paths
        (6.58 and 6.63 ns). The model waits the same (tickwire/model/mold.py
        START_LAG)."""
        live = self.live
        cand_v = [Signal(name=f"cand_v{p}") for p in (0, 1)]
        cand_s = [Signal(64, name=f"cand_s{p}") for p in (0, 1)]
        cand_e = [Signal(64, name=f"cand_e{p}") for p in (0, 1)]
        lo_v = [Signal(name=f"lo_v{p}") for p in (0, 1)]
        lo = [Signal(64, name=f"lo{p}") for p in (0, 1)]
        keep = [Signal(name=f"keep{p}") for p in (0, 1)]    # ports counted at the start
        starting, starting2 = Signal(name="starting"), Signal(name="starting2")
        pre = Signal()
        m.d.comb += pre.eq(~have_e & ~starting & ~starting2)
        seq = [live[p].payload.msg.seq for p in (0, 1)]
        lv = [live[p].valid & ~live[p].payload.mark for p in (0, 1)]
        fl = [lv[p] & live[p].payload.first for p in (0, 1)]
        own, conf = [], []
        for p, q in ((0, 1), (1, 0)):
            own.append(fl[p] & cand_v[p] & (seq[p] == cand_e[p]))
            conf.append(own[p] | (fl[p] & self.same & cand_v[q]
                                  & ((seq[p] == cand_s[q]) | (seq[p] == cand_e[q]))))
        held_pre = Signal()
        m.d.comb += held_pre.eq(pre & (lo_v[0] | lo_v[1]))
        accept = held_pre & expire
        go = Signal()
        m.d.comb += go.eq(pre & (conf[0] | conf[1] | accept
                                 | (self.same & fl[0] & fl[1] & (seq[0] == seq[1]))))
        # sessions differ: the port that confirmed (or held something, on expiry) alone
        win_a = own[0] | (accept & lo_v[0]) | ~(own[1] | (accept & lo_v[1]))
        upd = [Signal(name=f"lo_upd{p}") for p in (0, 1)]
        m.d.comb += [upd[p].eq(pre & lv[p] & (~lo_v[p] | (seq[p] < lo[p]))) for p in (0, 1)]
        with m.If(pre):
            for p in (0, 1):
                with m.If(upd[p]):
                    m.d.sync += [lo_v[p].eq(1), lo[p].eq(seq[p])]
                with m.If(fl[p]):
                    m.d.sync += [cand_v[p].eq(1), cand_s[p].eq(seq[p]), cand_e[p].eq(seq[p] + 1)]
                with m.Elif(lv[p] & cand_v[p]):
                    m.d.sync += cand_e[p].eq(seq[p] + 1)
            with m.If(go):
                m.d.sync += starting.eq(1)
        # the ports' choice, registered every cycle: read in the `starting` cycle
        win_a_r, same_r = Signal(name="win_a_r"), Signal(name="same_r")
        m.d.sync += [win_a_r.eq(win_a), same_r.eq(self.same)]
        k = [same_r | win_a_r, same_r | ~win_a_r]
        with m.If(starting):
            m.d.sync += [keep[0].eq(k[0]), keep[1].eq(k[1]),
                         self.status.start_port.eq(~same_r & ~win_a_r)]
        m.d.sync += starting2.eq(starting & ~self.restart & ~self.join)
        start = Signal()
        m.d.comb += start.eq(starting2 & ~have_e & ~self.join)
        ok = [lo_v[p] & k[p] for p in (0, 1)]
        # lo0 < lo1 as a register: the compares of each lo's current and next value
        # run a cycle ahead and the updates pick one (the 64-bit compare in front of
        # E's mux was the critical path at 129.48 MHz, 7.7 ns)
        lo_lt = Signal(name="lo_lt")
        m.d.sync += lo_lt.eq(Mux(upd[0], Mux(upd[1], seq[0] < seq[1], seq[0] < lo[1]),
                                 Mux(upd[1], lo[0] < seq[1], lo[0] < lo[1])))
        lo_min = Signal(64, name="lo_min")
        # in the `starting` cycle (lo, lo_v and lo_lt hold still: not `pre`), one select
        # from registers (pinned) for the 64 bits, registered for E
        with m.If(starting):
            m.d.sync += lo_min.eq(Mux(pin(m, ok[0] & (~ok[1] | lo_lt), "lo_pick0"),
                                      lo[0], lo[1]))
        for p in (0, 1):
            m.d.comb += self.clear[p].eq(self.restart | (self.flush[p] & ~have_e)
                                         | (start & ~keep[p]))
            with m.If(self.flush[p] & pre):
                m.d.sync += [cand_v[p].eq(0), lo_v[p].eq(0)]
        with m.If(starting | self.restart | self.join):
            m.d.sync += [starting.eq(0), *[x.eq(0) for x in cand_v + lo_v]]
        return start, lo_min, held_pre

    def _jump_out(self, m, confirm, deliver, cp0, fmsg):
        """(fdel, late, late_a): a confirmed jump's message (not a mark's) goes out now,
        or, when a message at E is delivered in the same cycle, the next cycle (`late`,
        port A's if late_a), from the output stage's copies. Why: a claim can be
        confirmed while the other port's message (or a head) at E goes out; the delivery
        goes first and the jump still counts (the gap from E + 1), as the model judges
        them one after the other. When the delivery won, the confirming message was
        dropped as a new claim and its packet lost (1 M-message drifting A/B run). The
        jump's bubble delivers nothing, so its cycle is free."""
        mark = pin(m, fmsg.mark, "jump_mark")
        fdel, late, late_a = Signal(), Signal(name="jump_late"), Signal(name="jump_late_a")
        m.d.comb += fdel.eq(confirm & ~deliver & ~mark)
        m.d.sync += [late.eq(confirm & deliver & ~mark & ~self.rj), late_a.eq(cp0)]
        return fdel, late, late_a

    def _raw(self, m, deliver, confirm, pick_i, dup_i):
        """A snapshot message goes out when nothing else does; inj_ev counts the
        injected messages (raw or the injection head's) delivered and discarded.
        (`raw_free`, pinned: one LUT after the delivery; raw_go one after confirm.)"""
        raw_go = Signal()
        free = pin(m, self.raw.valid & ~self.pause & ~deliver, "raw_free")
        m.d.comb += [raw_go.eq(free & ~confirm), self.raw.ready.eq(raw_go)]
        m.d.sync += self.inj_ev.eq(Cat(pick_i | raw_go, dup_i))
        return raw_go

    def _gap_wait(self, m, win, waiting, deliver, confirm, confirm_r, gap_from, gap_n):
        """(go_gap, gap_r, gap_d): the expired window declares the gap unless
        `gap_wait`, then it is reported once and waits for the host (fill, or `skip`).
        Drives report, waiting. gap_r is go_gap without `~deliver` and `~confirm` (they
        win anyway), for E's mux; gap_d is go_gap without `~confirm`. Every register
        here is one LUT after confirm_r (`_unless_confirm`), over pinned terms ready a
        LUT after the delivery (pin.py)."""
        go_gap, skip_req, reported = Signal(), Signal(), Signal()
        gap_r = pin(m, win.expire & waiting & ~self.pause & (~self.gap_wait | skip_req), "gap_r")
        # need = the window expired, something waits, no pause (no gap), nothing went out
        nd = pin(m, win.expire & waiting & ~self.pause & ~deliver, "gap_need")
        gd = pin(m, gap_r & ~deliver, "gap_go")
        m.d.comb += go_gap.eq(gd & ~confirm)
        m.d.sync += self.waiting.eq(_unless_confirm(
            m, pin(m, nd & self.gap_wait & ~skip_req, "gap_asks"), confirm_r,
            "gap_asks_next"))
        rep_v = Signal()        # a cycle later, like `gap`: first and count from registers
        gn = pin(m, nd & ~reported, "gap_new")
        m.d.sync += [rep_v.eq(pin(m, gn | confirm_r, "gap_new_next")),
                     self.report.valid.eq(rep_v),
                     self.report.payload.first.eq(gap_from), self.report.payload.count.eq(gap_n)]
        # still waiting: need, no gap declared, no restart or JOIN
        held = pin(m, nd & ~gd & ~self.restart & ~self.join, "gap_held")
        m.d.sync += [reported.eq(_unless_confirm(m, held, confirm_r, "gap_held_next")),
                     skip_req.eq(_unless_confirm(
                         m, pin(m, held & (skip_req | self.skip), "gap_skip_held"),
                         confirm_r, "gap_skip_next"))]
        return go_gap, gap_r, gd

    def _claim(self, m, far, ok, far_ok_e, far_ok):
        """Jumps beyond the window: (confirm, confirm_r, cp0, fmsg, seq1). A claim is
        remembered until the same port continues it or the other port's copy starts the
        same; a restart or a JOIN forgets it. It is kept as what each port must match
        (`tgt`: its own claim's end, the other port's start), so each port has one
        compare, made by MoldPort from registers (`match`, below).
        `claim_ok` (claim_v, far_ok, not joined: a register, one LUT after confirm_r
        from `far_ok_e`, far_ok's next value but for confirm) is all the state confirm
        needs, so confirm is the live ports' flags and one register bit. seq1[p]: port
        p's seq + 1 (a mark's seq), where E goes when p confirms; confirm and confirm_r
        are one value since a confirm jumps E beside a delivery too (`_jump_out`); cp0:
        port A confirms (else B), fmsg: the confirming message."""
        live = self.live
        claim_v, claim_port = Signal(name="claim_v"), Signal(name="claim_port")
        claim_ok = Signal(name="claim_ok")
        tgt = [Signal(64, name=f"claim_tgt{p}") for p in (0, 1)]
        seq1 = [live[p].payload.msg.seq + ~live[p].payload.mark for p in (0, 1)]
        # seq == tgt[p], from MoldPort's registered compares (SeqRel c_*): against the
        # target of last cycle (c_old) or, when last cycle moved it (upd_r), against
        # what it moved to: a port's own previous message's seq + 1 (c_own) or the other
        # port's previous seq (c_oth), as `oth_r` picked. Why: the 64-bit
        # compare behind the claim was the merge's critical path at most seeds (claim_tgt
        # -> chains -> confirm -> E / claim_ok / ev, 6.5-7.8 ns); now it is one pinned
        # LUT from registers. The targets stay registers: MoldPort compares against them.
        upd_r = [Signal(name=f"claim_upd{p}") for p in (0, 1)]
        oth_r = [Signal(name=f"claim_oth{p}") for p in (0, 1)]    # moved to the other's seq
        rel = [live[p].payload.rel for p in (0, 1)]
        match = [pin(m, Mux(upd_r[p], Mux(oth_r[p], rel[p].c_oth, rel[p].c_own), rel[p].c_old),
                     f"claim_eq{p}") for p in (0, 1)]
        # far[p] when claim_ok (far_ok, not joined): the port's valid and far flag. A
        # far message matches the end of its own port's claim, the start of the other
        # port's: both are its port's `tgt`. Pinned (pin.py): each port's
        # part of confirm one LUT from registers, confirm one LUT after the chains
        lv = [live[p].valid & live[p].payload.rel.far for p in (0, 1)]
        p0 = pin(m, lv[0] & live[0].payload.first, "claim_first0")
        p1 = pin(m, lv[1] & live[1].payload.first, "claim_first1")
        # B confirms unless A's message can (far and a packet's first: A first in a
        # tie), so B's copy of a claim's start confirms beside A's next message of that
        # packet (not first) in the same cycle, as the model, which judges them one after
        # the other (with ~far[0] here B's copy was dropped: 12 messages lost,
        # test_merge_contract back_to_back)
        a = [pin(m, claim_ok & p0, "claim_hit0"), pin(m, claim_ok & ~p0 & p1, "claim_hit1")]
        # ...or A's far first message starts a claim that B's copy, in the same cycle,
        # confirms (SeqRel c_same: the two ports' messages of this cycle have one seq;
        # far_ok implies not joined). Why: with both feeds in step, a gap past the jump
        # window on both had A's claim and B's copy arrive together at every packet; the
        # RTL never confirmed and dropped the rest of the session (the model confirms)
        same = pin(m, lv[1] & live[1].payload.first & rel[1].c_same, "claim_same1")
        a0 = pin(m, p0 & ((claim_ok & match[0]) | (far_ok & same)), "claim_a0")
        confirm, confirm_r = Signal(), Signal()
        m.d.comb += [confirm_r.eq(pin(m, a0 | (a[1] & match[1]), "confirm_r")),
                     confirm.eq(confirm_r)]
        # B's far message beside A's confirming copy of B's claim, continuing that claim
        # (or A's claim's start beside A's own continuation): the model judges it after
        # A's, against the new E (at or past it, or behind), so it is held, judged from
        # the buffer, not dropped as a jump (the jump drop and the duplicate were swapped
        # between the feeds, test_merge_contract confirmed_beside)
        self.keep1 = pin(m, a[0] & match[0] & lv[1] & match[1], "claim_keep1")
        # where E goes on a confirmed jump: seq + 1 of the port that confirmed (p0)
        self.fseq1 = pin(m, Mux(p0, seq1[0], seq1[1]), "e_jump_to")
        fmsg = Signal(MoldMsg)      # the confirming message
        m.d.comb += fmsg.eq(Mux(p0, live[0].payload, live[1].payload))
        # (not waiting for `confirm`: a confirmed jump clears claim_v below, and without
        # claim_v the port and targets are never read)
        # The claim as the model leaves it after judging A's message, then B's (one
        # cycle, A first): a packet's first far message starts a claim, B's replacing
        # A's (nf); a far message continuing its own port's claim moves that claim's end,
        # B's only when A did not start one in the same cycle. (Before, any far message
        # on A hid B's: B's continuation beside A's far message was lost, the claim's
        # end stuck, and the next packet started a claim instead of confirming: 12
        # messages more declared lost than the model, test_merge_contract.)
        nf = [Signal(name=f"claim_new{p}") for p in (0, 1)]
        m.d.comb += [nf[p].eq(far[p] & live[p].payload.first) for p in (0, 1)]
        new = (nf[0] | nf[1]) & ok
        with m.If(new):
            m.d.sync += [claim_v.eq(1), claim_port.eq(nf[1])]
        # Each target has its own enable, from its own port's match only (a shared
        # If/Elif put target 0's compare in front of target 1's 64 enables: 51 paths
        # over 6.4 ns). A target is its own port's seq + 1 (its claim's end), or the
        # other port's seq (the start of the other's new claim)
        cont = [far[0] & ok & claim_v & ~claim_port & match[0],
                far[1] & ~nf[0] & ok & claim_v & claim_port & match[1]]
        oth = [nf[1], nf[0] & ~nf[1]]
        with m.If(new | cont[0]):
            m.d.sync += tgt[0].eq(Mux(oth[0], live[1].payload.msg.seq, seq1[0]))
        with m.If(new | cont[1]):
            m.d.sync += tgt[1].eq(Mux(oth[1], live[0].payload.msg.seq, seq1[1]))
        m.d.sync += [upd_r[0].eq(new | cont[0]), upd_r[1].eq(new | cont[1]),
                     oth_r[0].eq(oth[0]), oth_r[1].eq(oth[1])]
        m.d.comb += [self.status.claim_tgt0.eq(tgt[0]), self.status.claim_tgt1.eq(tgt[1])]
        # a confirmed jump clears the claim a cycle later (`confirm` straight into a
        # flip-flop, not through the clear's LUT: it was the critical path behind
        # confirm, 6.62 ns). Nothing reads claim_v in that cycle: the jump's bubble
        # holds ok, far_ok and so claim_ok and `new` low; a restart or JOIN clears at once
        confirm_d = Signal(name="confirm_d")
        m.d.sync += confirm_d.eq(confirm)
        with m.If(confirm_d | self.rj):
            m.d.sync += claim_v.eq(0)
        # far_ok's next value (far_ok_e, not confirm) carries ~restart, ~JOIN and ~jump
        # (so ~confirm, and not joined next)
        m.d.sync += claim_ok.eq(_unless_confirm(
            m, pin(m, far_ok_e & (claim_v | new), "claim_ok_early"), confirm_r,
            "claim_ok_next"))
        return confirm, confirm_r, p0, fmsg, seq1
