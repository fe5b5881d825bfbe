"""Harness section: simulated cycles per second of the native Verilator harness on the
full core (tools/harness), idle and under traffic.

The harness clocks the design from C++ (no Python per cycle); `stats.seconds` covers
the clocked run only, so these numbers are the simulator's own speed. Idle is an
all-/I/ input (the design still evaluates every cycle); dense is the line-rate
Add/Delete feed of the packet section, and the long run is the book section's
1,000,000-message A/B feed (both ports busy).
"""
import functools

from . import Result

IDLE_CYCLES = 1_000_000
GOAL = 1_000_000


@functools.lru_cache(maxsize=None)
def idle_run(cycles=IDLE_CYCLES):
    from tickwire.tools import rtl_replay
    from tickwire.tools.harness import Idle
    sim = rtl_replay.core()
    res = sim.run([Idle(cycles)], drain=0)
    return res.stats["cycles"], res.stats["seconds"]


def bench_harness():
    """Native harness speed on the full core (TickwireCore, both ports, book, risk gate):
    simulated cycles per second, idle and with line-rate traffic. Why it is slow: Verilator
    evaluates the whole design every cycle whatever the traffic (idle is no faster), and
    `perf` puts over 90% of the time in the generated nba/ico sequent functions; a core
    built with 16 kept book levels instead of 64 was no faster (114 k against 173 k idle
    cycles/s, back to back on the same loaded machine), so the book's level sort is not
    the cost; measured on a 2-core machine shared with other builds, so the numbers vary
    with load."""
    from .book import long_run
    from .packet import line_rate_run
    cycles, secs = idle_run()
    out = [Result("idle cycles/s", GOAL, round(cycles / secs), "cycles/s",
                  f"{cycles} idle XGMII cycles on both ports, {secs:.2f} s clocked")]
    info, lr = line_rate_run()
    out.append(Result("dense traffic cycles/s (one port at line rate)", GOAL,
                      lr.latency["sim_cycles_per_s"], "cycles/s",
                      f"{lr.latency['cycles']} cycles: {info['frames']} back-to-back MTU frames "
                      f"of Adds then Deletes (packet section's run)"))
    r = long_run()
    out.append(Result("long faulty A/B feed cycles/s (both ports)", GOAL,
                      r["rtl"].latency["sim_cycles_per_s"], "cycles/s",
                      f"{r['rtl'].latency['cycles']} cycles: the book section's "
                      f"{r['msgs']}-message run"))
    return out
