"""ID block at offset 0: software reads it first and refuses a mismatched bitstream."""
from ..dsl import Block, Reg


def block(magic, version):
    return Block("id", 0x0000, "Identification: magic, map version and map hash.", (
        Reg("magic", "status", "Constant 0x544B5752 ('TKWR').", reset=magic),
        Reg("map_version", "status", "Register-map version (incompatible changes bump it).", reset=version),
        Reg("map_hash", "status", "First 32 bits of SHA-256 of the canonical map layout."),
        Reg("build", "status", "Build parameters: [7:0] book slots/4, [15:8] top-N depth, "
            "[23:16] filter entries, [31:24] order-table size log2."),
        Reg("scratch", "control", "Scratch register for bus tests; no effect."),
    ))
