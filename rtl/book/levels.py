"""One price-level operation on a sorted level array, as combinational logic.

A side's best K levels are kept sorted best first (bids by descending, asks by
ascending price), so the whole update is parallel compares plus a one-place shift:
a change at an existing price updates it in place, a level whose order count falls
to zero is removed (levels behind it move up), and a new price is inserted at the
first level it beats (levels behind it move down). Anything that would fall past
level K is reported as `overflow`; reducing a level that is not kept as `miss`.
Both make the book unreliable: never silently wrong.
"""
from amaranth.hdl import Cat, Const, Mux, Signal
from amaranth.lib import data

from ..layouts import Level


def apply_level_op(m, name, arr, ask, px, dq, dord, en):
    """Return (out, overflow, miss): `arr` after adding dq shares and dord orders at px.

    arr: ArrayLayout(Level, K) value; ask: 1 for the ask side; dq: signed shares delta;
    dord: signed order-count delta (-1, 0, +1); en: apply at all.
    """
    k = len(arr)
    lw = data.Layout.cast(Level).size
    out = Signal(data.ArrayLayout(Level, k), name=f"{name}_out")
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
    sel_orders = Signal(16, name=f"{name}_sel_orders")
    m.d.comb += sel_orders.eq(0)
    acc = 0
    for i in range(k):
        acc = acc | Mux(match[i], arr[i].orders, 0)
    m.d.comb += sel_orders.eq(acc)
    remove = found & ((sel_orders + dord)[:16] == 0)
    insert = ~found & (dord == 1)

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
        overflow.eq(en & insert & (better.all() | occ[k - 1])),
        miss.eq(en & ~found & ~insert),
    ]
    return out, overflow, miss
