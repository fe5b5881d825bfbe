"""Walk README's "How to add a block" with a tiny block, then remove it.

Steps 2-5 are each shown to be needed (leaving one out fails, naming what is missing)
and, together, to be enough; the README is checked to name exactly these places.
"""
import re
from pathlib import Path

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tickwire.rtl import regmap
from tickwire.rtl.config import BUILDS
from tickwire.rtl.host.csr import CsrBank
from tickwire.rtl.regmap.binding import AssemblyError, assemble, register_members
from tickwire.rtl.regmap.dsl import Block, Field, Reg
from tickwire.rtl.top import TickwireCore
from tickwire.tools.build import gen_regs

README = Path(__file__).resolve().parents[1] / "README.md"

# Step 2: the tiny block's registers, declared as its regs.py would.
TINY = Block("tiny", "A tiny block: counts strobes.", (
    Reg("pings", "counter", "Pings seen."),
    Reg("mode", "control", "Operating mode.", width=2, fields=(
        Field("SPEED", 0, "How fast.", width=2, values={"SLOW": 0, "FAST": 1}),)),
))


class Tiny(wiring.Component):
    """Step 1 and 2: a component owning TINY through generated members."""
    registers = TINY

    def __init__(self, members=None):
        super().__init__({"ping": In(1), **(register_members(TINY) if members is None else members)})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.ev_pings.eq(self.ping)
        return m


def _silent(c):
    c._MustUse__silence = True
    return c


@pytest.fixture
def placed(monkeypatch):
    """Step 3: one line in BLOCKS (base and declaration); undone after the test."""
    monkeypatch.setitem(regmap.BLOCKS, "tiny", (0x3800, lambda cfg: TINY))
    m = regmap.build_map(BUILDS["sim"])
    monkeypatch.setattr(regmap, "MAP", m)
    monkeypatch.setattr(gen_regs, "MAP", m)
    return m


def test_readme_names_the_steps():
    text = README.read_text()
    section = text[text.index("## How to add a block"):]
    steps = re.findall(r"^(\d)\. ", section, re.M)
    assert steps == ["1", "2", "3", "4", "5", "6"]
    for needed in ("rtl/<block>/regs.py", "registers = regs.BLOCK", "register_members",
                   "`BLOCKS` in `rtl/regmap/__init__.py`", 'owners["<block>"]', "make regs",
                   "CoreConfig"):
        assert needed in section, needed


def test_all_steps_bind_the_block_and_generate_its_names(placed):
    p = placed.by_name("tiny.pings")
    assert p.addr == 0x3800
    stmts = assemble(CsrBank(placed), {"tiny": _silent(Tiny())}, partial=True)
    assert len(stmts) == 2                            # one per register
    # step 5: the generated artefacts now describe it, so the committed ones are stale
    assert "TINY_MODE_SPEED_FAST = 0x1" in gen_regs.gen_py()
    assert "TW_TINY_PINGS" in gen_regs.gen_c()
    assert sorted(gen_regs.stale()) == sorted(gen_regs.OUTPUTS)


def test_without_register_members_the_registers_are_undriven(placed):
    with pytest.raises(AssemblyError, match=r"undriven register\(s\) \['tiny.pings', 'tiny.mode'\]"):
        assemble(CsrBank(placed), {"tiny": _silent(Tiny(members={}))}, partial=True)


def test_without_a_place_in_blocks_the_map_has_no_such_block():
    with pytest.raises(AssemblyError, match="the map has no such block"):
        assemble(CsrBank(regmap.build_map()), {"tiny": _silent(Tiny())}, partial=True)


def test_without_an_owner_in_top_assembly_fails(placed, monkeypatch):
    core = TickwireCore(BUILDS["board"])              # top.py knows nothing of `tiny`
    with pytest.raises(AssemblyError, match=r"no component owns block\(s\) \['tiny'\]"):
        core.elaborate(None)


def test_removed_again_everything_is_fresh():
    """After the walk (fixtures undone) the map and its artefacts are as committed."""
    assert "tiny" not in regmap.BLOCKS
    assert gen_regs.stale() == []
    _silent(TickwireCore(BUILDS["board"])).elaborate(None)   # assembles cleanly
