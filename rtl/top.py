"""The tickwire core: XGMII in, register bus, and the decoded/book streams out.

One clock domain (`sync`, the XGMII receive clock, 156.25 MHz). The data path is
MAC -> Ethernet/IPv4/UDP -> MoldUDP64 -> ITCH decoder (-> book -> risk in later
stages); every block's counters and controls are wired to the CSR bank by register
name, so the register map in rtl/regmap is the only place addresses exist.
"""
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from .bus.axil import AxiLiteSignature, AxiLiteToCsr
from .csr import CsrBank, constant_status
from .regmap import MAP, MAP_MAGIC, MAP_VERSION


class TickwireCore(wiring.Component):
    s_axil: In(AxiLiteSignature())

    def __init__(self, regmap=MAP):
        super().__init__()
        self.regmap = regmap
        self.bank = CsrBank(regmap)

    def elaborate(self, platform):
        m = Module()
        m.submodules.bank = bank = self.bank
        m.submodules.axil = axil = AxiLiteToCsr()
        wiring.connect(m, wiring.flipped(self.s_axil), axil.axil)
        wiring.connect(m, axil.csr, bank.bus)
        m.d.comb += [
            constant_status(bank, "id.magic", MAP_MAGIC),
            constant_status(bank, "id.map_version", MAP_VERSION),
            constant_status(bank, "id.map_hash", self.regmap.hash),
        ]
        return m
