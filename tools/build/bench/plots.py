"""Bench plots: latency distributions and per-block synthesis, drawn from the committed
bench/results.json and bench/latency_samples.json.

Why from files: the plots can be redrawn (`python -m tickwire.tools.build.bench
--plots-only`) without rerunning a bench that takes many minutes, and two runs of the
same design draw the same pictures. matplotlib's Agg backend: no display needed.
"""
import json
from pathlib import Path

NS_PER_CYCLE = 1000 / 156.25
CLOCK_MHZ = 156.25
#: Latency sample sets: key in latency_samples.json -> (title, goal in cycles).
#: {key: (title, goal in cycles)}: the goals are the issues' (13: decode <= 5, verdict
#: <= 5; 12: BBO p99 <= 14, the line drawn; max <= 40 is in the report's table).
LATENCIES = {
    "itch_to_decode": ("last byte on the wire -> decoded ITCH message", 5),
    "itch_to_bbo_lined": ("last byte on the wire -> top-of-book update, A/B lines in step "
                          "(p99 goal)", 14),
    "itch_to_bbo": ("last byte -> top-of-book update, A/B at line rate drifting apart "
                    "(stress)", 14),
    "deep_itch_to_bbo": ("last byte -> top-of-book update, deep-book stress feed (p99 goal)", 14),
    "order_to_verdict": ("order -> risk verdict", 5),
}
SAMPLES = "latency_samples.json"
#: (file name, caption) of every plot, in report order.
PLOTS = (("latency_hist.png", "Latency histograms (cycles; ns on the top axis)"),
         ("latency_cdf.png", "Latency CDFs (cycles; ns on the top axis)"),
         ("synth.png", "Per-block Fmax against the 156.25 MHz XGMII clock, and LUT/FF/BRAM use"))


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def load_samples(out):
    path = Path(out) / SAMPLES
    return json.loads(path.read_text()) if path.exists() else {}


def merge_samples(out, fresh):
    """Write fresh sample sets over the saved ones (a bench run with --only keeps the rest)."""
    data = load_samples(out)
    data.update(fresh)
    (Path(out) / SAMPLES).write_text(json.dumps(dict(sorted(data.items())), indent=1) + "\n")
    return data


def histogram(values):
    """{cycles: count} of a list of cycle counts, as JSON-friendly {"6": 59000, ...}."""
    counts = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return {str(k): counts[k] for k in sorted(counts)}


def _series(entry):
    xs = sorted(int(k) for k in entry["counts"])
    return xs, [entry["counts"][str(x)] for x in xs]


def _ns_axis(ax, symlog=False):
    top = ax.secondary_xaxis("top", functions=(lambda c: c * NS_PER_CYCLE,
                                               lambda n: n / NS_PER_CYCLE))
    if symlog:                          # the same scale as the cycles below it
        top.set_xscale("symlog", linthresh=16 * NS_PER_CYCLE)
    top.set_xlabel("ns at 156.25 MHz")


def _latency_axes(plt, sets):
    fig, axes = plt.subplots(len(sets), 1, figsize=(8, 3.2 * len(sets)), squeeze=False)
    return fig, [a[0] for a in axes]


