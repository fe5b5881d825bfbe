"""Pre-trade risk gate (rtl/risk/): limits tables, kill switch, watchdog, order window.

Limits tables are windows onto a shadow bank; a write to `commit` makes the whole
shadow bank active in one cycle (and the old active bank becomes the shadow, so the
control plane always writes a complete set). Table word formats: docs/limits.md.
"""
from ..dsl import Block, Reg, Window

ACCOUNTS = 8            # account indexes 0..7
SLOTS = 16              # book slots 0..15
HISTORY = 16            # accepted orders remembered by the duplicate check
LAST_REJECTS = 8        # entries in the last_rejects ring

ACCT_WORDS = 8          # words per entry of each limits table
SYM_WORDS = 4
POS_WORDS = 2
ORDER_WORDS = 8
REJECT_WORDS = 4

#: Reason codes 1..12 (0 = ok), in priority order: `risk.rejects[i]` counts reason i+1.
REASONS = ("kill_switch", "account_disabled", "restricted", "halted", "no_book", "max_qty",
           "max_notional", "price_collar", "credit", "position", "rate", "duplicate")

BLOCK = Block("risk", 0x2000, "Pre-trade risk gate: checks every order before it leaves.", (
    Reg("orders", "counter", "Orders decided (from the order port and the order window)."),
    Reg("accepts", "counter", "Orders accepted."),
    Reg("rejects", "counter", "Orders rejected with reason i+1 (REASONS[i]: kill_switch, "
        "account_disabled, restricted, halted, no_book, max_qty, max_notional, "
        "price_collar, credit, position, rate, duplicate).", count=len(REASONS)),
    Reg("events", "counter", "Host fill/cancel events applied."),
    Reg("event_errors", "counter", "Host events with a bad kind, account or slot (ignored), "
        "or that released more than was open (clamped at zero)."),
    Reg("bbo_errors", "counter", "BBO updates for a slot the gate does not have (ignored)."),
    Reg("host_dropped", "counter", "Order-window submits while the previous one was pending."),
    Reg("status", "status", "bit0 kill switch engaged (global or watchdog), bit1 watchdog "
        "tripped, bit2 active limits bank, bit3 order-window submit pending.", width=4),
    Reg("reject_head", "status", "Index of the next last_rejects entry to be written.",
        width=8),
    Reg("kill", "control", "Global kill switch: 1 rejects every order (kill_switch)."),
    Reg("kill_accounts", "control", "Per-account kill switch, bit i = account i.",
        width=ACCOUNTS),
    Reg("watchdog_cycles", "control", "Heartbeat timeout in clock cycles; 0 disables the "
        "watchdog. After this many cycles without a heartbeat the kill switch engages "
        "until watchdog_release."),
    Reg("heartbeat", "strobe", "Any write restarts the watchdog timer.", width=1),
    Reg("watchdog_release", "strobe", "Any write releases a tripped watchdog (and restarts "
        "the timer).", width=1),
    Reg("commit", "strobe", "Any write swaps the shadow and active limits banks.", width=1),
    Reg("order_submit", "strobe", "Submit the order window: data 0 = order, 1 = fill event, "
        "2 = cancel event.", width=2),
    Window("order", ORDER_WORDS, "Order staging: 0 clordid lo, 1 clordid hi, 2 account | "
           "slot<<8 | side<<16 | tif<<18, 3 qty, 4 price."),
    Window("last_rejects", LAST_REJECTS * REJECT_WORDS, "Ring of the last rejects, 4 words "
           "each: clordid lo, clordid hi, reason | account<<8 | slot<<16, ts.ns."),
    Window("acct_limits", ACCOUNTS * ACCT_WORDS, "Shadow account limits, 8 words per account "
           "(docs/limits.md)."),
    Window("sym_limits", SLOTS * SYM_WORDS, "Shadow symbol limits, 4 words per slot."),
    Window("pos_limits", ACCOUNTS * SLOTS * POS_WORDS, "Shadow position limits, 2 words per "
           "(account, slot), entry account*SLOTS+slot."),
))
