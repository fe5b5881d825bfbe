"""ExposureState, stage 4 of the gate: the stateful checks 9..12, the verdict, and the
state they read.

Per account: open notional and the rate bucket's theoretical arrival time (`tat`);
per (account, slot): position, open buy/sell quantity, and the two sums the position
check needs, kept instead of recomputed: long_used = position + open buys,
short_used = open sells - position (rtl/risk/layouts.py AcctState, SlotState).

The one-cycle loop (state -> checks -> accept -> state) holds no carry chain: the
checks 9..11 of the order in stage 3 are decided in stage 3 for both outcomes of the
order in stage 4 (rtl/risk/outcomes.py) and registered, with whether all three
pass under each outcome (`pass_r`, `pass_a`); stage 4 picks with the previous
verdict (`acc_prev`), as the duplicate check 12 does (rtl/risk/duplicates.py). Why
the pass bits: the AND of the picked fails and the duplicate result (from the
history, placed apart) was four LUT levels and two long routes between `acc_prev`
and `accept`, whose fanout (write enables, forwarding muxes) then crosses the die;
now `accept` is one mux on `acc_prev` of terms from registers, made in copies
(`_Accepts`: one per state RAM's write enable and per field's forwarding muxes) so
that no copy drives more than a few hundred sinks. The state of an order is read from
LUT RAM in stage 2
(`ahead`) into `base_*` (stage 4's write of that cycle taken directly, and the order
ahead in stage 3 on the same entry keeping its own), then into `cur_*` in stage 4
(with stage 4's result forwarded when the same entry): every compare starts from
registers, and each update is one add of a delta registered in stage 3, then one mux
on a register (an event's clamp, an order's late bucket, also decided in stage 3:
`_update`). Host events (fills, cancels) release exposure,
clamped at zero (`ev_event_errors`); fills move the position; the gate leaves a
bubble behind each event, so the order after it reads the event's result from the
RAM. After reset the state is zeroed, one entry per cycle, while `clearing` holds
the intake. Verdicts and accepted orders are registered on the outputs; the pipeline
advances (`i.ready`) unless one of them is stuck.
"""
from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..layouts import Order, RiskReject, Verdict, SIDE_BUY
from .layouts import AcctState as _Acct, Fails, Prepared, SlotState as _Slot
from .arith import raw_sum
from .outcomes import Outcomes


#: Whether checks 9..11 pass under one outcome of the order ahead (`_stage3_pass`).
_Pass = data.StructLayout({"c": 1, "p": 1, "rt": 1})


def beyond(m, x_p, a, b, name):
    """x > (a + b) mod 2**64 (a, b, x 64-bit unsigned), given x_p = x - b (signed 66
    bits, made a stage earlier): one two-operand chain, d = a - x_p, and one LUT after
    it with the wrap of a + b (a chain beside it). Used where stage 3 compares against
    stage 4's result tat + interval, ob + k_ob, os + k_os (`_update`). Why: as
    x > (a + b) mod 2**64 on three operands it was a 3:2 layer, a 68-bit chain and two
    LUTs; prev tat -> `late` and k_os -> `cl_s` were the gate's critical paths at seeds
    2 and 3 (6.45 / 6.52 ns). Exact: without a wrap, x > a + b <=> d < 0; with one
    (a + b >= 2**64), x > a + b - 2**64 <=> d < 2**64, and d = a + b - x > 0 then. d
    lies in (-2**64, 2**65), so its sign is bit 65 and, when it is positive, d >= 2**64
    is bit 64 (tests/test_risk_beyond.py)."""
    wrap = Signal(name=f"{name}_wrap")
    d = Signal(signed(66), name=f"{name}_d")
    m.d.comb += [wrap.eq((a + b)[64]), d.eq(a - x_p)]
    return d[65] | (wrap & ~d[64])


class _Accepts:
    """Stage 4's verdict in named copies, each with its own copy of the previous verdict
    (`acc_prev`): copy = Mux(its acc_prev, if_acc, if_rej), registered into its
    acc_prev on `adv`. All copies are equal, always.

    Why: one `accept` drove both state RAMs' write enables and every forwarding mux
    (~1,300 sinks across the die); acc_prev -> accept -> forwarding was the gate's
    critical path (8.22 ns routed, most of it routing). Each copy now drives one
    field's forwarding muxes or one RAM's enables. A copy's acc_prev is fed only by
    its own copy, so Yosys cannot merge them (the FFs' inputs differ)."""

    def __init__(self, m, adv):
        self.m, self.adv = m, adv
        self.if_acc, self.if_rej = Signal(), Signal()   # accept if the previous one was/wasn't
        self._copies = {}

    def _get(self, name):
        if name not in self._copies:
            prev, acc = Signal(name=f"acc_prev_{name}"), Signal(name=f"accept_{name}")
            self.m.d.comb += acc.eq(Mux(prev, self.if_acc, self.if_rej))
            with self.m.If(self.adv):
                self.m.d.sync += prev.eq(acc)
            self._copies[name] = prev, acc
        return self._copies[name]

    def copy(self, name):
        return self._get(name)[1]

    def prev(self, name):
        return self._get(name)[0]


