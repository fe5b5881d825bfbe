"""lut_depth: LUT levels to every endpoint of a Yosys ECP5 netlist, checked by hand.

The netlist below is the JSON Yosys writes, cut to what the tool reads: two launching
flip-flops, three LUTs in a row, a wide-LUT mux, a two-cell carry chain, a LUT RAM
read, a constant input and a block input port. The levels are counted here by hand.
"""
from tickwire.tools.build.lut_depth import Depth, group, report


def _cell(kind, ins, outs):
    conn = {**{p: [b] for p, b in ins.items()}, **{p: [b] for p, b in outs.items()}}
    dirs = {**{p: "input" for p in ins}, **{p: "output" for p in outs}}
    return {"type": kind, "connections": conn, "port_directions": dirs}


# nets: 1 a.Q, 2 b.Q, 3..5 LUT chain, 6 mux, 7/8 carry, 9 RAM read, 20 block input
CELLS = {
    "a_TRELLIS_FF_Q": _cell("TRELLIS_FF", {"DI": 20}, {"Q": 1}),
    "b_TRELLIS_FF_Q_3": _cell("TRELLIS_FF", {"DI": 1}, {"Q": 2}),
    "x_LUT4_Z": _cell("LUT4", {"A": 1, "B": "0", "C": 2, "D": "1"}, {"Z": 3}),
    "y_LUT4_Z": _cell("LUT4", {"A": 3, "B": 2}, {"Z": 4}),
    "z_LUT4_Z": _cell("LUT4", {"A": 4}, {"Z": 5}),
    "w_LUT4_Z": _cell("LUT4", {"A": 1}, {"Z": 10}),
    "m_PFUMX_Z": _cell("PFUMX", {"ALUT": 5, "BLUT": 10, "C0": 1}, {"Z": 6}),
    "c0_CCU2C": _cell("CCU2C", {"A0": 6, "B0": 2, "CIN": "0"}, {"COUT": 7, "S0": 11}),
    "c1_CCU2C": _cell("CCU2C", {"A0": 1, "CIN": 7}, {"S0": 8}),
    "q_TRELLIS_FF_Q_7": _cell("TRELLIS_FF", {"DI": 8}, {"Q": 12}),
    "ram$DPRAM": _cell("TRELLIS_DPR16X4", {"RAD": 5}, {"DO": 9}),
    "r_TRELLIS_FF_Q": _cell("TRELLIS_FF", {"DI": 9, "LSR": 20}, {"Q": 13}),
    "k_TRELLIS_FF_Q": _cell("TRELLIS_FF", {"DI": 11}, {"Q": 14}),
}
NETLIST = {"modules": {"tiny": {"cells": {"c": CELLS["a_TRELLIS_FF_Q"]}},
                       "top": {"cells": CELLS}}}


def _levels():
    return {(cell, pin): (lv, path) for lv, cell, pin, path in Depth(NETLIST).endpoints()}


def test_levels_along_luts_mux_and_carry():
    got = _levels()
    # a -> x -> y -> z (3 LUTs) -> PFUMX (0.3) -> c0's LUT (1) -> carry into c1 (0.05)
    lv, path = got[("q_TRELLIS_FF_Q_7", "DI")]
    assert lv == 4.35
    assert path == ("a_TRELLIS_FF_Q", "x_LUT4_Z", "y_LUT4_Z", "z_LUT4_Z", "m_PFUMX_Z",
                    "c0_CCU2C")
    # c0's own sum: the mux (3.3) and its LUT: 4.3
    assert got[("k_TRELLIS_FF_Q", "DI")][0] == 4.3


def test_ram_read_starts_and_inputs_and_constants():
    got = _levels()
    assert got[("r_TRELLIS_FF_Q", "DI")][0] == 4.0      # 3 LUTs to the address, 1 read
    assert got[("r_TRELLIS_FF_Q", "LSR")] == (0.0, ("(input)",))
    assert got[("b_TRELLIS_FF_Q_3", "DI")] == (0.0, ("a_TRELLIS_FF_Q",))
    # x's constants never win over a register of the same level
    assert got[("q_TRELLIS_FF_Q_7", "DI")][1][0] == "a_TRELLIS_FF_Q"


def test_report_groups_by_start_and_end():
    text = report(Depth(NETLIST), least=4.0)
    assert "deepest 4.35 levels" in text
    assert "levels: 0: 3, 4: 3" in text
    assert "1  4.35  a -> q" in text and "1  4.00  a -> r" in text
    assert group("exposure.pass_a_rt_TRELLIS_FF_Q_2") == "exposure.pass_a_rt"
    assert group("exposure.slot_st2.0.62$DPRAM_COMB3") == "exposure.slot_st2.0.62"
