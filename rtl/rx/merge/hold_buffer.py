"""HoldBuffer: one hold buffer (port A, B or the host injection), split in two FIFOs
that see the same writes: the key (seq, first, mark: all the sequencer decides on)
and the body (the rest of the message, ~500 bits).

Why: the sequencer's pop is the end of its one-cycle decision. When it read the
whole ~560-bit message, pop drove the clock enables of ~32 block RAMs spread over the
chip and the load enables of ~1,100 flip-flops (HoldHead's two registers): the
merge's critical path (pop -> DP16KD CEB, 9.0 ns, 7.9 of it routing). Now pop reads
only the key (4 block RAMs, 66-bit registers in HoldHead); the body FIFO and its two
registers (`pre`, `head`, the same pipeline as HoldHead's) repeat the key side's reads
and loads a cycle later, from registered enables. So `body` is, every cycle, the body
of the message HoldHead held in the previous cycle: exactly when the sequencer's
output mux, a cycle after its decision, needs it. No added latency.

The body FIFO's reads lag its writes' by one cycle, so it is one entry deeper than the
key FIFO (it is never full when the key FIFO takes a message). A clear (restart) empties
both in the same cycle; a read the key side made just before it finds the body FIFO
empty and does nothing, as the key side's message was flushed too.
"""
from amaranth.hdl import Module, ResetInserter, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from ...layouts import MAX_MSG_BYTES, MoldMsg, RawMsg, Timestamp

#: What the sequencer decides on.
HeldKey = data.StructLayout({"seq": 64, "first": 1, "mark": 1})
#: The rest of the message, read a cycle later (RawMsg without seq).
HeldBody = data.StructLayout({
    "data": data.ArrayLayout(8, MAX_MSG_BYTES),
    "length": 16,
    "feed": 1,
    "rx_ts": Timestamp,
})


class HoldBuffer(wiring.Component):
    w: In(stream.Signature(MoldMsg))        # the sequencer's push
    r: Out(stream.Signature(MoldMsg))       # to HoldHead: only seq, first, mark carried
    load: In(1)                             # HoldHead takes its next message (its `load`)
    body: Out(RawMsg)                       # last cycle's head message (seq not carried)
    clear: In(1)

    def __init__(self, depth):
        self.depth = depth
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        key = SyncFIFOBuffered(width=HeldKey.size, depth=self.depth)
        bod = SyncFIFOBuffered(width=HeldBody.size, depth=self.depth + 1)
        m.submodules.key = key = ResetInserter(self.clear)(key)
        m.submodules.body = bod = ResetInserter(self.clear)(bod)
        w, r = self.w.payload, self.r.payload
        wk, wb = Signal(HeldKey), Signal(HeldBody)
        m.d.comb += [wk.seq.eq(w.msg.seq), wk.first.eq(w.first), wk.mark.eq(w.mark),
                     wb.data.eq(w.msg.data), wb.length.eq(w.msg.length),
                     wb.feed.eq(w.msg.feed), wb.rx_ts.eq(w.msg.rx_ts)]
        m.d.comb += [key.w_en.eq(self.w.valid), key.w_data.eq(wk), self.w.ready.eq(key.w_rdy),
                     bod.w_en.eq(self.w.valid & key.w_rdy), bod.w_data.eq(wb)]
        rk = HeldKey(key.r_data)
        m.d.comb += [self.r.valid.eq(key.r_rdy), key.r_en.eq(self.r.ready),
                     r.msg.seq.eq(rk.seq), r.first.eq(rk.first), r.mark.eq(rk.mark)]
        # the body side: HoldHead's reads and loads, a cycle later
        take_r, load_r = Signal(), Signal()
        pre, head = Signal(HeldBody), Signal(HeldBody)
        m.d.sync += [take_r.eq(self.r.valid & self.r.ready), load_r.eq(self.load)]
        m.d.comb += bod.r_en.eq(take_r)
        with m.If(take_r):
            m.d.sync += pre.eq(bod.r_data)
        with m.If(load_r):
            m.d.sync += head.eq(pre)
        b = self.body
        m.d.comb += [b.data.eq(head.data), b.length.eq(head.length), b.feed.eq(head.feed),
                     b.rx_ts.eq(head.rx_ts)]
        return m
