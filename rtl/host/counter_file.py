"""Statistics counters in block RAM: N 64-bit counts, exact on read.

Each counter i has an input `inc[i]` (`steps[i]` bits) added every cycle. The 64-bit
counts live in one memory (64 x N, synchronous read port: Yosys maps it to DP16KD);
what arrived since a counter was last visited lives in its small *pending* register.

One access per cycle walks a two-stage pipeline:
  C (capture, cycle t): pending[i] is captured and restarts at this cycle's inc[i]
    (nothing is lost); mem[i] is addressed on the read port.
  A (add, cycle t+1): total = mem[i] + captured is written back to mem[i]. When the
    access of cycle t-1 hit the same i, its total (written in cycle t, after the read
    sampled the memory) is forwarded instead of the memory word.
The access is a *flush* when `flush` (one-hot) selects a counter, otherwise the
sweeper's (round-robin over 0..N-1). The sweeper yields whenever `hold` is high (the
owner raises it on every cycle that may carry a flush; here: every bus read), and
then does not advance.

Exactness: a flush in cycle t yields `total` in cycle t+1 (`done` high) equal to the
sum of inc[i] over every cycle before t, i.e. exactly what a flip-flop counter
`count <= count + inc` shows in cycle t. Cycle t's own inc stays pending.

Pending width and bound. Contract: `hold` is never high in two consecutive cycles
(the CSR bus has one master and its reads are READ_LATENCY + 2 cycles apart via the
arbiter, >= READ_LATENCY + 2 via AxiLiteToCsr). Then any 2N consecutive cycles hold at
least N sweeper steps, so every counter is visited (swept or flushed) at least once
every 2N cycles, and a capture holds at most 2N cycles' incs:
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


def pending_width(step, n):
    """Bits of a counter's pending register (see the module docstring for the bound)."""
    return min(64, step + bits_for(2 * n) + MARGIN)


class CounterFile(wiring.Component):
    """`steps`: increment width of each counter. `inc[i]` are plain input signals."""

    def __init__(self, steps, *, mem_init=()):
        n = len(steps)
        assert n >= 1
        self.n, self.steps = n, list(steps)
        super().__init__({
            "hold": In(1),          # sweeper yields this cycle (high whenever flush may be)
            "flush": In(n),         # one-hot: flush this counter now (requires hold)
            "total": Out(64),       # flushed counter's exact count, the cycle after flush
            "done": Out(1),         # total valid
            "overflow": Out(1),     # sticky: a pending register overflowed (never expected)
        })
        self.inc = [Signal(s, name=f"inc_{i}") for i, s in enumerate(steps)]
        self.widths = [pending_width(s, n) for s in steps]
        self._mem_init = list(mem_init)     # tests only: what reset must not expose

    def elaborate(self, platform):
        m = Module()
        n = self.n
        wmax = max(self.widths)
        m.submodules.mem = mem = Memory(shape=64, depth=n, init=self._mem_init)
        rp = mem.read_port()
        wp = mem.write_port()

        # Sweeper: one-hot ring and its index, advancing on every non-hold cycle.
        ring = Signal(n, init=1)
        sidx = Signal(range(n))
        with m.If(~self.hold):
            m.d.sync += ring.eq(Cat(ring[-1], ring[:-1]) if n > 1 else ring)
            m.d.sync += sidx.eq(Mux(sidx == n - 1, 0, sidx + 1))

        # Stage C: select, capture and clear, address the memory.
        sel = Signal(n)
        m.d.comb += sel.eq(Mux(self.hold, self.flush, ring))
        fidx = Signal(range(n))
        m.d.comb += fidx.eq(_or_all([Mux(self.flush[i], i, 0) for i in range(n)], len(fidx)))
        raddr = Signal(range(n))
        m.d.comb += [raddr.eq(Mux(self.hold, fidx, sidx)), rp.addr.eq(raddr)]

        cap = Signal(wmax)
        cap_stale = Signal()
        captured = []
        ovfs = []
        for i, (inc, w) in enumerate(zip(self.inc, self.widths)):
            pend = Signal(w, name=f"pending_{i}")
            stale = Signal(init=1, name=f"stale_{i}")
            nxt = Signal(w + 1, name=f"pending_{i}_next")
            m.d.comb += nxt.eq(Mux(sel[i], 0, pend) + inc)
            m.d.sync += [pend.eq(nxt[:w]), stale.eq(stale & ~sel[i])]
            if w < 64:
                ovfs.append(nxt[w])
            captured.append(Mux(sel[i], Cat(pend, Const(0, wmax - w), stale), 0))
        m.d.sync += Cat(cap, cap_stale).eq(_or_all(captured, wmax + 1))

        valid = Signal()                    # an access starts this cycle
        m.d.comb += valid.eq(~self.hold | self.flush.any())
        a_valid, a_flush, a_idx = Signal(), Signal(), Signal(range(n))
        m.d.sync += [a_valid.eq(valid), a_flush.eq(self.hold & valid), a_idx.eq(raddr)]

        # Stage A: add and write back, forwarding the previous access's write.
        p_valid, p_idx = Signal(), Signal(range(n))     # the access one cycle ahead
        last = Signal(64)
        m.d.sync += [p_valid.eq(a_valid), p_idx.eq(a_idx)]
        fwd = Signal()
        m.d.comb += fwd.eq(p_valid & (p_idx == a_idx))
        base = Signal(64)
        m.d.comb += base.eq(Mux(cap_stale, 0, Mux(fwd, last, rp.data)))
        total = Signal(64)
        m.d.comb += [total.eq(base + cap),
                     wp.addr.eq(a_idx), wp.data.eq(total), wp.en.eq(a_valid),
                     self.total.eq(total), self.done.eq(a_valid & a_flush)]
        with m.If(a_valid):
            m.d.sync += last.eq(total)

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
