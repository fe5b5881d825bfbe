"""Statistics counters in block RAM: N 64-bit counts, exact on read.

Each counter i has an input `inc[i]` (`steps[i]` bits) added every cycle. The 64-bit
counts live in one memory (64 bits wide, synchronous read port: Yosys maps it to
DP16KD), counter i at word `slots[i]` (default i: the owner may pick sparse slots
that are cheap to decode from its own addresses); what arrived since a counter was
last visited lives in its small *pending* register.

One access per cycle walks a three-stage pipeline (LATENCY = 2 cycles to `total`),
split so that no stage holds more than a few LUT levels at 156.25 MHz:
  C (capture, cycle t): pending[i] + inc[i] (this cycle's sum) is captured and
    pending[i] restarts at 0 (nothing is lost); the capture is OR-ed per group of
    GROUP counters and registered; the memory word slots[i] is addressed on the read
    port. The restart is the flip-flops' synchronous reset (ECP5 LSR, free), not a
    mask in front of the adder: one LUT per pending bit less (1,479 LUT4 of 5,266
    for the core's 134 counters).
  G (gather, t+1): the groups are OR-ed into one captured value (only the selected
    counter's group is non-zero) and the block RAM word is registered as it leaves
    the memory (its clock-to-out gets a cycle to itself).
  A (add, t+2): total = mem[i] + captured is written back to mem[i]. The read in C
    cannot see the writes of the two accesses ahead (in A during t and t+1), so
    their totals are forwarded when they hit the same slot (newest first).
The access is a *flush* when `flush` (one-hot) selects a counter (the owner also
gives its slot, `flush_slot`, so no 134-way encoder sits in front of the memory),
otherwise the sweeper's (round-robin over 0..N-1). The sweeper yields whenever
`hold` is high (the owner raises it on every cycle that may carry a flush), and then
does not advance.

Exactness: a flush in cycle t yields `total` in cycle t+LATENCY (`done` high) equal
to the sum of inc[i] over every cycle up to and including t, i.e. exactly what a
flip-flop counter `count <= count + inc` shows in cycle t + 1.

Pending width and bound. Contract: `hold` is never high in two consecutive cycles
(the CSR bus has one master and its reads are READ_LATENCY + 2 cycles apart via the
arbiter, >= READ_LATENCY + 2 via AxiLiteToCsr). Then any 2N consecutive cycles hold at
least N sweeper steps, so every counter is visited (swept or flushed) at least once
every 2N cycles, and a pending register holds at most 2N cycles' incs:
    pending[i] <= 2N * (2**step - 1) < 2**(step + bits(2N)).
Each pending register gets one bit more than that (`MARGIN`), which still covers a
sweeper starved for 3 cycles of every 4. Counters whose width would reach 64 get 64
bits: those wrap exactly like the 64-bit count they feed. An overflow is never
silent: a carry out of any pending register sets the sticky `overflow` output (the
simulation tests check it stays low).

After reset every count reads 0 (as flip-flop counters would): a per-counter `stale`
bit, set by reset and captured with the pending value, makes the first access of
each counter ignore the memory word (block RAM contents are not reset).
"""
from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import bits_for

MARGIN = 1
LATENCY = 2         # cycles from a flush to its `total` / `done`
GROUP = 16          # counters per first-level capture group (a 16-way AND-OR: 3 LUT levels)


def pending_width(step, n):
    """Bits of a counter's pending register (see the module docstring for the bound)."""
    return min(64, step + bits_for(2 * n) + MARGIN)


