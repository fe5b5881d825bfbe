"""Per-block synthesis with every port registered: the block as it sits in the core.

`tools/build/synth.py` routes a block out of context with its ports as bare nets, and
nextpnr does not time paths from or to ports, so logic between an input port and the
first register (or the last register and an output port) is invisible there. In the
core every block input comes from another block's register and every output goes to a
register, so this wrapper adds exactly that: one flip-flop on each input and output
bit. Its Fmax is the block's own, boundary paths included.

    python -m tickwire.tools.build.synth_boundary --blocks net,mac,itch [--build board]
"""
import argparse
import json
from pathlib import Path

from amaranth.hdl import Const, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from tickwire.tools.build import synth


class Registered(wiring.Component):
    """`inner` with a register on every input and output bit (same signature)."""

    def __init__(self, inner):
        self.inner = inner
        super().__init__(inner.signature)

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = inner = self.inner
        outer = self.signature.flatten(self)
        for (path, member, o), (_, _, i) in zip(outer, inner.signature.flatten(inner)):
            if isinstance(o, Const) or isinstance(i, Const):
                continue                       # the `ready` of an always-ready stream
            if member.flow == In:
                m.d.sync += i.eq(o)
            else:
                m.d.sync += o.eq(i)
        return m


def synth_registered(name, comp, out):
    """Route `Registered(comp)`; if ABC9 trips over it (YoWASP Yosys 0.70 asserts in
    ABC_OPS_REINTEGRATE on the ITCH decoder's wrapper), map LUTs with classic ABC."""
    try:
        return synth.synth_component(name, Registered(comp), out=out)
    except RuntimeError as e:
        print(f"{name}: {str(e).splitlines()[0]}; retrying with classic ABC", flush=True)
        synth.ABC_LUT_BLOCKS = synth.ABC_LUT_BLOCKS | {name}
        row = synth.synth_component(name, Registered(comp), out=out)
        row["lut_mapping"] = "abc"
        return row


def main(argv=None):
    from tickwire.rtl.config import BUILDS
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", default="net,mac,itch")
    ap.add_argument("--build", choices=tuple(BUILDS), default="board")
    ap.add_argument("--out", type=Path, default=synth.OUT.parent / "synth_boundary")
    ap.add_argument("--no-record", action="store_true",
                    help="do not record the results in bench/synth.json (flow registered_ports)")
    args = ap.parse_args(argv)
    cfg = BUILDS[args.build]
    rows = []
    for name in args.blocks.split(","):
        path, kwargs = synth.BLOCKS[name]
        comp = synth.load_factory(path)(**(kwargs(cfg) if callable(kwargs) else kwargs))
        row = synth_registered(f"{name}_reg", comp, args.out)
        rows.append(row)
        print(json.dumps(row), flush=True)
    (args.out / "results.json").write_text(json.dumps(rows, indent=1))
    if not args.no_record:
        from tickwire.tools.build.synth_record import entry, record
        record([entry(r, args.build, synth.SEED, flow="registered_ports") for r in rows])


if __name__ == "__main__":
    main()
