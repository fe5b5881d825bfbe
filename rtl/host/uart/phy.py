"""8N1 UART receiver and transmitter; `divisor` is clock cycles per bit (clk / baud).

The receiver samples mid-bit from the start edge (no oversampling: the bridge runs
at most a few Mbaud against a 156.25 MHz clock, so a 1/divisor phase error is small),
rejects start-bit glitches, and reports a bad stop bit as `frame_error` instead of a
byte, then waits for the line to return high so a break cannot be read as bytes.
"""
from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class UartRx(wiring.Component):
    rx: In(1, init=1)
    data: Out(8)
    valid: Out(1)            # one-cycle pulse with `data`
    frame_error: Out(1)      # one-cycle pulse: stop bit was low (byte dropped)

    def __init__(self, divisor):
        assert divisor >= 4
        self.divisor = divisor
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        sync0, line = Signal(init=1), Signal(init=1)
        m.d.sync += [sync0.eq(self.rx), line.eq(sync0)]
        cnt = Signal(range(self.divisor))
        bit = Signal(range(8))
        shift = Signal(8)
        m.d.sync += [self.valid.eq(0), self.frame_error.eq(0)]
        with m.If(cnt != 0):
            m.d.sync += cnt.eq(cnt - 1)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~line):
                    m.d.sync += cnt.eq(self.divisor // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(cnt == 0):
                    with m.If(line):
                        m.next = "IDLE"                 # glitch, not a start bit
                    with m.Else():
                        m.d.sync += [cnt.eq(self.divisor - 1), bit.eq(0)]
                        m.next = "DATA"
            with m.State("DATA"):
                with m.If(cnt == 0):
                    m.d.sync += [shift.eq(Cat(shift[1:], line)), cnt.eq(self.divisor - 1),
                                 bit.eq(bit + 1)]
                    with m.If(bit == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                with m.If(cnt == 0):
                    with m.If(line):
                        m.d.sync += [self.data.eq(shift), self.valid.eq(1)]
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += self.frame_error.eq(1)
                        m.next = "BREAK"
            with m.State("BREAK"):
                with m.If(line):
                    m.next = "IDLE"
        return m


class UartTx(wiring.Component):
    data: In(8)
    valid: In(1)
    ready: Out(1)            # byte accepted when valid & ready
    tx: Out(1, init=1)

    def __init__(self, divisor):
        self.divisor = divisor
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        cnt = Signal(range(self.divisor))
        bits = Signal(range(11))
        shift = Signal(10, init=0x3FF)
        m.d.comb += self.ready.eq(bits == 0)
        with m.If(bits == 0):
            with m.If(self.valid):
                # start bit, 8 data bits LSB first, stop bit
                m.d.sync += [shift.eq(Cat(0, self.data, 1)), bits.eq(10),
                             cnt.eq(self.divisor - 1), self.tx.eq(0)]
        with m.Elif(cnt != 0):
            m.d.sync += cnt.eq(cnt - 1)
        with m.Else():
            m.d.sync += [shift.eq(Cat(shift[1:], 1)), bits.eq(bits - 1),
                         cnt.eq(self.divisor - 1), self.tx.eq(shift[1])]
            with m.If(bits == 1):
                m.d.sync += self.tx.eq(1)
        return m
