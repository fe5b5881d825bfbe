"""Sequencer: one expected sequence number E for feeds A and B, judged on checked
messages (MoldPort), with a hold buffer per port for messages ahead of a gap.

Each cycle it looks at four candidates: each port's hold-buffer head and each port's
live message. Any with seq < E is a duplicate (discarded, counted); the first with
seq == E (heads before live, A before B) is delivered and E moves on; the others with
seq == E are duplicates of it. A live message ahead of E is held in its port's buffer
(`push`) when it is at most `jump_window` ahead, else it is an unconfirmed jump:
dropped, and remembered as a claim that the next packet on that port (continuing it)
or the other port's copy (same start) confirms; a confirmed jump declares the gap at
once. The hold window: while a buffer head waits (seq > E) and nothing moves, after
`hold_cycles` cycles or `hold_packets` packet starts the gap [E, smallest head) is
declared (`gap`), E moves there and the held messages flow.

Nothing here adds a cycle to a message that is next in sequence: its output register
is the only stage. The same rules, in Python: tickwire/model/mold.py `Arbiter`.

Host injection (issue 14, rtl/rx/inject/): `inj` is a fifth candidate with the lowest
priority and the same rules: seq < E or a copy already taken is a duplicate, seq == E
is delivered, seq > E waits (not ready) until E reaches it, so the host may inject a
fill early or late; before E exists (no live message, no JOIN) it waits too. `inj_raw` delivers it unsequenced (a snapshot load: E untouched).
`gap_wait`: an expired hold window reports the gap (`report`) and waits for the host
(held live messages stay held) until the fill arrives or `skip` declares it. `join`
sets E to `join_seq` (late join: live messages below it are duplicates). All tie off
to today's behaviour when left at 0.
"""
from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ...layouts import GapEvent, MergeStatus, MoldMsg, RawMsg

EVENTS = ("overflow_a", "overflow_b", "held_a", "held_b", "jump_drop_a", "jump_drop_b",
          "timeout", "jump")


