"""ITCH 5.0 message decoder (rtl/rx/itch/)."""
from ...regmap.dsl import Block, Reg

#: Counter index order of `itch.msgs[i]`: the 23 ITCH 5.0 message types.
TYPE_ORDER = "SRHYLVWKJhAFECXDUPQBINO"

BLOCK = Block("itch", "ITCH 5.0 decoder: per-type and error counters.", (
    Reg("msgs", "counter", "Messages of type TYPE_ORDER[i] = 'SRHYLVWKJhAFECXDUPQBINO'[i] "
        "decoded with a correct length.", count=len(TYPE_ORDER)),
    Reg("length_errors", "counter", "Message blocks whose length does not match their type."),
    Reg("unknown_type", "counter", "Message blocks of a type ITCH 5.0 does not define "
        "(counted whatever their length)."),
))
