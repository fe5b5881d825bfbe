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
      latest write was to the same set (the operation 2 cycles ahead, same set: the
      RAM takes each write a cycle after it is decided, from a register), the
      written word replaces the read one, so back-to-back operations on one key (an
      Add at once followed by its Delete) see each other (the select is a register,
      compared in c0). A split store also compares each way's key with the
      operation's here, in 8-bit pieces it registers.
  c2  ways compared with the key (split: the registered pieces ANDed, and those of
      the write the operation ahead makes meanwhile, `f2`, made from its registers
      in c1); `modify(m, op, hit, old)` gives the new value,
      whether the entry stays (`keep`) and whether a miss may create it; the set
      is written back (valid = keep) and `peek` shows the new value.
  c3  `o`: the operation with hit/created/removed/full and old/new values, registered
      (`new` = `old` when nothing was written).
`prepare(m, op, hit, old)` (optional) is computed in the compare cycle and, split,
registered for `modify(m, op, hit, old, pre)`: a table whose change needs wide
compares (the level cache) does them in c2 so c3 is only selects and muxes. With one
way, `prepare` gets the way's value unmasked (`hit`: it is valid) and must mask what
it uses; a split store computes it on the read word and on the forwarded write and
selects after.
`modify` must keep, on a miss (old = 0), whatever it may create: the create decision
does not wait for `keep` (true of every book table).
`unwritten_old` (a one-way, direct, one-key-per-set table whose `modify` always may
create, as the level cache): every operation that writes is a write of the way, so
`modify(..., write)` gets the write decision (a register when split) and returns
`old` unless it writes; `o_new` is then `new` itself, not a word-wide select of new
or old (the level cache's word is ~1,300 bits: ~1,300 LUTs).
Stored keys are quotients: an entry sits in the set its key hashes to, so the bits
of the key that its set index determines are not stored. For bank b the H3 index is
linear over GF(2), idx = H_b k; `quotient_positions` picks set_bits key positions P_b where
H_b's columns are independent and stores the key without them (a direct index drops
its own low bits). Two keys in one set with equal stored bits then have
H_b (k1 ^ k2) = 0 with k1 ^ k2 zero outside P_b, so k1 == k2: a match is still exact.
Why: the board build ran out of block RAM, and set_bits fewer bits a way put several
tables below a 36-bit boundary (orders, levels, the tree's leaves and depth 4: 8
DP16KD on the board build); the compares get shorter too.
An operation with `en` = 0 is a probe: it reads and reports, writes nothing.
`veto` (sampled at c2) turns the operation into a probe too (the caller's late
verdict: an unsubscribed locate, a full table). `clr` empties set
`clr_addr` a cycle later: writes its ways' valid bits 0 (sweeps; only while no operation
is in flight).
"""
from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .hashing import h3_hash, h3_masks


def quotient_positions(masks, key_bits):
    """Key bit positions (as many as `masks`, one row each) whose columns of the index
    matrix are independent over GF(2), lowest first; None when there are not enough."""
    basis, picked = {}, []          # leading bit -> column vector (XOR basis)
    for c in range(key_bits):
        v = sum((mk >> c & 1) << j for j, mk in enumerate(masks))
        while v:
            top = v.bit_length() - 1
            if top not in basis:
                basis[top] = v
                picked.append(c)
                break
            v ^= basis[top]
        if len(picked) == len(masks):
            return picked
    return None


def _in_layout(key_bits, op_shape, ctx_shape):
    return data.StructLayout({"key": key_bits, "op": op_shape, "ctx": ctx_shape, "en": 1})


def _out_layout(key_bits, op_shape, ctx_shape, value_shape):
    return data.StructLayout({"key": key_bits, "op": op_shape, "ctx": ctx_shape, "en": 1,
                              "hit": 1, "created": 1, "removed": 1, "full": 1,
                              "old": value_shape, "new": value_shape})


class _WriteReq:
    """A bank's write as decided (comb), before its register on the way to the RAM."""

    def __init__(self, set_layout, set_bits, b):
        self.en, self.clr = Signal(name=f"wreq_en{b}"), Signal(name=f"wreq_clr{b}")
        self.addr = Signal(set_bits, name=f"wreq_addr{b}")
        self.data = Signal(set_layout, name=f"wreq_data{b}")


