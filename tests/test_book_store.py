"""HashStore (rtl/book/store.py): the read-modify-write every book table is built on,
against a dict, with operations back to back (one every 2 cycles) on few keys so that
nearly every operation depends on the write just before it (forwarding), in one and
two banks, with the compare and modify in one stage or split over two."""
import random

import pytest
from amaranth.hdl import Const, Signal, signed
from amaranth.lib import data
from amaranth.sim import Simulator

from tickwire.rtl.book.hashing import h3_masks
from tickwire.rtl.book.store import HashStore

Op = data.StructLayout({"d": signed(8)})


def counter_modify(m, op, hit, old):
    """value += d; the entry leaves at 0; only a positive d creates it."""
    new = Signal(16, name="cnt_new")
    m.d.comb += new.eq(old + op.d)
    return new, new != 0, op.d > 0


def run(ops, spacing, gaps=None, **kw):
    """`ops` one every `spacing` cycles, or after the cycles in `gaps` (>= 2 each)."""
    dut = HashStore(key_bits=12, value_shape=16, op_shape=Op, ctx_shape=8, modify=counter_modify,
                    **kw)
    got = []
    starts = set()
    t = 0
    for k in range(len(ops)):
        starts.add(t)
        t += gaps[k] if gaps else spacing

    async def bench(ctx):
        pending = list(ops)
        i = 0
        for cyc in range(t + 10):
            if cyc in starts and pending:
                key, d, en = pending.pop(0)
                ctx.set(dut.i.valid, 1)
                ctx.set(dut.i.payload.key, key)
                ctx.set(dut.i.payload.op.d, d)
                ctx.set(dut.i.payload.en, en)
                ctx.set(dut.i.payload.ctx, i & 0xFF)
                i += 1
            else:
                ctx.set(dut.i.valid, 0)
            if ctx.get(dut.o.valid):
                p = ctx.get(dut.o.payload)
                got.append((p.key, p.hit, p.created, p.removed, p.full, p.old, p.new))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(6.4e-9)
    sim.add_testbench(bench)
    sim.run()
    return got


def reference(ops, capacity_of):
    """The dict model; capacity_of(table, key) says whether a new key finds room."""
    table, out = {}, []
    for key, d, en in ops:
        old = table.get(key, 0)
        hit = key in table
        new = old + d
        created = removed = full = 0
        if en and hit:
            if new & 0xFFFF == 0:
                del table[key]
                removed = 1
            else:
                table[key] = new & 0xFFFF
        elif en and d > 0:
            if capacity_of(table, key):
                table[key] = new & 0xFFFF
                created = 1
            else:
                full = 1
        wrote = en and (hit or created)
        out.append((key, int(hit), created, removed, full, old, (new & 0xFFFF) if wrote else old))
    return out


@pytest.mark.parametrize("banks,split", [(1, False), (2, False), (1, True), (2, True)])
@pytest.mark.parametrize("spacing", [2, 3])
def test_back_to_back_against_a_dict(banks, split, spacing):
    rng = random.Random(banks * 10 + split + spacing)
    keys = [rng.randrange(4096) for _ in range(6)]          # few keys: every op depends
    ops = [(rng.choice(keys), rng.choice([1, 1, 2, -1, -1, 3]), int(rng.random() < 0.9))
           for _ in range(300)]
    got = run(ops, spacing, sets=64, ways=2, banks=banks, split=split)
    assert got == reference(ops, lambda t, k: True)


@pytest.mark.parametrize("banks,split", [(1, False), (2, True)])
def test_uneven_spacing_against_a_dict(banks, split):
    """Gaps of 2 to 5 cycles: the RAM takes each write a cycle late, so a read sees the
    write in flight, the one before it, or one long written, whichever is the key's."""
    rng = random.Random(7 + banks)
    keys = [rng.randrange(4096) for _ in range(5)]
    ops = [(rng.choice(keys), rng.choice([1, 2, -1, 3]), int(rng.random() < 0.9))
           for _ in range(400)]
    gaps = [rng.choice([2, 2, 3, 4, 5]) for _ in ops]
    got = run(ops, 0, gaps=gaps, sets=64, ways=2, banks=banks, split=split)
    assert got == reference(ops, lambda t, k: True)


