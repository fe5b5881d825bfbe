"""OrderBook: order-by-order books for up to `slots` subscribed symbols, in BRAM.

Why this shape: a feed handler's consumer wants the top of book within a few cycles
of the wire, for a small set of symbols, and must know when the book can't be trusted.

Pipeline (one message every 2 cycles; 3 cycles from `i.valid` to `bbo.valid`):
  c0  accept; read sub[locate] and the order-table sets of oref and new_oref
  c1  resolve the order (hit / free way), write the order table, update flags,
      read the slot's level array for the side
  c2  apply <= 2 level operations (U = remove old + add new, same side), write the
      level array and the slot's best-level copy back
  c3  BBO / top-N update registered out
Issuing every other cycle means each read-modify-write has landed before the next
message reads, so no forwarding is needed. `i.ready` drops on the odd cycle (and
while a subscription command runs); the lead's FIFO in front absorbs bursts.

Tables:
* Subscription: a locate-indexed memory (2**locate_bits entries of valid + slot),
  written through `sub_locate`/`sub_slot` + `sub_cmd` (MAP also clears the slot;
  FLUSH sweeps the order table and all books, one set per cycle, for start of day).
  Messages for other locates are dropped and counted (`ignored`). Reset runs the
  same sweep over every table, subscriptions included (`reset_cycles`), since block
  RAM survives a reset; `busy` reads 1 while a sweep or command runs, and a SUB_CMD
  written then is dropped and counted (`cmd_dropped`), so software waits on `busy`.
* Orders: a two-choice set-associative hash table: `orders` entries in two banks of
  sets of `ways` (default 4), each bank indexed by its own H3 hash of the 64-bit
  reference (rtl/book/hashing.py). An add goes into whichever of its two candidate
  sets has more free ways, a lookup reads both. Two choices keep the fullest set near
  the average: the 1 M-message 64-symbol synthetic day (117,695 live orders at peak
  in a 262,144-entry table) inserts without one collision, where one 4-way hash
  collided 3,393 times. Entries hold the full reference, slot, side, price and
  shares. An add into two full sets (`collisions`) or a full table (`table_full`),
  or a reference we don't hold (`unknown_ref`), marks that slot unreliable: status
  bit, and carried in every BBO update.
* Levels: per slot and side, the best `levels` price levels (price, shares, order
  count) kept sorted in one wide memory word with the side's floor, the best price
  no longer tracked (rtl/book/levels.py). Default 64: the AAPL sample peaks at 53
  levels on a side. A level pushed past the kept depth is counted (`depth_overflow`)
  and raises the floor; the kept levels stay exact, so the book is only marked
  unreliable when fewer than `top_n` levels are kept above a floor (the top N is then
  unknown), or on a reduction at a kept price that is not there (`level_miss`, an
  inconsistency). Reductions of untracked orders beyond the floor are expected.
* Best copy: per slot best bid/ask in LUT RAM with asynchronous reads, for the
  risk-gate query port (`q_slot` -> `q_bbo`, same cycle) and the register snapshot.

Scaling to a full Nasdaq day (~1.65 M live orders, 8,371 symbols, up to 2,975
live orders in one book): the order table moves to external memory (DDR/HBM or QDR
SRAM: 4 M entries x ~18 bytes = 72 MB at the same ~45 % peak load the synthetic day
runs at; each bank's 4-way set is one 64-byte burst, and the two banks map to two
memory channels read in parallel, so a message still costs one access per channel;
the 2-cycle issue stays, with more stages for the memory latency and forwarding
between messages in flight). The subscription table is already locate-indexed
(locate_bits=14 covers 16,384 locates); slots grow to all symbols by keeping level
words in external memory too, with the hot slots cached in BRAM. Depth: a busy book
has hundreds of levels; the floor keeps the best K exact, and only a book that
drains below top_n kept levels over an untracked floor is flagged (a refill of the
kept levels from the order table, at the quiet moments, would clear it).
"""
from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..layouts import BboUpdate, ItchMsg, top_n_layout
from ..regmap.binding import register_members
from . import regs
from .layouts import Best, order_entry, order_set, side_levels
from .hashing import h3_hash
from .levels import apply_level_op

