"""Payloads inside the gate (the ports' layouts are in rtl/layouts.py).

BookEntry: one slot's book as an order needs it, with the price-collar bounds
precomputed for one limits bank (rtl/risk/collar.py): buy is bad when the order's
value (price x 10000 for a bps collar, else price) > `buy_bound`, sell when it is
< `sell_bound`.

Prepared: stage 3 -> 4, the order with the thresholds its stateful checks compare
the state against, every one a register of stage 3 (no carry chain after it), so that
rtl/risk/outcomes.py can decide the checks in stage 3 with one chain each: credit
`open > thr_credit` (credit - notional), position `long_used > thr_long` (long - qty)
or `short_used > thr_short`, each threshold held complemented (`nthr_*` = ~thr =
-thr - 1: `x > thr` is `x + nthr >= 0`, a sum with no constant term, so one 3:2 layer
fewer), rate `tat > t_tau` with t_tau = t + (burst-1) x interval,
held whole as tau = t_tau (mod 2**TAU_W), made in stage 2 (rtl/risk/checks.py), so
that `tat > t_tau` is the sign of tau - tat (one subtraction: the carry chain takes
the state register directly); tau_p = t_tau - interval', interval' that of the order
ahead (in stage 4 when this one is in stage 3), so that against the ahead order's tat
+ interval' (it accepted, not late) it is one subtraction too. Why: with t - interval
and the two burst x interval partial products as three operands, the rate check was
three 3:2 layers and a 68-bit chain in stage 3; in carry-save form (two words each) it
was still a 3:2 layer between the state register and the chain, and as `tau + ~tat`
an inverter LUT (Yosys maps only `a - b` into the chain): the gate's critical path
(prev tat -> pass_a_rt, 7.10 ns). Likewise t_p
= t - k_tat and q_p_ob / q_p_os = qty - k_ob / k_os, the k_* being what the entry
ahead adds to tat, open buys, open sells (rtl/risk/exposure.py `_update`), so that
stage 3's compares against stage 4's result, x > (cur + k) mod 2**64, are `cur - x_p`
on two operands (exposure.py `beyond`), and nthr_credit_p / nthr_long_p / nthr_short_p
hold the credit and position thresholds less the notional and qty the entry ahead
books if accepted, so those checks against it are two operands too
(rtl/risk/outcomes.py). The
duplicate window `t - window < t0 <= t` is decided in stage 2 by
rtl/risk/duplicates.py.

AcctState, SlotState: the state words per account and per (account, slot)
(rtl/risk/exposure.py); long_used = position + open buys, short_used = open sells -
position, kept so each position check is one compare.

Fails: the stateful checks 9..11 of one order under one outcome of the order ahead.
"""
from amaranth.hdl import signed
from amaranth.lib import data

from ..layouts import Order, Timestamp

TAU_W = 68      # t_tau's width: the compares' width (rtl/risk/outcomes.py)

BookEntry = data.StructLayout({
    "halted": 1, "unreliable": 1, "bid_empty": 1, "ask_empty": 1, "bps": 1,
    "buy_bound": 66, "sell_bound": signed(48),
})

Prepared = data.StructLayout({
    "kind": 2,
    "order": Order,
    "ts": Timestamp,
    "ok_idx": 1,
    "reason": 4,                 # first failing stateless check (1..8), 0 none
    "order_ok": 1,               # valid, an order, and `reason` 0 (made apart: see checks.py)
    "notional": 64,
    "nthr_credit": signed(66),   # ~(credit - notional)
    "nthr_long": signed(34),     # ~(long - qty)
    "nthr_short": signed(34),    # ~(short - qty)
    "nthr_credit_p": signed(66), # ~(credit - notional) + the ahead entry's notional
    "nthr_long_p": signed(35),   # ~(long - qty) + the ahead entry's qty if a buy, else 0
    "nthr_short_p": signed(35),  # ~(short - qty) + the ahead entry's qty if not a buy
    "t": 64,
    "tau": TAU_W,                # t_tau (mod 2**TAU_W)
    "tau_p": TAU_W,              # t_tau - the ahead order's interval
    "t_iv": 64,
    "t_p": signed(65),           # t - the ahead entry's k_tat (its interval, 0 for an event)
    "q_p_ob": signed(66),        # qty - the ahead entry's k_ob (mod 2**64, as exposure.py)
    "q_p_os": signed(66),        # qty - the ahead entry's k_os
    "interval": 32,
    "burst0": 1,
})

AcctState = data.StructLayout({"open": 64, "tat": 64})
SlotState = data.StructLayout({"pos": signed(66), "ob": 64, "os": 64, "lu": signed(66),
                               "su": signed(66)})

Fails = data.StructLayout({"credit": 1, "position": 1, "rate": 1})