@pytest.mark.parametrize("banks,split", [(1, False), (1, True), (2, True)])
def test_many_keys_in_few_sets_against_a_dict(banks, split):
    """Two sets of 8 ways: operations back to back on different keys of one set insert
    into other ways of the word the one before is writing (the forwarded write's
    compares, made a cycle early for a split store)."""
    rng = random.Random(11 + banks + split)
    keys = [rng.randrange(4096) for _ in range(7)]
    ops = [(rng.choice(keys), rng.choice([1, 1, 2, -1, -1, 3]), int(rng.random() < 0.9))
           for _ in range(500)]
    gaps = [rng.choice([2, 2, 2, 3]) for _ in ops]
    got = run(ops, 0, gaps=gaps, sets=2, ways=8, banks=banks, split=split)
    assert got == reference(ops, lambda t, k: True)


@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("first", [3, 4])
def test_consecutive_clears_then_an_operation_at_once(split, first):
    """A sweep clears a set every cycle; the operation issued the cycle after it ends
    must miss on the last two cleared sets (neither is in the RAM yet) and still hit
    an entry the sweep left alone."""
    dut = HashStore(key_bits=3, value_shape=16, op_shape=Op, ctx_shape=8,
                    modify=counter_modify, sets=8, ways=1, index="direct", split=split)
    got = []

    async def bench(ctx):
        async def op(key, d):
            ctx.set(dut.i.valid, 1)
            ctx.set(dut.i.payload.key, key)
            ctx.set(dut.i.payload.op.d, d)
            ctx.set(dut.i.payload.en, 1)
            await ctx.tick()
            ctx.set(dut.i.valid, 0)
            await ctx.tick()
        for key in (2, 3, 4, 5):
            await op(key, 1)
        for _ in range(6):
            await ctx.tick()
        for a in (2, 3, 4):                 # three clears back to back
            ctx.set(dut.clr, 1)
            ctx.set(dut.clr_addr, a)
            await ctx.tick()
        ctx.set(dut.clr, 0)
        # at once: the clear before the last (3) or the last (4); then the others
        for key in (first, 7 - first, 2, 5):
            await op(key, 1)
        for _ in range(8):
            await ctx.tick()

    async def watch(ctx):
        async for _, _, o_valid, p in ctx.tick().sample(dut.o.valid, dut.o.payload):
            if o_valid:
                got.append((p.key, p.hit, p.old))

    sim = Simulator(dut)
    sim.add_clock(6.4e-9)
    sim.add_testbench(bench)
    sim.add_process(watch)
    sim.run_until(60 * 6.4e-9)
    assert got[4:] == [(first, 0, 0), (7 - first, 0, 0), (2, 0, 0), (5, 1, 1)]


def test_a_full_set_is_reported_and_nothing_written():
    """Direct index, one way, 4 sets: keys 1 and 5 share set 1."""
    ops = [(1, 1, 1), (5, 1, 1), (1, 1, 1), (5, -1, 1), (1, -2, 1), (5, 1, 1), (5, 1, 1)]
    got = run(ops, 2, sets=4, ways=1, index="direct")
    want = reference(ops, lambda t, k: not any(x % 4 == k % 4 for x in t))
    assert got == want
    assert [g[4] for g in got] == [0, 1, 0, 0, 0, 0, 0]


def test_probe_writes_nothing():
    ops = [(7, 3, 1), (7, 5, 0), (7, -3, 1), (7, 1, 0)]
    got = run(ops, 2, sets=16, ways=2)
    assert got == reference(ops, lambda t, k: True)
    assert got[1][5:] == (3, 3) and got[2][3] == 1 and got[3][1] == 0