class CounterFile(wiring.Component):
    """`steps`: increment width of each counter. `inc[i]` are plain input signals.

    `slots`: distinct memory word of each counter (default 0..N-1). `mem_init` (tests
    only) is per counter, what reset must not expose.
    """

    def __init__(self, steps, *, slots=None, mem_init=()):
        n = len(steps)
        assert n >= 1
        self.n, self.steps = n, list(steps)
        self.slots = list(range(n)) if slots is None else list(slots)
        assert len(self.slots) == n and len(set(self.slots)) == n and min(self.slots) >= 0
        self.depth = max(self.slots) + 1
        super().__init__({
            "hold": In(1),          # sweeper yields this cycle (high whenever flush may be)
            "flush": In(n),         # one-hot: flush this counter now (requires hold)
            "flush_slot": In(range(self.depth)),  # slots[i] of the counter `flush` selects
            "total": Out(64),       # flushed counter's exact count, LATENCY cycles after flush
            "done": Out(1),         # total valid
            "overflow": Out(1),     # sticky: a pending register overflowed (never expected)
        })
        self.inc = [Signal(s, name=f"inc_{i}") for i, s in enumerate(steps)]
        self.widths = [pending_width(s, n) for s in steps]
        init = [0] * self.depth
        for slot, v in zip(self.slots, mem_init):
            init[slot] = v
        self._mem_init = init if mem_init else []

    def elaborate(self, platform):
        m = Module()
        n, slots = self.n, self.slots
        wmax = max(self.widths)
        m.submodules.mem = mem = Memory(shape=64, depth=self.depth, init=self._mem_init)
        rp = mem.read_port()
        wp = mem.write_port()

        # Sweeper: one-hot ring, its index and that counter's slot (registered, so
        # the memory address is one mux behind a flip-flop), advancing on every
        # non-hold cycle.
        ring = Signal(n, init=1)
        sidx = Signal(range(n))
        sslot = Signal(range(self.depth), init=slots[0])
        with m.If(~self.hold):
            m.d.sync += ring.eq(Cat(ring[-1], ring[:-1]) if n > 1 else ring)
            m.d.sync += sidx.eq(Mux(sidx == n - 1, 0, sidx + 1))
            with m.Switch(sidx):
                for k in range(n):
                    with m.Case(k):
                        m.d.sync += sslot.eq(slots[(k + 1) % n])

        # Stage C: select, capture and clear, address the memory.
        sel = Signal(n)
        m.d.comb += sel.eq(Mux(self.hold, self.flush, ring))
        raddr = Signal(range(self.depth))
        m.d.comb += [raddr.eq(Mux(self.hold, self.flush_slot, sslot)), rp.addr.eq(raddr)]

        captured = []
        ovfs = []
        for i, (inc, w) in enumerate(zip(self.inc, self.widths)):
            pend = Signal(w, name=f"pending_{i}")
            stale = Signal(init=1, name=f"stale_{i}")
            nxt = Signal(w + 1, name=f"pending_{i}_next")
            m.d.comb += nxt.eq(pend + inc)
            with m.If(sel[i]):
                m.d.sync += pend.eq(0)
            with m.Else():
                m.d.sync += pend.eq(nxt[:w])
            m.d.sync += stale.eq(stale & ~sel[i])
            if w < 64:
                ovfs.append(nxt[w])
            captured.append(Mux(sel[i], Cat(nxt[:w], Const(0, wmax - w), stale), 0))
        groups, hits = [], []
        for g in range(0, n, GROUP):
            grp = Signal(wmax + 1, name=f"cap_grp_{g // GROUP}")
            hit = Signal(name=f"cap_grp_{g // GROUP}_hit")
            m.d.sync += [grp.eq(_or_all(captured[g:g + GROUP], wmax + 1)),
                         hit.eq(sel[g:g + GROUP].any())]
            groups.append(grp)
            hits.append(hit)
        g_hold, g_addr = Signal(), Signal(range(self.depth))
        m.d.sync += [g_hold.eq(self.hold), g_addr.eq(raddr)]

        # Stage G: gather the groups, register the memory word, compare slots with
        # the two accesses ahead (in A now, and in A the cycle before). An access
        # took place in C unless a hold selected no counter (from the groups' hits,
        # not a 134-way OR in C).
        g_valid = Signal()
        m.d.comb += g_valid.eq(~g_hold | Cat(*hits).any())
        cap, cap_stale = Signal(wmax), Signal()
        m.d.sync += Cat(cap, cap_stale).eq(_or_all(groups, wmax + 1))
        mem_q = Signal(64)
        m.d.sync += mem_q.eq(rp.data)
        a_valid, a_flush, a_addr = Signal(), Signal(), Signal(range(self.depth))
        p_valid, p_addr = Signal(), Signal(range(self.depth))
        fwd1, fwd2 = Signal(), Signal()
        m.d.sync += [a_valid.eq(g_valid), a_flush.eq(g_hold & g_valid), a_addr.eq(g_addr),
                     p_valid.eq(a_valid), p_addr.eq(a_addr),
                     fwd1.eq(a_valid & (a_addr == g_addr)),
                     fwd2.eq(p_valid & (p_addr == g_addr))]

        # Stage A: add and write back, forwarding the writes the memory word missed.
        last1, last2 = Signal(64), Signal(64)   # totals of A one and two cycles ago
        base = Signal(64)
        m.d.comb += base.eq(Mux(cap_stale, 0, Mux(fwd1, last1, Mux(fwd2, last2, mem_q))))
        total = Signal(64)
        m.d.comb += [total.eq(base + cap),
                     wp.addr.eq(a_addr), wp.data.eq(total), wp.en.eq(a_valid),
                     self.total.eq(total), self.done.eq(a_valid & a_flush)]
        m.d.sync += [last1.eq(total), last2.eq(last1)]

        if ovfs:
            with m.If(Cat(*ovfs).any()):
                m.d.sync += self.overflow.eq(1)
        return m


def _or_all(values, width):
    """Balanced OR of `values` (each at most `width` bits)."""
    values = [v for v in values]
    if not values:
        return Const(0, width)
    while len(values) > 1:
        values = [values[k] | values[k + 1] if k + 1 < len(values) else values[k]
                  for k in range(0, len(values), 2)]
    return values[0]
