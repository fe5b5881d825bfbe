"""Merge the UDP payload streams of port A and port B into the one MoldUDP64 stage.

Feeds A and B arrive on two 10GbE ports, each with its own MAC and UDP parser, and
neither can be back-pressured. MoldUDP64 takes one packet at a time, so this stage
forwards whole packets, in the order their first beats arrived (the order the
reference model uses), and discards trailing copies before they cost bandwidth:

* Cut-through: a packet that starts while the merge is idle, with nothing queued on
  either port, flows straight through with no added cycle. On a healthy line that
  is the leading feed's copy.
* Queue path: any other packet passes a short delay line while its MoldUDP64 header
  is read (MoldPeek), then a FIFO. If its whole sequence range is already covered -
  delivered, in flight, or queued-and-kept on the other port (`seq + count <= max(
  expected, end of the packet being forwarded, end of the other port's last kept
  packet)`) - it is a duplicate and is discarded (counted in `ev_dup_discard_*`);
  otherwise it is kept and forwarded after what is ahead of it. Heartbeats and
  end-of-session packets are always forwarded (MoldUDP64 counts them).
* A port whose last packet was a duplicate (the trailing feed) sends its next packet
  down the queue path even when idle, so a trailing copy never holds the output
  while the leading feed's next packet waits. The delay line plus FIFO (7 cycles) is
  shorter than the idle time between two back-to-back frames' payloads (~8 beats),
  so a port that queued one packet is back to cut-through by its next.
* A FIFO that overflows drops the rest of that packet (counted in `ev_overflow_a/b`)
  and closes what it had with a last+bad beat, so MoldUDP64 sees a truncated
  packet rather than spliced data. Two feeds drifting at full line rate with loss
  and noise do not overflow (tests/test_feed_merge.py).

Parts, one per file: a DuplicateJudge and a PortQueue (delay line + FIFO) per port,
the MergeArbiter that picks the output, and the ForwardTracker that reads the output's
headers for the judges. This component only wires them. A hold buffer (skew-tolerant
A/B arbitration) replaces the PortQueues behind the same stream ports.

Latency cost: a packet that arrives while the other feed's copy of something newer
is still being judged or forwarded waits for it (a gap fill, or feeds within a few
cycles of each other); the bench reports the distribution on a faulty A/B feed.
"""
from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ...layouts import UdpBeat
from .arbiter import MergeArbiter
from .judge import DELAY, DuplicateJudge
from .queue import PortQueue
from .tracker import ForwardTracker
from ...regmap.binding import register_members
from . import regs


class FeedMerge(wiring.Component):
    registers = regs.BLOCK

    def __init__(self, depth=512):
        self.depth = depth
        super().__init__({
            "a": In(stream.Signature(UdpBeat, always_ready=True)),
            "b": In(stream.Signature(UdpBeat, always_ready=True)),
            "o": Out(stream.Signature(UdpBeat, always_ready=True)),
            "expected": In(64),            # MoldUDP64's next expected sequence number
            **register_members(self.registers),
        })

    def elaborate(self, platform):
        m = Module()
        ins = [self.a, self.b]
        m.submodules.arbiter = arb = MergeArbiter()
        m.submodules.tracker = trk = ForwardTracker()
        wiring.connect(m, arb.o, wiring.flipped(self.o))
        m.d.comb += [trk.o.valid.eq(self.o.valid), trk.o.payload.eq(self.o.payload),
                     trk.expected.eq(self.expected), trk.busy.eq(arb.busy),
                     trk.from_queue.eq(arb.from_queue)]
        judges = [DuplicateJudge(DELAY) for _ in ins]
        queues = [PortQueue(DELAY, self.depth) for _ in ins]
        m.submodules.judge_a, m.submodules.judge_b = judges
        m.submodules.queue_a, m.submodules.queue_b = queues
        for p, (i, judge, queue) in enumerate(zip(ins, judges, queues)):
            m.d.comb += [arb.live[p].valid.eq(i.valid), arb.live[p].payload.eq(i.payload),
                         judge.i.valid.eq(i.valid), judge.i.payload.eq(i.payload),
                         judge.bypass.eq(arb.bypass[p]), judge.base.eq(trk.base),
                         judge.prior.eq(trk.prior), judge.judge_ok.eq(trk.judge_ok),
                         judge.new_session.eq(trk.new_session),
                         judge.other_kept.eq(judges[1 - p].kept_end),
                         queue.discard.eq(judge.discard), queue.discard_tag.eq(judge.discard_tag),
                         arb.line_busy[p].eq(queue.busy), arb.line_live[p].eq(queue.live),
                         arb.lagging[p].eq(judge.lagging),
                         (self.ev_overflow_a, self.ev_overflow_b)[p].eq(queue.overflow),
                         (self.ev_dup_discard_a, self.ev_dup_discard_b)[p].eq(judge.dup)]
            wiring.connect(m, judge.queue, queue.i)
            wiring.connect(m, queue.o, arb.queue[p])
        m.d.comb += self.ev_dup_discard_msgs.eq(judges[0].dup_msgs + judges[1].dup_msgs)
        return m
