"""XgmiiRx under Verilator: frames, verdicts, counters, timestamps, realignment and latency.

Every test records, at each falling edge, the XGMII word on the input, `now`, the
output beat and the counter pulses. The recorded input is decoded by the reference
model (tickwire.model.xgmii) and the DUT must match it beat for beat: a frame event
the model places in input beat i must appear on `out` in cycle i + 2 (i + 3 for the
last beat when it trails, see rtl/rx/mac/realign.py) and on the registered counter
pulses in cycle i + 3. Ground truth (the frames actually sent) is checked as well.
"""
import random
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge
from cocotbext.eth import XgmiiFrame, XgmiiSource

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tickwire.model import xgmii
from tickwire.rtl.layouts import MacBeat, Timestamp
from tickwire.rtl.rx.mac import XgmiiRx

TS_OFFSET = 3
NS = 1_000_000_000
IDLE_D, IDLE_C = 0x0707070707070707, 0xFF
EVENTS = ("frames_ok", "fcs_errors", "ctrl_errors", "runts", "oversize")
VERDICT_EVENT = {"ok": "frames_ok", "fcs": "fcs_errors", "ctrl": "ctrl_errors",
                 "runt": "runts", "oversize": "oversize"}


class MacTop(wiring.Component):
    """XgmiiRx with its always-ready stream flattened to plain ports for cocotb."""
    xgmii_d: In(64)
    xgmii_c: In(8)
    now: In(Timestamp)
    ctl_max_len: In(16)
    out_valid: Out(1)
    out_beat: Out(MacBeat)
    ev_frames_ok: Out(1)
    ev_bytes_ok: Out(16)
    ev_fcs_errors: Out(1)
    ev_ctrl_errors: Out(1)
    ev_runts: Out(1)
    ev_oversize: Out(1)

    def elaborate(self, platform):
        m = Module()
        m.submodules.rx = rx = XgmiiRx(ts_offset_ns=TS_OFFSET)
        m.d.comb += [rx.xgmii_d.eq(self.xgmii_d), rx.xgmii_c.eq(self.xgmii_c),
                     rx.now.eq(self.now), rx.ctl_max_len.eq(self.ctl_max_len),
                     self.out_valid.eq(rx.out.valid), self.out_beat.eq(rx.out.payload)]
        for name in ("frames_ok", "bytes_ok", *EVENTS):
            m.d.comb += getattr(self, f"ev_{name}").eq(getattr(rx, f"ev_{name}"))
        return m


