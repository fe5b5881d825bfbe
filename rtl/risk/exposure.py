"""ExposureState, stage 2 of the gate: the stateful checks 9..12 and the state they read.

Per account: open notional and the rate bucket's theoretical arrival time (`tat`);
per (account, slot): position and open buy/sell quantity; the duplicate history.
An accepted order books its exposure in the same cycle it is judged, so the next
order (one cycle behind) already sees it: no forwarding paths. Host events (fills,
cancels) release exposure, clamped at zero (counted in `ev_event_errors`); fills
move the position. After reset the state is zeroed, one entry per cycle, while
`clearing` holds the intake. The verdict and the accepted order are registered on
`verdicts` and `accepted`; the pipeline advances (`i.ready`) unless one is stuck.
"""
from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..layouts import Order, RiskChecked, RiskReject, Verdict, SIDE_BUY
from .duplicates import DuplicateHistory

_AcctState = data.StructLayout({"open": 64, "tat": 64})
_SlotState = data.StructLayout({"pos": signed(64), "obuy": 64, "osell": 64})


class ExposureState(wiring.Component):
    def __init__(self, accounts, slots, history, reasons):
        self.accounts, self.slots, self.history = accounts, slots, history
        super().__init__({
            "i": In(stream.Signature(RiskChecked)),
            "verdicts": Out(stream.Signature(Verdict)),
            "accepted": Out(stream.Signature(Order)),
            "rejects": Out(stream.Signature(RiskReject, always_ready=True)),
            "clearing": Out(1, init=1),
            "ev_orders": Out(1), "ev_accepts": Out(1), "ev_rejects": Out(reasons),
            "ev_events": Out(1), "ev_event_errors": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        A, S = self.accounts, self.slots
        abits, sbits = max((A - 1).bit_length(), 1), max((S - 1).bit_length(), 1)
        adv = Signal()
        m.d.comb += [adv.eq(~(self.verdicts.valid & ~self.verdicts.ready)
                            & ~(self.accepted.valid & ~self.accepted.ready)),
                     self.i.ready.eq(adv)]
        with m.If(self.verdicts.ready):
            m.d.sync += self.verdicts.valid.eq(0)
        with m.If(self.accepted.ready):
            m.d.sync += self.accepted.valid.eq(0)

        acct_st = Memory(shape=_AcctState, depth=A, init=[])
        slot_st = Memory(shape=_SlotState, depth=A * S, init=[])
        m.submodules.acct_st, m.submodules.slot_st = acct_st, slot_st
        m.submodules.history = hist = DuplicateHistory(self.history)
        ast_rd, ast_wr = acct_st.read_port(domain="comb"), acct_st.write_port()
        sst_rd, sst_wr = slot_st.read_port(domain="comb"), slot_st.write_port()

        c = self.i.payload
        s2 = c.order
        a2, pi = s2.account[:abits], Cat(s2.slot[:sbits], s2.account[:abits])
        buy2 = s2.side == SIDE_BUY
        m.d.comb += [ast_rd.addr.eq(a2), ast_wr.addr.eq(a2), sst_rd.addr.eq(pi),
                     sst_wr.addr.eq(pi), ast_wr.data.eq(ast_rd.data), sst_wr.data.eq(sst_rd.data),
                     hist.order.eq(s2), hist.t.eq(c.t), hist.window.eq(c.window)]
        cur_open, cur_tat = ast_rd.data.open, ast_rd.data.tat
        cur_pos, cur_ob, cur_os = sst_rd.data.pos, sst_rd.data.obuy, sst_rd.data.osell
        reason = Signal(4)
        m.d.comb += reason.eq(c.reason)
        with m.If(c.reason == 0):
            with m.If(cur_open + c.notional > c.credit):
                m.d.comb += reason.eq(9)                                    # credit
            with m.Elif(Mux(buy2, cur_pos + cur_ob + s2.qty > c.long,
                            cur_os + s2.qty - cur_pos > c.short)):
                m.d.comb += reason.eq(10)                                   # position
            with m.Elif(c.burst0 | (c.t + c.tau < cur_tat)):
                m.d.comb += reason.eq(11)                                   # rate
            with m.Elif(hist.hit):
                m.d.comb += reason.eq(12)                                   # duplicate

        is_order = self.i.valid & (c.kind == 0)
        with m.If(adv & is_order):
            m.d.comb += self.ev_orders.eq(1)
            v = self.verdicts.payload
            m.d.sync += [self.verdicts.valid.eq(1), v.clordid.eq(s2.clordid),
                         v.accept.eq(reason == 0), v.reason.eq(reason), v.ts.eq(c.ts)]
            with m.If(reason == 0):
                m.d.comb += self.ev_accepts.eq(1)
            with m.Else():
                m.d.comb += self.ev_rejects.eq(
                    Cat(reason == i for i in range(1, len(self.ev_rejects) + 1)))
        r = self.rejects.payload
        m.d.comb += [self.rejects.valid.eq(adv & is_order & (reason != 0)),
                     r.clordid.eq(s2.clordid), r.reason.eq(reason), r.account.eq(s2.account),
                     r.slot.eq(s2.slot), r.ns.eq(c.ts.ns)]
        with m.If(adv & is_order & (reason == 0)):
            m.d.sync += [self.accepted.valid.eq(1), self.accepted.payload.eq(s2)]
            m.d.comb += [ast_wr.en.eq(1), sst_wr.en.eq(1), hist.push.eq(1),
                         ast_wr.data.open.eq(cur_open + c.notional),
                         ast_wr.data.tat.eq(Mux(c.t > cur_tat, c.t, cur_tat) + c.interval)]
            with m.If(buy2):
                m.d.comb += sst_wr.data.obuy.eq(cur_ob + s2.qty)
            with m.Else():
                m.d.comb += sst_wr.data.osell.eq(cur_os + s2.qty)

        # host events: release exposure, clamp at zero, fills move the position
        with m.If(adv & self.i.valid & (c.kind != 0)):
            with m.If((c.kind == 3) | ~c.ok_idx):
                m.d.comb += self.ev_event_errors.eq(1)
            with m.Else():
                m.d.comb += self.ev_events.eq(1)
                over_n = c.notional > cur_open
                cur_k = Mux(buy2, cur_ob, cur_os)
                over_q = s2.qty > cur_k
                m.d.comb += [ast_wr.en.eq(1), sst_wr.en.eq(1),
                             ast_wr.data.open.eq(Mux(over_n, 0, cur_open - c.notional))]
                new_k = Mux(over_q, 0, cur_k - s2.qty)
                with m.If(buy2):
                    m.d.comb += sst_wr.data.obuy.eq(new_k)
                with m.Else():
                    m.d.comb += sst_wr.data.osell.eq(new_k)
                with m.If(c.kind == 1):
                    m.d.comb += sst_wr.data.pos.eq(Mux(buy2, cur_pos + s2.qty, cur_pos - s2.qty))
                with m.If(over_n | over_q):
                    m.d.comb += self.ev_event_errors.eq(1)

        # after reset, zero positions, exposure and buckets before taking any input
        clr_idx = Signal(range(A * S))
        with m.If(self.clearing):
            m.d.comb += [sst_wr.addr.eq(clr_idx), sst_wr.data.eq(0), sst_wr.en.eq(1),
                         ast_wr.addr.eq(clr_idx[:abits]), ast_wr.data.eq(0), ast_wr.en.eq(1)]
            m.d.sync += clr_idx.eq(clr_idx + 1)
            with m.If(clr_idx == A * S - 1):
                m.d.sync += self.clearing.eq(0)
        return m
