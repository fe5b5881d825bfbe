"""Outcomes: the stateful checks 9..11 of the order in stage 3, decided one cycle early
for both outcomes of the order ahead of it (in stage 4, being decided this cycle).

Why: the state stage's loop (state -> compare -> accept -> state) held a 66-bit
compare and routed at 81 MHz. Here every compare is made in stage 3, from registers
only, as the sign of one sum (rtl/risk/arith.py `signed_sum`: carry-save
layers, one carry chain). The thresholds arrive complemented (`nthr_*` = ~thr), so
`x > thr` is `x + ~thr >= 0`, a sum with no constant: one chain, or one 3:2 layer and
a chain when the accepted order ahead adds its amount. The rate check's t_tau
arrives whole (rtl/risk/layouts.py `tau`), also less the order ahead's interval
(`tau_p`), so `tat > t_tau` is the sign of one subtraction, also against the accepted
order ahead's tat + interval: the state register goes straight into the chain (as
`tau + ~tat`, Yosys put an inverter LUT in front of it).
Stage 4 only picks `acc` or `rej` with the previous order's verdict:
  rej  the order ahead changes nothing (rejected, another entry, or no order): the
       state is `base` (stage 4's state when the same entry, else the state RAM);
  acc  it is accepted for the same account (credit, rate) or (account, slot)
       (position): its own state `prev_a`/`prev_s` plus what it books, exactly as
       rtl/risk/exposure.py writes it (tat: max(t, tat) + interval, 64-bit).
Host events never need this: the gate leaves a bubble behind each one (gate.py).
"""
from amaranth.hdl import Cat, Const, Module, Mux
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..layouts import SIDE_BUY
from .arith import signed_sum
from .layouts import TAU_W, AcctState, Fails, Prepared, SlotState

W = TAU_W       # two's complement width of every compared sum (operands up to 66 bits)


def _over(*vals):
    """True when the sum of `vals` (a complemented threshold ~thr = -thr - 1 and the
    amounts compared with it) is >= 0, i.e. the amounts' sum > thr. No constant term:
    two values are one carry chain, three one 3:2 layer and a chain."""
    return ~signed_sum([(v, 0) for v in vals], W)[W - 1]


class Outcomes(wiring.Component):
    nxt: In(Prepared)            # the order in stage 3
    base_a: In(AcctState)        # its state if the order ahead changes nothing
    base_s: In(SlotState)
    prev: In(Prepared)           # the order ahead (stage 4), with its state
    prev_a: In(AcctState)
    prev_s: In(SlotState)
    late: In(1)                  # the order ahead is past its bucket (exposure.py `late`)
    rej: Out(Fails)
    acc: Out(Fails)

    def elaborate(self, platform):
        m = Module()
        n, p = self.nxt, self.prev
        buy = n.order.side == SIDE_BUY
        # tat > t_tau as the sign of tau - tat: one subtraction, the chain's own
        ext = lambda v: Cat(v, Const(0, W - len(v)))        # noqa: E731
        over_tau = lambda v: (n.tau - ext(v))[W - 1]        # noqa: E731  (v > t_tau)

        # the order ahead changes nothing
        b_a, b_s = self.base_a, self.base_s
        m.d.comb += [
            self.rej.credit.eq(_over(n.nthr_credit, b_a.open)),
            self.rej.position.eq(Mux(buy, _over(n.nthr_long, b_s.lu),
                                     _over(n.nthr_short, b_s.su))),
            self.rej.rate.eq(over_tau(b_a.tat)),
        ]

        # the order ahead is accepted on the same entry: it adds its notional, its qty
        # to long_used (buy) or short_used (sell, short), and moves its bucket
        a, s = self.prev_a, self.prev_s
        # tat' = t_iv when late (p.t > tat: stage 4's own registered `late`, decided
        # in stage 3 with the same state, so no chain here), else tat + interval
        wrap = (a.tat + p.interval)[64]              # tat + interval past 2**64
        d = (n.tau_p - ext(a.tat))[:W]               # t_tau - interval - tat
        # d + 2**64: its sign is d < -2**64,
        # the wrapped tat' > t_tau: bit 67 of d + 2**64 is d[67] flipped when bits
        # 64..66 of d carry the +1 up (one LUT after d's chain, no second chain)
        d_w_sign = d[W - 1] ^ d[64:W - 1].all()
        m.d.comb += [
            # the order ahead books its notional, and its qty on its own side: the
            # thresholds less them come made a stage earlier (`nthr_*_p`, rtl/risk/
            # checks.py), so each compare is one chain on two operands. (With the amount
            # as a third operand, a 3:2 layer and a chain: nthr_short -> pass_a.p and
            # prev open -> pass_a.c, 6.77 / 6.45 ns, the gate's critical paths at seeds
            # 2 / 1; a side mux in front of the chains was 8.7 ns.)
            self.acc.credit.eq(_over(n.nthr_credit_p, a.open)),
            self.acc.position.eq(Mux(buy, _over(n.nthr_long_p, s.lu),
                                     _over(n.nthr_short_p, s.su))),
            self.acc.rate.eq(Mux(self.late, over_tau(p.t_iv),
                                 Mux(wrap, d_w_sign, d[W - 1]))),
        ]
        return m
