"""RiskGate: the pre-trade risk gate, five cycles from order to verdict, one order per cycle.

Pipeline at 156.25 MHz (an order handshaken in cycle c has its verdict valid in c+5;
no stage holds more than one DSP multiply or one carry chain, rtl/risk/arith.py):
  c    pick the input (order port > order window > host events); capture `now`,
       `now_ns` (the hardware clock's 64-bit ns), the kill switch and this slot's
       book entry with its collar bounds (rtl/risk/collar.py); start the limits
       reads from the *active* bank (one order reads one whole set, never a mix)
  c+1..c+3  stateless checks 1..8 and the thresholds of the stateful ones
       (rtl/risk/checks.py): notional and price x 10000 in DSP stages, collar bounds
       precomputed per slot, so every check is one compare; c+1 also registers, from
       the limits read, t - window (the duplicate window's low end), ~t, t - interval
       and burst x interval (DSPs), so c+2 starts from registers
  c+2  also: the order's state read from LUT RAM (rtl/risk/exposure.py), registered
       with the writes of the orders ahead of it forwarded; the duplicate match's
       equalities and window compares against the history (rtl/risk/duplicates.py),
       each compare one two-operand chain from registers
  c+3  also: checks 9..11 decided against the state for both outcomes of the order
       ahead (rtl/risk/outcomes.py), each one carry chain from registers; the
       duplicate match's OR over the entries
  c+4  stateful checks 9..12 (rtl/risk/exposure.py): each picks its outcome with the
       previous verdict, no compare in this loop; an accepted order books its
       exposure in the same cycle, forwarded to the order behind it (the state RAM
       write ignores a stall: a stalled stage 4 rewrites the same value)
  c+5  verdict (and accepted order) registered on the outputs
Orders go one per cycle, back to back, also to the same account and slot; a host
event (fill, cancel) is followed by one idle intake cycle.
An order sees the kill-switch controls of its own cycle, watchdog trips and commits
of earlier cycles, and the book as it was 3 cycles before (the bounds pipeline). A
commit waits while collar bounds of the shadow bank are being recomputed (a few
cycles after the host's last collar write), and holds the intake meanwhile. The
output streams may back-pressure; the whole pipeline then stalls (state never
advances without a decision going out).

Sub-components, one per file: RiskIntake (c), BookBounds and LimitTables (the
lookups started in c), OrderChecks (c+1..c+3), ExposureState with its Outcomes and
DuplicateHistory (c+2..c+4 and the outputs), Watchdog, RejectRing. This component only
wires them to its ports and register members.

Limits live in block RAM, two banks each; host writes and reads go to the shadow
bank and `commit` swaps banks in one cycle. Positions, open exposure, buckets are
LUT RAM and the duplicate history registers, read and written by consecutive orders.
"""
from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..layouts import BboUpdate, HostEvent, Order, Timestamp, Verdict
from ..regmap.binding import register_members
from . import regs
from .checks import OrderChecks
from .collar import BookBounds
from .duplicates import DuplicateHistory
from .exposure import ExposureState
from .intake import RiskIntake
from .limits import LimitTables
from .rejects import RejectRing
from .watchdog import Watchdog

N_REASONS = len(regs.REASONS)


