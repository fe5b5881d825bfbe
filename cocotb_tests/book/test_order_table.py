"""The book's order table in Verilator: HashStore (rtl/book/store.py) with the order
table's change (rtl/book/tables.py order_modify), built as OrderBook builds it (full
64-bit reference key, two banks, compare and modify split), against a dict that
follows the ITCH rules.

Why here and not only inside the book: the book only shows what reaches a BBO; a
wrong `hit`, `removed` or `old` shares on one operation can hide behind the level
table for many messages. Each result is checked: hit, created, removed, full, old,
new, and the `en` the book passes on.

Patterns: operations one every 2 cycles (the book's issue rate) on a few references,
so nearly every operation reads the set the one before is writing (forwarding), with
random idle gaps; same-reference Add -> Execute -> Delete back to back; reductions
naming another slot's order (left alone); vetoed operations (nothing written);
a set pair filled until an Add reports `full`.
"""
import os
import random
from pathlib import Path

import cocotb
from amaranth.hdl import Signal

from store_harness import StoreTop, check, run_ops, start
from tickwire.rtl.book.hashing import h3_hash, refs_for
from tickwire.rtl.book.store import HashStore
from tickwire.rtl.book.tables import (ADD, DELETE, REDUCE, OrderOp, OrderVal, order_modify,
                                      order_part)

SETS, WAYS = 16, 2          # per bank: 2 banks x 16 sets x 2 ways = 64 orders
SET_BITS = 4


def order_table():
    """The order table as OrderBook._stores builds it (the U's side inputs idle)."""
    slot = Signal(8, name="slot_m")
    store = HashStore(key_bits=64, value_shape=OrderVal, op_shape=OrderOp, ctx_shape=8,
                      sets=SETS, ways=WAYS, banks=2, split=True, way_prepare=order_part,
                      modify=order_modify(Signal(), Signal(), slot))
    return StoreTop(store, slot_sink=slot)


def _layouts():
    top = order_table()
    top._MustUse__silence = top.store._MustUse__silence = True     # shapes only
    return top.store.i.payload.shape(), top.store.o.payload.shape()


class Model:
    """Orders by reference: (side, price, shares, slot). Room for a new reference is
    the hash's two candidate sets (H3, seeds 0 and 1: where the table puts a key);
    an Add goes to the bank with more free ways, bank 0 on a tie."""

    def __init__(self):
        self.orders, self.where = {}, {}
        self.used = {(b, s): 0 for b in (0, 1) for s in range(SETS)}

    def apply(self, key, kind, side, shares, price, slot, en):
        old = self.orders.get(key)
        hit = old is not None
        oldv = old or (0, 0, 0, 0)
        created = removed = full = 0
        new = oldv
        write = en
        if write and kind == ADD:
            if not hit:
                sets = [(b, h3_hash(key, SET_BITS, b)) for b in (0, 1)]
                free = [WAYS - self.used[s] for s in sets]
                b = 1 if free[1] > free[0] else 0
                if free[b]:
                    new = (side, price, shares, slot)
                    self.orders[key], self.where[key] = new, sets[b]
                    self.used[sets[b]] += 1
                    created = 1
                else:
                    full = 1
        elif write and hit and oldv[3] == slot:       # another slot's order: left alone
            left = 0 if kind == DELETE else oldv[2] - min(shares, oldv[2])
            new = (oldv[0], oldv[1], left, oldv[3])
            if left:
                self.orders[key] = new
            else:
                del self.orders[key]
                self.used[self.where.pop(key)] -= 1
                removed = 1
        wrote = write and (hit or created)
        return (key, int(hit), created, removed, full, oldv, new if wrote else oldv)


async def _run(dut, ops, rng, idle):
    """(key, kind, side, shares, price, slot, veto) operations -> result tuples."""
    drive = [({"key": key, "en": 1, "op": {"kind": kind, "side": side, "shares": shares,
                                            "price": price}}, slot, veto)
             for key, kind, side, shares, price, slot, veto in ops]
    return [(p.key, p.hit, p.created, p.removed, p.full,
             (p.old.side, p.old.price, p.old.shares, p.old.slot),
             (p.new.side, p.new.price, p.new.shares, p.new.slot), p.en)
            for p in await run_ops(dut, _layouts(), drive, rng, idle)]


