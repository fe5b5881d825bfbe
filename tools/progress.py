"""A one-line progress bar for long runs: done/total, rate and time left.

Why: a million-message replay runs for tens of seconds; a silent terminal looks hung.
It draws only on a terminal (never into a file or a pipe), only once a run has lasted
`delay` seconds (short runs stay quiet), and is erased when the run ends.
"""
import sys
import time


class Bar:
    def __init__(self, total, unit="msg", label="", stream=None, enabled=None, delay=2.0,
                 width=30):
        self.total, self.unit, self.label, self.width = max(int(total), 1), unit, label, width
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.delay = delay
        self.t0 = time.monotonic()
        self.last_draw = 0.0
        self.drawn = False

    def __call__(self, done):
        self.update(done)

    def update(self, done):
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.t0 < self.delay or now - self.last_draw < 0.2:
            return
        self.last_draw = now
        self.stream.write("\r" + self.line(done, now - self.t0))
        self.stream.flush()
        self.drawn = True

    def line(self, done, elapsed):
        """The bar's text for `done` units after `elapsed` seconds."""
        done = min(int(done), self.total)
        frac = done / self.total
        fill = int(frac * self.width)
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - done) / rate if rate > 0 else None
        left = f"ETA {eta:.0f} s" if eta is not None else "ETA -"
        head = f"{self.label} " if self.label else ""
        return (f"{head}[{'#' * fill}{'.' * (self.width - fill)}] {done:,}/{self.total:,} "
                f"{self.unit}  {rate:,.0f} {self.unit}/s  {left}  ")

    def close(self):
        if self.drawn:
            self.stream.write("\r" + " " * (self.width + 80) + "\r")
            self.stream.flush()
            self.drawn = False
