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

Book state comes from the book's BBO update stream (always ready): the gate keeps its
own per-slot shadow of best bid/ask qty and px, halted and unreliable in registers,
so a lookup costs no cycle. Limits live in block RAM, two banks each; host writes and
reads go to the shadow bank and `commit` swaps banks in one cycle. Positions, open
exposure, buckets and the duplicate history are registers (small account x slot
counts) because they are read and written by consecutive orders.
"""
from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..layouts import BboUpdate, HostEvent, Order, Timestamp, Verdict, SIDE_BUY
from ..regmap.binding import register_members
from . import regs

N_REASONS = len(regs.REASONS)


_BookEntry = data.StructLayout({"bid_px": 32, "bid_qty": 32, "ask_px": 32, "ask_qty": 32,
                                "halted": 1, "unreliable": 1})
_AcctState = data.StructLayout({"open": 64, "tat": 64})
_SlotState = data.StructLayout({"pos": signed(64), "obuy": 64, "osell": 64})


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

    # -- helpers -----------------------------------------------------------------------
    def _table(self, m, name, entries, words, win, index, adv, active):
        """Two-bank limits table, one RAM per word column. Returns the order-side
        read data (one Signal per column, valid the cycle after `adv`)."""
        abits = (entries - 1).bit_length()
        wbits = (words - 1).bit_length()
        w_idx = win.addr[wbits:] if wbits else win.addr
        w_col = win.addr[:wbits] if wbits else Const(0, 1)
        col_r = Signal(max(wbits, 1), name=f"{name}_col_r")
        m.d.sync += col_r.eq(w_col)
        cols = []
        host_data = []
        for c in range(words):
            mem = Memory(shape=32, depth=2 * entries, init=[])
            m.submodules[f"{name}_{c}"] = mem
            rd = mem.read_port()
            hr = mem.read_port()
            wr = mem.write_port()
            m.d.comb += [
                rd.addr.eq(Cat(index[:abits], active) if abits else active), rd.en.eq(adv),
                hr.addr.eq(Cat(w_idx, ~active) if abits else ~active),
                wr.addr.eq(Cat(w_idx, ~active) if abits else ~active), wr.data.eq(win.w_data),
                wr.en.eq(win.w_stb & (w_col == c)),
            ]
            cols.append(rd.data)
            host_data.append(hr.data)
        m.d.comb += win.r_data.eq(Array(host_data)[col_r])
        return cols

    def elaborate(self, platform):
        m = Module()
        A, S, H = self.accounts, self.slots, self.history
        abits, sbits = max((A - 1).bit_length(), 1), max((S - 1).bit_length(), 1)

        # -- output stage and the pipeline advance -----------------------------------
        v_busy = self.verdicts.valid & ~self.verdicts.ready
        a_busy = self.accepted.valid & ~self.accepted.ready
        adv = Signal()
        m.d.comb += adv.eq(~v_busy & ~a_busy)
        with m.If(self.verdicts.ready):
            m.d.sync += self.verdicts.valid.eq(0)
        with m.If(self.accepted.ready):
            m.d.sync += self.accepted.valid.eq(0)

        # -- limits banks --------------------------------------------------------------
        active = Signal()
        loaded = Signal()               # a set was committed since reset
        with m.If(self.stb_commit):
            m.d.sync += [active.eq(~active), loaded.eq(1)]

        # -- BBO shadow ----------------------------------------------------------------
        book = Memory(shape=_BookEntry, depth=S, init=[])
        m.submodules.book = book
        bk_wr, bk_rd = book.write_port(), book.read_port(domain="comb")
        u = self.bbo.payload
        m.d.comb += [bk_wr.addr.eq(u.slot[:sbits]), bk_wr.data.bid_px.eq(u.bid_px),
                     bk_wr.data.bid_qty.eq(u.bid_qty), bk_wr.data.ask_px.eq(u.ask_px),
                     bk_wr.data.ask_qty.eq(u.ask_qty), bk_wr.data.halted.eq(u.halted),
                     bk_wr.data.unreliable.eq(u.unreliable)]
        bk_valid = Signal(S)            # slot written since reset (else: no book)
        with m.If(self.bbo.valid):
            with m.If(u.slot < S):
                m.d.comb += bk_wr.en.eq(1)
                m.d.sync += bk_valid.bit_select(u.slot[:sbits], 1).eq(1)
            with m.Else():
                m.d.comb += self.ev_bbo_errors.eq(1)

        # -- watchdog ------------------------------------------------------------------
        wd_count = Signal(32)
        tripped = Signal()
        with m.If(self.stb_heartbeat | self.stb_watchdog_release | (self.ctl_watchdog_cycles == 0)):
            m.d.sync += wd_count.eq(0)
        with m.Elif(~tripped):
            m.d.sync += wd_count.eq(wd_count + 1)
            with m.If(wd_count + 1 >= self.ctl_watchdog_cycles):
                m.d.sync += tripped.eq(1)
        with m.If(self.stb_watchdog_release):
            m.d.sync += tripped.eq(0)

        # -- order window (host staging) -------------------------------------------------
        stage = Array(Signal(32, name=f"stage_{i}") for i in range(regs.ORDER_WORDS))
        win = self.w_order
        with m.If(win.w_stb):
            m.d.sync += stage[win.addr].eq(win.w_data)
        m.d.sync += win.r_data.eq(stage[win.addr])
        host_pending = Signal()
        host_kind = Signal(2)

        m.d.comb += [self.st_status.eq(Cat(self.ctl_kill | tripped, tripped, active,
                                           host_pending))]

        # -- stage 0: input selection ----------------------------------------------------
        in_valid = Signal()
        in_kind = Signal(2)             # 0 order, 1 fill, 2 cancel, 3 bad
        inp = Signal(Order)
        sel_host = ~self.orders.valid & host_pending
        sel_event = ~self.orders.valid & ~host_pending & self.events.valid
        clearing = Signal(init=1)       # zeroing the state RAMs after reset
        take = Signal()
        m.d.comb += [take.eq(adv & ~clearing), self.orders.ready.eq(take),
                     self.events.ready.eq(take & sel_event)]
        ev = self.events.payload
        with m.If(self.orders.valid):
            m.d.comb += [in_valid.eq(1), inp.eq(self.orders.payload)]
        with m.Elif(host_pending):
            m.d.comb += [in_valid.eq(1), in_kind.eq(host_kind),
                         inp.clordid.eq(Cat(stage[0], stage[1])),
                         inp.account.eq(stage[2][0:8]), inp.slot.eq(stage[2][8:16]),
                         inp.side.eq(stage[2][16:18]), inp.tif.eq(stage[2][18:20]),
                         inp.qty.eq(stage[3]), inp.price.eq(stage[4])]
        with m.Elif(self.events.valid):
            m.d.comb += [in_valid.eq(1), in_kind.eq(Mux(ev.kind == 0, 3, ev.kind)),
                         inp.clordid.eq(ev.clordid), inp.account.eq(ev.account),
                         inp.slot.eq(ev.slot), inp.side.eq(ev.side), inp.qty.eq(ev.qty),
                         inp.price.eq(ev.price)]
        with m.If(self.stb_order_submit):
            with m.If(host_pending & ~(take & sel_host)):
                m.d.comb += self.ev_host_dropped.eq(1)
            with m.Else():
                m.d.sync += [host_pending.eq(1), host_kind.eq(self.stb_order_submit_data)]
        with m.Elif(take & sel_host):
            m.d.sync += host_pending.eq(0)

        in_acct_ok = inp.account < A
        in_slot_ok = inp.slot < S
        ai, si = inp.account[:abits], inp.slot[:sbits]
        kill_now = self.ctl_kill | tripped | (in_acct_ok & self.ctl_kill_accounts.bit_select(ai, 1))

        acct = self._table(m, "acct", A, regs.ACCT_WORDS, self.w_acct_limits, ai, adv, active)
        sym = self._table(m, "sym", S, regs.SYM_WORDS, self.w_sym_limits, si, adv, active)
        posl = self._table(m, "pos", A * S, regs.POS_WORDS, self.w_pos_limits, Cat(si, ai),
                           adv, active)

        # -- stage 1 registers -----------------------------------------------------------
        s1_valid, s1_kind = Signal(), Signal(2)
        s1 = Signal(Order)
        s1_ts = Signal(Timestamp)
        s1_kill, s1_acct_ok, s1_slot_ok = Signal(), Signal(), Signal()
        s1_book = Signal(_BookEntry)
        m.d.comb += bk_rd.addr.eq(si)
        with m.If(adv):
            m.d.sync += [s1_valid.eq(in_valid & ~clearing), s1_kind.eq(in_kind), s1.eq(inp),
                         s1_ts.eq(self.now), s1_kill.eq(kill_now), s1_acct_ok.eq(in_acct_ok),
                         s1_slot_ok.eq(in_slot_ok), s1_book.eq(bk_rd.data),
                         s1_book.unreliable.eq(bk_rd.data.unreliable | ~bk_valid.bit_select(si, 1))]

        # -- stage 1: stateless checks ---------------------------------------------------
        s1_loaded = Signal()
        with m.If(adv):
            m.d.sync += s1_loaded.eq(loaded)
        a_enabled = acct[0][0] & s1_loaded
        a_max_notional = Cat(acct[1], acct[2])
        a_credit = Cat(acct[3], acct[4])
        a_interval, a_burst, a_window = acct[5], acct[6][:16], acct[7]
        y_enabled, y_restricted, y_allow_nb, y_bps = (sym[0][i] for i in range(4))
        y_max_qty, y_collar = sym[1], sym[2]
        p_long, p_short = posl[0], posl[1]

        s1_bid_px, s1_bid_qty = s1_book.bid_px, s1_book.bid_qty
        s1_ask_px, s1_ask_qty = s1_book.ask_px, s1_book.ask_qty
        s1_halted, s1_unrel = s1_book.halted, s1_book.unreliable
        buy = s1.side == SIDE_BUY
        notional = Signal(64)
        m.d.comb += notional.eq(s1.qty * s1.price)
        missing = s1_unrel | Mux(buy, s1_ask_qty == 0, s1_bid_qty == 0)
        px4 = s1.price * 10000
        buy_bad = Mux(y_bps, px4 > s1_ask_px * (10000 + y_collar),
                      s1.price > s1_ask_px + y_collar)
        sell_bad = Mux(y_bps, px4 < s1_bid_px * (Const(10000, signed(34)) - y_collar),
                       s1.price + y_collar < s1_bid_px)
        checks = [
            s1_kill,
            ~s1_acct_ok | ~a_enabled,
            ~s1_slot_ok | ~y_enabled | y_restricted,
            s1_halted,
            missing & ~y_allow_nb,
            (s1.qty == 0) | (s1.qty > y_max_qty),
            notional > a_max_notional,
            ~missing & Mux(buy, buy_bad, sell_bad),
        ]
        reason1 = Signal(4)
        for code, bad in reversed(list(enumerate(checks, 1))):
            with m.If(bad):
                m.d.comb += reason1.eq(code)     # last assignment wins: lowest code first

        # -- stage 2 registers -----------------------------------------------------------
        s2_valid, s2_kind = Signal(), Signal(2)
        s2 = Signal(Order)
        s2_ts = Signal(Timestamp)
        s2_ok_idx = Signal()
        s2_reason1 = Signal(4)
        s2_notional = Signal(64)
        s2_t = Signal(64)
        s2_credit, s2_long, s2_short = Signal(64), Signal(32), Signal(32)
        s2_interval, s2_tau, s2_burst0, s2_window = Signal(32), Signal(48), Signal(), Signal(32)
        with m.If(adv):
            m.d.sync += [s2_valid.eq(s1_valid), s2_kind.eq(s1_kind), s2.eq(s1), s2_ts.eq(s1_ts),
                         s2_ok_idx.eq(s1_acct_ok & s1_slot_ok), s2_reason1.eq(reason1),
                         s2_notional.eq(notional),
                         s2_t.eq(s1_ts.sec * 1_000_000_000 + s1_ts.ns),
                         s2_credit.eq(a_credit), s2_long.eq(p_long), s2_short.eq(p_short),
                         s2_interval.eq(a_interval), s2_tau.eq((a_burst - 1) * a_interval),
                         s2_burst0.eq(a_burst == 0), s2_window.eq(a_window)]

        # -- stage 2: stateful checks and state update -----------------------------------
        acct_st = Memory(shape=_AcctState, depth=A, init=[])
        slot_st = Memory(shape=_SlotState, depth=A * S, init=[])
        m.submodules.acct_st, m.submodules.slot_st = acct_st, slot_st
        ast_rd, ast_wr = acct_st.read_port(domain="comb"), acct_st.write_port()
        sst_rd, sst_wr = slot_st.read_port(domain="comb"), slot_st.write_port()
        h_valid = [Signal(name=f"h_valid_{i}") for i in range(H)]
        h_ord = [Signal(Order, name=f"h_ord_{i}") for i in range(H)]
        h_t = [Signal(64, name=f"h_t_{i}") for i in range(H)]
        h_head = Signal(range(H))

        a2, s2i = s2.account[:abits], s2.slot[:sbits]
        pi = Cat(s2i, a2)
        buy2 = s2.side == SIDE_BUY
        m.d.comb += [ast_rd.addr.eq(a2), ast_wr.addr.eq(a2), sst_rd.addr.eq(pi),
                     sst_wr.addr.eq(pi), ast_wr.data.eq(ast_rd.data), sst_wr.data.eq(sst_rd.data)]
        cur_open, cur_tat = ast_rd.data.open, ast_rd.data.tat
        cur_pos, cur_ob, cur_os = sst_rd.data.pos, sst_rd.data.obuy, sst_rd.data.osell
        credit_bad = cur_open + s2_notional > s2_credit
        pos_bad = Mux(buy2, cur_pos + cur_ob + s2.qty > s2_long,
                      cur_os + s2.qty - cur_pos > s2_short)
        rate_bad = s2_burst0 | (s2_t + s2_tau < cur_tat)
        dup_hits = []
        for i in range(H):
            e = h_ord[i]
            same = ((e.account == s2.account) & (e.slot == s2.slot) & (e.side == s2.side) &
                    (e.qty == s2.qty) & (e.price == s2.price))
            age = (s2_t - h_t[i])[:64]
            dup_hits.append(h_valid[i] & ((e.clordid == s2.clordid) | (same & (age < s2_window))))
        dup_bad = Cat(*dup_hits).any()
        reason = Signal(4)
        m.d.comb += reason.eq(s2_reason1)
        with m.If(s2_reason1 == 0):
            with m.If(credit_bad):
                m.d.comb += reason.eq(9)
            with m.Elif(pos_bad):
                m.d.comb += reason.eq(10)
            with m.Elif(rate_bad):
                m.d.comb += reason.eq(11)
            with m.Elif(dup_bad):
                m.d.comb += reason.eq(12)

        is_order = s2_valid & (s2_kind == 0)
        accept = is_order & (reason == 0)
        with m.If(adv & is_order):
            m.d.comb += self.ev_orders.eq(1)
            m.d.sync += [self.verdicts.valid.eq(1), self.verdicts.payload.clordid.eq(s2.clordid),
                         self.verdicts.payload.accept.eq(reason == 0),
                         self.verdicts.payload.reason.eq(reason),
                         self.verdicts.payload.ts.eq(s2_ts)]
            with m.If(reason == 0):
                m.d.comb += self.ev_accepts.eq(1)
            with m.Else():
                m.d.comb += self.ev_rejects.eq(Cat(reason == i for i in range(1, N_REASONS + 1)))
        with m.If(adv & accept):
            m.d.sync += [self.accepted.valid.eq(1), self.accepted.payload.eq(s2)]
            m.d.comb += [ast_wr.en.eq(1), sst_wr.en.eq(1),
                         ast_wr.data.open.eq(cur_open + s2_notional),
                         ast_wr.data.tat.eq(Mux(s2_t > cur_tat, s2_t, cur_tat) + s2_interval)]
            with m.If(buy2):
                m.d.comb += sst_wr.data.obuy.eq(cur_ob + s2.qty)
            with m.Else():
                m.d.comb += sst_wr.data.osell.eq(cur_os + s2.qty)
            for i in range(H):
                with m.If(h_head == i):
                    m.d.sync += [h_valid[i].eq(1), h_ord[i].eq(s2), h_t[i].eq(s2_t)]
            m.d.sync += h_head.eq(Mux(h_head == H - 1, 0, h_head + 1))

        # host events: release exposure, clamp at zero, fills move the position
        is_event = s2_valid & (s2_kind != 0)
        with m.If(adv & is_event):
            with m.If((s2_kind == 3) | ~s2_ok_idx):
                m.d.comb += self.ev_event_errors.eq(1)
            with m.Else():
                m.d.comb += self.ev_events.eq(1)
                over_n = s2_notional > cur_open
                cur_k = Mux(buy2, cur_ob, cur_os)
                over_q = s2.qty > cur_k
                m.d.comb += [ast_wr.en.eq(1), sst_wr.en.eq(1),
                             ast_wr.data.open.eq(Mux(over_n, 0, cur_open - s2_notional))]
                new_k = Mux(over_q, 0, cur_k - s2.qty)
                with m.If(buy2):
                    m.d.comb += sst_wr.data.obuy.eq(new_k)
                with m.Else():
                    m.d.comb += sst_wr.data.osell.eq(new_k)
                with m.If(s2_kind == 1):
                    m.d.comb += sst_wr.data.pos.eq(Mux(buy2, cur_pos + s2.qty, cur_pos - s2.qty))
                with m.If(over_n | over_q):
                    m.d.comb += self.ev_event_errors.eq(1)

        # after reset, zero positions, exposure and buckets before taking any input
        clr_idx = Signal(range(A * S))
        with m.If(clearing):
            m.d.comb += [sst_wr.addr.eq(clr_idx), sst_wr.data.eq(0), sst_wr.en.eq(1),
                         ast_wr.addr.eq(clr_idx[:abits]), ast_wr.data.eq(0), ast_wr.en.eq(1)]
            m.d.sync += clr_idx.eq(clr_idx + 1)
            with m.If(clr_idx == A * S - 1):
                m.d.sync += clearing.eq(0)

        # -- last rejects ring -------------------------------------------------------------
        rj_head = Signal(range(regs.LAST_REJECTS))
        m.d.comb += self.st_reject_head.eq(rj_head)
        rj_words = [s2.clordid[:32], s2.clordid[32:],
                    Cat(reason, Const(0, 4), s2.account, s2.slot), s2_ts.ns]
        rwin = self.w_last_rejects
        rcol = Signal(2)
        m.d.sync += rcol.eq(rwin.addr[:2])
        rdata = []
        for c, word in enumerate(rj_words):
            mem = Memory(shape=32, depth=regs.LAST_REJECTS, init=[])
            m.submodules[f"rejects_{c}"] = mem
            wr, hr = mem.write_port(), mem.read_port()
            m.d.comb += [wr.addr.eq(rj_head), wr.data.eq(word),
                         wr.en.eq(adv & is_order & (reason != 0)), hr.addr.eq(rwin.addr[2:])]
            rdata.append(hr.data)
        m.d.comb += rwin.r_data.eq(Array(rdata)[rcol])
        with m.If(adv & is_order & (reason != 0)):
            m.d.sync += rj_head.eq(rj_head + 1)
        return m