def _expected(ops):
    model, want = Model(), []
    for key, kind, side, shares, price, slot, veto in ops:
        r = model.apply(key, kind, side, shares, price, slot, en=not veto)
        want.append(r + (int(not veto),))
    return want


@cocotb.test()
async def add_execute_delete_back_to_back(dut):
    """One reference added, executed in part, executed to zero, re-added, deleted, at
    the book's rate: each operation reads the write of the one before (forwarding)."""
    await start(dut)
    r = 0x1234_5678_9ABC
    ops = [(r, ADD, 1, 100, 50_000, 3, 0), (r, REDUCE, 0, 30, 0, 3, 0),
           (r, REDUCE, 0, 70, 0, 3, 0), (r, REDUCE, 0, 5, 0, 3, 0),
           (r, ADD, 0, 40, 49_900, 3, 0), (r, ADD, 1, 99, 1, 3, 0),   # duplicate: untouched
           (r, REDUCE, 0, 500, 0, 3, 0), (r, ADD, 0, 8, 7, 3, 0), (r, DELETE, 0, 0, 0, 3, 0),
           (r, DELETE, 0, 0, 0, 3, 0)]
    check(await _run(dut, ops, random.Random(1), 0.0), _expected(ops))


@cocotb.test()
async def another_slots_order_and_vetoes_change_nothing(dut):
    """A reduction or delete naming an order resting in another slot leaves it; a vetoed
    operation (unsubscribed, table full) writes nothing and passes en = 0."""
    await start(dut)
    a, b = 77, 1 << 40
    ops = [(a, ADD, 0, 10, 100, 1, 0), (a, REDUCE, 0, 4, 0, 2, 0), (a, DELETE, 0, 0, 0, 2, 0),
           (a, REDUCE, 0, 4, 0, 1, 0), (b, ADD, 1, 9, 200, 2, 1), (b, DELETE, 0, 0, 0, 2, 0),
           (a, DELETE, 0, 0, 0, 1, 1), (a, DELETE, 0, 0, 0, 1, 0)]
    check(await _run(dut, ops, random.Random(2), 0.3), _expected(ops))


@cocotb.test()
async def full_set_pair_reports_full(dut):
    """Five references whose two candidate sets are the same pair: four fit (two ways
    in each bank), the fifth Add is `full` and writes nothing; a delete makes room."""
    await start(dut)
    refs = refs_for(5, 9, SET_BITS, 5, base=1 << 20)
    ops = [(r, ADD, 0, 1 + i, 300 + i, 0, 0) for i, r in enumerate(refs)]
    ops += [(refs[4], DELETE, 0, 0, 0, 0, 0), (refs[1], DELETE, 0, 0, 0, 0, 0),
            (refs[4], ADD, 1, 6, 301, 0, 0), (refs[4], REDUCE, 0, 2, 0, 0, 0)]
    want = _expected(ops)
    assert [w[4] for w in want] == [0, 0, 0, 0, 1, 0, 0, 0, 0]
    check(await _run(dut, ops, random.Random(3), 0.0), want)


@cocotb.test()
async def random_operations_on_few_references(dut):
    """800 random operations on 12 references over 3 slots (so sets fill, empty and
    refill), with idle gaps: every result equal to the dict's."""
    await start(dut)
    rng = random.Random(int(os.environ.get("SEED", "7")))
    refs = [rng.getrandbits(64) for _ in range(12)]
    ops = []
    for _ in range(800):
        kind = rng.choice((ADD, ADD, REDUCE, REDUCE, DELETE))
        ops.append((rng.choice(refs), kind, rng.getrandbits(1), rng.choice((1, 5, 40, 2**32 - 1)),
                    rng.getrandbits(32), rng.choice((0, 0, 1, 2)), int(rng.random() < 0.05)))
    check(await _run(dut, ops, rng, 0.25), _expected(ops))


def test_order_table():
    from tickwire.tools.build.simrun import run_cocotb
    run_cocotb(order_table(), "tw_order_table", "test_order_table", Path(__file__).parent)