def draw_histograms(samples, path):
    plt = _plt()
    sets = [k for k in LATENCIES if k in samples]
    if not sets:
        return False
    fig, axes = _latency_axes(plt, sets)
    for ax, key in zip(axes, sets):
        title, goal = LATENCIES[key]
        xs, ys = _series(samples[key])
        bars = ax.bar(xs, ys, width=0.8, color="tab:blue")
        if len(xs) <= 12:
            ax.bar_label(bars, fontsize=8)
        ax.set_yscale("log")
        ax.axvline(goal + 0.5, color="tab:red", ls="--",
                   label=f"goal <= {goal} cycles (left of the line)")
        ax.set_xlabel("cycles")
        ax.set_ylabel("count (log)")
        ax.set_title(f"{title}\n{samples[key]['source']}", fontsize=9)
        ax.set_xlim(min(xs[0], goal) - 1, max(xs[-1], goal) + 2)
        _ns_axis(ax)
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def draw_cdfs(samples, path):
    plt = _plt()
    sets = [k for k in LATENCIES if k in samples]
    if not sets:
        return False
    fig, axes = _latency_axes(plt, sets)
    for ax, key in zip(axes, sets):
        title, goal = LATENCIES[key]
        xs, ys = _series(samples[key])
        total = sum(ys)
        acc, cdf = 0, []
        for y in ys:
            acc += y
            cdf.append(acc / total)
        lo, hi = min(xs[0], goal) - 1, max(xs[-1], goal) + 1
        ax.step([lo, *xs, hi], [0.0, *cdf, 1.0], where="post", color="tab:blue", lw=2)
        ax.axvline(goal, color="tab:red", ls="--", label=f"goal <= {goal} cycles")
        if hi > 32:                      # a long tail: linear to 16 cycles, log beyond
            ax.set_xscale("symlog", linthresh=16)
            ax.set_xlabel("cycles (log scale above 16)")
        else:
            ax.set_xlabel("cycles")
        ax.set_xlim(lo, hi)
        ax.set_ylim(0, 1.02)
        _ns_axis(ax, symlog=hi > 32)
        ax.set_ylabel("fraction <= x")
        ax.grid(alpha=0.3)
        ax.set_title(f"{title}: {total} samples, max {xs[-1]}", fontsize=9)
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def synth_rows(results):
    """{block: {"fmax", "luts", "ffs", "brams", and their device capacities}} from results.json."""
    sec = next((s for s in results["sections"] if s["name"] == "synth"), None)
    blocks = {}
    for r in (sec or {}).get("results", []):
        if "." not in r["name"] or r["status"] != "ok" or ".seed" in r["name"]:
            continue            # seed 1 only: other seeds are listed in the report
        block, key = r["name"].rsplit(".", 1)
        b = blocks.setdefault(block, {})
        b[key] = r["measured"]
        if key != "fmax":
            b[f"{key}_avail"] = r["goal"]
        else:
            b["estimate"] = "NOT routed" in r["method"]
    return {k: v for k, v in blocks.items() if "fmax" in v}


def draw_synth(results, path):
    plt = _plt()
    blocks = synth_rows(results)
    if not blocks:
        return False
    names = list(blocks)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.2))
    fmax = [blocks[n]["fmax"] for n in names]
    colors = ["tab:green" if f >= CLOCK_MHZ else "tab:orange" for f in fmax]
    bars = a1.bar(names, fmax, color=colors)
    for b, n in zip(bars, names):
        if blocks[n].get("estimate"):
            b.set_hatch("//")
        a1.annotate(f"{b.get_height():.0f}", (b.get_x() + b.get_width() / 2, b.get_height()),
                    ha="center", va="bottom", fontsize=8)
    a1.axhline(CLOCK_MHZ, color="tab:red", ls="--", label="156.25 MHz (XGMII)")
    a1.set_ylabel("Fmax, MHz (LFE5UM5G-85F-8)")
    a1.set_title("Per-block Fmax (hatched: placed, not routed)", fontsize=10)
    a1.legend(fontsize=8)
    width = 0.27
    for i, (key, label) in enumerate((("luts", "LUT4"), ("ffs", "FF"), ("brams", "DP16KD"))):
        pct = [100 * blocks[n].get(key, 0) / blocks[n][f"{key}_avail"]
               if blocks[n].get(f"{key}_avail") else 0 for n in names]
        a2.bar([j + (i - 1) * width for j in range(len(names))], pct, width, label=label)
    a2.set_xticks(range(len(names)), names)
    a2.set_ylabel("% of the device")
    a2.set_title("Resource use per block (out of context)", fontsize=10)
    a2.legend(fontsize=8)
    for a in (a1, a2):
        a.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def render(out):
    """Draw every plot whose data is present into `out`; returns [(file name, caption)]."""
    out = Path(out)
    results_path = out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {"sections": []}
    samples = load_samples(out)
    drawn = []
    for (name, caption), ok in zip(PLOTS, (
            lambda p: draw_histograms(samples, p), lambda p: draw_cdfs(samples, p),
            lambda p: draw_synth(results, p))):
        if ok(out / name):
            drawn.append((name, caption))
    return drawn


def markdown(drawn):
    if not drawn:
        return ""
    lines = ["## plots", "",
             "Drawn from results.json and latency_samples.json "
             "(`python -m tickwire.tools.build.bench --plots-only` redraws them).", ""]
    for name, caption in drawn:
        lines += [f"![{caption}]({name})", "", f"*{caption}*", ""]
    return "\n".join(lines)
