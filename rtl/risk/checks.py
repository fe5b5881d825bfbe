"""OrderChecks, stages 1..3 of the gate: the stateless checks 1..8 (docs/limits.md) and
the thresholds the state stage compares against (rtl/risk/layouts.py `Prepared`).

Why three stages: no stage holds more than one DSP multiply or one carry chain.
  S1  the picked input and `t` (ns) registered; the book entry (registered by
      BookBounds) checks kill, index, halted, missing; DSP partial products of
      qty x price and price x 10000. The limits RAM outputs are registered as read;
      from them: lo = t - window, the duplicate window's low end, and ~t (for
      rtl/risk/duplicates.py), t - interval and burst x interval (DSPs, for t_tau).
  S2  notional and price x 10000 summed, ~(credit - notional) and the sign of
      notional - max_notional - 1 (from the partial products: one carry chain each);
      limits checks 2, 3, 5, 6; ~(long - qty), ~(short - qty)
      (complemented thresholds: rtl/risk/outcomes.py compares with no constant),
      t + interval; t_tau = t + (burst-1) x interval (from S1's registers t -
      interval and the burst x interval DSP products: one 3:2 layer and a carry
      chain), and t_tau minus the interval of the order in S3 (one more layer and a
      chain), each registered whole (`tau`, `tau_p`): the state stage's rate compares
      are then one subtraction each, with no LUT between the state register and the
      chain (rtl/risk/outcomes.py). Likewise the amounts the order in S3 (stage 4's
      next) books are taken off here: t - its interval, qty - its open-buy / open-sell
      delta, and the credit and position thresholds less its notional and qty
      (`t_p`, `q_p_ob`, `q_p_os`, `nthr_credit_p`, `nthr_long_p`, `nthr_short_p`), so
      each stage-3 compare against stage 4's result is two operands too
      (rtl/risk/exposure.py `beyond`, outcomes.py `acc`).
  S3  notional > max_notional (7, registered from S2) and the collar compare (8) of
      the order's value (price x 10000 or price, picked in S2): `o` is S3's registers
      and the reason, combinational; every threshold in `o` is a register, because
      the state stage compares sums of them with the state in this same cycle
      (rtl/risk/outcomes.py). Every register loads on `o.ready`.
"""
from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..layouts import AcctLimits, Order, PosLimits, RiskCandidate, SymLimits, SIDE_BUY
from .arith import carry_save, operands, partial_products, raw_sum, sum_terms
from .layouts import TAU_W, BookEntry, Prepared


def _first(m, codes, width=4):
    """The lowest code whose condition holds (0 if none): [(code, cond)] in priority order."""
    r = Signal(width)
    for code, bad in reversed(codes):
        with m.If(bad):
            m.d.comb += r.eq(code)
    return r


def tau_parts(t, burst, interval):
    """t_tau's operands: t - interval (one carry chain) and the two 16 x 17 products of
    burst x interval (DSPs) as [(product, shift)]; S1 registers them."""
    return t - interval, [(burst * interval[:17], 0), (burst * interval[17:32], 17)]


def tau_whole(t_minus_interval, bi, interval_ahead):
    """(tau, tau_p): t_tau = t - interval + burst x interval and t_tau - interval_ahead
    (mod 2**TAU_W) from `tau_parts` (registered in S1): a 3:2 layer and a chain, and
    one more layer for - interval_ahead (its +1 in the layer's free carry bit) and a
    chain. Whole (not +1, not in carry-save form) so that every rate compare in the
    state stage is a plain subtraction `tau - tat`: Yosys puts `a + ~b` (and `a - b -
    1`) through an inverter LUT in front of the carry chain, and maps `a - b` into the
    chain itself (rtl/risk/outcomes.py)."""
    s, c = carry_save([(t_minus_interval, 0)] + bi, TAU_W)
    nia = ~Cat(interval_ahead, Const(0, TAU_W - len(interval_ahead)))    # -ia - 1
    ps, pc = carry_save([(s, 0), (c, 0), (nia, 0)], TAU_W, one=True)
    return (s + c)[:TAU_W], (ps + pc)[:TAU_W]


