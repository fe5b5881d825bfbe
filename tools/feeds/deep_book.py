"""Deep-book stress feed: symbols whose sides hold hundreds of levels and repeatedly
drain best-first to empty and refill (issue 12).

Why: a book that keeps only its best levels, or finds the next level by scanning, is
only caught out by a side that is deep and then loses its best levels one after the
other. Each cycle of a symbol: build `levels` levels per side (1-3 orders each, in
random order, at whole cents, with sub-penny prices below $1 on one symbol), then
drain both sides best-first (executions to zero, cancels then deletes, replaces that
move an order deeper), then refill. Interleaved across symbols so the book sees
them back to back. Writes no book model: the model and the RTL are compared by the
tests and the bench.

    python -m tickwire.tools.feeds.deep_book --symbols 4 --levels 600 --cycles 2 \\
        --seed 1 --out deep.itch
"""
import argparse
import random
import sys

from tickwire.tools.feeds import itch_encode as enc
from tickwire.tools.feeds import itch_file


def _side_prices(rng, n, ask, mid, tick):
    """n distinct prices on one side of mid, `tick` apart with random gaps."""
    out, px = [], mid
    for _ in range(n):
        px += (tick if ask else -tick) * rng.choice((1, 1, 1, 2, 3))
        out.append(max(px, 1))
    return sorted(set(out))


def generate(symbols=4, levels=600, cycles=2, seed=1):
    """Raw ITCH messages (bytes) of the stress session; locates 1..symbols."""
    rng = random.Random(seed)
    msgs, ts = [], [34_200 * 10**9]
    ref = [1]

    def t():
        ts[0] += rng.randint(50, 900)
        return ts[0]

    stocks = [f"DEEP{i:02d}" for i in range(symbols)]
    for loc, name in enumerate(stocks, 1):
        msgs.append(enc.stock_directory(loc, 0, t(), name))
    plans = []
    for loc, name in enumerate(stocks, 1):
        sub_penny = loc == 1
        mid, tick = (5_000, 7) if sub_penny else (rng.randint(20, 400) * 10_000, 100)
        plans.append((loc, name, mid, tick))
    for _cycle in range(cycles):
        streams = [_symbol_cycle(rng, loc, name, mid, tick, levels, ref)
                   for loc, name, mid, tick in plans]
        while streams:                          # interleave the symbols
            s = rng.choice(streams)
            try:
                msgs.append(next(s)(t()))
            except StopIteration:
                streams.remove(s)
    return msgs


def _symbol_cycle(rng, loc, name, mid, tick, levels, ref):
    """Yields functions ts -> message bytes: build, drain best-first, refill."""
    live = {}                                     # ref -> [side, price, shares]
    sides = {"B": _side_prices(rng, levels, False, mid, tick),
             "S": _side_prices(rng, levels, True, mid + tick, tick)}
    stock = name

    def add(side, px):
        r = ref[0]
        ref[0] += 1
        sh = rng.randint(1, 40) * 100
        live[r] = [side, px, sh]
        return lambda ts: enc.add_order(loc, 0, ts, r, side, sh, stock, px)

    for side, prices in sides.items():
        for px in rng.sample(prices, len(prices)):
            for _ in range(rng.choice((1, 1, 2, 3))):
                yield add(side, px)
    for side in rng.sample(["B", "S"], 2):                 # drain best-first to empty
        order = sorted((r for r, v in live.items() if v[0] == side),
                       key=lambda r: live[r][1], reverse=side == "B")
        for r in order:
            _, px, sh = live[r]
            k = rng.random()
            if k < 0.4:
                yield (lambda r=r, sh=sh: lambda ts: enc.order_executed(loc, 0, ts, r, sh, r))()
            elif k < 0.6:
                part = sh // 2
                yield (lambda r=r, p=part: lambda ts: enc.order_cancel(loc, 0, ts, r, p))()
                yield (lambda r=r: lambda ts: enc.order_delete(loc, 0, ts, r))()
            elif k < 0.7 and len(sides[side]) > 1:
                # replace it beyond the worst level (it stays live, deeper)
                new = ref[0]
                ref[0] += 1
                worst = sides[side][0] if side == "B" else sides[side][-1]
                npx = max(1, worst - tick if side == "B" else worst + tick)
                yield (lambda r=r, n=new, p=npx: lambda ts: enc.order_replace(
                    loc, 0, ts, r, n, 100, p))()
                yield (lambda n=new: lambda ts: enc.order_delete(loc, 0, ts, n))()
            else:
                yield (lambda r=r: lambda ts: enc.order_delete(loc, 0, ts, r))()
            live.pop(r)
    for side, prices in sides.items():                     # refill half, leave it live
        for px in rng.sample(prices, len(prices) // 2):
            yield add(side, px)
    for r in list(live):                                   # and empty it for the next cycle
        yield (lambda r=r: lambda ts: enc.order_delete(loc, 0, ts, r))()
        live.pop(r)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--symbols", type=int, default=4)
    ap.add_argument("--levels", type=int, default=600, help="levels per side per cycle")
    ap.add_argument("--cycles", type=int, default=2, help="build/drain/refill rounds")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True, help="BinaryFILE output")
    a = ap.parse_args(argv)
    msgs = generate(a.symbols, a.levels, a.cycles, a.seed)
    itch_file.write(a.out, msgs)
    print(f"{len(msgs)} messages -> {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
