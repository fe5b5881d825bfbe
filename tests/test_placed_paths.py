"""placed_paths: register-to-register delay of a placed netlist, checked by hand.

The netlist is the JSON nextpnr-ecp5 writes after placement (`--write`), cut to what
the tool reads: flip-flops, LUTs and a two-cell carry chain at fixed tiles, and a
block RAM output. Each expected delay is summed here from nextpnr's own estimate
formula (predictDelay, -8 LFE5UM5G: 54 ps a unit), not from the tool's helpers.
"""
import json

import pytest

from tickwire.tools.build.placed_paths import Placed, main


def _cell(kind, loc, ins, outs, mode=None):
    conn = {**{p: [b] for p, b in ins.items()}, **{p: [b] for p, b in outs.items()}}
    dirs = {**{p: "input" for p in ins}, **{p: "output" for p in outs}}
    c = {"type": kind, "connections": conn, "port_directions": dirs,
         "attributes": {"NEXTPNR_BEL": f"X{loc[0]}/Y{loc[1]}/SLICEA"}, "parameters": {}}
    if mode:
        c["parameters"]["MODE"] = mode
    return c


def _units(dx, dy):
    return 6 + max(dx - 5, 0) + max(dy - 5, 0) + 2 * (min(dx, 5) + min(dy, 5))


# nets: 1 a.Q, 2 lut1.F, 3 lut2.F, 4 carry link, 5 carry sum, 6 RAM DO, 7 lut3.F
CELLS = {
    "a_FF": _cell("TRELLIS_FF", (10, 10), {"DI": 99}, {"Q": 1}),
    "lut1": _cell("TRELLIS_COMB", (10, 10), {"A": 1}, {"F": 2}),
    "lut2": _cell("TRELLIS_COMB", (40, 30), {"B": 2}, {"F": 3}),
    "far_FF": _cell("TRELLIS_FF", (40, 31), {"DI": 3}, {"Q": 98}),
    "cc0": _cell("TRELLIS_COMB", (12, 10), {"A": 1}, {"FCO": 4}, mode="CCU2"),
    "cc1": _cell("TRELLIS_COMB", (12, 10), {"FCI": 4}, {"F": 5}, mode="CCU2"),
    "sum_FF": _cell("TRELLIS_FF", (12, 10), {"DI": 5}, {"Q": 97}),
    "ram": _cell("DP16KD", (20, 22), {"ADA0": 1}, {"DOA0": 6}),
    "lut3": _cell("TRELLIS_COMB", (20, 21), {"C": 6}, {"F": 7}),
    "r_FF": _cell("TRELLIS_FF", (20, 21), {"CE": 7}, {"Q": 96}),
}
DOC = {"modules": {"top": {"cells": CELLS}}}
U = 0.054


def _arrivals():
    g = Placed(DOC)
    arr, pred = g.arrivals()
    return g, arr, pred


def test_wire_and_luts_to_a_far_flip_flop():
    g, arr, pred = _arrivals()
    want = 0.309 + U * _units(0, 0) + 0.141 + U * _units(30, 20) + 0.141 + U * _units(0, 1)
    assert arr[("far_FF", "DI")] == pytest.approx(want)
    steps = g.trace(("far_FF", "DI"), pred)
    assert [s[0][0] for s in steps] == ["a_FF", "lut1", "lut1", "lut2", "lut2", "far_FF"]
    assert [s[2] for s in steps] == ["start", "wire", "cell", "wire", "cell", "wire"]


def test_carry_link_has_no_wire():
    _, arr, _ = _arrivals()
    want = 0.309 + U * _units(2, 0) + 0.278 + 0.0 + 0.257 + U * _units(0, 0)
    assert arr[("sum_FF", "DI")] == pytest.approx(want)


def test_block_ram_output_starts_a_path_and_its_inputs_end_one():
    g, arr, _ = _arrivals()
    assert arr[("r_FF", "CE")] == pytest.approx(1.419 + U * _units(0, 1) + 0.141 + U * _units(0, 0))
    assert ("ram", "ADA0") in g.ends and arr[("ram", "ADA0")] == pytest.approx(0.309 + U * _units(10, 12))


def test_report_names_the_worst_path_and_groups(tmp_path, capsys):
    p = tmp_path / "placed.json"
    p.write_text(json.dumps(DOC))
    assert main([str(p), "--period", "1.0", "--show", "1", "--group", "1"]) == 0
    out = capsys.readouterr().out
    worst = 0.309 + U * _units(0, 0) + 0.141 + U * _units(30, 20) + 0.141 + U * _units(0, 1)
    assert f"worst path {worst:.2f} ns" in out
    assert "a_FF -> far_FF.DI" in out
    assert "| a_FF | far_FF | 1 |" in out


def test_die_picture_is_drawn(tmp_path):
    """--png: the die, cells by block, the failing paths; an 11 x 8.5 inch image."""
    import matplotlib.image as mpimg
    p = tmp_path / "placed.json"
    p.write_text(json.dumps(DOC))
    png = tmp_path / "die.png"
    assert main([str(p), "--period", "1.0", "--show", "0", "--png", str(png)]) == 0
    assert mpimg.imread(png).shape[:2] == (935, 1210)
