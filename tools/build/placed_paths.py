"""Register-to-register paths of a *placed* nextpnr-ecp5 design, timed as nextpnr's
placer estimates them.

    python -m tickwire.tools.build.placed_paths PLACED.json [--period 6.4] [--show 20]
        [--group 2] [--png DIE.png]

Why: a design that nextpnr places but cannot route (the book) gets a post-placement
Fmax and a slack histogram, but no path: nextpnr reports critical paths only after
routing. `lut_depth` says how deep the logic is; this says where the time goes once
the cells have places: the wire between them. Each unrouted arc is timed with
nextpnr-ecp5's own estimate (`Arch::predictDelay`: (120 - 22 x speed) ps x (6 +
max(dx - 5, 0) + max(dy - 5, 0) + 2 x (min(dx, 5) + min(dy, 5))), speed 3 for the
-8 LFE5UM5G) and each cell with the -8 figures nextpnr's routed reports give (LUT
0.141 ns, FF clock-to-Q 0.309, carry 0.278 in, 0.043 a two-bit step, 0.257 out,
DP16KD clock-to-Q 1.419). It is an estimate of the estimate: the worst path should
land near nextpnr's "Max frequency" line, and the ranking, not the last 0.1 ns, is
the point.

Output: the worst endpoints, each path as (cell, wire ns, cell ns, tile) steps, and a
table of the failing endpoints grouped by the first `--group` levels of their start
and end cells' hierarchical names, with how much of their delay is wire; `--png`
draws the die, the cells by block and the worst paths across it.
"""
import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

PS_UNIT = (120 - 22 * 3) / 1000.0      # ns per distance unit (-8, LFE5UM5G)
LUT, FF_CQ, RAM_CQ = 0.141, 0.309, 1.419
CARRY_IN, CARRY_STEP, CARRY_OUT, WIDE = 0.278, 0.0215, 0.257, 0.2

_LOC = re.compile(r"X(\d+)/Y(\d+)")


def arc_delay(a, b):
    """nextpnr-ecp5's predictDelay between two tiles (ns)."""
    dx, dy = abs(a[0] - b[0]), abs(a[1] - b[1])
    return PS_UNIT * (6 + max(dx - 5, 0) + max(dy - 5, 0) + 2 * (min(dx, 5) + min(dy, 5)))


def _comb_arcs(mode, ins, outs):
    """(from, to, ns) inside a TRELLIS_COMB half slice."""
    arcs = []
    lut_in = [p for p in ("A", "B", "C", "D") if p in ins]
    if mode == "CCU2":
        for p in lut_in:
            arcs += [(p, "F", CARRY_IN), (p, "FCO", CARRY_IN)]
        if "FCI" in ins:
            arcs += [("FCI", "F", CARRY_OUT), ("FCI", "FCO", CARRY_STEP)]
    else:
        arcs += [(p, "F", LUT) for p in lut_in]
    for p in ("FXA", "FXB", "M", "SEL", "F1"):
        if p in ins and "OFX" in outs:
            arcs.append((p, "OFX", WIDE))
    arcs += [(p, "OFX", LUT + WIDE) for p in lut_in if "OFX" in outs]
    return arcs


