"""The tickwire register map: the one source for gateware, C, Python and docs.

Each block's registers live in rtl/regmap/blocks/<block>.py; this module places
them at their bases. Bump MAP_VERSION on any incompatible change; MAP_HASH is
computed from the layout, so software refuses a bitstream built from another map.
"""
from .dsl import Block, Map, Reg, Window  # noqa: F401
from .blocks import (id_block, clock, mac, net, mold, itch)

MAP_MAGIC = 0x544B5752          # "TKWR"
MAP_VERSION = 1

BLOCKS = [
    id_block.block(MAP_MAGIC, MAP_VERSION),
    clock.BLOCK,
    mac.BLOCK,
    net.BLOCK,
    mold.BLOCK,
    itch.BLOCK,
]

MAP = Map("tickwire", MAP_VERSION, BLOCKS)
