"""The tickwire register map: the one source for gateware, C, Python and docs.

Each block declares its registers next to its code (`rtl/<block>/regs.py`); this
module places them, in ONE table (`BLOCKS`: instance -> base address and declaration).
The map is a function of the build configuration (`build_map(cfg)`: window sizes and
filter entries follow CoreConfig). Blocks that exist once per 10GbE port (MAC, UDP
parser) are placed twice, `_a` and `_b`. Bump MAP_VERSION on any incompatible change;
the map hash is computed from the layout, so software refuses a bitstream built from
another map.
"""
from ..config import BUILDS, CoreConfig
from .dsl import Block, Field, Instance, Map, Reg, Window  # noqa: F401
from ..host import id_regs, link_regs
from ..clock import regs as clock
from ..rx.mac import regs as mac
from ..rx.udp import regs as net
from ..rx.merge import regs as merge
from ..rx.mold import regs as mold
from ..rx.itch import regs as itch
from ..rx.inject import regs as inject
from ..book import regs as book
from ..risk import regs as risk

MAP_MAGIC = 0x544B5752          # "TKWR"
MAP_VERSION = 2

#: instance name -> (base address, its Block as a function of the CoreConfig): the only
#: place addresses are chosen. Declaration order is map order.
BLOCKS = {
    "id":    (0x0000, lambda cfg: id_regs.BLOCK),
    "clock": (0x0100, lambda cfg: clock.BLOCK),
    "mac_a": (0x0200, lambda cfg: mac.BLOCK),
    "mac_b": (0x0280, lambda cfg: mac.BLOCK),
    "net_a": (0x0300, lambda cfg: net.block(cfg.udp_filters)),
    "net_b": (0x0400, lambda cfg: net.block(cfg.udp_filters)),
    "merge": (0x0500, lambda cfg: merge.BLOCK),
    "mold":  (0x0600, lambda cfg: mold.BLOCK),
    "itch":  (0x0700, lambda cfg: itch.BLOCK),
    "inject": (0x0800, lambda cfg: inject.BLOCK),
    "book":  (0x1000, lambda cfg: book.BLOCK),
    "risk":  (0x2000, lambda cfg: risk.block(cfg.risk_accounts, cfg.risk_slots)),
    "link":  (0x3000, lambda cfg: link_regs.BLOCK),
}


def build_map(cfg: CoreConfig = BUILDS["sim"]):
    return Map("tickwire", MAP_VERSION,
               [Instance(name, base, declare(cfg)) for name, (base, declare) in BLOCKS.items()])


#: The map of the default (sim) build: what the generated artefacts describe.
MAP = build_map(BUILDS["sim"])
