"""Hardware order book (rtl/book/)."""
from ..regmap.dsl import Block, Field, Reg

_DOC = "Order book: its input queue, symbol subscription, table/depth health, BBO snapshot."

#: Registers of the OrderBook itself (rtl/book/order_book.py).
ORDER_BOOK = Block("book", _DOC, (
    Reg("sub_locate", "control", "Stock locate for SUB_CMD.", width=16),
    Reg("sub_slot", "control", "Book slot for SUB_CMD.MAP.", width=8),
    Reg("sub_cmd", "strobe", "Subscription commands; they run between messages. Written while "
        "BUSY reads 1, a command is dropped and counted in cmd_dropped.", width=3, fields=(
        Field("MAP", 0, "Route sub_locate to sub_slot and clear that slot's book and flags."),
        Field("UNMAP", 1, "Stop following sub_locate."),
        Field("FLUSH", 2, "Empty the order table and every book, clear all flags and "
              "orders_live (start of day; subscriptions kept; takes one cycle per "
              "set of the largest table)."))),
    Reg("snap_slot", "strobe", "Write a slot number: latch its BBO and flags into snap_* at once "
        "(untorn)."),
    Reg("snap_bid_px", "status", "Snapshot: best bid price (1/10000 USD), 0 when empty."),
    Reg("snap_bid_qty", "status", "Snapshot: total shares at the best bid."),
    Reg("snap_bid_orders", "status", "Snapshot: orders at the best bid.", width=16),
    Reg("snap_ask_px", "status", "Snapshot: best ask price, 0 when empty."),
    Reg("snap_ask_qty", "status", "Snapshot: total shares at the best ask."),
    Reg("snap_ask_orders", "status", "Snapshot: orders at the best ask.", width=16),
    Reg("snap_flags", "status", "Snapshot: the slot's flags.", width=2, fields=(
        Field("UNRELIABLE", 0, "The slot's book may be wrong."),
        Field("HALTED", 1, "The slot's symbol is halted or paused."))),
    Reg("unreliable", "status", "Bit s: slot s's book may be wrong (order-set collision, full "
        "table, unknown reference, level-table or price-tree set full, level miss). Depth never "
        "sets it: every level is exact. Cleared by SUB_CMD.MAP of the slot.", width=64),
    Reg("halted", "status", "Bit s: slot s's symbol is halted or paused (ITCH H state H or P).",
        width=64),
    Reg("orders_live", "status", "Orders held in the order table."),
    Reg("msgs", "counter", "ItchMsg accepted by the book (the core passes only types A F E C X D U H)."),
    Reg("ignored", "counter", "Messages for locates no slot follows (dropped)."),
    Reg("collisions", "counter", "Adds dropped because both of the order's candidate hash sets "
        "were full or the reference was already live (book marked unreliable)."),
    Reg("table_full", "counter", "Adds dropped because the whole order table was full."),
    Reg("unknown_ref", "counter", "E/C/X/D/U for a reference not in the table (book marked unreliable)."),
    Reg("depth_overflow", "counter", "New price levels or price-tree nodes dropped because their "
        "hash set in the level table or the price tree was full (book unreliable)."),
    Reg("level_miss", "counter", "Reductions of an order whose price level is not in the level "
        "table, or next-best searches that found no level although the side has more: an "
        "inconsistency (book unreliable)."),
    Reg("bbo_updates", "counter", "BBO updates emitted."),
    Reg("topn_updates", "counter", "Top-N updates emitted."),
    Reg("busy", "status", "1 while a SUB_CMD or the sweep after reset runs (reset empties every "
        "table, subscriptions included, one entry per cycle: block RAM survives a reset). "
        "Wait for 0 before writing SUB_CMD.", width=1),
    Reg("cmd_dropped", "counter", "SUB_CMD writes dropped because BUSY was 1."),
))
#: Registers of the book's input queue and type filter (rtl/book/book_input.py).
INPUT = Block("book", _DOC, (
    Reg("fifo_overflow", "counter", "Decoded book messages dropped because the book's input "
        "queue was full (the book's slots may then be wrong)."),
    Reg("pace_lag", "counter", "Cycles the A/B merge held released messages back because the "
        "book's input queue itself was nearly full while the book's nominal pace (one operation "
        "every 2 cycles, a U two) left room: the book's next-best holds ran more than the "
        "queue's lag allowance behind. Release timing may then differ from the reference "
        "model's, which paces by the nominal rate."),
))
BLOCK = Block("book", _DOC, ORDER_BOOK.items + INPUT.items)
