"""The book's HashStore tables: orders, price levels, best-level copy (layouts and `modify`).

Orders: key = the full 64-bit order reference (a hit is never a guess), value = side,
price, shares left and the book slot it rests in: a message naming an order of another
symbol (a corrupted packet that passed every check) is an unknown reference and
changes nothing, as in the model (tickwire/model/book.py), never that symbol's book. Ways of one set (default 8) are read in one word: with 8 ways at
the <= 50 % load the builds are sized for, a full set is rare, and it is counted
(`collisions`) and flags the book. Levels: key = (price, side, slot), value = total
shares and order count: exact per price however deep the side is. Best: per slot the
best bid and ask (the query port and snapshot registers read it).
"""
from amaranth.hdl import Const, Mux, Signal, signed
from amaranth.lib import data

from ..layouts import Level

ADD, REDUCE, DELETE, HALT = range(4)

OrderVal = data.StructLayout({"side": 1, "price": 32, "shares": 32, "slot": 8})
#: u1: the delete half of a U (its side is handed to u2); u2: U's add of new_oref, on the
#: side of the order it replaces.
OrderOp = data.StructLayout({"kind": 2, "side": 1, "shares": 32, "price": 32, "halt": 1,
                             "u1": 1, "u2": 1})
LevelVal = data.StructLayout({"qty": 32, "orders": 16})
LevelOp = data.StructLayout({"dq": signed(33), "dord": signed(2)})
Best = data.StructLayout({"bid": Level, "ask": Level})
BestOp = data.StructLayout({"side": 1})


def order_modify(u_side, u_ok, slot):
    """Order-table change; `u_side`/`u_ok`: the side and hit of the U's delete half;
    `slot`: the message's book slot (with the operation's modify). A reduction or
    delete of an order resting in another slot leaves it as it is (`other_slot`)."""
    def modify(m, op, hit, old, pre=None):
        new = Signal(OrderVal, name="order_new")
        keep, create = Signal(name="order_keep"), Signal(name="order_create")
        # an execution/cancel that leaves shares (`pre`: order_part, compared per way in
        # the store's compare cycle and selected with the hit; 0 on a miss, as here)
        part = pre[0] if pre is not None else op.shares < old.shares
        other = other_slot(old, slot)
        m.d.comb += new.eq(old)
        with m.Switch(op.kind):
            with m.Case(ADD):
                with m.If(~hit):
                    m.d.comb += [new.side.eq(Mux(op.u2, u_side, op.side)),
                                 new.price.eq(op.price), new.shares.eq(op.shares),
                                 new.slot.eq(slot)]
                m.d.comb += [keep.eq(1), create.eq(~op.u2 | u_ok)]
            with m.Case(REDUCE):
                with m.If(other):
                    m.d.comb += keep.eq(1)
                with m.Else():
                    m.d.comb += [new.shares.eq(Mux(part, old.shares - op.shares, 0)),
                                 keep.eq(part)]
            with m.Case(DELETE):
                with m.If(other):
                    m.d.comb += keep.eq(1)
                with m.Else():
                    m.d.comb += new.shares.eq(0)
        return new, keep, create
    return modify


def order_part(m, op, value):
    """HashStore `way_prepare` of the order table: a reduction leaves shares."""
    return op.shares < value.shares


def other_slot(old, slot):
    """The order found rests in another book slot than the message's."""
    return old.slot != slot


def level_modify(m, op, hit, old):
    """Add dq shares and dord orders; a level exists while it has orders; only an
    order's arrival (dord = +1) creates one."""
    new = Signal(LevelVal, name="level_new")
    m.d.comb += [new.qty.eq(old.qty + op.dq), new.orders.eq(old.orders + op.dord)]
    # the last order leaving (parallel to the adders, not after them)
    return new, ~((op.dord == -1) & (old.orders == 1)), op.dord == 1


def best_modify(level):
    """Best copy: this side's best is `level` (the cache's new best, same cycle). A
    HashStore with `unwritten_old`: the word is the old one unless it writes, so
    `o_new` is this select itself (one LUT behind `level`), not a second new-or-old
    select after it."""
    def modify(m, op, hit, old, write):
        new = Signal(Best, name="best_new")
        w_bid, w_ask = (Signal(name=f"best_w_{n}", attrs={"keep": 1}) for n in ("bid", "ask"))
        m.d.comb += [w_bid.eq(write & ~op.side), w_ask.eq(write & op.side),
                     new.bid.eq(Mux(w_bid, level, old.bid)),
                     new.ask.eq(Mux(w_ask, level, old.ask))]
        return new, Const(1, 1), Const(1, 1)
    return modify
