"""The tickwire register map: the one source for gateware, C, Python and docs.

Each block's registers live in rtl/regmap/blocks/<block>.py; this module places
them. Blocks that exist once per 10GbE port (MAC, UDP parser) are instantiated
twice, `_a` and `_b`. Bump MAP_VERSION on any incompatible change; MAP_HASH is
computed from the layout, so software refuses a bitstream built from another map.
"""
import dataclasses

from .dsl import Block, Map, Reg, Window  # noqa: F401
from .blocks import (id_block, clock, mac, net, merge, mold, itch, book, risk, link)

MAP_MAGIC = 0x544B5752          # "TKWR"
MAP_VERSION = 1


def at(block, name, base):
    """The same register block under another name and base (per-port instances)."""
    return dataclasses.replace(block, name=name, base=base)


BLOCKS = [
    id_block.block(MAP_MAGIC, MAP_VERSION),     # 0x0000
    clock.BLOCK,                                # 0x0100
    at(mac.BLOCK, "mac_a", 0x0200),
    at(mac.BLOCK, "mac_b", 0x0280),
    at(net.BLOCK, "net_a", 0x0300),
    at(net.BLOCK, "net_b", 0x0400),
    merge.BLOCK,                                # 0x0500
    at(mold.BLOCK, "mold", 0x0600),
    at(itch.BLOCK, "itch", 0x0700),
    at(risk.BLOCK, "risk", 0x2000),
    book.BLOCK,                                 # 0x1000
    link.BLOCK,                                 # 0x3000
]

MAP = Map("tickwire", MAP_VERSION, BLOCKS)
