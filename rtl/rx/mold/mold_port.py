"""MoldPort: one port's MoldUDP64 parser. It checks each packet against the session,
its message count and the length of every block, and hands the well-formed messages
(with their sequence numbers) to the A/B sequencer; it never judges duplicates.

Why: duplicate judgement and the expected sequence number live after these checks
(rtl/rx/merge/), so a malformed packet costs only itself (docs/bad-input-mold.md).
- Blocks are taken in order. A block shorter than 12 bytes, or whose length is not its
  ITCH type's (a lying length field), one overrunning the payload, or one beyond the
  header's count ends the packet there: the blocks before it stand. A payload that ends
  cleanly with fewer blocks than its count is counted too (`ev_count_mismatch`).
- Heartbeats (count 0) and end-of-session packets (0xFFFF) carry no message; counted.
  Their sequence number (the next one the exchange sends) goes out as a *mark*
  (`o.mark`, a cycle after the header decision, from registers) so the sequencer can
  declare a gap only they reveal. The header's beat completes no message, and the
  next beat cannot either (a packet's first beat holds less than its header), so a
  mark never collides with a message.
- Bytes keep their UDP lanes; offsets are tracked per beat (BeatBytes), so blocks may
  straddle beats at any alignment. A block length < 12 guarantees at most one message
  completes per 8-byte beat. The header decision is taken in the beat carrying header
  byte 19; no message completes in that beat.
- The output (`o`) and the event pulses are registered: one cycle after the beat that
  completes the message. The output carries the message's relation to the sequencer's
  expected number (`SeqRel`), compared here from registers.
"""
from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ...layouts import MAX_MSG_BYTES, MergeStatus, MoldMsg, UdpBeat
from .beat_bytes import BeatBytes

HEADER_BYTES = 20
MIN_BLOCK_LEN = 12
_HEADER, _BLOCKS, _DROP = 0, 1, 2
EVENTS = ("packet", "short", "mismatch", "heartbeat", "eos", "bad_length", "overrun",
          "count_mismatch", "bad_forwarded")


def _be(bytes_):
    """Big-endian byte list -> value (first byte most significant)."""
    return Cat(*reversed(bytes_))


