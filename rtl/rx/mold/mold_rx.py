"""MoldUDP64 receive: one MoldPort parser per feed, the shared session, and the mold.*
registers (the sequence counters come from the A/B sequencer, rtl/rx/merge/).

Why it looks like this: each port's packets are checked (session, message count,
every block length) before anything judges duplicates, so a malformed or foreign
packet costs only itself (docs/bad-input-mold.md).
Sessions (issue 15: one foreign first packet must not lock the feed out): until the
sequencer has confirmed the session's start (`seq.started`), each port follows the
session of its own latest header; a header of another session on a port replaces it
there and clears what that port held (`flush`). The sequencer confirms a start across
ports only when both ports' sessions agree (`same`), and reports whose session won
(`seq.start_port`); that session is then locked and packets of any other are dropped
(session_mismatch counts every header unlike its port's session). cmd RESET forgets
the session and `restart` tells the sequencer to forget E and everything held.
Outputs (`msg_a`, `msg_b`) are registered in the ports.
"""
from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ...layouts import MergeStatus, MoldMsg, UdpBeat
from ...regmap.binding import register_members
from .mold_port import EVENTS, MoldPort
from . import regs

#: Bit of mold.cmd that resets the session (declared in regs.py).
RESET = regs.BLOCK.reg("cmd").field("RESET").offset
_EV_REG = {"packet": "packets", "short": "short_packets", "mismatch": "session_mismatch",
           "heartbeat": "heartbeats", "eos": "end_of_session", "bad_length": "bad_lengths",
           "overrun": "overruns", "count_mismatch": "count_mismatch",
           "bad_forwarded": "bad_forwarded"}


class MoldRx(wiring.Component):
    registers = regs.BLOCK

    def __init__(self):
        super().__init__({
            "a": In(stream.Signature(UdpBeat, always_ready=True)),
            "b": In(stream.Signature(UdpBeat, always_ready=True)),
            "msg_a": Out(stream.Signature(MoldMsg, always_ready=True)),
            "msg_b": Out(stream.Signature(MoldMsg, always_ready=True)),
            "seq": In(MergeStatus),        # from the sequencer
            "restart": Out(1),             # RESET: the sequencer starts over
            "flush": Out(2),               # before the start: a port's session changed
            "same": Out(1),                # both ports follow the same session (registered)
            "bad_fwd": Out(1),             # a bad frame's messages went out (registered)
            "late_bad": In(2),             # per port: UdpRx.csum_bad
            **register_members(self.registers),
        })

    def elaborate(self, platform):
        m = Module()
        ports = [MoldPort(), MoldPort()]
        m.submodules.port_a, m.submodules.port_b = ports
        have_session, session = Signal(), Signal(80)       # shown in the status; locked
        locked = Signal()
        psess = [Signal(80, name=f"psess_{p}") for p in "ab"]  # each port's, before the lock
        phave = [Signal(name=f"phave_{p}") for p in "ab"]
        # each port's compare target (Mux(locked, session, psess)) and its have flag, in
        # registers loaded with their next values: the header's session compare starts
        # at a register instead of behind the `locked` mux (156.25 MHz, issue 13)
        tsess = [Signal(80, name=f"tsess_{p}") for p in "ab"]
        thave = [Signal(name=f"thave_{p}") for p in "ab"]
        for p, (i, o) in enumerate(((self.a, self.msg_a), (self.b, self.msg_b))):
            wiring.connect(m, wiring.flipped(i), ports[p].i)
            wiring.connect(m, ports[p].o, wiring.flipped(o))
            m.d.comb += [ports[p].session.eq(tsess[p]), ports[p].have_session.eq(thave[p]),
                         ports[p].locked.eq(locked),
                         ports[p].seq.eq(self.seq), ports[p].late_bad.eq(self.late_bad[p]),
                         ports[p].tgt.eq(self.seq.claim_tgt1 if p else self.seq.claim_tgt0),
                         ports[p].other_seq.eq(ports[1 - p].o.payload.msg.seq)]
        # SeqRel c_same of B's message: A's message of the same cycle has its seq (both
        # load from next_seq on the same edge; read only when both are valid). Here, not
        # in MoldPort: the sequencer reads B's alone (Sequencer._claim)
        same_r = Signal(name="c_same_b")
        m.d.sync += same_r.eq(ports[0].next_seq == ports[1].next_seq)
        m.d.comb += self.msg_b.payload.rel.c_same.eq(same_r)
        reset = self.stb_cmd & self.stb_cmd_data[RESET]
        est = [ports[p].est for p in (0, 1)]
        # a header decided before the lock: its port's session becomes the header's. When
        # it does not re-establish (`est`) it equals that session already, so psess and
        # phave load without the compare (same values as loading on `est`)
        hnew = [ports[p].hdr_done & ~locked for p in (0, 1)]
        lock_now = self.seq.started & ~locked & (phave[0] | phave[1])
        won = Mux((self.seq.start_port & phave[1]) | ~phave[0], psess[1], psess[0])
        with m.If(reset):
            m.d.sync += [have_session.eq(0), session.eq(0), locked.eq(0),
                         *[x.eq(0) for x in phave + thave]]
        with m.Elif(lock_now):
            # (a JOIN before any header: the first header's session is locked a cycle
            # after it is seen)
            m.d.sync += [locked.eq(1), have_session.eq(1), session.eq(won),
                         *[x.eq(won) for x in tsess], *[x.eq(1) for x in thave]]
        with m.Else():
            for p in (0, 1):
                with m.If(hnew[p]):
                    m.d.sync += [phave[p].eq(1), psess[p].eq(ports[p].est_session),
                                 thave[p].eq(1), tsess[p].eq(ports[p].est_session)]
                with m.If(est[p]):
                    m.d.sync += [have_session.eq(1), session.eq(ports[p].est_session)]
        m.d.sync += [self.restart.eq(reset),
                     *[self.flush[p].eq(est[p] & phave[p] & ~reset) for p in (0, 1)],
                     self.same.eq(phave[0] & phave[1] & (psess[0] == psess[1]))]

        ev_a, ev_b = ports[0].ev, ports[1].ev
        for k, name in enumerate(EVENTS):
            m.d.comb += getattr(self, "ev_" + _EV_REG[name]).eq(ev_a[k] + ev_b[k])
        bf = EVENTS.index("bad_forwarded")
        m.d.comb += self.bad_fwd.eq(ev_a[bf] | ev_b[bf])
        pk = EVENTS.index("packet")
        s = self.seq
        m.d.comb += [
            self.ev_packets_a.eq(ev_a[pk]), self.ev_packets_b.eq(ev_b[pk]),
            self.ev_messages.eq(s.delivered), self.ev_dup_messages.eq(s.dup_n),
            self.ev_dup_packets.eq(s.dup_first), self.ev_gaps.eq(s.gap),
            self.ev_gap_messages.eq(s.gap_len),
            self.st_expected_seq.eq(s.expected),
            self.st_session_lo.eq(session[:64]),
            self.st_session_hi.eq(Cat(session[64:80], have_session)),
        ]
        with m.If(s.gap):
            m.d.sync += [self.st_last_gap_first.eq(s.gap_first), self.st_last_gap_len.eq(s.gap_len)]
        return m
