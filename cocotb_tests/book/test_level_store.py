"""The book's level store in Verilator: HashStore (rtl/book/store.py) with the level
table's change (rtl/book/tables.py level_modify), keyed by (price, side, slot) and
built as OrderBook builds it (two banks, split), against a dict of exact aggregates.

Why: the level table is what makes every level exact however deep a side is (total
shares and order count per price); the book's BBO shows only the best of them, so a
wrong aggregate deep in a side surfaces only when that side drains to it.

Rules (ITCH, from the model's point of view): an order arriving adds its shares and
one order to its price's level, creating it; an execution or cancel removes shares,
the order's removal one order; the level leaves with its last order. A reduction at a
price with no level is a miss and creates nothing (the book counts `level_miss`).

Patterns: same-price stacking, executions to zero at the best with deep levels behind
(other prices untouched), bid and ask at one price (locked: separate levels), two
slots at one price, back-to-back operations on one level at the book's rate
(forwarding), random operations with idle gaps, a set pair filled until `full`.
"""
import os
import random
from pathlib import Path

import cocotb

from store_harness import StoreTop, check, run_ops, start
from tickwire.rtl.book.hashing import h3_hash
from tickwire.rtl.book.store import HashStore
from tickwire.rtl.book.tables import LevelOp, LevelVal, level_modify

SETS, WAYS, SEED = 16, 2, 2     # per bank; the book's level table has seed 2
SET_BITS, SLOT_BITS = 4, 3
KEY_BITS = 32 + 1 + SLOT_BITS


def level_store():
    store = HashStore(key_bits=KEY_BITS, value_shape=LevelVal, op_shape=LevelOp, ctx_shape=8,
                      sets=SETS, ways=WAYS, banks=2, split=True, seed=SEED,
                      modify=level_modify)
    return StoreTop(store)


def _layouts():
    top = level_store()
    top._MustUse__silence = top.store._MustUse__silence = True     # shapes only
    return top.store.i.payload.shape(), top.store.o.payload.shape()


def key(px, side, slot):
    return px | side << 32 | slot << 33


class Model:
    """Levels by (price, side, slot): [shares, orders]. Room for a new level is its two
    candidate sets (H3 members SEED and SEED + 1, where the store puts a key); a new
    level goes to the bank with more free ways, bank 0 on a tie."""

    def __init__(self):
        self.levels, self.where = {}, {}
        self.used = {(b, s): 0 for b in (0, 1) for s in range(SETS)}

    def apply(self, k, dq, dord, en):
        old = self.levels.get(k)
        hit = old is not None
        oldv = tuple(old) if hit else (0, 0)
        created = removed = full = 0
        new = ((oldv[0] + dq) & 0xFFFF_FFFF, (oldv[1] + dord) & 0xFFFF)
        wrote = False
        if en and hit:
            wrote = True
            if dord == -1 and oldv[1] == 1:          # the last order leaves
                del self.levels[k]
                self.used[self.where.pop(k)] -= 1
                removed = 1
            else:
                self.levels[k] = new
        elif en and dord == 1:                       # only an arriving order creates
            sets = [(b, h3_hash(k, SET_BITS, SEED + b)) for b in (0, 1)]
            free = [WAYS - self.used[s] for s in sets]
            b = 1 if free[1] > free[0] else 0
            if free[b]:
                self.levels[k], self.where[k] = new, sets[b]
                self.used[sets[b]] += 1
                created = wrote = 1
            else:
                full = 1
        return (k, int(hit), created, removed, full, oldv, new if wrote else oldv, int(en))


async def _run(dut, ops, rng, idle):
    """(key, dq, dord, veto) operations -> result tuples."""
    drive = [({"key": k, "en": 1, "op": {"dq": dq, "dord": dord}}, 0, veto)
             for k, dq, dord, veto in ops]
    return [(p.key, p.hit, p.created, p.removed, p.full, (p.old.qty, p.old.orders),
             (p.new.qty, p.new.orders), p.en)
            for p in await run_ops(dut, _layouts(), drive, rng, idle)]


def _expected(ops):
    model = Model()
    return [model.apply(k, dq, dord, not veto) for k, dq, dord, veto in ops]


