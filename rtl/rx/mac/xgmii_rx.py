"""XGMII receive MAC: input register, frame logic, registered realigned output.

Why this shape: every cycle of MAC latency is tick-to-trade latency, so the raw
XGMII word is registered once (its lane decode and the CRC data terms computed before
that register), the frame logic (stage A) works on that register, and the output
stage (realign.py) registers the beat. A frame byte on xgmii_d in cycle t is on `out`
in cycle t + 2 (t + 3 for the upper half of a lane-4 frame's beat, which waits for the
next beat). Frames leave realigned to lane 0: byte o in beat o // 8, lane o % 8, so
the UDP parser reads its fields at fixed positions; the 4 FCS bytes are forwarded.
The frame's `last` beat, with `bad`, trails its final data beat by one cycle when the
FCS decides the verdict (realign.py): the FCS compare is registered in stage A and
selected in the output stage, so no cycle holds the whole CRC check.

Rules (the reference model, tickwire/model/xgmii.py, follows the same ones):
  * A frame starts at /S/ in lane 0 or 4 followed by 55x6 D5 (data characters).
    A /S/ in lane 0/4 seen outside a frame with a wrong preamble counts a ctrl error
    (no output) unless another event is reported in the same beat.
  * Any control character inside a frame ends it in that beat: /T/ is the normal
    end, anything else (/E/, idle, a new /S/, ...) makes the frame bad (ctrl error).
  * A frame that would exceed `ctl_max_len` bytes (FCS included) is cut at max_len
    bytes and ended at once with last+bad; the rest is ignored until the next /S/.
  * One counter event per frame, priority oversize, ctrl, runt (< 64 bytes), FCS.
    Events pulse (registered) three cycles after the input beat that ended the frame
    (counters need no low latency, and this keeps the CRC check off the counter adders).
  * ctl_max_len is sampled at each /S/ (a change applies from the next frame).
"""
from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ...layouts import MacBeat, Timestamp
from ...regmap.binding import register_members
from . import regs
from .crc32 import INIT, RESIDUE, data_term, data_term_const, state_term, state_term_const
from .realign import realign

START, TERM, PRE, SFD = 0xFB, 0xFD, 0x55, 0xD5
MIN_FRAME = 64
NS_PER_SEC = 1_000_000_000
#: crc_cont's state side on a lane-4 first beat: INIT after 4 bytes (the frame's), less
#: the data term of the preamble's lanes 0..3 (55 55 55 D5), which the data term holds.
#: By linearity, data_term(pre | frame) = data_term(pre | 0) ^ data_term(0 | frame).
PRE4_STATE = state_term_const(INIT, 4) ^ data_term_const(0xD5555555, 8)


