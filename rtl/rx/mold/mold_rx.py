"""MoldUDP64 receive: session check, one expected sequence number for feeds A and B,
and message-block extraction into RawMsg.

Why it looks like this:
- Cut-through, zero added latency: `o` is combinational. A RawMsg is valid in the
  cycle of the beat holding the message's last byte (earlier bytes wait in a
  registered 50-byte buffer and are merged with the current beat). Messages are
  therefore delivered *before* the frame's FCS is known; a bad frame's messages
  have already gone (the MAC counts the FCS error). Low latency is the product goal.
- Arbitration: one expected sequence number E for both feeds. A message with
  seq == E is delivered and E increments per delivered message (so a packet cut
  short on A leaves a gap B's copy fills); seq < E is a duplicate. A packet whose
  first seq S > E (heartbeats and end-of-session included) reveals a gap and E = S.
  The first packet establishes the session (E = S, no gap); cmd RESET forgets it.
- Bytes keep their UDP lanes; the byte position of every lane is computed from the
  packet offset, so message blocks may straddle beats at any alignment. A block
  length < 12 (shorter than any ITCH message) drops the rest of the packet: this
  guarantees at most one message completes per 8-byte beat.
- The header decision (session, gap, heartbeat) is taken in the beat carrying header
  byte 19; no message can complete in that beat (the first ends at byte >= 33).
"""
from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ...layouts import MAX_MSG_BYTES, RawMsg, UdpBeat
from .beat_bytes import BeatBytes
from ...regmap.binding import register_members
from . import regs

HEADER_BYTES = 20
MIN_BLOCK_LEN = 12
#: Bit of mold.cmd that resets the session (declared in regs.py).
RESET = regs.BLOCK.reg("cmd").field("RESET").offset

_HEADER, _BLOCKS, _DROP = 0, 1, 2


def _be(bytes_):
    """Big-endian byte list -> value (first byte most significant)."""
    return Cat(*reversed(bytes_))


