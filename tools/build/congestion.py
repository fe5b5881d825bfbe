"""Where a route is congested: router2's heatmap files summed per block and per band.

    python -m tickwire.tools.build.congestion build/bitstream/hm [--iter N] [--depth 3]

Why: nextpnr only prints how many wires are overused after each router2 pass; to know
what to shrink or spread you need to know whose nets they are and where on the die.
`make bitstream --heatmap` (or nextpnr `--router2-heatmap PREFIX`) writes, after each
pass N, `PREFIX_congestion_by_net_N.csv` (net name, overused wires it holds) and
`PREFIX_congestion_by_coordinate_N.csv` (one line per tile column x, one value per
row y). The net names keep Yosys's hierarchical path (`core.book.cache.pre_r...`), so
the first `depth` parts name the block, as in util_breakdown.py.

A wire shared by k nets counts k times in the per-net file (so the per-block sum is
about twice nextpnr's count of overused wires). On the lab build (2026-12-05, static
placer, router2 with alternate weights, pass 13: 21,341 overused wires) the book's
cache, order table and level table held 35 % of the per-net overuse, and the die's
rows 64-95 (where the placer put the book) 77 % of the per-tile overuse, while they
hold 35 % of the placed cells: the congestion is the book's, not spread evenly.
"""
import argparse
import collections
import re
import sys
from pathlib import Path


def last_iteration(prefix):
    """The highest pass N for which both heatmap files exist (None if there is none)."""
    found = [int(m.group(1)) for p in prefix.parent.glob(prefix.name + "_congestion_by_net_*.csv")
             if (m := re.search(r"_(\d+)\.csv$", p.name))]
    return max(found, default=None)


def by_block(lines, depth=3):
    """{block: overused wires} from congestion_by_net lines ("net,count")."""
    out = collections.Counter()
    for line in lines:
        line = line.strip()
        if not line:
            continue
        net, count = line.rsplit(",", 1)
        parts = net.lstrip("\\").split(".")
        key = ".".join(parts[:min(depth, len(parts) - 1)]) if len(parts) > 1 else "(top)"
        out[key] += int(count)
    return out


def by_band(lines, band=16):
    """[overused wires in rows 0..band-1, band..2*band-1, ...] from congestion_by_coordinate
    lines (one line per column x, one value per row y)."""
    out = collections.Counter()
    for line in lines:
        for y, v in enumerate(x for x in line.strip().split(",") if x != ""):
            out[y // band] += int(v)
    return [out[b] for b in range(max(out, default=-1) + 1)]


def report(prefix, it, depth=3, limit=20, band=16):
    net = Path(f"{prefix}_congestion_by_net_{it}.csv").read_text().splitlines()
    coord = Path(f"{prefix}_congestion_by_coordinate_{it}.csv").read_text().splitlines()
    blocks, bands = by_block(net, depth), by_band(coord, band)
    total = sum(blocks.values()) or 1
    lines = [f"router2 pass {it}: {sum(blocks.values()):,} net-wires on overused wires "
             "(a wire shared by k nets counts k times)",
             "", "| block | overused | share |", "|---|---|---|"]
    lines += [f"| {k} | {v:,} | {100 * v / total:.1f} % |" for k, v in blocks.most_common(limit)]
    all_b = sum(bands) or 1
    lines += ["", "| rows (y) | overused | share |", "|---|---|---|"]
    lines += [f"| {b * band}-{b * band + band - 1} | {v:,} | {100 * v / all_b:.1f} % |"
              for b, v in enumerate(bands) if v]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prefix", type=Path, help="the --router2-heatmap prefix (e.g. build/bitstream/hm)")
    ap.add_argument("--iter", type=int, help="router2 pass (default: the last one written)")
    ap.add_argument("--depth", type=int, default=3, help="hierarchy levels to group by")
    ap.add_argument("--limit", type=int, default=20, help="blocks to print")
    args = ap.parse_args(argv)
    it = args.iter or last_iteration(args.prefix)
    if it is None:
        print(f"no heatmap files for {args.prefix}", file=sys.stderr)
        return 1
    print(report(args.prefix, it, args.depth, args.limit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
