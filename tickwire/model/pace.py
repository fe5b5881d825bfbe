"""The book's nominal pace, as the A/B merge's `pause` sees it (rtl/book/book_input.py).

Why a model of its own: which held messages the merge delivers depends on when it
releases them (each release restarts the hold window and frees a hold-buffer slot),
and releases wait while the book's input queue is nearly full. The gateware paces by
a counter of the book's *nominal* work, not by the queue itself (the book's real holds
for next-best searches depend on the whole book), so this is exact, cycle by cycle:

- the counter N counts half-operations: a book message (A F E C X D H) adds 2, a U
  (two book operations) 4, when it reaches the book's input, `loop` cycles after the
  sequencer decided to deliver it; every cycle it falls by one (one operation every 2
  cycles), never below 0: N(c + 1) = N(c) - (N(c) != 0) + added(c);
- `almost_full` is a register of N >= 2 * room, and the sequencer's heads wait in cycle
  t while N(t - 1) >= 2 * room; room = depth - SLACK - depth // LAG_DIV operations
  (the rest of the queue is the allowance for the book's holds: past it the queue
  itself pauses the merge, counted in book.pace_lag, which this model leaves at 0).
"""
from collections import deque

SLACK = 8
LAG_DIV = 4
#: Cycles from the sequencer's delivery decision to BookInput's input: the decision
#: register, the merge's output register, the ITCH decoder's output register.
LOOP = 3


def room(depth):
    """Book operations of nominal backlog at which held messages wait."""
    return max(1, depth - SLACK - depth // LAG_DIV)


class NominalPace:
    def __init__(self, depth, loop=LOOP):
        self.limit = 2 * room(depth)
        self.loop = loop
        self.n, self.c = 0, 0           # N(c)
        self.pending = deque()          # (arrival cycle, half-operations), in order

    def level(self, c):
        """N(c), half-operations; c never goes back."""
        while self.c < c:
            if self.pending and self.pending[0][0] <= self.c:
                add = 0
                while self.pending and self.pending[0][0] <= self.c:
                    add += self.pending.popleft()[1]
                self.n = self.n - (self.n != 0) + add
                self.c += 1
            else:
                step = min(c, self.pending[0][0] if self.pending else c) - self.c
                self.n, self.c = max(0, self.n - step), self.c + step
        return self.n

    def paused(self, t):
        return self.level(t - 1) >= self.limit

    def first_free(self, t):
        """The first cycle >= t in which held messages may go."""
        while True:
            n = self.level(t - 1)
            if n < self.limit:
                return t
            # nothing arrives before then: N falls by one a cycle
            skip = n - self.limit + 1
            if self.pending and self.pending[0][0] < t - 1 + skip:
                skip = 1
            t += skip

    def peek_free(self, t):
        """first_free(t) without moving the counter's clock (a release may not happen)."""
        saved = self.n, self.c, deque(self.pending)
        try:
            return self.first_free(t)
        finally:
            self.n, self.c, self.pending = saved

    def sent(self, t, msg):
        """A message delivered in cycle t; book types reach the book `loop` cycles later."""
        if msg and msg[0] in b"AFECXDUH":
            self.pending.append((t + self.loop, 4 if msg[0] == ord("U") else 2))
