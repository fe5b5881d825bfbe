"""Pack and unpack Amaranth struct layouts as Python ints (for testbenches and harnesses)."""
from amaranth.hdl import Shape
from amaranth.lib import data


def _width(shape):
    return data.Layout.cast(shape).size if isinstance(shape, data.Layout) else Shape.cast(shape).width


def unpack(layout, value):
    """Integer -> nested dict of field values (arrays become lists)."""
    layout = data.Layout.cast(layout)
    if isinstance(layout, data.ArrayLayout):
        w = _width(layout.elem_shape)
        return [_field(layout.elem_shape, (value >> (i * w)) & ((1 << w) - 1))
                for i in range(layout.length)]
    out = {}
    for name, fld in layout:
        width = fld.width
        out[name] = _field(fld.shape, (value >> fld.offset) & ((1 << width) - 1))
    return out


def _field(shape, v):
    if isinstance(shape, data.Layout):
        return unpack(shape, v)
    return v


def pack(layout, fields):
    """Nested dict -> integer; missing fields are zero."""
    layout = data.Layout.cast(layout)
    if isinstance(layout, data.ArrayLayout):
        w = _width(layout.elem_shape)
        return sum(_pack_field(layout.elem_shape, f) << (i * w) for i, f in enumerate(fields))
    value = 0
    for name, fld in layout:
        if name in fields:
            value |= (_pack_field(fld.shape, fields[name]) & ((1 << fld.width) - 1)) << fld.offset
    return value


def _pack_field(shape, f):
    if isinstance(shape, data.Layout):
        return pack(shape, f)
    return int(f)
