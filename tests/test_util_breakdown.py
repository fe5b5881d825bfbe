"""util_breakdown groups mapped cells by block, weighted as nextpnr packs them."""
from tickwire.tools.build.util_breakdown import breakdown, table


def _netlist(cells):
    return {"modules": {
        "sub": {"attributes": {}, "cells": {}},
        "top": {"attributes": {"top": "00000000000000000000000000000001"},
                "cells": {n: {"type": t} for n, t in cells.items()}}}}


def test_weights_and_grouping():
    rows = breakdown(_netlist({
        "core.book.cache.$1_LUT4_Z": "LUT4",
        "core.book.cache.$2_CCU2C_S0": "CCU2C",        # a carry cell is two COMB slots
        "core.book.cache.mem_TRELLIS_FF_Q": "TRELLIS_FF",
        "core.book.orders.$3_DPR16X4": "TRELLIS_DPR16X4",
        "core.book.orders.ram": "DP16KD",
        "core.risk.mul": "MULT18X18D",
        "$abc$99$lut": "LUT4",                          # ABC's own names: no path
        "core.book.cache.$4": "$scopeinfo",             # not a placed cell: ignored
    }))
    assert rows["core.book.cache"] == {"comb": 3, "ff": 1, "dp16kd": 0, "mult18": 0}
    assert rows["core.book.orders"] == {"comb": 2, "ff": 0, "dp16kd": 1, "mult18": 0}
    assert rows["core.risk"]["mult18"] == 1
    assert rows["(unnamed)"]["comb"] == 1


def test_depth_and_table_order():
    rows = breakdown(_netlist({"core.a.x.y.c1": "LUT4", "core.a.z.c2": "LUT4",
                               "core.b.c3": "LUT4", "core.b.c4": "LUT4", "core.b.c5": "LUT4"}),
                     depth=2)
    assert rows == {"core.a": {"comb": 2, "ff": 0, "dp16kd": 0, "mult18": 0},
                    "core.b": {"comb": 3, "ff": 0, "dp16kd": 0, "mult18": 0}}
    lines = table(rows).splitlines()
    assert lines[2].startswith("| core.b | 3 | 60.0 %")
    assert lines[-1].startswith("| all | 5 | 100 %")
