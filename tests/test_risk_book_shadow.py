"""BookShadow: the gate's per-slot top of book, looked up in the cycle an order enters."""
import random

from clocked import put, simulate
from tickwire.rtl.risk.book_shadow import BookShadow

SLOTS = 4
NO_BOOK = dict(bid_px=0, bid_qty=0, ask_px=0, ask_qty=0, halted=0, unreliable=1)


def run(steps):
    """steps: (bbo dict or None, lookup slot or None). Returns the entries seen and the
    bad-slot count; checks each entry against the book as of the cycle before."""
    dut = BookShadow(SLOTS)
    ref, got, bad = {}, [], [0]

    async def bench(ctx):
        want = None
        for bbo, slot in steps + [(None, None)]:
            if want is not None:
                entry = {k: getattr(ctx.get(dut.entry), k) for k in NO_BOOK}
                assert entry == want
                got.append(entry)
            ctx.set(dut.bbo.valid, bbo is not None)
            if bbo:
                put(ctx, dut.bbo.payload, bbo)
            ctx.set(dut.en, slot is not None)
            if slot is not None:
                ctx.set(dut.slot, slot)
                want = dict(ref.get(slot, NO_BOOK))
            bad[0] += ctx.get(dut.bad_slot)
            if bbo and bbo["slot"] < SLOTS:
                ref[bbo["slot"]] = {k: bbo[k] for k in NO_BOOK}
            await ctx.tick()
    simulate(dut, bench)
    return got, bad[0]


def bbo(slot, rng=None, **kw):
    rng = rng or random.Random(slot)
    b = dict(slot=slot, bid_px=rng.randrange(1 << 32), bid_qty=rng.randrange(1 << 32),
             ask_px=rng.randrange(1 << 32), ask_qty=rng.randrange(1 << 32),
             halted=rng.random() < 0.3, unreliable=rng.random() < 0.3, locate=7)
    b.update(kw)
    return b


def test_unwritten_slot_is_no_book_and_update_seen_next_cycle():
    u = bbo(2, unreliable=0, halted=1)
    got, bad = run([(None, 2), (u, 2), (None, 2), (bbo(9), 1)])
    assert got[0] == NO_BOOK and got[1] == NO_BOOK, "an update is seen from the next cycle"
    assert got[2]["bid_px"] == u["bid_px"] and got[2]["halted"] == 1 and not got[2]["unreliable"]
    assert got[3] == NO_BOOK and bad == 1, "slot 9 is past the table: counted, not written"


def test_entry_holds_without_en():
    got, _ = run([(bbo(1, unreliable=0), None), (None, 1), (bbo(1, bid_px=5), None),
                  (None, None)])
    assert got[0] == got[1] == got[2] != NO_BOOK


def test_random_against_reference():
    rng = random.Random(5)
    steps = [(bbo(rng.randrange(SLOTS + 2), rng) if rng.random() < 0.5 else None,
              rng.randrange(SLOTS) if rng.random() < 0.8 else None) for _ in range(400)]
    got, bad = run(steps)
    assert bad == sum(1 for b, _ in steps if b and b["slot"] >= SLOTS) > 0
    assert len({tuple(e.values()) for e in got}) > 20
