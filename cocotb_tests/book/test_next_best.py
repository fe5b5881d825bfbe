"""The next-best search (rtl/book/next_best.py) in Verilator, alone, with the book
around it played by Python: a price tree, a level table and a level cache answered
with the book's latencies (a tree or level probe 4 cycles after it is taken, a cache
access 5: the split stores' 4 and the book's register of the cache result).

Why alone: inside the book the search only shows through BBO rows, after the cache;
here every side's cache must end up holding exactly its best min(K, depth) levels with
their exact aggregates after one refill job, whatever the shape of the side: one
level, a full cache's worth, hundreds, prices spread over the whole 32-bit range (each
level its own path, so the search climbs to the root and back), sub-penny prices
packed into one leaf, bids and asks, a cache that already holds some levels. Nothing
else changes the book meanwhile (the search's conflict tracking under concurrent
operations is covered by the whole book's tests: cocotb_tests/book/test_book.py,
tests/test_book_pipeline.py).

The Python side follows the structures' definitions (rtl/book/price_tree.py's
docstring: a side's key is the price for asks and ~price for bids; depth d's node is
the bitmap of the digits present under its prefix; rtl/book/level_cache.py: an
append is taken only when the cache's last price is the guard, or the cache is empty
and `empty` is set), not the gateware's code.
"""
import random
from pathlib import Path

import cocotb
from cocotb.triggers import FallingEdge

from store_harness import clock_and_reset

from tickwire.rtl.book.next_best import NextBest, layouts

SB, K, LOW = 2, 8, 5
BITS = (2, 6, 6, 6, 6, 6)           # the tree's digits, most significant first
TREE_LAT, LEVEL_LAT, CACHE_LAT = 4, 4, 5
L = layouts(SB, K)


def tkey(px, ask):
    return px if ask else px ^ 0xFFFF_FFFF


def node_bits(keys, d, key):
    """Depth d's bitmap on `key`'s path: the digits at d of the keys sharing its prefix."""
    hi = 32 - sum(BITS[:d])
    lo = hi - BITS[d]
    bits = 0
    for k in keys:
        if k >> hi == key >> hi:
            bits |= 1 << (k >> lo & ((1 << BITS[d]) - 1))
    return bits


class Book:
    """One slot's sides: levels {px: (qty, orders)} per side and the level cache."""

    def __init__(self):
        self.levels = {}                 # (slot, side) -> {px: (qty, orders)}
        self.cache = {}                  # (slot, side) -> [(px, qty, orders)]

    def side(self, slot, side, levels, cached):
        self.levels[(slot, side)] = dict(levels)
        best = sorted(levels, key=lambda px: tkey(px, side))
        self.cache[(slot, side)] = [(px, *levels[px]) for px in best[:cached]]

    def want(self, slot, side):
        lv = self.levels[(slot, side)]
        best = sorted(lv, key=lambda px: tkey(px, side))[:K]
        return [(px, *lv[px]) for px in best]

    def tree(self, slot, side, key, depths):
        keys = [tkey(px, side) for px in self.levels.get((slot, side), {})]
        out = {"got": depths, "hit": 0, "bits": []}
        for d in range(len(BITS)):
            b = node_bits(keys, d, key) if depths >> d & 1 else 0
            out["bits"].append(b)
            out["hit"] |= (b != 0) << d
        return out

    def level(self, slot, side, px):
        got = self.levels.get((slot, side), {}).get(px)
        return {"hit": got is not None, "qty": got[0] if got else 0,
                "orders": got[1] if got else 0}

    def access(self, c):
        """A cache access (exact read, or append with its guard): the new state."""
        key = (c["slot"], c["side"])
        cache = self.cache[key]
        if c["append"]:
            take = (not cache) if c["empty"] else bool(cache and cache[-1][0] == c["guard"])
            if take and len(cache) < K:
                cache.append((c["px"], c["qty"], c["orders"]))
        depth = len(self.levels[key])
        last = cache[-1][0] if cache else 0
        return {"count": len(cache), "depth": depth, "last_px": last,
                "last_key": tkey(last, c["side"]), "full": len(cache) == K,
                "whole": depth == len(cache)}


