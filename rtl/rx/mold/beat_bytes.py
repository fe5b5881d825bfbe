"""BeatBytes: where the UDP payload's byte offsets sit in the current beat.

Bytes keep their UDP lanes, so MoldRx finds a payload offset t in lane (t + r) mod 8
of this beat, where r comes from the beat's first kept lane and the payload bytes
consumed before it (`pos0`). This builds that selection logic into the caller's
module: one rotation network per window of consecutive offsets.
"""
from amaranth.hdl import Mux, Signal


class BeatBytes:
    def __init__(self, m, beat, valid, pos0):
        self.m, self.beat, self.pos0 = m, beat, pos0
        # first lane s and byte count n (keep is contiguous)
        self.s = s = Signal(3)
        for lane in reversed(range(8)):
            with m.If(beat.keep[lane]):
                m.d.comb += s.eq(lane)
        self.n = n = Signal(4)
        m.d.comb += n.eq(Mux(valid, sum(beat.keep[lane] for lane in range(8)), 0))
        self.end_pos = pos0 + n
        # payload offset p sits in lane (p + r) mod 8 of this beat
        self.r = r = Signal(3)
        m.d.comb += r.eq(s - pos0[:3])
        self.lanes = [beat.data[8 * k:8 * k + 8] for k in range(8)]

    def rotated(self, shift):
        """Beat bytes rotated: element j = lane (j + shift) mod 8."""
        m = self.m
        out = [Signal(8, name=f"rot{k}") for k in range(8)]
        sh = Signal(3)
        m.d.comb += sh.eq(shift)
        for j in range(8):
            with m.Switch(sh):
                for v in range(8):
                    with m.Case(v):
                        m.d.comb += out[j].eq(self.lanes[(j + v) % 8])
        return out

    def inbeat(self, t):
        return (t >= self.pos0) & (t < self.end_pos)

    def at(self, t):
        """(in this beat, byte) for one payload offset t."""
        return self.inbeat(t), self.beat.data.word_select((t[:3] + self.r)[:3], 8)

    def window(self, base, count):
        """Bytes base+k (k < count) of this beat: (in-beat flags, bytes), one rotation."""
        rot = self.rotated(base[:3] + self.r)
        lo = Signal(range(-(1 << 19), 1 << 19))        # k of the beat's first byte
        self.m.d.comb += lo.eq(self.pos0 - base)
        return [(k >= lo) & (k < lo + self.n) for k in range(count)], \
            [rot[k % 8] for k in range(count)]
