"""Risk gate (rtl/risk/gate.py, the 5-stage pipeline): kill switch, watchdog, power-up
and limits banks, proved on the whole gate at the `board` build's sizes.

Every gate input is free: orders, host events and the order window, book updates,
every register write and strobe, and back-pressure on both outputs, at any time.

Pipeline bookkeeping (a shadow of the inputs): the gate advances all its stages at
once, in the cycles `adv` when neither output is stuck (valid and not ready), and an
order is taken only in such a cycle (intake's `o.ready` is `adv`, asserted). `adv`
is computed here from the gate's output ports. In every `adv` cycle the wrapper records, from
the gate's ports, what the order taken in that cycle (if any) must be judged by:
  kill, tripped, kill_accounts   `ctl_kill`, `st_status.WATCHDOG_TRIPPED` (the
                                 watchdog as it stands that cycle), `ctl_kill_accounts`
  early                          no `commit` strobe in any earlier cycle since power-up
  bank                           `st_status.ACTIVE_BANK`
and shifts the record one place per `adv`, five places deep (stages 1..4 and the
output registers): the verdict (and accepted order) on the outputs is then always
beside the record of the cycle its order was taken in. Properties, for every order:
  kill     taken with the global kill switch or a tripped watchdog: its verdict is not
           ACCEPT; taken with its own account's kill bit set: it is not on `accepted`
           (the verdict carries no account; proved too: an ACCEPT verdict comes with
           its order on `accepted`, loaded in the same cycle);
  powerup  taken before the first commit strobe: verdict not ACCEPT, not on `accepted`
           (the commit itself may be held back by collar recomputes: still rejected);
  banks    every limits read of the order (account, symbol and position tables, and the
           book's collar bounds, BookBounds' bank select) is made with the bank that was
           active when it was taken, and the values stage 2 registers for it are those
           reads: ghosts follow each reader's enable and bank, and in stage 1 all equal
           the recorded bank. The tables and book reads happen only in the take cycle
           (stage 0); stages 2..4 compute from stage 2's registers, so one bank for the
           reads is one bank for every check;
  bounds   the collar bounds it reads (precomputed per bank and slot by BookBounds) are
           computed from the collar words its bank holds: no collar write to that bank
           and slot is newer than the last bounds recompute that saw it (`_bounds`).
           Without it `banks` would hold while the collar check used the old set. This
           found a bug (fixed in rtl/risk/collar.py): a commit held back by a collar
           recompute could fire in the cycle of another collar write, making that bank
           active with the write in its table and not in its bounds. The ghost models
           the recompute's fixed 2-cycle latency (select, then write); it does not
           prove the bounds arithmetic itself (tests/test_risk_collar.py simulates it).
The k-induction needs the property to hold at each stage, not only at the outputs (a
stalled pipeline can keep an unreachable stage-3 value for any number of steps): each
group adds helper invariants on the stage registers, with why next to them.
"""
from amaranth.hdl import Assert, Assume, Const, Module, Mux, ResetSignal, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In

from tickwire.rtl.config import BUILDS
from tickwire.rtl.layouts import AcctLimits, RiskCandidate
from tickwire.rtl.risk import checks as checks_mod, collar as collar_mod, \
    exposure as exposure_mod, gate as gate_mod, limits as limits_mod
from tickwire.rtl.risk.gate import RiskGate
from tickwire.rtl.risk.layouts import Prepared

from .observe import elaborate_recording

BOARD = BUILDS["board"]
DEPTH = 1            # the helper invariants make every property 1-inductive
#: Yosys commands after `prep`: the gate's RAMs (limits tables, exposure state, book
#: bounds) as registers. Kept as memories, Boolector's array reasoning did not finish
#: the induction step in 15 min even for 2 accounts x 2 slots; mapped, ~10 s at the
#: board's 8 x 8.
SCRIPT = ("memory_map", "opt -fast")
STAGES = 5           # adv shifts from the take cycle to the verdict on the outputs


def _view(made, i, layout, what):
    v = made[i]
    assert isinstance(v, data.View) and v.shape() == layout, f"{what}: not found at {i}"
    return v


def _bit(made, i, what):
    v = made[i]
    assert not isinstance(v, data.View) and len(v) == 1, f"{what}: not found at {i}"
    return v


