"""Merge feeds A and B after their MoldUDP64 checks: one expected sequence number,
duplicates discarded, and a hold buffer per port that lets the other feed fill a gap.

Why it looks like this (docs/bad-input-mold.md, issues 14 and 15):
* Duplicates are judged on messages that passed the session, count and length checks
  (MoldRx's ports), never on raw packets, so a bad packet costs only itself.
* Skew: real A and B lines are microseconds apart and either can lead. When a feed
  shows a gap, its later messages wait in its hold buffer (block RAM, `depth`
  messages, CoreConfig.merge_depth) for the other feed's copy; held messages are
  released in sequence at one per cycle. Only when the hold window (registers
  hold_cycles, hold_packets) passes without progress is the range a gap: counted and
  reported on `gap` for the recovery path.
* A message next in sequence passes with two registers and nothing else (no added
  cycle when neither feed loses anything; the second register takes the output mux off
  the decision's cycle, Sequencer._output).
* A jump of more than `jump_window` sequence numbers needs confirmation (Sequencer).
* 156.25 MHz: the Sequencer decides on one-bit flags compared a cycle ahead; a jump
  of E (a gap, a confirmed jump, a JOIN) costs one bubble cycle (live messages then
  wait in the hold buffers).

Parts: a Sequencer (rtl/rx/merge/sequencer.py), one HoldBuffer per port and one for
the injection (rtl/rx/merge/hold_buffer.py: key and body FIFOs, the body read a cycle
behind the sequencer's pop). The recovery path's ports (rtl/rx/inject/ InjectWindow, issue 14; all
tie off at 0 to plain A/B merging):
* `inject`: retransmitted messages, in sequence. A small FIFO (the host can queue a
  fill ahead of E without polling per message) whose head is a third hold-buffer head,
  judged like held messages (below E discarded, E delivered, above E waits; no jump
  rule).
* `raw`: snapshot messages, delivered unsequenced when nothing else goes out.
* `gap_wait`/`skip`/`report`/`waiting`: an expired hold window reports the gap and
  waits for the fill (or `skip`) instead of declaring it.
* `join`/`join_seq`: late join, E set to join_seq.
"""
from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ...layouts import GapEvent, MergeStatus, MoldMsg, RawMsg
from ...regmap.binding import register_members
from .hold_buffer import HoldBuffer
from .sequencer import EVENTS, Sequencer
from . import regs

def connect_mold(m, mold, merge):
    """MoldRx -> FeedMerge: both ports' checked messages, and the handshake between the
    session and the sequencer (E for MoldPort's flags; RESET; before the start, each
    port's session flush and whether both ports' sessions agree). One place, so the
    core and every test chain wire it the same."""
    wiring.connect(m, mold.msg_a, merge.a)
    wiring.connect(m, mold.msg_b, merge.b)
    m.d.comb += [mold.seq.eq(merge.status), merge.restart.eq(mold.restart),
                 merge.flush.eq(mold.flush), merge.same.eq(mold.same)]


#: Injected messages buffered in front of the sequencer (the host sends in sequence).
INJECT_DEPTH = 16


class FeedMerge(wiring.Component):
    registers = regs.BLOCK
    #: `o` is the Sequencer's output register: the core adds no stage slice after it.
    registered_output = True

    def __init__(self, depth=2048, jump_window=2048):
        self.depth, self.jump_window = depth, jump_window
        super().__init__({
            "a": In(stream.Signature(MoldMsg, always_ready=True)),
            "b": In(stream.Signature(MoldMsg, always_ready=True)),
            "o": Out(stream.Signature(RawMsg, always_ready=True)),
            "gap": Out(stream.Signature(GapEvent, always_ready=True)),
            "status": Out(MergeStatus),     # for MoldRx's mold.* registers
            "restart": In(1),               # new session (MoldRx)
            "flush": In(2), "same": In(1),  # sessions before the start (MoldRx, Sequencer)
            "inject": In(stream.Signature(MoldMsg)),    # host injection (recovery)
            # recovery controls (rtl/rx/inject/InjectWindow, see Sequencer); tie off at 0
            "raw": In(stream.Signature(RawMsg)),
            "gap_wait": In(1), "skip": In(1), "join": In(1), "join_seq": In(64),
            "report": Out(stream.Signature(GapEvent, always_ready=True)),
            "waiting": Out(1), "inj_ev": Out(2),
            "pause": In(1),         # the book's queue is nearly full (Sequencer)
            **register_members(self.registers),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.seq = seq = Sequencer(self.jump_window)
        # depth - 2 + HoldHead's two registers: `depth` messages, as the model keeps
        bufs = [HoldBuffer(self.depth - 2), HoldBuffer(self.depth - 2), HoldBuffer(INJECT_DEPTH)]
        m.submodules.hold_a, m.submodules.hold_b, m.submodules.hold_i = bufs
        for p, buf in enumerate(bufs):
            wiring.connect(m, buf.r, seq.head[p])
            m.d.comb += [buf.load.eq(seq.loads[p]), seq.body[p].eq(buf.body),
                         buf.clear.eq(self.restart if p == 2 else seq.clear[p])]
        for p, i in enumerate((self.a, self.b)):
            wiring.connect(m, seq.push[p], bufs[p].w)
            m.d.comb += [seq.live[p].valid.eq(i.valid), seq.live[p].payload.eq(i.payload)]
        wiring.connect(m, wiring.flipped(self.inject), bufs[2].w)
        wiring.connect(m, seq.o, wiring.flipped(self.o))
        wiring.connect(m, seq.gap, wiring.flipped(self.gap))
        wiring.connect(m, wiring.flipped(self.raw), seq.raw)
        wiring.connect(m, seq.report, wiring.flipped(self.report))
        m.d.comb += [seq.gap_wait.eq(self.gap_wait), seq.skip.eq(self.skip),
                     seq.join.eq(self.join), seq.join_seq.eq(self.join_seq),
                     self.waiting.eq(seq.waiting), self.inj_ev.eq(seq.inj_ev),
                     seq.pause.eq(self.pause)]
        m.d.comb += [self.status.eq(seq.status), seq.restart.eq(self.restart),
                     seq.flush.eq(self.flush), seq.same.eq(self.same),
                     seq.hold_cycles.eq(self.ctl_hold_cycles),
                     seq.hold_packets.eq(self.ctl_hold_packets),
                     seq.hold_both.eq(self.ctl_hold_both)]
        ev = dict(zip(EVENTS, seq.ev))
        m.d.comb += [self.ev_overflow_a.eq(ev["overflow_a"]), self.ev_overflow_b.eq(ev["overflow_b"]),
                     self.ev_held.eq(ev["held_a"] + ev["held_b"]),
                     self.ev_jump_drops.eq(ev["jump_drop_a"] + ev["jump_drop_b"]
                                           + ev["far_held_a"] + ev["far_held_b"]),
                     self.ev_hold_timeouts.eq(ev["timeout"]), self.ev_jumps.eq(ev["jump"]),
                     self.ev_dup_discard_a.eq(seq.dup[0]), self.ev_dup_discard_b.eq(seq.dup[1]),
                     self.ev_dup_discard_msgs.eq(seq.dup[0] + seq.dup[1])]
        return m
