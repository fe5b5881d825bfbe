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

Pipelined for 156.25 MHz (issue 13): three stages, each from registers.
- A (`a_*` -> `f_*`): per beat, from the input alone: the packet's first lane s (bytes
  keep their UDP lanes, so payload offset p sits in beat (p + s) // 8, lane (p + s) % 8
  of the packet), the beat index, and for every lane l where a block length field could
  start, where the *next* one would then start (a 17-bit add per lane, precomputed),
  and each lane read as an ITCH type byte (known? its length).
- F (framer, `f_*` -> `m_*`): a remaining-beats counter (`dist`) and the lane of the
  next length field; in its beat the precomputed candidate of that lane is taken (a
  mux, no arithmetic in the loop). Blocks are at least 14 bytes, so one length field
  starts per beat. Header bytes are picked at their (beat, lane) into `hdr`; the new
  and the open message's bytes are rotated to message order with their buffer enables.
- M (checks and output, `m_*` -> `o`, `ev`): header decision (session, count), block
  checks, the message buffer; `o` and `ev` are registered.
So everything leaves 2 cycles later than in the unpipelined parser, for every message
and mark alike: a message is on `o` 3 cycles after the input beat carrying its last
byte, a mark 4 cycles after the beat carrying header byte 19, and `est` is raised 2
cycles after that beat (both ports alike, so the session tie rule is unchanged).
`late_bad` (5 cycles after UdpRx's input beat, i.e. 4 after ours) still finds the
packet that ended last in `fwd_last` (written 3 cycles after its last beat).
The output carries the message's relation to the sequencer's expected number
(`SeqRel`), compared in the cycle `o` is registered, as 16-bit slices.
Bytes of `o.msg.data` past the message's length are unspecified, and so are a mark's
`msg.data`, `length`, `feed` and `rx_ts` (the sequencer never delivers a mark).
"""
from types import SimpleNamespace

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ...layouts import MAX_MSG_BYTES, MergeStatus, MoldMsg, UdpBeat

HEADER_BYTES = 20
MIN_BLOCK_LEN = 12
_HEADER, _BLOCKS, _DROP = 0, 1, 2
EVENTS = ("packet", "short", "mismatch", "heartbeat", "eos", "bad_length", "overrun",
          "count_mismatch", "bad_forwarded")
_S = 7                      # candidate index of a length field straddling two beats
_DIST = 14                  # beats to the next length field (65,535-byte blocks)


def _take(ns, names):
    """The named stage outputs of a SimpleNamespace, in order."""
    return tuple(getattr(ns, n) for n in names.split())


def _be(bytes_):
    """Big-endian byte list -> value (first byte most significant)."""
    return Cat(*reversed(bytes_))


def _rotate(m, lanes, shift, name):
    """Lanes rotated so that element j is lane (j + shift) mod 8 (8:1 muxes)."""
    out = [Signal(8, name=f"{name}{j}") for j in range(8)]
    for j in range(8):
        with m.Switch(shift):
            for v in range(8):
                with m.Case(v):
                    m.d.comb += out[j].eq(lanes[(j + v) % 8])
    return out


def _cmp(a, b):
    """(a < b, a == b) of two 64-bit values, as four 16-bit slices (short carry chains)."""
    lt = [a[16 * k:16 * k + 16] < b[16 * k:16 * k + 16] for k in range(4)]
    eq = [a[16 * k:16 * k + 16] == b[16 * k:16 * k + 16] for k in range(4)]
    less = lt[0]
    for k in range(1, 4):
        less = lt[k] | (eq[k] & less)
    return less, eq[0] & eq[1] & eq[2] & eq[3]


class MoldPort(wiring.Component):
    i: In(stream.Signature(UdpBeat, always_ready=True))
    o: Out(stream.Signature(MoldMsg, always_ready=True))
    seq: In(MergeStatus)         # the sequencer's E, E + 1, E + window (registers)
    tgt: In(64)                  # this port's claim target (registers, Sequencer._claim)
    other_seq: In(64)            # the other port's o.msg.seq
    next_seq: Out(64)            # the seq of the message o shows next (a register)
    session: In(80)              # the established session (MoldRx)
    have_session: In(1)
    locked: In(1)                # the session's start is confirmed (sequencer has E)
    est: Out(1)                  # this header would (re-)establish the session...
    est_session: Out(80)         # ...with this value (combinational, for MoldRx)
    hdr_done: Out(1)             # a header is decided this cycle (combinational)
    ev: Out(len(EVENTS))         # registered event pulses, bit order EVENTS
    late_bad: In(1)              # the UDP checksum of the packet that ended last failed

    def elaborate(self, platform):
        # imported here: rtl.regmap imports this block's registers, and the decoder
        # module imports rtl.regmap (a cycle when the decoder is imported first)
        from ..itch.decoder import MSG_LENGTH
        m = Module()
        a = self._stage_a(m, MSG_LENGTH)
        f = self._stage_f(m, a)
        self._stage_m(m, f)
        return m

    def _stage_a(self, m, MSG_LENGTH):
        """A: what each lane would mean, from this beat alone (registered into f_*)."""
        # ------------------------------------------------------------ A: precompute
        beat, valid = self.i.payload, self.i.valid
        lanes = [beat.data[8 * k:8 * k + 8] for k in range(8)]
        s_new = Signal(3)                        # first kept lane of a first beat
        for lane in reversed(range(8)):
            with m.If(beat.keep[lane]):
                m.d.comb += s_new.eq(lane)
        s_hold, bidx_hold, prev7 = Signal(3), Signal(3), Signal(8)
        a_s = Mux(beat.first, s_new, s_hold)
        a_bidx = Mux(beat.first, 0, bidx_hold)
        with m.If(valid):
            m.d.sync += [s_hold.eq(a_s), prev7.eq(lanes[7]),
                         bidx_hold.eq(Mux(beat.first, 1, Mux(bidx_hold == 7, 7, bidx_hold + 1)))]

        f_valid, f_first, f_last, f_bad, f_feed = (Signal(name=f"f_{n}") for n in
                                                   ("valid", "first", "last", "bad", "feed"))
        f_data, f_keep, f_ts = Signal(64), Signal(8), Signal.like(beat.ts, name="f_ts")
        f_s, f_bidx, f_hdrbeat = Signal(3), Signal(3), Signal()
        f_init_dist, f_init_lane = Signal(_DIST), Signal(3)
        f_prev7 = Signal(8)
        c_d = [Signal(_DIST, name=f"c_d{k}") for k in range(8)]      # dist after the field
        c_here = [Signal(name=f"c_here{k}") for k in range(8)]      # next field next beat
        c_lane = [Signal(3, name=f"c_lane{k}") for k in range(8)]   # ... in this lane
        c_lt12 = [Signal(name=f"c_lt12_{k}") for k in range(8)]     # length < 12
        m.d.sync += [f_valid.eq(valid), f_first.eq(valid & beat.first), f_last.eq(beat.last),
                     f_bad.eq(beat.bad), f_feed.eq(beat.feed), f_data.eq(beat.data),
                     f_keep.eq(Mux(valid, beat.keep, 0)), f_ts.eq(beat.ts), f_s.eq(a_s),
                     f_bidx.eq(a_bidx), f_prev7.eq(prev7),
                     f_hdrbeat.eq(Mux(a_s >= 5, a_bidx == 3, a_bidx == 2)
                                  & beat.keep.bit_select((a_s + 3)[:3], 1)),
                     # the first length field: payload offset 20, beat (s + 20) // 8
                     f_init_dist.eq(Mux(a_s >= 4, 2, 1)), f_init_lane.eq(a_s + 4)]
        # each lane read as an ITCH type byte: known, and that type's length
        f_tyk = [Signal(name=f"f_tyk{k}") for k in range(8)]
        f_tyl = [Signal(6, name=f"f_tyl{k}") for k in range(8)]
        for k in range(8):
            ty = Signal(7, name=f"a_ty{k}")      # known, length
            with m.Switch(lanes[k]):
                for t, n in MSG_LENGTH.items():
                    with m.Case(ord(t)):
                        m.d.comb += ty.eq(0x40 | n)
            m.d.sync += Cat(f_tyl[k], f_tyk[k]).eq(ty)
        # a field whose high byte is in lane l (l < 7; or lane 7 of the previous beat,
        # _S) is followed by the next one at (l + 2 + length) from this beat's lane 0
        for k in range(8):
            hi, lo = (lanes[k], lanes[k + 1]) if k < 7 else (prev7, lanes[0])
            blen = Cat(lo, hi)
            x = Signal(17, name=f"a_x{k}")       # next field, counted from next beat
            m.d.comb += x.eq(blen + ((k + 2 if k < 7 else 1) - 8) % (1 << 17))
            m.d.sync += [c_d[k].eq(x[3:]), c_here[k].eq(x[3:] == 0), c_lane[k].eq(x[:3]),
                         c_lt12[k].eq(blen < MIN_BLOCK_LEN)]

        return SimpleNamespace(**{k: v for k, v in locals().items() if k not in ("self", "m")})

    def _stage_f(self, m, a):
        """F: the framer (registered into m_*)."""
        (beat, f_valid, f_first, f_last, f_bad, f_feed, f_data, f_keep, f_ts, f_s,
         f_bidx, f_hdrbeat, f_init_dist, f_init_lane, f_prev7, c_d, c_here, c_lane,
         c_lt12, f_tyk, f_tyl) = _take(a, "beat f_valid f_first f_last f_bad f_feed f_data f_keep f_ts f_s f_bidx f_hdrbeat f_init_dist f_init_lane f_prev7 c_d c_here c_lane c_lt12 f_tyk f_tyl")
        # ------------------------------------------------------------ F: framer
        fl = [f_data[8 * k:8 * k + 8] for k in range(8)]
        here = Signal()              # the next length field's high byte is in this beat
        lane = Signal(3)             # ... in this lane
        strad = Signal()             # its high byte came in an earlier beat (lane 7, or
                                     # the payload ended after it), its low byte not yet
        dist = Signal(_DIST)         # beats from the next beat to the next field
        open_ = Signal()             # a block with a known length is not complete yet
        r_cur = Signal(4)            # its first message byte: lane r_cur % 8 of beat
        mbeat = Signal(4)            # r_cur // 8 after its length's beat; beats since then
        hit = Signal()               # a length field completes in this beat
        m.d.comb += hit.eq((here & (lane != 7) & f_keep.bit_select((lane + 1)[:3], 1))
                           | (strad & f_keep[0]))
        sel = Mux(strad, _S, lane)               # the candidate of that field
        c_d_s, c_lane_s = Signal(_DIST), Signal(3)
        c_here_s, lt12_s = Signal(), Signal()
        with m.Switch(sel):
            for k in range(8):
                with m.Case(k):
                    m.d.comb += [c_d_s.eq(c_d[k]), c_here_s.eq(c_here[k]),
                                 c_lane_s.eq(c_lane[k]), lt12_s.eq(c_lt12[k])]
        blen_s = Mux(strad, Cat(fl[0], f_prev7),
                     Cat(f_data.word_select((lane + 1)[:3], 8), f_data.word_select(lane, 8)))
        r_new = Mux(strad, 1, lane + 2)          # 1..8: the new message's byte 0
        # the open block's last byte is in this beat: before the next field in its
        # beat, or in lane 7 when the next field starts the next beat
        comp = Signal()
        m.d.comb += comp.eq(open_ & Mux(here, (lane != 0) & f_keep.bit_select((lane - 1)[:3], 1),
                                        ~strad & (dist == 1) & (lane == 0) & f_keep[7]))
        hi = here & f_keep.bit_select(lane, 1)   # a new block's first byte is here
        more = hi | strad | (open_ & ~comp)      # bytes of a block not complete yet
        with m.If(f_valid):
            with m.If(f_first):
                m.d.sync += [here.eq(0), strad.eq(0), open_.eq(0), dist.eq(f_init_dist),
                             lane.eq(f_init_lane)]
            with m.Elif(hit):
                m.d.sync += [here.eq(c_here_s), strad.eq(0), open_.eq(1), dist.eq(c_d_s),
                             lane.eq(c_lane_s), r_cur.eq(r_new), mbeat.eq(1)]
            with m.Else():
                m.d.sync += [here.eq(~here & ~strad & (dist == 1)), dist.eq(dist - 1),
                             strad.eq(hi), open_.eq(open_ & ~comp),
                             mbeat.eq(Mux(mbeat == 15, 15, mbeat + 1))]

        # header bytes at their (beat, lane): byte k in beat (s + k) // 8
        hdr = [Signal(8, name=f"hdr{k}") for k in range(HEADER_BYTES)]
        hrot = _rotate(m, fl, f_s, "f_hrot")
        for k in range(HEADER_BYTES):
            with m.If(f_valid & (f_bidx == ((f_s + k) >> 3))):
                m.d.sync += hdr[k].eq(hrot[k % 8])

        # message bytes in message order: byte k of a message whose byte 0 is r (1..8)
        # lanes after its length's beat's lane 0 is lane (r + k) % 8 of beat (r + k) // 8
        rot_c = _rotate(m, fl, r_cur[:3], "f_rotc")
        rot_n = _rotate(m, fl, r_new[:3], "f_rotn")
        # the type byte (message byte 0) of the new and of the open message
        m_tyk_n, m_tyk_c = Signal(), Signal()
        m_tyl_n, m_tyl_c = Signal(6), Signal(6)
        f_ty = Cat(*(Cat(f_tyl[k], f_tyk[k]) for k in range(8)))
        m.d.sync += [Cat(m_tyl_n, m_tyk_n).eq(f_ty.word_select(r_new[:3], 7)),
                     Cat(m_tyl_c, m_tyk_c).eq(f_ty.word_select(r_cur[:3], 7))]
        m_rot_c = [Signal(8, name=f"m_rotc{j}") for j in range(8)]
        m_rot_n = [Signal(8, name=f"m_rotn{j}") for j in range(8)]
        m_en_c = Signal(MAX_MSG_BYTES)          # byte k of the open message is here
        m_en_n = Signal(MAX_MSG_BYTES)          # byte k of the new message is here
        m.d.sync += [m_rot_c[j].eq(rot_c[j]) for j in range(8)]
        m.d.sync += [m_rot_n[j].eq(rot_n[j]) for j in range(8)]
        m.d.sync += [m_en_c[k].eq(f_valid & open_ & (mbeat == ((r_cur + k) >> 3)))
                     for k in range(MAX_MSG_BYTES)]
        m.d.sync += [m_en_n[k].eq(f_valid & hit & (r_new + k < 8)) for k in range(MAX_MSG_BYTES)]

        m_valid, m_first, m_last, m_bad, m_feed = (Signal(name=f"m_{n}") for n in
                                                   ("valid", "first", "last", "bad", "feed"))
        m_ts = Signal.like(beat.ts, name="m_ts")
        m_hdrbeat, m_hit, m_hi, m_more, m_comp, m_lt12 = (
            Signal(name=f"m_{n}") for n in ("hdrbeat", "hit", "hi", "more", "comp", "lt12"))
        m_blen = Signal(16)
        m.d.sync += [m_valid.eq(f_valid), m_first.eq(f_first), m_last.eq(f_last),
                     m_bad.eq(f_bad), m_feed.eq(f_feed), m_ts.eq(f_ts),
                     m_hdrbeat.eq(f_hdrbeat), m_hit.eq(hit), m_hi.eq(hi), m_more.eq(more),
                     m_comp.eq(f_valid & comp), m_lt12.eq(lt12_s), m_blen.eq(blen_s)]

        return SimpleNamespace(**{k: v for k, v in locals().items() if k not in ("self", "m")})

    def _stage_m(self, m, f):
        """M: the header decision, block checks, message buffer, `o` and `ev`."""
        (hdr, m_valid, m_first, m_last, m_bad, m_feed, m_ts, m_hdrbeat, m_hit, m_hi,
         m_more, m_comp, m_lt12, m_blen, m_en_c, m_en_n, m_rot_c, m_rot_n, m_tyk_n,
         m_tyk_c, m_tyl_n, m_tyl_c) = _take(f, "hdr m_valid m_first m_last m_bad m_feed m_ts m_hdrbeat m_hit m_hi m_more m_comp m_lt12 m_blen m_en_c m_en_n m_rot_c m_rot_n m_tyk_n m_tyk_c m_tyl_n m_tyl_c")
        # ------------------------------------------------------------ M: checks
        state = Signal(2, init=_DROP)
        st0 = Mux(m_first, _HEADER, state)
        msg_seq = Signal(64)        # sequence number of the next message
        m.d.comb += self.next_seq.eq(msg_seq)
        seq_p1 = Signal(64)         # msg_seq + 1
        rem = Signal(16)            # the header's count minus the blocks begun
        rz = Signal()               # rem == 0
        first_msg = Signal()        # the next message is the packet's first
        blen_cur = Signal(16)       # length of the open block
        tok = Signal()              # its type byte agrees with its length
        buf = [Signal(8, name=f"buf{k}") for k in range(MAX_MSG_BYTES)]

        # --- Header, decided in the beat holding byte 19 (all of it in `hdr` now).
        hdr_done = m_valid & m_hdrbeat & (st0 == _HEADER)
        sess_in, seq_in, cnt_in = _be(hdr[0:10]), _be(hdr[10:18]), _be(hdr[18:20])
        # before the start is confirmed a header of another session re-establishes its
        # port's session (a foreign first packet must not lock the feed out, MoldRx);
        # afterwards it is dropped
        differs = self.have_session & (sess_in != self.session)
        mismatch = differs & self.locked
        is_hb, is_eos = cnt_in == 0, cnt_in == 0xFFFF
        accept = ~mismatch & ~is_hb & ~is_eos
        m.d.comb += [self.est.eq(hdr_done & ~self.locked & (~self.have_session | differs)),
                     self.est_session.eq(sess_in), self.hdr_done.eq(hdr_done)]

        # --- Blocks. `blocks`: past the header beat (registers only); the header beat
        # of an accepted packet (`acc`, behind the session compare) may hold a block's
        # first bytes but completes no message, and its block index is 0 < count.
        blocks = m_valid & ~m_first & (state == _BLOCKS)
        acc = hdr_done & accept
        data = [Mux(m_en_c[k], m_rot_c[k % 8], buf[k]) for k in range(MAX_MSG_BYTES)]
        type_bad = blocks & m_comp & ~tok
        extra = blocks & ~type_bad & m_hi & rz
        bad_len = (blocks | acc) & ~type_bad & ~extra & m_hit & m_lt12
        overrun = (blocks | acc) & ~type_bad & ~extra & ~bad_len & m_last & m_more
        short_cnt = m_last & ~m_more & ((blocks & ~type_bad & ~rz) | acc)
        emit = blocks & m_comp & tok

        # the type byte arrives before the block's last beat (blocks are >= 12 bytes)
        t_new = m_en_n[0]
        t_len = Mux(t_new, m_blen, blen_cur)
        type_ok = ~Mux(t_new, m_tyk_n, m_tyk_c) | (t_len == Mux(t_new, m_tyl_n, m_tyl_c))

        # a frame the MAC (FCS) or the parser found bad at its end, after some of its
        # messages went out cut-through: the books may hold them (docs/bad-input.md)
        fwd = Signal()              # a message of this packet went out (earlier beats)
        fwd_last = Signal()         # ... of the packet that ended last (for `late_bad`,
        with m.If(m_valid):         # which comes before the next packet can end)
            m.d.sync += fwd.eq(~m_last & ((fwd & ~m_first) | emit))
            with m.If(m_last):
                m.d.sync += fwd_last.eq(emit | (fwd & ~m_first))
        bad_fwd = ((m_valid & m_last & m_bad & (emit | (fwd & ~m_first)))
                   | (self.late_bad & fwd_last))

        o = self.o.payload
        hdr_ok = hdr_done & ~mismatch
        mark = Signal()             # a heartbeat's/End of Session's seq, now in msg_seq
        m.d.sync += [mark.eq(hdr_ok & (is_hb | is_eos)), self.o.valid.eq(emit | mark)]
        # loaded on every block completion, emitted or not (their enable is a register:
        # no fan-out behind the checks); only `o.valid` says which one was sent
        with m.If(m_comp):
            m.d.sync += [o.msg.data[k].eq(data[k]) for k in range(MAX_MSG_BYTES)]
            m.d.sync += [o.msg.length.eq(blen_cur), o.msg.feed.eq(m_feed),
                         o.msg.rx_ts.eq(m_ts)]
        own1 = Signal(64)           # o's seq + 1 (a mark's + 0): where its claim continues
        with m.If(m_comp | mark):
            m.d.sync += [o.msg.seq.eq(msg_seq), o.first.eq(mark | first_msg), o.mark.eq(mark)]
            # compared here, from registers, so the sequencer's loop has no wide compare
            s = self.seq
            lt, at = _cmp(msg_seq, s.expected)
            lt1, at1 = _cmp(msg_seq, s.expected1)
            far, _ = _cmp(s.expected_w, msg_seq)
            m.d.sync += [o.rel.lt.eq(lt), o.rel.at.eq(at), o.rel.lt1.eq(lt1),
                         o.rel.at1.eq(at1), o.rel.far.eq(far),
                         # the claim's three candidates for this cycle's target (the
                         # sequencer picks one: it may move the target this cycle)
                         o.rel.c_old.eq(msg_seq == self.tgt),
                         o.rel.c_own.eq(msg_seq == own1),
                         o.rel.c_oth.eq(msg_seq == self.other_seq),
                         own1.eq(msg_seq + ~mark)]

        # --- State updates.
        with m.If(m_valid):
            for k in range(MAX_MSG_BYTES):
                m.d.sync += buf[k].eq(Mux(m_en_n[k], m_rot_n[k % 8], data[k]))
            with m.If(m_en_n[0] | m_en_c[0]):
                m.d.sync += tok.eq(type_ok)
            with m.If(m_hit):
                m.d.sync += blen_cur.eq(m_blen)
            with m.If(st0 == _HEADER):
                m.d.sync += state.eq(_HEADER)
            with m.If(hdr_done):
                m.d.sync += [state.eq(Mux(accept, _BLOCKS, _DROP)), msg_seq.eq(seq_in),
                             seq_p1.eq(seq_in + 1), first_msg.eq(1),
                             rem.eq(cnt_in - m_hi), rz.eq(Mux(m_hi, cnt_in == 1, is_hb))]
            with m.Elif(m_hi):
                m.d.sync += [rem.eq(rem - 1), rz.eq(rem == 1)]
            with m.If(bad_len | type_bad | extra):
                m.d.sync += state.eq(_DROP)
            with m.If(blocks & m_comp):
                m.d.sync += [msg_seq.eq(seq_p1), seq_p1.eq(seq_p1 + 1), first_msg.eq(0)]
            with m.If(m_last):
                m.d.sync += state.eq(_DROP)

        m.d.sync += self.ev.eq(Cat(
            m_valid & m_first, m_valid & m_last & (st0 == _HEADER) & ~hdr_done,
            hdr_done & differs, hdr_ok & is_hb, hdr_ok & is_eos, bad_len | type_bad, overrun,
            extra | short_cnt, bad_fwd))