class MoldRx(wiring.Component):
    registers = regs.BLOCK

    def __init__(self):
        super().__init__({
            "i": In(stream.Signature(UdpBeat, always_ready=True)),
            "o": Out(stream.Signature(RawMsg, always_ready=True)),
            **register_members(self.registers),
        })

    def elaborate(self, platform):
        m = Module()
        beat, valid = self.i.payload, self.i.valid

        # --- Registered parser state.
        state = Signal(2, init=_DROP)
        pos = Signal(16)            # payload bytes consumed before this beat
        bstart = Signal(17)         # payload offset of the current block's length field
        len_hi = Signal(8)
        len_lo = Signal(8)
        msg_seq = Signal(64)        # sequence number of the current block
        hdr = [Signal(8, name=f"hdr{k}") for k in range(HEADER_BYTES)]
        buf = [Signal(8, name=f"buf{k}") for k in range(MAX_MSG_BYTES)]
        have_session = Signal()
        session = Signal(80)
        expected = Signal(64)
        last_gap_first = Signal(64)
        last_gap_len = Signal(64)

        first = valid & beat.first
        pos0 = Mux(first, 0, pos)
        st0 = Mux(first, _HEADER, state)
        bstart0 = Mux(first, HEADER_BYTES, bstart)
        bb = BeatBytes(m, beat, valid, pos0)
        end_pos, inbeat, at, window = bb.end_pos, bb.inbeat, bb.at, bb.window

        # --- Header: merge this beat's bytes, decide in the beat holding byte 19.
        hdr_in, hdr_b = window(Const(0, 16), HEADER_BYTES)
        hdr_m = [Mux(hdr_in[k], hdr_b[k], hdr[k]) for k in range(HEADER_BYTES)]
        hdr_done = valid & (st0 == _HEADER) & inbeat(HEADER_BYTES - 1)
        sess_in, seq_in, cnt_in = _be(hdr_m[0:10]), _be(hdr_m[10:18]), _be(hdr_m[18:20])
        mismatch = have_session & (sess_in != session)
        is_hb = cnt_in == 0
        is_eos = cnt_in == 0xFFFF
        gap = have_session & ~mismatch & (seq_in > expected)
        accept = ~mismatch & ~is_hb & ~is_eos

        # --- Blocks.
        blk_act = valid & ((st0 == _BLOCKS) | (hdr_done & accept))
        blen = Cat(len_lo, len_hi)
        len_known = pos0 >= bstart0 + 2
        blk_end = bstart0 + 1 + blen
        completes = blk_act & len_known & (blk_end < end_pos)
        cb = Signal(18)                                  # block filling the buffer next
        m.d.comb += cb.eq(Mux(completes, bstart0 + 2 + blen, bstart0))
        in_hi, b_hi = at(cb)
        in_lo, b_lo = at(cb + 1)
        hi_val = Mux(in_hi, b_hi, len_hi)
        lo_val = Mux(in_lo, b_lo, len_lo)
        bad_len = blk_act & in_lo & (Cat(lo_val, hi_val) < MIN_BLOCK_LEN)
        overrun = blk_act & beat.last & ~bad_len & (end_pos > cb)
        deliver = completes & (msg_seq == expected)

        # --- Output: buffer merged with this beat's bytes of the current block.
        o = self.o.payload
        cur_in, cur_b = window(bstart0 + 2, MAX_MSG_BYTES)
        for k in range(MAX_MSG_BYTES):
            m.d.comb += o.data[k].eq(Mux(cur_in[k], cur_b[k], buf[k]))
        m.d.comb += [self.o.valid.eq(deliver), o.length.eq(blen), o.seq.eq(msg_seq),
                     o.feed.eq(beat.feed), o.rx_ts.eq(beat.ts)]
        nxt_in, nxt_b = window(cb + 2, MAX_MSG_BYTES)

        # --- State updates.
        with m.If(valid):
            m.d.sync += pos.eq(end_pos)
            with m.If(st0 == _HEADER):
                m.d.sync += [hdr[k].eq(hdr_m[k]) for k in range(HEADER_BYTES)]
                m.d.sync += [state.eq(_HEADER), bstart.eq(HEADER_BYTES)]
            with m.If(hdr_done):
                m.d.sync += state.eq(Mux(accept, _BLOCKS, _DROP))
                m.d.sync += msg_seq.eq(seq_in)
                with m.If(~have_session):
                    m.d.sync += [have_session.eq(1), session.eq(sess_in), expected.eq(seq_in)]
                with m.If(gap):
                    m.d.sync += [expected.eq(seq_in), last_gap_first.eq(expected),
                                 last_gap_len.eq(seq_in - expected)]
            with m.If(blk_act):
                m.d.sync += [bstart.eq(cb), len_hi.eq(hi_val), len_lo.eq(lo_val)]
                for k in range(MAX_MSG_BYTES):
                    with m.If(nxt_in[k]):
                        m.d.sync += buf[k].eq(nxt_b[k])
                with m.If(bad_len):
                    m.d.sync += state.eq(_DROP)
            with m.If(completes):
                m.d.sync += msg_seq.eq(msg_seq + 1)
            with m.If(deliver):
                m.d.sync += expected.eq(expected + 1)
            with m.If(beat.last):
                m.d.sync += state.eq(_DROP)
        with m.If(self.stb_cmd & self.stb_cmd_data[RESET]):
            m.d.sync += [have_session.eq(0), session.eq(0), expected.eq(0)]

        # --- Counters and status.
        hdr_ok = hdr_done & ~mismatch
        m.d.comb += [
            self.ev_packets.eq(first),
            self.ev_packets_a.eq(first & ~beat.feed),
            self.ev_packets_b.eq(first & beat.feed),
            self.ev_messages.eq(deliver),
            self.ev_heartbeats.eq(hdr_ok & is_hb),
            self.ev_end_of_session.eq(hdr_ok & is_eos),
            self.ev_dup_packets.eq(hdr_ok & accept & have_session & (seq_in + cnt_in <= expected)),
            self.ev_dup_messages.eq(completes & ~deliver),
            self.ev_gaps.eq(hdr_done & gap),
            self.ev_gap_messages.eq(Mux(hdr_done & gap, seq_in - expected, 0)),
            self.ev_short_packets.eq(valid & beat.last & (st0 == _HEADER) & ~hdr_done),
            self.ev_overruns.eq(overrun),
            self.ev_bad_lengths.eq(bad_len),
            self.ev_session_mismatch.eq(hdr_done & mismatch),
            self.st_expected_seq.eq(expected),
            self.st_session_lo.eq(session[:64]),
            self.st_session_hi.eq(Cat(session[64:80], have_session)),
            self.st_last_gap_first.eq(last_gap_first),
            self.st_last_gap_len.eq(last_gap_len),
        ]
        return m
