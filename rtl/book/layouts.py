"""Book-internal memory word layouts (the stream layouts live in rtl/layouts.py)."""
from amaranth.lib import data

from ..layouts import Level


def order_entry(slot_bits):
    """One resting order. The full 64-bit reference is kept, so a hit is never a guess."""
    return data.StructLayout({
        "valid": 1,
        "oref": 64,
        "slot": slot_bits,
        "side": 1,          # 0 = bid, 1 = ask
        "price": 32,
        "shares": 32,
    })


def order_set(slot_bits, ways):
    """One set of the set-associative order table: all ways read in one access."""
    return data.ArrayLayout(order_entry(slot_bits), ways)


#: The best price a side no longer tracks (rtl/book/levels.py): kept levels are all
#: strictly better than it.
Floor = data.StructLayout({"valid": 1, "px": 32})


def side_levels(k):
    """One side: the best `k` levels, best first, empty levels (orders == 0) at the end,
    and the side's floor."""
    return data.StructLayout({"levels": data.ArrayLayout(Level, k), "floor": Floor})


#: Best level of both sides of one slot (the query/snapshot copy of the top of book).
Best = data.StructLayout({"bid": Level, "ask": Level})
