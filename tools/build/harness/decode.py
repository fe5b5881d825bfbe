"""Payload ints of the harness's output streams -> plain dicts and lists, fast.

A replay decodes up to millions of payloads, and building an `amaranth.lib.data.Const`
per payload (`Layout.from_bits`) and reading its fields costs several times more than
the shifts. So each layout is compiled once, from the field offsets and widths that
`amaranth.lib.data` computed, into a function that returns what reading every field
of `layout.from_bits(value)` returns, as a nested dict (arrays as lists);
tests/test_harness_decode.py checks the two agree on every stream layout.
"""
from functools import lru_cache

from amaranth.hdl import Shape, ShapeCastable
from amaranth.lib import data


def _field(shape, offset):
    """A function value -> this field's value (shape at bit `offset`)."""
    if isinstance(shape, data.Layout):
        sub = decoder(shape)
        mask = (1 << shape.size) - 1
        return lambda v: sub(v >> offset & mask)
    if isinstance(shape, ShapeCastable):            # e.g. an enum: its own from_bits
        width = Shape.cast(shape).width
        return lambda v: shape.from_bits(v >> offset & ((1 << width) - 1))
    s = Shape.cast(shape)
    mask = (1 << s.width) - 1
    if s.signed:
        sign = 1 << (s.width - 1)
        return lambda v: ((v >> offset & mask) ^ sign) - sign
    return lambda v: v >> offset & mask


@lru_cache(maxsize=None)
def decoder(layout):
    """A function int -> nested dict (list for an ArrayLayout) of `layout`'s fields."""
    layout = data.Layout.cast(layout)
    if isinstance(layout, data.ArrayLayout):
        fields = [_field(layout[i].shape, layout[i].offset) for i in range(layout.length)]
        return lambda v: [f(v) for f in fields]
    fields = []                                     # in the layout's order
    for name, fld in layout:
        if isinstance(fld.shape, ShapeCastable) or Shape.cast(fld.shape).signed:
            fields.append((name, 0, 0, _field(fld.shape, fld.offset)))
        else:
            fields.append((name, fld.offset, (1 << fld.width) - 1, None))
    if all(f is None for *_, f in fields):
        plain = [(n, o, m) for n, o, m, _ in fields]
        return lambda v: {n: v >> o & m for n, o, m in plain}
    return lambda v: {n: v >> o & m if f is None else f(v) for n, o, m, f in fields}
