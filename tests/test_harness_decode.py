"""The harness's payload decoder reads every field as `amaranth.lib.data` does
(`Layout.from_bits`), for every stream layout of the gateware and for signed, enum
and array fields, keeping the layout's field order."""
import enum
import random

from amaranth.lib import data
from amaranth.lib import enum as aenum

from tickwire.rtl import layouts
from tickwire.tools.build.harness.decode import decoder


def plain(const, layout):
    """A data.Const -> nested dict/list, through its own field accessors."""
    if isinstance(layout, data.ArrayLayout):
        return [field(const[i], layout.elem_shape) for i in range(layout.length)]
    return {name: field(const[name], f.shape) for name, f in layout}


def field(v, shape):
    return plain(v, shape) if isinstance(shape, data.Layout) else v


class Kind(aenum.Enum, shape=3):
    A, B, C = 0, 3, 5


ODD = data.StructLayout({"s": data.signed(7), "k": Kind, "u": 1,
                         "arr": data.ArrayLayout(data.StructLayout({"x": 3, "y": data.signed(5)}), 3),
                         "ints": data.ArrayLayout(data.signed(4), 2)})
STREAM_LAYOUTS = [v for v in vars(layouts).values() if isinstance(v, data.Layout)]


def test_every_stream_layout_agrees_with_from_bits():
    assert len(STREAM_LAYOUTS) > 10
    rng = random.Random(1)
    for layout in STREAM_LAYOUTS + [layouts.top_n_layout(4)]:
        dec = decoder(layout)
        for v in [0, (1 << layout.size) - 1] + [rng.getrandbits(layout.size) for _ in range(50)]:
            want = plain(layout.from_bits(v), layout)
            got = dec(v)
            assert got == want and list(got) == list(want), layout


def test_signed_enum_and_array_fields():
    rng = random.Random(2)
    dec = decoder(ODD)
    seen = set()
    for _ in range(300):
        kv = rng.choice([0, 3, 5])
        v = ODD.const({"s": rng.randrange(-64, 64), "k": Kind(kv), "u": rng.randrange(2),
                       "arr": [{"x": rng.randrange(8), "y": rng.randrange(-16, 16)}] * 3,
                       "ints": [rng.randrange(-8, 8), 7]}).as_bits()
        got = dec(v)
        assert got == plain(ODD.from_bits(v), ODD)
        assert isinstance(got["k"], enum.Enum) and got["ints"][1] == 7
        seen.add(got["s"] < 0)
    assert seen == {True, False}
