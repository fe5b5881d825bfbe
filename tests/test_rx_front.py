"""XgmiiRx -> UdpRx in the Amaranth simulator: realignment meets the fixed-position parser.

The cocotb tests drive each block alone; this one runs the pair as the core wires it,
from XGMII words made by the reference encoder (lane 0, lane 4 and line-rate DIC
starts, FCS faults), and checks every datagram's bytes, end mark and verdict against
tickwire.model.net, plus the pipeline's latency: a payload byte leaves UdpRx three
cycles after its XGMII beat (four for the upper half of a lane-4 frame's beat).
"""
import random

from amaranth.hdl import Module
from amaranth.lib import wiring

from clocked import simulate
from tickwire.model import net, xgmii
from tickwire.rtl.rx.mac import XgmiiRx
from tickwire.rtl.rx.udp import UdpRx

GA, GB, PORT = "233.54.12.111", "233.49.196.111", 26477


class Front(wiring.Component):
    def __init__(self):
        self.mac, self.udp = XgmiiRx(), UdpRx()
        super().__init__({})

    def elaborate(self, platform):
        m = Module()
        m.submodules.mac, m.submodules.udp = self.mac, self.udp
        wiring.connect(m, self.mac.out, self.udp.i)
        return m


def _frames(rng):
    out = []
    for i in range(12):
        kind = i % 6
        payload = rng.randbytes(rng.choice([0, 3, 20, 120]))
        if kind == 4:
            out.append(net.build_udp_frame(payload, GA, PORT, vlan=5))
        elif kind == 5:
            out.append(net.build_udp_frame(payload, GB, PORT + 1))
        else:
            out.append(net.build_udp_frame(payload, (GA, GB)[i % 2], PORT))
    return out


def _run(frames, lane, faults):
    enc = xgmii.encode(frames, start_lane=lane, faults=faults)
    dut = Front()
    got, verdicts, when = [], [], []
    names = ("udp_accepted",) + net.VERDICTS[1:]

    async def bench(ctx):
        cur = None
        for cycle, (d, c) in enumerate(list(enc.beats) + [(0x0707070707070707, 0xFF)] * 8):
            ctx.set(dut.mac.xgmii_d, d)
            ctx.set(dut.mac.xgmii_c, c)
            await ctx.delay(1e-9)
            o = dut.udp.o
            if ctx.get(o.valid):
                beat = ctx.get(o.payload)
                if beat.first:
                    cur = bytearray()
                for k in range(8):
                    if beat.keep >> k & 1:
                        cur.append(beat.data >> 8 * k & 0xFF)
                        when.append((cycle, len(got), len(cur) - 1))
                if beat.last:
                    got.append((bytes(cur), beat.feed, beat.bad))
            for n in names:
                if ctx.get(getattr(dut.udp, f"ev_{n}")):
                    verdicts.append(n)
            await ctx.tick()

    simulate(dut, bench)
    return enc, got, verdicts, when


def test_lanes_and_faults_match_the_model():
    rng = random.Random(7)
    frames = _frames(rng)
    for lane in (0, 4, "any"):
        faults = {3: "fcs", 8: "fcs"}
        enc, got, verdicts, when = _run(frames, lane, faults)
        want, want_fwd = [], []
        for i, f in enumerate(frames):
            bad = i in faults
            want.append(net.parse(f, mac_bad=bad)[0])
            fwd = net.forwarded(f)
            if fwd is not None:
                want_fwd.append((fwd[1], fwd[0], int(bad or want[-1] != "udp_accepted")))
        assert verdicts == want
        assert got == want_fwd
        assert {"udp_accepted", "drop_bad_frame", "drop_vlan", "drop_filter"} <= set(want)
        # latency of every forwarded payload byte from the XGMII beat that carried it
        fwd_idx = [i for i, f in enumerate(frames) if net.forwarded(f) is not None]
        for cycle, pkt, off in when:
            i = fwd_idx[pkt]
            beat, ln = enc.locate(i, net.PAYLOAD + off)
            lane4 = enc.locate(i, 0)[1] == 4
            assert cycle - beat == 3 + (lane4 and ln >= 4), (lane, i, off)
