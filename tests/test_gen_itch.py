"""Synthetic ITCH generator: every type, valid order references, realistic books.

The checks decode with their own struct formats and length table (from the ITCH 5.0
spec), not with the generator's encoders, and track orders with their own table.
"""
import heapq
import random
import struct
from collections import Counter, defaultdict

import pytest

from tickwire.tools import gen_itch
from tickwire.tools.feeds import itch_file, pcap

# Nasdaq TotalView-ITCH 5.0 message lengths, typed in from the spec's field tables.
SPEC_LEN = {"S": 12, "R": 39, "H": 25, "Y": 20, "L": 26, "V": 35, "W": 12, "K": 28,
            "J": 35, "h": 21, "A": 36, "F": 40, "E": 31, "C": 36, "X": 23, "D": 19,
            "U": 35, "P": 44, "Q": 40, "B": 19, "I": 50, "N": 20, "O": 48}

SYMBOLS, MESSAGES, SEED = 200, 120_000, 7


@pytest.fixture(scope="module")
def msgs():
    return gen_itch.generate(SYMBOLS, MESSAGES, SEED)


def hdr(m):
    loc, hi, lo = struct.unpack_from(">H2xHI", m, 1)
    return chr(m[0]), loc, (hi << 32) | lo


def test_every_type_with_spec_length(msgs):
    assert len(msgs) == MESSAGES
    seen = Counter()
    for m in msgs:
        t = chr(m[0])
        assert len(m) == SPEC_LEN[t], (t, len(m))
        seen[t] += 1
    assert set(seen) == set(SPEC_LEN), set(SPEC_LEN) - set(seen)
    assert seen["R"] == SYMBOLS


def test_deterministic_for_a_seed():
    a = gen_itch.generate(20, 4000, 3)
    assert a == gen_itch.generate(20, 4000, 3)
    assert a != gen_itch.generate(20, 4000, 4)
    assert len(a) == 4000


def test_too_few_messages_is_refused():
    with pytest.raises(ValueError):
        gen_itch.generate(200, 1000, 1)


def test_session_structure(msgs):
    ts = [hdr(m)[2] for m in msgs]
    assert all(a <= b for a, b in zip(ts, ts[1:])), "timestamps go backwards"
    events = [(chr(m[11]), hdr(m)[2]) for m in msgs if m[:1] == b"S"]
    assert [e for e, _ in events] == list("OSQMEC")
    assert dict(events)["Q"] == 9 * 3600 * 10**9 + 30 * 60 * 10**9
    locates = [struct.unpack_from(">H", m, 1)[0] for m in msgs if m[:1] == b"R"]
    assert locates == list(range(1, SYMBOLS + 1))
    names = [m[11:19].decode().rstrip() for m in msgs if m[:1] == b"R"]
    assert names == sorted(names) and "AAPL" in names and len(set(names)) == SYMBOLS
    states = Counter(chr(m[19]) for m in msgs if m[:1] == b"H")
    assert set(states) == set("HPQT")
    assert Counter(chr(m[39]) for m in msgs if m[:1] == b"Q").keys() == set("OCH")


class Orders:
    """The test's own live-order table and per-symbol price heaps (lazy deletion)."""

    def __init__(self):
        self.live = {}                          # ref -> [loc, side, price, shares]
        self.qty = defaultdict(int)             # (loc, side, price) -> shares
        self.count = defaultdict(int)           # (loc, side, price) -> orders
        self.heaps = defaultdict(list)          # (loc, side) -> heap of (+-price)

    def add(self, ref, loc, side, price, shares):
        assert ref not in self.live, f"order ref {ref} reused while live"
        assert shares > 0 and price > 0
        self.live[ref] = [loc, side, price, shares]
        k = (loc, side, price)
        if self.qty[k] == 0:
            heapq.heappush(self.heaps[(loc, side)], -price if side == "B" else price)
        self.qty[k] += shares
        self.count[k] += 1

    def reduce(self, ref, loc, shares):
        assert ref in self.live, f"order ref {ref} is not live"
        o = self.live[ref]
        assert o[0] == loc, "message locate differs from the order's"
        assert 0 < shares <= o[3], f"removes {shares} of {o[3]} shares"
        o[3] -= shares
        k = (loc, o[1], o[2])
        self.qty[k] -= shares
        if o[3] == 0:
            del self.live[ref]
            self.count[k] -= 1
        return o

    def best(self, loc, side):
        h = self.heaps[(loc, side)]
        while h:
            p = -h[0] if side == "B" else h[0]
            if self.qty[(loc, side, p)] > 0:
                return p
            heapq.heappop(h)
        return None


