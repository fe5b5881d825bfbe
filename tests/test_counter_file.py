"""CounterFile (rtl/host/counter_file.py) against a pure-Python model: every flush
returns exactly the sum of the counter's increments up to and including the flush's
cycle (what a flip-flop counter shows the cycle after), under random and maximal increments, random flush
reads (at the bus contract's densest, every second cycle, on the same counter and on
the sweeper's), 64-bit wrap, garbage memory after reset, sparse memory slots; and no
pending register ever overflows, while a flood that breaks the contract raises
`overflow`. Results are checked LATENCY cycles after the flush (the pipeline's depth)."""
import random

from amaranth.sim import Simulator

from tickwire.rtl.host.counter_file import LATENCY, CounterFile, pending_width
from tickwire.rtl.regmap import build_map

MASK = (1 << 64) - 1


def run(steps, cycles, seed, *, inc_mode="random", flush_gaps=(2, 7), mem_init=(),
        flood=False, hot=None, slots=None):
    """Drive `cycles` cycles; returns (flush checks done, overflow at the end)."""
    dut = CounterFile(steps, mem_init=mem_init, slots=slots)
    rng = random.Random(seed)
    n = len(steps)
    sums = [0] * n
    result = {}

    async def bench(ctx):
        # (index, expected) of the flush LATENCY cycles ago, oldest first
        in_flight = [None] * LATENCY
        next_flush = rng.randint(0, 3)
        checks = 0
        for t in range(cycles + LATENCY):       # then drain the flushes in flight
            pending_check = in_flight.pop(0)
            if pending_check is not None:
                assert ctx.get(dut.done), t
                i, want = pending_check
                got = ctx.get(dut.total)
                assert got == want, f"cycle {t}: counter {i} read {got:#x}, model {want:#x}"
                checks += 1
            else:
                assert not ctx.get(dut.done), t
            pending_check = None
            flush = None
            if t < cycles and (flood or t == next_flush):
                flush = hot if hot is not None else rng.randrange(n)
                next_flush = t + rng.randint(*flush_gaps)
            ctx.set(dut.hold, flush is not None)
            ctx.set(dut.flush, 0 if flush is None else 1 << flush)
            ctx.set(dut.flush_slot, 0 if flush is None else dut.slots[flush])
            for i, s in enumerate(steps):
                top = (1 << s) - 1
                if inc_mode == "max":
                    v = top
                elif inc_mode == "random":
                    v = rng.choice((0, top, rng.randint(0, top)))
                else:
                    v = 0
                ctx.set(dut.inc[i], v)
                sums[i] += v
            if flush is not None:       # the flush's own cycle counts
                pending_check = (flush, sums[flush] & MASK)
            in_flight.append(pending_check)
            await ctx.tick()
        result["checks"] = checks
        result["overflow"] = ctx.get(dut.overflow)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return result["checks"], result["overflow"]


def test_pending_width_bound():
    # 2N cycles of the widest increment fit, with a bit to spare; >= 64 bits wraps.
    for n in (1, 2, 10, 134, 300):
        for step in (1, 2, 3, 16):
            w = pending_width(step, n)
            assert 2 * n * ((1 << step) - 1) < 1 << (w - 1)
    assert pending_width(64, 134) == 64


def test_random_incs_and_flushes():
    steps = [1, 2, 3, 1, 16, 64, 1, 2]
    checks, ovf = run(steps, 3000, 1)
    assert checks > 400 and not ovf


def test_max_incs_densest_flushes():
    # Flush every second cycle (the sweeper gets only half the cycles), all at max.
    steps = [1, 1, 2, 3, 16, 64, 1, 1, 1, 2, 3]
    checks, ovf = run(steps, 4000, 2, inc_mode="max", flush_gaps=(2, 2))
    assert checks == 2000 and not ovf


def test_flush_same_counter_back_to_back():
    # The same counter over and over (forwarding of the write in flight every time).
    steps = [1, 3, 2]
    for hot in range(3):
        checks, ovf = run(steps, 600, 3 + hot, flush_gaps=(2, 3), hot=hot)
        assert checks > 200 and not ovf


def test_sparse_slots():
    # Counters at scattered memory words, out of order (as the CSR bank places them:
    # low address bits and a dense group number): the sweeper walks the slots and
    # forwarding compares slots, not indices.
    steps = [1, 2, 3, 1, 16, 1]
    slots = [17, 3, 40, 0, 33, 18]
    for hot in (None, 0, 3):
        checks, ovf = run(steps, 1500, 8, flush_gaps=(2, 3), slots=slots, hot=hot,
                          mem_init=[random.Random(9).getrandbits(64) for _ in steps])
        assert checks > 400 and not ovf


def test_single_counter():
    checks, ovf = run([3], 500, 4, flush_gaps=(2, 3))
    assert checks > 150 and not ovf


def test_register_map_counters():
    # The real bank's 134 counters and their steps, at max increments.
    steps = [p.item.step for p in build_map().registers() if p.item.kind == "counter"]
    checks, ovf = run(steps, 1200, 5, inc_mode="max", flush_gaps=(2, 4))
    assert checks > 300 and not ovf


def test_reset_hides_memory_contents():
    steps = [1, 2, 1, 16, 1]
    junk = [random.Random(6).getrandbits(64) for _ in steps]
    checks, ovf = run(steps, 800, 6, mem_init=junk, flush_gaps=(2, 5))
    assert checks > 150 and not ovf


def test_contract_breach_is_not_silent():
    # Flushing every cycle starves the sweeper; the pending registers of the other
    # counters overflow and `overflow` says so.
    steps = [1, 1, 1, 1]
    checks, ovf = run(steps, 200, 7, inc_mode="max", flood=True, hot=0)
    assert ovf