def _less_ahead(m, o2, t2, c3, s3, credit, pos, p_not):
    """What S2 registers for stage 3's compares against stage 4's result: the order in
    S2's values less what the entry now in S3 (stage 4's next) adds to the state it
    shares (rtl/risk/exposure.py `_update`'s k_tat, k_ob, k_os; outcomes.py `acc`'s
    notional and qty), as {Prepared field: value}: `t_p`, `q_p_ob`, `q_p_os` for
    exposure.py `beyond`, `nthr_credit_p`, `nthr_long_p`, `nthr_short_p` for the
    checks against an accepted order ahead."""
    # qty less the entry's delta to open buys / sells (k_ob / k_os, mod 2**64: an order
    # books its qty, an event releases it, so k is q or 2**64 - q, or 0 on the other
    # side or for a zero q): both sums side by side, picked after (one chain each;
    # with -q made first, a chain, a mux and a 66-bit chain in series: 6.41 ns at seed
    # 3). qty - (2**64 - q) is qty + q - 2**64: the 33-bit sum with bits 64 and 65 set
    # (negative), no chain of its own.
    buy3, ord3 = c3.order.side == SIDE_BUY, c3.kind == 0
    qn2, qx3 = o2.qty, c3.order.qty
    q_book = Signal(signed(66), name="q_book")          # qty - q
    q_rel = Signal(signed(66), name="q_rel")            # qty - (2**64 - q)
    m.d.comb += [q_book.eq(qn2 - qx3),
                 q_rel.eq(Mux(qx3 == 0, qn2, Cat(qn2 + qx3, Const(0, 64 - 33), Const(0b11, 2))))]
    q_k = Mux(ord3, q_book, q_rel)                      # qty - k on the entry's side
    # the thresholds as an accepted order ahead leaves them: it books its notional, and
    # its qty on its own side; one 3:2 layer more on each threshold's operands
    ext35 = lambda v: Cat(v, Const(0, 35 - len(v)))      # noqa: E731
    qb3, qs3 = Mux(buy3, qx3, 0), Mux(buy3, 0, qx3)
    return {
        "t_p": t2 - Mux(ord3, s3["interval"], 0),
        "q_p_ob": Mux(buy3, q_k, qn2), "q_p_os": Mux(buy3, qn2, q_k),
        "nthr_credit_p": raw_sum([~Cat(credit, Const(0, 2))] + operands(p_not, 66)
                                 + [Cat(s3["notional"], Const(0, 2))]),
        "nthr_long_p": raw_sum([ext35(qn2), ~ext35(pos.long), ext35(qb3)]),
        "nthr_short_p": raw_sum([ext35(qn2), ~ext35(pos.short), ext35(qs3)]),
    }


