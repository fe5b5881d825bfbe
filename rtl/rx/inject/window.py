"""InjectWindow: MoldUDP64 messages from the host enter the A/B sequencer as a third
source, through the register bus, so every host link (sim socket/AXI4-Lite, PCIe,
UART) can fill a gap or load a snapshot (issue 14, docs/recovery.md).

Why registers and messages, not packets: the host already has the messages (its
MoldUDP64 client parsed the retransmission or the GLIMPSE snapshot) and the register
bus is the one path every transport shares; a message is a few 32-bit writes
(`data` x ceil(len/4), `commit`), and the sequencer applies it with the live feeds'
rules (rtl/rx/merge/: FeedMerge's injection FIFO, 16 messages, a third hold-buffer
head). A committed message waits here while that FIFO is full (`state.BUSY`); a
commit while one waits is counted (`overruns`) and dropped, so a host that injects
far ahead of the expected sequence number polls BUSY. Snapshot messages go to the
sequencer's `raw` input: delivered unsequenced when nothing else goes out.

Recovery state lives here too: a gap report (the hold window expired, or a confirmed
jump) marks every book stale and latches its range (gap_first, gap_count, `gaps`); the
host clears it (`cmd.CLEAR_STALE`) when recovery completes. A hold buffer that
overflows while stale raises SNAPSHOT_NEEDED; so does a frame found bad at its end
after some of its messages went to the books cut-through (`bad_frame`, from MoldRx:
a re-request cannot undo a message already applied), and so does a sequenced message
the book's input queue dropped (`book_lost`, BookInput's `book.fifo_overflow`: E has
moved past it, so no fill brings it back, and without this the book would go on
silently wrong; a deep side drained best-first at line rate does it, bench
`deep_book`). Both also mark the books stale at once. The stale bitmap has a bit per
slot; a gap marks all of them (the card cannot tell which books the lost messages
touched).
"""
from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ...layouts import MAX_MSG_BYTES, GapEvent, MoldMsg, RawMsg
from ...regmap.binding import register_members
from . import regs

WORDS = (MAX_MSG_BYTES + 3) // 4
_F = {n: regs.BLOCK.reg(r).field(n).offset for r, names in
      (("commit", ("FIRST", "SNAPSHOT")), ("cmd", ("JOIN", "SKIP", "CLEAR_STALE")))
      for n in names}


class InjectWindow(wiring.Component):
    registers = regs.BLOCK

    def __init__(self, slots=64):
        self.slots = slots
        super().__init__({
            "inj": Out(stream.Signature(MoldMsg)),     # sequenced: FeedMerge.inject
            "raw": Out(stream.Signature(RawMsg)),      # snapshot: FeedMerge.raw
            "gap_wait": Out(1), "skip": Out(1), "join": Out(1), "join_seq": Out(64),
            "report": In(stream.Signature(GapEvent, always_ready=True)),
            "waiting": In(1), "inj_ev": In(2),
            "overflow": In(2),              # hold-buffer overflow pulses, ports A and B
            "bad_frame": In(1),             # a bad frame's messages went out (MoldRx)
            "book_lost": In(1),             # the book's input queue dropped a message
            "stale": Out(1),                # books stale (registered): BBO updates flag it
            **register_members(self.registers),
        })

    def elaborate(self, platform):
        m = Module()
        words = [Signal(32, name=f"word{k}") for k in range(WORDS)]
        widx, hi, nxt = Signal(range(WORDS + 1)), Signal(32), Signal(64)
        with m.If(self.stb_data):
            for k in range(WORDS):
                with m.If(widx == k):
                    m.d.sync += words[k].eq(self.stb_data_data)
            m.d.sync += widx.eq(widx + (widx != WORDS))
        with m.If(self.stb_seq_hi):
            m.d.sync += hi.eq(self.stb_seq_hi_data)
        busy = Signal()
        m.d.comb += [busy.eq(self.inj.valid | self.raw.valid),
                     self.raw.payload.eq(self.inj.payload.msg)]
        cd = self.stb_commit_data
        commit = self.stb_commit & ~busy
        with m.If(self.inj.ready):
            m.d.sync += self.inj.valid.eq(0)
        with m.If(self.raw.ready):
            m.d.sync += self.raw.valid.eq(0)
        with m.If(self.stb_seq_lo):
            m.d.sync += nxt.eq(Cat(self.stb_seq_lo_data, hi))
        with m.Elif(commit & ~cd[_F["SNAPSHOT"]]):
            m.d.sync += nxt.eq(nxt + 1)
        p = self.inj.payload
        with m.If(commit):
            m.d.sync += [self.inj.valid.eq(~cd[_F["SNAPSHOT"]]),
                         self.raw.valid.eq(cd[_F["SNAPSHOT"]]),
                         p.first.eq(cd[_F["FIRST"]]), p.msg.length.eq(cd[:16]),
                         p.msg.seq.eq(nxt), p.msg.feed.eq(0), p.msg.rx_ts.eq(0),
                         p.msg.data.as_value().eq(Cat(*words)[:8 * MAX_MSG_BYTES]), widx.eq(0)]
        m.d.sync += self.ev_overruns.eq(self.stb_commit & busy)

        cmd = self.stb_cmd_data
        m.d.sync += [self.join.eq(self.stb_cmd & cmd[_F["JOIN"]]), self.join_seq.eq(nxt),
                     self.skip.eq(self.stb_cmd & cmd[_F["SKIP"]]),
                     self.gap_wait.eq(self.ctl_gap_wait)]
        self._recovery(m, busy, nxt)
        return m

    def _recovery(self, m, busy, nxt):
        """Stale flag, SNAPSHOT_NEEDED, the latest gap report and the counters."""
        stale, need_snap = self.stale, Signal()
        with m.If(self.stb_cmd & self.stb_cmd_data[_F["CLEAR_STALE"]]):
            m.d.sync += [stale.eq(0), need_snap.eq(0)]
        with m.Else():
            with m.If(self.report.valid):
                m.d.sync += [stale.eq(1), self.st_gap_first.eq(self.report.payload.first),
                             self.st_gap_count.eq(self.report.payload.count)]
            with m.If(stale & self.overflow.any()):
                m.d.sync += need_snap.eq(1)
            # a book may hold a corrupted message, or miss a sequenced one: only a
            # snapshot makes it exact
            with m.If(self.bad_frame | self.book_lost):
                m.d.sync += [stale.eq(1), need_snap.eq(1)]
        m.d.comb += [self.st_state.eq(Cat(busy, self.waiting, stale, need_snap)),
                     self.st_next_seq.eq(nxt),
                     self.st_stale.as_value().eq(stale.replicate(min(self.slots, 32 * regs.STALE_WORDS)))]
        m.d.sync += [self.ev_gaps.eq(self.report.valid), self.ev_messages.eq(self.inj_ev[0]),
                     self.ev_dup_messages.eq(self.inj_ev[1]),
                     self.ev_stale_overflows.eq((stale & self.overflow[0]) +
                                                (stale & self.overflow[1]))]
