"""A/B port merge in front of MoldUDP64 (rtl/rx/merge/feed_merge.py)."""
from ...regmap.dsl import Block, Reg

BLOCK = Block("merge", "Port A/B packet merge into MoldUDP64, (its queues and duplicate discards).", (
    Reg("overflow_a", "counter", "Beats dropped because port A's queue was full "
        "(the packet is truncated and marked bad)."),
    Reg("overflow_b", "counter", "Beats dropped because port B's queue was full."),
    Reg("dup_discard_a", "counter", "Queued port-A packets discarded as duplicates: their "
        "whole sequence range was already delivered or in flight (MoldUDP64 never sees them)."),
    Reg("dup_discard_b", "counter", "Queued port-B packets discarded as duplicates."),
    Reg("dup_discard_msgs", "counter", "Messages in the packets discarded as duplicates.",
        step=17),
))
