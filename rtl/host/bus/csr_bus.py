"""The internal register bus: one master, byte addresses, 32-bit words.

Read data is valid READ_LATENCY cycles after `r_stb` (the bank's read mux is
pipelined for 156.25 MHz: the address decoded and a group of 16 registers registered,
the groups OR-ed, the window, then a counter's LO word, which is its block RAM word
plus its pending increments: capture, gather, add; see rtl/host/csr.py and
bench/synth.json); writes take effect on the cycle of `w_stb`.
`r_stb` must not be high in two consecutive cycles (the bank's counters rely on it;
the arbiter and the AXI4-Lite bridge space reads READ_LATENCY + 2 cycles apart). Bridges (AXI4-Lite, PCIe
BAR, UART) all target this, through the arbiter.
"""
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

ADDR_WIDTH = 16
READ_LATENCY = 4


class CsrBusSignature(wiring.Signature):
    """Master's view: addr, strobes and write data out; read data in."""
    def __init__(self, addr_width=ADDR_WIDTH):
        super().__init__({
            "addr": Out(addr_width),
            "r_stb": Out(1),
            "w_stb": Out(1),
            "w_data": Out(32),
            "r_data": In(32),
        })
