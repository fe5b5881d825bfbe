"""Reach a block's internal registers from a proof wrapper, without editing the block.

k-induction starts from any state, reachable or not; an unreachable one (an FSM
encoding no state names, a 2-bit index at 3 of 3) can fail a true property. The
wrapper then states "this register holds a legal value" as one more Assert, which
needs the register: `elaborate_observed` elaborates the block itself (the wrapper
adds the returned Module as the submodule) and returns its signals by name.
Amaranth keeps FSMs in Module._generated: read-only use of that private field.
"""
from amaranth.hdl._ast import Assign, Switch


def _signals(obj, out):
    """Signals assigned anywhere in a statement tree (Switch cases walked)."""
    if isinstance(obj, Assign):
        for sig in obj.lhs._lhs_signals():
            out.setdefault(sig.name, sig)
    elif isinstance(obj, Switch):
        for _patterns, stmts, _loc in obj.cases:
            for st in stmts:
                _signals(st, out)


def elaborate_observed(block, platform=None):
    """(Module of `block`, {signal name: Signal} assigned by its own statements,
    {fsm name: (state signal, {state name: encoding})})."""
    block._MustUse__silence = True      # elaborated here, by hand: not unused
    m = block.elaborate(platform)
    m._flush()                          # close open If/Switch blocks (elaborate does too)
    found = {}
    for stmts in m._statements.values():
        for st in stmts:
            _signals(st, found)
    fsms = {name: (fsm._data["signal"], dict(fsm.encoding)) for name, fsm in m._generated.items()
            if hasattr(fsm, "_data") and "signal" in fsm._data}
    return m, found, fsms
