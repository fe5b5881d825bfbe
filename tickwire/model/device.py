"""The whole card as the reference models see it: frames on ports A and B in,
counters (named like the registers) and decoded/book streams out.

It composes the per-block models (net, mold, itch, book) with the card's documented
cut-through behaviour, so `tickwire replay --engine model` can be compared with the
RTL counter for counter:
  - the MAC forwards a frame before its FCS is known: a datagram that passes the
    UDP filter reaches MoldUDP64 even when the frame turns out bad (the MAC counts
    the error and the UDP parser counts it as drop_bad_frame);
  - a frame whose length disagrees with its IPv4 length forwards the payload bytes
    it has, then ends bad (drop_ip_length; `net.forwarded`); MoldUDP64 then sees the
    packet end early;
  - each port's packets are checked (mold.parse), then one sequencer with a hold
    buffer per port judges the messages (mold.Arbiter), packets in arrival order at
    their arrival cycle (the hold window is timed in cycles);
  - only the book types (A F E C X D U H) reach the book, so `book.msgs` counts those;
  - the risk gate takes every BBO update and counts those of slots it lacks.
What it does not emulate is documented in `UNMODELLED` (those counters stay 0).
"""
from collections import defaultdict
import zlib

from . import book as book_model
from . import itch, mold, net
from .inject import HostArbiter

MIN_FRAME, MAX_LEN = 64, 1522
TYPE_ORDER = "SRHYLVWKJhAFECXDUPQBINO"      # ITCH 5.0 types, in counter order
BOOK_TYPES = b"AFECXDUH"                    # add, executions, cancel, delete, replace, halt
#: Counters the model leaves at zero: FIFO overflow and the book's lag behind its
#: nominal pace (next-best holds) depend on cycle timing, and the
#: book's table-geometry events (hash-set collisions, a full table, levels beyond the
#: kept depth) depend on the build's sizes; the model keeps everything exactly.
UNMODELLED = ("book.fifo_overflow", "book.pace_lag",
              "book.collisions", "book.table_full", "book.depth_overflow", "book.level_miss")


def _partial_payload(frame, filters, fcs=None):
    """(feed, bytes) a datagram that fails only the frame-length rule forwards, or None
    (tickwire.model.net.forwarded: the parser forwards payload bytes as they arrive and
    cannot tell the last four, the FCS, from payload until the frame ends)."""
    return net.forwarded(frame, filters, fcs=fcs)


#: Counters whose split depends on cycle timing: which feed's copy of a message came
#: first (the total is mold.dup_messages) and which messages waited in a hold buffer.
TIMING = ("merge.dup_discard_a", "merge.dup_discard_b", "merge.held")


def comparable(counters):
    """Counters in the form the model keeps, for RTL-versus-model comparisons: the
    unmodelled and timing-dependent ones go."""
    return {k: v for k, v in counters.items()
            if k not in UNMODELLED and k not in TIMING and v}


