"""RejectRing: the last rejects, four words each, read back through the host window
(docs/registers.md, risk.last_rejects and risk.reject_head)."""
import random

from clocked import put, simulate
from tickwire.rtl.risk.rejects import RejectRing

DEPTH = 8


def words(r):
    return [r["clordid"] & 0xFFFFFFFF, r["clordid"] >> 32,
            r["reason"] | r["account"] << 8 | r["slot"] << 16, r["ns"]]


def run(steps):
    """steps: (reject dict or None, window addr). Checks head and every window read.
    A reject is registered, then written the next cycle (head moves then)."""
    dut, ring, head, reads = RejectRing(DEPTH), [[0] * 4 for _ in range(DEPTH)], 0, []

    async def bench(ctx):
        nonlocal head
        want, pend = None, None
        for rj, addr in steps:
            if want is not None:
                assert ctx.get(dut.window.r_data) == want
                reads.append(want)
            assert ctx.get(dut.head) == head
            ctx.set(dut.i.valid, rj is not None)
            put(ctx, dut.i.payload, rj or {})
            ctx.set(dut.window.addr, addr)
            want = ring[addr // 4][addr % 4]       # read before this cycle's write
            if pend:
                ring[head] = words(pend)
                head = (head + 1) % DEPTH
            pend = rj
            await ctx.tick()
    simulate(dut, bench)
    return reads


def reject(rng):
    return dict(clordid=rng.randrange(1 << 64), reason=rng.randrange(1, 13),
                account=rng.randrange(256), slot=rng.randrange(256), ns=rng.randrange(1 << 32))


def test_entry_words_and_wrap():
    rng = random.Random(1)
    rjs = [reject(rng) for _ in range(DEPTH + 1)]
    # (one idle cycle after the rejects: the last is written a cycle after it arrives)
    steps = [(r, 0) for r in rjs] + [(None, 0)] + [(None, a) for a in range(4 * DEPTH)] \
        + [(None, 0)]
    reads = run(steps)
    assert reads[DEPTH + 2:DEPTH + 6] == words(rjs[-1]), "the 9th reject overwrote entry 0"
    assert reads[DEPTH + 6:DEPTH + 10] == words(rjs[1])


def test_random_against_reference():
    rng = random.Random(2)
    reads = run([(reject(rng) if rng.random() < 0.4 else None, rng.randrange(4 * DEPTH))
                 for _ in range(500)])
    assert sum(1 for r in reads if r) > 300
