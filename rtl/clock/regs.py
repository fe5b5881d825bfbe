"""PTP-style hardware clock (rtl/clock/hw_clock.py)."""
from ..regmap.dsl import Block, Field, Reg

BLOCK = Block("clock", "Hardware time of day, advanced every cycle by `period`.", (
    Reg("period", "control", "Nanoseconds added per cycle, unsigned 8.32 fixed point "
        "(default 6.4 ns = 0x0_6666_6666 | 6<<32). Writing it is the frequency adjust.",
        width=40, reset=(6 << 32) | 0x66666666),
    Reg("set_sec", "control", "Seconds loaded by CMD.SET.", width=48),
    Reg("set_ns", "control", "Nanoseconds loaded by CMD.SET (0..999999999)."),
    Reg("step_ns", "control", "Signed nanoseconds added atomically by CMD.STEP "
        "(two's complement, |step| < 1 s)."),
    Reg("cmd", "strobe", "Clock commands: write the OR of the bits to run.", width=3, fields=(
        Field("SET", 0, "Load set_sec/set_ns (fraction cleared)."),
        Field("STEP", 1, "Add step_ns."),
        Field("SNAPSHOT", 2, "Latch now into snap_sec/snap_ns."))),
    Reg("snap_sec", "status", "Seconds latched by CMD.SNAPSHOT.", width=48),
    Reg("snap_ns", "status", "Nanoseconds latched by CMD.SNAPSHOT."),
    Reg("rx_ts_offset_ns", "status", "Fixed correction subtracted from the time at the SFD "
        "to give the receive timestamp (the MAC's input pipeline delay)."),
))
