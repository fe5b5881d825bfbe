"""Payloads inside the gate (the ports' layouts are in rtl/layouts.py).

BookEntry: one slot's book as an order needs it, with the price-collar bounds
precomputed for one limits bank (rtl/risk/collar.py): buy is bad when the order's
value (price x 10000 for a bps collar, else price) > `buy_bound`, sell when it is
< `sell_bound`.

Prepared: stage 3 -> 4, everything the one-cycle state stage compares against,
precomputed so that each stateful check is a single compare with the state:
credit `open > thr_credit` (credit - notional), position `long_used > thr_long`
(long - qty) or `short_used > thr_short`, rate `tat > t_tau` (t + (burst-1) x
interval), duplicate window `lo < t0 <= t` with `lo` = t - window.
"""
from amaranth.hdl import signed
from amaranth.lib import data

from ..layouts import Order, Timestamp

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
    "notional": 64,
    "thr_credit": signed(66),
    "thr_long": signed(34),
    "thr_short": signed(34),
    "t": 64,
    "t_tau": signed(66),
    "t_iv": 64,
    "interval": 32,
    "lo": signed(66),
    "burst0": 1,
})