class Placed:
    """The placed netlist as a timing graph of (cell, port) nodes."""

    def __init__(self, doc):
        mod = max(doc["modules"].values(), key=lambda m: len(m.get("cells", {})))
        self.cells = mod["cells"]
        self.loc = {}
        for name, c in self.cells.items():
            mt = _LOC.search(c.get("attributes", {}).get("NEXTPNR_BEL", ""))
            self.loc[name] = (int(mt.group(1)), int(mt.group(2))) if mt else None
        drivers, sinks = {}, defaultdict(list)
        for name, c in self.cells.items():
            dirs = c.get("port_directions", {})
            for port, bits in c.get("connections", {}).items():
                for i, bit in enumerate(bits):
                    if isinstance(bit, str):
                        continue
                    pname = port if len(bits) == 1 else f"{port}[{i}]"
                    if dirs.get(port) == "output":
                        drivers[bit] = (name, pname)
                    else:
                        sinks[bit].append((name, pname))
        self.drivers, self.sinks = drivers, sinks
        self.succ = defaultdict(list)       # node -> [(node, ns, kind)]
        self.starts, self.ends = {}, set()
        for bit, drv in drivers.items():
            for snk in sinks.get(bit, ()):
                if drv[1] == "FCO" and snk[1] == "FCI":
                    d = 0.0
                else:
                    la, lb = self.loc.get(drv[0]), self.loc.get(snk[0])
                    d = arc_delay(la, lb) if la and lb else 0.0
                self.succ[drv].append((snk, d, "wire"))
        for name, c in self.cells.items():
            t, dirs = c["type"], c.get("port_directions", {})
            ports = c.get("connections", {})
            ins = {p for p in ports if dirs.get(p) == "input"}
            outs = {p for p in ports if dirs.get(p) == "output"}
            if t == "TRELLIS_COMB":
                mode = c.get("parameters", {}).get("MODE", "LOGIC")
                for a, b, d in _comb_arcs(mode, ins, outs):
                    self.succ[(name, a)].append(((name, b), d, "cell"))
                for p in ins - {"A", "B", "C", "D", "FCI", "FXA", "FXB", "M", "SEL", "F1", "WCK"}:
                    self.ends.add((name, p))        # LUT RAM write ports
            elif t == "TRELLIS_FF":
                self.starts[(name, "Q")] = FF_CQ
                self.ends.update((name, p) for p in ins if p in ("DI", "M", "CE", "LSR"))
            elif t in ("DP16KD", "MULT18X18D", "TRELLIS_RAMW", "ALU54B"):
                for p, bits in ports.items():
                    for i in range(len(bits)):
                        node = (name, p if len(bits) == 1 else f"{p}[{i}]")
                        if dirs.get(p) == "output":
                            self.starts[node] = RAM_CQ if t == "DP16KD" else 1.0
                        elif p not in ("CLKA", "CLKB", "CLK0", "CLK1", "CLK2", "CLK3", "WCK"):
                            self.ends.add(node)

    def arrivals(self):
        """Longest arrival (ns) and predecessor of every node reachable from a start."""
        indeg = Counter()
        for n, outs in self.succ.items():
            for m, _, _ in outs:
                indeg[m] += 1
        arr, pred = dict(self.starts), {}
        # Kahn's order over the whole graph (starts have no timed arcs into them)
        nodes = set(self.succ) | {m for o in self.succ.values() for m, _, _ in o}
        ready = [n for n in nodes | set(self.starts) if indeg[n] == 0]
        while ready:
            n = ready.pop()
            a = arr.get(n)
            for m, d, kind in self.succ.get(n, ()):
                if a is not None and m not in self.starts:
                    t = a + d
                    if t > arr.get(m, -1.0):
                        arr[m], pred[m] = t, (n, d, kind)
                indeg[m] -= 1
                if indeg[m] == 0:
                    ready.append(m)
        return arr, pred

    def trace(self, end, pred):
        steps, n = [], end
        while n in pred:
            p, d, kind = pred[n]
            steps.append((n, d, kind))
            n = p
        steps.append((n, self.starts.get(n, 0.0), "start"))
        return steps[::-1]


def _prefix(name, k):
    parts = re.split(r"[.]", name)
    return ".".join(parts[:k]) if len(parts) > k else parts[0]


