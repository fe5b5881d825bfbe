"""Reference order-by-order book, written from the ITCH 5.0 spec (not from the gateware).

It is the oracle for rtl/book: the gateware keeps bounded tables and marks a book
unreliable when they overflow, this model keeps everything exactly, so any
disagreement on a reliable book is a gateware bug.

Semantics (Nasdaq TotalView-ITCH 5.0, section 4):
  A/F add an order;  E and C execute shares of a resting order (C's price is the
  execution price, the order rests at its own price);  X cancels shares;  D deletes;
  U replaces: the old reference leaves the book and a new reference joins the same
  side at the new price and shares;  H sets the trading state ('H' halted, 'P'
  paused count as halted; 'T' and 'Q' do not);  P, Q and the rest leave the book alone.
A BBO row is produced whenever a symbol's best bid or best ask changes, in price or
in total shares at that price; an empty side is (0, 0).
Inconsistent messages (a corrupted packet that passed every check, docs/bad-input.md):
a reference not held, or held for another symbol, is `unknown_ref` and changes
nothing; an add of a reference already held is `dup_add` and changes nothing; a U
onto a reference already held is `dup_add` too, and its old order still leaves (the
exchange replaced it). The gateware's book does the same and flags the book.
"""
from bisect import bisect_left, insort
import struct

BID, ASK = 0, 1
HALTED_STATES = (ord("H"), ord("P"))


class Msg:
    """The fields of a decoded ITCH message that a book needs (names as in ItchMsg)."""
    __slots__ = ("type", "locate", "oref", "new_oref", "side", "shares", "price",
                 "state", "seq", "stock")

    def __init__(self, type, locate, oref=0, new_oref=0, side=0, shares=0, price=0,
                 state=0, seq=0, stock=0):
        self.type, self.locate, self.oref, self.new_oref = type, locate, oref, new_oref
        self.side, self.shares, self.price, self.state = side, shares, price, state
        self.seq, self.stock = seq, stock

    def __repr__(self):
        return (f"Msg({chr(self.type)!r}, loc={self.locate}, oref={self.oref}, "
                f"new={self.new_oref}, side={chr(self.side) if self.side else 0}, "
                f"sh={self.shares}, px={self.price}, st={self.state}, seq={self.seq})")


# Byte offsets from the spec; every message starts type(1) locate(2) tracking(2) ts(6).
_U16, _U32, _U64 = struct.Struct(">H"), struct.Struct(">I"), struct.Struct(">Q")


def decode(raw, seq=0):
    """Raw ITCH 5.0 message bytes -> Msg (book-relevant fields only)."""
    t = raw[0]
    loc = _U16.unpack_from(raw, 1)[0]
    m = Msg(t, loc, seq=seq)
    if t in (0x41, 0x46, 0x50):            # A F P: oref side shares stock price
        m.oref = _U64.unpack_from(raw, 11)[0]
        m.side = raw[19]
        m.shares = _U32.unpack_from(raw, 20)[0]
        m.stock = _U64.unpack_from(raw, 24)[0]
        m.price = _U32.unpack_from(raw, 32)[0]
    elif t in (0x45, 0x43, 0x58):          # E C X: oref shares (C: price at 32)
        m.oref = _U64.unpack_from(raw, 11)[0]
        m.shares = _U32.unpack_from(raw, 19)[0]
        if t == 0x43:
            m.price = _U32.unpack_from(raw, 32)[0]
    elif t == 0x44:                        # D: oref
        m.oref = _U64.unpack_from(raw, 11)[0]
    elif t == 0x55:                        # U: old oref, new oref, shares, price
        m.oref = _U64.unpack_from(raw, 11)[0]
        m.new_oref = _U64.unpack_from(raw, 19)[0]
        m.shares = _U32.unpack_from(raw, 27)[0]
        m.price = _U32.unpack_from(raw, 31)[0]
    elif t == 0x48:                        # H: stock, trading state
        m.stock = _U64.unpack_from(raw, 11)[0]
        m.state = raw[19]
    return m


