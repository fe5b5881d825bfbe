"""Build the firmware access library with the project's strict flags and run its host
test (a fake BAR that latches HI on LO reads, stages LO writes, and logs order)."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

FIRMWARE = Path(__file__).resolve().parent.parent / "firmware"
CASES = [
    "attach_accepts_matching_id", "attach_rejects_wrong_hash", "attach_rejects_wrong_magic",
    "attach_rejects_wrong_version", "attach_rejects_null",
    "read64_is_lo_then_hi_and_tear_free", "counter_reads_64_bits",
    "write64_is_lo_stage_then_hi_commit", "clock_snapshot_latches_then_reads",
    "mmio_bar_offsets_are_bytes",
]


def header_define(name):
    text = (FIRMWARE / "include" / "tickwire_regs.h").read_text()
    return int(re.search(rf"#define {name}\s+(0x[0-9A-Fa-f]+|\d+)u", text).group(1), 0)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if not shutil.which("gcc") or not shutil.which("make"):
        pytest.skip("gcc/make not installed")
    build = tmp_path_factory.mktemp("fw")
    proc = subprocess.run(["make", "-C", str(FIRMWARE), f"BUILD={build}", "CC=gcc", "all"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return build


def test_library_builds_warning_free(built):
    # -Werror is in the Makefile's flags, so a successful build means no warnings.
    assert (built / "libtickwire.a").stat().st_size > 0
    nm = subprocess.run(["nm", str(built / "libtickwire.a")], capture_output=True, text=True)
    if nm.returncode == 0:
        for sym in ("tw_attach", "tw_attach_bus", "tw_read32", "tw_write32", "tw_read64",
                    "tw_write64", "tw_clock_snapshot", "tw_strerror"):
            assert re.search(rf"\bT {sym}\b", nm.stdout), sym


def test_host_program(built):
    proc = subprocess.run([str(built / "test_tickwire")], capture_output=True, text=True,
                          timeout=60)
    out = proc.stdout
    assert "FAIL" not in out, out
    for case in CASES:
        assert f"ok {case}\n" in out, out
    assert f"summary: {len(CASES)} passed, 0 failed" in out
    assert proc.returncode == 0
    # The program was compiled against the generated header's map identity.
    m = re.search(r"map magic 0x([0-9A-F]{8}) version (\d+) hash 0x([0-9A-F]{8})", out)
    assert int(m.group(1), 16) == header_define("TW_MAP_MAGIC") == 0x544B5752
    assert int(m.group(2)) == header_define("TW_MAP_VERSION")
    assert int(m.group(3), 16) == header_define("TW_MAP_HASH")
