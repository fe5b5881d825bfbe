"""First-run section: what a new user waits for, `git clone` then `make demo`.

The clone (of the committed HEAD) gets its own .venv and an empty build/, so every
step runs: pip install, elaborating the core and the risk gate, Verilator and the C++
compiles, the replays and the control-plane demo. The demo's own step lines ("...:
done in N s") are kept as the breakdown, and the machine's load beside the time,
since this 2-core machine is shared.
"""
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from . import REPO, Result, not_run, options

GOAL_S = 240.0
STEP = re.compile(r"^\s+(.+?): done in ([\d.]+) s$")


def bench_firstrun():
    """Fresh-clone `make demo` wall time on this machine (goal 4 minutes), with the
    elaborate / Verilate / compile steps it printed and the load average."""
    if getattr(options, "skip_firstrun", False):
        return [not_run("fresh-clone make demo, wall time", "skipped (--skip-firstrun)", "s",
                        GOAL_S, better="lower")]
    if not shutil.which("git") or not (REPO / ".git").exists():
        return [not_run("fresh-clone make demo, wall time", "not a git checkout", "s", GOAL_S,
                        better="lower")]
    with tempfile.TemporaryDirectory(prefix="twfirstrun-") as tmp:
        tmp = Path(tmp)
        shared = REPO.parent / "shared"
        if shared.exists():
            (tmp / "shared").symlink_to(shared)       # the real samples, as beside the repo
        clone = tmp / "tickwire"
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        head = subprocess.run(["git", "-C", str(clone), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
        load0 = os.getloadavg()
        t0 = time.monotonic()
        proc = subprocess.run(["make", "demo"], cwd=clone, capture_output=True, text=True,
                              env={k: v for k, v in os.environ.items()
                                   if k not in ("VIRTUAL_ENV", "TICKWIRE_BUILD")})
        secs = time.monotonic() - t0
        load1 = os.getloadavg()
    text = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise RuntimeError(f"make demo failed ({proc.returncode}): {text[-800:]}")
    steps = [(m.group(1), float(m.group(2))) for m in map(STEP.match, text.splitlines()) if m]
    breakdown = "; ".join(f"{name} {s:.0f} s" for name, s in steps)
    method = (f"git clone (HEAD {head}) + make demo in a temp dir, fresh .venv and build/; "
              f"load average {load0[0]:.1f} before, {load1[0]:.1f} after (1-minute), "
              f"{os.cpu_count()} CPUs shared with other work; steps: {breakdown}")
    out = [Result("fresh-clone make demo, wall time", GOAL_S, round(secs), "s", method,
                  better="lower")]
    for name, s in steps:
        out.append(Result(f"first run step: {name}", None, round(s, 1), "s",
                          "printed by the demo's build steps", better="lower"))
    return out