class MoldPort(wiring.Component):
    i: In(stream.Signature(UdpBeat, always_ready=True))
    o: Out(stream.Signature(MoldMsg, always_ready=True))
    seq: In(MergeStatus)         # the sequencer's E, E + 1, E + window (registers)
    session: In(80)              # the established session (MoldRx)
    have_session: In(1)
    locked: In(1)                # the session's start is confirmed (sequencer has E)
    est: Out(1)                  # this header would (re-)establish the session...
    est_session: Out(80)         # ...with this value (combinational, for MoldRx)
    ev: Out(len(EVENTS))         # registered event pulses, bit order EVENTS
    late_bad: In(1)              # the UDP checksum of the packet that ended last failed

    def elaborate(self, platform):
        # imported here: rtl.regmap imports this block's registers, and the decoder
        # module imports rtl.regmap (a cycle when the decoder is imported first)
        from ..itch.decoder import MSG_LENGTH
        m = Module()
        beat, valid = self.i.payload, self.i.valid
        state = Signal(2, init=_DROP)
        pos = Signal(16)            # payload bytes consumed before this beat
        bstart = Signal(17)         # payload offset of the current block's length field
        len_hi, len_lo = Signal(8), Signal(8)
        msg_seq = Signal(64)        # sequence number of the current block
        idx = Signal(16)            # index of the current block in the packet
        cnt = Signal(16)            # the header's message count
        hdr = [Signal(8, name=f"hdr{k}") for k in range(HEADER_BYTES)]
        buf = [Signal(8, name=f"buf{k}") for k in range(MAX_MSG_BYTES)]

        first = valid & beat.first
        pos0 = Mux(first, 0, pos)
        st0 = Mux(first, _HEADER, state)
        bstart0 = Mux(first, HEADER_BYTES, bstart)
        bb = BeatBytes(m, beat, valid, pos0)
        end_pos, inbeat, at, window = bb.end_pos, bb.inbeat, bb.at, bb.window

        # --- Header, decided in the beat holding byte 19.
        hdr_in, hdr_b = window(Const(0, 16), HEADER_BYTES)
        hdr_m = [Mux(hdr_in[k], hdr_b[k], hdr[k]) for k in range(HEADER_BYTES)]
        hdr_done = valid & (st0 == _HEADER) & inbeat(HEADER_BYTES - 1)
        sess_in, seq_in, cnt_in = _be(hdr_m[0:10]), _be(hdr_m[10:18]), _be(hdr_m[18:20])
        # before the start is confirmed a header of another session re-establishes it (a
        # foreign first packet must not lock the feed out); afterwards it is dropped
        differs = self.have_session & (sess_in != self.session)
        mismatch = differs & self.locked
        is_hb, is_eos = cnt_in == 0, cnt_in == 0xFFFF
        accept = ~mismatch & ~is_hb & ~is_eos
        m.d.comb += [self.est.eq(hdr_done & ~self.locked & (~self.have_session | differs)),
                     self.est_session.eq(sess_in)]
        cnt0 = Mux(hdr_done, cnt_in, cnt)
        idx0 = Mux(hdr_done, 0, idx)

        # --- Blocks.
        blk_act = valid & ((st0 == _BLOCKS) | (hdr_done & accept))
        blen = Cat(len_lo, len_hi)
        len_known = pos0 >= bstart0 + 2
        blk_end = bstart0 + 1 + blen
        completes = blk_act & len_known & (blk_end < end_pos)
        cb = Signal(18)                                  # block filling the buffer next
        m.d.comb += cb.eq(Mux(completes, bstart0 + 2 + blen, bstart0))
        idx_cb = Signal(17)
        m.d.comb += idx_cb.eq(idx0 + completes)
        in_hi, b_hi = at(cb)
        in_lo, b_lo = at(cb + 1)
        hi_val = Mux(in_hi, b_hi, len_hi)
        lo_val = Mux(in_lo, b_lo, len_lo)

        # the completing message, merged from the buffer and this beat
        cur_in, cur_b = window(bstart0 + 2, MAX_MSG_BYTES)
        data = [Mux(cur_in[k], cur_b[k], buf[k]) for k in range(MAX_MSG_BYTES)]
        type_ok = Signal(init=1)
        with m.Switch(data[0]):
            for t, n in MSG_LENGTH.items():
                with m.Case(ord(t)):
                    m.d.comb += type_ok.eq(blen == n)
        type_bad = completes & ~type_ok
        more = end_pos > cb                              # bytes at or past block cb
        extra = blk_act & ~type_bad & (idx_cb >= cnt0) & more
        bad_len = blk_act & ~type_bad & ~extra & in_lo & (Cat(lo_val, hi_val) < MIN_BLOCK_LEN)
        overrun = blk_act & ~type_bad & ~extra & ~bad_len & beat.last & more
        short_cnt = blk_act & beat.last & ~type_bad & ~more & (idx_cb < cnt0)
        emit = completes & type_ok
        # a frame the MAC (FCS) or the parser found bad at its end, after some of its
        # messages went out cut-through: the books may hold them (docs/bad-input.md)
        fwd = Signal()              # a message of this packet went out (earlier beats)
        fwd_last = Signal()         # ... of the packet that ended last (for `late_bad`,
        with m.If(valid):           # which comes before the next packet can end)
            m.d.sync += fwd.eq(~beat.last & ((fwd & ~first) | emit))
            with m.If(beat.last):
                m.d.sync += fwd_last.eq(emit | (fwd & ~first))
        bad_fwd = ((valid & beat.last & beat.bad & (emit | (fwd & ~first)))
                   | (self.late_bad & fwd_last))

        o = self.o.payload
        hdr_ok = hdr_done & ~mismatch
        mark = Signal()             # a heartbeat's/End of Session's seq, now in msg_seq
        m.d.sync += [mark.eq(hdr_ok & (is_hb | is_eos)), self.o.valid.eq(emit | mark)]
        with m.If(emit):
            m.d.sync += [o.msg.data[k].eq(data[k]) for k in range(MAX_MSG_BYTES)]
            m.d.sync += [o.msg.length.eq(blen), o.msg.feed.eq(beat.feed),
                         o.msg.rx_ts.eq(beat.ts)]
        with m.If(emit | mark):
            m.d.sync += [o.msg.seq.eq(msg_seq), o.first.eq(mark | (idx0 == 0)), o.mark.eq(mark)]
            # compared here, from registers, so the sequencer's loop has no wide compare
            s = self.seq
            m.d.sync += [o.rel.lt.eq(msg_seq < s.expected), o.rel.at.eq(msg_seq == s.expected),
                         o.rel.lt1.eq(msg_seq < s.expected1),
                         o.rel.at1.eq(msg_seq == s.expected1),
                         o.rel.far.eq(msg_seq > s.expected_w)]
        nxt_in, nxt_b = window(cb + 2, MAX_MSG_BYTES)

        # --- State updates.
        with m.If(valid):
            m.d.sync += pos.eq(end_pos)
            with m.If(st0 == _HEADER):
                m.d.sync += [hdr[k].eq(hdr_m[k]) for k in range(HEADER_BYTES)]
                m.d.sync += [state.eq(_HEADER), bstart.eq(HEADER_BYTES)]
            with m.If(hdr_done):
                m.d.sync += [state.eq(Mux(accept, _BLOCKS, _DROP)), msg_seq.eq(seq_in),
                             cnt.eq(cnt_in), idx.eq(0)]
            with m.If(blk_act):
                m.d.sync += [bstart.eq(cb), len_hi.eq(hi_val), len_lo.eq(lo_val)]
                for k in range(MAX_MSG_BYTES):
                    with m.If(nxt_in[k]):
                        m.d.sync += buf[k].eq(nxt_b[k])
                with m.If(bad_len | type_bad | extra):
                    m.d.sync += state.eq(_DROP)
            with m.If(completes):
                m.d.sync += [msg_seq.eq(Mux(hdr_done, seq_in, msg_seq) + 1), idx.eq(idx_cb)]
            with m.If(beat.last):
                m.d.sync += state.eq(_DROP)

        m.d.sync += self.ev.eq(Cat(
            first, valid & beat.last & (st0 == _HEADER) & ~hdr_done, hdr_done & differs,
            hdr_ok & is_hb, hdr_ok & is_eos, bad_len | type_bad, overrun,
            extra | short_cnt, bad_fwd))
        return m
