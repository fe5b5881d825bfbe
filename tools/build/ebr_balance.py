"""Spread the block RAMs over the ECP5's EBR rows, then place again around them.

Why: the LFE5UM5G-85F has its 208 DP16KD in four rows (y = 22, 46, 70, 82), two of
them 12 rows apart near the bottom. On the lab build nextpnr's placer filled those two
(51 and 52 of 52 sites, 103 of the 154 block RAMs) and put the RAM-heavy book and hold
buffers around them, so rows 64-95 held 84 % of router2's overused wires
(tools/build/congestion.py) and the route stalled at ~19 k. Pinning the same RAMs
evenly (39 / 39 / 39 / 37) and placing again cut the overuse after ten passes from
18,052 to 15,095 and spread it over the die.

Shares: evenly left the lower half crowded all the same, since rows 70 and 82 serve
less die between them than rows 22 and 46 do; each row now takes RAMs in proportion
to its band of the die (halfway to the next row: 34 / 24 / 18 / 20 rows, so 52 / 39 /
30 / 33 of the lab's 154). Same netlist, route settings of 2026-12-05 (bitstream.py
ROUTE_SETTINGS): router2 bottomed at 11,586 overused wires (pass 11) against 13,242
evenly.

How: take a first placement, order its block RAMs by (row, column), give the first
share to the top row, the next to the second, and so on (a monotone map, so
RAMs that sat together stay together), spread each row's share evenly over that row's
sites in the order of the columns they had, and write each as a `BEL` attribute into
the unplaced netlist: nextpnr binds such cells before placing the rest. The order
within a row matters: spreading a row's share in (old row, column) order instead put
the RAMs from the row above on one half and those from the row below on the other;
that placement had 7 % more wire (574 k against 538 k) and router2 stalled at 22,888
instead of 15,095.
"""
import re

BEL_RE = re.compile(r"X(\d+)/Y(\d+)/(EBR\d)")
#: The LFE5UM5G-85F's EBR rows and, in each, its 52 sites (x, bel): 13 groups of four,
#: as nextpnr-ecp5 names them (read off a placement that filled row 82).
ROWS = (22, 46, 70, 82)
COLUMNS = [(base + 2 * k, f"EBR{k}") for base in (4, 13, 22, 31, 40, 49, 58, 69, 78, 87,
                                                  96, 105, 114) for k in range(4)]


def top_module(netlist):
    """The netlist's top (the module with the most cells: Yosys flattens the design)."""
    return max(netlist["modules"].values(), key=lambda m: len(m.get("cells", {})))


def ram_sites(placed):
    """{name: (x, y, bel)} of every placed DP16KD, and the EBR sites seen, by row."""
    rams, rows = {}, {}
    for name, c in top_module(placed)["cells"].items():
        if c["type"] != "DP16KD":
            continue
        bel = c["attributes"]["NEXTPNR_BEL"]
        x, y, site = BEL_RE.match(bel).groups()
        rams[name] = (int(x), int(y), site)
        rows.setdefault(int(y), set()).add((int(x), site))
    return rams, rows


def band_weights(rows, height=96):
    """Each EBR row's share of the die: the rows from halfway to the row above to halfway
    to the row below (the LFE5UM5G-85F: 34 / 24 / 18 / 20 of 96 rows)."""
    ys = sorted(rows)
    edges = [0] + [(a + b) // 2 for a, b in zip(ys, ys[1:])] + [height]
    return [hi - lo for lo, hi in zip(edges, edges[1:])]


def shares(n, weights, cap):
    """n RAMs apportioned to rows in proportion to `weights`, at most `cap` a row (largest
    remainders first; what a full row cannot take goes to the others)."""
    total = sum(weights)
    want = [n * w / total for w in weights]
    got = [min(int(x), cap) for x in want]
    order = sorted(range(len(weights)), key=lambda i: want[i] - int(want[i]), reverse=True)
    while sum(got) < n:
        free = [i for i in order if got[i] < cap]
        if not free:
            raise ValueError(f"{n} RAMs do not fit {len(weights)} rows of {cap}")
        got[free[0]] += 1
        order = free[1:] + [free[0]]
    return got


def balance(rams, rows, columns, weights=None):
    """{ram name: BEL string}: the RAMs ({name: (x, y, site)}) in (row, column) order,
    apportioned to the rows from the top (evenly, or in proportion to `weights`), each
    row's share spread over `columns` ((x, site) pairs: one row's sites, the same in
    every row)."""
    order = sorted(rams, key=lambda n: (rams[n][1], rams[n][0], n))
    ys = sorted(rows)
    counts = shares(len(order), weights or [1] * len(ys), len(columns))
    bels, start = {}, 0
    for y, count in zip(ys, counts):
        # within the row, by the column each had (RAMs from two old rows interleave)
        share = sorted(order[start:start + count], key=lambda n: (rams[n][0], n))
        start += count
        step = len(columns) / max(len(share), 1)
        for k, name in enumerate(share):
            x, site = columns[int(k * step)]
            bels[name] = f"X{x}/Y{y}/{site}"
    return bels


def pin(placed, netlist, rows=ROWS, columns=COLUMNS, weights="band"):
    """Write balanced `BEL` attributes for the block RAMs of `placed` (nextpnr's placed
    JSON) into `netlist` (the unplaced one); returns {row: RAMs pinned there}.
    `weights`: "band" (each row's share of the die, band_weights), None (evenly), or
    one number a row."""
    rams, _ = ram_sites(placed)
    if weights == "band":
        weights = band_weights(rows)
    bels = balance(rams, rows, columns, weights)
    cells = top_module(netlist)["cells"]
    for name, bel in bels.items():
        cells[name].setdefault("attributes", {})["BEL"] = bel
    count = {}
    for bel in bels.values():
        y = int(BEL_RE.match(bel).group(2))
        count[y] = count.get(y, 0) + 1
    return count
