"""The book's `unreliable` flags in the Amaranth simulator: events of different kinds on
different slots, close together, each flag the slot it names, the order stage's in the
offending message's own BBO update, and a MAP clears only its slot.

Why: the flag's events go through two slot decoders (rtl/book/order_book.py `_flag`:
the order and level stages' on one, the price tree's depths, delayed to depth 0, and
NextBest's on the other), not one decoder per source."""
import pytest

from book_sim import SMALL, add, numbered, run_book
from tickwire.control.regmap import BOOK_SUB_CMD_MAP
from tickwire.model.book import Msg
from tickwire.rtl.book.hashing import h3_hash
from tickwire.rtl.book.order_book import DEPTHS, geometry, tree_ways
from tickwire.rtl.book.price_tree import BITS, node_key

PARAMS = dict(SMALL, orders=256)
A, B = 5, 6                 # locates of slots 0 and 1


def leaf_collisions(slot, n):
    """n ask prices whose price-tree leaves (depth DEPTHS - 1) share both banks' sets
    (SMALL's leaf table: hashed, two banks): the (2 x ways + 1)-th leaf is refused."""
    d = DEPTHS - 1
    bits = geometry(PARAMS["slots"], PARAMS["orders"], PARAMS["levels"], 8,
                    PARAMS["locate_bits"])[f"tree{d}"].bit_length() - 1
    seed = 4 + 2 * d
    want, out, p = None, [], 1 << 12
    while len(out) < n:
        k = node_key(slot, 1, p << BITS[d], d)
        sets = (h3_hash(k, bits, seed), h3_hash(k, bits, seed + 1))
        if want is None or sets == want:
            want = sets
            out.append(p << BITS[d])
        p += 1
    return out


#: gap 10: the U's event and the refused leaf's reach their decoders in the same cycle
@pytest.mark.parametrize("gap", [10, 11, 12])
def test_tree_and_order_flags_on_two_slots_then_map_clears_one(gap):
    """Slot 0: 2 x ways + 1 asks whose leaves share their sets: the last one's leaf is
    refused (depth_overflow, the tree's decoder). Slot 1, `gap` messages later: a U
    onto a reference already live (the order stage's decoder), in the cycles the
    tree's event reaches its decoder (some gap of these). Both slots end flagged, the
    U's own update flagged; a MAP of slot 0 clears slot 0 alone."""
    n = 2 * tree_ways(DEPTHS - 1, 8) + 1
    asks = sorted(leaf_collisions(0, n), reverse=True)      # each a new best ask
    msgs = [add(900, "B", 10, 100, B), add(901, "B", 10, 90, B)]
    msgs += [add(100 + i, "S", 5, px, A) for i, px in enumerate(asks)]
    msgs += [add(200 + i, "B", 1, 50 - i, B) for i in range(gap)]      # no BBO change
    u = len(msgs)
    msgs += [Msg(ord("U"), B, oref=900, new_oref=901, shares=7, price=120)]
    msgs += [add(300 + i, "S", 5, asks[-1] - 1 - i, A) for i in range(3)]
    mapped = len(msgs)
    msgs += [add(400, "B", 3, 10, A), add(401, "B", 3, 130, B)]
    numbered(msgs)
    bbo, _, ev, _, _ = run_book(msgs, {A: 0, B: 1}, params=PARAMS,
                                cmds={mapped: (A, 0, BOOK_SUB_CMD_MAP)})
    flag = {seq: r[-1] for seq, r in ((r[0], r) for r in bbo)}
    assert ev["depth_overflow"] == 1 and ev["collisions"] == 1, ev
    seqs = {m.seq: m for m in msgs}
    assert flag[msgs[u].seq] == 1                           # the U's own update
    assert all(flag[s] == 0 for s in flag if s < msgs[u].seq and seqs[s].locate == B)
    # the refused leaf's message and those right behind it may go out before its
    # flag is set; the last asks' updates are well after it
    assert flag[msgs[mapped - 1].seq] == 1
    assert flag[msgs[n + 1].seq] == 0 and all(flag[s] == 0 for s in flag if s <= n + 1)
    assert flag[msgs[mapped].seq] == 0 and flag[msgs[mapped + 1].seq] == 1


def test_pending_bits_follow_the_refill_queue_through_back_to_back_set_and_take():
    """The refill queue's pending bits (LUT RAM, rtl/book/order_book.py `_pending_bit`)
    against the queue itself, every cycle the cache answers, on the lab knobs' churn
    (a refill every few operations): the bit is 1 exactly when the side is queued,
    including right after the cycle that queued or took that side; a side is never
    queued twice."""
    from test_book_pipeline import LAB_KNOBS, churn
    seen = {"take_then_read": 0, "checked": 0}

    def watch(dut):
        async def proc(ctx):
            queued, last_take = set(), None
            w, r = dut.refill_q.w_stream, dut.refill_q.r_stream
            co = dut.st["cache"].o
            async for _, _, wv, wp, rv, rr, rp, cv, key, pend in ctx.tick().sample(
                    w.valid, w.payload, r.valid, r.ready, r.payload, co.valid,
                    co.payload.key, dut.refill_pending):
                # the values of the cycle before this edge
                if cv:
                    assert pend == (key in queued), (key, queued)
                    seen["checked"] += 1
                    seen["take_then_read"] += last_take == key
                last_take = None
                if rv and rr:
                    queued.discard(rp & ((1 << (len(r.payload) - 1)) - 1))
                    last_take = rp & ((1 << (len(r.payload) - 1)) - 1)
                if wv:
                    k = wp & ((1 << (len(w.payload) - 1)) - 1)
                    assert k not in queued, k
                    queued.add(k)
        return proc

    msgs = churn(7, 900, levels=30)
    run_book(msgs, {5: 0, 6: 1}, params=dict(SMALL, orders=512, levels=512, **LAB_KNOBS),
             watch=watch)
    assert seen["checked"] > 1000 and seen["take_then_read"] > 0, seen