class OrderChecks(wiring.Component):
    i: In(stream.Signature(RiskCandidate))
    t: In(64)
    book: In(BookEntry)
    acct: In(AcctLimits)
    sym: In(SymLimits)
    pos: In(PosLimits)
    o: Out(stream.Signature(Prepared))
    ahead: Out(Order)            # the order in S2 (the state stage reads its state then)
    ahead1: Out(Order)           # the order in S1
    ahead_valid: Out(1)          # `ahead` is valid
    ahead_nt: Out(64)            # ~its `t` (the duplicate history starts its match in S2)
    ahead_lo: Out(signed(65))    # t - its account's duplicate window, made in S1

    def elaborate(self, platform):
        m = Module()
        adv = self.o.ready
        m.d.comb += self.i.ready.eq(adv)

        # ---- S1
        v1, c1, t1 = Signal(), Signal(RiskCandidate), Signal(64)
        with m.If(adv):
            m.d.sync += [v1.eq(self.i.valid), c1.eq(self.i.payload), t1.eq(self.t)]
        o1, bk = c1.order, self.book
        m.d.comb += self.ahead1.eq(o1)
        buy1 = o1.side == SIDE_BUY
        p_not = partial_products(m, o1.qty, o1.price, adv, "notional")
        p_px4 = partial_products(m, o1.price, Const(10000, 14), adv, "px4")

        # ---- S2 (limits RAM outputs registered here)
        v2, c2, t2 = Signal(), Signal(RiskCandidate), Signal(64)
        a2, y2, q2, bk2 = Signal(AcctLimits), Signal(SymLimits), Signal(PosLimits), Signal(BookEntry)
        missing2 = Signal()
        # the duplicate window's low end lo = t - window (rtl/risk/duplicates.py), one
        # chain in S1 from the limits RAM's read register, so that every history entry
        # compares its t0 with a register in S2 (two operands, no 3:2 layer per entry)
        # (and ~t, its own register for the history's t0 <= t, so that t2's fanout
        # stays here: t2 to the history's 18 chains and this stage's was 2.9 ns of route)
        lo2, nt2 = Signal(signed(65), name="lo2"), Signal(64, name="nt2")
        # t - interval and burst x interval (the DSPs), for t_tau, registered too: the
        # DSPs and the chain in S2 before two 3:2 layers were 6.5-6.7 ns
        a1 = self.acct
        tmi1, bi1 = tau_parts(t1, a1.burst, a1.interval)
        tmi2, bi2 = Signal.like(tmi1, name="tmi2"), [(Signal.like(p, name=f"bi2_{s}"), s)
                                                     for p, s in bi1]
        with m.If(adv):
            m.d.sync += [lo2.eq(t1 - a1.window), nt2.eq(~t1), tmi2.eq(tmi1),
                         *(r.eq(p) for (r, _), (p, _) in zip(bi2, bi1))]
        with m.If(adv):
            m.d.sync += [v2.eq(v1), c2.eq(c1), t2.eq(t1), a2.eq(self.acct), y2.eq(self.sym),
                         q2.eq(self.pos), bk2.eq(bk),
                         missing2.eq(bk.unreliable | Mux(buy1, bk.ask_empty, bk.bid_empty))]
        o2 = c2.order
        m.d.comb += [self.ahead.eq(o2), self.ahead_valid.eq(v2), self.ahead_nt.eq(nt2),
                     self.ahead_lo.eq(lo2)]
        notional2, px4_2 = Signal(64), Signal(46)
        m.d.comb += [notional2.eq(sum_terms(p_not, 64)), px4_2.eq(sum_terms(p_px4, 46))]
        pre = _first(m, [(1, c2.kill), (2, ~c2.acct_ok | ~a2.enabled),
                         (3, ~c2.slot_ok | ~y2.enabled | y2.restricted), (4, bk2.halted),
                         (5, missing2 & ~y2.allow_no_book),
                         (6, (o2.qty == 0) | (o2.qty > y2.max_qty))])
        # t_tau (and less the interval of the order in S3, the order ahead of this one
        # in the state stage), whole: a 3:2 layer (two) and one chain each
        s3 = dict(interval=Signal(32))
        tau, tau_p = tau_whole(tmi2, bi2, s3["interval"])
        # ~(credit - notional) = notional + ~credit: the notional's three operands and
        # ~credit, no constant (two 3:2 layers, one chain); ~(long - qty) = qty + ~long
        n_credit = raw_sum([~Cat(a2.credit, Const(0, 2))] + operands(p_not, 66))
        # notional > max_notional (7) likewise, from the partial products: its sign in
        # S2, a register for S3 (in S3, a 64-bit compare before the reason and `order_ok`
        # was 6.7 ns)
        n_max = raw_sum([~Cat(a2.max_notional, Const(0, 2))] + operands(p_not, 66))
        n_long = raw_sum([Cat(o2.qty, Const(0, 2)), ~Cat(q2.long, Const(0, 2))])
        n_short = raw_sum([Cat(o2.qty, Const(0, 2)), ~Cat(q2.short, Const(0, 2))])

        # ---- S3
        v3, c3, t3 = Signal(), Signal(RiskCandidate), Signal(64)
        s3.update(pre=Signal(4), buy=Signal(), notional=Signal(64), val=Signal(46), missing=Signal(),
                  buy_bound=Signal(66), sell_bound=Signal(signed(48)),
                  nthr_credit=Signal(signed(66)), n_over=Signal(),
                  nthr_long=Signal(signed(34)), nthr_short=Signal(signed(34)), t_iv=Signal(64), tau=Signal(TAU_W),
                  tau_p=Signal(TAU_W), burst0=Signal(), t_p=Signal(signed(65)),
                  q_p_ob=Signal(signed(66)), q_p_os=Signal(signed(66)),
                  nthr_long_p=Signal(signed(35)), nthr_short_p=Signal(signed(35)),
                  nthr_credit_p=Signal(signed(66)))
        ahead = _less_ahead(m, o2, t2, c3, s3, a2.credit, q2, p_not)
        with m.If(adv):
            m.d.sync += [v3.eq(v2), c3.eq(c2), t3.eq(t2), s3["pre"].eq(pre),
                         s3["buy"].eq(o2.side == SIDE_BUY),
                         s3["notional"].eq(notional2),
                         s3["val"].eq(Mux(bk2.bps, px4_2, o2.price)),
                         s3["missing"].eq(missing2),
                         s3["buy_bound"].eq(bk2.buy_bound), s3["sell_bound"].eq(bk2.sell_bound),
                         s3["nthr_credit"].eq(n_credit), s3["n_over"].eq(~n_max[65]),
                         s3["nthr_long"].eq(n_long), s3["nthr_short"].eq(n_short),
                         s3["t_iv"].eq(t2 + a2.interval),
                         s3["tau"].eq(tau), s3["tau_p"].eq(tau_p),
                         *(s3[k].eq(v) for k, v in ahead.items()),
                         s3["burst0"].eq(a2.burst == 0),
                         s3["interval"].eq(a2.interval)]
        o3 = c3.order
        val = s3["val"]         # picked in S2: no mux in front of the collar chains
        collar_bad = ~s3["missing"] & Mux(s3["buy"], val > s3["buy_bound"],
                                          val < s3["sell_bound"])
        n_over = s3["n_over"]
        reason = _first(m, [(s3["pre"], s3["pre"] != 0), (7, n_over), (8, collar_bad)])
        # `order_ok` (valid order, reason 0) apart from the reason's priority encode: an
        # AND of registers and the two compares; the state stage registers it
        # (exposure.py `ok_r`), and through the encode it was 7 LUT levels (6.9 ns)
        ord_ok = v3 & (c3.kind == 0) & (s3["pre"] == 0)
        p = self.o.payload
        m.d.comb += [self.o.valid.eq(v3), p.kind.eq(c3.kind), p.order.eq(o3), p.ts.eq(c3.ts),
                     p.ok_idx.eq(c3.acct_ok & c3.slot_ok), p.reason.eq(reason),
                     p.order_ok.eq(ord_ok & ~n_over & ~collar_bad),
                     p.notional.eq(s3["notional"]), p.nthr_credit.eq(s3["nthr_credit"]),
                     p.nthr_long.eq(s3["nthr_long"]), p.nthr_short.eq(s3["nthr_short"]),
                     p.t.eq(t3), p.t_iv.eq(s3["t_iv"]),
                     p.burst0.eq(s3["burst0"]), p.interval.eq(s3["interval"]),
                     p.tau.eq(s3["tau"]), p.tau_p.eq(s3["tau_p"]), p.t_p.eq(s3["t_p"]),
                     p.q_p_ob.eq(s3["q_p_ob"]), p.q_p_os.eq(s3["q_p_os"]),
                     p.nthr_long_p.eq(s3["nthr_long_p"]), p.nthr_short_p.eq(s3["nthr_short_p"]),
                     p.nthr_credit_p.eq(s3["nthr_credit_p"])]
        return m
