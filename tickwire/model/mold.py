"""MoldUDP64 reference model: packing, the per-port packet checks and the A/B
sequencer with its hold buffer, as the gateware implements them.

Packet = session (10 ASCII bytes) + sequence number of the first message (8, BE) +
message count (2, BE; 0 = heartbeat, 0xFFFF = end of session), then message blocks
(2-byte BE length + message). Written from the MoldUDP64 1.0 spec plus the tickwire
contract in docs/bad-input-mold.md, not from the gateware.
"""
from dataclasses import dataclass, field

from .itch import LENGTHS as ITCH_LENGTHS
from .pace import NominalPace

HEADER_BYTES = 20
HEARTBEAT = 0
END_OF_SESSION = 0xFFFF
MIN_MSG = 12        # shortest ITCH 5.0 message (S, W): shorter blocks are malformed
MAX_KEPT = 50       # bytes of a message the gateware keeps (RawMsg.data)


def session_bytes(session):
    s = session.encode("ascii") if isinstance(session, str) else bytes(session)
    if len(s) > 10:
        raise ValueError("session is at most 10 bytes")
    return s.ljust(10, b" ")


def header(session, seq, count):
    return session_bytes(session) + seq.to_bytes(8, "big") + count.to_bytes(2, "big")


def packet(session, seq, messages):
    """One MoldUDP64 packet carrying `messages` (a list of bytes)."""
    body = b"".join(len(m).to_bytes(2, "big") + bytes(m) for m in messages)
    return header(session, seq, len(messages)) + body


def heartbeat(session, next_seq):
    return header(session, next_seq, HEARTBEAT)


def end_of_session(session, next_seq):
    return header(session, next_seq, END_OF_SESSION)


def pack(messages, session, first_seq, mtu=1500, msgs_per_packet=None):
    """Split messages into packets -> list of (first seq, payload bytes).

    `mtu` bounds the IPv4 datagram (20 IP + 8 UDP + payload); `msgs_per_packet`
    (if given) also caps the number of messages per packet."""
    limit = mtu - 28
    out, cur, size, seq = [], [], HEADER_BYTES, first_seq
    for m in messages:
        blk = 2 + len(m)
        if cur and (size + blk > limit or (msgs_per_packet and len(cur) >= msgs_per_packet)):
            out.append((seq, packet(session, seq, cur)))
            seq += len(cur)
            cur, size = [], HEADER_BYTES
        cur.append(bytes(m))
        size += blk
    if cur:
        out.append((seq, packet(session, seq, cur)))
    return out



COUNTERS = ("packets", "packets_a", "packets_b", "messages", "heartbeats", "end_of_session",
            "dup_packets", "dup_messages", "gaps", "gap_messages", "short_packets",
            "overruns", "bad_lengths", "session_mismatch", "count_mismatch", "bad_forwarded")
MERGE_COUNTERS = ("overflow_a", "overflow_b", "dup_discard_a", "dup_discard_b",
                  "dup_discard_msgs", "held", "hold_timeouts", "jump_drops", "jumps")

#: Defaults of the merge's control registers and build parameters (rtl/config.py).
HOLD_CYCLES = 8192
HOLD_PACKETS = 64
#: merge.hold_both: packet starts while both feeds are past the gap (0: off).
HOLD_BOTH = 4
#: Cycles a replay runs on after the input's last beat, in both engines (the model's
#: `DeviceModel.finish`, the RTL harness's drain): room for four hold windows to expire
#: one after another (a gap, then a packet held further ahead, ...) and for what they
#: release to drain through the book.
DRAIN_CYCLES = 4 * HOLD_CYCLES + 8192
HOLD_DEPTH = 2048
JUMP_WINDOW = 2048
#: The book's input queue (rtl/config.py book_fifo_depth): released held messages
#: wait while the book's nominal pace says it is nearly full (pace.py).
BOOK_DEPTH = 512
#: Cycles from a held message's release to its buffer slot taking a new message: the
#: key FIFO's pop, then its registered level (rtl/rx/merge/hold_buffer.py; FST trace).
FREE_LAG = 1
#: Cycles from the packet start that fills the hold window's packet count to E's jump
#: (the count's register, the window's `expire` register, then E's).
PKT_EXPIRE_LAG = 3
#: Cycles from the cycle that confirms the session's start to the one that loads E
#: (rtl/rx/merge/sequencer.py `_start`: `starting`, then `starting2` with the ports
#: counted and the smallest held number registered).
START_LAG = 2
#: Cycles from the hold window's last counted cycle to E's jump when `hold_cycles` run
#: out (the window's `expire` register, then E's; FST trace of the RTL).
CYCLE_EXPIRE_LAG = 2
#: Cycles after E jumps (a gap) before the first held message goes: the bubble.
GAP_BUBBLE = 1
#: `_drain`'s limit for a host action (an injection, a JOIN, a SKIP), which the model
#: takes between cycles: what it releases goes out at once, at the book's pace.
INSTANT = float("inf")
#: Cycles from a push into an empty hold buffer to its head being judged (the key
#: FIFO's write and registered read, HoldHead's two registers). Until then nothing
#: waits there, so the gateware's hold window (HoldWindow) stops and starts over: a
#: packet start before then is not counted.
HEAD_LAG = 4
#: Message types queued for the book (rtl/book/order_book.py BOOK_TYPES).
BOOK_TYPES = b"AFECXDUH"


