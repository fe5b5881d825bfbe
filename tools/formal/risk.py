"""Risk gate (rtl/risk/gate.py): kill switch, watchdog, power-up and limit commits.

Every gate input is free (orders, host events, book updates, every register write
and strobe, at any time). One order is watched: `watch` is a free but constant
clordid, and the order port or host window presents it at most once (assumed), so
the proof covers every order. The wrapper sees when the gate takes it (RiskIntake's
`o` handshake, stage 0) and with which kill flag. Proved, for the watched order:
  1. taken while the kill switch (global or its account's) is engaged or the
     watchdog has tripped, it is never accepted;
  2. taken before the first limits commit since power-up, it is never accepted;
  3. it is checked against one limits set: the three tables read the same bank in
     the cycle it is taken (a commit swaps banks between two orders, never inside
     one), and that bank is the one `st_status.LIMITS_BANK` reports.
Sizes: 2 accounts, 2 slots, a 4-deep duplicate history (the properties do not depend
on them; the board build's 8 x 8 makes the exposure state too large to prove here).
"""
from amaranth.hdl import Assert, Assume, Const, Module, ResetSignal, Signal
from amaranth.lib import data, stream, wiring

from tickwire.rtl.layouts import BboUpdate, RiskCandidate
from tickwire.rtl.risk.gate import RiskGate

from .observe import elaborate_observed

ACCOUNTS, SLOTS, HISTORY = 2, 2, 4


def _connect(m, outer, inner):
    """Drive every input of `inner` from the same-named port of `outer` and back."""
    for (path, member, ov), (_p, _m, iv) in zip(outer.signature.flatten(outer),
                                                inner.signature.flatten(inner)):
        if isinstance(ov, Const) or isinstance(iv, Const):
            continue                     # always_ready: nothing to connect
        if member.flow == wiring.In:
            m.d.comb += iv.eq(ov)
        else:
            m.d.comb += ov.eq(iv)


class RiskProps(wiring.Component):
    def __init__(self):
        self.gate = RiskGate(ACCOUNTS, SLOTS, HISTORY)
        members = dict(self.gate.signature.members)
        # a top-level port cannot be a constant: bbo's always-ready `ready` becomes a
        # plain (unused) output here
        members["bbo"] = wiring.In(stream.Signature(BboUpdate))
        members["watch"] = wiring.In(64)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        gate = self.gate
        gm, _sigs, _fsms = elaborate_observed(gate)
        intake = gm._named_submodules["intake"][0]
        limits = gm._named_submodules["limits"][0]
        lm, lsigs, _ = elaborate_observed(limits)
        tables = [lm._named_submodules[n][0] for n in ("acct", "sym", "pos")]
        # LimitTables' `loaded` (set by a commit); `loaded, loaded_r = Signal(), Signal()`
        # leaves the first one without a traced name, so look for either.
        loaded = next(sig for name, sig in lsigs.items()
                      if name in ("loaded", "$signal") and len(sig) == 1)
        gm._named_submodules["limits"] = (lm, gm._named_submodules["limits"][1])
        checks = gm._named_submodules["checks"][0]
        cm, csigs, _ = elaborate_observed(checks)
        gm._named_submodules["checks"] = (cm, gm._named_submodules["checks"][1])
        # OrderChecks' stage-1 register: `s1_valid, s1 = Signal(), Signal(RiskCandidate)`
        s1_valid = next(sig for name, sig in csigs.items()
                        if name in ("s1_valid", "$signal") and len(sig) == 1)
        s1 = data.View(RiskCandidate, csigs["s1"])
        m.submodules.gate = gm
        _connect(m, self, gate)         # `watch` is last: zip leaves it out
        m.d.comb += Assume(~ResetSignal())

        # The watched order: constant tag, presented at most once.
        watch, p_watch = self.watch, Signal(64)
        m.d.sync += p_watch.eq(watch)
        first = Signal(init=1)
        m.d.sync += first.eq(0)
        m.d.comb += Assume(first | (watch == p_watch))
        cand = intake.o.payload
        take = intake.o.valid & intake.o.ready & (cand.kind == 0) & \
            (cand.order.clordid == watch)
        taken, killed, early = Signal(), Signal(), Signal()
        committed = Signal()                       # a commit since power-up (ghost)
        with m.If(self.stb_commit):
            m.d.sync += committed.eq(1)
        m.d.comb += Assume(~(take & taken))
        with m.If(take):
            m.d.sync += [taken.eq(1), killed.eq(cand.kill), early.eq(~committed)]

        acc = self.accepted
        watched_out = acc.valid & (acc.payload.clordid == watch)
        m.d.comb += [
            Assert(~take | (cand.kill == (self.ctl_kill | gm._named_submodules["watchdog"][0]
                                          .tripped | (cand.order.account < ACCOUNTS) &
                                          self.ctl_kill_accounts.bit_select(
                                              cand.order.account[:1], 1))),
                   "kill flag not the kill switch / watchdog of the take cycle"),
            Assert(~watched_out | (taken & ~killed), "accepted although killed at intake"),
            Assert(~watched_out | (taken & ~early), "accepted before the first commit"),
            Assert(~(intake.o.valid & intake.o.ready) |
                   ((tables[0].bank == tables[1].bank) & (tables[1].bank == tables[2].bank) &
                    (tables[0].bank == limits.active)), "order reads a mix of banks"),
            # Helper invariants (true in every reachable state) so that the induction
            # needs only a couple of steps: limits count as loaded only after a commit,
            # and the watched order in stage 1 and stage 2 carries what it was taken with.
            Assert(~loaded | committed, "loaded without a commit"),
        ]
        at1 = s1_valid & (s1.kind == 0) & (s1.order.clordid == watch)
        c2 = checks.o
        at2 = c2.valid & (c2.payload.kind == 0) & (c2.payload.order.clordid == watch)
        m.d.comb += [
            Assert(~at1 | (taken & (s1.kill == killed)), "stage 1 holds the watched order"),
            Assert(~(at1 & early) | ~lsigs["loaded_r"], "stage 1 read unloaded limits"),
            Assert(~at2 | (taken & (~killed | (c2.payload.reason == 1)) &
                           (~early | (c2.payload.reason != 0))), "stage 2 verdict so far"),
        ]
        return m


def component():
    return RiskProps()


DEPTH = 3
MODE = "prove"
