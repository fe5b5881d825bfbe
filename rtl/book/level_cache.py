"""The level cache: per slot and side, the best K price levels, sorted, exact.

Why: the top-N stream and the BBO need the best levels at once after every message;
the level table and price tree hold every level but answer one key per access. So
each side keeps its best `count` (<= K) levels sorted best first in one word, with
`depth`, the side's total number of levels. Every update carries the level's exact
new aggregate from the level table (not a delta), so the cache never drifts:

  * a cached level changes in place, or leaves (levels behind it move up);
  * a new level enters at its rank when it beats a cached level, or when the cache
    holds every level of the side (depth == count) and has room; when the cache was
    full the worst cached level falls out (still held by the table and the tree);
  * otherwise the level is beyond the cache: `depth` counts it.
Invariant: the cached levels are the side's best `count` levels. When `count` < K
while `depth` > `count`, the book asks the next-best search (rtl/book/next_best.py)
for the next level after the last cached one and appends it (`append`). The book
keeps `count` >= top_n that way (K leaves room for the operations in flight).
The search runs while operations go on, so an append is only taken when the cache's
last level is still the one the search started from (`guard`; `empty`: the cache was
empty): a full cache pushes its worst level out when a better one arrives, and that
level, now beyond the cache, must not be skipped.
"""
from amaranth.hdl import Cat, Const, Mux, Signal
from amaranth.lib import data

from ..layouts import Level
from ..rx.merge.compare import below


def cache_layout(k):
    return data.StructLayout({"lv": data.ArrayLayout(Level, k), "count": range(k + 1),
                              "depth": 16})


#: An update (append = 0: the level's new aggregate after an order op) or an append of
#: the next-best level found by the search (append = 1). `guard`/`empty`: the append's
#: precondition, the last cached price the search started from (or an empty cache).
CacheOp = data.StructLayout({"append": 1, "side": 1, "px": 32, "qty": 32, "orders": 16,
                             "created": 1, "removed": 1, "guard": 32, "empty": 1})


def prep_layout(k):
    """What the compare cycle registers for the modify cycle (HashStore `prepare`)."""
    return data.StructLayout({"match": k, "better": k, "after": k, "at": k + 1,
                              "found": 1, "tail": 1, "worse": 1, "untracked": 1,
                              "up": range(k + 1), "down": range(k + 1), "depth": 16})


def cache_prepare(k):
    """The level cache's compare cycle: each cached price against the operation's (32-bit
    compares), the count's one-hot and neighbours, the new depth, and the reductions
    over all positions (found; `after`: a match at or before each position; `tail`: the
    append's guard holds; `worse`: a cached level is worse than the operation's). Why:
    with these in a register the modify cycle is a few gates of decision, three
    one-hot selects per position and one select of four per bit (the whole update in
    one cycle was the book's critical path: ~29 LUT levels)."""
    def prepare(m, op, hit, old):
        # `old` is the way's word unmasked (HashStore, one way): count and depth are
        # taken only when it is valid, every other use of a level is gated by them
        pre = Signal(prep_layout(k), name="cache_pre")
        lv = old.lv
        count, depth = Signal.like(old.count, name="c_count"), Signal(16, name="c_depth")
        m.d.comb += [count.eq(Mux(hit, old.count, 0)), depth.eq(Mux(hit, old.depth, 0))]
        occ = Signal(k, name="c_occ")
        # count > i as a table of the count, not magnitude compares (Yosys maps those to
        # carry chains, which ABC times as starting and ending paths: the logic around
        # them was left deep)
        with m.Switch(count):
            for c in range(k + 1):
                with m.Case(c):
                    m.d.comb += occ.eq((1 << c) - 1)
        for i in range(k):
            # both orders as the borrows of two subtractions (carry chains), the match
            # one LUT after them: `>` had mapped to a chain and an equality tree, and
            # `==` to a tree of its own (the compare cycle's deepest paths, 10 levels)
            lt, gt = below(m, lv[i].px, op.px), below(m, op.px, lv[i].px)
            m.d.comb += [pre.match[i].eq(occ[i] & ~lt & ~gt),
                         pre.better[i].eq(occ[i] & Mux(op.side, lt, gt))]
        for i in range(k + 1):
            m.d.comb += pre.at[i].eq(count == i)
        # the append's guard: the last cached level is the one the search started from
        tail = Cat(*[(count == i + 1) & (lv[i].px == op.guard) for i in range(k)]).any()
        untracked = depth != count
        found = pre.match.any()
        for i in range(k):      # each its own OR tree (a running OR is a k-deep chain)
            m.d.comb += pre.after[i].eq(pre.match[:i + 1].any())
        m.d.comb += [
            pre.found.eq(found), pre.tail.eq(tail), pre.untracked.eq(untracked),
            pre.worse.eq((occ & ~pre.better).any()),
            pre.up.eq(count + 1), pre.down.eq(count - 1),
            pre.depth.eq(Mux(op.append, depth, depth + op.created - op.removed)),
        ]
        return pre
    return prepare


