"""XGMII MAC receive (rtl/rx/mac/)."""
from ...regmap.dsl import Block, Reg

BLOCK = Block("mac", "XGMII receive MAC: frame and error counters.", (
    Reg("frames_ok", "counter", "Frames received with a good FCS and legal size."),
    Reg("bytes_ok", "counter", "Bytes (destination MAC to FCS inclusive) in good frames.",
        step=16),
    Reg("fcs_errors", "counter", "Frames whose CRC-32 FCS did not match."),
    Reg("ctrl_errors", "counter", "Frames with an /E/ error or unexpected control character."),
    Reg("runts", "counter", "Frames shorter than 64 bytes (FCS included)."),
    Reg("oversize", "counter", "Frames longer than max_len; truncated and marked bad."),
    Reg("max_len", "control", "Largest legal frame, bytes with FCS (default 1522: one VLAN tag).",
        reset=1522, width=16),
))
