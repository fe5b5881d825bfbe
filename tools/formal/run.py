"""`make formal` (python -m tickwire.tools.formal): every proof, one table.

Each entry: the wrapper, its mode (prove = k-induction, which proves the property
for every reachable state; bmc = bounded from power-up), the depth, and the status it
is expected to have today. Two entries are expected to FAIL: `bus_tight` (a wait
bound too small) and `risk_late_kill` (the kill-switch record taken one pipeline
stage too late): they show the flow finds violations; if one passes, something
changed and the table says so.
"""
import argparse
import sys
import time
from dataclasses import dataclass

from . import bus, mold, risk, sby


@dataclass(frozen=True)
class Job:
    name: str
    what: str
    make: object
    depth: int
    mode: str = "prove"
    expect: str = "PASS"
    timeout: int = 1800           # seconds; --timeout caps it
    script: tuple = ()            # Yosys commands after prep (sby.prove)


JOBS = (
    Job("bus", "bus arbiter: every request answered exactly once, within 3N cycles",
        bus.component, bus.DEPTH),
    Job("bus_tight", "sanity: the same with a 2-cycle bound must fail",
        lambda: bus.ArbiterProps(3, bound=2), 8, "bmc", "FAIL"),
    Job("mold", "MoldUDP64 sequencer: delivered seq >= E, then E = seq + 1; E never "
        "decreases (but restart/join); no number delivered twice in a session",
        mold.component, mold.DEPTH),
    Job("risk_kill", "risk gate (board 8x8): taken with the kill switch (global or its "
        "account) or a tripped watchdog -> never accepted",
        lambda: risk.component(("kill",)), risk.DEPTH, script=risk.SCRIPT),
    Job("risk_powerup", "risk gate (board 8x8): taken before the first commit strobe -> "
        "never accepted", lambda: risk.component(("powerup",)), risk.DEPTH, script=risk.SCRIPT),
    Job("risk_banks", "risk gate (board 8x8): every limits read of an order (3 tables, "
        "collar bounds) from the bank active at its take",
        lambda: risk.component(("banks",)), risk.DEPTH, script=risk.SCRIPT),
    Job("risk_bounds", "risk gate (board 8x8): an order's collar bounds are computed from "
        "its bank's current collar words", lambda: risk.component(("bounds",)), risk.DEPTH,
        script=risk.SCRIPT),
    Job("risk_late_kill", "sanity: the kill proof with the shadow one stage short (2x2) "
        "must fail", lambda: risk.late_kill(), risk.LATE_DEPTH, "bmc", "FAIL",
        script=risk.SCRIPT),
)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="jobs to run (default all)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per job")
    a = ap.parse_args(argv)
    jobs = [j for j in JOBS if not a.names or j.name in a.names]
    t0 = time.monotonic()
    sby.warm()
    print(f"warm-up {time.monotonic() - t0:.0f} s", file=sys.stderr)
    print("| job | property | mode | depth | status | expected | time (s) |")
    print("|---|---|---|---|---|---|---|")
    bad = 0
    for j in jobs:
        p = sby.prove(j.name, j.make(), j.depth, timeout=min(a.timeout, j.timeout), mode=j.mode,
                      script=j.script)
        bad += p.status != j.expect
        print(f"| {j.name} | {j.what} | {j.mode} | {j.depth} | {p.status} | {j.expect} | "
              f"{p.seconds:.0f} |", flush=True)
    print(f"logs and traces: {sby.WORK}/<job>/", file=sys.stderr)
    return 1 if bad else 0
