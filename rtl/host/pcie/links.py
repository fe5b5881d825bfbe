"""Wire the `link` register block from whichever host links a top has.

`wire_block` wants one object carrying every register of a block; the link block
counts for two bridges (and a top may have only one of them), so this gathers their
`ev_*` pulses and drives absent ones with 0.
"""
from types import SimpleNamespace

from amaranth.hdl import Const

from ..csr import wire_block
from ...regmap.blocks.link import BLOCK


def wire_links(bank, pcie=None, uart=None):
    """Statements connecting `link.*` counters to a PcieBarEndpoint and/or UartBridge."""
    members = {}
    for reg in BLOCK.items:
        attr = f"ev_{reg.name}"
        owner = pcie if reg.name.startswith("pcie_") else uart
        members[attr] = getattr(owner, attr) if owner is not None else Const(0, 1)
    return wire_block(bank, "link", SimpleNamespace(**members))
