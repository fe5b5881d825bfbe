"""One price-level operation on a sorted level array, as combinational logic.

A side's best K levels are kept sorted best first (bids by descending, asks by
ascending price), so the whole update is parallel compares plus a one-place shift:
a change at an existing price updates it in place, a level whose order count falls
to zero is removed (levels behind it move up), and a new price is inserted at the
first level it beats (levels behind it move down).

Depth beyond K: each side keeps a *floor*, the best price it has stopped tracking.
Every kept level is strictly better than the floor and exact; every untracked order
rests at or beyond it. A level pushed past level K (or a new price beyond a full
array) moves the floor up to it (`overflow`); later adds and reductions at or
beyond the floor are not tracked. So the kept levels stay exact while levels
drain from the top; the side's top N is only unknown once fewer than N levels are
kept above a floor (the caller marks the book unreliable then). Reducing a price
better than the floor that is not kept is an inconsistency (`miss`).
"""
from amaranth.hdl import Cat, Const, Mux, Signal
from amaranth.lib import data

from ..layouts import Level
from .layouts import Floor


def apply_level_op(m, name, arr, floor, ask, px, dq, dord, en):
    """Return (out, out_floor, overflow, miss): `arr` after adding dq shares and dord
    orders at px.

    arr: ArrayLayout(Level, K) value; floor: Floor value (valid, px); ask: 1 for the ask
    side; dq: signed shares delta; dord: signed order-count delta (-1, 0, +1); en: apply.
    """
    k = len(arr)
    lw = data.Layout.cast(Level).size
    out = Signal(data.ArrayLayout(Level, k), name=f"{name}_out")
    out_floor = Signal(Floor, name=f"{name}_floor")
    overflow = Signal(name=f"{name}_overflow")
    miss = Signal(name=f"{name}_miss")

    occ = Signal(k, name=f"{name}_occ")
    match = Signal(k, name=f"{name}_match")
    better = Signal(k, name=f"{name}_better")     # level i is strictly better than px
    for i in range(k):
        lv = arr[i]
        m.d.comb += [
            occ[i].eq(lv.orders != 0),
            match[i].eq((lv.orders != 0) & (lv.px == px)),
            better[i].eq((lv.orders != 0) & Mux(ask, lv.px < px, lv.px > px)),
        ]
    found = match.any()
    tracked = Signal(name=f"{name}_tracked")       # px is strictly better than the floor
    m.d.comb += tracked.eq(~floor.valid | Mux(ask, px < floor.px, px > floor.px))
    sel_orders = Signal(16, name=f"{name}_sel_orders")
    acc = 0
    for i in range(k):
        acc = acc | Mux(match[i], arr[i].orders, 0)
    m.d.comb += sel_orders.eq(acc)
    remove = found & ((sel_orders + dord)[:16] == 0)
    insert = ~found & (dord == 1) & tracked
    beyond = better.all()                          # a new price past every kept level
    full = occ[k - 1]

    empty = Const(0, lw)
    new_lvl = Cat(px[:32], dq[:32], Const(1, 16))
    after = 0                                    # prefix OR of match: at or past the match
    for i in range(k):
        after = after | match[i]
        lv = arr[i].as_value()
        upd = Cat(arr[i].px, (arr[i].qty + dq)[:32], (arr[i].orders + dord)[:16])
        nxt = arr[i + 1].as_value() if i + 1 < k else empty
        prev = arr[i - 1].as_value() if i > 0 else empty
        ins_here = ~better[i] & (better[i - 1] if i > 0 else 1)
        v_found = Mux(remove, Mux(after, nxt, lv), Mux(match[i], upd, lv))
        v_insert = Mux(better[i], lv, Mux(ins_here, new_lvl, prev))
        m.d.comb += out[i].as_value().eq(
            Mux(~en, lv, Mux(found, v_found, Mux(insert, v_insert, lv))))
    m.d.comb += [
        overflow.eq(en & insert & full),
        miss.eq(en & ~found & (dord != 1) & tracked),
        out_floor.eq(floor),
    ]
    with m.If(en & insert & full):
        # the new price itself when it is past a full array, else the pushed-out level
        m.d.comb += [out_floor.valid.eq(1),
                     out_floor.px.eq(Mux(beyond, px, arr[k - 1].px))]
    return out, out_floor, overflow, miss
