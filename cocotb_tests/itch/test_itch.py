"""ItchDecoder against the ITCH 5.0 reference model, alone and behind MoldRx.

`decoder_*` tests drive RawMsg directly: all 23 types with random fields, correct
and wrong lengths, unknown types, random idle cycles. `real_files` frames the real
Nasdaq samples in MoldUDP64 (A and B copies, random loss on one side) through
MoldRx + ItchDecoder; every decoded message must equal the model field for field
and the per-type counters must equal the files' histograms.
"""
import random
from pathlib import Path

import cocotb
from amaranth.hdl import Module
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly

from tickwire.model import itch, mold
from tickwire.rtl.rx.itch import ItchDecoder
from tickwire.rtl.layouts import MAX_MSG_BYTES, ItchMsg, RawMsg, UdpBeat
from tickwire.rtl.rx.merge.feed_merge import FeedMerge, connect_mold
from tickwire.rtl.rx.mold import MoldRx
from tickwire.rtl.rx.itch.regs import TYPE_ORDER

REPO = Path(__file__).resolve().parent.parent.parent
DATA = REPO.parent / "shared/data/itch"
FILES = ("nasdaq_itch50_20191230_first1000.itch", "nasdaq_itch50_20200130_aapl_first5000.itch")
ERRORS = ("length_errors", "unknown_type")


class ItchHarness(wiring.Component):
    """Flat ports (always-ready streams have a constant `ready`), counter accumulators.
    `with_mold`: the input is a UdpBeat going through MoldRx first."""
    def __init__(self, with_mold=False):
        self.with_mold = with_mold
        inl = UdpBeat if with_mold else RawMsg
        members = {"i_valid": In(1), "i_payload": In(data.Layout.cast(inl).size),
                   "o_valid": Out(1), "o_payload": Out(data.Layout.cast(ItchMsg).size)}
        members.update({f"cnt_msgs_{k}": Out(64) for k in range(len(TYPE_ORDER))})
        members.update({f"cnt_{n}": Out(64) for n in ERRORS})
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.dec = dec = ItchDecoder()
        if self.with_mold:
            # one feed: MoldRx's checked port A, then the sequencer (duplicates go)
            m.submodules.mold = mrx = MoldRx()
            m.submodules.merge = seq = FeedMerge(depth=64, jump_window=64)
            connect_mold(m, mrx, seq)
            m.d.comb += [mrx.a.valid.eq(self.i_valid), mrx.a.payload.eq(self.i_payload),
                         seq.ctl_hold_cycles.eq(1 << 20), seq.ctl_hold_packets.eq(64),
                         dec.i.valid.eq(seq.o.valid), dec.i.payload.eq(seq.o.payload)]
        else:
            m.d.comb += [dec.i.valid.eq(self.i_valid), dec.i.payload.eq(self.i_payload)]
        m.d.comb += [self.o_valid.eq(dec.o.valid), self.o_payload.eq(dec.o.payload.as_value())]
        for k in range(len(TYPE_ORDER)):
            cnt = getattr(self, f"cnt_msgs_{k}")
            m.d.sync += cnt.eq(cnt + dec.ev_msgs[k])
        for n in ERRORS:
            cnt = getattr(self, f"cnt_{n}")
            m.d.sync += cnt.eq(cnt + getattr(dec, f"ev_{n}"))
        return m


async def setup(dut):
    cocotb.start_soon(Clock(dut.clk, 6.4, unit="ns").start())
    dut.i_valid.value = 0
    dut.rst.value = 1
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0


async def run_cycles(dut, cycles):
    """Drive one input int (or None = idle) per cycle; collect (cycle, ItchMsg dict)."""
    got = []
    for k, c in enumerate(list(cycles) + [None] * 4):
        await FallingEdge(dut.clk)
        dut.i_valid.value = c is not None
        dut.i_payload.value = 0 if c is None else c
        await ReadOnly()
        if int(dut.o_valid.value):
            got.append((k, ItchMsg.from_bits(int(dut.o_payload.value))))
    await FallingEdge(dut.clk)
    return got


def rawmsg(msg, seq, feed, ts, length=None):
    """RawMsg int: the first MAX_MSG_BYTES bytes of `msg`, zero-padded."""
    body = bytes(msg[:MAX_MSG_BYTES]).ljust(MAX_MSG_BYTES, b"\0")
    return RawMsg.const({"data": list(body), "length": len(msg) if length is None else length,
                         "seq": seq, "feed": feed, "rx_ts": ts}).as_bits()


def beats_of(payload, feed, ts, lane):
    """UdpBeat ints of one UDP payload whose first byte is in `lane`."""
    chunks = [(lane, payload[:8 - lane])] + [(0, payload[k:k + 8])
                                             for k in range(8 - lane, len(payload), 8)]
    return [UdpBeat.const({"data": int.from_bytes(bytes(ln) + b, "little"),
                           "keep": ((1 << len(b)) - 1) << ln, "first": k == 0,
                           "last": k == len(chunks) - 1, "feed": feed, "ts": ts}).as_bits()
            for k, (ln, b) in enumerate(chunks)]


def random_msg(t, rng):
    f = {name: (rng.getrandbits(8 * w) if kind not in ("alpha", "char")
                else "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ ") for _ in range(w)))
         for name, off, w, kind in itch.BODIES[t]}
    return itch.encode(t, locate=rng.getrandbits(16), tracking=rng.getrandbits(16),
                       timestamp=rng.getrandbits(48), **f)