@pytest.fixture(scope="module")
def replay(msgs):
    """Replay order flow with checks; returns statistics about what was seen."""
    book = Orders()
    st = Counter()
    halted = {}
    max_levels = Counter()
    max_stack = 0
    adds_per_sym = Counter()
    for i, m in enumerate(msgs):
        t, loc, _ts = hdr(m)
        if t == "H":
            halted[loc] = chr(m[19]) != "T"
            continue
        if t in "AF":
            ref, side, shares, _stock, price = struct.unpack_from(">QcI8sI", m, 11)
            book.add(ref, loc, side.decode(), price, shares)
            adds_per_sym[loc] += 1
            k = (loc, side.decode(), price)
            max_stack = max(max_stack, book.count[k])
        elif t in "EC":
            ref, shares = struct.unpack_from(">QI", m, 11)
            rem = book.live.get(ref, [0, 0, 0, 0])[3]
            assert not halted.get(loc), f"execution on halted locate {loc} at {i}"
            book.reduce(ref, loc, shares)
            st["exec_to_zero"] += shares == rem
        elif t == "X":
            ref, shares = struct.unpack_from(">QI", m, 11)
            o = book.reduce(ref, loc, shares)
            assert o[3] > 0, "X cancelled the whole order (should be a partial cancel)"
        elif t == "D":
            ref, = struct.unpack_from(">Q", m, 11)
            assert ref in book.live, f"D of dead order {ref}"
            book.reduce(ref, loc, book.live[ref][3])
        elif t == "U":
            old, new, shares, price = struct.unpack_from(">QQII", m, 11)
            assert old in book.live, f"U of dead order {old}"
            side = book.live[old][1]
            opp = book.best(loc, "S" if side == "B" else "B")
            book.reduce(old, loc, book.live[old][3])
            if opp is not None and (price >= opp if side == "B" else price <= opp):
                st["replace_across"] += 1
            book.add(new, loc, side, price, shares)
        else:
            continue
        bid, ask = book.best(loc, "B"), book.best(loc, "S")
        if bid is not None and ask is not None:
            st["two_sided"] += 1
            st["locked"] += bid == ask
            st["crossed"] += bid > ask
        if t in "AFU" and i % 64 == 0:
            for side in "BS":
                n = len({p for (l, s, p), q in book.qty.items() if l == loc and s == side and q})
                max_levels[loc] = max(max_levels[loc], n)
    st["max_stack"] = max_stack
    return st, max_levels, adds_per_sym


def test_order_flow_is_valid_and_executes_to_zero(replay):
    st, _, _ = replay
    assert st["exec_to_zero"] > 100


def test_locked_and_crossed_markets_occur_but_are_rare(replay):
    st, _, _ = replay
    assert st["locked"] > 0 and st["crossed"] > 0 and st["replace_across"] > 0
    assert (st["locked"] + st["crossed"]) < 0.05 * st["two_sided"]


def test_many_symbols_with_order_flow_and_deep_books(replay):
    st, max_levels, adds = replay
    assert sum(1 for n in adds.values() if n >= 20) >= 0.75 * SYMBOLS
    deep = [loc for loc, n in max_levels.items() if n >= 200]
    assert len(deep) >= 2, max_levels.most_common(5)
    assert st["max_stack"] >= 5


def test_cli_writes_itch_and_ab_pcap(tmp_path):
    out, cap = tmp_path / "s.itch.gz", tmp_path / "s.pcap"
    args = ["--symbols", "20", "--messages", "5000", "--seed", "5", "--out", str(out),
            "--pcap", str(cap), "--ab", "--loss", "0.05", "--dup", "0.05", "--noise", "0.05"]
    assert gen_itch.main(args) == 0
    ref = gen_itch.generate(20, 5000, 5)
    assert list(itch_file.read(out)) == ref
    got, dups, noise, feeds = {}, 0, 0, Counter()
    for _ts, frame in pcap.read(cap):
        if frame[12:14] != b"\x08\x00" or frame[23] != 17 or frame[14] != 0x45:
            noise += 1
            continue
        dport = struct.unpack_from(">H", frame, 36)[0]
        dst = frame[30:34]
        if dport != 26477 or dst not in (bytes([233, 54, 12, 111]), bytes([233, 49, 196, 111])):
            noise += 1
            continue
        if frame[20] & 0x20:      # IPv4 fragment: noise
            noise += 1
            continue
        feeds[dst[1]] += 1
        sess, seq, count = struct.unpack_from(">10sQH", frame, 42)
        assert sess == b"TICKWIRE01"
        if count == 0xFFFF:
            assert seq == len(ref) + 1
            continue
        pos = 62
        for k in range(count):
            ln, = struct.unpack_from(">H", frame, pos)
            m = frame[pos + 2:pos + 2 + ln]
            assert m == ref[seq - 1 + k]
            dups += (seq + k) in got
            got[seq + k] = m
            pos += 2 + ln
        assert pos == len(frame)
    assert feeds[54] > 0 and feeds[49] > 0 and noise > 0 and dups > 0
    assert len(got) > 0.95 * len(ref)


def test_fast_enough_for_a_million():
    import time
    t0 = time.process_time()
    gen_itch.generate(50, 100_000, 11)
    assert time.process_time() - t0 < 6.0, "1e6 messages would take over ~60 s"
