"""The CSR-bank window signature the gate's sub-components take (flipped) as ports."""
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


def WindowSignature(words):
    """A CSR-bank window as seen from the bank (the gate takes it flipped)."""
    return wiring.Signature({"addr": Out(range(words)), "r_stb": Out(1), "w_stb": Out(1),
                             "w_data": Out(32), "r_data": In(32)})
