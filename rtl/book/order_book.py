"""OrderBook v2: order-by-order books, exact at every depth, pipelined, in block RAM.

Why this shape: the consumer wants the top of book a few cycles after the wire for
every message the wire can carry, exact however deep the book, and flagged only when
something really went wrong. Every table is a HashStore (rtl/book/store.py: registered
block RAM read, read-modify-write with forwarding of the previous write), so each
stage is a few LUT levels and an operation can enter every 2 cycles.

Pipeline (c0 = the message leaves the input queue; one operation every 2 cycles; a U
is two operations: delete the old reference, add the new one on its side). Every
store compares in one cycle and modifies and writes in the next (HashStore split):
  c0-c3   subscription lookup (rtl/book/subscriptions.py) and the order table
          (tables.py: full 64-bit reference, side, price, shares; 2 banks x ways/2)
  c4-c7   the level table: exact shares and order count per (slot, side, price)
  c8-c11  the level cache (level_cache.py: best K = top_n + 11 levels per side, sorted)
          and the best-level copy; in parallel the price tree (price_tree.py), one
          node depth per 4 cycles (c8-c31), for the next-best search only
  c12     BBO / top-N update registered out: `pipeline_latency()` = 13 cycles from
          c0, 15 from the last byte (decoder 2; the input queue is bypassed when empty)
Forwarding: each table's registered read takes the previous cycle's write to the same
set, so an Add followed at once by its Execute or Delete sees the Add.

Next best: when a side's cache misses REFILL_BATCH (2) of its K levels while the side
has more, the side is queued (once: a pending bit per side) for NextBest
(next_best.py), which appends the next levels from the price tree and the level table
*in the background*: its table reads take cycles the pipeline leaves free, and each
cache access costs one issue slot (a 3-cycle gap). A job pays an exact cache read
and a read of the leaf and depth-4 node on its last key's path once (the whole path,
after the tree's settling, ~20 cycles, only when those hold nothing beyond it), then
chains its levels (~8 cycles each on a penny book drained best first: the search goes
on from the path it walked while each append's result returns, and reads the next
leaf ahead). A line-rate drain of a deep side is still faster than that (docs/
status-log.md, 2026-12-07 late: the queue overflows on the deep-book feed). Why: on
the line-rate Add/Delete flood (bench packet section) one level per job at ~40 cycles
kept the single search engine ~90 % busy, sides waited in its queue until they fell
below `low`, and the holds overflowed the input queue.
Why: holding the input for every refill (~60 cycles: drain, then search) let bursts
of held messages from the A/B merge overflow the input queue. K = low + BACKGROUND:
the BACKGROUND spare levels cover what the operations remove while a refill runs.
Only when a side falls below `low` = top_n + 6 (the operations that can be in flight
between issue and the cache's output, each removing at most one cached level) does
the book hold its input, so the top N is always exact: that side is searched next,
ahead of the queue (the urgent queue, in the order the sides fell below `low`; a
background job on another side stops after its append), and the hold ends when no
side is below `low` (`n_low`, counted from the cache's results) with nothing in
flight, not when every queued refill is done (holds of 600-900 cycles late in the
flood, with most sides queued). The input
queue (rtl/book/book_input.py) absorbs the holds; overflow counted.

Flags (`unreliable`, in every BBO update): an unknown reference, an add into a full
order set or a full table, a level-table or tree-node set full (`depth_overflow`), a
reduction at a price with no level or a search that finds nothing (`level_miss`).
Depth alone never flags.

Sweep: block RAM survives a reset, so after one every table is cleared one set per
cycle (`reset_cycles`, `busy`). SUB_CMD MAP routes a locate to a slot and clears the
slot's cache, best copy and tree roots (the slot's old orders stay until FLUSH);
FLUSH sweeps everything but the subscriptions.

Path to a full Nasdaq day (1.65 M live orders, 8,371 symbols, busiest book 2,422
levels): the order table moves to external memory (QDR-II+ or DDR4: 4 M entries x 16
bytes in 64-byte 4-way buckets = 64 MB at ~40 % load), one bucket read and one write
per order operation; the level table (~200 k live levels, 16 bytes) and the tree's
leaves/inner nodes (~200 k + ~30 k nodes of 8+8 bytes) follow in a second channel;
the subscription table grows to locate_bits = 14 (8,371 symbols) and the level cache
and best copy stay on chip (16,384 sides x ~165 bytes: the cache word shrinks to 8
levels, or moves to URAM-class memory). Budget per message at one per 2 cycles
(12.8 ns): 1 order-bucket access + 1-2 level accesses + <= 6 node accesses (one per
depth, pipelined across banks) on a miss; with 60-100 ns memory latency the stages
become ~8 deep with the same forwarding (more writes in flight to compare), and the
next-best search (<= 6 dependent node reads) costs ~0.5 us when the cache drains,
which the cache's 5 background spare levels hide at normal message rates.
"""
from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..layouts import ItchMsg, Timestamp, top_n_layout, BboUpdate, Level
from ..regmap.binding import register_members
from . import regs
from .level_cache import CacheOp, cache_layout, cache_modify, cache_prepare
from .next_best import NextBest
from .price_tree import BITS, DEPTHS, digit, node_key, node_modify, node_op, prefix_bits, tree_key
from .store import HashStore
from .subscriptions import Subscriptions
from .tables import (ADD, DELETE, HALT, REDUCE, Best, BestOp, LevelOp, LevelVal, OrderOp,
                     OrderVal, best_modify, level_modify, order_modify, order_part, other_slot)

#: The message types that change a book (the core filters everything else out before
#: the book's FIFO).
BOOK_TYPES = "AFECXDUH"
_SUB_CMD = regs.BLOCK.reg("sub_cmd")
_A, _F, _E, _C, _X, _D, _U, _H = (ord(c) for c in BOOK_TYPES)
SELL = ord("S")
HALT_STATES = (ord("H"), ord("P"))
#: Cache levels beyond top_n: the operations that can be in flight when a side asks for
#: a refill (c0..c8 at one per 2 cycles), each removing at most one cached level.
CACHE_SPARE = 5
#: Cache levels beyond the low-water mark, refilled in the background: a refill of one
#: level takes ~40-70 cycles (20-35 operations) with the book running. The default;
#: a build may keep fewer (`CoreConfig.book_background`): the book stays exact, it only
#: holds its input sooner while a side drains.
BACKGROUND = 5
#: A side is queued for a refill only when this many levels are missing (fewer than K
#: - REFILL_BATCH + 1 cached): each job pays an exact read and the tree's settling
#: (~20 cycles) once for all the levels it appends, which the search chains (~15 each).
REFILL_BATCH = 2
#: Sides below `low` queued for the search ahead of the refill queue: the operations in
#: flight when the book holds (~7) each make at most one side low.
URGENT_DEPTH = 8
#: Issue -> the cache's input (the order and level stores, 4 cycles each): where a
#: gap in the issue stream arrives for NextBest's cache accesses.
TO_CACHE = 8
#: Stores whose compare and modify take a cycle each (HashStore split: 4-cycle latency,
#: for Fmax); the others do both in one (3 cycles).
SPLIT = ("orders", "levels", "cache", "best")
#: Cycles from issue until the last tree depth has written: nothing in flight after.
DRAIN = 4 + 4 + 4 * DEPTHS + 1
#: Ways per bank of the level table and the tree's leaves: two banks (two-choice hashing)
#: of 4 ways, 8 candidate entries per key (rtl/book/store.py), so a table at 50 % load
#: almost never finds both sets full; the inner tree depths have 2 ways a bank. The
#: default: a build may use 2 x 2 (`CoreConfig.book_level_ways`, fewer key compares).
NWAYS = 4
INNER_WAYS = 2
#: The pending bits' memories stay in LUT RAM: Yosys would take the registered read
#: into block RAM, which the board build has none of left.
LUTRAM = {"ram_style": "distributed"}