class DeviceModel:
    def __init__(self, filters=net.DEFAULT_FILTERS, subscriptions=None, top_n=5,
                 max_len=MAX_LEN, *, risk_slots, hold_depth=mold.HOLD_DEPTH,
                 jump_window=mold.JUMP_WINDOW, book_depth=mold.BOOK_DEPTH):
        """risk_slots: the build's risk-gate slots (CoreConfig.risk_slots): BBO updates of
        later slots count as risk.bbo_errors. hold_depth, jump_window, book_depth: the
        build's merge_depth, merge_jump_window and book_fifo_depth."""
        self.filters = filters
        self.risk_slots = risk_slots
        self.max_len = max_len
        self.counters = defaultdict(int)        # register name -> value
        self.arbiter = HostArbiter(depth=hold_depth, jump_window=jump_window,
                                   book_depth=book_depth)
        self.book = book_model.BookModel(subscriptions if subscriptions is not None else {},
                                         top_n=top_n)
        self.decoded = []                       # ItchMsg field dicts, in order
        self.bbo = []                           # book_model.BboEvent, in order
        self.stale_bbo_seqs = []                # seq of each BBO update left while stale

    # ------------------------------------------------------------------ per frame
    def frame(self, port, data, fcs_ok=True, rx_ts=None, t=None, fcs=None, lane=0,
              realign=False):
        """One frame (without FCS) arriving on port "a" or "b" (at cycle t, if given:
        the hold window is timed in cycles). `fcs`: the four bytes that followed on the
        wire, when they are not the frame's FCS (a runt cut short on the wire: the
        parser forwards them as payload until the frame's end is seen)."""
        c = self.counters
        data = bytes(data)
        if len(data) < 60 and fcs_ok:
            data += bytes(60 - len(data))       # the transmitter pads to 64 with FCS
        # a bad frame under 60 bytes (a runt cut on the wire) is what arrived: no pad
        size = len(data) + 4
        bad = True
        if size > self.max_len:
            c[f"mac_{port}.oversize"] += 1
            data = data[:self.max_len - 4]
        elif not fcs_ok:
            c[f"mac_{port}.fcs_errors"] += 1
        else:
            bad = False
            c[f"mac_{port}.frames_ok"] += 1
            c[f"mac_{port}.bytes_ok"] += size

        c[f"net_{port}.frames_in"] += 1
        verdict, feed, payload = net.parse(data, self.filters)
        forwarded, late_bad = None, False
        if verdict == "udp_accepted":
            forwarded = (feed, payload)
            if not bad and not net.udp_checksum_ok(data):
                c[f"net_{port}.udp_checksum_errors"] += 1
                late_bad = True                 # the checksum's verdict trails the payload
        elif verdict == "drop_ip_length" or (bad and len(data) < 60):
            forwarded = _partial_payload(data, self.filters, fcs)
        c[f"net_{port}.{'drop_bad_frame' if bad else verdict}"] += 1
        if forwarded is not None:
            self.packet(*forwarded, rx_ts=rx_ts, t=t, lane=lane, realign=realign)
            # the end beat is bad (the MAC's FCS, or a frame shorter than its IP length
            # says) after its messages went on cut-through: the card flags the books
            if (bad or late_bad or verdict != "udp_accepted") and self.arbiter.parsed:
                self.arbiter.bad_frame(int.from_bytes(forwarded[1][10:18], "big"))
                self._sync_counters()

    # ------------------------------------------------------------------ per packet
    def packet(self, feed, payload, rx_ts=None, t=None, lane=0, realign=False):
        """One UDP payload reaching MoldUDP64 (feed 0 = A, 1 = B); t, lane: where it
        starts on the wire, realign: its frame started in lane 4 (mold `receive`)."""
        delivered = self.arbiter.receive(payload, feed, t=t, lane=lane, realign=realign)
        self._sync_counters()
        ts = rx_ts or {"sec": 0, "ns": 0}
        for d in delivered:
            self.message(d.msg, d.seq, d.feed, ts)

    def finish(self, t=None):
        """The end of the input: let time run to cycle t (default: DRAIN_CYCLES after
        the last input, as the RTL harness drains), so every hold window that would
        expire by then does, one after another."""
        a = self.arbiter
        delivered = a.advance(t if t is not None else a.now + mold.DRAIN_CYCLES)
        self._sync_counters()
        for d in delivered:
            self.message(d.msg, d.seq, d.feed, {"sec": 0, "ns": 0})

    def _sync_counters(self):
        for name, value in self.arbiter.counters.items():
            self.counters[f"mold.{name}"] = value
        for name, value in self.arbiter.merge.items():
            self.counters[f"merge.{name}"] = value
        for name, value in getattr(self.arbiter, "inject_counters", {}).items():
            self.counters[f"inject.{name}"] = value

    # ------------------------------------------------------------------ host injection
    def _apply(self, delivered):
        self._sync_counters()
        for d in delivered:
            self.message(d.msg, d.seq, d.feed, {"sec": 0, "ns": 0})

    def inject(self, seq, msg, first=True):
        """A message from the host (inject.data/commit): the live feeds' rules."""
        self._apply(self.arbiter.inject(seq, msg, first))

    def snapshot(self, msg, seq):
        """A snapshot message (commit.SNAPSHOT): applied at once with sequence seq."""
        self._apply(self.arbiter.snapshot(msg, seq))

    def join(self, n):
        """cmd.JOIN: expect n; live messages below it are duplicates."""
        self._apply(self.arbiter.join(n))

    def skip(self):
        """cmd.SKIP: declare the gap the card waits on."""
        self._apply(self.arbiter.skip())

    def recovery_state(self):
        """The inject.state bits and the latest gap report, as the registers show them."""
        a = self.arbiter
        first, count = a.reports[-1] if a.reports else (0, 0)
        return {"BUSY": 0, "WAITING": int(a.reported and a.gap_wait), "STALE": int(a.stale),
                "SNAPSHOT_NEEDED": int(a.snapshot_needed), "gap_first": first,
                "gap_count": count, "next_seq": a.expected}

    def message(self, msg, seq, feed, rx_ts):
        c = self.counters
        fields = itch.to_itchmsg_fields(msg, seq, feed, rx_ts)
        if fields is None:
            kind = "unknown_type" if chr(msg[0]) not in TYPE_ORDER else "length_errors"
            c[f"itch.{kind}"] += 1
            return
        c[f"itch.msgs[{TYPE_ORDER.index(chr(msg[0]))}]"] += 1
        self.decoded.append(fields)
        if msg[0] not in BOOK_TYPES:        # the card filters these before the book
            return
        n_top = len(self.book.topn_events)
        ev = self.book.apply(book_model.decode(msg, seq))
        if getattr(self.arbiter, "stale", False):              # the card ORs its stale state into each update
            for t in self.book.topn_events[n_top:]:
                t.unreliable = True
            if ev is not None:
                self.stale_bbo_seqs.append(seq)
        if ev is not None:
            self.bbo.append(ev)
            if ev.slot >= self.risk_slots:       # the risk gate keeps the first slots' books only
                c["risk.bbo_errors"] += 1

    # ------------------------------------------------------------------ results
    def all_counters(self):
        """Every modelled counter by register name, the book's included."""
        out = dict(self.counters)
        counts = self.book.counts
        out.update({"book.msgs": counts["msgs"], "book.ignored": counts["ignored"],
                    "book.unknown_ref": counts["unknown_ref"],
                    "book.bbo_updates": len(self.bbo),
                    "book.topn_updates": len(self.book.topn_events)})
        return out

    def itch_msgs(self):
        """{"A": n, ...} for every ITCH type (the S.json form)."""
        return {t: self.counters.get(f"itch.msgs[{k}]", 0) for k, t in enumerate(TYPE_ORDER)}

    def mold_status(self):
        return self.arbiter.status()
