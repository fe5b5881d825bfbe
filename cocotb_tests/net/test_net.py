"""UdpRx against the reference model: scapy-built frames driven as MAC beats.

Frames arrive as the MAC delivers them: realigned to lane 0, with their 4 FCS bytes,
back to back or with random idle gaps, and sometimes with the last mark on a trailing
empty (keep = 0) beat. Per frame we check the counter pulses (frames_in plus exactly
one verdict, equal to the model's, two cycles after the last beat), and the output,
one cycle after its input beat: payload bytes, feed, first/last/bad marks and ts.
"""
import random
import struct
import zlib

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge
from scapy.layers.inet import IP, TCP, UDP, IPOption
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Raw

from tickwire.model.net import DEFAULT_FILTERS, VERDICTS, Filter, parse, multicast_mac
from tickwire.rtl.layouts import MacBeat, UdpBeat

COUNTERS = ("frames_in",) + VERDICTS
GA, GB, PORT = "233.54.12.111", "233.49.196.111", 26477
N_FILTERS = 4


def ip_int(s):
    return struct.unpack("!I", bytes(int(x) for x in s.split(".")))[0]


def set_filters(dut, table):
    """Drive the filter controls; `table` has up to N_FILTERS model Filters."""
    table = list(table) + [Filter("0.0.0.0", 0, enable=False)] * (N_FILTERS - len(table))
    dut.ctl_filter_group.value = sum(f.group_int << (32 * e) for e, f in enumerate(table))
    dut.ctl_filter_port.value = sum(f.port << (16 * e) for e, f in enumerate(table))
    dut.ctl_filter_ctrl.value = sum((int(f.enable) | f.feed << 1) << (2 * e)
                                    for e, f in enumerate(table))


def pad60(pkt):
    raw = bytes(pkt)
    return raw + b"\0" * max(0, 60 - len(raw))


def eth(dst=GA):
    return Ether(dst=multicast_mac(dst).hex(":"), src="02:00:00:00:00:07")


def payload(rng, lo=0, hi=300):
    return Raw(bytes(rng.randrange(256) for _ in range(rng.randint(lo, hi))) or b"")


def udp_pkt(rng, dst=GA, dport=PORT, vlan=None, options=None, **ip_kw):
    l2 = eth(dst) / Dot1Q(vlan=vlan) if vlan is not None else eth(dst)
    ip = IP(src="10.1.2.3", dst=dst, options=[IPOption(options)] if options else [], **ip_kw)
    return l2 / ip / UDP(sport=rng.randrange(1024, 65536), dport=dport) / payload(rng)


def patch(frame, off, new):
    return frame[:off] + new + frame[off + len(new):]


