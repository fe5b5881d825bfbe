"""Limits tables: two banks per table, host writes to the shadow, `commit` swaps.

Each table is one RAM per word column, twice the entries deep: the bank bit is the
top address bit. The host's window reads and writes the shadow bank; an order reads
the active bank, all three tables in the same cycle, so one order sees one whole set
and never a mix. Word formats are those of docs/limits.md.
"""
from amaranth.hdl import Array, Cat, Const, Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..layouts import AcctLimits, PosLimits, SymLimits
from .regs import ACCT_WORDS, POS_WORDS, SYM_WORDS
from ..regmap.binding import WindowSignature


class LimitTable(wiring.Component):
    """One two-bank table of `entries` x `words` 32-bit words. `words_out` is the
    active bank's entry `index`, read when `en` (valid the next cycle)."""

    def __init__(self, entries, words):
        self.entries, self.words = entries, words
        super().__init__({
            "window": In(WindowSignature(entries * words)),
            "index": In(max((entries - 1).bit_length(), 1)),
            "en": In(1), "bank": In(1),
            "words_out": Out(data.ArrayLayout(32, words)),
        })

    def elaborate(self, platform):
        m = Module()
        win = self.window
        abits = (self.entries - 1).bit_length()
        wbits = (self.words - 1).bit_length()
        w_idx = win.addr[wbits:] if wbits else win.addr
        w_col = win.addr[:wbits] if wbits else Const(0, 1)
        col_r = Signal(max(wbits, 1))
        m.d.sync += col_r.eq(w_col)
        active, index = self.bank, self.index
        host_data = []
        for c in range(self.words):
            m.submodules[f"col_{c}"] = mem = Memory(shape=32, depth=2 * self.entries, init=[])
            rd, hr, wr = mem.read_port(), mem.read_port(), mem.write_port()
            m.d.comb += [
                rd.addr.eq(Cat(index[:abits], active) if abits else active), rd.en.eq(self.en),
                hr.addr.eq(Cat(w_idx, ~active) if abits else ~active),
                wr.addr.eq(Cat(w_idx, ~active) if abits else ~active), wr.data.eq(win.w_data),
                wr.en.eq(win.w_stb & (w_col == c)),
                self.words_out[c].eq(rd.data),
            ]
            host_data.append(hr.data)
        m.d.comb += win.r_data.eq(Array(host_data)[col_r])
        return m


class LimitTables(wiring.Component):
    """The account, symbol and position tables with one bank switch. Outputs are the
    decoded limits of the order presented (`account`, `slot`) in the last `en` cycle."""

    def __init__(self, accounts, slots):
        self.accounts, self.slots = accounts, slots
        super().__init__({
            "w_acct": In(WindowSignature(accounts * ACCT_WORDS)),
            "w_sym": In(WindowSignature(slots * SYM_WORDS)),
            "w_pos": In(WindowSignature(accounts * slots * POS_WORDS)),
            "commit": In(1),
            "account": In(8), "slot": In(8), "en": In(1),
            "acct": Out(AcctLimits), "sym": Out(SymLimits), "pos": Out(PosLimits),
            "active": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        A, S = self.accounts, self.slots
        abits, sbits = max((A - 1).bit_length(), 1), max((S - 1).bit_length(), 1)
        loaded, loaded_r = Signal(), Signal()      # a set was committed since reset
        with m.If(self.commit):
            m.d.sync += [self.active.eq(~self.active), loaded.eq(1)]
        with m.If(self.en):
            m.d.sync += loaded_r.eq(loaded)

        ai, si = self.account[:abits], self.slot[:sbits]
        tables = {"acct": (A, ACCT_WORDS, self.w_acct, ai), "sym": (S, SYM_WORDS, self.w_sym, si),
                  "pos": (A * S, POS_WORDS, self.w_pos, Cat(si, ai))}
        cols = {}
        for name, (entries, words, win, index) in tables.items():
            m.submodules[name] = t = LimitTable(entries, words)
            wiring.connect(m, wiring.flipped(win), t.window)
            m.d.comb += [t.index.eq(index), t.en.eq(self.en), t.bank.eq(self.active)]
            cols[name] = t.words_out

        acct, sym, pos = cols["acct"], cols["sym"], cols["pos"]
        m.d.comb += [
            self.acct.enabled.eq(acct[0][0] & loaded_r),
            self.acct.max_notional.eq(Cat(acct[1], acct[2])),
            self.acct.credit.eq(Cat(acct[3], acct[4])),
            self.acct.interval.eq(acct[5]), self.acct.burst.eq(acct[6][:16]),
            self.acct.window.eq(acct[7]),
            self.sym.enabled.eq(sym[0][0]), self.sym.restricted.eq(sym[0][1]),
            self.sym.allow_no_book.eq(sym[0][2]), self.sym.bps.eq(sym[0][3]),
            self.sym.max_qty.eq(sym[1]), self.sym.collar.eq(sym[2]),
            self.pos.long.eq(pos[0]), self.pos.short.eq(pos[1]),
        ]
        return m