async def serve(dut, book, cycles, jobs):
    """Answer the search's requests for `cycles` cycles, offering `jobs` ((slot, side)
    refill requests) in turn; returns the `bad` reports."""
    due = []                            # (cycle, port, payload dict)
    bad, jobs, t, taken = [], list(jobs), 0, 0
    for t in range(cycles):
        await FallingEdge(dut.clk)
        # requests seen this cycle are taken (ready held high): answers come later
        if int(dut.treq__valid.value):
            q = L["treq"].from_bits(int(dut.treq__payload.value))
            # a lookahead probe's result comes back tagged (the book carries `la` through
            # the leaf store)
            due.append((t + TREE_LAT, "tres", dict(book.tree(q.slot, q.side, q.tkey, q.depths),
                                                   la=q.la)))
        if int(dut.lreq__valid.value):
            q = L["lreq"].from_bits(int(dut.lreq__payload.value))
            due.append((t + LEVEL_LAT, "lres", book.level(q.slot, q.side, q.px)))
        if int(dut.creq__valid.value):
            q = L["creq"].from_bits(int(dut.creq__payload.value))
            res = book.access({f: getattr(q, f) for f in ("append", "slot", "side", "px", "qty",
                                                          "orders", "guard", "empty")})
            # the book registers same_px (the last cached price is the access's own)
            # with the cache's result
            res["same_px"] = res["last_px"] == q.px
            due.append((t + CACHE_LAT, "cres", res))
        if int(dut.bad__valid.value):
            bad.append(int(dut.bad__payload.value))
        for port in ("tres", "lres", "cres"):
            now = [r for w, p, r in due if p == port and w == t]
            assert len(now) <= 1, f"two {port} answers in cycle {t}"
            getattr(dut, f"{port}__valid").value = int(bool(now))
            if now:
                getattr(dut, f"{port}__payload").value = L[port].const(now[0]).as_bits()
        due = [x for x in due if x[0] > t]
        # a job is offered until taken (req.ready is the search's idle state, a register)
        if jobs:
            slot, side = jobs[0]
            dut.req__payload.value = L["req"].const({"slot": slot, "side": side}).as_bits()
            dut.req__valid.value = 1
            if int(dut.req__ready.value):
                jobs.pop(0)
                taken = t
        else:
            dut.req__valid.value = 0
        if not jobs and not due and t > taken + 2 and not int(dut.busy.value):
            break
    return bad, t


async def start(dut):
    """Clock and reset with no answer pending and every request taken at once."""
    idle = {f"{n}__valid": 0 for n in ("req", "cres", "tres", "lres", "upd")}
    taken = {f"{n}__ready": 1 for n in ("creq", "treq", "lreq")}
    await clock_and_reset(dut, {**idle, **taken, "urgent": 0, "quiet": 1})


def _levels(rng, n, lo, hi, step=1):
    pxs = rng.sample(range(lo, hi, step), n)
    return {px: (rng.randint(1, 10**6), rng.randint(1, 40)) for px in pxs}


async def _refill(dut, sides, cycles=20_000):
    """sides: (slot, side, levels, cached) each; one job each; every cache checked."""
    book = Book()
    for slot, side, levels, cached in sides:
        book.side(slot, side, levels, cached)
    bad, t = await serve(dut, book, cycles, [(s, d) for s, d, _, _ in sides])
    assert not bad, f"search reported a miss for slots {bad}"
    assert t < cycles - 1, "the search did not finish"
    for slot, side, _, _ in sides:
        assert book.cache[(slot, side)] == book.want(slot, side), (slot, side)
    appended = sum(min(K, len(lv)) - c for _, _, lv, c in sides)
    dut._log.info(f"{len(sides)} jobs, {appended} levels appended in {t} cycles")
    return t


@cocotb.test()
async def shapes_of_a_side(dut):
    """One level; exactly K; K + 1; a deep penny-tick side; sub-penny prices in one leaf;
    on both sides and with some levels already cached."""
    await start(dut)
    rng = random.Random(1)
    mid = 1_500_000
    await _refill(dut, [(0, 1, {mid: (5, 1)}, 0), (1, 0, {mid - 100: (7, 2)}, 0)])
    await _refill(dut, [(2, 1, _levels(rng, K, mid, mid + 10_000, 100), 0),
                        (3, 0, _levels(rng, K + 1, mid - 10_000, mid, 100), 0)])
    await _refill(dut, [(0, 0, _levels(rng, 300, mid - 60_000, mid, 100), 3),
                        (1, 1, _levels(rng, 40, 9_000, 9_800, 7), 0)])


@cocotb.test()
async def prices_spread_over_the_whole_range(dut):
    """Levels far apart (each its own path from the root, sub-penny to the top of the
    range, 0 and 2**32 - 1 included): the search climbs to the deepest common node."""
    await start(dut)
    rng = random.Random(2)
    for rnd in range(4):
        sides = []
        for slot in range(4):
            for side in (0, 1):
                n = rng.choice((1, 2, K - 1, K, K + 3, 30))
                lv = _levels(rng, n, 0, 2**32, 1)
                if rnd == 0 and slot == 0:
                    lv.update({0: (1, 1), 2**32 - 1: (2, 1)})
                sides.append((slot, side, lv, rng.randint(0, min(3, len(lv)))))
        await _refill(dut, sides)


def test_next_best():
    from tickwire.tools.build.simrun import run_cocotb
    run_cocotb(NextBest(SB, K, LOW), "tw_next_best", "test_next_best", Path(__file__).parent)
