"""Where a mapped design's logic goes: TRELLIS_COMB, flip-flops and block RAM per block.

    python -m tickwire.tools.build.util_breakdown build/bitstream/tw_lab.json [--depth 3]

Why: nextpnr only says the whole design is over the part ("Unable to find legal
placement"); to make it fit you need to know which block to shrink. Yosys flattens
the design but keeps each cell's hierarchical name (`core.book.cache.$101_LUT4_Z`),
so grouping mapped cells by their first `depth` name parts gives a per-block count.
Cells are weighted as nextpnr packs them: a LUT4 is one TRELLIS_COMB, a CCU2C (carry)
and a TRELLIS_DPR16X4 (LUT RAM) are two. Cells ABC renamed without a path land in
"(unnamed)".
"""
import argparse
import collections
import json
import sys
from pathlib import Path

#: TRELLIS_COMB slots each mapped cell type takes after nextpnr's packing.
COMB = {"LUT4": 1, "CCU2C": 2, "TRELLIS_DPR16X4": 2}
OTHER = {"TRELLIS_FF": "ff", "DP16KD": "dp16kd", "MULT18X18D": "mult18"}


def _is_top(module):
    """Yosys writes the `top` attribute as a binary string ("000...1")."""
    v = str(module.get("attributes", {}).get("top", "0"))
    return int(v, 2 if set(v) <= {"0", "1"} else 10) != 0


def breakdown(netlist, top=None, depth=3):
    """{block: {"comb", "ff", "dp16kd", "mult18"}} from a Yosys JSON netlist (dict)."""
    mods = netlist["modules"]
    top = top or next(n for n, m in mods.items() if _is_top(m))
    out = collections.defaultdict(lambda: {"comb": 0, "ff": 0, "dp16kd": 0, "mult18": 0})
    for name, cell in mods[top]["cells"].items():
        t = cell["type"]
        if t not in COMB and t not in OTHER:
            continue
        parts = name.lstrip("\\").split(".")
        key = ".".join(parts[:min(depth, len(parts) - 1)]) if len(parts) > 1 else "(unnamed)"
        row = out[key]
        if t in COMB:
            row["comb"] += COMB[t]
        else:
            row[OTHER[t]] += 1
    return dict(out)


def table(rows, limit=30):
    """Markdown rows, largest TRELLIS_COMB first, with each one's share of the total."""
    total = sum(r["comb"] for r in rows.values()) or 1
    lines = ["| block | TRELLIS_COMB | share | FF | DP16KD | MULT18 |", "|---|---|---|---|---|---|"]
    for k, r in sorted(rows.items(), key=lambda kv: -kv[1]["comb"])[:limit]:
        lines.append(f"| {k} | {r['comb']:,} | {100 * r['comb'] / total:.1f} % | {r['ff']:,} | "
                     f"{r['dp16kd']} | {r['mult18']} |")
    lines.append(f"| all | {total:,} | 100 % | {sum(r['ff'] for r in rows.values()):,} | "
                 f"{sum(r['dp16kd'] for r in rows.values())} | "
                 f"{sum(r['mult18'] for r in rows.values())} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("netlist", type=Path, help="Yosys JSON after synth_ecp5")
    ap.add_argument("--top", help="top module (default: the one marked top)")
    ap.add_argument("--depth", type=int, default=3, help="hierarchy levels to group by")
    ap.add_argument("--limit", type=int, default=30, help="rows to print")
    args = ap.parse_args(argv)
    rows = breakdown(json.loads(args.netlist.read_text()), args.top, args.depth)
    print(table(rows, args.limit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
