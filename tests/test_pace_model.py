"""The model's nominal book pace (tickwire/model/pace.py) against BookInput's counter
(rtl/book/book_input.py), cycle by cycle: which cycles `almost_full` pauses the merge
decides which held messages it delivers, so the two must agree exactly."""
import random

from amaranth.sim import Simulator

from tickwire.model.pace import NominalPace
from tickwire.rtl.book import BookInput

TYPES = "AFECXDUHSRP"      # book types and a few others (no cost)


def _rtl_almost_full(arrivals, depth, cycles):
    """almost_full per cycle of a BookInput whose reader is always ready (so only the
    nominal pace can raise it), given {cycle: type} arriving at its input."""
    dut = BookInput(depth=depth)
    af = []

    async def bench(ctx):
        for c in range(cycles):
            t = arrivals.get(c)
            ctx.set(dut.i.valid, t is not None)
            if t is not None:
                ctx.set(dut.i.payload.type, ord(t))
            ctx.set(dut.o.ready, 1)
            af.append(ctx.get(dut.almost_full))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(6.4e-9)
    sim.add_testbench(bench)
    sim.run()
    return af


def test_model_pause_equals_book_input_almost_full_cycle_by_cycle():
    rng = random.Random(7)
    depth, cycles = 64, 1500      # room = 64 - 8 - 16 = 40 operations
    arrivals, c = {}, 0
    while c < cycles - 50:
        # bursts at one a cycle (U-heavy, past the room) and quiet stretches
        burst = rng.random() < 0.5
        for _ in range(rng.randrange(5, 80)):
            if burst or rng.random() < 0.3:
                arrivals[c] = rng.choice("UUUAD" if burst else TYPES)
            c += 1
    af = _rtl_almost_full(arrivals, depth, cycles)
    pace = NominalPace(depth, loop=0)
    model = []
    for t in range(cycles):
        model.append(int(pace.paused(t)))
        if t in arrivals:
            pace.sent(t, arrivals[t].encode())
    assert sum(af) > 100 and sum(af) < cycles - 100          # it both pauses and runs
    assert model == af


def test_first_free_skips_exactly_to_the_first_unpaused_cycle():
    """first_free's jump (N falls one a cycle when nothing arrives) against stepping one
    cycle at a time, with deliveries still in flight (loop 3)."""
    rng = random.Random(3)
    fast, slow = NominalPace(64), NominalPace(64)
    t_fast = t_slow = 1
    for _ in range(400):
        msg = rng.choice(TYPES).encode()
        t_fast = fast.first_free(t_fast)
        while slow.paused(t_slow):
            t_slow += 1
        assert t_fast == t_slow
        fast.sent(t_fast, msg)
        slow.sent(t_slow, msg)
        t_fast += 1 + (rng.random() < 0.1) * rng.randrange(1, 60)
        t_slow = t_fast
