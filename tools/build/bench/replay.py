"""Replay section: a million messages through the RTL engine the way a user runs it.

`python -m tickwire.tools.gen_itch` writes the feed, then `tickwire replay FEED --engine
rtl --ab` runs as its own process (start-up, loading, framing, the harness, decoding,
writing the csv and json): the wall time is what a person waits. The machine's load is
recorded beside it, since other builds share the cores.
"""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import Result

MESSAGES = 1_000_000
SYMBOLS = 64
GOAL_S = 30.0


def timed(cmd):
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    secs = time.monotonic() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} ... failed: {proc.stderr.strip()[-500:]}")
    return secs, proc


def bench_replay():
    """End-to-end `tickwire replay` of 1,000,000 generated messages (A/B) through the RTL
    engine: wall time of the whole command, and the harness's share of it."""
    from tickwire.tools.engines import rtl_replay
    rtl_replay.core()               # built (or reused) before the clock starts
    with tempfile.TemporaryDirectory(prefix="twbench-replay-") as tmp:
        feed = Path(tmp) / "big.itch"
        t_gen, _ = timed([sys.executable, "-m", "tickwire.tools.gen_itch", "--symbols",
                          str(SYMBOLS), "--messages", str(MESSAGES), "--out", str(feed)])
        load0 = os.getloadavg()[0]
        secs, proc = timed([sys.executable, "-m", "tickwire", "replay", str(feed), "--engine",
                            "rtl", "--ab", "--bbo-out", str(Path(tmp) / "bbo.csv"),
                            "--stats-out", str(Path(tmp) / "s.json"), "--latency-out",
                            str(Path(tmp) / "l.json")])
        load1 = os.getloadavg()[0]
        import json
        lat = json.loads((Path(tmp) / "l.json").read_text())
        rows = sum(1 for _ in open(Path(tmp) / "bbo.csv")) - 1
    harness_s = lat["cycles"] / lat["sim_cycles_per_s"] if lat["sim_cycles_per_s"] else None
    method = (f"python -m tickwire replay big.itch --engine rtl --ab --bbo-out --stats-out "
              f"--latency-out (a separate process); big.itch from gen_itch --symbols {SYMBOLS} "
              f"--messages {MESSAGES} ({t_gen:.0f} s to generate); {rows} BBO rows; load "
              f"average {load0:.1f} -> {load1:.1f} on {os.cpu_count()} CPUs")
    out = [Result(f"{MESSAGES:,}-message RTL replay, wall time", GOAL_S, round(secs, 1), "s",
                  method, better="lower")]
    if harness_s:
        out.append(Result("of which the harness clocking the core", None, round(harness_s, 1),
                          "s", f"{lat['cycles']} cycles at {lat['sim_cycles_per_s']} cycles/s "
                          f"(harness stats); the rest is Python start-up, loading, framing "
                          f"and decoding", better="lower"))
    return out
