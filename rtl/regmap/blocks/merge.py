"""A/B port merge in front of MoldUDP64 (rtl/feed_merge.py)."""
from ..dsl import Block, Reg

BLOCK = Block("merge", 0x0500, "Port A/B packet merge into the MoldUDP64 stage.", (
    Reg("overflow_a", "counter", "Beats dropped because port A's queue was full "
        "(the packet is truncated and marked bad)."),
    Reg("overflow_b", "counter", "Beats dropped because port B's queue was full."),
))
