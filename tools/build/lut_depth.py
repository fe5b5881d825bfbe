"""Logic depth of a Yosys ECP5 netlist: LUT levels from a register to every endpoint.

    python -m tickwire.tools.build.lut_depth NETLIST.json [--min 5] [--show 40]
        [--path SUBSTRING]

Why: a block that nextpnr cannot route (the book) has no timing report, and a routed
report shows one placement's paths; the depth of the mapped logic is known right after
Yosys and says which register-to-register paths need a cut. At 156.25 MHz on the
ECP5-8 a path has room for ~4 LUT levels plus their routing (6.4 ns; a level is a LUT
and a hop, ~0.5-0.8 ns routed), a carry chain counting as one level and a bit.
`make synth` writes this report beside each block's netlist (`depth.txt`).

Levels: a LUT4 is 1; a PFUMX or L6MUX21 (the slice's wide-LUT muxes) 0.3; a CCU2C 1
from its LUT inputs and 0.05 from the carry in (a 64-bit chain: ~2.6); a LUT RAM read
1 from its address. Paths start at flip-flops, block RAM and DSP outputs and the
block's input ports (`(input)`: unconstrained out of context), and end at flip-flop
data, clock-enable and reset pins and at RAM address, data and enable pins.
"""
import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

LUT, WIDE, CARRY_IN = 1.0, 0.3, 0.05
_IN_PORTS = {
    "LUT4": "ABCD", "PFUMX": ("ALUT", "BLUT", "C0"), "L6MUX21": ("D0", "D1", "SD"),
    "CCU2C": ("A0", "B0", "C0", "D0", "A1", "B1", "C1", "D1"),
}
_ENDS = {
    "TRELLIS_FF": ("DI", "M", "CE", "LSR"),
    "TRELLIS_DPR16X4": ("DI", "WAD", "WRE"),
    "DP16KD": ("AD", "DI", "CE", "WE", "OCE", "CS"),
    "MULT18X18D": ("A", "B", "C", "CE"),
}


class Depth:
    """Arrival levels of a netlist's top module (the module with the most cells)."""

    def __init__(self, netlist):
        top = max(netlist["modules"].values(), key=lambda m: len(m.get("cells", {})))
        self.cells = top["cells"]
        self.driver = {}
        for name, c in self.cells.items():
            for port, bits in c["connections"].items():
                if c["port_directions"].get(port) == "output":
                    for b in bits:
                        if isinstance(b, int):
                            self.driver[b] = (name, port)
        self._memo = {}

    def arrival(self, bit):
        """(levels, path of cell names from the start) of net `bit`. Settles the fan-in
        cone bottom-up with a stack (no recursion: carry chains are long); a net met
        again while its cone is open (a combinational loop) counts as a start."""
        if not isinstance(bit, int) or bit not in self.driver:
            return 0.0, ("(input)",)
        stack, open_ = [bit], set()
        while stack:
            b = stack[-1]
            if b in self._memo:
                stack.pop()
                continue
            name, port = self.driver[b]
            pending = [x for x in self._inputs(self.cells[name], port)
                       if isinstance(x, int) and x in self.driver and x not in self._memo
                       and x not in open_]
            if pending and b not in open_:
                open_.add(b)
                stack.extend(pending)
                continue
            self._memo[b] = self._through(name, port)
            open_.discard(b)
            stack.pop()
        return self._memo[bit]

    def _known(self, bit):
        if not isinstance(bit, int):            # a constant: never the deepest input
            return -LUT, ("(constant)",)
        if bit not in self.driver:
            return 0.0, ("(input)",)
        return self._memo.get(bit, (0.0, ("(loop)",)))

    def _through(self, name, port):
        c = self.cells[name]
        kind, conn = c["type"], c["connections"]
        if kind in _IN_PORTS:
            cost = WIDE if kind in ("PFUMX", "L6MUX21") else LUT
            ins = [(self._known(conn[p][0]), cost) for p in _IN_PORTS[kind] if conn.get(p)]
            if kind == "CCU2C":
                ins.append((self._known(conn["CIN"][0]), CARRY_IN))
            (lv, path), cost = max(ins, key=lambda a: a[0][0] + a[1])
            lv = max(lv, 0.0)
            return lv + cost, path + ((name,) if cost != CARRY_IN else ())
        if kind == "TRELLIS_DPR16X4" and port.startswith("DO"):
            lv, path = max((self._known(b) for b in conn["RAD"]), key=lambda a: a[0])
            return max(lv, 0.0) + LUT, path + (name,)
        return 0.0, (name,)          # a register, block RAM or DSP output: a start

    @staticmethod
    def _inputs(c, port):
        kind, conn = c["type"], c["connections"]
        if kind in _IN_PORTS:
            ports = list(_IN_PORTS[kind]) + (["CIN"] if kind == "CCU2C" else [])
            return [conn[p][0] for p in ports if conn.get(p)]
        if kind == "TRELLIS_DPR16X4" and port.startswith("DO"):
            return list(conn["RAD"])
        return []

    def endpoints(self):
        """[(levels, end cell, pin, path)] for every endpoint pin, deepest first."""
        out = []
        for name, c in self.cells.items():
            pins = _ENDS.get(c["type"])
            if not pins:
                continue
            for port, bits in c["connections"].items():
                if c["port_directions"].get(port) == "input" and port.startswith(pins):
                    for b in bits:
                        lv, path = self.arrival(b)
                        out.append((round(lv, 2), name, port, path))
        out.sort(key=lambda e: -e[0])
        return out


def group(cell):
    """A cell's register or memory name, without Yosys's mapping suffixes."""
    name = cell.lstrip("\\")
    return re.sub(r"(_TRELLIS_FF_Q|\$DPRAM|_DP16KD|_MULT18|_LUT4|_CCU2C|_PFUMX|_L6MUX).*", "",
                  name)


def report(depth, least=5.0, show=40, path=None):
    """The text of `depth.txt`: a histogram of endpoint levels, the endpoints at
    `least` levels or more grouped by (start -> end), and optionally one path."""
    ends = depth.endpoints()
    hist = Counter(int(e[0]) for e in ends)
    lines = [f"endpoints {len(ends)}; deepest {ends[0][0] if ends else 0} levels",
             "levels: " + ", ".join(f"{k}: {hist[k]}" for k in sorted(hist))]
    fam = defaultdict(lambda: [0, 0.0])
    for lv, cell, _, p in ends:
        if lv >= least:
            f = fam[(group(p[0]), group(cell))]
            f[0] += 1
            f[1] = max(f[1], lv)
    lines.append(f"at {least} levels or more, by (start -> end): count, deepest")
    for (a, b), (n, lv) in sorted(fam.items(), key=lambda kv: (-kv[1][1], -kv[1][0]))[:show]:
        lines.append(f"  {n:6d} {lv:5.2f}  {a} -> {b}")
    if path:
        for lv, cell, pin, p in ends:
            if path in cell:
                lines.append(f"path to {cell}/{pin}: {lv} levels")
                lines += [f"    {depth.cells[x]['type'] if x in depth.cells else ''} {x}"
                          for x in p]
                break
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("netlist", type=Path)
    ap.add_argument("--min", type=float, default=5.0, help="group endpoints this deep")
    ap.add_argument("--show", type=int, default=40)
    ap.add_argument("--path", help="print the deepest path into a cell named like this")
    args = ap.parse_args(argv)
    sys.stdout.write(report(Depth(json.loads(args.netlist.read_text())), args.min,
                            args.show, args.path))


if __name__ == "__main__":
    main()
