"""A/B sequencer and hold buffers (rtl/rx/merge/feed_merge.py)."""
from ...regmap.dsl import Block, Reg

BLOCK = Block("merge", "A/B sequencer: duplicates, hold buffers, hold window and jumps.", (
    Reg("overflow_a", "counter", "Port-A messages dropped because its hold buffer was full."),
    Reg("overflow_b", "counter", "Port-B messages dropped because its hold buffer was full."),
    Reg("dup_discard_a", "counter", "Port-A messages discarded as duplicates.", step=2),
    Reg("dup_discard_b", "counter", "Port-B messages discarded as duplicates.", step=2),
    Reg("dup_discard_msgs", "counter", "Messages discarded as duplicates (both ports).", step=3),
    Reg("held", "counter", "Messages that waited in a hold buffer (ahead of a gap).", step=2),
    Reg("hold_timeouts", "counter", "Hold windows that expired: a gap declared."),
    Reg("jump_drops", "counter", "Messages dropped as an unconfirmed jump (sequence number "
        "more than the jump window ahead, live or held before the start was confirmed).",
        step=3),
    Reg("jumps", "counter", "Jumps confirmed (by the next packet or the other feed): a gap "
        "declared at once."),
    Reg("hold_cycles", "control", "Hold window: cycles without progress before a gap is "
        "declared.", width=32, reset=8192),
    Reg("hold_packets", "control", "Hold window: packets arriving without progress before a "
        "gap is declared.", width=16, reset=64),
    Reg("hold_both", "control", "Hold window: packets arriving while both feeds are past the "
        "gap (each port's oldest held message is ahead of it) before it is declared; 0 = "
        "off (only hold_cycles / hold_packets).", width=4, reset=4),
))
