"""Every stream payload layout in the gateware, in one place.

Blocks import their port shapes from here so that a field added to a message is
added once and every stage, test and harness sees the same bit positions.
All streams run in the single `sync` domain (XGMII, 156.25 MHz).
"""
from amaranth.lib import data

#: PTP-style time of day: 48-bit seconds and 32-bit nanoseconds (0..999_999_999).
Timestamp = data.StructLayout({
    "ns": 32,
    "sec": 48,
})

#: MAC receive beat, realigned: frame byte o is in beat o // 8, lane o % 8 whatever
#: XGMII lane the frame started in (keep is contiguous from lane 0; the FCS bytes are
#: included). The `last` beat may be an extra beat with keep = 0 (the FCS verdict
#: trails the data by a cycle, rtl/rx/mac/realign.py). `bad` is meaningful on the
#: `last` beat only (FCS error, error character, runt or oversize); `ts` is the SFD
#: timestamp and is valid on every beat of the frame.
MacBeat = data.StructLayout({
    "data": 64,
    "keep": 8,
    "first": 1,
    "last": 1,
    "bad": 1,
    "ts": Timestamp,
})

#: UDP payload beat after Ethernet/IPv4/UDP parsing and destination filtering.
#: `feed` is the filter entry's feed (0 = A, 1 = B). Bytes keep their (realigned)
#: lanes: the payload starts in lane 2 of the frame's beat 5; `keep` marks payload
#: bytes only (headers, Ethernet padding and FCS are masked out). `bad` on the `last`
#: beat says the frame failed after its payload was forwarded (MAC verdict, or frame
#: length != IPv4 length): the packet must not be trusted (docs/bad-input-udp.md).
UdpBeat = data.StructLayout({
    "data": 64,
    "keep": 8,
    "first": 1,
    "last": 1,
    "bad": 1,
    "feed": 1,
    "ts": Timestamp,
})

#: Longest ITCH 5.0 message (I, NOII) in bytes: the raw-message buffer size.
MAX_MSG_BYTES = 50

#: One MoldUDP64 message block, assembled by the MoldUDP64 stage and valid in the
#: cycle its last byte arrives. `data[0]` is the message type byte; bytes past
#: MAX_MSG_BYTES are not kept but `length` is the block's true length, so the
#: decoder can reject it. `seq` = packet sequence number + index in the packet.
RawMsg = data.StructLayout({
    "data": data.ArrayLayout(8, MAX_MSG_BYTES),
    "length": 16,
    "seq": 64,
    "feed": 1,
    "rx_ts": Timestamp,
})

#: A message from one port's MoldUDP64 parser (rtl/rx/mold/mold_port.py) to the A/B
#: sequencer (rtl/rx/merge/): the block, already checked against its packet's session,
#: count and length (`msg.seq` is the packet's sequence number + index). `first`
#: marks the packet's first message (the sequencer's packet counts and jump rule).
#: `rel` compares `msg.seq` with the sequencer's expected number E as it was in the
#: cycle the message was registered (E, E + 1 and E + jump window), so the sequencer's
#: one-cycle loop never carries a 64-bit compare. `mark`: no message, a heartbeat's or
#: End of Session's "next sequence number" (`msg.seq`): never delivered, but a mark
#: ahead of E waits like a held message, so a gap only they reveal is declared.
SeqRel = data.StructLayout({
    "lt": 1, "at": 1,           # seq < E, seq == E
    "lt1": 1, "at1": 1,         # seq < E + 1, seq == E + 1
    "far": 1,                   # seq > E + jump window
    # the jump claim's compares (Sequencer._claim), against last cycle's values: seq ==
    # the port's claim target, == its own previous message's seq + 1 (a mark's: + 0),
    # == the other port's previous message's seq; c_same (port B's only, set by MoldRx):
    # == port A's message of this same cycle (read only when both are valid)
    "c_old": 1, "c_own": 1, "c_oth": 1, "c_same": 1,
})
MoldMsg = data.StructLayout({
    "msg": RawMsg,
    "first": 1,
    "rel": SeqRel,
    "mark": 1,
})

#: A gap the sequencer gave up on: sequence numbers [first, first + count) were lost
#: on both feeds (the hold window expired, or a confirmed jump). For the recovery path
#: (re-request, stale flags).
GapEvent = data.StructLayout({
    "first": 64,
    "count": 64,
})

#: What the sequencer (FeedMerge) tells MoldRx each cycle, for the mold.* counters and
#: status registers MoldRx owns (one pulse per event).
MergeStatus = data.StructLayout({
    "expected": 64,         # next sequence number to deliver (E, a register)
    "expected1": 64,        # E + 1 (registers, for MoldPort's SeqRel)
    "expected_w": 64,       # E + jump window
    "claim_tgt0": 64,       # what port A's next far packet must start at (Sequencer._claim)
    "claim_tgt1": 64,       # ... port B's
    "started": 1,           # E exists: the session's start is confirmed (MoldRx locks it)
    "start_port": 1,        # whose session was confirmed (when the ports' sessions differ)
    "delivered": 1,         # a message left for the ITCH decoder
    "dup_n": 3,             # messages judged duplicates this cycle (0..4)
    "dup_first": 3,         # ...of which packets' first messages
    "gap": 1,               # a gap was declared (GapEvent on merge.gap)
    "gap_first": 64,
    "gap_len": 64,
})


