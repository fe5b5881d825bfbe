"""bench/synth.json: every synthesis result, with the `rtl/` tree it was built from.

Why: a routed Fmax is only meaningful for the sources it was routed from. Each entry
records the block, build, placer seed, whether it was routed (or only placed), Fmax,
worst slack, LUT4/FF/DP16KD/MULT18 use, the critical path's ends, and `rtl_tree`
(`git rev-parse HEAD:rtl`, with `dirty` set when rtl/ had uncommitted changes), so a
reader can tell a stale figure: `python -m tickwire.tools.build.synth_record` lists
the entries and marks those whose tree differs from the checkout's.

Entries are keyed by (block, build, seed, flow): a new run replaces the old entry for
the same key and keeps every other.
"""
import argparse
import json
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PATH = REPO / "bench" / "synth.json"
KEY = ("block", "build", "seed", "flow")


def rtl_tree(repo=REPO):
    """(tree hash of HEAD:rtl, dirty) for the checkout at `repo`; (None, True) outside git."""
    try:
        tree = subprocess.run(["git", "rev-parse", "HEAD:rtl"], cwd=repo, check=True,
                              capture_output=True, text=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "rtl"], cwd=repo,
                                    check=True, capture_output=True, text=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        return None, True
    return tree, dirty


def critical_path(report):
    """(start, end) cell names of the worst path in a nextpnr --report dict, or None."""
    paths = report.get("critical_paths") or []
    worst = None
    for p in paths:
        steps = p.get("path") or []
        if not steps:
            continue
        delay = sum(s.get("delay", 0.0) for s in steps)
        if worst is None or delay > worst[0]:
            worst = (delay, steps[0].get("from", {}).get("cell"),
                     steps[-1].get("to", {}).get("cell"))
    return None if worst is None else {"start": worst[1], "end": worst[2],
                                       "delay_ns": round(worst[0], 3)}


def entry(row, build, seed, flow="ooc", extra=None, repo=REPO):
    """A synth.json entry from one synth.py results row."""
    tree, dirty = rtl_tree(repo)
    fmax, goal = row.get("fmax_mhz"), row.get("goal_mhz")
    e = {"block": row["block"], "build": build, "seed": seed, "flow": flow,
         "status": row.get("status"), "timing": row.get("timing"),
         "routed": row.get("timing") == "routed" and row.get("status") == "ok",
         "fmax_mhz": fmax, "goal_mhz": goal,
         "worst_slack_ns": (round(1e3 / goal - 1e3 / fmax, 3) if fmax and goal else None),
         "lut4": row.get("luts"), "ff": row.get("ffs"), "dp16kd": row.get("brams"),
         "mult18": row.get("dsps"), "critical_path": row.get("critical_path"),
         "heap_timing_weight": row.get("heap_timing_weight"),
         "reason": row.get("reason"), "seconds": row.get("seconds"),
         "rtl_tree": tree, "dirty": dirty,
         "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    e.update(extra or {})
    return {k: v for k, v in e.items() if v is not None or k in ("fmax_mhz", "rtl_tree", "lut4")}


def load(path=PATH):
    path = Path(path)
    if not path.exists():
        return {"entries": []}
    return json.loads(path.read_text())


def record(entries, path=PATH):
    """Merge `entries` into the file (same key replaced), sorted for stable diffs."""
    data = load(path)
    keep = {tuple(e.get(k) for k in KEY): e for e in data.get("entries", [])}
    for e in entries:
        keep[tuple(e.get(k) for k in KEY)] = e
    data["entries"] = sorted(keep.values(), key=lambda e: tuple(str(e.get(k)) for k in KEY))
    data["about"] = ("Synthesis results for LFE5UM5G-85F-8 (CABGA381), goal 156.25 MHz; "
                     "rtl_tree = git rev-parse HEAD:rtl of the sources built "
                     "(tools/build/synth_record.py)")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return data


def stale(entries, tree):
    """Entries built from another rtl tree (or from uncommitted sources)."""
    return [e for e in entries if e.get("rtl_tree") != tree or e.get("dirty")]


def main(argv=None):
    ap = argparse.ArgumentParser(description="list bench/synth.json, marking stale entries")
    ap.add_argument("--file", type=Path, default=PATH)
    args = ap.parse_args(argv)
    tree, _ = rtl_tree()
    entries = load(args.file).get("entries", [])
    old = {id(e) for e in stale(entries, tree)}
    print(f"rtl tree of this checkout: {tree}")
    for e in entries:
        fmax = f"{e['fmax_mhz']:.1f}" if e.get("fmax_mhz") else "-"
        mark = "STALE" if id(e) in old else "current"
        print(f"{e['block']:10s} {e['build']:6s} seed {e['seed']} {e.get('flow'):8s} "
              f"{fmax:>7s} MHz {'routed' if e.get('routed') else 'not routed':10s} "
              f"LUT4 {e.get('lut4')} FF {e.get('ff')} DP16KD {e.get('dp16kd')} "
              f"[{mark} {str(e.get('rtl_tree'))[:10]}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
