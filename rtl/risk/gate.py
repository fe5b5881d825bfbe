"""RiskGate: the pre-trade risk gate, three cycles from order to verdict, one order per cycle.

Pipeline (an order handshaken in cycle c has its verdict valid in cycle c+3):
  c    pick the input (order port > order window > host events); capture `now`, the
       kill switch and this slot's book from the BBO shadow; start the limits reads
       from the *active* bank (so one order reads one whole set, never a mix)
  c+1  stateless checks 1..8 (kill .. price_collar), notional, bucket tolerance
  c+2  stateful checks 9..12 against the live state, pick the first failing reason,
       and book an accepted order's exposure in the same cycle, so the next order
       (one cycle behind) already sees it: no forwarding paths needed
  c+3  verdict (and accepted order) registered on the outputs
An order sees book updates, commits and watchdog trips of earlier cycles, and the
kill-switch controls of its own cycle. The output streams may back-pressure; the
whole pipeline then stalls (state never advances without a decision going out).

Sub-components, one per file: RiskIntake (stage 0), BookShadow and LimitTables (the
lookups started in c), OrderChecks (stage 1), ExposureState with its
DuplicateHistory (stage 2 and the outputs), Watchdog, RejectRing. This component
only wires them to its ports and register members.

Book state comes from the book's BBO update stream (always ready): the gate keeps its
own per-slot shadow of best bid/ask qty and px, halted and unreliable in registers,
so a lookup costs no cycle. Limits live in block RAM, two banks each; host writes and
reads go to the shadow bank and `commit` swaps banks in one cycle. Positions, open
exposure, buckets and the duplicate history are registers (small account x slot
counts) because they are read and written by consecutive orders.
"""
from amaranth.hdl import Cat, Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..layouts import BboUpdate, HostEvent, Order, Timestamp, Verdict
from ..regmap.binding import register_members
from . import regs
from .book_shadow import BookShadow
from .checks import OrderChecks
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
            "verdicts": Out(stream.Signature(Verdict)),
            "accepted": Out(stream.Signature(Order)),
            **register_members(self.registers),   # registers and windows (regs.py)
        })

    def elaborate(self, platform):
        m = Module()
        A, S = self.accounts, self.slots
        m.submodules.watchdog = wd = Watchdog()
        m.submodules.intake = intake = RiskIntake(A, S, regs.ORDER_WORDS)
        m.submodules.book = book = BookShadow(S)
        m.submodules.limits = limits = LimitTables(A, S)
        m.submodules.checks = checks = OrderChecks()
        m.submodules.exposure = exposure = ExposureState(A, S, self.history, N_REASONS)
        m.submodules.rejects = rejects = RejectRing(regs.LAST_REJECTS)

        m.d.comb += [wd.heartbeat.eq(self.stb_heartbeat), wd.release.eq(self.stb_watchdog_release),
                     wd.cycles.eq(self.ctl_watchdog_cycles)]

        # stage 0: the input, and the lookups for it (registered for stage 1)
        wiring.connect(m, wiring.flipped(self.orders), intake.orders)
        wiring.connect(m, wiring.flipped(self.events), intake.events)
        wiring.connect(m, wiring.flipped(self.w_order), intake.window)
        m.d.comb += [intake.submit.eq(self.stb_order_submit),
                     intake.submit_kind.eq(self.stb_order_submit_data),
                     intake.kill.eq(self.ctl_kill), intake.kill_accounts.eq(self.ctl_kill_accounts),
                     intake.tripped.eq(wd.tripped), intake.now.eq(self.now),
                     intake.hold.eq(exposure.clearing), self.ev_host_dropped.eq(intake.host_dropped)]
        cand, adv = intake.o.payload.order, intake.o.ready
        wiring.connect(m, wiring.flipped(self.bbo), book.bbo)
        m.d.comb += [book.slot.eq(cand.slot), book.en.eq(adv), self.ev_bbo_errors.eq(book.bad_slot)]
        for name, port in (("acct", limits.w_acct), ("sym", limits.w_sym), ("pos", limits.w_pos)):
            wiring.connect(m, wiring.flipped(getattr(self, f"w_{name}_limits")), port)
        m.d.comb += [limits.commit.eq(self.stb_commit), limits.account.eq(cand.account),
                     limits.slot.eq(cand.slot), limits.en.eq(adv)]

        # stage 1: stateless checks; stage 2: state, verdict
        wiring.connect(m, intake.o, checks.i)
        m.d.comb += [checks.book.eq(book.entry), checks.acct.eq(limits.acct),
                     checks.sym.eq(limits.sym), checks.pos.eq(limits.pos)]
        wiring.connect(m, checks.o, exposure.i)
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
