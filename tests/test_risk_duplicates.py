"""DuplicateHistory: clordid of any remembered order, or the same account/slot/side/
qty/price remembered less than the window ago (docs/limits.md, check 12)."""
import random
from collections import deque

from clocked import put, simulate
from tickwire.rtl.risk.duplicates import DuplicateHistory

DEPTH = 4
SAME = ("account", "slot", "side", "qty", "price")


def run(steps):
    """steps: (order, t, window, push). Returns the hits."""
    dut, hist, hits = DuplicateHistory(DEPTH), deque(maxlen=DEPTH), []

    async def bench(ctx):
        for o, t, window, push in steps:
            put(ctx, dut.order, o)
            ctx.set(dut.t, t)
            ctx.set(dut.window, window)
            ctx.set(dut.push, push)
            want = any(h["clordid"] == o["clordid"]
                       or (all(h[k] == o[k] for k in SAME) and t - ht < window)
                       for h, ht in hist)
            assert ctx.get(dut.hit) == want
            hits.append(want)
            if push:
                hist.append((o, t))
            await ctx.tick()
    simulate(dut, bench)
    return hits


def order(clordid, **kw):
    return dict(dict(clordid=clordid, account=1, slot=2, side=0, tif=0, qty=10, price=100), **kw)


def test_clordid_forever_fields_within_window_oldest_forgotten():
    steps = [(order(1), 0, 50, 1),
             (order(1, qty=11), 1000, 50, 0),       # same clordid, long after: duplicate
             (order(2), 49, 50, 0),                 # same fields 49 ns later: duplicate
             (order(2), 50, 50, 0),                 # 50 ns later: not
             (order(2, side=1), 10, 50, 0)]         # one field differs: not
    steps += [(order(10 + i, qty=i), 100, 50, 1) for i in range(DEPTH)]   # push 1 out
    steps += [(order(1, qty=99), 200, 50, 0)]
    assert run(steps) == [False, True, True, False, False] + [False] * DEPTH + [False]


def test_random_against_reference():
    rng = random.Random(7)
    t, steps = 0, []
    for _ in range(400):
        t += rng.choice([0, 1, 10, 100])
        o = order(rng.randrange(12), account=rng.randrange(2), qty=rng.choice([10, 20]),
                  side=rng.randrange(2))
        steps.append((o, t, rng.choice([0, 5, 50, 500]), rng.random() < 0.5))
    hits = run(steps)
    assert 50 < sum(hits) < 350
