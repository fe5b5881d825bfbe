"""The whole card as the reference models see it: frames on ports A and B in,
counters (named like the registers) and decoded/book streams out.

It composes the per-block models (net, mold, itch, book) with the card's documented
cut-through behaviour, so `tickwire replay --engine model` can be compared with the
RTL counter for counter:
  - the MAC forwards a frame before its FCS is known: a datagram that passes the
    UDP filter reaches MoldUDP64 even when the frame turns out bad (the MAC counts
    the error and the UDP parser counts it as drop_bad_frame);
  - a frame shorter than its IPv4 length forwards the payload bytes it has, then
    ends bad (drop_ip_length); MoldUDP64 then sees the packet end early;
  - both ports feed one MoldUDP64 arbiter, whole packets in arrival order;
  - only the book types (A F E C X D U H) reach the book, so `book.msgs` counts those;
  - the risk gate takes every BBO update and counts those of slots it lacks.
What it does not emulate is documented in `UNMODELLED` (those counters stay 0).
"""
from collections import defaultdict
import zlib

from . import book as book_model
from . import itch, mold, net

MIN_FRAME, MAX_LEN = 64, 1522
TYPE_ORDER = "SRHYLVWKJhAFECXDUPQBINO"      # ITCH 5.0 types, in counter order
BOOK_TYPES = b"AFECXDUH"                    # add, executions, cancel, delete, replace, halt
#: Counters the model leaves at zero: FIFO overflow depends on cycle timing, and the
#: book's table-geometry events (hash-set collisions, a full table, levels beyond the
#: kept depth) depend on the build's sizes; the model keeps everything exactly.
UNMODELLED = ("merge.overflow_a", "merge.overflow_b", "book.fifo_overflow",
              "book.collisions", "book.table_full", "book.depth_overflow", "book.level_miss")


def _partial_payload(frame, filters):
    """(feed, bytes) a datagram that fails only the frame-length rule forwards, or None
    (tickwire.model.net.forwarded: the parser forwards payload bytes as they arrive and
    cannot tell the last four, the FCS, from payload until the frame ends)."""
    return net.forwarded(frame, filters)


def comparable(counters):
    """Counters in the form the model keeps, for RTL-versus-model comparisons.

    The merge discards a queued copy whose range is already delivered or in flight
    before MoldUDP64 sees it; which copies are discarded there rather than counted as
    duplicates by MoldUDP64 depends on cycle timing. Folding the merge's discards
    into the MoldUDP64 counters gives totals that do not; unmodelled counters go.
    """
    c = {k: v for k, v in counters.items() if k not in UNMODELLED and v}
    da, db = c.pop("merge.dup_discard_a", 0), c.pop("merge.dup_discard_b", 0)
    msgs = c.pop("merge.dup_discard_msgs", 0)
    for name, add in (("mold.packets", da + db), ("mold.packets_a", da), ("mold.packets_b", db),
                      ("mold.dup_packets", da + db), ("mold.dup_messages", msgs)):
        if add:
            c[name] = c.get(name, 0) + add
    return c


class DeviceModel:
    def __init__(self, filters=net.DEFAULT_FILTERS, subscriptions=None, top_n=5,
                 max_len=MAX_LEN, *, risk_slots):
        """risk_slots: the build's risk-gate slots (CoreConfig.risk_slots): BBO updates of
        later slots count as risk.bbo_errors."""
        self.filters = filters
        self.risk_slots = risk_slots
        self.max_len = max_len
        self.counters = defaultdict(int)        # register name -> value
        self.arbiter = mold.Arbiter()
        self.book = book_model.BookModel(subscriptions if subscriptions is not None else {},
                                         top_n=top_n)
        self.decoded = []                       # ItchMsg field dicts, in order
        self.bbo = []                           # book_model.BboEvent, in order

    # ------------------------------------------------------------------ per frame
    def frame(self, port, data, fcs_ok=True, rx_ts=None):
        """One frame (without FCS) arriving on port "a" or "b"."""
        c = self.counters
        data = bytes(data)
        if len(data) < 60:
            data += bytes(60 - len(data))       # the transmitter pads to 64 with FCS
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
        forwarded = None
        if verdict == "udp_accepted":
            forwarded = (feed, payload)
        elif verdict == "drop_ip_length":
            forwarded = _partial_payload(data, self.filters)
        c[f"net_{port}.{'drop_bad_frame' if bad else verdict}"] += 1
        if forwarded is not None:
            self.packet(*forwarded, rx_ts=rx_ts)

    # ------------------------------------------------------------------ per packet
    def packet(self, feed, payload, rx_ts=None):
        """One UDP payload reaching MoldUDP64 (feed 0 = A, 1 = B)."""
        before = dict(self.arbiter.counters)
        delivered = self.arbiter.receive(payload, feed)
        for name, value in self.arbiter.counters.items():
            self.counters[f"mold.{name}"] += value - before[name]
        ts = rx_ts or {"sec": 0, "ns": 0}
        for d in delivered:
            self.message(d.msg, d.seq, d.feed, ts)

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
        ev = self.book.apply(book_model.decode(msg, seq))
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