#: The message types that change a book (the core filters everything else out before
#: the book's FIFO).
BOOK_TYPES = "AFECXDUH"
_SUB_CMD = regs.BLOCK.reg("sub_cmd")
_A, _F, _E, _C, _X, _D, _U, _H = (ord(c) for c in BOOK_TYPES)
_SELL = ord("S")
_HALT_STATES = (ord("H"), ord("P"))


def set_index(oref, bits, bank):
    """The set of `bank` (0 or 1) that may hold reference `oref` (int or Amaranth value)."""
    return h3_hash(oref, bits, bank)


class OrderBook(wiring.Component):
    registers = regs.ORDER_BOOK

    def __init__(self, slots=64, orders=262144, levels=64, top_n=5, ways=4, locate_bits=14):
        assert slots <= 256 and orders % ways == 0 and top_n <= levels
        sets = orders // ways // 2          # per bank
        assert sets >= 2 and sets & (sets - 1) == 0, "orders/(2*ways) must be a power of two"
        self.slots, self.orders, self.levels, self.top_n = slots, orders, levels, top_n
        self.ways, self.sets, self.locate_bits = ways, sets, locate_bits
        self.set_bits = max(1, sets.bit_length() - 1)
        self.slot_bits = max(1, (slots - 1).bit_length())
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
        """Cycles SUB_CMD.FLUSH sweeps (one order-table set of each bank, or one level
        word, per cycle), plus its two set-up cycles."""
        return max(self.sets, 2 * self.slots) + 2

    @property
    def reset_cycles(self):
        """Cycles the sweep after reset takes (FLUSH's tables and the subscriptions):
        memories keep their contents through a reset, and a reset must leave no stale
        order, level or subscription behind. `busy` reads 1 until it ends."""
        return max(self.sets, 2 * self.slots, 1 << self.locate_bits)

    @staticmethod
    def sweep_cycles(slots=64, orders=262144, ways=4, locate_bits=14, **_):
        """`reset_cycles` of a book with these parameters, without constructing one (an
        OrderBook built only to read a property is never elaborated: UnusedElaboratable)."""
        return max(orders // ways // 2, 2 * slots, 1 << locate_bits)

    def elaborate(self, platform):
        m = Module()
        K, N, W = self.levels, self.top_n, self.ways
        sb = self.slot_bits
        SubEntry = data.StructLayout({"valid": 1, "slot": sb})
        Entry = order_entry(sb)
        Side = side_levels(K)

        m.submodules.sub_mem = sub_mem = Memory(shape=SubEntry, depth=1 << self.locate_bits, init=[])
        # no_rw_check: a read colliding with a write returns don't-care. By default a read
        # returns the old word, which a DP16KD can't promise across its two ports, so
        # Yosys built each bank from flip-flops. Reads (c0) and writes (c1, flush) never
        # meet in a cycle whose read data is used, so the promise was never needed.
        ord_mems = [Memory(shape=order_set(sb, W), depth=self.sets, init=[],
                           attrs={"no_rw_check": 1}) for _ in range(2)]
        m.submodules.ord_mem0, m.submodules.ord_mem1 = ord_mems
        m.submodules.lvl_mem = lvl_mem = Memory(shape=Side, depth=2 * self.slots, init=[])
        m.submodules.best_mem = best_mem = Memory(shape=Best, depth=self.slots, init=[])
        sub_rd, sub_wr = sub_mem.read_port(), sub_mem.write_port()
        # per bank: the set of oref (a) and of U's new_oref (b), read in c0, written in c1
        ord_rd_a = [mem.read_port() for mem in ord_mems]
        ord_rd_b = [mem.read_port() for mem in ord_mems]
        # Each bank's read port and write port of a kind share one address: reads happen
        # in c0, writes in c1 (or a flush), never together, so synthesis maps each pair
        # to one port of a true dual-port BRAM.
        addr_a = [Signal(self.set_bits, name=f"ord_addr_a{c}") for c in range(2)]
        addr_b = [Signal(self.set_bits, name=f"ord_addr_b{c}") for c in range(2)]
        ord_wr_a = [mem.write_port() for mem in ord_mems]
        ord_wr_b = [mem.write_port() for mem in ord_mems]
        lvl_rd, lvl_wr = lvl_mem.read_port(), lvl_mem.write_port()
        best_rd = best_mem.read_port(domain="comb")
        q_rd = best_mem.read_port(domain="comb")
        snap_rd = best_mem.read_port(domain="comb")
        best_wr = best_mem.write_port()

        unreliable = Signal(self.slots)
        halted = Signal(self.slots)
        live = Signal(32)
        m.d.comb += [self.st_unreliable.eq(unreliable), self.st_halted.eq(halted),
                     self.st_orders_live.eq(live)]

        # ---- subscription commands: run only while the pipeline is empty ----
        # Reset starts in the sweep (state 2) with the subscriptions included: block
        # RAM keeps its contents through a reset, and stale orders would collide with
        # the next session's references.
        cmd_pending = Signal(init=1)
        cmd_map = Signal()
        cmd_unmap = Signal()
        cmd_locate = Signal(16)
        cmd_slot = Signal(sb)
        s1_valid = Signal()
        s2_valid = Signal()
        cmd_flush = Signal(init=1)
        cmd_state = Signal(2, init=2)
        sweep_subs = Signal(init=1)
        flush_addr = Signal(range(self.reset_cycles + 1))
        m.d.comb += [self.st_busy.eq(cmd_pending),
                     self.ev_cmd_dropped.eq(self.stb_sub_cmd & cmd_pending)]
        with m.If(self.stb_sub_cmd & ~cmd_pending):
            m.d.sync += [cmd_pending.eq(1), cmd_state.eq(0), flush_addr.eq(0),
                         cmd_map.eq(self.stb_sub_cmd_data[_SUB_CMD.field("MAP").offset]),
                         cmd_unmap.eq(self.stb_sub_cmd_data[_SUB_CMD.field("UNMAP").offset]),
                         cmd_flush.eq(self.stb_sub_cmd_data[_SUB_CMD.field("FLUSH").offset]),
                         cmd_locate.eq(self.ctl_sub_locate), cmd_slot.eq(self.ctl_sub_slot)]
        cmd_run = cmd_pending & ~s1_valid & ~s2_valid

        # ---- c0: accept and read ----
        m.d.comb += self.i.ready.eq(~s1_valid & ~cmd_pending)
        take = self.i.valid & self.i.ready
        msg = self.i.payload
        s1 = Signal(ItchMsg)
        s1_idx_a = [Signal(self.set_bits, name=f"s1_idx_a{c}") for c in range(2)]
        s1_idx_b = [Signal(self.set_bits, name=f"s1_idx_b{c}") for c in range(2)]
        s1_loc_ok = Signal()
        m.d.comb += [
            sub_rd.addr.eq(msg.locate[:self.locate_bits]),
            self.ev_msgs.eq(take),
        ]
        for c in range(2):
            m.d.comb += [ord_rd_a[c].addr.eq(addr_a[c]), ord_wr_a[c].addr.eq(addr_a[c]),
                         ord_rd_b[c].addr.eq(addr_b[c]), ord_wr_b[c].addr.eq(addr_b[c]),
                         addr_a[c].eq(Mux(s1_valid, s1_idx_a[c],
                                          set_index(msg.oref, self.set_bits, c))),
                         addr_b[c].eq(Mux(s1_valid, s1_idx_b[c],
                                          set_index(msg.new_oref, self.set_bits, c)))]
        m.d.sync += s1_valid.eq(take)
        with m.If(take):
            m.d.sync += [s1.eq(msg), s1_loc_ok.eq(msg.locate >> self.locate_bits == 0)]
            for c in range(2):
                m.d.sync += [s1_idx_a[c].eq(set_index(msg.oref, self.set_bits, c)),
                             s1_idx_b[c].eq(set_index(msg.new_oref, self.set_bits, c))]

        # ---- c1: resolve the order, write the order table ----
        t = s1.type
        sub = sub_rd.data
        slot = sub.slot
        book_type = Signal()
        m.d.comb += book_type.eq((t == _A) | (t == _F) | (t == _E) | (t == _C) | (t == _X)
                                 | (t == _D) | (t == _U) | (t == _H))
        active = s1_valid & book_type & sub.valid & s1_loc_ok
        m.d.comb += self.ev_ignored.eq(s1_valid & book_type & ~(sub.valid & s1_loc_ok))
        is_add = (t == _A) | (t == _F)
        is_reduce = (t == _E) | (t == _C) | (t == _X) | (t == _D)
        is_u = t == _U

        set_a = [ord_rd_a[c].data for c in range(2)]
        set_b = [ord_rd_b[c].data for c in range(2)]
        same_set = [s1_idx_a[c] == s1_idx_b[c] for c in range(2)]

        def bits(name):
            return [Signal(W, name=f"{name}{c}") for c in range(2)]

        hit, dup_a, free_a, dup_b, free_b = (bits(n) for n in ("hit", "dup_a", "free_a",
                                                                "dup_b", "free_b"))
        for c in range(2):
            for w in range(W):
                ea, eb = set_a[c][w], set_b[c][w]
                m.d.comb += [
                    hit[c][w].eq(ea.valid & (ea.oref == s1.oref) & (ea.slot == slot)),
                    dup_a[c][w].eq(ea.valid & (ea.oref == s1.oref)),
                    free_a[c][w].eq(~ea.valid),
                    free_b[c][w].eq(~eb.valid),
                    dup_b[c][w].eq(eb.valid & (eb.oref == s1.new_oref)
                                   & ~(same_set[c] & hit[c][w])),
                ]

        def first(bits, name):
            idx = Signal(range(W), name=name)
            for w in reversed(range(W)):
                with m.If(bits[w]):
                    m.d.comb += idx.eq(w)
            return idx

        def n_free(bits):
            return sum(bits[w] for w in range(W))

        hit_any = hit[0].any() | hit[1].any()
        hit_bank = Signal()                 # the bank holding oref (a reference is in one)
        m.d.comb += hit_bank.eq(~hit[0].any())
        hit_w = Signal(range(W))
        m.d.comb += hit_w.eq(Mux(hit_bank, first(hit[1], "hit_w1"), first(hit[0], "hit_w0")))
        # two-choice insertion: the candidate set with more free ways (bank 0 on a tie)
        ins_a = Signal()
        ins_b = Signal()
        m.d.comb += [ins_a.eq(n_free(free_a[1]) > n_free(free_a[0])),
                     ins_b.eq(n_free(free_b[1]) > n_free(free_b[0]))]
        free_a_w = [first(free_a[c], f"free_a_w{c}") for c in range(2)]
        free_b_w = [first(free_b[c], f"free_b_w{c}") for c in range(2)]
        free_a_any = free_a[0].any() | free_a[1].any()
        free_b_any = free_b[0].any() | free_b[1].any()
        dup_a_any = dup_a[0].any() | dup_a[1].any()
        dup_b_any = dup_b[0].any() | dup_b[1].any()
        same_set_hit = Mux(hit_bank, same_set[1], same_set[0])
        ent = Signal(Entry)
        acc = 0
        for c in range(2):
            for w in range(W):
                acc = acc | Mux(hit[c][w], set_a[c][w].as_value(), 0)
        m.d.comb += ent.as_value().eq(acc)

        new_ent = Signal(Entry)
        # valid from a signal, not a constant: Verilator never runs an `always @*` that
        # reads nothing, which is what a lone constant slice assignment becomes.
        m.d.comb += [new_ent.valid.eq(s1_valid), new_ent.slot.eq(slot), new_ent.price.eq(s1.price),
                     new_ent.shares.eq(s1.shares)]
        with m.If(is_u):
            m.d.comb += [new_ent.oref.eq(s1.new_oref), new_ent.side.eq(ent.side)]
        with m.Else():
            m.d.comb += [new_ent.oref.eq(s1.oref), new_ent.side.eq(s1.side == _SELL)]

        n_exec = Signal(32)
        with m.If((t == _D) | (s1.shares >= ent.shares)):
            m.d.comb += n_exec.eq(ent.shares)
        with m.Else():
            m.d.comb += n_exec.eq(s1.shares)
        left = Signal(32)
        m.d.comb += left.eq(ent.shares - n_exec)

        wa_data = [Signal(order_set(sb, W), name=f"wa_data{c}") for c in range(2)]
        wb_data = [Signal(order_set(sb, W), name=f"wb_data{c}") for c in range(2)]
        for c in range(2):
            m.d.comb += [wa_data[c].eq(set_a[c]), wb_data[c].eq(set_b[c]),
                         ord_wr_a[c].data.eq(wa_data[c]), ord_wr_b[c].data.eq(wb_data[c])]

        def comb(*stmts):
            m.d.comb += stmts

        def in_bank(bank, fn):
            """Apply fn(c) to the bank selected by the 1-bit signal `bank`."""
            with m.If(bank):
                fn(1)
            with m.Else():
                fn(0)

        # level operations handed to c2
        op_side = Signal()
        op1_px, op2_px = Signal(32), Signal(32)
        op1_dq, op2_dq = Signal(signed(33)), Signal(signed(33))
        op1_do = Signal(signed(2))
        op1_en, op2_en = Signal(), Signal()
        bad = Signal()          # this message makes its slot unreliable
        full = live >= self.orders
        live_inc, live_dec = Signal(), Signal()

        with m.If(active):
            with m.If(is_add):
                with m.If(dup_a_any | ~free_a_any):
                    m.d.comb += bad.eq(1)
                    with m.If(full):
                        m.d.comb += self.ev_table_full.eq(1)
                    with m.Else():
                        m.d.comb += self.ev_collisions.eq(1)
                with m.Else():
                    in_bank(ins_a, lambda c: comb(
                        [wa_data[c][free_a_w[c]].eq(new_ent), ord_wr_a[c].en.eq(1)]))
                    m.d.comb += [live_inc.eq(1),
                                 op_side.eq(new_ent.side), op1_px.eq(s1.price),
                                 op1_dq.eq(s1.shares), op1_do.eq(1), op1_en.eq(1)]
            with m.Elif(is_reduce | is_u):
                with m.If(~hit_any):
                    m.d.comb += [bad.eq(1), self.ev_unknown_ref.eq(1)]
                with m.Elif(is_reduce):
                    m.d.comb += [op_side.eq(ent.side), op1_px.eq(ent.price),
                                 op1_dq.eq(-n_exec), op1_en.eq(1)]
                    in_bank(hit_bank, lambda c: comb(ord_wr_a[c].en.eq(1)))
                    with m.If(left == 0):
                        in_bank(hit_bank, lambda c: comb(
                            wa_data[c][hit_w].valid.eq(0)))
                        m.d.comb += [op1_do.eq(-1), live_dec.eq(1)]
                    with m.Else():
                        in_bank(hit_bank, lambda c: comb(
                            wa_data[c][hit_w].shares.eq(left)))
                        m.d.comb += op1_do.eq(0)
                with m.Else():   # U: old reference out, new one in on the same side
                    m.d.comb += [op_side.eq(ent.side), op1_px.eq(ent.price),
                                 op1_dq.eq(-ent.shares), op1_do.eq(-1), op1_en.eq(1)]
                    in_bank(hit_bank, lambda c: comb(ord_wr_a[c].en.eq(1)))
                    with m.If(same_set_hit & ~dup_b_any):
                        # the new reference hashes to the old one's set: take its way
                        in_bank(hit_bank, lambda c: comb(
                            wa_data[c][hit_w].eq(new_ent)))
                        m.d.comb += [op2_en.eq(1), op2_px.eq(s1.price), op2_dq.eq(s1.shares)]
                    with m.Else():
                        in_bank(hit_bank, lambda c: comb(
                            wa_data[c][hit_w].valid.eq(0)))
                        with m.If(free_b_any & ~dup_b_any):
                            in_bank(ins_b, lambda c: comb(
                                [wb_data[c][free_b_w[c]].eq(new_ent), ord_wr_b[c].en.eq(1)]))
                            m.d.comb += [op2_en.eq(1), op2_px.eq(s1.price),
                                         op2_dq.eq(s1.shares)]
                        with m.Else():
                            m.d.comb += [bad.eq(1), live_dec.eq(1), self.ev_collisions.eq(1)]
            with m.Elif(t == _H):
                halt = (s1.state == _HALT_STATES[0]) | (s1.state == _HALT_STATES[1])
                m.d.sync += halted.bit_select(slot, 1).eq(halt)
        m.d.sync += live.eq(live + live_inc - live_dec)

        # c1 -> c2 registers
        s2_slot = Signal(sb)
        s2_side = Signal()
        s2_locate = Signal(16)
        s2_seq = Signal(64)
        s2_ts = Signal.like(s1.rx_ts)
        s2_op1_px, s2_op2_px = Signal(32), Signal(32)
        s2_op1_dq, s2_op2_dq = Signal(signed(33)), Signal(signed(33))
        s2_op1_do = Signal(signed(2))
        s2_op2_en = Signal()
        m.d.sync += s2_valid.eq(active & op1_en)
        m.d.comb += lvl_rd.addr.eq(Cat(op_side, slot))
        with m.If(active & op1_en):
            m.d.sync += [s2_slot.eq(slot), s2_side.eq(op_side), s2_locate.eq(s1.locate),
                         s2_seq.eq(s1.seq), s2_ts.eq(s1.rx_ts),
                         s2_op1_px.eq(op1_px), s2_op1_dq.eq(op1_dq), s2_op1_do.eq(op1_do),
                         s2_op2_en.eq(op2_en), s2_op2_px.eq(op2_px), s2_op2_dq.eq(op2_dq)]

        # ---- c2: level update ----
        arr = lvl_rd.data.levels
        a1, f1, ovf1, miss1 = apply_level_op(m, "op1", arr, lvl_rd.data.floor, s2_side,
                                             s2_op1_px, s2_op1_dq, s2_op1_do, s2_valid)
        a2, f2, ovf2, miss2 = apply_level_op(m, "op2", a1, f1, s2_side, s2_op2_px, s2_op2_dq,
                                             Const(1, signed(2)), s2_valid & s2_op2_en)
        overflow = ovf1 | ovf2
        miss = miss1 | miss2
        # fewer than N kept levels above a floor: this side's top N is no longer known
        thin = Signal()
        m.d.comb += thin.eq(s2_valid & f2.valid & (a2[N - 1].orders == 0))
        m.d.comb += [self.ev_depth_overflow.eq(overflow), self.ev_level_miss.eq(miss),
                     best_rd.addr.eq(s2_slot)]
        new_best = Signal(Best)
        m.d.comb += new_best.eq(best_rd.data)
        with m.If(s2_side):
            m.d.comb += new_best.ask.eq(a2[0])
        with m.Else():
            m.d.comb += new_best.bid.eq(a2[0])
        bbo_changed = (a2[0].px != arr[0].px) | (a2[0].qty != arr[0].qty)
        top_changed = Cat(*[a2[j].as_value() != arr[j].as_value() for j in range(N)]).any()

        # writes: the pipeline in c2, or a command (pipeline empty)
        bad_mask = Mux(bad, Const(1, self.slots) << slot, 0)
        ovf_mask = Mux(s2_valid & (thin | miss), Const(1, self.slots) << s2_slot, 0)
        sweep_len = Mux(sweep_subs, self.reset_cycles, max(self.sets, 2 * self.slots))
        with m.If(cmd_run):
            clear_mask = Mux(cmd_map, Const(1, self.slots) << cmd_slot, 0)
            with m.Switch(cmd_state):
                with m.Case(0):     # subscription write; clear the slot's bid side and best
                    m.d.comb += [lvl_wr.addr.eq(Cat(Const(0, 1), cmd_slot)), lvl_wr.data.eq(0),
                                 lvl_wr.en.eq(cmd_map), best_wr.addr.eq(cmd_slot),
                                 best_wr.data.eq(0), best_wr.en.eq(cmd_map),
                                 sub_wr.addr.eq(cmd_locate[:self.locate_bits]),
                                 sub_wr.data.valid.eq(cmd_map), sub_wr.data.slot.eq(cmd_slot),
                                 sub_wr.en.eq((cmd_map | cmd_unmap)
                                              & (cmd_locate >> self.locate_bits == 0))]
                    m.d.sync += [cmd_state.eq(1), unreliable.eq(unreliable & ~clear_mask),
                                 halted.eq(halted & ~clear_mask)]
                with m.Case(1):     # the slot's ask side
                    m.d.comb += [lvl_wr.addr.eq(Cat(Const(1, 1), cmd_slot)), lvl_wr.data.eq(0),
                                 lvl_wr.en.eq(cmd_map)]
                    m.d.sync += cmd_state.eq(2)
                    with m.If(~cmd_flush):
                        m.d.sync += cmd_pending.eq(0)
                with m.Case(2):     # flush: sweep every table but the subscriptions
                    m.d.comb += [lvl_wr.addr.eq(flush_addr), lvl_wr.data.eq(0),
                                 lvl_wr.en.eq(flush_addr < 2 * self.slots),
                                 best_wr.addr.eq(flush_addr), best_wr.data.eq(0),
                                 best_wr.en.eq(flush_addr < self.slots),
                                 addr_a[0].eq(flush_addr), ord_wr_a[0].data.eq(0),
                                 ord_wr_a[0].en.eq(flush_addr < self.sets),
                                 addr_a[1].eq(flush_addr), ord_wr_a[1].data.eq(0),
                                 ord_wr_a[1].en.eq(flush_addr < self.sets),
                                 sub_wr.addr.eq(flush_addr), sub_wr.data.eq(0),
                                 sub_wr.en.eq(sweep_subs & (flush_addr >> self.locate_bits == 0))]
                    m.d.sync += flush_addr.eq(flush_addr + 1)
                    with m.If(flush_addr == sweep_len - 1):
                        m.d.sync += [cmd_pending.eq(0), live.eq(0), unreliable.eq(0),
                                     halted.eq(0), sweep_subs.eq(0)]
        with m.Else():
            m.d.comb += [lvl_wr.addr.eq(Cat(s2_side, s2_slot)), lvl_wr.data.levels.eq(a2),
                         lvl_wr.data.floor.eq(f2),
                         lvl_wr.en.eq(s2_valid), best_wr.addr.eq(s2_slot),
                         best_wr.data.eq(new_best), best_wr.en.eq(s2_valid)]
            m.d.sync += unreliable.eq(unreliable | bad_mask | ovf_mask)

        # ---- c3: registered outputs ----
        rel_now = unreliable.bit_select(s2_slot, 1) | thin | miss
        m.d.sync += [self.bbo.valid.eq(s2_valid & bbo_changed),
                     self.topn.valid.eq(s2_valid & top_changed)]
        bp, tp = self.bbo.payload, self.topn.payload
        with m.If(s2_valid):
            m.d.sync += [
                bp.locate.eq(s2_locate), bp.slot.eq(s2_slot),
                bp.bid_px.eq(new_best.bid.px), bp.bid_qty.eq(new_best.bid.qty),
                bp.bid_orders.eq(new_best.bid.orders),
                bp.ask_px.eq(new_best.ask.px), bp.ask_qty.eq(new_best.ask.qty),
                bp.ask_orders.eq(new_best.ask.orders),
                bp.unreliable.eq(rel_now), bp.halted.eq(halted.bit_select(s2_slot, 1)),
                bp.seq.eq(s2_seq), bp.rx_ts.eq(s2_ts),
                tp.locate.eq(s2_locate), tp.slot.eq(s2_slot), tp.side.eq(s2_side),
                tp.seq.eq(s2_seq), tp.rx_ts.eq(s2_ts), tp.unreliable.eq(rel_now),
            ]
            for j in range(N):
                m.d.sync += tp.levels[j].eq(a2[j])
        m.d.comb += [self.ev_bbo_updates.eq(self.bbo.valid),
                     self.ev_topn_updates.eq(self.topn.valid)]

        # ---- query port and register snapshot ----
        m.d.comb += [q_rd.addr.eq(self.q_slot), self.q_bbo.eq(q_rd.data),
                     self.q_halted.eq(halted.bit_select(self.q_slot, 1)),
                     self.q_unreliable.eq(unreliable.bit_select(self.q_slot, 1)),
                     snap_rd.addr.eq(self.stb_snap_slot_data[:sb])]
        with m.If(self.stb_snap_slot):
            snap = snap_rd.data
            sslot = self.stb_snap_slot_data[:sb]
            m.d.sync += [
                self.st_snap_bid_px.eq(snap.bid.px), self.st_snap_bid_qty.eq(snap.bid.qty),
                self.st_snap_bid_orders.eq(snap.bid.orders),
                self.st_snap_ask_px.eq(snap.ask.px), self.st_snap_ask_qty.eq(snap.ask.qty),
                self.st_snap_ask_orders.eq(snap.ask.orders),
                self.st_snap_flags.eq(Cat(unreliable.bit_select(sslot, 1),
                                          halted.bit_select(sslot, 1))),
            ]
        return m