def frame_kinds(rng):
    """(name, frame-without-FCS, mac_bad) generators covering every verdict."""
    opt = lambda: bytes([0x01] * rng.choice([4, 8, 20, 40]))        # NOPs: IHL 6..15
    return [
        ("feed_a", lambda: pad60(udp_pkt(rng)), False),
        ("feed_b", lambda: pad60(udp_pkt(rng, dst=GB)), False),
        ("short_padded", lambda: pad60(eth() / IP(dst=GA) / UDP(dport=PORT) / payload(rng, 0, 17)), False),
        ("vlan", lambda: pad60(udp_pkt(rng, dst=rng.choice([GA, GB]), vlan=rng.randrange(4096))), False),
        ("vlan_88a8", lambda: pad60(patch(bytes(udp_pkt(rng, vlan=3)), 12, b"\x88\xa8")), False),
        ("options", lambda: pad60(udp_pkt(rng, dst=rng.choice([GA, GB]), options=opt())), False),
        ("vlan_options", lambda: pad60(udp_pkt(rng, vlan=9, options=opt())), False),
        ("double_vlan", lambda: pad60(eth() / Dot1Q(vlan=1) / Dot1Q(vlan=2) / IP(dst=GA)
                                      / UDP(dport=PORT) / payload(rng)), False),
        ("ipv6_type", lambda: pad60(patch(bytes(udp_pkt(rng)), 12, b"\x86\xdd")), False),
        ("arp_in_vlan", lambda: pad60(patch(bytes(udp_pkt(rng, vlan=4)), 16, b"\x08\x06")), False),
        ("ip_version", lambda: pad60(patch(bytes(udp_pkt(rng)), 14, b"\x65")), False),
        ("ihl_small", lambda: pad60(patch(bytes(udp_pkt(rng)), 14, bytes([0x40 | rng.randrange(5)]))), False),
        ("bad_checksum", lambda: pad60(udp_pkt(rng, chksum=rng.randrange(65536))), False),
        ("len_below_header", lambda: pad60(udp_pkt(rng, len=rng.randrange(20))), False),
        ("fragment_mf", lambda: pad60(udp_pkt(rng, flags="MF")), False),
        ("fragment_off", lambda: pad60(udp_pkt(rng, frag=rng.randrange(1, 8192))), False),
        ("dont_fragment", lambda: pad60(udp_pkt(rng, flags="DF")), False),
        ("tcp", lambda: pad60(eth() / IP(dst=GA) / TCP(dport=PORT) / payload(rng)), False),
        ("udp_len_small", lambda: pad60(eth() / IP(dst=GA) / UDP(dport=PORT, len=rng.randrange(8))
                                        / payload(rng, 8, 40)), False),
        ("udp_len_mismatch", lambda: pad60(eth() / IP(dst=GA) / UDP(dport=PORT, len=rng.randrange(8, 80))
                                           / payload(rng, 20, 60)), False),
        ("ip_payload_small", lambda: pad60(eth() / IP(dst=GA, len=20 + rng.randrange(8)) / UDP(dport=PORT)
                                           / payload(rng)), False),
        ("foreign_group", lambda: pad60(udp_pkt(rng, dst="233.54.12.112")), False),
        ("foreign_port", lambda: pad60(udp_pkt(rng, dport=PORT + 1)), False),
        ("truncated", lambda: (bytes(udp_pkt(rng, vlan=rng.choice([None, None, 5]),
                                             options=rng.choice([None, None, opt()])))
                               + bytes(60))[:rng.randint(60, 120)], False),
        ("trailing_bytes", lambda: bytes(udp_pkt(rng, dst=rng.choice([GA, GB]))) + rng.randbytes(
            rng.randint(1, 9)), False),
        ("over_padded", lambda: bytes(eth() / IP(dst=GA) / UDP(dport=PORT) / payload(rng, 0, 10))
                                + bytes(rng.randint(61, 80)), False),
        ("mac_bad_good", lambda: pad60(udp_pkt(rng, dst=rng.choice([GA, GB]))), True),
        ("mac_bad_other", lambda: pad60(udp_pkt(rng, flags="MF")), True),
        ("mac_bad_short", lambda: bytes(udp_pkt(rng))[:rng.randint(0, 70)], True),
    ]


def payload_offset(frame):
    """Where the UDP payload starts (only untagged, option-less datagrams are forwarded)."""
    return 42


def mac_beats(frame, bad, empty_tail, ts):
    """MacBeat payload ints for one frame as the MAC delivers it: FCS appended,
    realigned to lane 0, the last mark on an extra empty beat when `empty_tail`."""
    wire = frame + struct.pack("<I", zlib.crc32(frame))
    beats = []
    for b in range(0, len(wire), 8):
        chunk = wire[b:b + 8]
        beats.append({"data": int.from_bytes(chunk, "little"), "keep": (1 << len(chunk)) - 1,
                      "first": b == 0, "last": False, "bad": 0, "ts": ts})
    if empty_tail or not beats:
        beats.append({"data": 0, "keep": 0, "first": not beats, "last": False, "bad": 0, "ts": ts})
    beats[-1]["last"], beats[-1]["bad"] = True, int(bad)
    return beats


async def reset(dut, table):
    cocotb.start_soon(Clock(dut.clk, 6.4, unit="ns").start())
    set_filters(dut, table)
    dut.i__valid.value = 0
    dut.i__payload.value = 0
    dut.rst.value = 1
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