def report(g, period=6.4, show=5, group=2):
    """The text report of a `Placed` design: the worst paths, then the failing
    endpoints grouped by (start, end) block."""
    arr, pred = g.arrivals()
    ends = sorted(((arr[e], e) for e in g.ends if e in arr), reverse=True)
    if not ends:
        return "no timed endpoint\n"
    worst = ends[0][0]
    out = [f"worst path {worst:.2f} ns (~{1000 / worst:.1f} MHz); "
           f"{sum(1 for a, _ in ends if a > period)} of {len(ends)} endpoints over "
           f"{period:g} ns (nextpnr's placement estimate of each wire)"]
    for a, e in ends[:show]:
        steps = g.trace(e, pred)
        wire = sum(d for _, d, k in steps if k == "wire")
        out.append(f"\n{a:.2f} ns (wire {wire:.2f}): {steps[0][0][0]} -> {e[0]}.{e[1]}")
        out += [f"  {kind:5s} {d:5.2f}  {g.loc.get(cell)}  {cell}.{port}"
                for (cell, port), d, kind in steps]
    groups = defaultdict(lambda: [0, 0.0, 0.0, 0.0])
    for a, e in ends:
        if a <= period:
            break
        steps = g.trace(e, pred)
        gr = groups[(_prefix(steps[0][0][0], group), _prefix(e[0], group))]
        gr[0] += 1
        gr[1] = max(gr[1], a)
        gr[2] += sum(d for _, d, k in steps if k == "wire")
        gr[3] += a
    out += [f"\nfailing endpoints by (start, end), group depth {group}:",
            "| start | end | endpoints | worst ns | wire share |", "|---|---|---|---|---|"]
    out += [f"| {s} | {e} | {n} | {w:.2f} | {100 * wire / tot:.0f} % |"
            for (s, e), (n, w, wire, tot) in sorted(groups.items(), key=lambda kv: -kv[1][0])]
    return "\n".join(out) + "\n"


def plot(g, out, period=6.4, paths=300, group=1):
    """A picture of the die: every placed cell as a dot coloured by its block (the first
    `group` levels of its name), the `paths` worst failing paths drawn hop by hop
    through their cells' tiles, darker the longer. Why: the tables say a group's delay
    is 90 % wire; the picture shows which blocks it crosses between."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    arr, pred = g.arrivals()
    ends = sorted(((arr[e], e) for e in g.ends if e in arr and arr[e] > period), reverse=True)
    blocks = defaultdict(list)
    for name, loc in g.loc.items():
        if loc:
            blocks[_prefix(name, group)].append(loc)
    fig, ax = plt.subplots(figsize=(11, 8.5))
    top = sorted(blocks, key=lambda b: -len(blocks[b]))[:10]
    cmap = plt.get_cmap("tab10")
    for i, b in enumerate(top):
        xs, ys = zip(*blocks[b])
        ax.scatter(xs, ys, s=2, alpha=0.15, color=cmap(i), label=f"{b} ({len(blocks[b]):,})")
    rest = [p for b in blocks if b not in top for p in blocks[b]]
    if rest:
        xs, ys = zip(*rest)
        ax.scatter(xs, ys, s=2, alpha=0.1, color="grey", label=f"other ({len(rest):,})")
    worst = ends[0][0] if ends else period
    for a, e in ends[:paths][::-1]:
        pts = []
        for (cell, _), _, _ in g.trace(e, pred):
            loc = g.loc.get(cell)
            if loc and (not pts or pts[-1] != loc):
                pts.append(loc)
        if len(pts) > 1:
            xs, ys = zip(*pts)
            k = (a - period) / max(worst - period, 1e-9)
            ax.plot(xs, ys, color=plt.get_cmap("Reds")(0.35 + 0.65 * k), lw=0.6 + k,
                    alpha=0.7)
    ax.set_xlim(-1, max((x for x, _ in filter(None, g.loc.values())), default=126) + 1)
    ax.set_ylim(max((y for _, y in filter(None, g.loc.values())), default=95) + 1, -1)
    ax.set_xlabel("tile x")
    ax.set_ylabel("tile y")
    ax.set_title(f"placed: {len(ends):,} endpoints over {period:g} ns, worst {worst:.2f} ns; "
                 f"the {min(paths, len(ends))} worst paths in red")
    ax.legend(loc="upper right", fontsize=7, markerscale=4)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("placed", type=Path, help="nextpnr --write JSON (placed)")
    ap.add_argument("--period", type=float, default=6.4)
    ap.add_argument("--show", type=int, default=5, help="worst paths printed in full")
    ap.add_argument("--group", type=int, default=2, help="name levels kept when grouping")
    ap.add_argument("--png", type=Path, help="also draw the die and the worst paths here")
    args = ap.parse_args(argv)
    g = Placed(json.loads(args.placed.read_text()))
    text = report(g, args.period, args.show, args.group)
    sys.stdout.write(text)
    if args.png:
        plot(g, args.png, args.period)
    return 1 if text.startswith("no timed endpoint") else 0


if __name__ == "__main__":
    sys.exit(main())
