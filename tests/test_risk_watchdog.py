"""Watchdog: trips after `cycles` cycles with no heartbeat, stays tripped until released."""
import random

from clocked import simulate
from tickwire.rtl.risk.watchdog import Watchdog


class Ref:
    """From docs/registers.md (risk.watchdog_cycles): `cycles` cycles without a heartbeat
    engage the kill switch until watchdog_release; 0 disables the watchdog."""

    def __init__(self):
        self.quiet, self.tripped = 0, False

    def step(self, heartbeat, release, cycles):
        kick = heartbeat or release or cycles == 0
        self.quiet = 0 if kick else self.quiet + 1
        if not kick and self.quiet >= cycles:
            self.tripped = True
        if release:
            self.tripped = False


def run(stimulus):
    dut, ref, seen = Watchdog(), Ref(), []

    async def bench(ctx):
        for t, (hb, rel, cycles) in enumerate(stimulus):
            assert ctx.get(dut.tripped) == ref.tripped, t
            seen.append(ref.tripped)
            ctx.set(dut.heartbeat, hb)
            ctx.set(dut.release, rel)
            ctx.set(dut.cycles, cycles)
            ref.step(hb, rel, cycles)
            await ctx.tick()
    simulate(dut, bench)
    return seen


def test_trips_after_exactly_cycles_quiet_and_holds_until_release():
    seen = run([(1, 0, 5)] + [(0, 0, 5)] * 10 + [(1, 0, 5)] * 3 + [(0, 1, 5)] + [(0, 0, 5)] * 3)
    assert seen[:6] == [False] * 6 and seen[6] is True      # 5 quiet cycles after the kick
    assert all(seen[6:15]), "a heartbeat does not release it"
    assert seen[15:] == [False] * 3, "release clears it and restarts the count"


def test_zero_cycles_disables():
    assert not any(run([(0, 0, 0)] * 50))


def test_random_against_reference():
    rng = random.Random(11)
    stim = []
    for _ in range(40):
        cycles = rng.choice([0, 1, 2, 3, 7])
        stim += [(rng.random() < 0.1, rng.random() < 0.05, cycles)
                 for _ in range(rng.randrange(5, 30))]
    seen = run(stim)
    assert any(seen) and not all(seen)
