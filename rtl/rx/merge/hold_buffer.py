"""HoldBuffer: one hold buffer (port A, B or the host injection), split in two: a key
FIFO (seq, first, mark: all the sequencer decides on) and a body memory (the rest of
the message, ~500 bits) written with it.

Why: the sequencer's pop is the end of its one-cycle decision. When it read the
whole ~560-bit message, pop drove the clock enables of ~32 block RAMs spread over the
chip and the load enables of ~1,100 flip-flops (HoldHead's two registers): the
merge's critical path (pop -> DP16KD CEB, 9.0 ns, 7.9 of it routing). Now pop reads
only the key (4 block RAMs, 66-bit registers in HoldHead). The body memory is read
every cycle (its enable is constant) at `slot`, a register that names the message
HoldHead holds: so `body` is, every cycle, the body of the message the head held in the
previous cycle, exactly when the sequencer's output mux (a cycle after its decision)
needs it. No added latency, and nothing in the loop reaches the body's RAMs.

Slots: messages enter the body memory in order (`wslot`) and reach the head in the same
order (a `load` each), so the head's slot is a counter. The key FIFO, HoldHead's `pre`
and its head hold at most depth + 2 messages, so a memory of at least that many rows
never overwrites a message still held. A clear empties the key FIFO and restarts both
counters in the same cycle.
"""
from amaranth.hdl import Module, ResetInserter, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.memory import Memory
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
        m.submodules.key = key = ResetInserter(self.clear)(key)
        rows = 1 << (self.depth + 2 - 1).bit_length()     # >= depth + 2, a power of 2
        m.submodules.body = mem = Memory(shape=HeldBody, depth=rows, init=[])
        wr, rd = mem.write_port(), mem.read_port()          # rd: always enabled
        w, r = self.w.payload, self.r.payload
        wk = Signal(HeldKey)
        m.d.comb += [wk.seq.eq(w.msg.seq), wk.first.eq(w.first), wk.mark.eq(w.mark),
                     key.w_en.eq(self.w.valid), key.w_data.eq(wk), self.w.ready.eq(key.w_rdy)]
        wslot, slot = Signal(range(rows)), Signal(range(rows), init=rows - 1)
        m.d.comb += [wr.en.eq(self.w.valid & key.w_rdy), wr.addr.eq(wslot),
                     wr.data.data.eq(w.msg.data), wr.data.length.eq(w.msg.length),
                     wr.data.feed.eq(w.msg.feed), wr.data.rx_ts.eq(w.msg.rx_ts)]
        with m.If(wr.en):
            m.d.sync += wslot.eq(wslot + 1)
        with m.If(self.load):
            m.d.sync += slot.eq(slot + 1)
        with m.If(self.clear):
            m.d.sync += [wslot.eq(0), slot.eq(rows - 1)]
        rk = HeldKey(key.r_data)
        m.d.comb += [self.r.valid.eq(key.r_rdy), key.r_en.eq(self.r.ready),
                     r.msg.seq.eq(rk.seq), r.first.eq(rk.first), r.mark.eq(rk.mark)]
        b = self.body
        m.d.comb += [rd.addr.eq(slot), b.data.eq(rd.data.data), b.length.eq(rd.data.length),
                     b.feed.eq(rd.data.feed), b.rx_ts.eq(rd.data.rx_ts)]
        return m
