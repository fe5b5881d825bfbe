"""The synthesis section: every routed (or attempted) figure in bench/synth.json.

Why bench/synth.json and not build/synth/results.json: the latter is whatever the
last local `make synth` left behind (uncommitted, often a different build or an
older tree); bench/synth.json is committed, one entry per (block, build, seed,
flow), each with the `rtl/` tree it was built from. Each result's method names that
tree, the date, and whether rtl/ changed since (`sources_since`), so a reader can
tell a current figure from a stale one without running anything.

Shown: the per-block out-of-context runs of the `board` build (seed 1 as
`<block>.*`, other seeds' Fmax as `<block>.seed<N>.fmax`; `<block>_reg` rows are the
block with registered ports, for blocks whose outputs are combinational) and every full-core run
(`make bitstream`, block lab_top) of any build as `core[<build>].*`. A run that did
not finish or did not fit is "not run" with its recorded reason, never a number.
"""
import subprocess

from tickwire.tools.build import synth as flow
from tickwire.tools.build import synth_record as rec

from . import NotRun, Result, not_run, options

#: LFE5UM5G-85F capacity: the resource goals are the device (headroom left).
CAPACITY = {"lut4": ("luts", "TRELLIS_COMB", 83640), "ff": ("ffs", "FF", 83640),
            "dp16kd": ("brams", "DP16KD", 208)}
BUILD = "board"          # the per-block figures the issues' goals are stated for


def sources_since(tree, block, repo=flow.REPO):
    """How the checkout's rtl/ differs from `tree`: "current", "rtl/ changed (N files,
    none under <dir>)", "rtl/<dir> changed" or "tree unknown" (not in this clone)."""
    head, dirty = rec.rtl_tree(repo)
    if not tree:
        return "tree unknown"
    if tree == head:
        return "current" if not dirty else "current tree, rtl/ has uncommitted changes"
    try:
        names = subprocess.run(["git", "diff-tree", "-r", "--name-only", tree, head],
                               cwd=repo, check=True, capture_output=True,
                               text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return "tree unknown"
    path, _ = flow.BLOCKS.get(block, ("", None))
    parts = path.split(":")[0].split(".")[2:]          # below tickwire.rtl
    own = "/".join(parts) if (repo / "rtl" / "/".join(parts)).is_dir() else "/".join(parts[:-1])
    own = own if path.startswith("tickwire.rtl.") and own else None
    if own and any(n.startswith(own + "/") for n in names):
        return f"rtl/{own} changed since"
    where = f", none under rtl/{own}" if own else ""
    plural = "s" if len(names) != 1 else ""
    return f"rtl/ changed since ({len(names)} file{plural}{where})"


def method_of(e):
    tree = e.get("rtl_tree") or "?"
    how = {"ooc": "out of context", "registered_ports": "ports registered",
           "bitstream": "make bitstream (LabTop)",
           "synthesis": "Yosys only (TickwireCore, classic ABC)"}
    return (f"{how.get(e.get('flow'), e.get('flow'))}, {e['build']}, seed {e['seed']}, "
            f"{e.get('timing') or 'routed'}, {str(e.get('date', ''))[:10]}, rtl "
            f"{tree[:10]}: {sources_since(e.get('rtl_tree'), e['block'])}")


def entry_results(e, name, resources=True):
    """Fmax (and unless not `resources`, LUT/FF/BRAM) results of one entry, as `name`."""
    method = method_of(e)
    goal = e.get("goal_mhz") or flow.GOAL_MHZ
    out = []
    if e.get("fmax_mhz") is None:
        why = (f"{e.get('status')}: {e['reason']}" if e.get("reason") else
               "no register-to-register path on the clock (see its _reg row)")
        out.append(not_run(f"{name}.fmax", why, unit="MHz", goal=goal, method=method))
    else:
        est = not e.get("routed")
        out.append(Result(f"{name}.fmax", goal, e["fmax_mhz"], "MHz",
                          method + ("; placed, NOT routed: nextpnr's post-placement "
                                    "estimate" if est else "")))
    for key, (short, unit, cap) in CAPACITY.items():
        if resources and e.get(key) is not None:
            out.append(Result(f"{name}.{short}", cap, e[key], unit, method, better="lower"))
    return out


def results_from(entries):
    """The section's results from bench/synth.json entries (registry order, then cores)."""
    order = {b: i for i, b in enumerate(flow.BLOCKS)}
    ooc = sorted((e for e in entries if e.get("flow") in ("ooc", "registered_ports")
                  and e["build"] == BUILD),
                 key=lambda e: (order.get(e["block"], len(order)), e["block"], e["seed"]))
    # the full core: `make bitstream` runs (LabTop), and Yosys-only maps of TickwireCore
    # (flow "synthesis": how far a build is from fitting when it cannot be placed)
    cores = sorted((e for e in entries if e.get("flow") in ("bitstream", "synthesis")),
                   key=lambda e: (e["build"], e["flow"], e["seed"]))
    out = []
    for e in ooc:              # other seeds: the same netlist, so Fmax only
        first = e["seed"] == flow.SEED
        out += entry_results(e, e["block"] if first else f"{e['block']}.seed{e['seed']}",
                             resources=first)
    for e in cores:
        name = (f"core[{e['build']}]" + (".yosys" if e["flow"] == "synthesis" else "")
                + ("" if e["seed"] == flow.SEED else f".seed{e['seed']}"))
        out += entry_results(e, name)
    return out


def bench_synth():
    """Per-block Fmax against the 156.25 MHz XGMII clock, the full core's runs, and
    LUT/FF/BRAM use, on the LFE5UM5G-85F-8 (bench/synth.json, fixed seed)."""
    if options.with_synth:
        from tickwire.rtl.config import build
        rows = flow.run(list(flow.BLOCKS), jobs=options.jobs, cfg=build(BUILD))
        flow.write_outputs(rows)
        rec.record([rec.entry(r, BUILD, flow.SEED) for r in rows])
    entries = rec.load(rec.PATH).get("entries", [])
    if not entries:
        raise NotRun(f"{rec.PATH.name} lists no results: run `make synth BUILD=board` "
                     "or `python -m tickwire.tools.build.bench --with-synth`")
    return results_from(entries)