def cache_modify(k):
    """The HashStore `modify` of the level cache, from `cache_prepare`'s register.
    `write` (HashStore `unwritten_old`): without it every position keeps its level and
    count and depth stay, so the new word is the old one (the store then needs no
    word-wide new-or-old select for `o_new`)."""
    lw = data.Layout.cast(Level).size

    def modify(m, op, hit, old, pre, write=Const(1, 1)):
        new = Signal(cache_layout(k), name="cache_new")
        lv = old.lv
        match, better, found = pre.match, pre.better, pre.found
        full = pre.at[k]
        remove = found & op.removed
        take = op.append & Mux(op.empty, pre.at[0], pre.tail)
        insert = ~found & op.created & (pre.worse | (~pre.untracked & ~full))
        # the operation's kind, one kept signal each (all from registers, two LUT levels):
        # every position's select is then two levels of these and its own flags, not
        # the whole decision again (ABC had made it six levels deep into each bit)
        kind = {}
        for name, v in (("app", write & take), ("rem", write & ~op.append & remove),
                        ("mod", write & ~op.append & found & ~op.removed),
                        ("ins", write & ~op.append & insert)):
            kind[name] = Signal(name=f"c_{name}", attrs={"keep": 1})
            m.d.comb += kind[name].eq(v)
        new_lvl = Cat(op.px, op.qty, op.orders)
        for i in range(k):
            # where position i's new level comes from, one-hot (else its own level):
            # each drives its position's 80 bits through one select of four
            b_prev = better[i - 1] if i > 0 else 1
            is_new, is_nxt, is_prev = (Signal(name=f"c_{n}{i}", attrs={"keep": 1})
                                       for n in ("new", "nxt", "prev"))
            m.d.comb += [
                is_new.eq((kind["app"] & pre.at[i]) | (kind["mod"] & match[i])
                          | (kind["ins"] & ~better[i] & b_prev)),
                is_nxt.eq(kind["rem"] & pre.after[i]),
                is_prev.eq(kind["ins"] & ~better[i] & ~b_prev),
            ]
            cur = lv[i].as_value()
            nxt = lv[i + 1].as_value() if i + 1 < k else Const(0, lw)
            prev = lv[i - 1].as_value() if i > 0 else Const(0, lw)
            m.d.comb += new.lv[i].as_value().eq(
                Mux(is_new, new_lvl, Mux(is_nxt, nxt, Mux(is_prev, prev, cur))))
        grow = (take & ~full) | (insert & ~full)
        m.d.comb += [
            new.count.eq(Mux(write & grow & ~remove, pre.up,
                             Mux(write & remove & ~grow, pre.down, old.count))),
            new.depth.eq(Mux(write, pre.depth, old.depth)),
        ]
        return new, Const(1, 1), Const(1, 1)
    return modify
