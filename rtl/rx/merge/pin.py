"""pin: a kept wire, so the LUT mapper keeps the logic behind it as written.

Why: the merge's LUT mapping (classic ABC, tools/build/synth.py) takes every register
and carry-chain output as arriving at time 0 and, below the design's deepest cone,
trades depth for area: a select that can be one LUT after a late signal (a claim
compare's chain, the delivery) came out three or four LUTs behind it (E's input at
eight levels). A kept wire is a boundary ABC does not map across, and a function of
at most four pinned, registered or chain signals is then exactly one LUT; the sequencer
and HoldHead pin the few signals on their one-cycle loop that way.
"""
from amaranth.hdl import Signal, Value


def pin(m, value, name):
    """`value` on a kept wire named `name` (same width)."""
    s = Signal(len(Value.cast(value)), name=name, attrs={"keep": 1})
    m.d.comb += s.eq(value)
    return s