class Bench:
    def __init__(self, dut):
        self.dut = dut
        self.rec = []
        self.recording = False

    async def start(self, max_len=1522, now=(5, NS - 7 * 400), now_step=7):
        dut = self.dut
        dut.xgmii_d.value = IDLE_D
        dut.xgmii_c.value = IDLE_C
        dut.ctl_max_len.value = max_len
        self.now, self.now_step = now, now_step
        dut.now.value = now[0] << 32 | now[1]
        cocotb.start_soon(Clock(dut.clk, 6.4, unit="ns").start())
        dut.rst.value = 1
        await ClockCycles(dut.clk, 3)
        dut.rst.value = 0
        cocotb.start_soon(self._time())
        await RisingEdge(dut.clk)
        self.recording = True
        cocotb.start_soon(self._record())

    async def _time(self):
        """`now` advances now_step ns a cycle (crossing a second boundary by default)."""
        sec, ns = self.now
        while True:
            await RisingEdge(self.dut.clk)
            ns += self.now_step
            if ns >= NS:
                sec, ns = sec + 1, ns - NS
            self.dut.now.value = sec << 32 | ns

    async def _record(self):
        dut = self.dut
        while True:
            await FallingEdge(dut.clk)
            if not self.recording:
                continue
            now = int(dut.now.value)
            ev = {name: int(getattr(dut, f"ev_{name}").value) for name in EVENTS}
            ev["bytes_ok"] = int(dut.ev_bytes_ok.value)
            self.rec.append(dict(d=int(dut.xgmii_d.value), c=int(dut.xgmii_c.value),
                                 now=(now >> 32, now & 0xFFFFFFFF),
                                 valid=int(dut.out_valid.value),
                                 beat=int(dut.out_beat.value), ev=ev))

    async def drive(self, beats):
        for d, c in beats:
            await RisingEdge(self.dut.clk)
            self.dut.xgmii_d.value = d
            self.dut.xgmii_c.value = c
        await RisingEdge(self.dut.clk)
        self.dut.xgmii_d.value = IDLE_D
        self.dut.xgmii_c.value = IDLE_C

    def check(self, max_len=1522):
        """Compare the DUT with the model over everything recorded; returns model frames."""
        rec = self.rec
        model = xgmii.decode([(r["d"], r["c"]) for r in rec], max_len=max_len)
        # --- output beats -> frames
        frames, cur = [], None
        for i, r in enumerate(rec):
            if not r["valid"]:
                continue
            b = MacBeat.from_bits(r["beat"])
            if b["first"]:
                assert cur is None, f"cycle {i}: first inside a frame"
                cur = dict(data=bytearray(), keeps=[], first=i, ts=b["ts"])
            assert cur is not None, f"cycle {i}: beat outside a frame"
            assert b["ts"] == cur["ts"], f"cycle {i}: ts changed inside a frame"
            cur["keeps"].append(b["keep"])
            for ln in range(8):
                if b["keep"] >> ln & 1:
                    cur["data"].append(b["data"] >> 8 * ln & 0xFF)
            if b["last"]:
                cur.update(last=i, bad=b["bad"])
                frames.append(cur)
                cur = None
        emitted = [f for f in model if f.emitted]
        assert len(frames) == len(emitted), (len(frames), [f.verdict for f in model])
        for got, want in zip(frames, emitted):
            assert bytes(got["data"]) == want.data
            assert got["bad"] == (want.verdict != "ok"), want.verdict
            # realigned to lane 0: contiguous keeps, full but for the last two beats
            keeps = got["keeps"]
            assert all(k & (k + 1) == 0 for k in keeps), keeps
            assert all(k == 0xFF for k in keeps[:-2]), keeps
            # latency: data two cycles after its input beat (lane 4: the first output
            # beat waits for the second input beat); the last beat trails by one more
            # when the FCS decides or held bytes remain (rtl/rx/mac/realign.py)
            lane4 = want.start_lane == 4
            assert got["first"] == want.first_beat + 2 + (lane4 or not want.data), got
            end = 8 * want.first_beat + want.start_lane + len(want.data)
            pend = want.verdict in ("ok", "fcs", "runt") or \
                (lane4 and (end % 8 > 4 or want.first_beat == want.last_beat))
            assert got["last"] == want.last_beat + 2 + pend, (got, want.verdict)
            sec, ns = rec[want.sfd_beat]["now"]
            ns -= TS_OFFSET
            if ns < 0:
                sec, ns = sec - 1, ns + NS
            assert got["ts"] == {"sec": sec, "ns": ns}
        # --- counters: exactly the model's events, registered: three cycles after their beat
        want_ev = {(f.last_beat + 3, VERDICT_EVENT[f.verdict]) for f in model}
        ok_len = {f.last_beat + 3: len(f.data) for f in model if f.verdict == "ok"}
        got_ev = set()
        for i, r in enumerate(rec):
            hits = [name for name in EVENTS if r["ev"][name]]
            assert len(hits) <= 1, f"cycle {i}: {hits}"
            got_ev.update((i, h) for h in hits)
            assert r["ev"]["bytes_ok"] == (ok_len[i] if r["ev"]["frames_ok"] else 0)
        assert got_ev == want_ev
        return model


def _payloads(rng, count, lo=60, hi=1518):
    return [rng.randbytes(rng.randint(lo, hi)) for _ in range(count)]


async def _source_run(dut, seed, force_offset, gaps):
    bench = Bench(dut)
    await bench.start()
    src = XgmiiSource(dut.xgmii_d, dut.xgmii_c, dut.clk, dut.rst)
    src.force_offset_start = force_offset
    rng = random.Random(seed)
    sent = _payloads(rng, 40)
    for p in sent:
        await src.send(XgmiiFrame.from_payload(p))
        if gaps:
            await src.wait()
            await ClockCycles(dut.clk, rng.randint(0, 12))
    await src.wait()
    await ClockCycles(dut.clk, 10)
    model = bench.check()
    assert [f.verdict for f in model] == ["ok"] * len(sent)
    assert [f.data for f in model] == [p + xgmii.fcs(p) for p in sent]
    return model


@cocotb.test()
async def source_back_to_back_dic(dut):
    """cocotbext-eth XgmiiSource, DIC on, frames back to back: both start lanes occur."""
    model = await _source_run(dut, 1, False, gaps=False)
    assert {f.start_lane for f in model} == {0, 4}


@cocotb.test()
async def source_lane4_random_gaps(dut):
    """XgmiiSource forced to offset (lane 4) starts, random idle cycles between frames."""
    model = await _source_run(dut, 2, True, gaps=True)
    assert 4 in {f.start_lane for f in model}


@cocotb.test()
async def model_line_rate_and_gaps(dut):
    """Own encoder: 0/4/any starts, line rate (DIC) and random idle gaps, sizes 64..1522."""
    bench = Bench(dut)
    await bench.start()
    rng = random.Random(3)
    sent = []
    for lane, gapped in ((0, False), (4, True), ("any", False), ("alternate", True)):
        frames = _payloads(rng, 15)
        frames[0] = rng.randbytes(1518)        # 1522 with FCS: the largest legal frame
        frames[1] = rng.randbytes(60)          # 64: the smallest
        gaps = [rng.choice([0, 0, 1, 2, 3, 5, 9, 30]) for _ in frames] if gapped else None
        await bench.drive(xgmii.encode(frames, start_lane=lane, gaps=gaps).beats)
        sent += frames
    await ClockCycles(dut.clk, 4)
    model = bench.check()
    assert [f.verdict for f in model] == ["ok"] * len(sent)
    assert [f.data for f in model] == [p + xgmii.fcs(p) for p in sent]