async def run(dut, frames, table, gap_prob, seed):
    """Drive frames [(name, frame, bad)], return per-frame (counters, output beats).

    The output register makes a beat's output visible the cycle after it is driven
    and the counter pulses two cycles after the last beat: both are attributed back
    to the input beat that caused them."""
    rng = random.Random(seed)
    schedule = []                     # (frame index, beat dict) or (None, None) for idle
    for idx, (_, frame, bad) in enumerate(frames):
        ts = {"sec": rng.getrandbits(48), "ns": rng.randrange(10**9)}
        for bt in mac_beats(frame, bad, rng.random() < 0.5, ts):
            schedule.append((idx, bt))
        while rng.random() < gap_prob:
            schedule.append((None, None))
    schedule += [(None, None)] * 3
    results = [{"ev": [], "out": [], "in_ts": None} for _ in frames]
    for t, (idx, bt) in enumerate(schedule):
        dut.i__valid.value = int(bt is not None)
        dut.i__payload.value = MacBeat.const(bt).as_bits() if bt else rng.getrandbits(MacBeat.size)
        await ReadOnly()
        ev = {c: int(getattr(dut, f"ev_{c}").value) for c in COUNTERS}
        src_ev = schedule[t - 2] if t >= 2 else (None, None)       # counters: last beat t-2
        if src_ev[1] is not None and src_ev[1]["last"]:
            results[src_ev[0]]["ev"] = [c for c, v in ev.items() if v]
        else:
            assert not any(ev.values()), f"cycle {t}: counter pulse not 2 cycles after a last beat"
        src = schedule[t - 1] if t >= 1 else (None, None)           # output: beat t-1
        if int(dut.o__valid.value):
            sidx, sbt = src
            assert sbt is not None, f"cycle {t}: output after an idle cycle"
            ob = UdpBeat.from_bits(int(dut.o__payload.value))
            assert ob["last"] == sbt["last"], "end marker not on the MAC's last beat"
            assert ob["keep"] or ob["last"], "valid beat with no payload bytes"
            assert ob["ts"] == sbt["ts"], "ts not passed through"
            results[sidx]["out"].append(ob)
        await RisingEdge(dut.clk)
    dut.i__valid.value = 0
    return results


def check(frames, results, table):
    seen = {}
    for (name, frame, bad), res in zip(frames, results):
        verdict, feed, data = parse(frame, table, mac_bad=bad)
        seen.setdefault(name, set()).add(verdict)
        where = f"{name} ({len(frame)} bytes, mac_bad={bad}): {frame.hex()}"
        assert res["ev"] == ["frames_in", verdict], f"{where}: counters {res['ev']} != {verdict}"
        out = res["out"]
        if out:
            assert out[0]["first"] and not any(b["first"] for b in out[1:]), f"{where}: first marks"
            assert out[-1]["last"] and not any(b["last"] for b in out[:-1]), f"{where}: last marks"
        got = b"".join(bytes((b["data"] >> (8 * k)) & 0xFF for k in range(8) if b["keep"] >> k & 1)
                       for b in out)
        if verdict == "udp_accepted":
            assert out, f"{where}: accepted but no output"
            assert got == data, f"{where}: payload {got.hex()} != {data.hex()}"
            assert {b["feed"] for b in out} == {feed}, f"{where}: feed"
            assert out[-1]["bad"] == 0, f"{where}: accepted datagram marked bad"
        elif out and verdict in ("drop_bad_frame", "drop_ip_length"):
            # Forwarded on its headers before the frame's end showed it bad: the end
            # marker must say so, and the bytes must be the frame's from the payload on.
            assert out[-1]["bad"] == 1, f"{where}: partial datagram not marked bad"
            wire = frame + struct.pack("<I", zlib.crc32(frame))
            start = payload_offset(frame)
            assert got == wire[start:start + len(got)], f"{where}: partial bytes"
            ok, _, full = parse(frame, table)
            if bad and ok == "udp_accepted":
                assert got == full, f"{where}: MAC-bad datagram bytes"
        else:
            assert not out, f"{where}: dropped ({verdict}) but produced output"
    return seen


def make_frames(rng, count):
    kinds = frame_kinds(rng)
    frames = []
    for _ in range(count):
        name, gen, bad = rng.choice(kinds)
        frames.append((name, gen(), bad))
    return frames


