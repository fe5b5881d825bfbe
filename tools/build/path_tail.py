"""Every endpoint's worst path from nextpnr's SDF, not just the one critical path.

    python -m tickwire.tools.build.path_tail routed.sdf [--period 6.4] [--show 20]
        [--path REGEX]

Why: nextpnr's log names one critical path per clock, but a block meets 156.25 MHz only
when its whole tail of paths does; after a fix the next path is usually a neighbour of
the last. `make synth` (`--sdf`) writes each block's routed SDF (`routed.sdf`, the
delays nextpnr timed) and this tool's report beside it (`paths.txt`): the number of
endpoints over the period, the over-period endpoints grouped by (start block, end
block) with their count and worst arrival, the worst paths one per line, and
optionally one path hop by hop (`--path`, a regex on "start -> end").

How: arrival = clock-to-out of the launching register, then cell delays (IOPATH) and
wire delays (INTERCONNECT) to a register's data pin, plus its setup time; the slow
corner (the max of each min:typ:max triple), as nextpnr's own report. One clock, every
register launched at 0: right for the single-clock blocks `make synth` builds.
"""
import argparse
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

_TOKEN = re.compile(r'\(|\)|"(?:[^"\\]|\\.)*"|(?:\\.|[^\s()"])+')


def parse_sexpr(text):
    """The SDF as nested lists of strings."""
    stack = [[]]
    for t in _TOKEN.findall(text):
        if t == "(":
            stack.append([])
        elif t == ")":
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(t)
    return stack[0][0]


def _delay(triple):
    """The slow corner of '(a:b:c)' (a list holding one token) in the file's unit."""
    parts = [p for p in triple[0].split(":") if p] if triple else []
    return max(float(p) for p in parts) if parts else 0.0


def _name(s):
    return s.replace("\\", "")


def _pin(x):
    """A port spec: 'A', or ['posedge', 'CLK'] -> the port name."""
    return x[-1] if isinstance(x, list) else x


class Timing:
    """The SDF as a graph of pins: edges with delays, launch and capture points."""

    def __init__(self, sdf):
        self.edges = defaultdict(list)      # pin -> [(pin, ns)]
        self.launch = {}                    # register output pin -> clock-to-out, ns
        self.setup = {}                     # register data pin -> setup, ns
        scale = 1e-3                        # ps (nextpnr's TIMESCALE) -> ns
        for item in sdf:
            if isinstance(item, list) and item and item[0] == "TIMESCALE":
                unit = "".join(item[1:])
                scale = {"1ps": 1e-3, "10ps": 1e-2, "100ps": 0.1, "1ns": 1.0}[unit]
        for cell in (c for c in sdf if isinstance(c, list) and c and c[0] == "CELL"):
            inst = next((_name(f[1]) if len(f) > 1 else "" for f in cell[1:]
                         if f[0] == "INSTANCE"), "")
            for f in cell[1:]:
                if f[0] == "DELAY":
                    for block in f[1:]:
                        for arc in block[1:]:
                            self._arc(inst, arc, scale)
                elif f[0] == "TIMINGCHECK":
                    for chk in f[1:]:
                        if chk[0] in ("SETUP", "SETUPHOLD"):
                            pin = f"{inst}/{_pin(chk[1])}"
                            self.setup[pin] = max(self.setup.get(pin, 0.0),
                                                  _delay(chk[3]) * scale)

    def _arc(self, inst, arc, scale):
        d = max(_delay(x) for x in arc[3:]) * scale if len(arc) > 3 else 0.0
        if arc[0] == "IOPATH":
            src, dst = arc[1], f"{inst}/{arc[2]}"
            if isinstance(src, list) or src.startswith("CLK") or src == "WCK":
                self.launch[dst] = max(self.launch.get(dst, 0.0), d)
            else:
                self.edges[f"{inst}/{src}"].append((dst, d))
        elif arc[0] == "INTERCONNECT":
            self.edges[_name(arc[1])].append((_name(arc[2]), d))

    def arrivals(self):
        """(arrival, predecessor) of every pin a register reaches (longest paths; the
        graph between registers is acyclic)."""
        arr, pred, indeg = dict(self.launch), {}, Counter()
        nodes = set(self.edges) | set(self.launch)
        for lst in self.edges.values():
            for d, _ in lst:
                indeg[d] += 1
                nodes.add(d)
        ready = [n for n in nodes if indeg[n] == 0]
        while ready:
            n = ready.pop()
            for d, w in self.edges.get(n, ()):
                if n in arr and arr[n] + w > arr.get(d, -1.0):
                    arr[d], pred[d] = arr[n] + w, n
                indeg[d] -= 1
                if indeg[d] == 0:
                    ready.append(d)
        return arr, pred

    def endpoints(self):
        """[(arrival + setup, endpoint pin, path as pins)], worst first."""
        arr, pred = self.arrivals()

        def path(p):
            out = [p]
            while p in pred:
                p = pred[p]
                out.append(p)
            return out[::-1]
        ends = [(arr[p] + s, p) for p, s in self.setup.items() if p in arr]
        return [(t, p, path(p)) for t, p in sorted(ends, reverse=True)]


def block_of(pin):
    """The design-level name behind a packed cell's pin: 'seq.e_TRELLIS_FF_Q_59/DI' ->
    'seq.e' (nextpnr names cells after the nets they drive, plus a mapping suffix)."""
    cell = pin.rsplit("/", 1)[0]
    cell = re.sub(r"(_TRELLIS_|_LUT4_|_CCU2C|\$CCU2|_DP16KD|_MULT18|_PFUMX|\$DPRAM).*", "",
                  cell)
    return re.sub(r"_\d+$", "", cell)


def report(timing, period=6.4, show=20, path_re=None):
    """The tail as text (see the module docstring)."""
    ends = timing.endpoints()
    if not ends:
        return "no register-to-register paths\n"
    bad = [e for e in ends if e[0] > period]
    lines = [f"endpoints {len(ends)}, over {period} ns: {len(bad)}; worst {ends[0][0]:.3f} ns "
             f"({1000 / ends[0][0]:.2f} MHz)"]
    groups, worst = Counter(), {}
    for t, p, pth in bad:
        key = (block_of(pth[0]), block_of(p))
        groups[key] += 1
        worst.setdefault(key, t)
    if groups:
        lines.append("over the period, by (start -> end): count, worst ns")
        lines += [f"  {n:5d} {worst[k]:7.3f}  {k[0]} -> {k[1]}" for k, n in groups.most_common()]
    lines.append(f"worst {min(show, len(ends))} endpoints")
    lines += [f"  {t:7.3f}  {pth[0]} -> {p}" for t, p, pth in ends[:show]]
    if path_re:
        arr, _ = timing.arrivals()
        for t, p, pth in ends:
            if re.search(path_re, f"{pth[0]} -> {p}"):
                lines.append(f"path {pth[0]} -> {p}: {t:.3f} ns")
                lines += [f"  {arr[n]:7.3f}  {n}" for n in pth
                          if not n.endswith(("/FCI", "/FCO"))]
                break
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sdf", type=Path)
    ap.add_argument("--period", type=float, default=6.4, help="ns (156.25 MHz: 6.4)")
    ap.add_argument("--show", type=int, default=20, help="worst endpoints listed")
    ap.add_argument("--path", help="regex on 'start -> end': print that path hop by hop")
    args = ap.parse_args(argv)
    timing = Timing(parse_sexpr(args.sdf.read_text()))
    sys.stdout.write(report(timing, args.period, args.show, args.path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
