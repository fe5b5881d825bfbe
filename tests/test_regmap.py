"""The register map's generated artefacts are fresh, and the map is self-consistent."""
from tickwire.rtl.regmap import MAP
from tickwire.tools.build import gen_regs
from tickwire.control import regmap as generated


def test_generated_files_are_fresh():
    assert gen_regs.stale() == [], "generated register files are stale: run `make regs`"


def test_python_map_matches_source():
    assert generated.MAP_HASH == MAP.hash
    assert set(generated.REGS) == {p.name for p in MAP.registers()}
    for p in MAP.registers():
        assert generated.REGS[p.name].addr == p.addr


def test_no_timestamps_in_outputs():
    for fn in gen_regs.OUTPUTS.values():
        text = fn()
        assert "20" + "26-" not in text and "Generated on" not in text
        assert fn() == text          # deterministic


def test_id_block_first():
    assert MAP.placed[0].name == "id.magic" and MAP.placed[0].addr == 0


def test_wide_registers_are_word_pairs():
    for p in MAP.registers():
        assert p.addr % 4 == 0
        if p.item.width > 32:
            assert (p.addr + 4) not in {q.addr for q in MAP.placed}
