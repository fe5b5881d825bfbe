"""BookBounds (rtl/risk/collar.py): a slot's entry, read 3 cycles after its BBO
update, holds that book and both banks' collar bounds (docs/limits.md check 8); a
host rewrite of a collar in one bank marks the slot dirty (`busy`) until that bank's
bounds are recomputed, in a cycle without a BBO update."""
import random

from clocked import put, simulate
from tickwire.rtl.risk.collar import BookBounds

S = 4


def bounds(book, bps, collar):
    """(buy bound, sell bound) as the order's check uses them (value = price x 10000
    for a bps collar, else price; buy bad above, sell bad below)."""
    bid, ask = book["bid_px"], book["ask_px"]
    if bps:
        return ask * (10000 + collar), (bid * (10000 - collar) if collar < 10000 else 0)
    return ask + collar, bid - collar


def test_bounds_follow_book_and_collars():
    dut, rng = BookBounds(S), random.Random(2)
    params = {(b, s): (0, 0) for b in range(2) for s in range(S)}     # (bps, collar)

    async def read(ctx, slot, bank):
        ctx.set(dut.slot, slot)
        ctx.set(dut.bank, bank)
        ctx.set(dut.en, 1)
        await ctx.tick()
        ctx.set(dut.en, 0)
        return (ctx.get(dut.entry.buy_bound), ctx.get(dut.entry.sell_bound),
                ctx.get(dut.entry.bps))

    async def bench(ctx):
        books = {}
        for step in range(60):
            s = rng.randrange(S)
            if rng.random() < 0.5:                       # host rewrites a collar (shadow bank)
                bank = rng.randrange(2)
                bps, collar = rng.random() < 0.5, rng.choice([0, 5, 300, 9999, 10000, 20000])
                ctx.set(dut.shadow, bank)
                for word, val in ((0, bps << 3), (2, collar)):
                    ctx.set(dut.sym_addr, 4 * s + word)
                    ctx.set(dut.sym_data, val)
                    ctx.set(dut.sym_stb, 1)
                    await ctx.tick()
                ctx.set(dut.sym_stb, 0)
                params[(bank, s)] = (bps, collar)
                assert ctx.get(dut.busy)
                for _ in range(S + 3):                  # no BBO: recomputed within S + 2
                    await ctx.tick()
                assert not ctx.get(dut.busy)
            else:
                bk = dict(slot=s, bid_px=rng.randrange(1, 2**32), ask_px=rng.randrange(1, 2**32),
                          bid_qty=rng.randrange(2), ask_qty=rng.randrange(2))
                put(ctx, dut.bbo.payload, bk)
                ctx.set(dut.bbo.valid, 1)
                await ctx.tick()
                ctx.set(dut.bbo.valid, 0)
                await ctx.tick()
                await ctx.tick()                        # visible 3 cycles after the update
                books[s] = bk
            for slot, bk in books.items():
                for bank in range(2):
                    bps, collar = params[(bank, slot)]
                    buy, sell, got_bps = await read(ctx, slot, bank)
                    assert (buy, sell, got_bps) == (*bounds(bk, bps, collar), bps), \
                        (step, slot, bank, bps, collar)
    simulate(dut, bench)


def test_busy_in_the_cycle_of_a_collar_write():
    """The gate fires a held commit in the first cycle `busy` is low; before the fix,
    `busy` was low in the cycle of a collar write (its dirty bit is set a cycle
    later), so the commit could make the written bank active with that write in the
    table and not in the bounds (found by tools/formal/risk.py `bounds`)."""
    dut = BookBounds(S)

    async def bench(ctx):
        await ctx.tick()
        assert not ctx.get(dut.busy)
        for word, busy in ((1, 0), (3, 0), (0, 1), (2, 1)):   # only words 0, 2 are collar
            ctx.set(dut.sym_addr, 4 * 1 + word)
            ctx.set(dut.sym_data, 7)
            ctx.set(dut.sym_stb, 1)
            assert ctx.get(dut.busy) == busy, word
            await ctx.tick()
            ctx.set(dut.sym_stb, 0)
            for _ in range(S + 3):
                await ctx.tick()
            assert not ctx.get(dut.busy)
    simulate(dut, bench)