@cocotb.test()
async def model_faults(dut):
    """Bad FCS, /E/, runts, missing /T/, bad preamble, oversize, new /S/ before /T/."""
    bench = Bench(dut)
    await bench.start()
    rng = random.Random(4)
    frames = _payloads(rng, 24, 60, 600)
    frames[5] = rng.randbytes(1519)            # 1523 with FCS: oversize by one
    frames[15] = rng.randbytes(3000)
    faults = {1: "fcs", 2: "error", 3: ("truncate", 40), 4: "noterm", 6: "preamble",
              8: ("truncate", 63), 9: ("truncate", 0), 11: "fcs", 13: ("truncate", 3),
              17: "error", 20: "preamble"}
    for lane in (0, 4, "alternate"):
        gaps = [rng.choice([0, 0, 2, 7]) for _ in frames]
        await bench.drive(xgmii.encode(frames, start_lane=lane, gaps=gaps, faults=faults).beats)
    # a /S/ inside a frame: the first frame ends bad (ctrl), the second is received
    a, b = rng.randbytes(200), rng.randbytes(300)
    enc = xgmii.encode([a, b], start_lane=0, lead=0)
    t_beat = enc.locate(0, len(a) + 4)[0]
    s_beat = enc.locate(1, 0)[0] - 1
    await bench.drive(enc.beats[:t_beat] + enc.beats[s_beat:])
    await ClockCycles(dut.clk, 4)
    model = bench.check()
    per_run = [f.verdict for f in model[:len(model) - 2]]
    expect = []
    for i in range(len(frames)):
        expect.append({1: "fcs", 2: "ctrl", 3: "runt", 4: "ctrl", 6: "ctrl", 8: "runt", 9: "runt",
                       11: "fcs", 13: "runt", 17: "ctrl", 20: "ctrl", 5: "oversize",
                       15: "oversize"}.get(i, "ok"))
    assert per_run == expect * 3
    assert [f.verdict for f in model[-2:]] == ["ctrl", "ok"]
    assert model[-1].data == b + xgmii.fcs(b)


@cocotb.test()
async def max_len_control(dut):
    """ctl_max_len = 200: longer frames are cut at 200 bytes, marked bad, counted once."""
    bench = Bench(dut)
    await bench.start(max_len=200)
    rng = random.Random(5)
    frames = _payloads(rng, 30, 60, 400) + [rng.randbytes(196), rng.randbytes(197)]
    await bench.drive(xgmii.encode(frames, start_lane="alternate").beats)
    await ClockCycles(dut.clk, 4)
    model = bench.check(max_len=200)
    for fr, f in zip(frames, model):
        assert f.verdict == ("ok" if len(fr) + 4 <= 200 else "oversize")
    assert model[-2].verdict == "ok" and model[-1].verdict == "oversize"


@cocotb.test()
async def latency_and_realignment(dut):
    """Explicit: frame byte 0 is on `out` two cycles after its input beat (lane 0) or
    three (lane 4, realigned: the first output beat also holds bytes 4..7 of the next)."""
    bench = Bench(dut)
    await bench.start()
    frame = bytes(range(100))
    for lane in (0, 4):
        enc = xgmii.encode([frame], start_lane=lane, lead=0, tail=0)
        await bench.drive(enc.beats)
        await ClockCycles(dut.clk, 4)
    model = bench.check()
    outs = [(i, MacBeat.from_bits(r["beat"])) for i, r in enumerate(bench.rec) if r["valid"]]
    firsts = [(i, b) for i, b in outs if b["first"]]
    assert len(firsts) == 2
    for (i, b), f in zip(firsts, model):
        assert i == f.first_beat + (2 if f.start_lane == 0 else 3)
        assert b["keep"] == 0xFF and b["data"] == int.from_bytes(frame[:8], "little")


@cocotb.test()
async def timestamp_offset_borrows_second(dut):
    """ts = now at the SFD - ts_offset_ns, borrowing a second when now.ns < offset."""
    bench = Bench(dut)
    await bench.start(now=(10, 1), now_step=0)
    rng = random.Random(6)
    frames = _payloads(rng, 4, 60, 300)
    await bench.drive(xgmii.encode(frames, start_lane="alternate").beats)
    await ClockCycles(dut.clk, 4)
    model = bench.check()
    assert [f.verdict for f in model] == ["ok"] * 4
    ts = {MacBeat.from_bits(r["beat"])["ts"]["sec"] for r in bench.rec if r["valid"]}
    assert ts == {9}


def test_mac():
    from tickwire.tools.build.simrun import run_cocotb
    run_cocotb(MacTop(), "tw_mac", "test_mac", Path(__file__).parent)
