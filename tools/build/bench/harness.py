"""Harness section: simulated cycles per second of the native Verilator harness on the
full core (tools/build/harness), idle and under traffic.

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
    from tickwire.tools.engines import rtl_replay
    from tickwire.tools.build.harness import Idle
    sim = rtl_replay.core()
    res = sim.run([Idle(cycles)], drain=0)
    return res.stats["cycles"], res.stats["seconds"]


def bench_harness():
    """Native harness speed on the full core (TickwireCore, both ports, book, risk gate):
    simulated cycles per second, idle and with line-rate traffic. Why it is slow:
    Verilator evaluates the whole design every cycle whatever the traffic, ~48 k x86
    instructions per simulated cycle spread over every block (see the profile in
    tools/build/bench/harness.py), so idle is no faster than dense.

    Profile: no hot spot (perf on a --prof-cfuncs build, idle: book
    ~20% over ~500 blocks, the two MACs' CRC networks ~21% plus most of the 7% input-combo
    region, UDP ~10%, risk ~6%, mold ~5%, CSR bank ~4%).
    Found and fixed (tools/build/harness): rst was a top-level input and every Amaranth
    next-state block reads it, so Verilator also ran that logic in its input-combo
    region on both eval() calls of each cycle (~20% of the time): a generated wrapper
    now drives rst from a counter (same 4 reset cycles); the CRC networks' XOR
    reductions took ~15% of the time (perf): -mpopcnt; OPT_FAST -O3. Together 56.5k -> 48.1k instructions per
    cycle and 1.2x cycles/s back to back (idle 195 k -> 236 k, dense 178 k -> 219 k on a
    quiet machine), outputs byte-identical. A --threads 2 build ran at 4-24 k cycles/s
    with the machine loaded (its threads spin-wait). What remains: the MACs' data-side
    CRC terms read the XGMII inputs, so they still run on both eval() calls (~10% of
    instructions); the rest is the design's size, far from the 1 M cycles/s goal.
    Measured on a 2-core machine shared with other builds: the numbers vary with load."""
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