def read_binaryfile(data):
    """BinaryFILE framing (2-byte big-endian length before each message) -> raw messages."""
    out, pos = [], 0
    while pos + 2 <= len(data):
        n = (data[pos] << 8) | data[pos + 1]
        out.append(bytes(data[pos + 2:pos + 2 + n]))
        pos += 2 + n
    return out


class _Side:
    """One side of one book: price -> [shares, orders], plus the sorted key list.

    Keys are -price for bids and price for asks, so keys[0] is always the best level.
    """
    __slots__ = ("sign", "levels", "keys", "topc")

    def __init__(self, side):
        self.sign = -1 if side == BID else 1
        self.levels = {}
        self.keys = []
        self.topc = []          # last reported top N (BookModel with top_n)

    def change(self, px, dqty, dorders):
        lv = self.levels.get(px)
        if lv is None:
            self.levels[px] = [dqty, dorders]
            insort(self.keys, self.sign * px)
            return
        lv[0] += dqty
        lv[1] += dorders
        if lv[1] <= 0:
            del self.levels[px]
            k = self.sign * px
            del self.keys[bisect_left(self.keys, k)]

    def best(self):
        """(price, shares, orders) of the best level, (0, 0, 0) when empty."""
        if not self.keys:
            return (0, 0, 0)
        px = self.sign * self.keys[0]
        lv = self.levels[px]
        return (px, lv[0], lv[1])

    def top(self, n):
        """Best n levels as (price, shares, orders), best first."""
        levels, sign = self.levels, self.sign
        return [(sign * k, *levels[sign * k]) for k in self.keys[:n]]

    def depth(self):
        return len(self.keys)


class SymbolBook:
    __slots__ = ("locate", "slot", "sides", "halted", "max_depth")

    def __init__(self, locate, slot):
        self.locate, self.slot = locate, slot
        self.sides = (_Side(BID), _Side(ASK))
        self.halted = False
        self.max_depth = 0

    def bbo(self):
        """(bid_px, bid_qty, bid_orders, ask_px, ask_qty, ask_orders)."""
        return self.sides[BID].best() + self.sides[ASK].best()


class BboEvent:
    __slots__ = ("seq", "locate", "slot", "bid_px", "bid_qty", "bid_orders",
                 "ask_px", "ask_qty", "ask_orders", "halted")

    def __init__(self, seq, book):
        self.seq, self.locate, self.slot, self.halted = seq, book.locate, book.slot, book.halted
        (self.bid_px, self.bid_qty, self.bid_orders,
         self.ask_px, self.ask_qty, self.ask_orders) = book.bbo()

    def row(self):
        """The csv row `seq,locate,bid_px,bid_qty,ask_px,ask_qty`."""
        return (f"{self.seq},{self.locate},{self.bid_px},{self.bid_qty},"
                f"{self.ask_px},{self.ask_qty}")


class TopNEvent:
    """`unreliable`: set by the device model while its books are stale (this book
    model is exact, so nothing else sets it)."""
    __slots__ = ("seq", "locate", "slot", "side", "levels", "unreliable")

    def __init__(self, seq, book, side, levels):
        self.seq, self.locate, self.slot, self.side, self.levels = \
            seq, book.locate, book.slot, side, levels
        self.unreliable = False


