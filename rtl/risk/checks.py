"""OrderChecks, stage 1 of the gate: the stateless checks 1..8 (docs/limits.md).

It registers the picked input (`i`, with the book and limits looked up for it in the
same cycle, which arrive registered on `book`, `acct`, `sym`, `pos`), finds the first
failing stateless check and registers the result on `o` with what the stateful
checks need. Both registers load when `o.ready` (the pipeline advance).
"""
from amaranth.hdl import Const, Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..layouts import (AcctLimits, PosLimits, RiskBook, RiskCandidate, RiskChecked, SymLimits,
                       SIDE_BUY)


class OrderChecks(wiring.Component):
    i: In(stream.Signature(RiskCandidate))
    book: In(RiskBook)
    acct: In(AcctLimits)
    sym: In(SymLimits)
    pos: In(PosLimits)
    o: Out(stream.Signature(RiskChecked))

    def elaborate(self, platform):
        m = Module()
        adv = self.o.ready
        m.d.comb += self.i.ready.eq(adv)
        s1_valid, s1 = Signal(), Signal(RiskCandidate)
        with m.If(adv):
            m.d.sync += [s1_valid.eq(self.i.valid), s1.eq(self.i.payload)]

        a, y, bk, order = self.acct, self.sym, self.book, s1.order
        buy = order.side == SIDE_BUY
        notional = Signal(64)
        m.d.comb += notional.eq(order.qty * order.price)
        missing = bk.unreliable | Mux(buy, bk.ask_qty == 0, bk.bid_qty == 0)
        px4 = order.price * 10000
        buy_bad = Mux(y.bps, px4 > bk.ask_px * (10000 + y.collar),
                      order.price > bk.ask_px + y.collar)
        sell_bad = Mux(y.bps, px4 < bk.bid_px * (Const(10000, signed(34)) - y.collar),
                       order.price + y.collar < bk.bid_px)
        checks = [
            s1.kill,                                                # 1 kill_switch
            ~s1.acct_ok | ~a.enabled,                               # 2 account_disabled
            ~s1.slot_ok | ~y.enabled | y.restricted,                # 3 restricted
            bk.halted,                                              # 4 halted
            missing & ~y.allow_no_book,                             # 5 no_book
            (order.qty == 0) | (order.qty > y.max_qty),             # 6 max_qty
            notional > a.max_notional,                              # 7 max_notional
            ~missing & Mux(buy, buy_bad, sell_bad),                 # 8 price_collar
        ]
        reason = Signal(4)
        for code, bad in reversed(list(enumerate(checks, 1))):
            with m.If(bad):
                m.d.comb += reason.eq(code)     # last assignment wins: lowest code first

        o = self.o.payload
        with m.If(adv):
            m.d.sync += [self.o.valid.eq(s1_valid), o.kind.eq(s1.kind), o.order.eq(order),
                         o.ts.eq(s1.ts), o.ok_idx.eq(s1.acct_ok & s1.slot_ok),
                         o.reason.eq(reason), o.notional.eq(notional),
                         o.t.eq(s1.ts.sec * 1_000_000_000 + s1.ts.ns),
                         o.credit.eq(a.credit), o.long.eq(self.pos.long),
                         o.short.eq(self.pos.short), o.interval.eq(a.interval),
                         o.tau.eq((a.burst - 1) * a.interval), o.burst0.eq(a.burst == 0),
                         o.window.eq(a.window)]
        return m