class RiskProps(wiring.Component):
    """`props`: any of "kill", "powerup", "banks", "bounds". `depth`: places in the shadow (5 is
    the gate; another value states a wrong pipeline and must be refuted). `helpers`:
    False leaves out the helper invariants (for BMC, which does not need them: a
    failure is then the property's own)."""

    def __init__(self, props, accounts=BOARD.risk_accounts, slots=BOARD.risk_slots,
                 history=BOARD.risk_history, depth=STAGES, helpers=True):
        self.props, self.depth, self.helpers = tuple(props), depth, helpers
        self.gate = RiskGate(accounts, slots, history)
        # only the gate's inputs become ports: its outputs stay inside, so Yosys drops
        # the logic no property reads
        self._ins, members = [], {}
        for path, member, value in self.gate.signature.flatten(self.gate):
            if member.flow == In and not isinstance(value, Const):
                name = "__".join(str(p) for p in path)
                members[name] = In(member.shape)
                self._ins.append((name, value))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        g = self.gate
        A = g.accounts
        abits = max((A - 1).bit_length(), 1)
        gm, gmade, _ = elaborate_recording(g, gate_mod)
        subs = gm._named_submodules
        intake, book, checks = (subs[n][0] for n in ("intake", "book", "checks"))
        lm, lmade, _ = elaborate_recording(subs["limits"][0], limits_mod)
        cm, cmade, _ = elaborate_recording(subs["checks"][0], checks_mod)
        em, emade, _ = elaborate_recording(subs["exposure"][0], exposure_mod)
        bm, bmade, bfound = elaborate_recording(subs["book"][0], collar_mod)
        self._book = (bm, bmade, bfound)
        for name, mod in (("limits", lm), ("checks", cm), ("exposure", em), ("book", bm)):
            subs[name] = (mod, subs[name][1])
        m.submodules.gate = gm
        tables = [lm._named_submodules[n][0] for n in ("acct", "sym", "pos")]
        for name, value in self._ins:
            m.d.comb += value.eq(getattr(self, name))
        m.d.comb += Assume(~ResetSignal())

        # the stage registers (see each block's elaborate for the creation order)
        pending = _bit(gmade, 0, "gate: pending commit")
        loaded, loaded_r = _bit(lmade, 0, "limits: loaded"), _bit(lmade, 1, "limits: loaded_r")
        c1 = _view(cmade, 1, RiskCandidate, "checks: S1 candidate")
        c2 = _view(cmade, 4, RiskCandidate, "checks: S2 candidate")
        a2 = _view(cmade, 6, AcctLimits, "checks: S2 account limits")
        c4 = _view(emade, 2, Prepared, "exposure: S4 input")
        v4 = _bit(emade, 1, "exposure: S4 valid")
        pas = [s for s in emade if isinstance(s, data.View) and Value.cast(s).name in
               ("pass_r", "pass_a")]
        assert len(pas) == 2, "exposure: pass_r, pass_a not found"
        # the verdict's credit pass terms (`pass_*.c`, registered with `order_ok`) hold
        # only for an S4 order (an order, no reason 1..8): every ACCEPT needs one
        def ok_helper():
            return Assert(~(pas[0].c | pas[1].c) | (v4 & (c4.kind == 0) & (c4.reason == 0)),
                          "S4 pass terms without an order free of reasons 1..8")
        o3 = checks.o.payload

        # the pipeline advance, from the output ports
        vd, ac = g.verdicts, g.accepted
        adv = Signal()
        m.d.comb += adv.eq(~(vd.valid & ~vd.ready) & ~(ac.valid & ~ac.ready))
        # bookkeeping check: the stages (intake's o.ready feeds every stage's enable)
        # advance exactly when the shadow does
        m.d.comb += Assert(adv == intake.o.ready, "the gate advances without the shadow")

        # the shadow: what the order taken in an adv cycle is judged by
        rec = data.StructLayout({"kill": 1, "tripped": 1, "kacc": A, "early": 1, "bank": 1})
        committed = Signal()                       # a commit strobe in an earlier cycle
        with m.If(g.stb_commit):
            m.d.sync += committed.eq(1)
        now = Signal(rec)
        m.d.comb += [now.kill.eq(g.ctl_kill), now.tripped.eq(g.st_status[1]),
                     now.kacc.eq(g.ctl_kill_accounts), now.early.eq(~committed),
                     now.bank.eq(g.st_status[2])]
        sh = [now]
        for k in range(1, max(self.depth, 5) + 1):
            r = Signal(rec, name=f"sh{k}")
            with m.If(adv):
                m.d.sync += r.eq(sh[-1])
            sh.append(r)
        out = sh[self.depth]                       # beside the outputs

        def killed(r, account):
            own = (account < A) & r.kacc.bit_select(account[:abits], 1)
            return r.kill | r.tripped | own

        v_acc = vd.valid & vd.payload.accept
        p_adv = Signal()                           # the outputs were loaded last cycle
        m.d.sync += p_adv.eq(adv)
        groups = {                       # each: (the property's Asserts, helpers)
            "kill": lambda: ([
                Assert(~v_acc | ~(out.kill | out.tripped),
                       "ACCEPT although the kill switch or watchdog was on at the take"),
                Assert(~ac.valid | ~killed(out, ac.payload.account),
                       "accepted although killed (global, watchdog or its account)"),
                # so the account kill covers every ACCEPT verdict: one just decided
                # comes with its order on `accepted`
                Assert(~(p_adv & v_acc) | (ac.valid & (ac.payload.clordid == vd.payload.clordid)),
                       "an ACCEPT verdict without its order on accepted"),
            ], [
                # helpers: the kill flag intake computed travels with the order (S1, S2)
                # and becomes reason 1 (kill_switch) in S3 and S4, which no later check
                # overrides
                Assert(c1.kill == killed(sh[1], c1.order.account), "S1 kill flag"),
                Assert(c2.kill == killed(sh[2], c2.order.account), "S2 kill flag"),
                Assert(~killed(sh[3], o3.order.account) | (o3.reason == 1), "S3 reason"),
                Assert(~killed(sh[4], c4.order.account) | (c4.reason == 1), "S4 reason"),
                ok_helper(),
            ]),
            "powerup": lambda: ([
                Assert(~(v_acc & out.early), "ACCEPT for an order taken before any commit"),
                Assert(~(ac.valid & out.early), "accepted before any commit"),
            ], [
                # helpers: no limits are loaded (nor a commit pending) before the first
                # strobe; an early order reads `loaded` 0 with its limits (S1), so its
                # account reads disabled (S2), so reason 1 or 2 from S3 on
                Assert(committed | (~loaded & ~pending), "limits loaded without a commit"),
                Assert(~sh[1].early | ~loaded_r, "S1: early order read loaded limits"),
                Assert(~sh[2].early | ~a2.enabled, "S2: early order's account enabled"),
                Assert(~sh[3].early | (o3.reason != 0), "S3: early order passes"),
                Assert(~sh[4].early | (c4.reason != 0), "S4: early order passes"),
                ok_helper(),
            ]),
            "banks": lambda: self._banks(m, adv, g, tables, book, sh),
            "bounds": lambda: self._bounds(m, adv, g, intake, book),
        }
        for name in self.props:
            props, helpers = groups[name]()
            if not self.helpers:
                for dropped in helpers:
                    dropped._MustUse__silence = True    # left out on purpose
                helpers = []
            m.d.comb += props + helpers
        return m

    def _banks(self, m, adv, g, tables, book, sh):
        """Ghost per reader: the bank of its last enabled read (the data it holds)."""
        held = []
        for t in tables:
            b = Signal(name=f"read_bank_{len(held)}")
            with m.If(t.en):
                m.d.sync += b.eq(t.bank)
            held.append(b)
        bb = Signal(name="read_bank_book")
        with m.If(book.en):
            m.d.sync += bb.eq(book.bank)
        held.append(bb)
        active = g.st_status[2]
        return [Assert(~adv | (t.bank == active), "a table reads the shadow bank")
                for t in tables] + [
            Assert(~adv | (book.bank == active), "book bounds of the shadow bank"),
            *[Assert(h == sh[1].bank, "S1: limits read from another bank than at the take")
              for h in held],
        ], []


    def _bounds(self, m, adv, g, intake, book):
        """Ghost per (bank, slot): `stale`, the slot's collar words (sym_limits words 0
        and 2: bps flag, collar) written in that bank since its collar bounds were last
        written by a recompute that saw the write. A recompute selects its slot's
        parameters in cycle T (BookBounds' mirror, updated by writes up to T-1) and
        writes the bounds memory in T+2 (its r1 and r2 registers, which load every
        cycle), so a bounds write in T clears `stale` only when no write came in T-2,
        T-1 or T (w2, w1, wr). Property: an order is taken only with the bounds of its
        slot in the active bank not stale, i.e. its collar check and its symbol limits
        come from one set."""
        bm, made, found = self._book
        S = g.slots
        sbits = max((S - 1).bit_length(), 1)
        i = next(k for k, sig in enumerate(made) if getattr(sig, "name", None) == "e_slot")
        r1 = dict(zip(("valid", "dirty", "slot", "banks"), made[i + 1:i + 5]))
        assert [len(r1[k]) for k in ("valid", "dirty", "slot", "banks")] == [1, 1, sbits, 2], \
            "BookBounds: r1 registers not found after e_slot"
        r2 = {k: found[f"r2_{k}"] for k in ("valid", "dirty", "slot", "banks")}
        dirty = book._dirty
        # the dirty slot picked a cycle ahead of its recompute (its dirty bit cleared)
        picked = Signal(S, name="picked")
        m.d.comb += picked.eq(Mux(found["pick_v"], Const(1, S) << found["pick_slot"], 0))
        active = g.st_status[2]
        sym = g.w_sym_limits
        word, slot = sym.addr[:2], sym.addr[2:]
        ports = [bm._named_submodules[f"bounds{b}"][0].write_ports[0] for b in range(2)]
        out = []
        stale = [Signal(S, name=f"stale{b}") for b in range(2)]
        for b in range(2):
            wr = Signal(S, name=f"collar_wr{b}")
            w1, w2 = Signal(S, name=f"collar_w1_{b}"), Signal(S, name=f"collar_w2_{b}")
            m.d.comb += wr.eq(Mux(sym.w_stb & ((word == 0) | (word == 2)) & (active != b),
                                  Const(1, S) << slot, 0))
            m.d.sync += [w1.eq(wr), w2.eq(w1)]
            done = Signal(S, name=f"bounds_wr{b}")
            m.d.comb += done.eq(Mux(ports[b].en, Const(1, S) << ports[b].addr, 0))
            m.d.sync += stale[b].eq(wr | (stale[b] & ~(done & ~wr & ~w1 & ~w2)))
            in_flight = Signal(S, name=f"recompute{b}")
            m.d.comb += in_flight.eq(
                Mux(r1["valid"] & r1["dirty"] & r1["banks"][b], Const(1, S) << r1["slot"], 0)
                | Mux(r2["valid"] & r2["dirty"] & r2["banks"][b], Const(1, S) << r2["slot"], 0))
            out += [
                # helpers: a write is stale until a recompute that saw it is written;
                # a stale slot is the shadow bank's and has a recompute owed (its dirty
                # bit, its pick, or one in flight), which holds the commit (BookBounds.busy)
                Assert((w1 | w2) & ~stale[b] == 0, "a recent collar write not stale"),
                Assert(~stale[b].any() | (active != b), "active bank's bounds stale"),
                Assert(stale[b] & ~(dirty | picked | in_flight) == 0,
                       "stale slot with no recompute owed"),
                # the owed recompute of a write in T-1 is its dirty bit; of one in T-2,
                # the dirty bit, the pick that took it in T-1, or the r1 entry of a BBO
                # update of its slot in T-1
                Assert(w1 & ~dirty == 0, "last cycle's collar write not dirty"),
                Assert(w2 & ~(dirty | picked | Mux(r1["valid"] & r1["dirty"] & r1["banks"][b],
                                                   Const(1, S) << r1["slot"], 0))
                       == 0, "a collar write two cycles ago neither dirty, picked nor in r1"),
            ]
        # a recompute owed is for the shadow bank: no commit while one is in flight
        for r in (r1, r2):
            out.append(Assert(~(r["valid"] & r["dirty"]) | r["banks"].bit_select(~active, 1),
                              "a recompute in flight for the active bank"))
        take = adv & intake.o.valid
        cur = Mux(active, stale[1], stale[0])
        return [Assert(~take | ~cur.bit_select(intake.o.payload.order.slot[:sbits], 1),
                       "order taken with collar bounds older than its bank's collar words")], out


def component(props=("kill", "powerup", "banks", "bounds")):
    return RiskProps(props)


#: BMC steps for the late-kill refutation at 2 x 2: state clearing (4 cycles), an
#: order taken, kill engaged the next cycle, its ACCEPT on the outputs (found by step 10).
LATE_DEPTH = 12


def late_kill():
    """A deliberately wrong kill property: the record beside the outputs is taken one
    `adv` after the order (a 4-deep shadow), so a kill switch engaged the cycle after an
    accepted order's take is charged to it. BMC must refute it, which shows the harness
    can fail and that the proof pins the take cycle. 2 accounts x 2 slots, history 4:
    the counterexample needs the state cleared first (accounts x slots cycles), 64
    steps at the board's sizes."""
    return RiskProps(("kill",), accounts=2, slots=2, history=4, depth=STAGES - 1,
                     helpers=False)
