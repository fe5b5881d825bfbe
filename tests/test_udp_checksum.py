"""The UDP checksum (rtl/rx/udp/udp_checksum.py) through XgmiiRx -> UdpRx in the Amaranth
simulator, against tickwire.model.net.udp_checksum_ok and scapy's own checksum.

Why here: the verdict trails the frame (cut-through), so what matters is that it comes
once per accepted frame, LATENCY cycles after the last beat, is right for every payload
length (odd ones padded, padding of minimum-size frames left out), skips a zero field,
and is never raised for a frame that already ended bad.
"""
import random
import struct

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from test_rx_front import Front
from clocked import simulate
from tickwire.model import net, xgmii

GA, PORT = "233.54.12.111", 26477


def _scapy(payload, chksum=None):
    """A frame whose UDP checksum scapy computes (or `chksum` as given), padded to the
    60-byte minimum as a transmitter does (the padding is not the datagram's)."""
    u = UDP(sport=20000, dport=PORT) if chksum is None else UDP(sport=20000, dport=PORT,
                                                                  chksum=chksum)
    return bytes(Ether(dst="01:00:5e:36:0c:6f", src="02:00:00:00:00:01")
                 / IP(src="10.0.0.1", dst=GA, ttl=64) / u / payload).ljust(60, b"\x5a")


def _flip(frame, off):
    f = bytearray(frame)
    f[off] ^= 0x40
    return bytes(f)


def _run(frames):
    """[(accepted, checksum verdict cycles)] per frame, in order, and the bad pulses."""
    enc = xgmii.encode(frames)
    dut = Front()
    ends, bads, checks = [], [], []

    async def bench(ctx):
        for cycle, (d, c) in enumerate(list(enc.beats) + [(0x0707070707070707, 0xFF)] * 12):
            ctx.set(dut.mac.xgmii_d, d)
            ctx.set(dut.mac.xgmii_c, c)
            await ctx.delay(1e-9)
            if ctx.get(dut.udp.i.valid) and ctx.get(dut.udp.i.payload.last):
                ends.append(cycle)
            if ctx.get(dut.udp.csum_bad):
                bads.append(cycle)
            if ctx.get(dut.udp.ev_udp_checksum_errors):
                checks.append(cycle)
            await ctx.tick()

    simulate(dut, bench)
    assert bads == checks
    return ends, bads


def test_checksum_verdicts_match_the_model_and_scapy():
    rng = random.Random(11)
    frames, expect = [], []
    for n in (0, 1, 2, 3, 7, 17, 18, 19, 20, 21, 57, 120, 121, 1000, 1001, 1458):
        good = _scapy(rng.randbytes(n))
        frames.append(good)
        expect.append(False)
        bad = _flip(good, 42 + rng.randrange(n) if n else 40)      # payload or checksum
        frames.append(bad)
        expect.append(True)
    frames.append(_scapy(b"zero field: not verified", chksum=0))
    expect.append(False)
    frames.append(_flip(_scapy(b"zero field: not verified", chksum=0), 44))
    expect.append(False)
    for f, e in zip(frames, expect):                     # the model agrees on every frame
        assert net.parse(f)[0] == "udp_accepted"
        assert net.udp_checksum_ok(f) == (not e)
    ends, bads = _run(frames)
    assert len(ends) == len(frames)
    got = [any(b == end + 5 for b in bads) for end in ends]
    assert got == expect
    assert len(bads) == sum(expect)


def test_a_frame_already_bad_raises_no_checksum_verdict():
    """FCS failed: the bad end marker says it already; the checksum stays silent."""
    f = _flip(_scapy(bytes(range(100))), 60)
    enc = xgmii.encode([f], faults={0: "fcs"})
    dut = Front()
    seen = []

    async def bench(ctx):
        for d, c in list(enc.beats) + [(0x0707070707070707, 0xFF)] * 12:
            ctx.set(dut.mac.xgmii_d, d)
            ctx.set(dut.mac.xgmii_c, c)
            await ctx.delay(1e-9)
            seen.append(ctx.get(dut.udp.csum_bad))
            await ctx.tick()

    simulate(dut, bench)
    assert not any(seen)


def test_builder_frames_carry_a_checksum_the_parser_accepts():
    """tickwire's own frame builder (captures, fuzz) computes RFC 768 like scapy."""
    f = net.build_udp_frame(b"abc", GA, PORT)
    assert struct.unpack_from("!H", f, 40)[0] == UDP(f[34:42] + b"abc").chksum != 0
    assert net.udp_checksum_ok(f)
