"""The synthesis section: per-block Fmax and resources from `make synth`."""
import json

from tickwire.tools.build import synth as flow

from . import NotRun, Result, not_run, options


def rows_to_results(data, source):
    """Results from a parsed build/synth/results.json (`source` names where it came from)."""
    method = f"{data.get('flow', 'make synth')} ({source})"
    out = []
    for row in data["blocks"]:
        b = row["block"]
        if row["status"] != "ok":
            out.append(not_run(f"{b}.fmax", f"{row['status']}: {row.get('reason', '')}",
                               unit="MHz", goal=data["goal_mhz"], method=method))
            continue
        if row["fmax_mhz"] is None:
            out.append(not_run(f"{b}.fmax", "no register-to-register path on the clock",
                               unit="MHz", goal=data["goal_mhz"], method=method))
        else:
            est = row.get("timing") == flow.ESTIMATE
            out.append(Result(f"{b}.fmax", row["goal_mhz"], row["fmax_mhz"], "MHz",
                              method + ("; placed, NOT routed: nextpnr's post-placement "
                                        "estimate (--no-route)" if est else "")))
        # Resource goals are the device's capacity: "how far" is the headroom left.
        avail = row.get("available", {})
        for key, cell, unit in (("luts", "TRELLIS_COMB", "LUT4"), ("ffs", "TRELLIS_FF", "FF"),
                                ("brams", "DP16KD", "DP16KD")):
            out.append(Result(f"{b}.{key}", avail.get(cell), row[key], unit, method,
                              better="lower"))
    return out


def bench_synth():
    """Per-block Fmax against the 156.25 MHz XGMII clock, and LUT/FF/BRAM use, on the
    LFE5UM5G-85F-8 (out-of-context Yosys + nextpnr-ecp5, fixed seed)."""
    path = flow.OUT / "results.json"
    if options.with_synth:
        rows = flow.run(list(flow.BLOCKS), jobs=options.jobs)
        flow.write_outputs(rows)
    if not path.exists():
        raise NotRun(f"no {path.relative_to(flow.REPO) if path.is_relative_to(flow.REPO) else path}: "
                     "run `make synth` or `python -m tickwire.tools.build.bench --with-synth`")
    data = json.loads(path.read_text())
    if not data.get("blocks"):
        return [not_run("synth", f"{path} lists no blocks")]
    return rows_to_results(data, "results.json" if not options.with_synth else "fresh run")