class HashStore(wiring.Component):
    """`banks` x `sets` x `ways` entries of (valid, key, value); `index` "h3" or "direct".

    With two banks (two-choice hashing: each bank has its own H3 hash, a lookup reads
    both, a new key goes to the bank with more free ways) the fullest set stays close
    to the average, so a table runs at 50 % load with almost no full set; the banks
    are separate memories, so each is still one read and one write port.
    """

    def __init__(self, *, key_bits, value_shape, op_shape, ctx_shape, sets, ways, modify,
                 index="h3", seed=0, q_port=False, banks=1, split=False, prepare=None,
                 alt_key=False, alt_idx=False, alt2=False, way_prepare=None,
                 unwritten_old=False):
        assert sets >= 2 and sets & (sets - 1) == 0 and key_bits <= 64
        assert banks == 1 or index == "h3"
        self.key_bits, self.sets, self.ways, self.seed, self.banks = key_bits, sets, ways, seed, banks
        self.split, self.prepare, self.has_alt, self.has_alt_idx = split, prepare, alt_key, alt_idx
        self.has_alt2, self.way_prepare = alt2, way_prepare
        self.latency = 4 if split else 3
        self.set_bits = sets.bit_length() - 1
        self.value_shape, self.modify, self.index, self.q_port = value_shape, modify, index, q_port
        # writes are exactly `write` only with one way holding one key per set
        assert not unwritten_old or (ways == 1 and self.one_key_per_set)
        self.unwritten_old = unwritten_old
        self.drop = [self._dropped(b) for b in range(banks)]
        if len({len(d) for d in self.drop}) > 1:    # a bank's matrix short of rank: the
            self.drop = [[] for _ in range(banks)]  # banks share one word layout
        self.tag_bits = key_bits - len(self.drop[0])
        self.entry = data.StructLayout({"valid": 1, "key": max(1, self.tag_bits),
                                        "value": value_shape})
        self.set_layout = data.ArrayLayout(self.entry, ways)
        members = {
            "i": In(stream.Signature(_in_layout(key_bits, op_shape, ctx_shape), always_ready=True)),
            "o": Out(stream.Signature(_out_layout(key_bits, op_shape, ctx_shape, value_shape),
                                      always_ready=True)),
            "veto": In(1),
            "peek": Out(value_shape),
            "o_new": Out(value_shape),   # o.payload.new a cycle ahead (comb)
            "clr": In(1),
            "clr_addr": In(self.set_bits),
        }
        if q_port:
            members.update({"q_addr": In(self.set_bits), "q_data": Out(self.set_layout)})
        if alt_key:     # `alt`: the operation's key is `alt_key` instead of i.payload.key
            members.update({"alt": In(1), "alt_key": In(key_bits)})
        if alt_idx:     # `alt_key`'s set in each bank, computed by the caller (registers)
            members.update({"alt_idx": In(self.set_bits * banks)})
        if alt2:        # without `alt`, `alt2` makes the key `alt2_key`
            members.update({"alt2": In(1), "alt2_key": In(key_bits)})
        super().__init__(members)

    @property
    def one_key_per_set(self):
        """A direct-indexed table whose key fits its set index: each set only ever holds
        entries of its own key (valid is the match)."""
        return self.index == "direct" and self.key_bits <= self.set_bits

    def _dropped(self, b):
        """The key positions bank b's set index determines (not stored; see above)."""
        if self.one_key_per_set:
            return []
        if self.index == "direct":
            return list(range(self.set_bits))
        return quotient_positions(h3_masks(self.set_bits, self.seed + b), self.key_bits) or []

    def tag(self, key, b):
        """What bank b stores of `key` (an Amaranth value): the key without `drop[b]`."""
        key = Value.cast(key)
        keep = [key[i] for i in range(self.key_bits) if i not in self.drop[b]]
        return Cat(*keep) if keep else Const(0, 1)

    def set_index(self, key, bank=0):
        """The set of a key (int or Amaranth value) in `bank`."""
        if self.index == "direct":
            return key & (self.sets - 1) if isinstance(key, int) else key[:self.set_bits]
        return h3_hash(key, self.set_bits, self.seed + bank)

    def key_index(self, key, bank=0):
        """The set of a `key_bits` value in `bank`, as the read port is addressed."""
        return self.set_index(Cat(key, Const(0, 64 - self.key_bits))
                              if self.index == "h3" else key, bank)

    def _hash_tree(self, m, key, b, tag):
        """`key_index` of an h3 table as a balanced XOR tree: each set bit's terms in
        kept groups of 4 (ABC made the 32-term XORs chains of 5-6 LUTs)."""
        out = []
        for j, mk in enumerate(h3_masks(self.set_bits, self.seed + b)):
            terms = [key[i] for i in range(self.key_bits) if mk >> i & 1]
            groups = []
            for g in range(0, len(terms), 4):
                x = Signal(name=f"hx{b}_{tag}_{j}_{g // 4}", attrs={"keep": 1})
                m.d.comb += x.eq(Cat(*terms[g:g + 4]).xor())
                groups.append(x)
            out.append(Cat(*groups).xor())
        return Cat(*out)

    def _pieces(self, m, word_key, key, tag):
        """The key compare in kept 8-bit pieces (a balanced tree: ABC made one 64-bit
        compare a chain of 7 LUTs)."""
        eqs = []
        for j in range(0, len(Value.cast(key)), 8):
            e = Signal(name=f"eq{tag}_{j // 8}", attrs={"keep": 1})
            m.d.comb += e.eq(word_key[j:j + 8] == key[j:j + 8])
            eqs.append(e)
        return eqs

    def _early_pieces(self, m, b, rd_data, wq_data, hit_w, key1):
        """A split store's key compares, made in c1 and registered (`eq_r`: the read set
        as forwarded, against the operation's key), so that c2 starts from the pieces:
        c1 had only the forwarding select, c2 the compare, the way match, the select of
        the forwarded word and the first match (8 LUT levels across the table). The
        pieces of the write the operation 2 ahead makes in our c1 (`eq2_r`, for `f2`)
        are driven in elaborate from that operation's registers."""
        eq_r, eq2_r = [], []
        tag1 = self.tag(key1, b)
        for w in range(self.ways):
            raw = self._pieces(m, rd_data[w].key, tag1, f"c1r{b}_{w}")
            fwd = self._pieces(m, wq_data[w].key, tag1, f"c1w{b}_{w}")
            regs = [Signal(name=f"eq_r{b}_{w}_{j}") for j in range(len(raw))]
            m.d.sync += [r.eq(Mux(hit_w, f, x)) for r, f, x in zip(regs, fwd, raw)]
            eq_r.append(regs)
            eq2_r.append([Signal(name=f"eq2_r{b}_{w}_{j}") for j in range(len(raw))])
        self._eq.append((eq_r, eq2_r))

    def _ahead_pieces(self, m, sel, s, s1):
        """The pieces of the word this operation writes (its c3), against the key of
        the operation 2 behind it (in its c1), for that one's `f2`: the written way's
        key is ours on an insert, else the way's own (as `wdata` in elaborate)."""
        for b, (_, eq2_r) in enumerate(self._eq):
            for w in range(self.ways):
                wkey = Mux(sel["ins_1h"][b][w], self.tag(s.key, b), sel["sets"][b][w].key)
                m.d.sync += [r.eq(e) for r, e in
                             zip(eq2_r[w], self._pieces(m, wkey, self.tag(s1.key, b),
                                                        f"c1n{b}_{w}"))]

    def _bank(self, m, b, key1):
        """Bank b's memory, c0 address and c1 forwarded set (`key1`: the operation's key
        in c1, for the early compares): (rset, a2, wr)."""
        mem = Memory(shape=self.set_layout, depth=self.sets, init=[], attrs={"no_rw_check": 1})
        m.submodules[f"mem{b}" if self.banks > 1 else "mem"] = mem
        rd, wport = mem.read_port(), mem.write_port()

        def index(k, tag):
            # each candidate key's set kept (a LUT output): ABC otherwise hashed the
            # selected key it shares with s1, putting the late select ahead of the XORs
            h = self._hash_tree(m, k, b, tag) if self.index == "h3" else self.key_index(k, b)
            if not (self.has_alt or self.has_alt2):
                return h
            ix = Signal(self.set_bits, name=f"ix{b}_{tag}", attrs={"keep": 1})
            m.d.comb += ix.eq(h)
            return ix
        idx0 = Signal(self.set_bits, name=f"idx0_{b}")
        base = index(self.i.payload.key, "k")
        if self.has_alt2:
            base = Mux(self.alt2, index(self.alt2_key, "k2"), base)
        if self.has_alt_idx:
            sb = self.set_bits
            m.d.comb += idx0.eq(Mux(self.alt, self.alt_idx[b * sb:(b + 1) * sb], base))
        elif self.has_alt:    # both sets hashed, `alt` (a late select) picks one
            m.d.comb += idx0.eq(Mux(self.alt, index(self.alt_key, "a"), base))
        else:
            m.d.comb += idx0.eq(base)
        m.d.comb += rd.addr.eq(idx0)
        a1, a2 = Signal(self.set_bits, name=f"a1_{b}"), Signal(self.set_bits, name=f"a2_{b}")
        m.d.sync += [a1.eq(idx0), a2.eq(a1)]
        # the write is registered on its way to the block RAM (`wq`, written a cycle
        # after the decision): the modify logic and the RAM's data pins are often far
        # apart (the level cache's word spans ~37 DP16KD), so the wire gets its own
        # cycle. `wq` keeps the latest write (its address and word change only on a
        # write), so a read at c0 sees the write in flight and the one before it, which
        # the RAM now takes a cycle later: operations write at most every 2 cycles, so
        # whenever the RAM misses a write, it is the latest (`hit_w`); only a sweep
        # writes in consecutive cycles, and a clear's forwarding is its valid bits at 0
        # (`hit_c`: the clear before the latest write, still on its way to the RAM)
        wr = _WriteReq(self.set_layout, self.set_bits, b)
        wq_en, wq_addr = Signal(name=f"wq_en{b}"), Signal(self.set_bits, name=f"wq_addr{b}")
        wq_data = Signal(self.set_layout, name=f"wq_data{b}")
        wq_live, wq_clr = Signal(name=f"wq_live{b}"), Signal(name=f"wq_clr{b}")
        m.d.sync += [wq_en.eq(wr.en), wq_clr.eq(wr.clr & wr.en), wq_live.eq(wq_live | wr.en)]
        with m.If(wr.en):
            m.d.sync += [wq_addr.eq(wr.addr), wq_data.eq(wr.data)]
        m.d.comb += [wport.addr.eq(wq_addr), wport.data.eq(wq_data), wport.en.eq(wq_en)]
        if self.q_port:
            # the second read sees what it saw when the RAM wrote at once: the write in
            # flight (at the RAM's port this cycle) is forwarded; none follows it in the
            # next cycle but a sweep's clear, which leaves the word invalid either way
            qrd, hq = mem.read_port(), Signal(name=f"hq{b}")
            m.d.comb += [qrd.addr.eq(self.q_addr),
                         self.q_data.eq(Mux(hq, wq_data, qrd.data))]
            m.d.sync += hq.eq(wq_en & (wq_addr == self.q_addr))
        # both selects are registers, compared in c0 against the address read (they
        # drive the whole word: from an address compare in c1 the level cache's ~1,300
        # selects were 3 LUTs and a 4 ns spread behind `wq_addr`)
        hit_w, hit_c = Signal(name=f"hit_w{b}"), Signal(name=f"hit_c{b}")
        new_w, old_w = Signal(name=f"new_w{b}"), Signal(name=f"old_w{b}")
        m.d.comb += [new_w.eq(wr.addr == idx0), old_w.eq(wq_live & (wq_addr == idx0))]
        m.d.sync += [hit_w.eq(Mux(wr.en, new_w, old_w)),
                     hit_c.eq(wq_en & wq_clr & (wq_addr == idx0))]
        rset = Signal(self.set_layout, name=f"rset{b}")
        m.d.sync += rset.eq(Mux(hit_w, wq_data, rd.data))
        for w in range(self.ways):
            m.d.sync += rset[w].valid.eq(Mux(hit_w, wq_data[w].valid,
                                             rd.data[w].valid & ~hit_c))
        if self.split and not self.one_key_per_set:
            self._early_pieces(m, b, rd.data, wq_data, hit_w, key1)
        if self.split:          # the write 2 cycles after our read lands while we compare
            # its select is decided a cycle early (this write against a1, which is a2 a
            # cycle later), so the compare cycle starts with one mux, not an address compare;
            # set in elaborate from the operation's write alone (a clear has no operation
            # in flight to forward to)
            f2 = Signal(name=f"f2_{b}")
            self._f2.append((f2, a1))
            fwd = Signal(self.set_layout, name=f"rset_f{b}")
            m.d.comb += fwd.eq(Mux(f2, wq_data, rset))
            # the ways are compared with the key in both words and the match selected
            # after (f2 then drives a few bits, not the whole word ahead of the compares)
            self._cmp.append((f2, wq_data, rset))
            rset = fwd
        return rset, a2, wr

    def _select(self, m, banks, key, op):
        """Compare the ways with the key (comb): the matches (for `prepare`) and what the
        modify cycle needs, decided here so that it starts from registers: hit, old
        value, and per bank the way to write on a hit and on a create (one-hot: the
        first matching / first free way, in the bank a hit or an insert goes to)."""
        W, B = self.ways, self.banks
        # kept (a LUT output each): ABC otherwise merged the key compares into the
        # hit / one-hot / old logic as long unbalanced chains (10 LUT levels)
        match = [Signal(W, name=f"match{b}", attrs={"keep": 1}) for b in range(B)]
        free = [Signal(W, name=f"free{b}") for b in range(B)]
        sel = {"hit": Signal(name="hit"), "any_free": Signal(name="any_free"),
               "old": Signal(self.value_shape, name="old"),
               "hit_1h": [Signal(W, name=f"hit_1h{b}") for b in range(B)],
               "ins_1h": [Signal(W, name=f"ins_1h{b}") for b in range(B)],
               "hit_in": Signal(B, name="hit_in"), "ins_in": Signal(B, name="ins_in"),
               "wpre": None,
               "sets": [Signal(self.set_layout, name=f"set{b}") for b in range(B)]}
        # a direct-indexed table whose key fits its set index holds at each set only
        # entries of that one key (created there, cleared to 0): valid is the match
        same = self.one_key_per_set
        acc = wacc = 0
        for b, (rset, _, _) in enumerate(banks):
            m.d.comb += sel["sets"][b].eq(rset)
            for w in range(W):
                def way_match(word, tag):
                    if same:
                        return word[w].valid
                    return word[w].valid & Cat(*self._pieces(m, word[w].key, self.tag(key, b),
                                                             f"{b}_{w}{tag}")).all()
                if self.split and not same:     # from the pieces registered in c1
                    f2, wq, raw = self._cmp[b]
                    eq_r, eq2_r = self._eq[b]
                    mt = Mux(f2, wq[w].valid & Cat(*eq2_r[w]).all(),
                             raw[w].valid & Cat(*eq_r[w]).all())
                elif self.split:
                    f2, wq, raw = self._cmp[b]
                    mt = Mux(f2, way_match(wq, "w"), way_match(raw, "r"))
                else:
                    mt = way_match(rset, "")
                m.d.comb += [match[b][w].eq(mt), free[b][w].eq(~rset[w].valid)]
                acc = acc | Mux(match[b][w], Value.cast(rset[w].value), 0)
                if self.way_prepare:    # per way on both words, selected like `old`
                    def wp(word):
                        return Value.cast(self.way_prepare(m, op, word[w].value))
                    if self.split:
                        f2, wq, raw = self._cmp[b]
                        x = Mux(f2, wp(wq), wp(raw))
                    else:
                        x = wp(rset)
                    wacc = wacc | Mux(match[b][w], x, 0)
        m.d.comb += Value.cast(sel["old"]).eq(acc)
        if self.way_prepare:
            sel["wpre"] = Signal(len(wacc), name="wpre")
            m.d.comb += sel["wpre"].eq(wacc)
        else:
            del sel["wpre"]
        # a hit goes to bank 1 if it matched there, else bank 0; an insert to the bank
        # with more free ways; within a bank, the lowest matching / free way
        ins_b = (sum(free[1]) > sum(free[0])) if B > 1 else Const(0, 1)
        in_bank = [match[0].any() & ~match[1].any(), match[1].any()] if B > 1 else [match[0].any()]
        for b in range(B):
            ins_here = ins_b if b == 1 else ~ins_b
            for w in range(W):
                first_m = match[b][w] & ~(match[b][:w].any() if w else 0)
                first_f = free[b][w] & ~(free[b][:w].any() if w else 0)
                m.d.comb += [sel["hit_1h"][b][w].eq(first_m & in_bank[b]),
                             sel["ins_1h"][b][w].eq(first_f & ins_here)]
            m.d.comb += [sel["hit_in"][b].eq(in_bank[b]), sel["ins_in"][b].eq(ins_here)]
        m.d.comb += [sel["hit"].eq(Cat(*match).any()),
                     sel["any_free"].eq(Mux(ins_b, free[1].any(), free[0].any()) if B > 1
                                        else free[0].any())]
        return sel, match

    def elaborate(self, platform):
        m = Module()
        W, B = self.ways, self.banks
        s1, s2 = Signal.like(self.i.payload, name="s1"), Signal.like(self.i.payload, name="s2")
        v1, v2 = Signal(), Signal()
        m.d.sync += [v1.eq(self.i.valid), s1.eq(self.i.payload), v2.eq(v1), s2.eq(s1)]
        key0 = (Mux(self.alt2, self.alt2_key, self.i.payload.key) if self.has_alt2
                else self.i.payload.key)
        if self.has_alt:
            m.d.sync += s1.key.eq(Mux(self.alt, self.alt_key, key0))
        elif self.has_alt2:
            m.d.sync += s1.key.eq(key0)
        self._f2, self._cmp, self._eq = [], [], []
        banks = [self._bank(m, b, s1.key) for b in range(B)]
        sel, match = self._select(m, banks, s2.key, s2.op)
        s, v, veto = s2, v2, self.veto
        addrs = [a2 for _, a2, _ in banks]
        # with one way, `prepare` gets the way's value unmasked (`hit`: it is valid), a
        # LUT level less ahead of its compares; it masks what it needs
        pre = None
        if self.prepare and self.split and W == 1 and B == 1:
            # computed on both words (the read set and the write it may be forwarded
            # from), f2 selecting after: neither the forwarding select (f2 drives the
            # whole word) nor the valid mask of `old` is ahead of its compares
            f2, wq, raw = self._cmp[0]
            pw = self.prepare(m, s2.op, wq[0].valid, wq[0].value)
            pr = self.prepare(m, s2.op, raw[0].valid, raw[0].value)
            pre = Signal.like(pr, name="pre")
            m.d.comb += pre.eq(Mux(f2, pw, pr))
        elif self.prepare:
            pre = self.prepare(m, s2.op, Cat(*match).any(),
                               banks[0][0][0].value if W == 1 and B == 1 else sel["old"])
        if self.split:          # c3: modify and write from registered comparisons
            reg = {k: ([Signal.like(x, name=f"{k}{i}_r") for i, x in enumerate(val)]
                       if isinstance(val, list) else Signal.like(val, name=f"{k}_r"))
                   for k, val in sel.items()}
            for k, val in sel.items():
                pairs = zip(reg[k], val) if isinstance(val, list) else [(reg[k], val)]
                m.d.sync += [r.eq(x) for r, x in pairs]
            s, v, veto = Signal.like(s2, name="s3"), Signal(name="v3"), Signal(name="veto3")
            addrs = [Signal.like(a, name=f"a3_{b}") for b, a in enumerate(addrs)]
            write3 = Signal(name="write3")
            m.d.sync += [s.eq(s2), v.eq(v2), veto.eq(self.veto),
                         write3.eq(v2 & s2.en & ~self.veto)]
            m.d.sync += [a3.eq(a2) for a3, (_, a2, _) in zip(addrs, banks)]
            sel = reg
            if pre is not None:
                pre_r = Signal.like(pre, name="pre_r")
                m.d.sync += pre_r.eq(pre)
                pre = pre_r
        if self.split and not self.one_key_per_set:
            self._ahead_pieces(m, sel, s, s1)
        hit, old = sel["hit"], sel["old"]
        if self.way_prepare:
            pre = sel["wpre"]
        write = write3 if self.split else v & s.en & ~veto
        args = (pre,) if self.prepare or self.way_prepare else ()
        args += (write,) if self.unwritten_old else ()
        new, keep, may_create = self.modify(m, s.op, hit, old, *args)
        if self.unwritten_old:
            assert isinstance(may_create, Const) and may_create.value == 1
        m.d.comb += self.peek.eq(new)
        created, removed, full, we = Signal(), Signal(), Signal(), Signal()
        any_free = sel["any_free"]
        # on a miss (old = 0) every table's `modify` keeps what it may create, so `keep`
        # is not in the create decision (it is the slow output of `modify`)
        m.d.comb += [removed.eq(write & hit & ~keep),
                     created.eq(write & ~hit & may_create & any_free),
                     full.eq(write & ~hit & may_create & ~any_free),
                     we.eq((write & hit) | created)]
        # the clear is registered here and written a cycle after `clr` (it comes from the
        # book's command logic, far from most tables; a clear never meets an operation:
        # the operation issued as the sweep ends reads the last cleared set through the
        # c1 forwarding, which takes every write, clears included)
        clr, clr_addr = Signal(name="clr_r"), Signal(self.set_bits, name="clr_addr_r")
        m.d.sync += [clr.eq(self.clr), clr_addr.eq(self.clr_addr)]
        for b, (_, _, wr) in enumerate(banks):
            wdata = Signal(self.set_layout, name=f"wdata{b}")
            wen = Signal(name=f"wen{b}")
            m.d.comb += [wdata.eq(sel["sets"][b]),
                         wen.eq((write & sel["hit_in"][b]) | (created & sel["ins_in"][b]))]
            # the word matters only when written (wen), and then only its valid ways: the
            # value and key go to the hit / insert way by the registered one-hot alone
            # (a free way written with them stays invalid), only the valid bits wait
            # for the decisions (keep, created)
            for w in range(W):
                h1, i1 = sel["hit_1h"][b][w], sel["ins_1h"][b][w]
                if W == 1 and self.one_key_per_set:
                    # one way, one key per set: a write is a hit or a create (h1 | i1
                    # always), and the key is the set's own
                    m.d.comb += [wdata[w].value.eq(new), wdata[w].key.eq(s.key),
                                 wdata[w].valid.eq(Mux(h1, keep, created))]
                    continue
                m.d.comb += [
                    wdata[w].value.eq(Mux(h1 | i1, Value.cast(new), sel["sets"][b][w].value)),
                    wdata[w].key.eq(Mux(i1, self.tag(s.key, b), sel["sets"][b][w].key)),
                    wdata[w].valid.eq(Mux(h1, keep, sel["sets"][b][w].valid | (i1 & created))),
                ]
            # a clear writes only the valid bits 0 (an invalid way's key and value are
            # never read: it matches nothing, `old` is 0 on a miss, a create writes the
            # whole way): `clr` then reaches a few bits, not every bit of the word
            wclr = Signal(self.set_layout, name=f"wclr{b}")
            m.d.comb += wclr.eq(wdata)
            for w in range(W):
                m.d.comb += wclr[w].valid.eq(wdata[w].valid & ~clr)
            m.d.comb += [wr.addr.eq(Mux(clr, clr_addr, addrs[b])),
                         wr.data.eq(wclr), wr.en.eq(clr | wen), wr.clr.eq(clr)]
            if self.split:
                f2, a1 = self._f2[b]
                m.d.sync += f2.eq(wen & (addrs[b] == a1))

        self._result(m, v, s, veto, (hit, created, removed, full), old, new, we)
        return m

    def _result(self, m, v, s, veto, flags, old, new, we):
        """The registered result `o`, and `o_new` a cycle ahead."""
        o = self.o.payload
        hit, created, removed, full = flags
        m.d.sync += [self.o.valid.eq(v), o.key.eq(s.key), o.op.eq(s.op), o.ctx.eq(s.ctx),
                     o.en.eq(s.en & ~veto), o.hit.eq(hit), o.created.eq(created),
                     o.removed.eq(removed), o.full.eq(full), o.old.eq(old),
                     o.new.eq(self.o_new)]
        # one key per set, always creating: a write hits or creates, so we == write and
        # `modify` already returned old without one
        m.d.comb += self.o_new.eq(Value.cast(new) if self.unwritten_old else
                                  Mux(we, Value.cast(new), Value.cast(old)))
