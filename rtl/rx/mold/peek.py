"""MoldPeek: read a MoldUDP64 packet's sequence number and message count as it passes.

It only observes a UdpBeat stream (bytes in their lanes, contiguous keep, packets
marked first/last). `done` pulses the cycle after the beat carrying payload byte 19;
`seq` and `count` are then valid and held until the next packet's header; `span` is
the number of sequence numbers the packet covers (its count, but 0 for an
end-of-session packet, whose count is 0xFFFF). A packet shorter than the 20-byte
header never raises `done`.
"""
from amaranth.hdl import Array, Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ...layouts import UdpBeat

SEQ_AT, HEADER = 10, 20


class MoldPeek(wiring.Component):
    i: In(stream.Signature(UdpBeat, always_ready=True))
    done: Out(1)
    seq: Out(64)
    count: Out(16)
    span: Out(16)

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.span.eq(Mux(self.count == 0xFFFF, 0, self.count))
        beat = self.i.payload
        pos = Signal(range(HEADER + 9))          # payload bytes seen in earlier beats
        hdr = Signal(8 * (HEADER - SEQ_AT))      # header bytes 10..19, byte 10 in bits 7:0

        start = Signal(range(8))                 # lowest kept lane of the beat
        for lane in reversed(range(8)):
            with m.If(beat.keep[lane]):
                m.d.comb += start.eq(lane)
        n = Signal(range(9))
        m.d.comb += n.eq(sum(beat.keep[k] for k in range(8)))
        base = Signal(range(HEADER + 9))
        m.d.comb += base.eq(Mux(beat.first, 0, pos))

        lanes = Array(beat.data.word_select(k, 8) for k in range(8))
        new_hdr = Signal.like(hdr)
        m.d.comb += new_hdr.eq(hdr)
        for b in range(SEQ_AT, HEADER):
            with m.If((base <= b) & (b < base + n)):
                m.d.comb += new_hdr.word_select(b - SEQ_AT, 8).eq(lanes[(start + b - base)[:3]])

        hbytes = [new_hdr.word_select(k, 8) for k in range(HEADER - SEQ_AT)]
        m.d.sync += self.done.eq(0)
        with m.If(self.i.valid):
            m.d.sync += [pos.eq(Mux(base + n > HEADER, HEADER, base + n)), hdr.eq(new_hdr)]
            with m.If((base < HEADER) & (base + n >= HEADER)):
                m.d.sync += [self.done.eq(1),
                             self.seq.eq(Cat(*reversed(hbytes[:8]))),
                             self.count.eq(Cat(hbytes[9], hbytes[8]))]
        return m
