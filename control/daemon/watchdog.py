"""Watchdog setting validation: a floor, a ceiling, and no silent "off".

Why: `--watchdog-ms 0` used to disable the watchdog without a word, -1 wrapped to
4,294,811,046 cycles and large values wrapped in the 32-bit register. The timeout must
be long enough for heartbeats (every quarter of it) to arrive on a loaded host and short
enough to matter; turning it off takes an explicit --no-watchdog, which is audited.
"""
from tickwire.control.regmap import REGS

from .card import CLOCK_HZ

FLOOR_MS = 10
CEILING_MS = 10_000
_REG_MAX = (1 << REGS["risk.watchdog_cycles"].width) - 1


def validate(watchdog_ms, disabled=False):
    """The cycle count to program (0 only when `disabled`); ValueError otherwise."""
    if disabled:
        return 0
    if isinstance(watchdog_ms, bool) or not isinstance(watchdog_ms, int):
        raise ValueError(f"--watchdog-ms must be a whole number, not {watchdog_ms!r}")
    if watchdog_ms == 0:
        raise ValueError("--watchdog-ms 0 would disable the watchdog: give --no-watchdog "
                         "to run without one (audited)")
    if not FLOOR_MS <= watchdog_ms <= CEILING_MS:
        raise ValueError(f"--watchdog-ms {watchdog_ms} out of range {FLOOR_MS}..{CEILING_MS}")
    cycles = watchdog_ms * CLOCK_HZ // 1000
    assert 0 < cycles <= _REG_MAX
    return cycles
