"""Pre-trade risk gate (rtl/risk/): limits tables, kill switch, watchdog, order window.

Limits tables are windows onto a shadow bank; a write to `commit` makes the whole
shadow bank active in one cycle (and the old active bank becomes the shadow, so the
control plane always writes a complete set). Table word formats: docs/limits.md.
"""
from ..regmap.dsl import Block, Field, Reg, Window

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

#: The gate's windows, in declaration order (ports `w_<name>`).
WINDOWS = ("order", "last_rejects", "acct_limits", "sym_limits", "pos_limits")

#: What `order_submit` submits (the written value).
SUBMIT_KIND = Field("KIND", 0, "What the order window holds.", width=2,
                    values={"ORDER": 0, "FILL": 1, "CANCEL": 2})


def block(accounts, slots):
    """The gate's registers; the limits windows are sized by the build's geometry
    (CoreConfig.risk_accounts, risk_slots)."""
    return Block("risk", "Pre-trade risk gate: checks every order before it leaves.",
                 _items(accounts, slots))


def _items(accounts, slots):
    return (
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
    Reg("status", "status", "Gate state.", width=4, fields=(
        Field("KILLED", 0, "Kill switch engaged (global or watchdog)."),
        Field("WATCHDOG_TRIPPED", 1, "The watchdog tripped."),
        Field("ACTIVE_BANK", 2, "Active limits bank."),
        Field("SUBMIT_PENDING", 3, "An order-window submit is pending."))),
    Reg("reject_head", "status", "Index of the next last_rejects entry to be written.",
        width=8),
    Reg("kill", "control", "Global kill switch: 1 rejects every order (kill_switch).",
        width=1),
    Reg("kill_accounts", "control", "Per-account kill switch, bit i = account i.",
        width=accounts),
    Reg("watchdog_cycles", "control", "Heartbeat timeout in clock cycles; 0 disables the "
        "watchdog. After this many cycles without a heartbeat the kill switch engages "
        "until watchdog_release."),
    Reg("heartbeat", "strobe", "Any write restarts the watchdog timer.", width=1),
    Reg("watchdog_release", "strobe", "Any write releases a tripped watchdog (and restarts "
        "the timer).", width=1),
    Reg("commit", "strobe", "Any write swaps the shadow and active limits banks.", width=1),
    Reg("order_submit", "strobe", "Submit the order window as an order, a fill event or a "
        "cancel event.", width=2, fields=(SUBMIT_KIND,)),
    Window("order", ORDER_WORDS, "Order staging: 0 clordid lo, 1 clordid hi, 2 account | "
           "slot<<8 | side<<16 | tif<<18, 3 qty, 4 price."),
    Window("last_rejects", LAST_REJECTS * REJECT_WORDS, "Ring of the last rejects, 4 words "
           "each: clordid lo, clordid hi, reason | account<<8 | slot<<16, ts.ns."),
    Window("acct_limits", accounts * ACCT_WORDS, "Shadow account limits, 8 words per account "
           "(docs/limits.md)."),
    Window("sym_limits", slots * SYM_WORDS, "Shadow symbol limits, 4 words per slot."),
    Window("pos_limits", accounts * slots * POS_WORDS, "Shadow position limits, 2 words per "
           "(account, slot), entry account*slots+slot."),
)
