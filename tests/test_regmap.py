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


# ---- the map is a function of the build; id.build carries the build's digest --------

def test_named_builds_have_distinct_nonzero_digests():
    from tickwire.rtl.config import BUILDS
    digests = {name: cfg.digest for name, cfg in BUILDS.items()}
    assert set(digests) == {"sim", "board", "lab"}
    assert all(0 < d < 1 << 32 for d in digests.values())
    assert digests["sim"] != digests["board"]
    # any parameter change changes the digest
    assert BUILDS["sim"].replace(book_slots=8).digest != digests["sim"]
    # and the generated map lists both, with the digests the gateware drives
    assert {n: b.digest for n, b in generated.BUILDS.items()} == digests


def test_window_sizes_follow_the_build():
    from tickwire.rtl.config import BUILDS
    from tickwire.rtl.regmap import build_map
    for name, cfg in BUILDS.items():
        m = build_map(cfg)
        assert m.by_name("risk.pos_limits").item.words == cfg.risk_accounts * cfg.risk_slots * 2
        assert m.by_name("risk.sym_limits").item.words == cfg.risk_slots * 4
        assert generated.BUILDS[name].map_hash == m.hash
        assert generated.BUILDS[name].windows["risk.pos_limits"] == \
            m.by_name("risk.pos_limits").item.words
    assert build_map(BUILDS["sim"]).hash != build_map(BUILDS["board"]).hash


def test_staleness_check_fails_when_stale(tmp_path, monkeypatch):
    for rel in gen_regs.OUTPUTS:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(gen_regs.OUTPUTS[rel]())
    monkeypatch.setattr(gen_regs, "REPO", tmp_path)
    assert gen_regs.stale() == [] and gen_regs.main(["--check"]) == 0
    h = tmp_path / "firmware/include/tickwire_regs.h"
    h.write_text(h.read_text().replace("TW_CLOCK_CMD_SET ", "TW_CLOCK_CMD_SET_OLD "))
    assert gen_regs.stale() == ["firmware/include/tickwire_regs.h"]
    assert gen_regs.main(["--check"]) == 1


def test_field_values_are_generated_once():
    """Bit values software uses come from the declarations (rtl/<block>/regs.py)."""
    from tickwire.rtl.book.regs import BLOCK as BOOK
    from tickwire.rtl.clock.regs import BLOCK as CLOCK
    from tickwire.rtl.risk.regs import SUBMIT_KIND
    cmd = CLOCK.reg("cmd")
    assert generated.CLOCK_CMD_SET == 1 << cmd.field("SET").offset
    assert generated.CLOCK_CMD_STEP == 1 << cmd.field("STEP").offset
    assert generated.CLOCK_CMD_SNAPSHOT == 1 << cmd.field("SNAPSHOT").offset
    sub = BOOK.reg("sub_cmd")
    assert [generated.BOOK_SUB_CMD_MAP, generated.BOOK_SUB_CMD_UNMAP, generated.BOOK_SUB_CMD_FLUSH] \
        == [1 << sub.field(n).offset for n in ("MAP", "UNMAP", "FLUSH")]
    assert generated.RISK_ORDER_SUBMIT_KIND_FILL == SUBMIT_KIND.value("FILL")
    header = (gen_regs.REPO / "firmware/include/tickwire_regs.h").read_text()
    assert f"#define TW_BOOK_SUB_CMD_FLUSH" in header
    assert "`FLUSH` (bit 2)" in (gen_regs.REPO / "docs/registers.md").read_text()