@dataclass
class Delivered:
    seq: int
    feed: int
    msg: bytes          # the whole block (the gateware keeps the first MAX_KEPT bytes)


def block_ok(n, first_byte):
    """A block length the MoldUDP64 stage accepts: at least the shortest ITCH message
    and, for a known ITCH type, exactly that type's length."""
    if n < MIN_MSG:
        return False
    t = chr(first_byte)
    return t not in ITCH_LENGTHS or ITCH_LENGTHS[t] == n


def parse(payload, c):
    """The checked messages of one accepted packet (after the session check):
    [(seq, msg, first, end)], `end` the payload offset of the message's last byte;
    malformations are counted in `c`.

    Blocks are taken in order; a block shorter than 12 bytes or whose length is not
    its ITCH type's (bad_lengths), a block overrunning the payload (overruns) or a
    block beyond the header's count (count_mismatch) ends the packet there: the
    blocks before it stand, nothing after it is used. A payload that ends cleanly
    with fewer blocks than its count is a count_mismatch too."""
    seq = int.from_bytes(payload[10:18], "big")
    count = int.from_bytes(payload[18:20], "big")
    out, pos, i = [], HEADER_BYTES, 0
    while pos < len(payload):
        if i == count:
            c["count_mismatch"] += 1
            return out
        if pos + 2 > len(payload):
            c["overruns"] += 1
            return out
        n = int.from_bytes(payload[pos:pos + 2], "big")
        if n < MIN_MSG:
            c["bad_lengths"] += 1
            return out
        if pos + 2 + n > len(payload):
            c["overruns"] += 1
            return out
        msg = payload[pos + 2:pos + 2 + n]
        if not block_ok(n, msg[0]):
            c["bad_lengths"] += 1
            return out
        out.append((seq + i, msg, i == 0, pos + 1 + n))
        i += 1
        pos += 2 + n
    if i < count:
        c["count_mismatch"] += 1
    return out


@dataclass
class Held:
    seq: int
    feed: int
    msg: bytes
    first: bool


