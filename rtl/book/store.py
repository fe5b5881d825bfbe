"""HashStore: a set-associative table in block RAM with a pipelined read-modify-write.

Why one component: every book table (orders, price levels, price-tree nodes, the
per-side level cache, the best-level copy) is "find the entry with this key, change
it, write it back", and all must take a new operation every 2 cycles with their
block RAM reads registered. One tested implementation of that, parametrised by the
change (`modify`), keeps the forwarding right in one place.

Timing (an operation may enter every 2 cycles; never in two consecutive cycles):
  c0  `i` valid: the set index (H3 hash of the key, or its low bits) addresses the
      read port.
  c1  the set arrives from the block RAM and is registered, *forwarded*: if the
      previous cycle wrote the same set (the operation 2 cycles ahead, same set),
      the written word replaces the read one, so back-to-back operations on one
      key (an Add at once followed by its Delete) see each other.
  c2  ways compared with the key; `modify(m, op, hit, old)` gives the new value,
      whether the entry stays (`keep`) and whether a miss may create it; the set
      is written back (valid = keep) and `peek` shows the new value.
  c3  `o`: the operation with hit/created/removed/full and old/new values, registered
      (`new` = `old` when nothing was written).
An operation with `en` = 0 is a probe: it reads and reports, writes nothing.
`veto` (sampled at c2) turns the operation into a probe too (the caller's late
verdict: an unsubscribed locate, a full table). `clr` writes zeros to set
`clr_addr` (sweeps; only while no operation is in flight).
"""
from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .hashing import h3_hash


def _in_layout(key_bits, op_shape, ctx_shape):
    return data.StructLayout({"key": key_bits, "op": op_shape, "ctx": ctx_shape, "en": 1})


def _out_layout(key_bits, op_shape, ctx_shape, value_shape):
    return data.StructLayout({"key": key_bits, "op": op_shape, "ctx": ctx_shape, "en": 1,
                              "hit": 1, "created": 1, "removed": 1, "full": 1,
                              "old": value_shape, "new": value_shape})


class HashStore(wiring.Component):
    """`sets` x `ways` entries of (valid, key, value); `index` "h3" or "direct"."""

    def __init__(self, *, key_bits, value_shape, op_shape, ctx_shape, sets, ways, modify,
                 index="h3", seed=0, q_port=False):
        assert sets >= 2 and sets & (sets - 1) == 0 and key_bits <= 64
        self.key_bits, self.sets, self.ways, self.seed = key_bits, sets, ways, seed
        self.set_bits = sets.bit_length() - 1
        self.value_shape, self.modify, self.index, self.q_port = value_shape, modify, index, q_port
        self.entry = data.StructLayout({"valid": 1, "key": key_bits, "value": value_shape})
        self.set_layout = data.ArrayLayout(self.entry, ways)
        members = {
            "i": In(stream.Signature(_in_layout(key_bits, op_shape, ctx_shape), always_ready=True)),
            "o": Out(stream.Signature(_out_layout(key_bits, op_shape, ctx_shape, value_shape),
                                      always_ready=True)),
            "veto": In(1),
            "peek": Out(value_shape),
            "clr": In(1),
            "clr_addr": In(self.set_bits),
        }
        if q_port:
            members.update({"q_addr": In(self.set_bits), "q_data": Out(self.set_layout)})
        super().__init__(members)

    def set_index(self, key):
        """The set of a key (int or Amaranth value)."""
        if self.index == "direct":
            return key & (self.sets - 1) if isinstance(key, int) else key[:self.set_bits]
        return h3_hash(key, self.set_bits, self.seed)

    def elaborate(self, platform):
        m = Module()
        W = self.ways
        m.submodules.mem = mem = Memory(shape=self.set_layout, depth=self.sets, init=[],
                                        attrs={"no_rw_check": 1})
        rd, wr = mem.read_port(), mem.write_port()
        if self.q_port:
            qrd = mem.read_port()
            m.d.comb += [qrd.addr.eq(self.q_addr), self.q_data.eq(qrd.data)]

        # c0: address the set
        key = Cat(self.i.payload.key, Const(0, 64 - self.key_bits))
        idx0 = Signal(self.set_bits)
        m.d.comb += [idx0.eq(self.set_index(key if self.index == "h3" else self.i.payload.key)),
                     rd.addr.eq(idx0)]
        s1, s2 = Signal.like(self.i.payload, name="s1"), Signal.like(self.i.payload, name="s2")
        v1, v2 = Signal(), Signal()
        a1, a2 = Signal(self.set_bits), Signal(self.set_bits)
        m.d.sync += [v1.eq(self.i.valid), s1.eq(self.i.payload), a1.eq(idx0),
                     v2.eq(v1), s2.eq(s1), a2.eq(a1)]

        # c1: register the set, forwarding last cycle's write to the same set
        wq_en, wq_addr = Signal(), Signal(self.set_bits)
        wq_data = Signal(self.set_layout)
        rset = Signal(self.set_layout)
        m.d.sync += rset.eq(Mux(wq_en & (wq_addr == a1), wq_data, rd.data))

        # c2: compare, modify, write back
        match = Signal(W)
        free = Signal(W)
        for w in range(W):
            m.d.comb += [match[w].eq(rset[w].valid & (rset[w].key == s2.key)),
                         free[w].eq(~rset[w].valid)]
        hit = match.any()
        old = Signal(self.value_shape)
        acc = 0
        for w in range(W):
            acc = acc | Mux(match[w], Value.cast(rset[w].value), 0)
        m.d.comb += Value.cast(old).eq(acc)
        new, keep, may_create = self.modify(m, s2.op, hit, old)
        m.d.comb += self.peek.eq(new)
        free_w = Signal(range(W))
        for w in reversed(range(W)):
            with m.If(free[w]):
                m.d.comb += free_w.eq(w)
        hit_w = Signal(range(W))
        for w in reversed(range(W)):
            with m.If(match[w]):
                m.d.comb += hit_w.eq(w)
        write = v2 & s2.en & ~self.veto
        wdata = Signal(self.set_layout)
        m.d.comb += wdata.eq(rset)
        created, removed, full, we = Signal(), Signal(), Signal(), Signal()
        with m.If(write & hit):
            m.d.comb += [wdata[hit_w].value.eq(new), wdata[hit_w].valid.eq(keep), we.eq(1),
                         removed.eq(~keep)]
        with m.Elif(write & keep & may_create):
            with m.If(free.any()):
                m.d.comb += [wdata[free_w].valid.eq(1), wdata[free_w].key.eq(s2.key),
                             wdata[free_w].value.eq(new), we.eq(1), created.eq(1)]
            with m.Else():
                m.d.comb += full.eq(1)
        m.d.comb += [wr.addr.eq(Mux(self.clr, self.clr_addr, a2)),
                     wr.data.eq(Mux(self.clr, 0, wdata)), wr.en.eq(self.clr | we)]
        m.d.sync += [wq_en.eq(wr.en), wq_addr.eq(wr.addr), wq_data.eq(wr.data)]

        # c3: registered result
        o = self.o.payload
        m.d.sync += [self.o.valid.eq(v2), o.key.eq(s2.key), o.op.eq(s2.op), o.ctx.eq(s2.ctx),
                     o.en.eq(s2.en & ~self.veto), o.hit.eq(hit), o.created.eq(created),
                     o.removed.eq(removed), o.full.eq(full), o.old.eq(old),
                     o.new.eq(Mux(we, Value.cast(new), Value.cast(old)))]
        return m