class XgmiiRx(wiring.Component):
    registers = regs.BLOCK

    def __init__(self, ts_offset_ns=0):
        if not 0 <= ts_offset_ns < NS_PER_SEC:
            raise ValueError("ts_offset_ns must be in 0..999999999")
        self.ts_offset_ns = ts_offset_ns
        super().__init__({
            "xgmii_d": In(64), "xgmii_c": In(8), "now": In(Timestamp),
            "out": Out(stream.Signature(MacBeat, always_ready=True)),
            **register_members(self.registers),
        })

    def _decode(self, m):
        """Decode of the raw word (combinational, before the register): the word, the
        first control lane from lane 0 and from lane 4 (and whether it is /T/), starts
        in lane 0/4 and whether their preamble (or a lane-4 start's second word) is good."""
        d, c = self.xgmii_d, self.xgmii_c

        def lane(i):
            return d[8 * i:8 * i + 8]

        def data_is(i, v):
            return ~c[i] & (lane(i) == v)

        def all_of(terms):
            out = Const(1)
            for t in terms:
                out = out & t
            return out

        is_t = [c[i] & (lane(i) == TERM) for i in range(8)]
        s0 = c[0] & (lane(0) == START)
        s4 = c[4] & (lane(4) == START)
        start0_ok = s0 & all_of(data_is(i, PRE) for i in range(1, 7)) & data_is(7, SFD)
        start4_ok = s4 & all_of(data_is(i, PRE) for i in range(5, 8))
        pre4_ok = all_of(data_is(i, PRE) for i in range(3)) & data_is(3, SFD)
        k0, t0 = Signal(range(9)), Signal()      # first control lane from 0, is it /T/
        n4, t4 = Signal(range(5)), Signal()      # first control lane from 4, minus 4; /T/?
        m.d.comb += [k0.eq(8), n4.eq(4)]
        for i in reversed(range(8)):
            with m.If(c[i]):
                m.d.comb += [k0.eq(i), t0.eq(is_t[i])]
                if i >= 4:
                    m.d.comb += [n4.eq(i - 4), t4.eq(is_t[i])]
        return {"d": d, "k0": k0, "t0": t0, "n4": n4, "t4": t4, "s0": s0, "s4": s4,
                "e0": c.any(), "e4": c[4:8].any(),   # a control character ends the frame
                "start0_ok": start0_ok, "start4_ok": start4_ok, "pre4_ok": pre4_ok}

    def _now_adjusted(self, m):
        """Receive time minus the fixed offset, computed before the register too."""
        off = self.ts_offset_ns
        now_adj = Signal(Timestamp)
        with m.If(self.now.ns >= off):
            m.d.comb += [now_adj.ns.eq(self.now.ns - off), now_adj.sec.eq(self.now.sec)]
        with m.Else():
            m.d.comb += [now_adj.ns.eq(self.now.ns + (NS_PER_SEC - off)),
                         now_adj.sec.eq(self.now.sec - 1)]
        return now_adj

    def _crc_data_term(self, m):
        """The data's share of the CRC over the beat's bytes before its first control
        character, the later lanes taken as zero bytes, computed before the register.
        Why one term (crc32.py): with the tail zeroed, k frame bytes leave F^(8-k) of
        their CRC, so one 64-bit XOR network serves every byte count and both start
        lanes. It was twelve (1..8 bytes from lane 0, 1..4 from lane 4): ~1,800 LUT4 a
        port, each data bit fanned out to ~190 of them (the lab route's worst block)."""
        d, c = self.xgmii_d, self.xgmii_c
        # A signal, not an expression: the XOR network reads each bit ~16 times, and an
        # expression is re-emitted at every read (the Verilog grew by ~250 k lines a
        # port: 7 MB, most of the core's 18 MB of simulation Verilog).
        masked = Signal(64, name="crc_masked")
        m.d.comb += masked.eq(Cat(*(d[8 * i:8 * i + 8] & (~c[:i + 1].any()).replicate(8)
                                    for i in range(8))))
        dt, dt_r = Signal(32, name="crc_dt"), Signal(32, name="crc_dt_r")
        m.d.comb += dt.eq(data_term(masked, 8))
        m.d.sync += dt_r.eq(dt)
        return dt_r

    def _fcs_match(self, m, crc_cont, k0):
        """The FCS compare for every byte count k of a final beat (bytes before the
        first control lane, lane-4 preamble included), registered, and the verdict
        selected from those registers one cycle later (`fcs_ok`). crc_cont after k
        bytes and 8 - k zero bytes is F^(8-k)(CRC): a good frame leaves F^(8-k)(RESIDUE)."""
        match = Signal(9)
        for k in range(9):
            m.d.comb += match[k].eq(crc_cont == state_term_const(RESIDUE, 8 - k))
        match_r, k_r = Signal(9), Signal(4)
        m.d.sync += [match_r.eq(match), k_r.eq(k0)]
        fcs_ok = Signal()
        m.d.comb += fcs_ok.eq(match_r.bit_select(k_r, 1))
        return fcs_ok

    def _events(self, m, fcs_ok, frame_end, kind, total, start_err):
        """Stage A's event (one per beat) is registered, the FCS decides it a cycle later,
        and the pulse is registered again: three cycles after the input beat."""
        end_r, kind_r, start_r = Signal(), Signal(2), Signal()
        total_r = Signal(16)
        m.d.sync += [end_r.eq(frame_end), kind_r.eq(kind), start_r.eq(start_err),
                     total_r.eq(total)]
        OVER, CTRL, RUNT, TERM = range(4)
        events = (self.ev_frames_ok, self.ev_bytes_ok, self.ev_fcs_errors, self.ev_ctrl_errors,
                  self.ev_runts, self.ev_oversize)
        m.d.sync += [ev.eq(0) for ev in events]
        with m.If(end_r):
            with m.Switch(kind_r):
                with m.Case(OVER):
                    m.d.sync += self.ev_oversize.eq(1)
                with m.Case(CTRL):
                    m.d.sync += self.ev_ctrl_errors.eq(1)
                with m.Case(RUNT):
                    m.d.sync += self.ev_runts.eq(1)
                with m.Case(TERM):
                    with m.If(fcs_ok):
                        m.d.sync += [self.ev_frames_ok.eq(1), self.ev_bytes_ok.eq(total_r)]
                    with m.Else():
                        m.d.sync += self.ev_fcs_errors.eq(1)
        with m.Elif(start_r):
            m.d.sync += self.ev_ctrl_errors.eq(1)

    def elaborate(self, platform):
        m = Module()
        dec = self._decode(m)
        now_adj = self._now_adjusted(m)
        dt_r = self._crc_data_term(m)
        # ---- the input register ----
        r = {name: Signal.like(sig, name=f"{name}_r") for name, sig in dec.items()}
        now_r = Signal(Timestamp)
        m.d.sync += [r[n].eq(v) for n, v in dec.items()]
        m.d.sync += now_r.eq(now_adj)

        # ---- stage A: frame state on the input register ----
        st_pre4 = Signal()           # state PRE4: the /S/ was in lane 4, its SFD comes next
        st_data = Signal()           # state DATA (neither: IDLE)
        first_r = Signal()
        mode4 = Signal()             # the frame started in lane 4 (set at its /S/)
        count = Signal(16)           # frame bytes forwarded before this beat
        room = Signal(16)            # max_len - count (max_len sampled at the /S/)
        crc_r = Signal(32)
        ts_r = Signal(Timestamp)

        in_pre4 = st_pre4
        active = st_data | (in_pre4 & r["pre4_ok"])
        first = in_pre4 | first_r
        term = Mux(in_pre4, r["t4"], r["t0"])
        n = Signal(4)                # frame bytes in this beat before any control char
        m.d.comb += n.eq(Mux(in_pre4, r["n4"], r["k0"]))
        room_big = room[4:] != 0     # >= 16: no beat can overflow
        ended = Mux(in_pre4, r["e4"], r["e0"])
        over = ~room_big & Mux(in_pre4, r["n4"] > room[:4], r["k0"] > room[:4])
        ctrl_err = ended & ~term
        last = ended | over

        keep = Signal(8)
        for i in range(8):
            fits = room_big | (i < room[:4])
            fits4 = room_big | (i - 4 < room[:4]) if i >= 4 else 0
            in4 = (i - 4 < r["n4"]) if i >= 4 else 0
            m.d.comb += keep[i].eq(Mux(in_pre4, in4 & fits4, (i < r["k0"]) & fits))

        # CRC register update: a beat that does not end the frame holds exactly 8 bytes,
        # or on a lane-4 first beat the preamble's last 4 (constants) and 4 frame bytes
        # from INIT: PRE4_STATE stands for both. A lane-0 frame's /S/ beat loads INIT
        # into crc_r, so no mux sits in front of the XOR trees.
        crc_cont = Signal(32)
        m.d.comb += crc_cont.eq(dt_r ^ Mux(in_pre4, PRE4_STATE, state_term(crc_r, 8)))
        fcs_ok = self._fcs_match(m, crc_cont, r["k0"])
        total = Signal(17)
        m.d.comb += total.eq(count + n)
        runt = (count[6:] == 0) & (count[:6] + n < MIN_FRAME)

        realign(m, self.out, {
            "valid": active, "data": r["d"], "keep": keep, "first": first, "end": last,
            "term": last & ~over & term, "bad": over | ctrl_err | runt, "lane4": mode4,
            "ts": Mux(in_pre4, now_r, ts_r)}, fcs_ok)

        # ---- events: one per frame ----
        kind = Mux(over, 0, Mux(ctrl_err, 1, Mux(runt, 2, 3)))
        pre4_fail = in_pre4 & ~r["pre4_ok"]
        bad_start = (r["s0"] & ~r["start0_ok"]) | (r["s4"] & ~r["start4_ok"])
        self._events(m, fcs_ok, active & last, kind, total, pre4_fail | bad_start)

        # ---- next state ----
        # A beat that does not end the frame carries 8 bytes (4 on a lane-4 first beat):
        # the counters step by constants, not by n.
        step = Mux(in_pre4, 4, 8)
        with m.If(active & ~last):
            m.d.sync += [st_data.eq(1), st_pre4.eq(0), first_r.eq(0), count.eq(count + step),
                         room.eq(room - step), crc_r.eq(crc_cont)]
            with m.If(in_pre4):
                m.d.sync += ts_r.eq(now_r)
        with m.Elif(r["start0_ok"]):
            m.d.sync += [st_data.eq(1), st_pre4.eq(0), first_r.eq(1), count.eq(0),
                         room.eq(self.ctl_max_len), ts_r.eq(now_r), crc_r.eq(INIT), mode4.eq(0)]
        with m.Elif(r["start4_ok"]):
            m.d.sync += [st_data.eq(0), st_pre4.eq(1), first_r.eq(0), count.eq(0),
                         room.eq(self.ctl_max_len), mode4.eq(1)]
        with m.Else():
            m.d.sync += [st_data.eq(0), st_pre4.eq(0), first_r.eq(0)]
        return m
