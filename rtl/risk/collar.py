"""BookBounds: each slot's top of book with its price-collar bounds precomputed for
both limits banks, so an order's collar check is one compare (no multiply per order).

Why: the collar in bps is `price x 10000 > ask x (10000 + collar)`, a 32 x 33-bit
product of the book and the limits; computing it per order cost two multiplies and
a wide compare in one cycle. Here the bounds are recomputed whenever an input
changes, in a 3-cycle pipeline (select, DSP partial products, sum):
  * a BBO update recomputes both banks' bounds of its slot with the new prices, and
    the whole entry (flags and bounds) is written at once, 3 cycles after the update
    (an order sees the book as it was 3 cycles before it entered the gate);
  * a host write of a slot's collar or bps flag into the shadow bank (snooped here
    from the sym_limits window, into a per-bank mirror) marks the slot dirty. The
    lowest dirty slot is picked into a register (`pick_v`, `pick_slot`) a cycle
    ahead and recomputed for that bank in the next cycle without a BBO update,
    reading the mirror and its last prices then. `busy` is set while any is dirty,
    picked or in flight, and in the cycle of the write itself: the gate holds a
    commit (and its intake) until it clears, so an order never sees new limits with
    old bounds. A BBO update of a dirty slot recomputes it too (a slot already
    picked is recomputed once more); a commit after collar rewrites therefore waits
    for one cycle (the pick) plus at most one BBO-free cycle per rewritten slot that
    gets no update meanwhile.
Why the pick is a cycle ahead, and the mirror and last prices are LUT RAM: picking
(a carry chain and a priority encode) and reading the slot's parameters in the select
cycle was the gate's critical path (9.8 ns), mostly routing of a 16:1 mux tree over
2 x slots x 81 mirror registers spread across the die; a LUT RAM read is one level
from the registered pick, and the order path does not wait for dirty recomputes.
`entry` is the entry of `slot` in limits bank `bank`, registered when `en`. A slot
never written since reset reads as unreliable; an update for a slot past the table
is counted in `bad_slot` and ignored.
"""
from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..layouts import BboUpdate
from .arith import partial_products, sum_terms
from .layouts import BookEntry
from .regs import SYM_WORDS

_Flags = (("halted", 1), ("unreliable", 1), ("bid_empty", 1), ("ask_empty", 1))


#: a mirror entry after its bps flag: collar 32, cplus 33, cminus 14, cmpos 1 (_Params)
_COLLAR_W = 80
_COLLAR_INIT = 10000 << 32 | 10000 << 65 | 1 << 79     # collar 0


class _Params:
    """One bank's collar parameters for one slot, as registered in r1."""

    def __init__(self, name):
        self.bps = Signal(name=f"{name}_bps")
        self.collar = Signal(32, name=f"{name}_collar")
        self.cplus = Signal(33, name=f"{name}_cplus", init=10000)     # 10000 + collar
        self.cminus = Signal(14, name=f"{name}_cminus", init=10000)   # 10000 - collar
        self.cmpos = Signal(name=f"{name}_cmpos", init=1)             # collar < 10000

    def fields(self):
        return [self.bps, self.collar, self.cplus, self.cminus, self.cmpos]


