"""BookInput: the book's type filter and input queue, with its overflow counter.

Only the types that change a book (A F E C X D U H) enter the queue, so the book's
one-message-per-2-cycles issue keeps up with the wire (the shortest book message, a
19-byte Delete, takes 2.6 beats) and bursts of short non-book messages (12-byte System
Events run at one per 1.75 beats) never queue ahead of an Add. The short FIFO absorbs
the book's issue slots and the bursts of held messages the A/B merge releases; a
message that finds it full is dropped and counted (`book.fifo_overflow`). When the queue is empty (its
level, which counts a message the cycle after its write, while the registered read shows
it a cycle later) and the book takes the message at once, it goes straight through (no
queue cycle); otherwise it queues behind the others, never past one.
The queue is block RAM (SyncFIFOBuffered: a registered read) of `BookQueued` entries:
what the book reads of a message (rtl/layouts.py), packed on the way in and unpacked
on the way out, so the book sees an ItchMsg whose other fields are zero (its type,
side and trading state as the book tests them: 'S' or 'B', 'H' or 0). Both ways in
(queued or straight through) carry the same packed form, so what the book gets never
depends on the queue's level.
`almost_full` (registered) tells the A/B merge to stop releasing held messages. It
follows the book's *nominal* pace, not the queue itself: a level counter that every book
message raises by its operations (a U is two) and that falls by one operation every 2
cycles, high at `room` = depth - slack - lag operations. Why: which held messages the
merge delivers depends on when releases happen (each restarts the hold window; each
frees a hold-buffer slot), and the book's own holds for next-best searches depend on
the whole book's state, which the reference model (tickwire/model/mold.py) does not
replay cycle by cycle; paced by the nominal rate, the merge releases exactly when the
model does. The real queue then runs up to `lag` messages behind the nominal one; if
the book's holds ever exceed that, the queue itself (fewer than `slack` places left:
the messages between the merge and here, its output register, the stage slice and the
decoder, must still fit) pauses the merge too, and each such cycle is counted
(`book.pace_lag`: release timing may then differ from the model's).
"""
from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from ..layouts import BookQueued, ItchMsg
from ..regmap.binding import register_members
from . import regs
from .order_book import BOOK_TYPES, HALT_STATES, SELL


def pack(m, msg):
    """An ItchMsg as the queue stores it (BookQueued), and whether its type is a book
    type (one decode of the type serves both)."""
    q = Signal(BookQueued, name="queued")
    code = Signal(3, name="queued_code")
    is_book = Signal(name="queued_is_book")
    with m.Switch(msg.type):
        for i, c in enumerate(BOOK_TYPES):
            with m.Case(ord(c)):
                m.d.comb += [code.eq(i), is_book.eq(1)]
    m.d.comb += [q.code.eq(code), q.sell.eq(msg.side == SELL),
                 q.halt.eq((msg.state == HALT_STATES[0]) | (msg.state == HALT_STATES[1]))]
    m.d.comb += [getattr(q, f).eq(getattr(msg, f))
                 for f in ("locate", "oref", "new_oref", "shares", "price", "seq", "rx_ts")]
    return q, is_book


def unpack(m, q):
    """The ItchMsg the book reads from a BookQueued entry."""
    msg = Signal(ItchMsg, name="unqueued")
    with m.Switch(q.code):
        for i, c in enumerate(BOOK_TYPES):
            with m.Case(i):
                m.d.comb += msg.type.eq(ord(c))
    m.d.comb += [msg.side.eq(Mux(q.sell, SELL, ord("B"))),
                 msg.state.eq(Mux(q.halt, HALT_STATES[0], 0))]
    m.d.comb += [getattr(msg, f).eq(getattr(q, f))
                 for f in ("locate", "oref", "new_oref", "shares", "price", "seq", "rx_ts")]
    return msg


class BookInput(wiring.Component):
    registers = regs.INPUT

    def __init__(self, depth=16, slack=8, lag=None):
        self.depth, self.slack = depth, slack
        self.lag = depth // 4 if lag is None else lag
        # book operations at the nominal pace (at least one: the unit tests' tiny queues)
        self.room = max(1, depth - slack - self.lag)
        super().__init__({
            "i": In(stream.Signature(ItchMsg, always_ready=True)),
            "o": Out(stream.Signature(ItchMsg)),
            "almost_full": Out(1),
            **register_members(self.registers),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = q = fifo.SyncFIFOBuffered(width=BookQueued.size, depth=self.depth)
        t = self.i.payload.type
        packed, is_book = pack(m, self.i.payload)
        for_book = self.i.valid & is_book
        queued = q.r_stream.valid
        # "empty" from the level, not from the read side: a message written last cycle
        # is counted at once but readable a cycle later, and must not be overtaken
        empty = q.level == 0
        direct = for_book & empty & self.o.ready
        m.d.comb += [
            self.o.valid.eq(queued | (for_book & empty)),
            self.o.payload.eq(unpack(m, BookQueued(Mux(queued, q.r_stream.payload, packed)))),
            q.r_stream.ready.eq(self.o.ready & queued),
            q.w_stream.valid.eq(for_book & ~direct), q.w_stream.payload.eq(packed),
            self.ev_fifo_overflow.eq(for_book & ~direct & ~q.w_stream.ready),
        ]
        # the nominal pace in half-operations: +2 per operation in, -1 a cycle
        cap = 4 * self.depth
        nominal = Signal(range(cap + 1))
        add = Mux(for_book, Mux(t == ord("U"), 4, 2), 0)
        nxt = nominal - (nominal != 0) + add
        m.d.sync += nominal.eq(Mux(nxt > cap, cap, nxt))
        paced = nominal >= 2 * self.room
        real = q.level >= self.depth - self.slack
        m.d.sync += [self.almost_full.eq(paced | real), self.ev_pace_lag.eq(real & ~paced)]
        return m