def check_counters(dut, hist, errors=None):
    for k, t in enumerate(TYPE_ORDER):
        assert int(getattr(dut, f"cnt_msgs_{k}").value) == hist.get(t, 0), t
    for n, v in (errors or {}).items():
        assert int(getattr(dut, f"cnt_{n}").value) == v, n


@cocotb.test()
async def decoder_all_types(dut):
    """Every type, correct lengths, wrong lengths (+-1, random) and unknown types."""
    await setup(dut)
    rng = random.Random(21)
    cycles, expected, hist = [], [], {}
    errors = dict.fromkeys(ERRORS, 0)
    for rep in range(12):
        for t in TYPE_ORDER:
            msg = random_msg(t, rng)
            seq, feed = rng.getrandbits(64), rng.getrandbits(1)
            ts = {"sec": rng.getrandbits(48), "ns": rng.randrange(10**9)}
            r = rng.random()
            if r < 0.7:
                cycles.append(rawmsg(msg, seq, feed, ts))
                expected.append(itch.to_itchmsg_fields(msg, seq, feed, ts))
                hist[t] = hist.get(t, 0) + 1
            elif r < 0.85:                            # wrong length, same bytes
                bad = rng.choice([len(msg) - 1, len(msg) + 1, rng.randrange(12, 300)])
                if bad == len(msg):
                    bad += 2
                cycles.append(rawmsg(msg, seq, feed, ts, length=bad))
                errors["length_errors"] += 1
                assert itch.to_itchmsg_fields((msg + bytes(300))[:bad], seq, feed, ts) is None
            else:                                     # a type ITCH 5.0 does not define
                u = rng.choice([c for c in range(256) if chr(c) not in itch.LENGTHS])
                cycles.append(rawmsg(bytes([u]) + msg[1:], seq, feed, ts))
                errors["unknown_type"] += 1
                assert itch.to_itchmsg_fields(bytes([u]) + msg[1:], seq, feed, ts) is None
            cycles += [None] * rng.choice([0, 0, 0, 1, 3])
    got = await run_cycles(dut, cycles)
    assert len(got) == len(expected)
    for (_, g), e in zip(got, expected):
        assert g == e, (chr(e["type"]), g, e)
    # Registered once: each output one cycle after its input.
    ins = [k for k, c in enumerate(cycles) if c is not None]
    assert set(k for k, _ in got) <= set(k + 1 for k in ins)
    check_counters(dut, hist, errors)
    assert set(hist) == set(TYPE_ORDER)


@cocotb.test()
async def real_files(dut):
    """Real Nasdaq samples in MoldUDP64 through MoldRx + ItchDecoder (mold harness only)."""
    rng = random.Random(22)
    await setup(dut)
    cycles, delivered, hist, ts_of = [], [], {}, {}
    arb = mold.Arbiter()
    npk = 0
    seq0 = 1
    for name in FILES:
        msgs = list(itch.read_binaryfile(DATA / name))
        for t, c in itch.histogram(msgs).items():
            hist[t] = hist.get(t, 0) + c
        pk = mold.pack(msgs, "20200130A", seq0, mtu=rng.choice([300, 600, 1500]))
        seq0 += len(msgs)
        for _, p in pk:
            r = rng.random()
            sides = [0, 1] if r < 0.7 else ([0] if r < 0.85 else [1])
            rng.shuffle(sides)
            for f in sides:
                ts = {"sec": 5000 + npk, "ns": npk * 131 % 10**9}
                lane = npk % 8
                npk += 1
                first, n = int.from_bytes(p[10:18], "big"), int.from_bytes(p[18:20], "big")
                ts_of.update({(f, first + k): ts for k in range(n)})
                # a message carries its own packet's rx_ts (the session's first packets
                # are delivered when the start is confirmed, a packet later)
                delivered += arb.receive(p, f)
                cycles += [None] * rng.choice([0, 0, 1, 2])
                cycles += beats_of(p, f, ts, lane)
    expected = [itch.to_itchmsg_fields(d.msg, d.seq, d.feed, ts_of[(d.feed, d.seq)])
                for d in delivered]
    got = await run_cycles(dut, cycles)
    assert arb.counters["messages"] == 6000 and arb.counters["gaps"] == 0
    assert len(got) == len(expected) == 6000
    for (_, g), e in zip(got, expected):
        assert g == e, (g, e)
    check_counters(dut, hist, dict.fromkeys(ERRORS, 0))


def test_itch_decoder():
    from tickwire.tools.build.simrun import run_cocotb
    run_cocotb(ItchHarness(), "tw_itch", "test_itch", Path(__file__).parent,
               testcase="decoder_all_types", build_args=("--output-split", "0"))


def test_itch_real_files():
    import pytest
    missing = [f for f in FILES if not (DATA / f).exists()]
    if missing:
        pytest.skip(f"real ITCH samples absent: {DATA} lacks {', '.join(missing)}")
    from tickwire.tools.build.simrun import run_cocotb
    run_cocotb(ItchHarness(with_mold=True), "tw_mold_itch", "test_itch", Path(__file__).parent,
               testcase="real_files", build_args=("--output-split", "0"))
