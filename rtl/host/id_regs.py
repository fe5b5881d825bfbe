"""ID block at offset 0: software reads it first and refuses a mismatched bitstream."""
from ..regmap.dsl import Block, Reg

BLOCK = Block("id", "Identification: magic, map version, map hash and build digest.", (
    Reg("magic", "status", "Constant 0x544B5752 ('TKWR')."),
    Reg("map_version", "status", "Register-map version (incompatible changes bump it)."),
    Reg("map_hash", "status", "First 32 bits of SHA-256 of the canonical map layout."),
    Reg("build", "status", "Build digest: first 32 bits of SHA-256 of the build's CoreConfig "
        "(rtl/config.py), never 0; control/regmap.py BUILDS names the known builds."),
    Reg("scratch", "control", "Scratch register for bus tests; no effect."),
))
