"""Run one Amaranth testbench against a component on a 100 MHz `sync` clock.

Shared by the sub-component tests (risk gate, feed merge); imported as a plain name
like conftest's helpers.
"""
from amaranth.sim import Simulator


def simulate(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def put(ctx, view, fields):
    """Set the fields of a struct view from a dict (nested dicts for nested structs)."""
    for k, v in fields.items():
        if isinstance(v, dict):
            put(ctx, getattr(view, k), v)
        else:
            ctx.set(getattr(view, k), int(v))