class BookModel:
    """Order-by-order books for the subscribed locates.

    `subscriptions`: dict locate -> slot, or None to follow every locate (slot 0).
    `apply(msg)` returns the BboEvent the message caused, or None; with `top_n` > 0
    the TopNEvents (a side's best `top_n` levels changed) collect in `self.topn_events`.
    """

    def __init__(self, subscriptions=None, top_n=0):
        self.subs = None if subscriptions is None else dict(subscriptions)
        self.top_n = top_n
        self.books = {}
        self.orders = {}            # oref -> [book, side, price, shares]
        self.topn_events = []
        self.counts = dict(msgs=0, ignored=0, unknown_ref=0, dup_add=0)

    def subscribe(self, locate, slot):
        if self.subs is None:
            self.subs = {}
        self.subs[locate] = slot

    def unsubscribe(self, locate):
        if self.subs is not None:
            self.subs.pop(locate, None)

    def book(self, locate):
        b = self.books.get(locate)
        if b is None:
            slot = 0 if self.subs is None else self.subs[locate]
            b = self.books[locate] = SymbolBook(locate, slot)
        return b

    def top(self, locate, side, n):
        b = self.books.get(locate)
        return b.sides[side].top(n) if b else []

    def apply(self, m):
        self.counts["msgs"] += 1
        t = m.type
        if t not in _BOOK_TYPES:
            return None
        if self.subs is not None and m.locate not in self.subs:
            self.counts["ignored"] += 1
            return None
        if t == 0x48:
            self.book(m.locate).halted = m.state in HALTED_STATES
            return None
        orders = self.orders
        if t == 0x41 or t == 0x46:
            if m.oref in orders:
                self.counts["dup_add"] += 1
                return None
            b = self.book(m.locate)
            side = ASK if m.side == 0x53 else BID
            ops = ((side, m.price, m.shares, 1),)
            orders[m.oref] = [b, side, m.price, m.shares]
        else:
            o = orders.get(m.oref)
            # the reference must be one of this symbol's orders: a message naming
            # another symbol's order is inconsistent and must not touch that book
            if o is None or o[0] is not self.books.get(m.locate):
                self.counts["unknown_ref"] += 1
                return None
            b, side, px, left = o
            if t == 0x55:
                del orders[m.oref]
                if m.new_oref in orders:
                    # the new reference is taken: the old order still leaves (the
                    # exchange replaced it), the new one can't be held (flagged)
                    self.counts["dup_add"] += 1
                    ops = ((side, px, -left, -1),)
                else:
                    orders[m.new_oref] = [b, side, m.price, m.shares]
                    ops = ((side, px, -left, -1), (side, m.price, m.shares, 1))
            else:
                n = left if t == 0x44 else min(m.shares, left)
                if n == left:
                    del orders[m.oref]
                    ops = ((side, px, -n, -1),)
                else:
                    o[3] = left - n
                    ops = ((side, px, -n, 0),)
        s = b.sides[side]
        keys, levels = s.keys, s.levels
        if keys:
            k0 = keys[0]
            q0 = levels[s.sign * k0][0]
        else:
            k0 = q0 = None
        # Only a level ranked inside the top N can change the top N (<= n: a U's
        # second op is ranked before its first one is applied).
        top_dirty = False
        n = self.top_n
        if n:
            sign = s.sign
            for op in ops:
                if bisect_left(keys, sign * op[1]) <= n:
                    top_dirty = True
                    break
        for _, px, dq, do in ops:
            s.change(px, dq, do)
        d = len(keys)
        if d > b.max_depth:
            b.max_depth = d
        if top_dirty:
            top_after = s.top(n)
            if top_after != s.topc:
                s.topc = top_after
                self.topn_events.append(TopNEvent(m.seq, b, side, top_after))
        if keys:
            if keys[0] == k0 and levels[s.sign * k0][0] == q0:
                return None
        elif k0 is None:
            return None
        return BboEvent(m.seq, b)


_BOOK_TYPES = frozenset(b"AFECXDUH")


def bbo_csv(raw_messages, subscriptions=None):
    """The csv text (header + rows) for a list of raw messages, seq = 1-based index."""
    model = BookModel(subscriptions)
    rows = ["seq,locate,bid_px,bid_qty,ask_px,ask_qty"]
    for i, raw in enumerate(raw_messages, 1):
        ev = model.apply(decode(raw, i))
        if ev is not None:
            rows.append(ev.row())
    return "\n".join(rows) + "\n", model
