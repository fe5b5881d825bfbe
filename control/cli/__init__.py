"""Ops CLI subcommands of `tickwire` (status, counters, limits, kill, book, clock, audit)."""