class RiskGate(wiring.Component):
    def __init__(self, accounts=8, slots=16, history=regs.HISTORY):
        assert accounts & (accounts - 1) == 0 and slots & (slots - 1) == 0
        assert accounts <= 32
        self.accounts, self.slots, self.history = accounts, slots, history
        self.registers = regs.block(accounts, slots)
        super().__init__({
            "orders": In(stream.Signature(Order)),
            "events": In(stream.Signature(HostEvent)),
            "bbo": In(stream.Signature(BboUpdate, always_ready=True)),
            "now": In(Timestamp),
            "now_ns": In(64),
            "verdicts": Out(stream.Signature(Verdict)),
            "accepted": Out(stream.Signature(Order)),
            **register_members(self.registers),   # registers and windows (regs.py)
        })

    def elaborate(self, platform):
        m = Module()
        A, S = self.accounts, self.slots
        m.submodules.watchdog = wd = Watchdog()
        m.submodules.intake = intake = RiskIntake(A, S, regs.ORDER_WORDS)
        m.submodules.book = book = BookBounds(S)
        m.submodules.limits = limits = LimitTables(A, S)
        m.submodules.checks = checks = OrderChecks()
        m.submodules.exposure = exposure = ExposureState(A, S, N_REASONS)
        m.submodules.history = hist = DuplicateHistory(self.history)
        m.submodules.rejects = rejects = RejectRing(regs.LAST_REJECTS)

        m.d.comb += [wd.heartbeat.eq(self.stb_heartbeat), wd.release.eq(self.stb_watchdog_release),
                     wd.cycles.eq(self.ctl_watchdog_cycles)]

        # a commit waits for the shadow bank's collar bounds; the intake waits with it
        pending, fire = Signal(), Signal()
        m.d.comb += fire.eq((self.stb_commit | pending) & ~book.busy)
        with m.If(fire):
            m.d.sync += pending.eq(0)
        with m.Elif(self.stb_commit):
            m.d.sync += pending.eq(1)

        # a bubble behind each host event: the state stage decides an order's checks
        # a cycle early for both outcomes of the order ahead (rtl/risk/outcomes.py),
        # which an event's clamped release is not
        gap = Signal()
        with m.If(intake.o.ready):
            m.d.sync += gap.eq(intake.o.valid & (intake.o.payload.kind != 0))

        # stage 0: the input, and the lookups for it (registered for stage 1)
        wiring.connect(m, wiring.flipped(self.orders), intake.orders)
        wiring.connect(m, wiring.flipped(self.events), intake.events)
        wiring.connect(m, wiring.flipped(self.w_order), intake.window)
        m.d.comb += [intake.submit.eq(self.stb_order_submit),
                     intake.submit_kind.eq(self.stb_order_submit_data),
                     intake.kill.eq(self.ctl_kill), intake.kill_accounts.eq(self.ctl_kill_accounts),
                     intake.tripped.eq(wd.tripped), intake.now.eq(self.now),
                     intake.hold.eq(exposure.clearing | pending | gap),
                     self.ev_host_dropped.eq(intake.host_dropped)]
        cand, adv = intake.o.payload.order, intake.o.ready
        wiring.connect(m, wiring.flipped(self.bbo), book.bbo)
        sym = self.w_sym_limits
        m.d.comb += [book.slot.eq(cand.slot), book.bank.eq(limits.active), book.en.eq(adv),
                     book.sym_stb.eq(sym.w_stb), book.sym_addr.eq(sym.addr),
                     book.sym_data.eq(sym.w_data), book.shadow.eq(~limits.active),
                     self.ev_bbo_errors.eq(book.bad_slot)]
        for name, port in (("acct", limits.w_acct), ("sym", limits.w_sym), ("pos", limits.w_pos)):
            wiring.connect(m, wiring.flipped(getattr(self, f"w_{name}_limits")), port)
        m.d.comb += [limits.commit.eq(fire), limits.account.eq(cand.account),
                     limits.slot.eq(cand.slot), limits.en.eq(adv)]

        # stages 1..3: stateless checks and thresholds; stage 4: state, verdict
        wiring.connect(m, intake.o, checks.i)
        m.d.comb += [checks.t.eq(self.now_ns), checks.book.eq(book.entry),
                     checks.acct.eq(limits.acct), checks.sym.eq(limits.sym),
                     checks.pos.eq(limits.pos)]
        wiring.connect(m, checks.o, exposure.i)
        m.d.comb += [exposure.ahead.eq(checks.ahead), exposure.ahead1.eq(checks.ahead1),
                     exposure.ahead_valid.eq(checks.ahead_valid)]
        p3 = checks.o.payload
        m.d.comb += [hist.ahead.eq(checks.ahead), hist.ahead_nt.eq(checks.ahead_nt),
                     hist.ahead_lo.eq(checks.ahead_lo), hist.order.eq(p3.order), hist.t.eq(p3.t),
                     hist.adv.eq(checks.o.ready), hist.prev_order.eq(exposure.prev_order),
                     hist.prev_t.eq(exposure.prev_t), hist.push.eq(exposure.push),
                     exposure.dup_others.eq(hist.others), exposure.dup_oldest.eq(hist.oldest),
                     exposure.dup_prev.eq(hist.match_prev), exposure.dup_if_rej.eq(hist.if_rej),
                     exposure.dup_if_acc.eq(hist.if_acc)]
        wiring.connect(m, exposure.verdicts, wiring.flipped(self.verdicts))
        wiring.connect(m, exposure.accepted, wiring.flipped(self.accepted))
        m.d.comb += [self.ev_orders.eq(exposure.ev_orders), self.ev_accepts.eq(exposure.ev_accepts),
                     self.ev_rejects.eq(exposure.ev_rejects), self.ev_events.eq(exposure.ev_events),
                     self.ev_event_errors.eq(exposure.ev_event_errors)]

        wiring.connect(m, exposure.rejects, rejects.i)
        wiring.connect(m, wiring.flipped(self.w_last_rejects), rejects.window)
        m.d.comb += [self.st_reject_head.eq(rejects.head),
                     self.st_status.eq(Cat(self.ctl_kill | wd.tripped, wd.tripped, limits.active,
                                           intake.host_pending))]
        return m
