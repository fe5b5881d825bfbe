"""The level cache's update (rtl/book/level_cache.py) against a sorted-list reference:
random level arrivals, changes and removals on both sides, some beyond the cache, and
appends of the next level (what the next-best search does), some refused because
the cache's last level is no longer the one the search started from."""
import random

import pytest
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from tickwire.rtl.book.level_cache import CacheOp, cache_layout, cache_modify, cache_prepare

K = 6


def reference(state, op):
    """state: (levels best first [(px, qty, orders)], depth). Follows the docstring."""
    lv, depth = state
    ask = op["side"]
    better = (lambda a, b: a < b) if ask else (lambda a, b: a > b)
    lv = list(lv)
    px = op["px"]
    if op["append"]:
        last_ok = (not lv) if op["empty"] else bool(lv) and lv[-1][0] == op["guard"]
        return (lv + [(px, op["qty"], op["orders"])] if last_ok else lv), depth
    found = [i for i, x in enumerate(lv) if x[0] == px]
    if found:
        i = found[0]
        if op["removed"]:
            lv.pop(i)
        else:
            lv[i] = (px, op["qty"], op["orders"])
    elif op["created"]:
        beats = any(better(px, x[0]) for x in lv)
        if beats or (depth == len(lv) and len(lv) < K):
            lv.append((px, op["qty"], op["orders"]))
            lv.sort(key=lambda x: -x[0] if not ask else x[0])
            lv = lv[:K]
    return lv, depth + op["created"] - op["removed"]


@pytest.mark.parametrize("ask", [0, 1])
def test_cache_update_against_sorted_reference(ask):
    m = Module()
    old = Signal(cache_layout(K))
    op = Signal(CacheOp)
    hit = Signal(init=1)     # the word is valid (prepare gets it unmasked, as in the store)
    pre = cache_prepare(K)(m, op, hit, old)
    new, _, _ = cache_modify(K)(m, op, hit, old, pre)
    rng = random.Random(ask)

    async def bench(ctx):
        book = {}                       # the whole side: px -> (qty, orders)
        state = ([], 0)
        for _ in range(400):
            cached = [x[0] for x in state[0]]
            r = rng.random()
            o = dict(append=0, side=ask, created=0, removed=0, guard=0, empty=0)
            beyond = sorted((p for p in book if p not in cached), reverse=not ask)
            if r < 0.15 and len(cached) < K and beyond and len(book) > len(cached):
                px = beyond[0]
                o.update(append=1, px=px, qty=book[px][0], orders=book[px][1],
                         guard=cached[-1] if cached else 0, empty=int(not cached))
                if rng.random() < 0.3:      # a stale guard: the cache's last moved
                    o.update(guard=o["guard"] + 7, empty=int(rng.random() < 0.5 and bool(cached)))
            elif r < 0.55 or not book:
                px = rng.randrange(1, 60) * 7
                q, n = book.get(px, (0, 0))
                o.update(px=px, qty=q + 10, orders=n + 1, created=int(px not in book))
                book[px] = (q + 10, n + 1)
            else:
                px = rng.choice(list(book))
                q, n = book[px]
                if n == 1:
                    del book[px]
                    o.update(px=px, qty=0, orders=0, removed=1)
                else:
                    book[px] = (q - 5, n - 1)
                    o.update(px=px, qty=q - 5, orders=n - 1)
            lv, depth = state
            ctx.set(old.count, len(lv))
            ctx.set(old.depth, depth)
            for i in range(K):
                ctx.set(old.lv[i].px, lv[i][0] if i < len(lv) else 0)
                ctx.set(old.lv[i].qty, lv[i][1] if i < len(lv) else 0)
                ctx.set(old.lv[i].orders, lv[i][2] if i < len(lv) else 0)
            for k, v in o.items():
                ctx.set(getattr(op, k), v)
            await ctx.delay(1e-9)
            state = reference(state, o)
            got_n = ctx.get(new.count)
            got = [(ctx.get(new.lv[i].px), ctx.get(new.lv[i].qty), ctx.get(new.lv[i].orders))
                   for i in range(got_n)]
            assert (got, ctx.get(new.depth)) == state
            assert all(ctx.get(new.lv[i].orders) == 0 for i in range(got_n, K))
            # the invariant: the cache is the side's best `count` levels
            best = sorted(book, reverse=not ask)[:got_n]
            assert [x[0] for x in got] == best
            assert state[1] == len(book)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
