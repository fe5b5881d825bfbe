"""Stop router2 once it has stalled, and say how far it got.

Why: router2 has no pass limit. On a design it cannot route (the lab build since book
v2) its overused-wire count falls for ~12 passes, then rises again as the growing
present-congestion cost lengthens every detour, and it goes on for hours (a pass is
~5 minutes on the full core). Until 2026-12-06 such a run was stopped by hand and
`make bitstream` recorded only "nextpnr exited -15". Now the route stage watches the
log nextpnr writes, stops nextpnr when its lowest overuse is `patience` passes old,
and the result (bench/synth.json) keeps every pass's count and the lowest one.

router2 prints one line per pass:
    Info:     iter=13 wires=1301202 overused=1324 overuse=1331 archfail=NA
"""
import re
import subprocess
import time
from pathlib import Path

PASS_RE = re.compile(r"iter=(\d+) wires=(\d+) overused=(\d+)")
#: Passes without a new lowest overuse before the route is called stalled. On the lab
#: build (2026-12-05) the lowest came at pass 12-13 and was never beaten afterwards
#: (seed 2: 1,324 at pass 13, 5,084 by pass 24); 8 passes is ~40 minutes of margin.
PATIENCE = 8


class RouteStalled(RuntimeError):
    """router2 stopped making progress; the message names the lowest overuse."""


def passes(text):
    """[(pass, wires used, overused wires)] for every router2 pass in a log."""
    return [tuple(int(g) for g in m.groups()) for m in PASS_RE.finditer(text)]


def lowest(found):
    """The first pass with the lowest overuse, as (pass, wires, overused), or None."""
    return min(found, key=lambda p: (p[2], p[0]), default=None)


def stalled(found, patience=PATIENCE):
    """True when the lowest overuse so far is `patience` or more passes old (a route
    that reached 0 has finished, never stalled; patience 0 never stops)."""
    best = lowest(found)
    return patience > 0 and bool(best) and best[2] > 0 and found[-1][0] - best[0] >= patience


def summary(found):
    """What the result records about a route's passes (empty if there were none)."""
    best = lowest(found)
    if best is None:
        return {}
    return {"route_passes": len(found), "route_overused": [p[2] for p in found],
            "lowest_overused": best[2], "lowest_overused_pass": best[0]}


def run_watched(cmd, log, cwd, timeout, watch_log=None, patience=0, poll=10.0):
    """Run `cmd` (stdout to `log`, a RuntimeError quoting its end if it fails); with
    `watch_log` and `patience`, stop it once the router2 passes written there have
    stalled: RouteStalled then says where it was. Every tool of `make bitstream` runs
    through here (bitstream.run)."""
    t0 = time.monotonic()
    watch_log = Path(watch_log) if watch_log else None
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT)
        try:
            while True:
                try:
                    proc.wait(timeout=poll)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if time.monotonic() - t0 > timeout:
                    raise subprocess.TimeoutExpired(cmd, timeout)
                if not (patience > 0 and watch_log and watch_log.exists()):
                    continue
                found = passes(watch_log.read_text())
                if stalled(found, patience):
                    best, last = lowest(found), found[-1]
                    raise RouteStalled(
                        f"router2 stalled: lowest {best[2]:,} overused wires at pass "
                        f"{best[0]}, {last[2]:,} at pass {last[0]}, no new low for "
                        f"{last[0] - best[0]} passes (stopped)")
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    if proc.returncode != 0:
        tail = "".join(Path(log).read_text().splitlines(keepends=True)[-15:])
        raise RuntimeError(f"{Path(cmd[0]).name} exited {proc.returncode} (see {log}):\n{tail}")
    return round(time.monotonic() - t0, 1)