#: A decoded ITCH 5.0 message. Which fields are meaningful depends on `type`:
#:   A/F: oref side shares stock price      E: oref shares(executed)
#:   C: oref shares(executed) price(execution price)    X: oref shares(cancelled)
#:   D: oref     U: oref(original) new_oref shares price
#:   P: oref side shares stock price        Q: shares(low 32 bits) stock price(cross)
#:   R: stock    H: stock state(trading state)   S: state(event code)
#:   other types: type locate tracking itch_ts only.
#: `stock` holds the 8 ASCII bytes as on the wire, first character in the MSB.
#: `seq` is the MoldUDP64 sequence number of this message, `rx_ts` the SFD
#: timestamp of the frame that carried it.
ItchMsg = data.StructLayout({
    "type": 8,
    "locate": 16,
    "tracking": 16,
    "itch_ts": 48,
    "oref": 64,
    "new_oref": 64,
    "side": 8,
    "shares": 32,
    "price": 32,
    "stock": 64,
    "state": 8,
    "seq": 64,
    "feed": 1,
    "rx_ts": Timestamp,
})

#: What the book's input queue stores of an ItchMsg (rtl/book/book_input.py): only what
#: the book reads, with its type as an index into the book's types (A F E C X D U H), the
#: side as "sells" and the trading state as "halted" (H or P). Why: 357 bits fit ten
#: 36-bit DP16KD columns where the whole ItchMsg took 13, on a board build whose block
#: RAM is full.
BookQueued = data.StructLayout({
    "code": 3,
    "sell": 1,
    "halt": 1,
    "locate": 16,
    "oref": 64,
    "new_oref": 64,
    "shares": 32,
    "price": 32,
    "seq": 64,
    "rx_ts": Timestamp,
})

#: Top-of-book update for one book slot; emitted when either side's best price or
#: its total shares change. Prices in ITCH units (1/10000 USD); empty side = 0/0/0.
BboUpdate = data.StructLayout({
    "locate": 16,
    "slot": 8,
    "bid_px": 32,
    "bid_qty": 32,
    "bid_orders": 16,
    "ask_px": 32,
    "ask_qty": 32,
    "ask_orders": 16,
    "unreliable": 1,
    "halted": 1,
    "seq": 64,
    "rx_ts": Timestamp,
})

#: One price level (used in top-N updates).
Level = data.StructLayout({
    "px": 32,
    "qty": 32,
    "orders": 16,
})


def top_n_layout(n):
    """Top-N update for one side of one slot: levels best first, unused levels zero.
    `unreliable` as in BboUpdate: the slot's book flag, or the books are stale (a gap
    not yet recovered), so a consumer of top-N alone also sees it."""
    return data.StructLayout({
        "locate": 16,
        "slot": 8,
        "side": 1,          # 0 = bid, 1 = ask
        "levels": data.ArrayLayout(Level, n),
        "seq": 64,
        "rx_ts": Timestamp,
        "unreliable": 1,
    })


# ---- Pre-trade risk gate (rtl/risk) -------------------------------------------------
#: Order side codes of `Order.side` / `HostEvent.side`.
SIDE_BUY, SIDE_SELL, SIDE_SHORT = 0, 1, 2

#: An order from the host to the risk gate. `qty` in shares, `price` in ITCH units
#: (1/10000 USD); `slot` is the book slot of the symbol; `tif` is carried, not checked.
Order = data.StructLayout({
    "clordid": 64,
    "account": 8,
    "slot": 8,
    "side": 2,
    "tif": 2,
    "qty": 32,
    "price": 32,
})

#: The gate's decision on one order; `reason` 0 = ok, else the first failing check
#: (1 kill_switch .. 12 duplicate); `ts` is `now` when the order entered the gate.
Verdict = data.StructLayout({
    "clordid": 64,
    "accept": 1,
    "reason": 4,
    "ts": Timestamp,
})

#: Host order event releasing exposure: kind 1 = fill, 2 = cancel confirmed.
#: `side` and `price` are those of the original order (the gate keeps no order table).
HostEvent = data.StructLayout({
    "kind": 2,
    "clordid": 64,
    "account": 8,
    "slot": 8,
    "side": 2,
    "qty": 32,
    "price": 32,
})
# Inside the gate (stall-pipelined streams: `ready` is the pipeline advance, the
# consumer registers valid with payload; the later stages' payloads: rtl/risk/layouts.py).

#: Stage 0 -> 1: the input picked this cycle. `kind` 0 order, 1 fill, 2 cancel, 3 bad
#: event; `kill` the kill switch for this order's account; `ts` is `now`.
RiskCandidate = data.StructLayout({
    "kind": 2,
    "order": Order,
    "ts": Timestamp,
    "kill": 1,
    "acct_ok": 1,
    "slot_ok": 1,
})

#: A rejected order as the last_rejects ring stores it.
RiskReject = data.StructLayout({
    "clordid": 64,
    "reason": 4,
    "account": 8,
    "slot": 8,
    "ns": 32,
})

#: The gate's copy of one book slot's top of book (from the BBO stream).
RiskBook = data.StructLayout({
    "bid_px": 32, "bid_qty": 32, "ask_px": 32, "ask_qty": 32, "halted": 1, "unreliable": 1,
})

#: One account's limits, decoded from its `acct_limits` words (docs/limits.md);
#: `enabled` is false until a set has been committed.
AcctLimits = data.StructLayout({
    "enabled": 1, "max_notional": 64, "credit": 64, "interval": 32, "burst": 16,
    "window": 32,
})

#: One slot's limits, decoded from its `sym_limits` words.
SymLimits = data.StructLayout({
    "enabled": 1, "restricted": 1, "allow_no_book": 1, "bps": 1, "max_qty": 32,
    "collar": 32,
})

#: One (account, slot) position limit, from its `pos_limits` words.
PosLimits = data.StructLayout({"long": 32, "short": 32})
# ---- end risk gate ------------------------------------------------------------------