@dataclass
class Arbiter:
    """Per-port MoldUDP64 checks, then one sequencer with a hold buffer per port.

    Packets (both feeds):
    - The first packet with a complete header establishes the session; packets of
      another session are dropped (session_mismatch). Heartbeats and end-of-session
      packets are counted and carry no message, but their sequence number S (the next
      one the exchange will send) is offered as a *mark*: judged like a packet's first
      message at S except that it is never delivered nor counted (a mark at or below E
      is dropped silently, ahead of E it waits in the hold buffer, beyond the jump
      window it is a claim whose end is S). So a gap only they reveal (a packet lost
      on both feeds before a quiet period or End of Session) is declared after the
      hold window, and one forged far heartbeat does not move E. Before E is set
      marks are ignored.
    - `parse`: only well-formed blocks become messages; nothing of a malformed packet
      reaches the sequencer past the point where it went wrong.
    Session start (before E exists; a forged or foreign first packet must not set E):
    - Until E exists each port follows the session of its own latest header: a header
      of another session on a port (counted in session_mismatch) replaces it there,
      and what that port held goes (a cycle after the header's decision). Confirming
      a start across ports needs both ports on the same session; when they differ
      only the confirming port's messages count (A first in a tie) and the other
      port's held messages go. The confirmed session is then locked: packets of any
      other are dropped (session_mismatch).
    - Every message is held (marks are ignored). Each port's latest packet is a
      candidate (start, end). A packet's first message that continues a candidate
      (seq == its end), is the other port's copy (seq == its start or end), or is the
      other port's first message in the same cycle with the same seq (the last three
      only when both ports are on the same session) confirms the
      start; so does the hold window expiring (one feed, a single packet). Candidates
      are judged as they stood at the start of the cycle (both ports at once).
    - START_LAG cycles after the confirming one, E becomes the smallest sequence number
      held up to the confirming cycle; held messages then flow, and a held message more
      than the jump window ahead of E (a forged jump) is dropped (jump_drops).
    Sequencer (expected number E, from the session's start):
    - seq < E: duplicate (discarded, counted per port). seq == E: delivered, E + 1.
    - E < seq <= E + jump_window: held in that port's buffer (depth messages; a full
      buffer drops the message: overflow_a/b) until E reaches it.
    - seq > E + jump_window: dropped (jump_drops) unless confirmed: the packet's first
      message confirms an earlier such packet when it continues it on the same port
      (seq == its end) or is the other port's copy (seq == its start). A confirmed
      jump is a gap [E, seq) declared at once (gaps, jumps) and the message delivered
      (a message at E going out in that cycle goes first: `_beside`).
    - The hold window: while some buffer waits (its head > E) and nothing is
      delivered, `hold_cycles` cycles or `hold_packets` packet starts end the wait: a
      gap [E, smallest head) is declared (gaps, gap_messages, hold_timeouts), E moves
      to that head and held messages flow again. `hold_both` packet starts counted
      while both buffers wait (each port's head is ahead of E and shown: both feeds
      are past the gap, and each delivers in order) end it too (0: off).
    - Held messages flow one per cycle, and only while the book's input queue has room
      (the merge's `pause`: BookInput.almost_full when the book's nominal pace, one
      operation every 2 cycles and a U two, leaves less than `book_depth // 4 + 8`
      operations of room: pace.py, cycle-exact). The window restarts with each
      release, so it starts when the last released message goes out, not when E
      reached it here (timed runs: `_release_time`).
    Times are cycles (156.25 MHz beats) given by the caller: a packet's payload starts
    at cycle t in byte lane `lane`, and each message reaches the sequencer in the cycle
    of the beat carrying its last byte, so the two feeds' messages interleave as in the
    gateware (ties: port A first). Without times (t=None) messages are judged at once
    and the time window never expires.
    """
    hold_cycles: int = HOLD_CYCLES
    hold_packets: int = HOLD_PACKETS
    hold_both: int = HOLD_BOTH
    depth: int = HOLD_DEPTH
    jump_window: int = JUMP_WINDOW
    book_depth: int = BOOK_DEPTH
    have_session: bool = False
    session: bytes = b""
    have_e: bool = False
    expected: int = 0
    last_gap_first: int = 0
    last_gap_len: int = 0
    counters: dict = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    merge: dict = field(default_factory=lambda: dict.fromkeys(MERGE_COUNTERS, 0))
    gap_events: list = field(default_factory=list)        # (first, count)

    def __post_init__(self):
        self.hold = ([], [])
        self.claim = None               # (port, start, end) of an unconfirmed jump
        self.stall_t = None             # time the current wait began (or last progress)
        self.stall_pkts = 0
        self.both_pkts = 0              # ...of them while both ports' heads wait
        self.now = 0
        self.rel_t = -1                 # cycle the last held message was released
        self.going = ([], [])           # per port: release cycles still ahead
        self.head_t = [0, 0]            # per port: first cycle its next entry is judged
        self.e_t = -1                   # cycle E last moved (a delivery, a gap)
        self.step_t = []                # cycles of the last two deliveries
        self.blind_t = -2               # the last jump's bubble (`_far_blind`)
        self.last_del = None            # the number delivered then (None: a gap)
        self.pace = NominalPace(self.book_depth)    # the merge's `pause`
        self.pkt_expiry = None          # cycle a full packet count declares its gap
        self.release_from = 0           # no held message goes before (a gap's bubble)
        self.bubble_t = None            # the cycle E jumped to a packet count's gap
        self.pkt_from = 0               # packet starts count from then (HEAD_LAG)
        self.queue = []                 # (cycle, port, order, seq, msg, first) to judge
        self.bad_frame_seqs = []        # first seq of each bad frame whose messages went on
        self.order = 0
        self._timed = False
        self.psess, self.same_sess = [None, None], [None, None]
        self.locked, self.lock_t = False, None
        self._clear_start()

    def _clear_start(self):
        """Forget the session-start state (candidates, smallest held, confirmation)."""
        self.cand = [None, None]        # per port: (start, end) of its latest packet
        self.lo = [None, None]          # per port: smallest seq held before E exists
        self.start_t = None             # cycle the start was confirmed (E set START_LAG later)
        self.keep_both = True
        self._cyc, self._cyc_cands, self._cyc_firsts = None, [None, None], {}
        self.start_port = 0             # whose messages count when the sessions differ

    def reset(self):
        """The RESET command: forget the session and expected sequence number."""
        self.have_session, self.session, self.expected = False, b"", 0
        self.psess = [None, None]       # each port's session before the lock
        self.same_sess = [None, None]   # ...as the sequencer sees them (a cycle later)
        self.locked, self.lock_t = False, None
        self._restart_sequencer()
        self.queue = []

    def _restart_sequencer(self):
        """Forget E and everything held (RESET, or a session replaced before its start
        was confirmed)."""
        self.have_e, self.expected, self.claim = False, 0, None
        self.hold = ([], [])
        self.stall_t, self.stall_pkts, self.both_pkts = None, 0, 0
        self.rel_t, self.going = -1, ([], [])
        self.head_t, self.e_t, self.last_del = [0, 0], -1, None
        self.pkt_expiry = None
        self._clear_start()

    # ------------------------------------------------------------------ packets
    def receive(self, payload, feed, t=None, lane=0, realign=False):
        """Process one UDP payload from `feed` starting at cycle `t`, byte lane `lane`;
        returns the list of Delivered up to then (held messages released included).
        realign: the frame started in lane 4; the MAC realigns it to lane 0, so a byte
        in the upper half of its wire beat leaves a cycle later (measured on the RTL:
        the sequencer then sees every message a constant 6 cycles after this time)."""
        def at(offset):
            return t + (lane + offset) // 8 + (realign and (lane + offset) % 8 >= 4)
        c, payload = self.counters, bytes(payload)
        out = []
        self.parsed = 0                 # messages of this packet sent on (not marks)
        self._timed = t is not None
        t_hdr = None if t is None else at(HEADER_BYTES - 1)
        c["packets"] += 1
        c["packets_b" if feed else "packets_a"] += 1
        if len(payload) < HEADER_BYTES:
            if t is not None:
                out += self.advance(t)
            c["short_packets"] += 1
            return out
        if t is not None:       # decided in the beat of its last byte, seeing the
            out += self.advance(t_hdr - 1)      # sequencer's state of the cycle before
        sess = payload[:10]
        count = int.from_bytes(payload[18:20], "big")
        if self._is_locked(t_hdr):
            if sess != self.session:
                c["session_mismatch"] += 1
                return out
        elif self.psess[feed] != sess:
            if self.psess[feed] is not None:    # another session on this port
                c["session_mismatch"] += 1
                self._event(t_hdr, 2 + feed, None)          # its held messages go
            self.psess[feed] = sess
            self.have_session, self.session = True, sess
            self._event(t_hdr, -1, (feed, sess))            # `same`, seen a cycle later
        if count in (HEARTBEAT, END_OF_SESSION):
            c["heartbeats" if count == HEARTBEAT else "end_of_session"] += 1
            seq = int.from_bytes(payload[10:18], "big")
            if t is None:
                return out + self.offer(feed, seq, None, True)
            # the gateware registers a mark once more after the header's last byte
            self.order += 1
            self.queue.append((t_hdr + 1, feed, self.order, seq, None, True))
            return out
        msgs = parse(payload, c)
        self.parsed = len(msgs)
        for seq, msg, first, end in msgs:
            if t is None:
                out += self.offer(feed, seq, msg, first)
            else:
                self.order += 1
                self.queue.append((at(end), feed, self.order, seq, msg, first))
        return out

    def _event(self, t_hdr, kind, arg):
        """A session event for the sequencer: kind 2/3 clears port 0/1's held messages
        (model time t_hdr, after that cycle's messages), kind -1 updates the sessions
        it compares (t_hdr + 1, before that cycle's messages)."""
        if t_hdr is None:
            return self._apply_event(kind, arg)
        self.order += 1
        self.queue.append((t_hdr + (kind == -1), kind, self.order, 0, arg, False))

    def _apply_event(self, kind, arg):
        if kind == -1:
            self.same_sess[arg[0]] = arg[1]
        elif not self.have_e:
            p = kind - 2
            self.hold[p].clear()
            if self.start_t is None:
                self.cand[p], self.lo[p] = None, None

    def _is_locked(self, t_hdr):
        """MoldRx locks the confirmed session two cycles after E is set."""
        if not self.locked and self.have_e and (t_hdr is None or self.lock_t is None
                                                 or t_hdr >= self.lock_t):
            if self.psess[0] is not None or self.psess[1] is not None:
                p = self.start_port if self.psess[self.start_port] is not None \
                    else 1 - self.start_port
                self.locked, self.have_session, self.session = True, True, self.psess[p]
        return self.locked

    def _same(self):
        return self.same_sess[0] is not None and self.same_sess[0] == self.same_sess[1]

    def bad_frame(self, first_seq):
        """The frame of the packet just received (first sequence number `first_seq`) was
        bad at its end after its messages went on cut-through: counted (the card also
        flags its books stale), and remembered for the fuzz verdict."""
        self.counters["bad_forwarded"] += 1
        self.bad_frame_seqs.append(first_seq)

    # ------------------------------------------------------------------ sequencer
    def _waiting(self):
        if not self.have_e:
            return self.start_t is None and any(x is not None for x in self.lo)
        return any(h and self.expected < h[0].seq <= self.expected + self.jump_window
                   for h in self.hold)

    def _shown(self):
        """The first cycle a waiting head is judged: the window runs from then."""
        return min((self.head_t[p] for p, h in enumerate(self.hold)
                    if h and self.expected < h[0].seq <= self.expected + self.jump_window),
                   default=0)

    def _both_shown(self):
        """Both ports' heads wait (ahead of E, within the window) and are judged: both
        feeds are past E (HoldWindow `both`: the heads' `waits` registers)."""
        return all(h and self.expected < h[0].seq <= self.expected + self.jump_window
                   and self.now >= self.head_t[p] for p, h in enumerate(self.hold))

    def _release_time(self, held):
        """The cycle this delivery goes out: now for a live message; for a held one,
        after the previous release and once the book's nominal pace has room."""
        t = self.now
        # a live message while held ones are still going out waits behind them there
        if self._timed and (held or t <= self.rel_t):
            t = self.pace.first_free(max(t, self.rel_t + 1))
        if self._timed:         # one delivery a cycle: a held one goes after a live one
            self.rel_t = max(self.rel_t, t)
        return t

    def _deliver(self, feed, seq, msg, held=False):
        t = self._release_time(held)
        if self._timed:
            self.pace.sent(t, msg)
        self.expected = seq + 1
        self.e_t, self.last_del = t, seq
        self.step_t = [*self.step_t[-1:], t]
        self.counters["messages"] += 1
        self.stall_t, self.stall_pkts, self.both_pkts = None, 0, 0    # progress: start over
        self.pkt_expiry = None
        return Delivered(seq, feed, msg)

    def _dup(self, feed, first):
        self.counters["dup_messages"] += 1
        self.counters["dup_packets"] += int(first)
        self.merge["dup_discard_b" if feed else "dup_discard_a"] += 1
        self.merge["dup_discard_msgs"] += 1

    def _drain(self, limit=None):
        """Held messages that follow E go out, one a cycle at the book's pace, up to
        cycle `limit` (default: now). E moves when a held message really goes out, not
        when E first reaches it: a live copy arriving meanwhile is judged against the E
        of its own cycle (held there, as the gateware does, not a duplicate yet), so
        the ports' buffers fill and empty as the gateware's. Later releases wait for
        time to pass (`_expire_until` calls this again up to each event's cycle)."""
        limit = self.now if limit is None else limit
        out = []
        while True:
            progressed = self._drop(limit)
            for p in (0, 1):
                h = self.hold[p]
                if h and h[0].seq == self.expected:
                    if self._timed:
                        t = self.pace.peek_free(max(self.now, self.rel_t + 1,
                                                    self.release_from, self.head_t[p]))
                        if t > limit:           # not yet: time must pass first
                            break
                        if limit != INSTANT:
                            self.now = t
                    x = h.pop(0)
                    out.append(self._deliver(p, x.seq, x.msg, held=True))
                    if self._timed:     # its slot frees FREE_LAG cycles after it goes
                        self.going[p].append(self.rel_t + FREE_LAG)
                        self.head_t[p] = self.rel_t + 1
                    progressed = True
                    break
            if not progressed:
                break
        if not self._waiting():
            self.stall_t, self.stall_pkts, self.both_pkts = None, 0, 0
        elif self.stall_t is None:      # from the last release (each one is progress)
            self.stall_t = max(self.now, self.rel_t + 1,
                               self._shown()) if self._timed else self.now
        return out

    def _drop(self, limit):
        """Heads behind E (or far, or a mark at E) go, one a cycle per port, up to cycle
        `limit`; returns whether any went."""
        progressed = False
        for p in (0, 1):
            h = self.hold[p]
            while h and (h[0].seq < self.expected
                         or (h[0].msg is None and h[0].seq == self.expected)
                         or h[0].seq - self.expected > self.jump_window):
                if self._timed:     # the head drops one a cycle, once E passed it
                    t = max(self.head_t[p], self.e_t + 1, self.release_from)
                    if h[0].seq == self.last_del and self.head_t[p] <= self.e_t:
                        t = self.e_t    # at E as its copy went: dropped in that cycle
                    if t > limit and limit != INSTANT:
                        break
                    self.head_t[p] = t + 1
                    self.going[p].append(t + FREE_LAG)
                x = h.pop(0)
                if x.seq - self.expected > self.jump_window:
                    self.merge["jump_drops"] += 1       # held before E: a forged jump
                elif x.msg is not None:     # a mark goes silently
                    self._dup(p, x.first)
                progressed = True
        return progressed

    def _gap(self, new_e, timeout):
        c = self.counters
        c["gaps"] += 1
        c["gap_messages"] += new_e - self.expected
        self.last_gap_first, self.last_gap_len = self.expected, new_e - self.expected
        self.gap_events.append((self.expected, new_e - self.expected))
        self.merge["hold_timeouts" if timeout else "jumps"] += 1
        self.expected = new_e
        self.e_t, self.last_del, self.step_t = self.now, None, []
        self.blind_t = self.now + (not timeout)     # the bubble: a confirm's is next cycle
        self.stall_t, self.stall_pkts, self.both_pkts, self.pkt_expiry = None, 0, 0, None
        self.release_from = self.now + GAP_BUBBLE

    def _expire(self):
        heads = [h[0].seq for h in self.hold
                 if h and self.expected < h[0].seq <= self.expected + self.jump_window]
        self._gap(min(heads), timeout=True)
        return self._drain()

    def _expire_until(self, t):
        out = []
        while True:
            out += self._drain(t - 1) if self._timed else []    # releases before t
            if self.pkt_expiry is not None and self.pkt_expiry <= t:
                self.now, self.pkt_expiry = max(self.now, self.pkt_expiry), None
                if self._waiting():
                    self.bubble_t = self.now
                    out += self._expire()
                continue
            if not (self.stall_t is not None and self._waiting()
                    and self.stall_t + self.hold_cycles + self._cycle_lag() <= t):
                break
            self.now = max(self.now, self.stall_t + self.hold_cycles + self._cycle_lag())
            out += self._expire()
        self.now = max(self.now, t)
        return out

    def _cycle_lag(self):
        return CYCLE_EXPIRE_LAG if self._timed else 0

    def _catch_up(self, t):
        """Time passes to cycle t: the session's start takes effect (E is set START_LAG
        cycles after the confirming one) and expired hold windows act."""
        out = []
        while True:
            if self.start_t is not None and (t >= self.start_t + START_LAG + 1
                                             or not self._timed):
                out += self._finalize_start(self.start_t + START_LAG)
            elif (not self.have_e and self.start_t is None and self._waiting()
                  and self.stall_t is not None and self.stall_t + self.hold_cycles <= t):
                self.now = max(self.now, self.stall_t + self.hold_cycles)
                self._confirm(None, self._same())                # one feed, one packet
                self.start_t = self.stall_t + self.hold_cycles
            elif self.have_e:
                return out + self._expire_until(t)
            else:
                self.now = max(self.now, t)
                return out

    def _finalize_start(self, now):
        """E = the smallest number held up to the confirming cycle (of the ports that
        count: both when their sessions agree); held messages flow."""
        self.now = max(self.now, now)
        self.have_e = True
        keep = (0, 1) if self.keep_both else (self.start_port,)
        for p in (0, 1):
            if p not in keep:
                self.hold[p].clear()
        self.expected = min(self.lo[p] for p in keep if self.lo[p] is not None)
        self.lock_t = (self.start_t + START_LAG + 3 if self._timed and self.start_t is not None
                       else None)
        self._clear_start()
        self.stall_t, self.stall_pkts, self.both_pkts = None, 0, 0
        return self._drain()

    def advance(self, t):
        """Let time pass to cycle t: messages that reached the sequencer by then are
        judged, and an expired hold window declares its gap."""
        out = []
        self.queue.sort()
        while self.queue and self.queue[0][0] <= t:
            te, feed, _, seq, msg, first = self.queue.pop(0)
            out += self._catch_up(te)
            if feed not in (0, 1):      # a session event (see _event)
                self._apply_event(feed, msg)
                continue
            out += self.offer(feed, seq, msg, first)
        return out + self._catch_up(t)

    def offer(self, feed, seq, msg, first):
        """One checked message from `feed` (msg None: a mark, see the class); returns
        the Delivered it releases."""
        if not self.have_e:
            return self._offer_start(feed, seq, msg, first)
        e = self.expected
        # the cycle E jumped to a full packet count's gap: the flags are stale (the
        # bubble), a message at E is held, not delivered, and the window starts over
        bubble = self._timed and self.now == self.bubble_t
        if seq < e or (msg is None and seq == e):
            if msg is not None:
                self._dup(feed, first)
            out = []
        elif seq == e and bubble:
            out = self._hold(feed, seq, msg, first)
        elif seq == e:
            # a head already behind E drops in this cycle too (HoldHead pops every
            # cycle it is behind, whatever else goes): before `e_t` moves to now
            if self._timed:
                self._drop(self.now)
            out = [self._deliver(feed, seq, msg)] + self._drain()
        elif seq - e + self._stepped() > self.jump_window and not self._far_blind():
            out = self._far(feed, seq, msg, first)
        else:
            out = self._hold(feed, seq, msg, first)
        if first and not out and not bubble and self._waiting() and (
                self.stall_t is None or self.now >= self.stall_t) and (  # not while releasing
                self.now >= self.pkt_from):                     # nor before the head shows
            self.stall_pkts += 1
            self.both_pkts = self.both_pkts + 1 if self._both_shown() else 0
            if self.stall_pkts >= self.hold_packets or (
                    self.hold_both and self.both_pkts >= self.hold_both):
                if not self._timed:
                    out += self._expire()
                elif self.pkt_expiry is None:     # registered count, then the window
                    self.pkt_expiry = self.now + PKT_EXPIRE_LAG
        return out

    def _far_blind(self):
        """The bubble after E jumped and the cycle after: the sequencer ignores a live
        message's far flag (stale) and holds it; from the buffer a far head is dropped
        (Sequencer `far_ok`)."""
        return self._timed and self.blind_t <= self.now <= self.blind_t + 1

    def _stepped(self):
        """Deliveries since the cycle before began (this cycle's: port A's, judged
        first): a live message's far flag is MoldPort's compare against that cycle's
        E + window (rtl/rx/mold/mold_port.py), so it is beyond the window by that much
        sooner."""
        return sum(t >= self.now - 1 for t in self.step_t) if self._timed else 0

    def _offer_start(self, feed, seq, msg, first):
        """Before E exists (see the class): hold, judge the start candidates."""
        if msg is not None and (self.start_t is None or self.start_t == self.now):
            if not self._timed or self._cyc != self.now:    # a new cycle
                self._cyc, self._cyc_cands, self._cyc_firsts = self.now, list(self.cand), {}
            own, other = self._cyc_cands[feed], self._cyc_cands[1 - feed]
            if first:
                same = self._same()
                mine = own is not None and seq == own[1]
                conf = mine or (same and ((other is not None and seq in other)
                                          or self._cyc_firsts.get(1 - feed) == seq))
                self._cyc_firsts[feed] = seq
                self.cand[feed] = (seq, seq + 1)
                if conf and self.start_t is None:
                    self._confirm(feed, same)
            elif self.cand[feed] is not None:
                self.cand[feed] = (self.cand[feed][0], seq + 1)
            if self.lo[feed] is None or seq < self.lo[feed]:
                self.lo[feed] = seq
        out = []
        if msg is not None:
            self._hold(feed, seq, msg, first)
        if first and self._waiting():
            self.stall_pkts += 1
            if self.stall_pkts >= self.hold_packets and self.start_t is None:
                self._confirm(None, self._same())
        if self.start_t is not None and not self._timed:     # no cycles: E at once
            out += self._finalize_start(self.now)
        return out

    def _confirm(self, feed, same):
        """The start is confirmed now (by `feed`'s own packets, or None: the window)."""
        self.start_t = self.now
        self.keep_both = same
        if feed is None:                # the window: A if it holds anything
            feed = 0 if self.lo[0] is not None else 1
        self.start_port = 0 if same else feed

    def _full(self, feed):
        """The port's hold buffer is full: what it holds here, and what was released
        but whose slot is not free yet there (timed runs)."""
        going = self.going[feed]
        while going and going[0] <= self.now:
            going.pop(0)
        return len(self.hold[feed]) + len(going) >= self.depth

    def _hold(self, feed, seq, msg, first):
        h = self.hold[feed]
        if self._full(feed):
            self.merge["overflow_b" if feed else "overflow_a"] += 1
            return []
        empty = not h
        if self._timed and self.have_e and empty and not self._waiting():
            self.pkt_from = self.now + HEAD_LAG     # its head appears then
        if self._timed and empty:
            self.head_t[feed] = max(self.head_t[feed], self.now + HEAD_LAG)
        h.append(Held(seq, feed, msg, first))
        self.merge["held"] += msg is not None
        # after the releases still going out; behind a head still dropping old entries
        # nothing waits yet (the gateware's window runs that cycle only, then restarts)
        if self.stall_t is None and (not self._timed or not self.have_e or empty
                                     or self._waiting()):
            self.stall_t = max(self.now, self.rel_t + 1) if self._timed else self.now
            if self._timed and self.have_e and empty:   # the window runs once it shows
                self.stall_t = max(self.stall_t, self.head_t[feed])
        return []

    def _far(self, feed, seq, msg, first):
        cl = self.claim
        if first and cl is not None and ((cl[0] == feed and seq == cl[2])
                                          or (cl[0] != feed and seq == cl[1])):
            self.claim = None
            out = self._beside(feed)
            self._gap(seq, timeout=False)
            if msg is not None:                 # a mark: E is S, nothing to deliver
                out.append(self._deliver(feed, seq, msg))
                self.step_t = []                # E jumped: not a step (`_stepped`)
            return out + self._drain()
        end = seq + (msg is not None)           # a mark's continuation starts at S
        if first:
            self.claim = (feed, seq, end)
        elif cl is not None and cl[0] == feed and seq == cl[2]:
            self.claim = (feed, cl[1], end)
        self.merge["jump_drops"] += 1
        return []

    def _beside(self, feed):
        """A jump confirmed now: a message at E that goes out in this cycle goes first (a
        hold-buffer head, else the other port's), and the gap starts after it; the
        confirming message follows a cycle later (Sequencer._jump_out)."""
        if not self._timed:
            return []
        out = self._drain(self.now)
        if self.rel_t >= self.now:              # a delivery in this cycle already
            return out
        for k, (te, f, _, s, msg, _first) in enumerate(self.queue):
            if te != self.now:
                break
            if f == 1 - feed and s == self.expected and msg is not None:
                del self.queue[k]
                return out + [self._deliver(f, s, msg)]
        return out

    def status(self):
        """The mold status registers as the gateware should show them."""
        s = int.from_bytes(self.session, "big") if self.have_session else 0
        return {"expected_seq": self.expected, "session_lo": s & (2**64 - 1),
                "session_hi": (s >> 64) | (int(self.have_session) << 16),
                "last_gap_first": self.last_gap_first, "last_gap_len": self.last_gap_len}
