"""IdBlock: the constants software reads first (magic, map version, map hash, build
digest), as a component owning the `id` registers like any other block."""
from amaranth.hdl import Module
from amaranth.lib import wiring

from ..regmap import MAP_MAGIC, MAP_VERSION
from ..regmap.binding import register_members
from . import id_regs


class IdBlock(wiring.Component):
    registers = id_regs.BLOCK

    def __init__(self, map_hash, build):
        """map_hash: the bank's map hash; build: CoreConfig.digest (0 only in test tops
        that are no build of the core)."""
        self.map_hash, self.build = map_hash, build
        super().__init__(register_members(self.registers))

    def elaborate(self, platform):
        m = Module()
        m.d.comb += [self.st_magic.eq(MAP_MAGIC), self.st_map_version.eq(MAP_VERSION),
                     self.st_map_hash.eq(self.map_hash), self.st_build.eq(self.build)]
        return m