def _orders(rng, levels, n):
    """n order-level operations on `levels` keys, consistent with orders resting there:
    arrivals (+shares, +1), partial executions (-shares, 0) and removals (-left, -1)."""
    resting = {k: [] for k in levels}
    ops = []
    for _ in range(n):
        k = rng.choice(levels)
        r = rng.random()
        if r < 0.45 or not resting[k]:
            sh = rng.choice((1, 100, 250, 10_000))
            resting[k].append(sh)
            ops.append((k, sh, 1, 0))
        elif r < 0.7:
            i = rng.randrange(len(resting[k]))
            take = rng.randint(1, resting[k][i])
            if take == resting[k][i]:
                resting[k].pop(i)
                ops.append((k, -take, -1, 0))
            else:
                resting[k][i] -= take
                ops.append((k, -take, 0, 0))
        else:
            left = resting[k].pop(rng.randrange(len(resting[k])))
            ops.append((k, -left, -1, 0))
    return ops


@cocotb.test()
async def stacking_and_executions_to_zero(dut):
    """Three orders stacked at the best bid, executed to zero one after the other at the
    book's rate while a deeper level and the ask at the same price (locked) stay as
    they are; the level is created again by the next arrival."""
    await start(dut)
    best, deep, ask = key(50_000, 0, 1), key(49_900, 0, 1), key(50_000, 1, 1)
    ops = [(best, 100, 1, 0), (best, 200, 1, 0), (deep, 7, 1, 0), (best, 300, 1, 0),
           (ask, 50, 1, 0), (best, -100, -1, 0), (best, -150, 0, 0), (best, -50, -1, 0),
           (best, -300, -1, 0), (best, -10, -1, 0), (best, 9, 1, 0), (deep, -7, -1, 0),
           (key(50_000, 0, 2), 5, 1, 0), (ask, -50, -1, 0)]
    want = _expected(ops)
    assert [w[3] for w in want] == [0] * 8 + [1, 0, 0, 1, 0, 1]     # removed
    assert want[9][1] == 0 and want[9][2] == 0                       # miss: nothing made
    check(await _run(dut, ops, random.Random(1), 0.0), want)


@cocotb.test()
async def vetoed_operations_write_nothing(dut):
    await start(dut)
    k = key(1234, 1, 3)
    ops = [(k, 10, 1, 1), (k, 10, 1, 0), (k, 5, 1, 1), (k, -10, -1, 1), (k, -10, -1, 0)]
    check(await _run(dut, ops, random.Random(2), 0.5), _expected(ops))


@cocotb.test()
async def full_set_pair_reports_full(dut):
    """Five levels whose two candidate sets are the same pair: the fifth is `full`."""
    await start(dut)
    rng = random.Random(4)
    same = []
    while len(same) < 5:
        k = key(rng.getrandbits(32), rng.getrandbits(1), rng.randrange(8))
        if h3_hash(k, SET_BITS, SEED) == 6 and h3_hash(k, SET_BITS, SEED + 1) == 11:
            same.append(k)
    ops = [(k, 10 + i, 1, 0) for i, k in enumerate(same)]
    ops += [(same[4], -1, -1, 0), (same[0], -10, -1, 0), (same[4], 3, 1, 0)]
    want = _expected(ops)
    assert [w[4] for w in want] == [0, 0, 0, 0, 1, 0, 0, 0]
    check(await _run(dut, ops, random.Random(3), 0.0), want)


@cocotb.test()
async def random_order_flow_on_few_levels(dut):
    """900 operations of resting orders on 10 levels (bids and asks, two slots, a few
    sharing a price), idle gaps: every result equal to the dict's."""
    await start(dut)
    rng = random.Random(int(os.environ.get("SEED", "5")))
    pxs = [rng.randrange(1, 2**32) for _ in range(4)]
    levels = [key(rng.choice(pxs), rng.getrandbits(1), rng.randrange(2)) for _ in range(10)]
    ops = _orders(rng, sorted(set(levels)), 900)
    check(await _run(dut, ops, rng, 0.25), _expected(ops))


def test_level_store():
    from tickwire.tools.build.simrun import run_cocotb
    run_cocotb(level_store(), "tw_level_store", "test_level_store", Path(__file__).parent)
