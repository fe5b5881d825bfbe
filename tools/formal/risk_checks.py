"""Risk gate stage 1 (rtl/risk/checks.py) alone: the lemmas the gate-level kill and
power-up proofs rest on, proved quickly because the block is small.

All of OrderChecks' inputs are free (candidate, book, limits, back-pressure). Proved:
  - a candidate registered with its kill flag set leaves stage 1 with reason 1
    (kill_switch), whatever the limits, the book and the arithmetic checks say;
  - a candidate checked against a disabled account (which is what LimitTables shows
    before the first commit: `enabled` is gated by `loaded`) leaves with reason 1 or 2;
so stage 2 (ExposureState), which only looks further when the reason is 0, rejects it.
"""
from amaranth.hdl import Assert, Assume, Module, ResetSignal, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In

from tickwire.rtl.layouts import AcctLimits, PosLimits, RiskBook, RiskCandidate, SymLimits
from tickwire.rtl.risk.checks import OrderChecks

from .observe import elaborate_observed


class ChecksProps(wiring.Component):
    valid: In(1)
    cand: In(RiskCandidate)
    book: In(RiskBook)
    acct: In(AcctLimits)
    sym: In(SymLimits)
    pos: In(PosLimits)
    ready: In(1)

    def elaborate(self, platform):
        m = Module()
        ch = OrderChecks()
        m.submodules.checks, sigs, _ = elaborate_observed(ch)
        m.d.comb += [ch.i.valid.eq(self.valid), ch.i.payload.eq(self.cand),
                     ch.book.eq(self.book), ch.acct.eq(self.acct), ch.sym.eq(self.sym),
                     ch.pos.eq(self.pos), ch.o.ready.eq(self.ready), Assume(~ResetSignal())]
        # the stage-1 register: `s1_valid, s1 = Signal(), Signal(RiskCandidate)`
        s1_valid = next(sig for name, sig in sigs.items()
                        if name in ("s1_valid", "$signal") and len(sig) == 1)
        s1 = data.View(RiskCandidate, sigs["s1"])
        killed, disabled = Signal(), Signal()
        m.d.sync += [killed.eq(s1_valid & s1.kill & self.ready),
                     disabled.eq(s1_valid & ~self.acct.enabled & self.ready)]
        r = ch.o.payload.reason
        m.d.comb += [Assert(~killed | (ch.o.valid & (r == 1)), "killed but not kill_switch"),
                     Assert(~disabled | (ch.o.valid & (r >= 1) & (r <= 2)),
                            "disabled account not rejected")]
        return m


def component():
    return ChecksProps()


DEPTH = 2
