"""Register assembly (rtl/regmap/binding.py) refuses a design that does not match the
map: an undriven register, a width mismatch, a register member matching no register."""
import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tickwire.rtl.host.csr import CsrBank
from tickwire.rtl.regmap import Map, build_map
from tickwire.rtl.regmap.binding import AssemblyError, assemble, register_members
from tickwire.rtl.regmap.dsl import Block, Instance, Reg
from tickwire.rtl.rx.itch.decoder import ItchDecoder
from tickwire.rtl.rx.mac import regs as mac_regs

TOY = Block("toy", "A two-register block for these tests.", (
    Reg("hits", "counter", "Pulses counted."),
    Reg("mode", "control", "A 4-bit control.", width=4),
))
TOY_MAP = Map("toy", 1, [Instance("toy", 0x0, TOY)])


class _Toy(wiring.Component):
    def __init__(self, members):
        super().__init__(members)
        self._MustUse__silence = True

    def elaborate(self, platform):
        return Module()


def _bank(regmap):
    bank = CsrBank(regmap)
    bank._MustUse__silence = True          # only its ports are bound here
    return bank


def test_declared_members_assemble():
    toy = _Toy(register_members(TOY))
    assert len(assemble(_bank(TOY_MAP), {"toy": toy})) == 2


def test_undriven_register_fails():
    toy = _Toy({"ev_hits": Out(1)})                       # no ctl_mode
    with pytest.raises(AssemblyError, match=r"undriven register\(s\) \['toy.mode'\]"):
        assemble(_bank(TOY_MAP), {"toy": toy})


def test_block_without_owner_fails():
    with pytest.raises(AssemblyError, match=r"no component owns block\(s\) \['toy'\]"):
        assemble(_bank(TOY_MAP), {})


def test_width_mismatch_fails():
    toy = _Toy({"ev_hits": Out(1), "ctl_mode": In(3)})   # map says 4 bits
    with pytest.raises(AssemblyError, match=r"width mismatch: _Toy.ctl_mode is 3 bits, "
                                            r"register mode needs 4"):
        assemble(_bank(TOY_MAP), {"toy": toy})


def test_stray_member_fails():
    toy = _Toy({**register_members(TOY), "ev_misses": Out(1)})
    with pytest.raises(AssemblyError, match=r"member\(s\) \['ev_misses'\] match no register"):
        assemble(_bank(TOY_MAP), {"toy": toy})


def test_wrong_block_for_a_component_fails():
    """A real block bound to another block's registers: its members are all strays."""
    bank = _bank(build_map())
    dec = ItchDecoder()
    dec._MustUse__silence = True
    with pytest.raises(AssemblyError, match="match no register"):
        assemble(bank, {"mac_a": dec}, partial=True)
    assert mac_regs.BLOCK.reg("max_len").reset == 1522
