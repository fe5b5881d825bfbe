"""DuplicateHistory (rtl/risk/duplicates.py) against a deque of the last `depth`
accepted orders (tickwire/model/risk.py check 12), one order per cycle (each shown
in stage 2, `ahead`, then in stage 3): back-to-back accepts, a full history whose oldest entries are overwritten while the push of the
order two ahead is still on its way in, and stalls."""
import random
from collections import deque

from clocked import put, simulate
from tickwire.rtl.risk.duplicates import SAME, DuplicateHistory

DEPTH = 4
M64 = (1 << 64) - 1


def _fields(rng, clordid):
    # few values, so clordids and the (account, slot, side, qty, price) tuple repeat
    return dict(clordid=clordid, account=rng.randrange(2), slot=rng.randrange(2),
                side=rng.randrange(2), tif=0, qty=rng.randrange(1, 3), price=100)


def _hit(history, o, t, lo):
    return any(h["clordid"] == o["clordid"] or
               (all(h[k] == o[k] for k in SAME) and lo < t0 <= t) for h, t0 in history)


def run(seed, n=400, p_accept=0.7, p_stall=0.1):
    rng = random.Random(seed)
    dut = DuplicateHistory(DEPTH)
    orders = []
    t = 1000
    for i in range(n):
        t += rng.randrange(0, 3)
        orders.append((_fields(rng, rng.randrange(12)), t, t - rng.choice([0, 3, 8])))
    got, want = [], []

    async def bench(ctx):
        history = deque(maxlen=DEPTH)
        prev, acc_prev = None, False         # the order in stage 4 and its verdict
        # the block starts its match with the order in stage 2 (`ahead`), a cycle
        # before it is in stage 3: present orders[0] there first
        put(ctx, dut.ahead, orders[0][0])
        ctx.set(dut.ahead_nt, ~orders[0][1] & M64)          # ~t
        ctx.set(dut.ahead_lo, orders[0][2])         # lo = t - window
        ctx.set(dut.adv, 1)
        await ctx.tick()
        k = 0
        while k <= len(orders):
            adv = rng.random() >= p_stall
            cur = orders[k] if k < len(orders) else None
            if k + 1 < len(orders):
                put(ctx, dut.ahead, orders[k + 1][0])
                ctx.set(dut.ahead_nt, ~orders[k + 1][1] & M64)
                ctx.set(dut.ahead_lo, orders[k + 1][2])
            if cur is not None:
                o, t, lo = cur
                put(ctx, dut.order, o)
                ctx.set(dut.t, t)
            accept = prev is not None and rng.random() < p_accept
            if prev is not None:
                put(ctx, dut.prev_order, prev[0])
                ctx.set(dut.prev_t, prev[1])
            ctx.set(dut.push, adv and accept)
            ctx.set(dut.adv, adv)
            await ctx.tick()
            if not adv:
                continue
            if accept:
                history.append((prev[0], prev[1]))
            if cur is not None:
                # stage 4 of `cur` (next cycle): hit = others | (acc_prev ? prev : oldest)
                others, oldest, match_prev = (ctx.get(s) for s in (dut.others, dut.oldest,
                                                                    dut.match_prev))
                got.append(bool(others or (match_prev if accept else oldest)))
                want.append(_hit(history, *cur))
            prev, acc_prev = cur, accept
            k += 1
    simulate(dut, bench)
    return got, want


def test_history_matches_the_model_back_to_back():
    got, want = run(1, p_stall=0.0)
    assert sum(want) > 40 and len(want) - sum(want) > 40      # both outcomes exercised
    assert got == want


def test_history_matches_the_model_with_stalls_and_few_accepts():
    for seed, p in ((2, 0.3), (3, 0.95)):
        got, want = run(seed, p_accept=p)
        assert sum(want) > 10
        assert got == want, seed
