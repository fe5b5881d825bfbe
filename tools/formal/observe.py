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


def elaborate_recording(block, module, platform=None):
    """(Module of `block`, [every Signal its elaborate created, in creation order],
    {name: Signal} as `elaborate_observed` finds them).

    Why: blocks create registers by tuple assignment (`v1, c1 = Signal(), Signal(L)`),
    which gives them no usable name; `module` (the block's own Python module) has its
    `Signal` wrapped while the block elaborates (read-only: the block is unchanged), so
    the wrapper can pick them by position. Callers check the widths and layouts they
    expect, so a reordering in the block fails loudly instead of proving the wrong thing.
    """
    made, orig = [], module.Signal

    class Recording:
        like = staticmethod(orig.like)          # not recorded: those have names

        def __call__(self, *args, src_loc_at=0, **kwargs):
            sig = orig(*args, src_loc_at=src_loc_at + 1, **kwargs)   # keep the block's names
            made.append(sig)
            return sig

    module.Signal = Recording()
    try:
        m, found, _fsms = elaborate_observed(block, platform)
    finally:
        module.Signal = orig
    return m, made, found