class Sequencer(wiring.Component):
    def __init__(self, jump_window=2048):
        self.jump_window = jump_window
        super().__init__({
            "live": In(stream.Signature(MoldMsg, always_ready=True)).array(2),
            "head": In(stream.Signature(MoldMsg)).array(2),      # hold buffer outputs
            "push": Out(stream.Signature(MoldMsg)).array(2),     # hold buffer inputs
            "o": Out(stream.Signature(RawMsg, always_ready=True)),
            "gap": Out(stream.Signature(GapEvent, always_ready=True)),
            "status": Out(MergeStatus),
            "dup": Out(2).array(2),                              # per port, registered
            "ev": Out(len(EVENTS)),                              # registered pulses
            "restart": In(1),
            "hold_cycles": In(32), "hold_packets": In(16),
            # host injection and recovery (rtl/rx/inject/), tied off by default
            "inj": In(stream.Signature(MoldMsg)), "inj_raw": In(1),
            "gap_wait": In(1), "skip": In(1), "join": In(1), "join_seq": In(64),
            "report": Out(stream.Signature(GapEvent, always_ready=True)),
            "waiting": Out(1),              # a reported gap waits for the host
            "inj_ev": Out(2),               # registered: injected delivered, duplicate
        })

    def elaborate(self, platform):
        m = Module()
        live, head = self.live, self.head
        E, have_e = Signal(64), Signal()
        e = Signal(64)              # before the first message, the first live one sets E
        m.d.comb += e.eq(Mux(have_e, E, Mux(live[0].valid, live[0].payload.msg.seq,
                                             live[1].payload.msg.seq)))
        inj_seq = Signal()          # a sequenced injected message waits for an E (live or JOIN)
        m.d.comb += inj_seq.eq(self.inj.valid & ~self.inj_raw & have_e)
        cands = [head[0], head[1], live[0], live[1], self.inj]
        valid = [c.valid for c in cands[:4]] + [inj_seq]
        lt = [Signal(name=f"lt{k}") for k in range(5)]
        eq = [Signal(name=f"eq{k}") for k in range(5)]
        pick = [Signal(name=f"pick{k}") for k in range(5)]
        for k, c in enumerate(cands):
            m.d.comb += [lt[k].eq(valid[k] & (c.payload.msg.seq < e)),
                         eq[k].eq(valid[k] & (c.payload.msg.seq == e))]
        taken = 0
        for k in range(5):
            m.d.comb += pick[k].eq(eq[k] & ~taken)
            taken = taken | eq[k]
        deliver = Signal()
        m.d.comb += deliver.eq(taken)
        dupk = [(lt[k] | eq[k]) & ~pick[k] for k in range(5)]

        # live messages ahead of E: held, or an unconfirmed jump
        ahead = [live[p].valid & ~lt[2 + p] & ~eq[2 + p] for p in (0, 1)]
        far = [ahead[p] & (live[p].payload.msg.seq - e > self.jump_window) for p in (0, 1)]
        hold = [ahead[p] & ~far[p] for p in (0, 1)]
        for p in (0, 1):
            m.d.comb += [self.push[p].valid.eq(hold[p]), self.push[p].payload.eq(live[p].payload),
                         head[p].ready.eq(lt[p] | eq[p])]
        claim_v, claim_port = Signal(), Signal()
        claim_start, claim_end = Signal(64), Signal(64)
        fp = Signal()
        m.d.comb += fp.eq(~far[0])
        fmsg = Signal(MoldMsg)
        m.d.comb += fmsg.eq(Mux(far[0], live[0].payload, live[1].payload))
        fseq, ffirst = fmsg.msg.seq, fmsg.first
        far_any = far[0] | far[1]
        raw_go = Signal()           # a snapshot message, when nothing else moves
        m.d.comb += [raw_go.eq(self.inj.valid & self.inj_raw & ~deliver & ~far_any),
                     self.inj.ready.eq(lt[4] | eq[4] | raw_go)]
        confirm = Signal()
        m.d.comb += confirm.eq(far_any & ffirst & claim_v & ~deliver & Mux(
            claim_port == fp, fseq == claim_end, fseq == claim_start))
        with m.If(far_any & ~confirm):
            with m.If(ffirst):
                m.d.sync += [claim_v.eq(1), claim_port.eq(fp), claim_start.eq(fseq),
                             claim_end.eq(fseq + 1)]
            with m.Elif(claim_v & (claim_port == fp) & (fseq == claim_end)):
                m.d.sync += claim_end.eq(fseq + 1)
        with m.If(confirm):
            m.d.sync += claim_v.eq(0)

        go_gap, new_e = self._window(m, e, fseq, deliver, confirm, hold, lt, eq)
        # outputs and E
        out = self.o.payload
        m.d.sync += self.o.valid.eq(deliver | confirm | raw_go)
        sel = Mux(raw_go, self.inj.payload.msg, fmsg.msg)
        for k in reversed(range(5)):
            sel = Mux(pick[k], cands[k].payload.msg, sel)
        m.d.sync += out.eq(sel)
        target = Mux(confirm, fseq, new_e)
        m.d.sync += [self.gap.valid.eq(go_gap | confirm), self.gap.payload.first.eq(e),
                     self.gap.payload.count.eq(target - e)]
        with m.If(deliver):
            m.d.sync += [E.eq(e + 1), have_e.eq(1)]
        with m.Elif(confirm):
            m.d.sync += [E.eq(fseq + 1), have_e.eq(1)]
        with m.Elif(go_gap):
            m.d.sync += E.eq(new_e)
        with m.If(self.restart):
            m.d.sync += [have_e.eq(0), claim_v.eq(0), E.eq(0)]
        with m.Elif(self.join):
            m.d.sync += [have_e.eq(1), claim_v.eq(0), E.eq(self.join_seq)]

        st = self.status
        m.d.comb += st.expected.eq(E)
        m.d.sync += [st.delivered.eq(deliver | confirm | raw_go), st.dup_n.eq(sum(dupk[:4])),
                     st.dup_first.eq(sum(dupk[k] & cands[k].payload.first for k in range(4))),
                     st.gap.eq(go_gap | confirm), st.gap_first.eq(e),
                     st.gap_len.eq(Mux(go_gap | confirm, target - e, 0)),
                     self.inj_ev.eq(Cat(pick[4] | raw_go, dupk[4]))]   # the feeds' counters exclude it
        for p in (0, 1):
            m.d.sync += self.dup[p].eq(dupk[p] + dupk[2 + p])
        m.d.sync += self.ev.eq(Cat(
            hold[0] & ~self.push[0].ready, hold[1] & ~self.push[1].ready,
            hold[0] & self.push[0].ready, hold[1] & self.push[1].ready,
            far[0] & ~(confirm & ~fp), far[1] & ~(confirm & fp), go_gap, confirm))
        return m

    def _window(self, m, e, fseq, deliver, confirm, hold, lt, eq):
        """The hold window and the gap decision: (go_gap, new_e). With `gap_wait` an
        expired window reports the gap and waits for the host; `report`, `waiting`."""
        live, head = self.live, self.head
        waiting = Signal()
        m.d.comb += waiting.eq((head[0].valid & ~lt[0] & ~eq[0]) | (head[1].valid & ~lt[1] & ~eq[1]))
        stall_c, stall_p, expire = Signal(32), Signal(16), Signal()
        h0, h1 = head[0].payload.msg.seq, head[1].payload.msg.seq
        both = head[0].valid & head[1].valid
        new_e = Mux(both, Mux(h0 < h1, h0, h1), Mux(head[0].valid, h0, h1))
        go_gap, need, skip_req, reported = Signal(), Signal(), Signal(), Signal()
        m.d.comb += [need.eq(expire & waiting & ~deliver & ~confirm),
                     go_gap.eq(need & (~self.gap_wait | skip_req)),
                     self.waiting.eq(need & self.gap_wait & ~skip_req)]
        progress = deliver | confirm | go_gap
        # the host hears of a gap once: when it is declared, or when it starts to wait
        m.d.sync += [self.report.valid.eq((need & ~reported) | confirm),
                     self.report.payload.first.eq(e),
                     self.report.payload.count.eq(Mux(confirm, fseq, new_e) - e)]
        with m.If(progress | self.restart | self.join):
            m.d.sync += [reported.eq(0), skip_req.eq(0)]
        with m.Else():
            with m.If(need):
                m.d.sync += reported.eq(1)
            with m.If(self.skip):
                m.d.sync += skip_req.eq(1)
        with m.If(progress | self.restart):
            m.d.sync += [stall_c.eq(0), stall_p.eq(0), expire.eq(0)]
        with m.Elif(waiting | hold[0] | hold[1]):
            firsts = ((live[0].valid & live[0].payload.first)
                      + (live[1].valid & live[1].payload.first))
            m.d.sync += [stall_c.eq(stall_c + (stall_c != 0xFFFFFFFF)),
                         stall_p.eq(stall_p + Mux(stall_p == 0xFFFF, 0, firsts)),
                         expire.eq((stall_c >= self.hold_cycles) | (stall_p >= self.hold_packets))]
        with m.Else():
            m.d.sync += [stall_c.eq(0), stall_p.eq(0), expire.eq(0)]
        return go_gap, new_e
