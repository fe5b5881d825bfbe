"""Simulation Verilog without all-zero memory initialisers.

Why: Amaranth writes every memory's initial contents into the RTLIL (a `$meminit_v2`
cell holding one constant per memory bit) even when every word is zero, and Yosys then
writes an `initial` assignment per word into the Verilog. The sim core's tables hold
tens of millions of bits: converting the core spent 139 s in that emitter and most of
Yosys's 215 s on it, wrote 33.7 MB of Verilog, and lengthened the Verilator run and
the C++ build after it (a fresh `make demo` elaborated the core for 1,672 s under
load). Verilator sets every memory without an initialiser to zero itself under
`--x-initial 0` (simrun.VERILATOR_ARGS), so leaving the zero initialisers out changes
nothing in simulation; a memory with any non-zero word keeps its initialiser.

Only simulation builds use this (simrun.verilog_text): synthesis converts the design
as it is (`simrun.to_verilog` without `sim=True`), so its netlists and the figures in
bench/synth.json do not move. The patch is scoped to one conversion and checked
against the pinned Amaranth (its RTLIL emitter is internal API).
"""
import contextlib

import amaranth
from amaranth.back import rtlil

#: The Amaranth release whose RTLIL emitter this was written against (pyproject.toml).
AMARANTH = "0.5."


@contextlib.contextmanager
def zero_memories_uninitialised():
    """Within the block, Amaranth's RTLIL emitter leaves out the initialiser of every
    memory whose words are all zero."""
    if not amaranth.__version__.startswith(AMARANTH):
        raise RuntimeError(f"tools/build/zero_init.py patches Amaranth {AMARANTH}x's RTLIL "
                           f"emitter; found {amaranth.__version__}: check "
                           "ModuleEmitter.emit_memory and update it")
    emitter = rtlil.ModuleEmitter
    original = emitter.emit_memory

    def emit_memory(self, cell_idx, cell):
        if any(cell.init):
            original(self, cell_idx, cell)

    emitter.emit_memory = emit_memory
    try:
        yield
    finally:
        emitter.emit_memory = original