@cocotb.test()
async def all_kinds_back_to_back_and_gaps(dut):
    """Every frame kind, default filter table, back to back then with idle gaps."""
    table = list(DEFAULT_FILTERS)
    await reset(dut, table)
    rng = random.Random(1)
    for gap_prob, count in ((0.0, 400), (0.4, 250)):
        frames = make_frames(rng, count)
        results = await run(dut, frames, table, gap_prob, seed=rng.random())
        seen = check(frames, results, table)
        verdicts = set().union(*seen.values())
        assert verdicts == set(VERDICTS), f"verdicts not covered: {set(VERDICTS) - verdicts}"
        assert "drop_ip_length" in seen["truncated"]
        assert seen["trailing_bytes"] == {"drop_ip_length"} == seen["over_padded"]
        # the cut-through paths were exercised: datagrams ended by a bad marker
        partial = [name for (name, _, _), r in zip(frames, results) if r["out"] and r["out"][-1]["bad"]]
        assert {"truncated", "mac_bad_good"} <= set(partial), partial


@cocotb.test()
async def filter_table_priority_and_enable(dut):
    """First enabled matching entry wins; disabled entries never match; tables change live."""
    table = [Filter(GA, PORT, feed=0, enable=False),       # disabled: A must use entry 1
             Filter(GA, PORT, feed=1),
             Filter("239.1.2.3", 5000, feed=0),
             Filter("239.1.2.3", 5000, feed=1)]              # shadowed by entry 2
    await reset(dut, table)
    rng = random.Random(2)
    kinds = [lambda: pad60(udp_pkt(rng, dst=GA)), lambda: pad60(udp_pkt(rng, dst=GB)),
             lambda: pad60(udp_pkt(rng, dst="239.1.2.3", dport=5000)),
             lambda: pad60(udp_pkt(rng, dst="239.1.2.3", dport=5001))]
    frames = [("custom", rng.choice(kinds)(), False) for _ in range(120)]
    results = await run(dut, frames, table, 0.2, seed=3)
    check(frames, results, table)
    got = {(r["out"][0]["feed"] if r["out"] else None) for r in results}
    assert got == {None, 0, 1}
    # Disable everything: all frames are filter drops.
    table = [Filter(GA, PORT, enable=False)]
    set_filters(dut, table)
    await RisingEdge(dut.clk)
    frames = [("off", pad60(udp_pkt(rng, dst=rng.choice([GA, GB]))), False) for _ in range(30)]
    results = await run(dut, frames, table, 0.0, seed=4)
    check(frames, results, table)
    assert all(r["ev"] == ["frames_in", "drop_filter"] for r in results)


@cocotb.test()
async def long_empty_and_options(dut):
    """Jumbo-ish payloads, empty datagrams, and the maximum IHL (dropped: options)."""
    table = list(DEFAULT_FILTERS)
    await reset(dut, table)
    rng = random.Random(5)
    frames = []
    for _ in range(30):
        frames.append(("big", bytes(eth() / IP(dst=GB) / UDP(dport=PORT) / payload(rng, 1000, 1472)),
                       False))
        frames.append(("min", pad60(eth() / IP(dst=GA) / UDP(dport=PORT)), False))
        frames.append(("opt", pad60(eth() / IP(dst=GA, options=[IPOption(b"\x01" * 40)])
                                    / UDP(dport=PORT) / payload(rng)), False))
    results = await run(dut, frames, table, 0.1, seed=6)
    seen = check(frames, results, table)
    assert seen == {"big": {"udp_accepted"}, "min": {"udp_accepted"}, "opt": {"drop_ip_options"}}
    # an empty datagram is just an end marker with first and last
    assert all(len(r["out"]) == 1 and r["out"][0]["keep"] == 0 for r in results[1::3])


def test_net():
    from pathlib import Path
    from tickwire.rtl.rx.udp import UdpRx
    from tickwire.tools.build.simrun import run_cocotb
    run_cocotb(UdpRx(), "udp_rx", "test_net", Path(__file__).parent)