def test_second_read_port_sees_each_write_from_the_cycle_after_it():
    """`q_port` (the best copy's query and snapshot read): a read addressed in cycle t
    shows every write decided before t (the write is registered on its way to the RAM,
    so the one in flight is forwarded), never a later one."""
    dut = HashStore(key_bits=3, value_shape=16, op_shape=Op, ctx_shape=8,
                    modify=counter_modify, sets=8, ways=1, index="direct", q_port=True)
    rng = random.Random(3)
    ops = [(rng.randrange(8), rng.choice([1, 2, 3, -1])) for _ in range(150)]
    qs = []                             # (cycle addressed, set, data seen)

    async def bench(ctx):
        pending = list(ops)
        for cyc in range(2 * len(ops) + 8):
            a = rng.randrange(8)
            ctx.set(dut.q_addr, a)
            if cyc % 2 == 0 and pending:
                key, d = pending.pop(0)
                ctx.set(dut.i.valid, 1)
                ctx.set(dut.i.payload.key, key)
                ctx.set(dut.i.payload.op.d, d)
                ctx.set(dut.i.payload.en, 1)
            else:
                ctx.set(dut.i.valid, 0)
            await ctx.tick()
            qd = ctx.get(dut.q_data[0])
            qs.append((cyc, a, qd.value if qd.valid else 0))

    sim = Simulator(dut)
    sim.add_clock(6.4e-9)
    sim.add_testbench(bench)
    sim.run()
    # the op issued at cycle 2k decides its write at 2k + 2 (compare and modify in c2)
    state, decided = {}, []
    for key, d in ops:
        old = state.get(key, 0)
        new = (old + d) & 0xFFFF
        if key in state or d > 0:
            state[key] = new
            if new == 0:
                del state[key]
        decided.append(dict(state))
    for cyc, a, seen in qs:
        n = min((cyc - 3) // 2 + 1, len(ops)) if cyc >= 3 else 0   # 2j + 2 < cyc
        want = decided[n - 1].get(a, 0) if n else 0
        assert seen == want, (cyc, a)


@pytest.mark.parametrize("banks", [1, 2])
def test_probes_in_between_leave_the_operations_exact(banks):
    """The book's searches probe a table (en = 0) in the cycles between its operations
    (the level table: NextBest's reads). A probe writes nothing and must not disturb
    the forwarding between the operations around it (a probe's own read may be a
    cycle stale: it is not checked)."""
    rng = random.Random(5 + banks)
    keys = [rng.randrange(4096) for _ in range(6)]
    ops, gaps = [], []
    for _ in range(300):
        ops.append((rng.choice(keys), rng.choice([1, 1, 2, -1, -1, 3]), 1))
        if rng.random() < 0.6:                      # a probe the next cycle
            gaps.append(1)
            ops.append((rng.choice(keys), 1, 0))
            gaps.append(rng.choice([1, 2]))         # next operation 2 or 3 after
        else:
            gaps.append(2)
    got = run(ops, 0, gaps=gaps, sets=4, ways=4, banks=banks, split=True)
    real = [op for op in ops if op[2]]
    assert [g for g, op in zip(got, ops) if op[2]] == reference(real, lambda t, k: True)


def test_stored_quotient_identifies_the_key():
    """A stored entry drops the key bits its set index determines (rtl/book/store.py):
    two keys of one set whose stored bits agree are the same key, for H3 banks of the
    book's key widths (64-bit references, 41-bit level keys, tree keys) and a direct
    index; and the dropped positions are as many as the set bits."""
    from tickwire.rtl.book.store import quotient_positions
    rng = random.Random(5)
    for key_bits, sets, seed in ((64, 1024, 0), (41, 512, 2), (35, 512, 14), (29, 512, 12),
                                 (12, 64, 0)):
        st = HashStore(key_bits=key_bits, value_shape=16, op_shape=Op, ctx_shape=8,
                       modify=counter_modify, sets=sets, ways=2, banks=2, seed=seed)
        st._MustUse__silence = True             # only its geometry is inspected
        for b in range(2):
            drop = st.drop[b]
            assert len(drop) == st.set_bits and st.tag_bits == key_bits - st.set_bits
            assert drop == quotient_positions(h3_masks(st.set_bits, seed + b), key_bits)
            seen = {}
            for _ in range(3000):
                k = rng.getrandbits(key_bits)
                # flip only dropped bits: a different key must land in another set
                f = k
                for i in drop:
                    if rng.random() < 0.5:
                        f ^= 1 << i
                if f != k:
                    assert st.set_index(f, b) != st.set_index(k, b)
                tag = tuple(k >> i & 1 for i in range(key_bits) if i not in drop)
                seen.setdefault((st.set_index(k, b), tag), set()).add(k)
            assert all(len(v) == 1 for v in seen.values())
    direct = HashStore(key_bits=12, value_shape=16, op_shape=Op, ctx_shape=8,
                       modify=counter_modify, sets=64, ways=2, index="direct")
    direct._MustUse__silence = True
    assert direct.drop == [list(range(6))] and direct.tag_bits == 6


def test_a_bank_short_of_rank_stores_whole_keys_in_every_bank(monkeypatch):
    """The banks share one word layout: when one bank's index matrix has too few
    independent key columns (a short key), no bank drops bits."""
    import tickwire.rtl.book.store as store
    real = store.quotient_positions
    monkeypatch.setattr(store, "quotient_positions",
                        lambda masks, kb: None if masks == h3_masks(len(masks), 1) else
                        real(masks, kb))
    st = HashStore(key_bits=12, value_shape=16, op_shape=Op, ctx_shape=8,
                   modify=counter_modify, sets=64, ways=2, banks=2)
    st._MustUse__silence = True
    assert st.drop == [[], []] and st.tag_bits == 12