def pipeline_latency():
    """Cycles from a message leaving the input queue to its BBO / top-N update."""
    return sum(4 if n in SPLIT else 3 for n in ("orders", "levels", "cache")) + 1


def _pow2(n):
    return 1 << max(1, (max(n, 2) - 1).bit_length())


def tree_ways(d, level_ways):
    """Ways per bank of depth d's node table when it is hashed (2 banks)."""
    return level_ways // 2 if d == DEPTHS - 1 else INNER_WAYS


def tree_sets(d, sb, levels, level_ways):
    """(sets, direct) of depth d's node table (d >= 1).

    Hashed: inner depths get 512 sets a bank (no more block RAM than fewer: the word is
    5 DP16KD wide either way), enough for books whose prices span hundreds of dollars.
    Direct (indexed by the key itself, one key per set): when every possible node of
    the depth fits in no more entries than the hashed table would have (2 banks x sets
    x ways). Why: such a depth needs no hash, no key compare and no stored key, and
    can never find its set full: depth 1 of every build (2 prefix bits, side, slot),
    depth 2 of the lab's (8 prefix bits, side, 2 slot bits)."""
    sides = 1 << (sb + 1)
    hashed = (_pow2(levels // level_ways) if d == DEPTHS - 1 else
              _pow2(max(sides // 2, 512, levels // 16)) if d == DEPTHS - 2 else
              _pow2(max(sides // 2, 512)))
    kb = prefix_bits(d) + 1 + sb
    if 1 << kb <= 2 * hashed * tree_ways(d, level_ways):
        return 1 << kb, True
    return hashed, False


def geometry(slots, orders, levels, ways, locate_bits, level_ways=2 * NWAYS):
    """Sets of every table (and the sweep length) for these build parameters."""
    sb = max(1, (slots - 1).bit_length())
    sides = 1 << (sb + 1)
    g = {"orders": _pow2(orders // ways), "levels": _pow2(levels // level_ways),
         "cache": sides, "best": 1 << sb, "tree0": sides}
    for d in range(1, DEPTHS):
        g[f"tree{d}"] = tree_sets(d, sb, levels, level_ways)[0]
    g["sweep"] = max(max(g.values()), 1 << locate_bits)
    return g


def ctx_layout(sb):
    return data.StructLayout({"seq": 64, "locate": 16, "rx_ts": Timestamp, "first": 1,
                              "last": 1, "srch": 1, "book": 1, "halted": 1, "slot": sb})


class OrderBook(wiring.Component):
    registers = regs.ORDER_BOOK

    def __init__(self, slots=64, orders=262144, levels=65536, top_n=5, ways=8, locate_bits=14,
                 background=BACKGROUND, level_ways=2 * NWAYS):
        assert slots <= 256 and top_n >= 1 and background >= 1 and level_ways in (4, 8)
        self.level_ways = level_ways
        self.slots, self.orders, self.levels, self.top_n = slots, orders, levels, top_n
        self.ways, self.locate_bits = ways, locate_bits
        # a refill request holds issue at once; the operations issued since the one that
        # asked (one per 2 cycles over the latency to the cache's output) may each
        # remove a cached level, and the top N must stay cached
        lat = sum(4 if n in SPLIT else 3 for n in ("orders", "levels", "cache"))
        self.low = top_n + max(CACHE_SPARE, 1 + (lat - 1) // 2)
        self.k = self.low + background
        # a build with fewer background levels than a batch still refills in the
        # background (one missing level queues the side), not only below `low`
        self.batch = min(REFILL_BATCH, background)
        self.lat = lat
        self.slot_bits = max(1, (slots - 1).bit_length())
        self.geo = geometry(slots, orders, levels, ways, locate_bits, level_ways)
        super().__init__({
            "i": In(stream.Signature(ItchMsg)),
            "bbo": Out(stream.Signature(BboUpdate, always_ready=True)),
            "topn": Out(stream.Signature(top_n_layout(top_n), always_ready=True)),
            "q_slot": In(range(slots)),
            "q_bbo": Out(Best),
            "q_halted": Out(1),
            "q_unreliable": Out(1),
            **register_members(self.registers),
        })

    @property
    def flush_cycles(self):
        """Cycles SUB_CMD.FLUSH sweeps (one set of every table per cycle) plus set-up."""
        return self.geo["sweep"] + 2

    @property
    def reset_cycles(self):
        """Cycles the sweep after reset takes: memories keep their contents through a
        reset, and a reset must leave no stale order, level or subscription behind."""
        return self.geo["sweep"]

    @staticmethod
    def sweep_cycles(slots=64, orders=262144, levels=65536, ways=8, locate_bits=14,
                     level_ways=2 * NWAYS, **_):
        """`reset_cycles` without constructing a book (UnusedElaboratable)."""
        return geometry(slots, orders, levels, ways, locate_bits, level_ways)["sweep"]

    # ---- tables ----
    def _stores(self, m):
        sb, g, ctx = self.slot_bits, self.geo, ctx_layout(self.slot_bits)
        self.u_side, self.u_ok, self.slot_c3 = Signal(), Signal(), Signal(sb)
        st = {}
        st["orders"] = HashStore(key_bits=64, value_shape=OrderVal, op_shape=OrderOp,
                                 ctx_shape=ctx, sets=g["orders"], ways=self.ways // 2, banks=2,
                                 split="orders" in SPLIT, alt_key=True, way_prepare=order_part,
                                 modify=order_modify(self.u_side, self.u_ok, self.slot_c3))
        st["levels"] = HashStore(key_bits=32 + 1 + sb, value_shape=LevelVal, op_shape=LevelOp,
                                 ctx_shape=ctx, sets=g["levels"], ways=self.level_ways // 2, banks=2,
                                 modify=level_modify,
                                 split="levels" in SPLIT, alt_key=True, alt2=True,
                                 seed=2)
        st["cache"] = HashStore(key_bits=1 + sb, value_shape=cache_layout(self.k),
                                op_shape=CacheOp, ctx_shape=ctx, sets=g["cache"], ways=1,
                                modify=cache_modify(self.k), prepare=cache_prepare(self.k),
                                index="direct", unwritten_old=True,
                                split="cache" in SPLIT)
        st["best"] = HashStore(key_bits=sb, value_shape=Best, op_shape=BestOp, ctx_shape=1,
                               sets=g["best"], ways=1, index="direct", q_port=True,
                               split="best" in SPLIT, unwritten_old=True,
                               modify=best_modify(st["cache"].peek.lv[0]))
        for d in range(DEPTHS):
            direct = d == 0 or tree_sets(d, sb, self.levels, self.level_ways)[1]
            st[f"tree{d}"] = HashStore(
                key_bits=prefix_bits(d) + 1 + sb, value_shape=1 << BITS[d], op_shape=node_op(d),
                ctx_shape=2 if d == DEPTHS - 1 else 1, sets=g[f"tree{d}"],
                banks=1 if direct else 2, modify=node_modify,
                ways=1 if direct else tree_ways(d, self.level_ways),
                index="direct" if direct else "h3", seed=4 + 2 * d, split=True, alt_key=True,
                alt_idx=True)
        for name, s in st.items():
            m.submodules[name] = s
        m.submodules.subs = self.subs = Subscriptions(self.locate_bits, sb)
        m.submodules.nb = self.nb = NextBest(sb, self.k, self.low)
        # one entry per side at most (pending bits), so the queue never drops a request;
        # each entry is the side and the pending bit's parity written when it was queued
        m.submodules.refill_q = self.refill_q = fifo.SyncFIFOBuffered(
            width=sb + 2, depth=max(8, 2 << sb))
        m.submodules.urg_q = self.urg_q = fifo.SyncFIFOBuffered(width=sb + 1, depth=URGENT_DEPTH)
        self.st = st
        return st

    # ---- c0: issue ----
    def _issue(self, m, hold):
        msg, o = self.i.payload, self.st["orders"].i
        t = msg.type
        phase, u_second = Signal(), Signal()
        is_u = t == _U
        can = ~phase & ~hold
        issue = self.i.valid & can
        m.d.comb += [self.i.ready.eq(can & (~is_u | u_second)),
                     self.ev_msgs.eq(self.i.valid & self.i.ready)]
        m.d.sync += phase.eq(issue)
        with m.If(issue & is_u):
            m.d.sync += u_second.eq(~u_second)
        op, ctx = o.payload.op, o.payload.ctx
        book = Cat(*[t == ord(c) for c in BOOK_TYPES]).any()
        m.d.comb += [
            o.valid.eq(issue), o.payload.en.eq(book & (t != _H)),
            # a U's add names new_oref: both hashed, the U select (alt) after
            o.payload.key.eq(msg.oref), self.st["orders"].alt.eq(is_u & u_second),
            self.st["orders"].alt_key.eq(msg.new_oref),
            op.side.eq(msg.side == SELL), op.shares.eq(msg.shares), op.price.eq(msg.price),
            op.halt.eq((msg.state == HALT_STATES[0]) | (msg.state == HALT_STATES[1])),
            op.u1.eq(is_u & ~u_second), op.u2.eq(is_u & u_second),
            ctx.seq.eq(msg.seq), ctx.locate.eq(msg.locate), ctx.rx_ts.eq(msg.rx_ts),
            ctx.first.eq(~(is_u & u_second)), ctx.last.eq(~is_u | u_second), ctx.book.eq(book),
            self.subs.i.valid.eq(issue), self.subs.i.payload.eq(msg.locate),
        ]
        with m.Switch(t):
            with m.Case(_A, _F):
                m.d.comb += op.kind.eq(ADD)
            with m.Case(_E, _C, _X):
                m.d.comb += op.kind.eq(REDUCE)
            with m.Case(_D):
                m.d.comb += op.kind.eq(DELETE)
            with m.Case(_U):
                m.d.comb += op.kind.eq(Mux(u_second, ADD, DELETE))
            with m.Default():
                m.d.comb += op.kind.eq(HALT)
        # the add verdicts the order table needs at c2: subscribed, table not full
        add1, add2 = Signal(), Signal()
        m.d.sync += [add1.eq(op.kind == ADD), add2.eq(add1)]
        return issue, add2

    def elaborate(self, platform):
        m = Module()
        st = self._stores(m)
        self.unreliable, self.halted = Signal(self.slots), Signal(self.slots)
        self.live = Signal(32)
        self.table_full = Signal()          # live >= orders, a register beside live
        self.tree_full = Signal()
        self.tbusy = Signal(DEPTHS)
        m.d.comb += [self.st_unreliable.eq(self.unreliable), self.st_halted.eq(self.halted),
                     self.st_orders_live.eq(self.live)]
        busy_cmd = Signal(init=1)
        # a side below the low-water mark holds issue at once (the operations already
        # in flight are what CACHE_SPARE covers) until no side is below it (or every
        # queued refill is done);
        # NextBest holds it 3 cycles for each gap it needs at the cache
        self.urgent_now = Signal()
        urgent = self.urgent = Signal()
        hold = self.urgent_now | urgent | self.nb.hold | busy_cmd
        issue, add2 = self._issue(m, hold)
        self.inflight = inflight = Signal(DRAIN)
        m.d.sync += inflight.eq(Cat(issue, inflight[:-1]))
        # inflight.any() and inflight[:lat].any(), registered (the same bits a cycle ahead)
        fl_any, fl_lat = Signal(), Signal()
        m.d.sync += [fl_any.eq(issue | inflight[:-1].any()),
                     fl_lat.eq(issue | inflight[:self.lat - 1].any())]
        drained = ~fl_any & ~issue
        m.d.comb += self.nb.quiet.eq(drained)
        self.n_low = Signal(range((2 << self.slot_bits) + 1))
        # n_low counts a side 2 cycles after its result (urgent_now); until then (and a
        # cycle more) the count may not show it yet
        none_low, u_hist = Signal(), Signal(3)
        m.d.sync += [u_hist.eq(Cat(self.urgent_now, u_hist[:2])),
                     none_low.eq((self.n_low == 0) & ~self.urgent_now & ~u_hist.any())]
        # the hold ends when no side is below `low` (n_low, from the cache's results)
        # with nothing in flight, or (the count is only ever high, e.g. after a MAP
        # cleared a low side) when every queued refill is done
        refills_done = ((none_low | ((self.refill_q.level == 0) & ~self.refill_q.w_stream.valid
                                     & (self.urg_q.level == 0) & ~self.nb.busy))
                        & ~fl_lat & ~issue)
        with m.If(self.urgent_now):
            m.d.sync += urgent.eq(1)
        with m.Elif(refills_done):
            m.d.sync += urgent.eq(0)
        ev_order = self._order_stage(m, add2)
        ev_level = self._level_stage(m)
        ev_tree = self._tree_chain(m)
        self._cache_stage(m)
        self._emit(m)
        # a command runs only while busy_cmd holds issue, so `issue` (which the cache's
        # output reaches through `urgent_now`) need not be in its idle test. Once idle
        # with issue held nothing new can start (no operation in flight, no refill
        # queued, NextBest done), so the test is registered under busy_cmd: a command
        # starts a cycle later. Why: through the FIFOs' level adders, the command decode
        # and the slot masks into `unreliable` and `halted` it was 10 LUT levels (512
        # endpoints, the book's deepest; tools/build/lut_depth.py)
        idle = Signal(name="cmd_idle")
        self.nb_held = Signal()             # a search's `bad` waiting for the flag's decoder
        m.d.sync += idle.eq(busy_cmd & ~fl_any & (self.refill_q.level == 0)
                            & (self.urg_q.level == 0) & ~self.nb.busy & ~self.nb_held)
        self._flag(m, ev_order, ev_level, ev_tree, idle, *self._commands(m, busy_cmd, idle))
        self._query(m)
        return m

    def _flag(self, m, ev_order, ev_level, ev_tree, idle, map_clr, map_pre, clr_all, cmd_slot):
        """`unreliable`: every event that flags a slot is aligned with the other events
        of its own operation and goes through one of two registered slot decoders.
        Why: a decoder per source (9 x 256 one-hot masks ORed into every bit) was
        ~3,400 LUTs on the board build. An operation flags at most once (an order
        verdict leaves its level and tree operations disabled; a level set full or a
        level miss creates no node; a tree depth set full creates no node above), so:
        A  the order verdict, delayed by the level store's latency, with the level
           stage's event: the same operation (the level store's input that cycle), so
           at most one slot. Set in `unreliable` at issue + 10; the operation's BBO
           update reads it at issue + 12.
        B  the tree depths' events, each delayed to depth 0's output (the operation's
           own, for the same reason one at most), or else NextBest's `bad`: held a
           cycle when the chain has an event (an operation's at most every 2 cycles,
           `bad` at most every 3). The last tree event is set at issue + 35 (was 34),
           a MAP's clear at issue + 37 at the earliest; commands also wait for the
           hold (`idle`). A leaf's set full now flags up to 21 cycles later than it
           did, and no row it can make wrong leaves before: the lost node is a new
           level's, which the cache (filled from the level table) holds if it ranks
           among the cached levels; otherwise only a later search can skip it, its
           append enters at the cache's tail (>= `low` - 1 levels down), and reaching
           the top N takes several removals at one per 2 cycles, each 12 cycles to
           its row: past issue + 40.
        A MAP clears its slot through B (and `halted`'s through its write, a cycle on): with
        the book idle (the `idle` register selects the command's slot) neither has
        anything else to do; the sweep's end clears every bit (a synchronous reset)."""
        sb = self.slot_bits
        dly = self.st["levels"].latency
        ov, os_ = self._delayed(m, *ev_order, dly, "flag_ord")
        lv, ls = ev_level[0]
        a = self._decoded(m, ov | lv, Mux(ov, os_, ls), "flag_a")     # both: one slot
        cv, cs = ev_tree[DEPTHS - 1]
        for d in reversed(range(DEPTHS - 1)):
            rv, rs = self._delayed(m, cv, cs, self.st[f"tree{d}"].latency, f"flag_t{d}")
            v, s = ev_tree[d]
            cv, cs = rv | v, Mux(rv, rs, s)
        cv, cs = self._delayed(m, cv, cs, 1, "flag_t")     # B's decode from registers
        nb_v, nb_s = ev_level[1]
        held_s = Signal(sb, name="nb_held_slot")
        with m.If(nb_v):
            m.d.sync += [self.nb_held.eq(1), held_s.eq(nb_s)]
        with m.Elif(~cv):
            m.d.sync += self.nb_held.eq(0)
        b_set = Signal()
        m.d.sync += b_set.eq(~idle)
        # idle (a register): the MAP's clear alone (its command test not behind `idle`)
        b = self._decoded(m, Mux(idle, map_pre, cv | self.nb_held),
                          Mux(idle, cmd_slot, Mux(cv, cs, held_s)), "flag_b")
        m.d.sync += self.unreliable.eq(Cat(*[a[i] | Mux(b[i], b_set, u)
                                             for i, u in enumerate(self.unreliable)]))
        # halted's MAP clear a cycle later (state 1, the book still idle; busy falls
        # at the same edge): the halt write's enable is not behind the command decode
        hw, hs, hv = self.halt_w
        map_r = Signal(name="map_clear_r")
        m.d.sync += map_r.eq(map_clr)
        h = self._decoded(m, hw | map_r, Mux(idle, cmd_slot, hs), "halt_w", reg=False)
        m.d.sync += self.halted.eq(Cat(*[Mux(h[i], hv & ~idle, x)
                                         for i, x in enumerate(self.halted)]))
        with m.If(clr_all):
            m.d.sync += [self.unreliable.eq(0), self.halted.eq(0)]

    def _decoded(self, m, v, slot, name, reg=True):
        """Per slot, v & (slot == s), as the AND of two one-hot halves of the slot
        (registered when `reg`): each flag bit's update sees 2 wires per decoder."""
        sb = self.slot_bits
        lb = (sb + 1) // 2
        hi, lo = Signal(1 << (sb - lb), name=f"{name}_hi"), Signal(1 << lb, name=f"{name}_lo")
        dom = m.d.sync if reg else m.d.comb
        dom += [hi.eq(Mux(v, 1 << slot[lb:], 0)), lo.eq(1 << slot[:lb])]
        return [hi[i >> lb] & lo[i & ((1 << lb) - 1)] for i in range(self.slots)]

    @staticmethod
    def _delayed(m, v, s, n, name):
        """(v, s) through n registers."""
        for i in range(n):
            rv, rs = Signal(name=f"{name}{i}"), Signal(len(Value.cast(s)), name=f"{name}{i}_slot")
            m.d.sync += [rv.eq(v), rs.eq(s)]
            v, s = rv, rs
        return v, s

    # ---- c3: order verdicts, level operation ----
    def _order_stage(self, m, add2):
        st, sb = self.st, self.slot_bits
        o = st["orders"].o
        oo, ov = o.payload, o.valid
        sub = self.subs.o.payload          # valid at c2, with the order table's decision
        m.d.comb += st["orders"].veto.eq(~sub.valid | (add2 & self.table_full))
        ok3, slot3 = Signal(), Signal(sb)
        if st["orders"].split:          # the order table answers a cycle later
            ok_, slot_ = Signal(), Signal(sb)
            m.d.sync += [ok_.eq(sub.valid), slot_.eq(sub.slot), ok3.eq(ok_), slot3.eq(slot_)]
            m.d.comb += self.slot_c3.eq(slot_)
        else:
            m.d.sync += [ok3.eq(sub.valid), slot3.eq(sub.slot)]
            m.d.comb += self.slot_c3.eq(sub.slot)
        full3 = self.table_full
        kind = oo.op.kind
        is_add = kind == ADD
        reduce = (kind == REDUCE) | (kind == DELETE)
        # an order of another symbol is unknown here (the order table left it alone)
        other = oo.hit & other_slot(oo.old, slot3)
        unknown = ov & ok3 & oo.en & reduce & (~oo.hit | other)
        coll = ov & ok3 & oo.en & is_add & (oo.hit | (oo.full & ~full3))
        tfull = ov & ok3 & is_add & ~oo.hit & ~oo.created & full3 & ~oo.op.u2
        m.d.comb += [self.ev_ignored.eq(ov & oo.ctx.first & oo.ctx.book & ~ok3),
                     self.ev_unknown_ref.eq(unknown), self.ev_collisions.eq(coll),
                     self.ev_table_full.eq(tfull)]
        # live >= orders registered with live (it reached the 256 `unreliable` bits
        # through the verdicts: 10 LUT levels)
        live_next = Signal(32)
        m.d.comb += live_next.eq(self.live + (ov & oo.created) - (ov & oo.removed))
        m.d.sync += [self.live.eq(live_next), self.table_full.eq(live_next >= self.orders)]
        self.halt_w = (ov & ok3 & oo.ctx.book & (kind == HALT), slot3, oo.op.halt)
        with m.If(ov & oo.op.u1):
            m.d.sync += [self.u_side.eq(oo.old.side),
                         self.u_ok.eq(oo.hit & ~other & ok3 & oo.en)]
        # the level operation (every operation flows on, en = 0 when it changes nothing)
        li = st["levels"].i
        lp = li.payload
        nb = self.nb.lreq
        m.d.comb += nb.ready.eq(~ov)        # a probe takes a cycle the pipeline leaves free
        # the probe's key is hashed beside the operation's and selected after (alt); a
        # probe (en = 0) writes nothing and its result is read for hit, old and srch
        # alone, so its op and other ctx fields are the operation's, unselected
        probe = nb.valid & ~ov
        m.d.comb += [
            st["levels"].alt.eq(probe),
            st["levels"].alt_key.eq(Cat(nb.payload.px, nb.payload.side, nb.payload.slot)),
            # an add's level is the new order's, else the old one's: both hashed, the
            # kind selects after (alt2)
            lp.key.eq(Cat(oo.old.price, oo.old.side, slot3)), st["levels"].alt2.eq(is_add),
            st["levels"].alt2_key.eq(Cat(oo.new.price, oo.new.side, slot3)), lp.ctx.eq(oo.ctx),
            lp.ctx.halted.eq(self.halted.bit_select(slot3, 1)),
            lp.op.dq.eq(Mux(is_add, oo.new.shares, -(oo.old.shares - oo.new.shares))),
            lp.op.dord.eq(Mux(is_add, 1, Mux(oo.removed, -1, 0))),
        ]
        with m.If(probe):
            m.d.comb += [li.valid.eq(1), lp.ctx.srch.eq(1), lp.ctx.slot.eq(nb.payload.slot)]
        with m.Else():
            m.d.comb += [
                li.valid.eq(ov), lp.ctx.slot.eq(slot3),
                lp.en.eq(oo.en & ok3 & Mux(is_add, oo.created, oo.hit & ~other & reduce)),
            ]
        return unknown | coll | tfull, slot3

    # ---- c6: level results -> cache, best copy, tree leaf ----
    def _level_stage(self, m):
        st, sb = self.st, self.slot_bits
        lo, lv = st["levels"].o.payload, st["levels"].o.valid
        pipe = lv & ~lo.ctx.srch
        px, side, slot = lo.key[:32], lo.key[32], lo.key[33:33 + sb]
        m.d.comb += [self.nb.lres.valid.eq(lv & lo.ctx.srch),
                     self.nb.lres.payload.hit.eq(lo.hit),
                     self.nb.lres.payload.qty.eq(lo.old.qty),
                     self.nb.lres.payload.orders.eq(lo.old.orders)]
        miss = pipe & lo.en & ~lo.hit & ~lo.created & ~lo.full
        full = pipe & lo.full
        m.d.comb += [self.ev_level_miss.eq(miss | self.nb.bad.valid),
                     self.ev_depth_overflow.eq(full | self.tree_full)]
        ci, bi = st["cache"].i, st["best"].i
        cp, bp = ci.payload, bi.payload
        nbc = self.nb.creq
        # a gap: no operation at the cache one cycle before, at or after (exact RMW)
        fl = self.inflight
        # registered: the same bits of the shift register a cycle earlier
        gap = Signal(init=1)
        m.d.sync += gap.eq(~fl[TO_CACHE - 3] & ~fl[TO_CACHE - 2] & ~fl[TO_CACHE - 1])
        m.d.comb += nbc.ready.eq(gap)
        # a search access's ctx is the level result's but for srch and slot (a srch
        # result is read for count, depth and last price alone): `gap` selects few bits
        m.d.comb += cp.ctx.eq(lo.ctx)
        # the operation's level for NextBest's tracking, valid only without a search
        # access: the payload is not gated by the access (it was: NextBest's state ->
        # creq.valid -> the key it compares -> its tracking, 9.8 LUT levels)
        m.d.comb += [self.nb.upd.payload.slot.eq(slot), self.nb.upd.payload.side.eq(side),
                     self.nb.upd.payload.px.eq(px),
                     self.nb.upd.payload.tree.eq(lo.created | lo.removed)]
        with m.If(nbc.valid & nbc.ready):
            m.d.comb += [ci.valid.eq(1), cp.key.eq(Cat(nbc.payload.side, nbc.payload.slot)),
                         cp.en.eq(nbc.payload.append), cp.op.append.eq(1),
                         cp.op.side.eq(nbc.payload.side), cp.op.px.eq(nbc.payload.px),
                         cp.op.qty.eq(nbc.payload.qty), cp.op.orders.eq(nbc.payload.orders),
                         cp.op.guard.eq(nbc.payload.guard), cp.op.empty.eq(nbc.payload.empty),
                         cp.ctx.srch.eq(1), cp.ctx.slot.eq(nbc.payload.slot),
                         bi.valid.eq(1), bp.key.eq(nbc.payload.slot), bp.en.eq(nbc.payload.append),
                         bp.op.side.eq(nbc.payload.side), bp.ctx.eq(1)]
        with m.Else():
            en = lo.en & (lo.hit | lo.created)
            m.d.comb += self.nb.upd.valid.eq(pipe & en)
            m.d.comb += [ci.valid.eq(pipe), cp.key.eq(Cat(side, slot)), cp.en.eq(en),
                         cp.op.side.eq(side), cp.op.px.eq(px), cp.op.qty.eq(lo.new.qty),
                         cp.op.orders.eq(lo.new.orders), cp.op.created.eq(lo.created),
                         cp.op.removed.eq(lo.removed),
                         bi.valid.eq(pipe), bp.key.eq(slot), bp.en.eq(en), bp.op.side.eq(side)]
        # the leaf: a level created sets its bit, a level removed clears it
        leaf = st[f"tree{DEPTHS - 1}"].i
        tk = tree_key(px, side)
        self._tree_input(m, DEPTHS - 1, pipe & lo.en & (lo.created | lo.removed),
                         node_key(slot, side, tk, DEPTHS - 1), digit(tk, DEPTHS - 1), lo.created)
        return [(miss | full, slot), (self.nb.bad.valid, self.nb.bad.payload)]

    def _tree_input(self, m, d, valid, key, pos, set_):
        """Depth d's node input: an update from below, or a probe of the search (only
        when no depth it reads has an update this cycle)."""
        ti, tq = self.st[f"tree{d}"].i, self.nb.treq.payload
        m.d.comb += self.tbusy[d].eq(valid)
        probe = self.nb.treq.valid & self.nb.treq.ready & tq.depths[d]
        # the probe's key is hashed beside the update's and selected after (`alt`), by this
        # depth's own update alone: the probe's grant (treq.ready, from every depth's
        # update) comes late, and without an update or a probe the address is unused
        ts = self.st[f"tree{d}"]
        m.d.comb += [ts.alt.eq(~valid), ts.alt_key.eq(node_key(tq.slot, tq.side, tq.tkey, d)),
                     ti.payload.key.eq(key)]
        # the probe's sets, registered from the search's next slot, side and cur (its
        # probe key is those registers): the read address is one select of registers,
        # not a hash of NextBest's registers across the chip
        nb = self.nb
        nkey = node_key(nb.slot_n, nb.side_n, nb.pk_n, d)
        idx = [Signal(ts.set_bits, name=f"pidx{d}_{b}") for b in range(ts.banks)]
        m.d.sync += [i.eq(ts.key_index(nkey, b)) for b, i in enumerate(idx)]
        m.d.comb += ts.alt_idx.eq(Cat(*idx))
        # a probe is granted only when this depth has no update (treq.ready), so all
        # but `valid` follow the update alone: en and op for an update, ctx (srch) for
        # a probe
        # ctx: a probe (srch), and at the leaf whether it is NextBest's lookahead's
        m.d.comb += [ti.valid.eq(valid | probe), ti.payload.en.eq(valid),
                     ti.payload.ctx.eq(Cat(~valid, tq.la & ~valid)[:len(ti.payload.ctx)]),
                     ti.payload.op.pos.eq(pos), ti.payload.op.set.eq(set_)]

    # ---- c9..: the tree, one depth per 3 cycles ----
    def _tree_chain(self, m):
        sb = self.slot_bits
        res = self.nb.tres
        m.d.comb += self.nb.treq.ready.eq(~(self.tbusy & self.nb.treq.payload.depths).any())
        bad = []
        full_any = 0
        for d in range(DEPTHS):
            o = self.st[f"tree{d}"].o
            op = o.payload
            srch = o.valid & op.ctx[0]
            m.d.comb += [res.payload.hit[d].eq(srch & op.hit), res.payload.bits[d].eq(op.old),
                         res.payload.got[d].eq(srch)]
            if d == DEPTHS - 1:
                m.d.comb += res.payload.la.eq(srch & op.ctx[1])
            pb = prefix_bits(d)
            slot = op.key[pb + 1:pb + 1 + sb]
            full = o.valid & ~op.ctx[0] & op.full
            full_any = full_any | full
            bad.append((full, slot))
            if d > 0:
                up = o.valid & ~op.ctx[0] & op.en & (op.created | op.removed)
                b = BITS[d - 1]
                self._tree_input(m, d - 1, up, Cat(op.key[b:pb], op.key[pb:]), op.key[:b],
                                 op.created)
        m.d.comb += res.valid.eq(Cat(*[self.st[f"tree{d}"].o.valid
                                       & self.st[f"tree{d}"].o.payload.ctx[0]
                                       for d in range(DEPTHS)]).any())
        m.d.comb += self.tree_full.eq(full_any)
        return bad

    # ---- c9: cache results -> refill requests ----
    def _cache_stage(self, m):
        co, cv = self.st["cache"].o.payload, self.st["cache"].o.valid
        cnt = co.new.count
        # the search's view of a cache result is registered (one cycle later; its waits
        # and the tracking reset move with it): the last cached price's select and
        # NextBest's compares were one path through the cache's output (~21 LUT levels)
        last_px = 0
        for i in range(self.k):
            last_px = last_px | Mux(cnt == i + 1, co.new.lv[i].px, 0)
        c = self.nb.cres
        m.d.sync += [c.valid.eq(cv & co.ctx.srch), c.payload.count.eq(cnt),
                     c.payload.depth.eq(co.new.depth), c.payload.last_px.eq(last_px),
                     c.payload.last_key.eq(tree_key(last_px, co.key[0])),
                     c.payload.same_px.eq(last_px == co.op.px),
                     c.payload.full.eq(cnt == self.k), c.payload.whole.eq(co.new.depth == cnt)]
        w, r = self.refill_q.w_stream, self.refill_q.r_stream
        pipe = cv & ~co.ctx.srch
        # the count's thresholds and `short` registered from the cache's o.new a cycle
        # ahead (o_new): the hold (urgent_now -> issue) starts from registers
        nxt = self.st["cache"].o_new
        short, below_k, below_low = Signal(), Signal(init=1), Signal(init=1)   # o.new = 0
        m.d.sync += short.eq(nxt.depth != nxt.count)
        # a side is queued once; taking it clears the bit, so a change after the job's
        # first exact read queues it again
        # cnt <= k - batch (queue a refill) and cnt < low (hold) as tables of cnt
        # (magnitude compares map to carry chains)
        bk_n, bl_n = Signal(), Signal()
        with m.Switch(nxt.count):
            with m.Case(*range(self.low)):
                m.d.comb += [bk_n.eq(1), bl_n.eq(1)]
            with m.Case(*range(self.low, self.k - self.batch + 1)):
                m.d.comb += bk_n.eq(1)
        m.d.sync += [below_k.eq(bk_n), below_low.eq(bl_n)]
        queued, parity = self._pending_bit(m)
        self.refill_pending = queued            # for tests (tests/test_book_flags.py)
        m.d.comb += [w.valid.eq(pipe & co.en & below_k & short & ~queued),
                     w.payload.eq(Cat(co.key, parity)),
                     self.urgent_now.eq(pipe & co.en & below_low & short)]
        self._low_count(m, below_low & short)
        # a side below `low` is searched next (ahead of the queue: the book holds for it)
        urg = self._urgent_queue(m, co.key)
        nr = self.nb.req
        key = Mux(urg.valid, urg.payload, r.payload[:-1])
        m.d.comb += [nr.valid.eq(urg.valid | r.valid), nr.payload.side.eq(key[0]),
                     nr.payload.slot.eq(key[1:]), r.ready.eq(nr.ready & ~urg.valid),
                     urg.ready.eq(nr.ready), self.nb.urgent.eq(urg.valid)]

    def _urgent_queue(self, m, key):
        """The sides that fell below `low`, in order (their read stream). Why: one
        register kept only the latest, so when two sides fell below `low` in one hold
        the first waited for the whole refill queue (~30 sides deep late in the flood:
        holds of ~900 cycles). A side is not queued again while it is the last one
        queued and still waiting (its in-flight operations each report it); a full
        queue drops a side, which is then served from the refill queue (slower, exact)."""
        q = self.urg_q
        last, last_ok = Signal(len(key)), Signal()
        dup = last_ok & (last == key)
        m.d.comb += [q.w_stream.valid.eq(self.urgent_now & ~dup), q.w_stream.payload.eq(key)]
        with m.If(q.w_stream.valid & q.w_stream.ready):
            m.d.sync += [last.eq(key), last_ok.eq(1)]
        with m.Elif(q.r_stream.valid & q.r_stream.ready):
            m.d.sync += last_ok.eq(0)
        return q.r_stream

    def _low_count(self, m, new_low):
        """n_low: sides whose cache holds fewer than `low` levels of more (each cache
        result: +1 when its new word is low and its old was not, -1 the other way),
        registered steps. Why: the hold for a low side ends when that side is back above
        `low`, not when every queued refill (all sides, to K) is done."""
        co, cv = self.st["cache"].o.payload, self.st["cache"].o.valid
        old_low = Signal()
        with m.Switch(co.old.count):
            with m.Case(*range(self.low)):
                m.d.comb += old_low.eq(co.hit & (co.old.depth != co.old.count))
        # the new word is valid when written or when the old one was (new_low from o_new)
        inc, dec = Signal(), Signal()
        m.d.sync += [inc.eq(cv & (co.en | co.hit) & new_low & ~old_low),
                     dec.eq(cv & old_low & ~((co.en | co.hit) & new_low))]
        m.d.sync += self.n_low.eq(self.n_low + inc - dec)

    def _pending_bit(self, m):
        """(pending[co.key], the parity a set writes). Why memories: a side's pending bit
        is set[side] ^ taken[side], two 1-bit LUT RAMs of 2 << slot_bits words with one
        write port each (a set writes set[side] = ~taken[side], which the queue entry
        carries, so the take writes taken[side] from it without a read), not 512
        flip-flops behind set and clear decoders and a 512:1 select (~1,600 LUTs on the
        board build). The read is registered a cycle ahead with the key the cache's
        output will carry (its input key 3 cycles back, as the store delays it) and
        corrected for that cycle's set and take. A sweep or MAP clears both words of
        the sides the cache clears (the queue is empty then: every bit is 0)."""
        ci, co = self.st["cache"].i, self.st["cache"].o.payload
        cc = self.st["cache"]
        w, r = self.refill_q.w_stream, self.refill_q.r_stream
        n = 2 << self.slot_bits
        assert cc.sets == n and cc.latency == 4
        k1, k2, k3 = (Signal(len(ci.payload.key), name=f"ckey{i}") for i in (1, 2, 3))
        m.d.sync += [k1.eq(ci.payload.key), k2.eq(k1), k3.eq(k2)]
        m.submodules.pend_set = ps = Memory(shape=1, depth=n, init=[], attrs=LUTRAM)
        m.submodules.pend_taken = pt = Memory(shape=1, depth=n, init=[], attrs=LUTRAM)
        take = r.valid & r.ready
        # the cache's clears, registered (as the store takes them): the write address
        # selects from registers
        clr, clr_addr = Signal(name="pend_clr"), Signal(cc.set_bits, name="pend_clr_addr")
        m.d.sync += [clr.eq(cc.clr), clr_addr.eq(cc.clr_addr)]
        sr, tr = Signal(), Signal()
        for mem, en, key, val, rd in ((ps, w.valid, w.payload[:-1], w.payload[-1], sr),
                                      (pt, take, r.payload[:-1], r.payload[-1], tr)):
            wp, rp = mem.write_port(), mem.read_port(domain="comb")
            m.d.comb += [wp.en.eq(en | clr), wp.addr.eq(Mux(clr, clr_addr, key)),
                         wp.data.eq(val & ~clr), rp.addr.eq(k3)]
            m.d.sync += rd.eq(rp.data)
        set_, eq_w, tk, eq_r = Signal(), Signal(), Signal(), Signal()
        m.d.sync += [set_.eq(w.valid), eq_w.eq(w.payload[:-1] == k3), tk.eq(take),
                     eq_r.eq(r.payload[:-1] == k3)]
        # a set needs the bit clear (set == taken): it writes set = ~taken = ~set
        return ((sr ^ tr) | (set_ & eq_w)) & ~(tk & eq_r), ~sr

    # ---- c10: BBO and top-N updates, registered ----
    def _emit(self, m):
        co, cv = self.st["cache"].o.payload, self.st["cache"].o.valid
        bo = self.st["best"].o.payload
        N = self.top_n
        pipe = cv & ~co.ctx.srch
        first, last = co.ctx.first, co.ctx.last
        old_top = Cat(*[co.old.lv[j].as_value() for j in range(N)])
        new_top = Cat(*[co.new.lv[j].as_value() for j in range(N)])
        h_before, h_after = Signal(len(old_top)), Signal(len(old_top))
        h_both, h_side = Signal(Best), Signal()
        before = Mux(first, old_top, h_before)
        after = Mux(co.en, new_top, Mux(first, old_top, h_after))
        both = Mux(co.en, bo.new.as_value(), Mux(first, bo.old.as_value(), h_both.as_value()))
        side = Mux(co.en | first, co.key[0], h_side)
        with m.If(pipe):
            m.d.sync += [h_before.eq(before), h_after.eq(after), h_both.eq(both),
                         h_side.eq(side)]
        lw = data.Layout.cast(Level).size
        m.d.sync += [self.bbo.valid.eq(pipe & last & self._changed(co.en, first, old_top,
                                                                   new_top, h_before, h_after, 64)),
                     self.topn.valid.eq(pipe & last & self._changed(co.en, first, old_top,
                                                                    new_top, h_before, h_after))]
        bp, tp = self.bbo.payload, self.topn.payload
        bv = Signal(Best)
        m.d.comb += bv.eq(both)
        slot = co.ctx.slot
        with m.If(pipe):
            m.d.sync += [
                bp.locate.eq(co.ctx.locate), bp.slot.eq(slot),
                bp.bid_px.eq(bv.bid.px), bp.bid_qty.eq(bv.bid.qty), bp.bid_orders.eq(bv.bid.orders),
                bp.ask_px.eq(bv.ask.px), bp.ask_qty.eq(bv.ask.qty), bp.ask_orders.eq(bv.ask.orders),
                bp.unreliable.eq(self.unreliable.bit_select(slot, 1)),
                bp.halted.eq(co.ctx.halted),
                bp.seq.eq(co.ctx.seq), bp.rx_ts.eq(co.ctx.rx_ts),
                tp.locate.eq(co.ctx.locate), tp.slot.eq(slot), tp.side.eq(side),
                tp.seq.eq(co.ctx.seq), tp.rx_ts.eq(co.ctx.rx_ts),
                tp.unreliable.eq(self.unreliable.bit_select(slot, 1)),
            ]
            for j in range(N):
                m.d.sync += tp.levels[j].as_value().eq(after[j * lw:(j + 1) * lw])
        m.d.comb += [self.ev_bbo_updates.eq(self.bbo.valid),
                     self.ev_topn_updates.eq(self.topn.valid)]

    @staticmethod
    def _changed(en, first, old, new, h_before, h_after, n=None):
        """`before[:n] != after[:n]` of `_emit`, as compares of registers selected after
        (en & first: old/new; en: h_before/new; first alone: equal; else h_before/h_after),
        not one compare behind the before/after selects."""
        n = n or len(old)
        return Mux(en, Mux(first, old[:n] != new[:n], h_before[:n] != new[:n]),
                   ~first & (h_before[:n] != h_after[:n]))

    # ---- subscription commands and sweeps (only with nothing in flight) ----
    def _commands(self, m, busy, idle):
        sb, g = self.slot_bits, self.geo
        cmd_map, cmd_unmap, cmd_flush = Signal(), Signal(), Signal(init=1)
        cmd_state, sweep_subs = Signal(2, init=2), Signal(init=1)
        cmd_locate, cmd_slot = Signal(16), Signal(sb)
        addr = Signal(range(g["sweep"] + 1))
        # addr == sweep - 1, a register set a cycle ahead (the compare reached the 256
        # `unreliable` bits through `clear`: 9 LUT levels)
        assert g["sweep"] >= 2
        addr_last = Signal(name="sweep_last")
        map_clr, clr_all = Signal(name="map_clear"), Signal(name="clear_all")
        stb, sdata = self.stb_sub_cmd, self.stb_sub_cmd_data
        m.d.comb += [self.st_busy.eq(busy), self.ev_cmd_dropped.eq(stb & busy)]
        # the sweep's end clears `unreliable` and `halted` (2 x slots flip-flops' LSR)
        # from a register, a cycle after busy falls: nothing can flag a slot that soon
        # (an operation flags at issue + 10 at the earliest). Why: busy & idle & the
        # state & addr_last into 512 LSR pins spread over the die was the board book's
        # worst placed path (11.44 ns, 10.4 of it wire)
        m.d.sync += clr_all.eq(0)
        with m.If(stb & ~busy):
            m.d.sync += [busy.eq(1), cmd_state.eq(0), addr.eq(0), addr_last.eq(0),
                         cmd_map.eq(sdata[_SUB_CMD.field("MAP").offset]),
                         cmd_unmap.eq(sdata[_SUB_CMD.field("UNMAP").offset]),
                         cmd_flush.eq(sdata[_SUB_CMD.field("FLUSH").offset]),
                         cmd_locate.eq(self.ctl_sub_locate), cmd_slot.eq(self.ctl_sub_slot)]
        st = self.st
        lb = self.locate_bits

        def clr(name, a, en=1):
            m.d.comb += [st[name].clr.eq(en), st[name].clr_addr.eq(a)]
        w = self.subs.w
        with m.If(busy & idle):
            with m.Switch(cmd_state):
                with m.Case(0):     # subscription write; clear the slot's bid side and best
                    m.d.comb += [w.valid.eq((cmd_map | cmd_unmap) & (cmd_locate >> lb == 0)),
                                 w.payload.locate.eq(cmd_locate), w.payload.entry.valid.eq(cmd_map),
                                 w.payload.entry.slot.eq(cmd_slot), map_clr.eq(cmd_map)]
                    for name in ("cache", "tree0"):
                        clr(name, Cat(Const(0, 1), cmd_slot), cmd_map)
                    clr("best", cmd_slot, cmd_map)
                    m.d.sync += cmd_state.eq(1)
                with m.Case(1):     # the slot's ask side
                    for name in ("cache", "tree0"):
                        clr(name, Cat(Const(1, 1), cmd_slot), cmd_map)
                    m.d.sync += cmd_state.eq(2)
                    with m.If(~cmd_flush):
                        m.d.sync += busy.eq(0)
                with m.Case(2):     # sweep every table (and the subscriptions after reset)
                    for name, s in st.items():
                        clr(name, addr[:s.set_bits], addr < s.sets)
                    m.d.comb += [w.valid.eq(sweep_subs & (addr >> lb == 0)),
                                 w.payload.locate.eq(addr[:lb])]
                    m.d.sync += [addr.eq(addr + 1), addr_last.eq(addr == g["sweep"] - 2)]
                    with m.If(addr_last):
                        m.d.sync += [clr_all.eq(1), busy.eq(0), self.live.eq(0), self.table_full.eq(0),
                                     self.n_low.eq(0), sweep_subs.eq(0)]
        map_pre = busy & (cmd_state == 0) & cmd_map         # map_clr but for idle
        return map_clr, map_pre, clr_all, cmd_slot

    # ---- query port and register snapshot (the best copy's second read port) ----
    def _query(self, m):
        sb = self.slot_bits
        best = self.st["best"]
        snap_q, snap_slot, q_slot = Signal(), Signal(sb), Signal(sb)
        sslot = self.stb_snap_slot_data[:sb]
        m.d.comb += best.q_addr.eq(Mux(self.stb_snap_slot, sslot, self.q_slot))
        m.d.sync += [snap_q.eq(self.stb_snap_slot), snap_slot.eq(sslot), q_slot.eq(self.q_slot)]
        qd = best.q_data[0]
        val = Signal(Best)
        m.d.comb += [val.eq(Mux(qd.valid, qd.value.as_value(), 0)), self.q_bbo.eq(val),
                     self.q_halted.eq(self.halted.bit_select(q_slot, 1)),
                     self.q_unreliable.eq(self.unreliable.bit_select(q_slot, 1))]
        with m.If(snap_q):
            m.d.sync += [
                self.st_snap_bid_px.eq(val.bid.px), self.st_snap_bid_qty.eq(val.bid.qty),
                self.st_snap_bid_orders.eq(val.bid.orders),
                self.st_snap_ask_px.eq(val.ask.px), self.st_snap_ask_qty.eq(val.ask.qty),
                self.st_snap_ask_orders.eq(val.ask.orders),
                self.st_snap_flags.eq(Cat(self.unreliable.bit_select(snap_slot, 1),
                                          self.halted.bit_select(snap_slot, 1))),
            ]
