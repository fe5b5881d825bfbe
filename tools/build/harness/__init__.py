"""Native Verilator harness: long replays at millions of cycles/s, registers reachable.

cocotb clocks Verilator from Python at ~100k cycles/s; this builds the design with a
C++ main (harness.cpp + generated port glue) that runs the clock itself. Frames go in
as XGMII beats, every valid beat of each `*_out` stream comes back with its cycle,
and register scripts run through the AXI4-Lite port. `sim.serve()` keeps a simulated
card running behind a socket for the control plane. Formats: protocol.py, client.py.

    sim = build_native(MyTop(), "mytop")
    res = sim.run(beats, writes_before=[(addr, data)], reads_after=[addr])
    res.streams["itch_out"] -> [(cycle, payload int)];  res.reads -> [(cycle, addr, value)]
"""
from .native import NativeSim, NativeSimError, RunResult, build_native  # noqa: F401
from .protocol import IDLE_C, IDLE_D, Idle, Repeat, encode_beats  # noqa: F401
from .client import SimClient  # noqa: F401