class ExposureState(wiring.Component):
    def __init__(self, accounts, slots, reasons):
        self.accounts, self.slots = accounts, slots
        super().__init__({
            "i": In(stream.Signature(Prepared)),
            "ahead": In(Order),          # the order in stage 2 (its state is read then)
            "ahead1": In(Order),         # the order in stage 1 (for `near_*`)
            "ahead_valid": In(1),        # `ahead` is valid (for `next_*`)
            "dup_others": In(1), "dup_oldest": In(1), "dup_prev": In(1),
            "dup_if_rej": In(1), "dup_if_acc": In(1),   # others | oldest, others | prev
            "prev_order": Out(Order), "prev_t": Out(64), "push": Out(1),
            "verdicts": Out(stream.Signature(Verdict)),
            "accepted": Out(stream.Signature(Order)),
            "rejects": Out(stream.Signature(RiskReject, always_ready=True)),
            "clearing": Out(1, init=1),
            "ev_orders": Out(1), "ev_accepts": Out(1), "ev_rejects": Out(reasons),
            "ev_events": Out(1), "ev_event_errors": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        A, S = self.accounts, self.slots
        self.abits, self.sbits = max((A - 1).bit_length(), 1), max((S - 1).bit_length(), 1)
        adv = Signal()
        m.d.comb += [adv.eq(~(self.verdicts.valid & ~self.verdicts.ready)
                            & ~(self.accepted.valid & ~self.accepted.ready)),
                     self.i.ready.eq(adv)]
        with m.If(self.verdicts.ready):
            m.d.sync += self.verdicts.valid.eq(0)
        with m.If(self.accepted.ready):
            m.d.sync += self.accepted.valid.eq(0)

        ast_wr, ast_rd, sst_wr, sst_rd_ports = self._memories(m, A, S)
        bank = self.bank

        v4, c4 = Signal(), Signal(Prepared)      # stage 4: the order and its state
        sst_rd = Signal(_Slot, name="sst_rd")    # the slot banks' read, picked
        cur_a, cur_s = Signal(_Acct), Signal(_Slot)
        acc_prev = Signal()             # the previous verdict (the "verdict" copy)
        base_a, base_s = Signal(_Acct), Signal(_Slot)   # stage 3: its state, stage 4 aside
        same_a, same_s = Signal(), Signal()      # stage 3's entry is stage 4's
        a2, i2 = self._index(self.ahead)
        a3, i3 = self._index(self.i.payload.order)
        a4, i4 = self._index(c4.order)
        # what stage 4 writes (`new_*`: an accepted order's, else an event's) is computed
        # without the verdict, which only enables the write and the forwarding
        new_a, new_s = Signal(_Acct), Signal(_Slot)
        m.d.comb += [ast_rd.addr.eq(a2), ast_wr.addr.eq(a4), ast_wr.data.eq(new_a)]
        lb = (bank - 1).bit_length()
        m.d.comb += [p.addr.eq(i2[:lb]) for p in sst_rd_ports]
        m.d.comb += [p.addr.eq(i4[:lb]) for p in sst_wr] + [p.data.eq(new_s) for p in sst_wr]
        with m.Switch(i2[lb:]):
            for k, p in enumerate(sst_rd_ports):
                with m.Case(k):
                    m.d.comb += sst_rd.eq(p.data)

        # stage 4's verdict, in copies (`_Accepts`): each forwarding mux group and each
        # state RAM's write enable has its own
        # The RAM writes leave `adv` out: while the pipeline stalls, stage 4 writes the
        # same `new_*` to the same entry every cycle (all from registers that load on
        # `adv`, the verdict too), so a write repeated is a write once. Why: the stall
        # (`adv`, from the output streams) into every write enable was the gate's
        # critical path (7.27 ns, 468 endpoints at the slot RAM's WRE).
        vc = _Accepts(m, adv)
        # An event's write (no verdict needed) is a register of stage 3: a valid fill
        # or cancel with a good index. A verdict copy is 0 unless stage 4 holds an
        # order (`pass_*.c`), so a write enable is one OR of the two, no kind decode.
        wr_ev, p3 = Signal(name="wr_ev"), self.i.payload
        with m.If(adv):
            m.d.sync += wr_ev.eq(self.i.valid & ((p3.kind == 1) | (p3.kind == 2)) & p3.ok_idx)
        wen = lambda name: vc.copy(name) | wr_ev    # noqa: E731

        # stage 2 -> 3: the state of the order in stage 2, read from the RAM; the order
        # in stage 3 ahead of it on the same entry keeps its own (its stage-4 result is
        # forwarded next cycle), stage 4's write of this cycle is taken directly
        # next_*: stage 2's entry is stage 3's (valid), compared a cycle early (stage
        # 1's order against stage 2's: the compare and the AND before the 330 selects
        # of base_* were the gate's critical path, 7.15 ns)
        # near_*: stage 2's entry is stage 4's (v4 & a2 == a4), compared a cycle early
        # (stage 1's order against stage 3's), so a hit is one AND with the verdict
        a1, i1 = self._index(self.ahead1)
        near_a, near_s = Signal(), Signal()
        next_a, next_s = Signal(name="next_a"), Signal(name="next_s")
        with m.If(adv):
            m.d.sync += [same_a.eq(next_a), same_s.eq(next_s),
                         next_a.eq(self.ahead_valid & (a1 == a2)),
                         next_s.eq(self.ahead_valid & (i1 == i2)),
                         near_a.eq(self.i.valid & (a1 == a3)), near_s.eq(self.i.valid & (i1 == i3))]
        # stage 3 -> 4: its state, with stage 4's result when the same entry
        for st, base, cur, new, rd, nxt, same, hit_eq in (
                ("a", base_a, cur_a, new_a, ast_rd.data, next_a, same_a, near_a),
                ("s", base_s, cur_s, new_s, sst_rd, next_s, same_s, near_s)):
            for f in base.shape().members:
                hit = hit_eq & wen(f"hit_{st}_{f}")
                fwd = same & wen(f"fwd_{st}_{f}")
                with m.If(adv):
                    m.d.sync += [base[f].eq(Mux(hit, new[f], Mux(nxt, base[f], rd[f]))),
                                 cur[f].eq(Mux(fwd, new[f], base[f]))]
        fwd_a, fwd_s = same_a & wen("fwd_a"), same_s & wen("fwd_s")    # for `_update`
        with m.If(adv):
            m.d.sync += [v4.eq(self.i.valid), c4.eq(self.i.payload)]

        # stage 3: checks 9..11 for both outcomes of the order in stage 4, from registers
        late = Signal(name="late")      # the stage-4 order is past its bucket (`_update`)
        rej, acc, sel_a, sel_s, pass_r, pass_a = \
            self._stage3(m, adv, c4, (cur_a, cur_s, base_a, base_s), late, same_a, same_s)
        o = c4.order
        reason = self._reason(m, c4, acc_prev, sel_a, sel_s, acc, rej)
        is_order = v4 & (c4.kind == 0)
        # accept = is_order & no reason & no fail (each pass term carries it, see
        # `_stage3_pass`); the loop: one mux on the previous verdict
        m.d.comb += [vc.if_acc.eq(pass_a.c & pass_a.p & pass_a.rt & ~self.dup_if_acc),
                     vc.if_rej.eq(pass_r.c & pass_r.p & pass_r.rt & ~self.dup_if_rej)]
        accept = vc.copy("verdict")
        m.d.comb += [acc_prev.eq(vc.prev("verdict")),
                     self.prev_order.eq(o), self.prev_t.eq(c4.t), self.push.eq(adv & accept)]
        self._verdict(m, adv, is_order, accept, reason, c4)
        self._update(m, adv, fwd_a, fwd_s, cur_a, cur_s, base_a, base_s, c4, new_a, new_s, late)
        # the slot banks: stage 4's bank, one-hot, registered with the order
        bsel = Signal(len(sst_wr), name="bsel")
        with m.If(adv):
            m.d.sync += bsel.eq(Const(1, len(sst_wr)) << i3[lb:] if len(sst_wr) > 1 else 1)
        m.d.comb += [ast_wr.en.eq(wen("wr_a"))]
        m.d.comb += [p.en.eq(wen(f"wr_s{k}") & bsel[k]) for k, p in enumerate(sst_wr)]
        self._event_counts(m, adv & v4, c4)
        self._clear(m, ast_wr, sst_wr)
        return m

    def _memories(self, m, A, S):
        """The account state and the slot state (LUT RAM), their ports. The slot state
        is in banks of 16 entries (one LUT RAM depth), each bank its own Memory with its
        own write enable: a verdict copy AND a registered bank select (`bsel`). Why: as
        one Memory, Yosys decoded the bank from the write address after the enable and
        the clear mux: verdict -> enable -> 1,312 WRE pins was 5 LUT levels (7.1 ns);
        now ~2 levels, each bank's net a quarter of the pins."""
        m.submodules.acct_st = acct_st = Memory(shape=_Acct, depth=A, init=[])
        self.bank = bank = min(16, A * S)
        slot_banks = [Memory(shape=_Slot, depth=bank, init=[]) for _ in range(A * S // bank)]
        for k, mem in enumerate(slot_banks):
            m.submodules[f"slot_st{k}"] = mem
        ast_wr, ast_rd = acct_st.write_port(), acct_st.read_port(domain="comb")
        sst_wr = [mem.write_port() for mem in slot_banks]
        sst_rd_ports = [mem.read_port(domain="comb") for mem in slot_banks]
        return ast_wr, ast_rd, sst_wr, sst_rd_ports

    def _stage3(self, m, adv, c4, state, late, same_a, same_s):
        """The Outcomes of the stage-4 order (checks 9..11 both ways), wired
        (rtl/risk/outcomes.py)."""
        cur_a, cur_s, base_a, base_s = state
        m.submodules.outcomes = oc = Outcomes()
        m.d.comb += [oc.nxt.eq(self.i.payload), oc.prev.eq(c4), oc.prev_a.eq(cur_a),
                     oc.prev_s.eq(cur_s), oc.base_a.eq(base_a), oc.base_s.eq(base_s),
                     oc.late.eq(late)]
        return self._stage3_pass(m, adv, oc, same_a, same_s)

    def _reason(self, m, c4, acc_prev, sel_a, sel_s, acc, rej):
        """Stage 4: each check picks its outcome with the previous verdict; the reason is
        the stateless one, else the lowest failing stateful check (9..12)."""
        on_a, on_s = acc_prev & sel_a, acc_prev & sel_s
        fails = [Mux(on_a, acc.credit, rej.credit),                           # 9 credit
                 Mux(on_s, acc.position, rej.position),                       # 10 position
                 c4.burst0 | Mux(on_a, acc.rate, rej.rate),                   # 11 rate
                 self.dup_others | Mux(acc_prev, self.dup_prev, self.dup_oldest)]  # 12 dup
        reason = Signal(4)
        m.d.comb += reason.eq(c4.reason)
        with m.If(c4.reason == 0):
            for code, bad in reversed(list(enumerate(fails, 9))):
                with m.If(bad):
                    m.d.comb += reason.eq(code)     # last assignment wins: lowest code
        return reason

    def _event_counts(self, m, go, c4):
        """A host event (fill, cancel) counted, or counted as an error (bad kind or
        index, or an overflow in its update)."""
        with m.If(c4.kind != 0):
            with m.If((c4.kind == 3) | ~c4.ok_idx):
                m.d.comb += self.ev_event_errors.eq(go)
            with m.Else():
                m.d.comb += [self.ev_events.eq(go),
                             self.ev_event_errors.eq(go & self._ev_over)]

    def _stage3_pass(self, m, adv, oc, same_a, same_s):
        """Stage 3's registers for stage 4: both outcomes of checks 9..11, the same-entry
        selects, and the pass terms of the verdict loop."""
        rej, acc, sel_a, sel_s = Signal(Fails), Signal(Fails), Signal(), Signal()
        # ... and whether checks 9..11 all pass, for either verdict (for the loop), in
        # three registers each: credit (`c`, with `order_ok`: a valid order and no
        # stateless reason), position (`p`) and the rate check (`rt`). Why: each check's
        # chains then end in one flip-flop, with at most one LUT after them, and stage 4
        # ANDs them in the verdict terms, still one LUT of registers (four inputs). The
        # rate check went first (its chains ran on through the OR of all three checks to
        # one `pass_a` by the verdict copies: 7.40 ns, 4.6 of it routing); then position
        # (its two chains, the buy select, the same-entry select and the credit term in
        # one 11-input function: 6.63 ns at seed 1, the gate's critical path).
        pass_r, pass_a = (Signal(_Pass, name=n) for n in ("pass_r", "pass_a"))
        ok, f_r = self.i.payload.order_ok & ~self.i.payload.burst0, oc.rej
        with m.If(adv):
            m.d.sync += [rej.eq(oc.rej), acc.eq(oc.acc), sel_a.eq(same_a), sel_s.eq(same_s),
                         pass_r.c.eq(ok & ~f_r.credit), pass_r.p.eq(~f_r.position),
                         pass_r.rt.eq(~f_r.rate),
                         pass_a.c.eq(ok & ~Mux(same_a, oc.acc.credit, f_r.credit)),
                         pass_a.p.eq(~Mux(same_s, oc.acc.position, f_r.position)),
                         pass_a.rt.eq(~Mux(same_a, oc.acc.rate, f_r.rate))]
        return rej, acc, sel_a, sel_s, pass_r, pass_a

    def _index(self, order):
        a = order.account[:self.abits]
        return a, Cat(order.slot[:self.sbits], a)

    def _verdict(self, m, adv, is_order, accept, reason, c):
        """Register the verdict (and the accepted order); count; feed the reject ring."""
        s = c.order
        with m.If(adv & is_order):
            m.d.comb += self.ev_orders.eq(1)
            v = self.verdicts.payload
            m.d.sync += [self.verdicts.valid.eq(1), v.clordid.eq(s.clordid),
                         v.accept.eq(accept), v.reason.eq(reason), v.ts.eq(c.ts)]
            m.d.sync += self.accepted.payload.eq(s)     # shown only when valid: no fanout
            with m.If(accept):                            # of the verdict to its bits
                m.d.comb += self.ev_accepts.eq(1)
                m.d.sync += self.accepted.valid.eq(1)
            with m.Else():
                m.d.comb += self.ev_rejects.eq(
                    Cat(reason == i for i in range(1, len(self.ev_rejects) + 1)))
        r = self.rejects.payload
        m.d.comb += [self.rejects.valid.eq(adv & is_order & ~accept),
                     r.clordid.eq(s.clordid), r.reason.eq(reason), r.account.eq(s.account),
                     r.slot.eq(s.slot), r.ns.eq(c.ts.ns)]

    def _update(self, m, adv, fwd_a, fwd_s, cur_a, cur_s, base_a, base_s, c4, new_a, new_s,
                late):
        """What stage 4 writes (`new_*`), an accepted order's or a host event's, as one
        add per field of a delta registered in stage 3, then at most one mux whose select
        is a register.

        Why: the event's clamped release (`q > open buys` and the like) was a 66-bit
        compare in stage 4 whose result then selected, through the event/order/side
        muxes, every bit of the LUT-RAM write data (routed 111.84 MHz). Now stage 3
        registers, for the entry in stage 3:
          k_*    the signed delta each field takes (an order books its notional and
                 qty, a fill or cancel releases them, a fill moves the position),
                 truncated to the field's width (the add wraps as before);
          cl_*   whether the event's release is clamped (exposure below zero), decided
                 for both outcomes of the order in stage 4 (`rej`: from `base_*`;
                 `acc`: stage 4's accepted order's result, cur + its delta, wrapping at
                 2**64 as written) and picked with the forwarding condition, as `cur_*`
                 is; a clamped buy sets long_used to the new position, a clamped sell
                 short_used to minus it;
          late   whether the order is past its bucket (t > tat: tat' = t_iv, else
                 tat + interval), decided likewise (`acc`: stage 4's tat', itself
                 picked with its registered `late`); events leave tat alone.
        An event in stage 3 never follows another event in stage 4 (the gap behind
        each event, gate.py), so `acc` only ever sees an order's result."""
        c3, buy3 = self.i.payload, self.i.payload.order.side == SIDE_BUY
        q3, ord3, fill3 = c3.order.qty, c3.kind == 0, c3.kind == 1
        dq = Mux(ord3, q3, -q3)                  # an order books, an event releases
        k_open, k_tat = Signal(64), Signal(64)
        k_ob, k_os = Signal(64), Signal(64)
        k_pos, k_npos, k_lu, k_su = Signal(66), Signal(66), Signal(66), Signal(66)
        cl_open, cl_b, cl_s = Signal(), Signal(), Signal()
        # the three releases' overflows registered apart, ORed in stage 4 (with stage
        # 4's side): ORed in stage 3, three chains far apart met in one LUT tree before
        # one flip-flop (8.57 ns, the gate's critical path)
        ovr_n, ovr_b, ovr_s = Signal(name="ovr_n"), Signal(name="ovr_b"), Signal(name="ovr_s")
        self._ev_over = ovr_n | Mux(c4.order.side == SIDE_BUY, ovr_b, ovr_s)

        def over(x, a, b):
            """x > (a + b) mod 2**64, with one carry chain for the compare (all three
            unsigned; a + b - x = a + b + ~x + 1, the +1 in the 3:2 layer's free carry
            bit: one layer)."""
            wrap = (a + b)[64]
            z = lambda v: Cat(v, Const(0, 68 - len(v)))      # noqa: E731
            d = raw_sum([z(a), z(b), ~z(x)], 1)                # a + b - x
            # wrapped: (a + b) mod 2**64 < x <=> d < 2**64 (d >= 1 here): its top bits
            # zero, one LUT (a signed `<= 0` was mapped to a second carry chain)
            return Mux(wrap, ~d[64:].any(), d[67])

        n3 = c3.notional
        ov_n = Mux(fwd_a, over(n3, cur_a.open, k_open), n3 > base_a.open)
        ov_b = Mux(fwd_s, beyond(m, c3.q_p_ob, cur_s.ob, k_ob, "ov_b"), q3 > base_s.ob)
        ov_s = Mux(fwd_s, beyond(m, c3.q_p_os, cur_s.os, k_os, "ov_s"), q3 > base_s.os)
        t3 = c3.t
        late_acc = Mux(late, t3 > c4.t_iv, beyond(m, c3.t_p, cur_a.tat, k_tat, "late"))
        with m.If(adv):
            m.d.sync += [
                k_open.eq(Mux(ord3, n3, -n3)), k_tat.eq(Mux(ord3, c3.interval, 0)),
                k_ob.eq(Mux(buy3, dq, 0)), k_os.eq(Mux(buy3, 0, dq)),
                k_pos.eq(Mux(ord3 | ~fill3, 0, Mux(buy3, q3, -q3))),
                k_npos.eq(Mux(ord3 | ~fill3, 0, Mux(buy3, -q3, q3))),
                # long_used: an order's buy books, a buy cancel or sell fill releases
                k_lu.eq(Mux(ord3, Mux(buy3, q3, 0), Mux(buy3 ^ fill3, -q3, 0))),
                # short_used: an order's sell books, a sell cancel or buy fill releases
                k_su.eq(Mux(ord3, Mux(buy3, 0, q3), Mux(buy3 ^ fill3, 0, -q3))),
                cl_open.eq(~ord3 & ov_n), cl_b.eq(~ord3 & buy3 & ov_b),
                cl_s.eq(~ord3 & ~buy3 & ov_s),
                ovr_n.eq(ov_n), ovr_b.eq(ov_b), ovr_s.eq(ov_s),
                late.eq(ord3 & Mux(fwd_a, late_acc, t3 > base_a.tat)),
            ]
        pos = (cur_s.pos + k_pos)[:66]
        m.d.comb += [
            new_a.open.eq(Mux(cl_open, 0, cur_a.open + k_open)),
            new_a.tat.eq(Mux(late, c4.t_iv, cur_a.tat + k_tat)),
            new_s.pos.eq(pos),
            new_s.ob.eq(Mux(cl_b, 0, cur_s.ob + k_ob)),
            new_s.os.eq(Mux(cl_s, 0, cur_s.os + k_os)),
            new_s.lu.eq(Mux(cl_b, pos, cur_s.lu + k_lu)),
            new_s.su.eq(Mux(cl_s, k_npos - cur_s.pos, cur_s.su + k_su)),
        ]

    def _clear(self, m, ast_wr, sst_wr):
        """After reset, zero positions, exposure and buckets before taking any input."""
        A, S = self.accounts, self.slots
        clr_idx = Signal(range(A * S))
        lb = (self.bank - 1).bit_length()
        with m.If(self.clearing):
            m.d.comb += [ast_wr.addr.eq(clr_idx[:self.abits]), ast_wr.data.eq(0), ast_wr.en.eq(1)]
            for k, p in enumerate(sst_wr):
                m.d.comb += [p.addr.eq(clr_idx[:lb]), p.data.eq(0),
                             p.en.eq(clr_idx[lb:] == k if len(sst_wr) > 1 else 1)]
            m.d.sync += clr_idx.eq(clr_idx + 1)
            with m.If(clr_idx == A * S - 1):
                m.d.sync += self.clearing.eq(0)