class BookBounds(wiring.Component):
    def __init__(self, slots):
        self.slots = slots
        super().__init__({
            "bbo": In(stream.Signature(BboUpdate, always_ready=True)),
            "sym_stb": In(1), "sym_addr": In(range(slots * SYM_WORDS)), "sym_data": In(32),
            "shadow": In(1),
            "slot": In(8), "bank": In(1), "en": In(1),
            "entry": Out(BookEntry),
            "busy": Out(1), "bad_slot": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        S = self.slots
        sbits = max((S - 1).bit_length(), 1)
        # per bank: the bps flag (word 0) and the collar with its derived terms (word 2)
        mirror = [(Memory(shape=1, depth=S, init=[]), Memory(shape=_COLLAR_W, depth=S, init=[_COLLAR_INIT] * S))
                  for b in range(2)]
        for b, (mb, mc) in enumerate(mirror):
            m.submodules[f"m{b}_bps"], m.submodules[f"m{b}_collar"] = mb, mc
        self._snoop(m, mirror, sbits)

        # select: a BBO update (both banks, flags too), else the dirty slot picked last cycle
        u, dirty = self.bbo.payload, self._dirty
        bbo_ok = self.bbo.valid & (u.slot < S)
        m.d.comb += self.bad_slot.eq(self.bbo.valid & (u.slot >= S))
        m.submodules.raw = raw = Memory(shape=64, depth=S, init=[])     # last BBO prices
        raw_w, raw_r = raw.write_port(), raw.read_port(domain="comb")
        m.d.comb += [raw_w.addr.eq(u.slot[:sbits]), raw_w.data.eq(Cat(u.bid_px, u.ask_px)),
                     raw_w.en.eq(bbo_ok)]
        lowest = Signal(S)
        m.d.comb += lowest.eq(dirty & (~dirty + 1))
        pick_v = Signal(name="pick_v")
        pick_slot = Signal(sbits, name="pick_slot")
        take = Signal()             # the pick register is empty or goes to r1 this cycle
        m.d.comb += take.eq(~pick_v | ~bbo_ok)
        with m.If(take):
            m.d.sync += [pick_v.eq(dirty.any()),
                         pick_slot.eq(Cat(*(Cat(*(lowest[s] for s in range(S) if s >> b & 1)).any()
                                            for b in range(sbits))))]
        e_slot = Signal(sbits)
        m.d.comb += [e_slot.eq(Mux(bbo_ok, u.slot[:sbits], pick_slot)), raw_r.addr.eq(pick_slot)]

        r1 = dict(valid=Signal(), dirty=Signal(), slot=Signal(sbits), banks=Signal(2),
                  bid=Signal(32), ask=Signal(32), flags=Signal(4), wflags=Signal())
        m.d.sync += [r1["valid"].eq(bbo_ok | pick_v),
                     r1["dirty"].eq(Mux(bbo_ok, dirty.bit_select(u.slot[:sbits], 1), pick_v)),
                     r1["slot"].eq(e_slot), r1["wflags"].eq(bbo_ok),
                     r1["banks"].eq(Mux(bbo_ok, 0b11, Mux(self.shadow, 0b10, 0b01))),
                     r1["bid"].eq(Mux(bbo_ok, u.bid_px, raw_r.data[:32])),
                     r1["ask"].eq(Mux(bbo_ok, u.ask_px, raw_r.data[32:])),
                     r1["flags"].eq(Cat(u.halted, u.unreliable, u.bid_qty == 0, u.ask_qty == 0))]
        # an update recomputes its slot in both banks: no longer dirty; a pick takes its slot
        m.d.comb += self._clear.eq(Mux(bbo_ok, Const(1, S) << u.slot[:sbits], 0) | Mux(take, lowest, 0))
        p1 = []
        for b, (mb, mc) in enumerate(mirror):
            p = _Params(f"r1_{b}")
            rb, rc = mb.read_port(domain="comb"), mc.read_port(domain="comb")
            m.d.comb += [rb.addr.eq(e_slot), rc.addr.eq(e_slot)]
            m.d.sync += Cat(*p.fields()).eq(Cat(rb.data, rc.data))
            p1.append(p)

        # DSP stage: partial products, and the absolute-collar bounds
        r2 = {k: Signal.like(v, name=f"r2_{k}") for k, v in r1.items()}
        m.d.sync += [r2[k].eq(v) for k, v in r1.items()]
        writes = []
        for b, p in enumerate(p1):
            pb = partial_products(m, r1["ask"], p.cplus, 1, f"buy{b}")
            ps = partial_products(m, r1["bid"], p.cminus, 1, f"sell{b}")
            abs_buy, abs_sell = Signal(33, name=f"abs_buy{b}"), Signal(signed(34), name=f"abs_sell{b}")
            bps, cmpos = Signal(name=f"r2_bps{b}"), Signal(name=f"r2_cmpos{b}")
            m.d.sync += [abs_buy.eq(r1["ask"] + p.collar), abs_sell.eq(r1["bid"] - p.collar),
                         bps.eq(p.bps), cmpos.eq(p.cmpos)]
            buy = Mux(bps, sum_terms(pb, 66), abs_buy)
            sell = Mux(bps, Mux(cmpos, sum_terms(ps, 47), 0), abs_sell)
            writes.append(Cat(bps, buy[:66], _sx(sell, 48)))

        # sum stage: write the table (visible to orders entering the next cycle)
        written = Signal(S)
        fmem = Memory(shape=4, depth=S, init=[])
        m.submodules.flags = fmem
        fw, fr = fmem.write_port(), fmem.read_port(domain="comb")
        m.d.comb += [fw.addr.eq(r2["slot"]), fw.data.eq(r2["flags"]),
                     fw.en.eq(r2["valid"] & r2["wflags"])]
        with m.If(r2["valid"] & r2["wflags"]):
            m.d.sync += written.bit_select(r2["slot"], 1).eq(1)
        rd_bounds = []
        for b in range(2):
            mem = Memory(shape=len(writes[b]), depth=S, init=[])
            m.submodules[f"bounds{b}"] = mem
            w, r = mem.write_port(), mem.read_port(domain="comb")
            m.d.comb += [w.addr.eq(r2["slot"]), w.data.eq(writes[b]),
                         w.en.eq(r2["valid"] & r2["banks"][b]), r.addr.eq(self.slot[:sbits])]
            rd_bounds.append(r.data)
        # a collar write in this very cycle counts too: a commit firing with it would
        # make its bank active with the write in the table but not in the bounds (the
        # write marks the slot dirty a cycle later, and the recompute then goes to the
        # new shadow bank; found by the formal proof tools/formal/risk.py `bounds`)
        m.d.comb += [fr.addr.eq(self.slot[:sbits]),
                     self.busy.eq(dirty.any() | self._hit.any() | pick_v | (r1["valid"] & r1["dirty"])
                                  | (r2["valid"] & r2["dirty"]))]
        e, bnd = self.entry, Mux(self.bank, rd_bounds[1], rd_bounds[0])
        with m.If(self.en):
            m.d.sync += [e.halted.eq(fr.data[0]),
                         e.unreliable.eq(fr.data[1] | ~written.bit_select(self.slot[:sbits], 1)),
                         e.bid_empty.eq(fr.data[2]), e.ask_empty.eq(fr.data[3]),
                         e.bps.eq(bnd[0]), e.buy_bound.eq(bnd[1:67]), e.sell_bound.eq(bnd[67:115])]
        return m

    def _snoop(self, m, mirror, sbits):
        """Mirror the shadow bank's collar words as the host writes them; mark dirty."""
        S = self.slots
        self._dirty, self._clear = Signal(S), Signal(S)
        slot, word, d = self.sym_addr[2:], self.sym_addr[:2], self.sym_data
        hit = Signal(S)
        m.d.comb += hit.eq(Mux(self.sym_stb & ((word == 0) | (word == 2)),
                               Const(1, S) << slot, 0))
        m.d.sync += self._dirty.eq((self._dirty & ~self._clear) | hit)
        self._hit = hit
        for b, (mb, mc) in enumerate(mirror):
            wb, wc = mb.write_port(), mc.write_port()
            here = self.sym_stb & (self.shadow == b)
            m.d.comb += [wb.addr.eq(slot), wb.data.eq(d[3]), wb.en.eq(here & (word == 0)),
                         wc.addr.eq(slot), wc.en.eq(here & (word == 2)),
                         wc.data.eq(Cat(d, (d + 10000)[:33], (10000 - d[:14])[:14], d < 10000))]


def _sx(v, width):
    """`v` sign-extended (or truncated) to `width` bits."""
    v = v.as_signed()
    return Cat(v, v[-1].replicate(max(width - len(v), 0)))[:width]
